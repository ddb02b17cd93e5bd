//! What the `check` example uses beside its `main`: the policy options (the
//! same as `envelope-check-policyd`'s), and DNS data loaded from files.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};

use clap::ValueEnum;
use std::sync::Arc;

use envelope_check::{Direction, InMemoryResolver, Policy, Resolver, SenderAccess};

/// The policy options of the command line.
#[derive(clap::Args)]
pub(crate) struct PolicyArgs {
    /// A Postfix check_sender_access map (its source text), read as
    /// postmap reads it: `OK` approves, `REJECT` rejects, `DUNNO` defers to
    /// the DNS check, and so on.
    #[arg(long, visible_alias = "approved-senders", value_name = "FILE")]
    pub(crate) sender_access: Option<PathBuf>,
    /// A local domain (final destination, as in mydestination): not looked
    /// up; repeatable.
    #[arg(long = "local-domain", value_name = "NAME")]
    pub(crate) local_domains: Vec<String>,
    /// One of the MTA's own IP addresses: a literal naming it (`[127.0.0.1]`)
    /// is a local destination; repeatable.
    #[arg(long = "local-address", value_name = "IP")]
    pub(crate) local_addresses: Vec<IpAddr>,
    /// A managed domain, for the tracking rule; repeatable.
    #[arg(long = "managed-domain", value_name = "NAME")]
    pub(crate) managed_domains: Vec<String>,
    /// Traffic direction; the sender access map applies to inbound only.
    #[arg(long, value_enum, default_value_t = Dir::Inbound)]
    pub(crate) direction: Dir,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum Dir {
    Inbound,
    Outbound,
}

impl PolicyArgs {
    pub(crate) fn policy(&self) -> Result<Policy, String> {
        let mut policy = Policy::builder().direction(match self.direction {
            Dir::Inbound => Direction::Inbound,
            Dir::Outbound => Direction::Outbound,
        });
        if let Some(file) = &self.sender_access {
            let map = SenderAccess::load(file).map_err(|e| e.to_string())?;
            for warning in map.warnings() {
                eprintln!("warning: {}: {warning}", file.display());
            }
            policy = policy.sender_access(map);
        }
        for domain in &self.local_domains {
            policy = policy.local_domain(domain);
        }
        for ip in &self.local_addresses {
            policy = policy.local_address(*ip);
        }
        for domain in &self.managed_domains {
            policy = policy.managed_domain(domain);
        }
        policy.build().map_err(|e| e.to_string())
    }
}

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
