//! What the `check` example uses beside its `main`: DNS data loaded from
//! files or the network (its policy options are the daemon's `config.rs`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use std::sync::Arc;

use envelope_check::{InMemoryResolver, Resolver};

/// A file's text, or an error message that names it.
pub(crate) fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// Loads master files and a fault file into `dns`; errors name the file
/// (and the line, for a zone or fault error).
pub(crate) fn load_files(
    dns: &mut InMemoryResolver,
    zones: &[PathBuf],
    faults: Option<&PathBuf>,
) -> Result<(), String> {
    for zone in zones {
        dns.load_zone(&read(zone)?)
            .map_err(|e| format!("{}: {e}", zone.display()))?;
    }
    if let Some(faults) = faults {
        dns.load_faults(&read(faults)?)
            .map_err(|e| format!("{}: {e}", faults.display()))?;
    }
    Ok(())
}

/// The network DNS: these servers (`IP:PORT`, UDP with TCP fallback), or with
/// none given, the servers of `/etc/resolv.conf`. Call it inside a tokio
/// runtime: hickory spawns its connection tasks there.
#[cfg(feature = "hickory")]
pub(crate) fn network_dns(nameservers: &[SocketAddr]) -> Result<Arc<dyn Resolver>, String> {
    use envelope_check::{HickoryOptions, HickoryResolver};
    let dns = if nameservers.is_empty() {
        HickoryResolver::from_system_conf(HickoryOptions::default())
    } else {
        HickoryResolver::with_name_servers(nameservers, HickoryOptions::default())
    };
    Ok(Arc::new(dns.map_err(|e| e.to_string())?))
}

#[cfg(not(feature = "hickory"))]
pub(crate) fn network_dns(_: &[SocketAddr]) -> Result<Arc<dyn Resolver>, String> {
    Err("--nameserver and --system need the `hickory` feature".into())
}
