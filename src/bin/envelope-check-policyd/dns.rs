//! The DNS backend: master files (offline), given servers, or the system's.

use std::path::Path;
use std::sync::Arc;

use envelope_check::{HickoryOptions, HickoryResolver, InMemoryResolver, Resolver};

use crate::args::DnsArgs;

pub(crate) fn resolver(args: &DnsArgs) -> Result<Arc<dyn Resolver>, String> {
    if !args.zones.is_empty() {
        let mut dns = InMemoryResolver::new();
        for zone in &args.zones {
            dns.load_zone(&read(zone)?)
                .map_err(|e| format!("{}: {e}", zone.display()))?;
        }
        if let Some(faults) = &args.faults {
            dns.load_faults(&read(faults)?)
                .map_err(|e| format!("{}: {e}", faults.display()))?;
        }
        return Ok(Arc::new(dns));
    }
    // hickory spawns its connection tasks on the runtime this runs in.
    let dns = if args.nameservers.is_empty() {
        HickoryResolver::from_system_conf(HickoryOptions::default())
    } else {
        HickoryResolver::with_name_servers(&args.nameservers, HickoryOptions::default())
    };
    Ok(Arc::new(dns.map_err(|e| e.to_string())?))
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}
