//! `InMemoryResolver`: DNS data from master-file text or code, with the
//! semantics of a real recursive resolver in front of it.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;

use super::zone::{ZoneData, domain_name, parse_zone};
use super::{DnsOutcome, QueryType, Record, Resolver, Transient};
use crate::address::is_at_or_below;

/// CNAME hops a resolver follows before it gives up with SERVFAIL.
const MAX_CNAME_CHAIN: usize = 16;

/// A failure injected for a name and every name below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Fault {
    /// Answer SERVFAIL.
    ServFail,
    /// Answer REFUSED.
    Refused,
    /// Answer FORMERR.
    FormErr,
    /// Fail at once with [`Transient::Timeout`], as a stub resolver does when
    /// its own timer runs out.
    Timeout,
    /// Never answer: the query stays pending until the caller's deadline.
    Hang,
}

impl Fault {
    /// The keyword used in fault files (`servfail`, `refused`, `formerr`,
    /// `timeout`, `hang`).
    pub fn parse(word: &str) -> Option<Self> {
        Some(match word.to_ascii_lowercase().as_str() {
            "servfail" => Self::ServFail,
            "refused" => Self::Refused,
            "formerr" => Self::FormErr,
            "timeout" => Self::Timeout,
            "hang" => Self::Hang,
            _ => return None,
        })
    }
}

/// Why zone or fault text could not be loaded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The master file does not parse; `line` is where the failing entry
    /// starts (1-based). Fix that entry.
    #[error("zone line {line}: {message}")]
    Zone {
        /// 1-based line of the entry that failed.
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// A fault line is not `NAME servfail|refused|formerr|timeout|hang`.
    #[error("faults line {line}: expected `NAME KIND`, got {text:?}")]
    Fault {
        /// 1-based line number.
        line: usize,
        /// The offending line.
        text: String,
    },
    /// A name given in code is not a valid domain name.
    #[error("invalid name {0:?}")]
    Name(String),
}

#[derive(Debug, Default, Clone)]
struct Node {
    mx: Option<(u32, Vec<Record>)>,
    a: Option<(u32, Vec<Record>)>,
    aaaa: Option<(u32, Vec<Record>)>,
    cname: Option<(u32, String)>,
}

impl Node {
    fn rrset(&self, qtype: QueryType) -> Option<&(u32, Vec<Record>)> {
        match qtype {
            QueryType::Mx => self.mx.as_ref(),
            QueryType::A => self.a.as_ref(),
            QueryType::Aaaa => self.aaaa.as_ref(),
        }
    }

    fn rrset_mut(&mut self, qtype: QueryType) -> &mut Option<(u32, Vec<Record>)> {
        match qtype {
            QueryType::Mx => &mut self.mx,
            QueryType::A => &mut self.a,
            QueryType::Aaaa => &mut self.aaaa,
        }
    }
}

enum Resolution {
    Done(DnsOutcome),
    Hang,
}

/// An in-memory DNS: zone data loaded from RFC 1035 master-file text (or
/// added in code), answered with real resolver semantics: NXDOMAIN vs NODATA,
/// empty non-terminals, wildcards, CNAME chains (a loop answers SERVFAIL),
/// DNAME, lame delegations (SERVFAIL), negative TTLs from the SOA, plus
/// injected faults and a query counter.
///
/// ```
/// use envelope_check::{InMemoryResolver, Resolver, QueryType, DnsOutcome};
/// # tokio_test_block_on(async {
/// let dns = InMemoryResolver::from_zone_text(
///     "$ORIGIN example.\n@ 300 IN SOA ns. host. 1 1 1 1 60\nmail 300 IN MX 10 mx.mail.example.\n",
/// ).unwrap();
/// assert!(dns.query("mail.example.", QueryType::Mx).await.is_positive());
/// assert!(matches!(dns.query("nope.example.", QueryType::Mx).await, DnsOutcome::NxDomain { .. }));
/// assert_eq!(dns.query_count(), 2);
/// # });
/// # fn tokio_test_block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Default)]
pub struct InMemoryResolver {
    nodes: HashMap<String, Node>,
    /// Zone origin and its negative TTL, min(SOA TTL, SOA minimum).
    zones: Vec<(String, u32)>,
    /// Zone cuts: NS records below a zone apex whose child zone is not
    /// loaded here. A resolver cannot reach such a child: SERVFAIL.
    delegations: Vec<String>,
    /// DNAME owner, target and TTL (RFC 6672).
    dnames: Vec<(String, String, u32)>,
    faults: Vec<(String, Fault)>,
    latency: Option<Duration>,
    queries: [AtomicU64; 3],
}

impl InMemoryResolver {
    /// An empty DNS: every name is NXDOMAIN.
    pub fn new() -> Self {
        Self::default()
    }

    /// A DNS loaded from one master file (origin `.` unless `$ORIGIN` says
    /// otherwise).
    pub fn from_zone_text(text: &str) -> Result<Self, LoadError> {
        let mut dns = Self::new();
        dns.load_zone(text)?;
        Ok(dns)
    }

    /// Adds the records of a master file, read by [`parse_zone`]: MX, A,
    /// AAAA, CNAME and DNAME are served, SOA gives the negative TTL, NS below
    /// a zone apex is a zone cut (with no child zone loaded, names at and
    /// below it answer SERVFAIL, as a lame delegation does), and any other
    /// type (TXT, ...) makes its name exist.
    ///
    /// [`parse_zone`]: crate::parse_zone
    pub fn load_zone(&mut self, text: &str) -> Result<(), LoadError> {
        let zone = parse_zone(text)?;
        let origin = zone.origin;
        for record in zone.records {
            let owner = record.owner;
            let ttl = record.ttl;
            self.ensure_exists(&owner, &origin);
            match record.data {
                ZoneData::Mx {
                    preference,
                    exchange,
                } => self.push(
                    &owner,
                    QueryType::Mx,
                    ttl,
                    Record::Mx {
                        preference,
                        exchange,
                    },
                ),
                ZoneData::A(a) => self.push(&owner, QueryType::A, ttl, Record::A(a)),
                ZoneData::Aaaa(a) => self.push(&owner, QueryType::Aaaa, ttl, Record::Aaaa(a)),
                ZoneData::Cname(target) => self.set_cname(&owner, ttl, &target),
                ZoneData::Dname(target) => {
                    self.dnames.retain(|(o, _, _)| *o != owner);
                    self.dnames.push((owner, target, ttl));
                }
                ZoneData::Soa { minimum, .. } => {
                    let negative = ttl.min(minimum);
                    self.zones.retain(|(o, _)| *o != owner);
                    self.zones.push((owner, negative));
                }
                ZoneData::Ns(_) if owner != origin && !self.delegations.contains(&owner) => {
                    self.delegations.push(owner);
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Adds one record in code. `name` may omit the trailing dot.
    pub fn add_record(&mut self, name: &str, ttl: u32, record: Record) -> Result<(), LoadError> {
        let owner = checked_name(name)?;
        let qtype = match record {
            Record::Mx { .. } => QueryType::Mx,
            Record::A(_) => QueryType::A,
            Record::Aaaa(_) => QueryType::Aaaa,
        };
        self.ensure_exists(&owner, ".");
        self.push(&owner, qtype, ttl, record);
        Ok(())
    }

    /// Adds an MX record in code.
    pub fn add_mx(&mut self, name: &str, preference: u16, exchange: &str) -> Result<(), LoadError> {
        let exchange = checked_name(exchange)?;
        self.add_record(
            name,
            300,
            Record::Mx {
                preference,
                exchange,
            },
        )
    }

    /// Adds an A record in code.
    pub fn add_a(&mut self, name: &str, addr: Ipv4Addr) -> Result<(), LoadError> {
        self.add_record(name, 300, Record::A(addr))
    }

    /// Adds an AAAA record in code.
    pub fn add_aaaa(&mut self, name: &str, addr: Ipv6Addr) -> Result<(), LoadError> {
        self.add_record(name, 300, Record::Aaaa(addr))
    }

    /// Adds a CNAME in code.
    pub fn add_cname(&mut self, name: &str, target: &str) -> Result<(), LoadError> {
        let owner = checked_name(name)?;
        let target = checked_name(target)?;
        self.ensure_exists(&owner, ".");
        self.set_cname(&owner, 300, &target);
        Ok(())
    }

    /// Makes `name` exist without MX/A/AAAA data (as a TXT-only name does).
    pub fn add_name(&mut self, name: &str) -> Result<(), LoadError> {
        let owner = checked_name(name)?;
        self.ensure_exists(&owner, ".");
        Ok(())
    }

    /// Injects a fault for `name` and every name below it.
    pub fn add_fault(&mut self, name: &str, fault: Fault) -> Result<(), LoadError> {
        let name = checked_name(name)?;
        self.faults.push((name, fault));
        Ok(())
    }

    /// Reads fault lines, `NAME KIND` (one per line; `KIND` as
    /// [`Fault::parse`] reads it); `#` starts a comment.
    pub fn load_faults(&mut self, text: &str) -> Result<(), LoadError> {
        for (i, raw) in text.lines().enumerate() {
            let line = raw.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let bad = || LoadError::Fault {
                line: i + 1,
                text: raw.to_owned(),
            };
            let mut words = line.split_whitespace();
            let (Some(name), Some(kind), None) = (words.next(), words.next(), words.next()) else {
                return Err(bad());
            };
            let fault = Fault::parse(kind).ok_or_else(bad)?;
            self.add_fault(name, fault).map_err(|_| bad())?;
        }
        Ok(())
    }

    /// Delays every answer by `latency` (needs a Tokio runtime with time).
    pub fn set_latency(&mut self, latency: Option<Duration>) {
        self.latency = latency;
    }

    /// Queries answered so far, all types.
    pub fn query_count(&self) -> u64 {
        self.queries.iter().map(|q| q.load(Ordering::Relaxed)).sum()
    }

    /// Queries of one type answered so far.
    pub fn query_count_of(&self, qtype: QueryType) -> u64 {
        self.queries[qtype_index(qtype)].load(Ordering::Relaxed)
    }

    /// Sets the query counters back to zero.
    pub fn reset_query_count(&self) {
        for q in &self.queries {
            q.store(0, Ordering::Relaxed);
        }
    }

    fn push(&mut self, owner: &str, qtype: QueryType, ttl: u32, record: Record) {
        let node = self.nodes.entry(owner.to_owned()).or_default();
        let rrset = node
            .rrset_mut(qtype)
            .get_or_insert_with(|| (ttl, Vec::new()));
        rrset.0 = rrset.0.min(ttl);
        rrset.1.push(record);
    }

    fn set_cname(&mut self, owner: &str, ttl: u32, target: &str) {
        self.nodes.entry(owner.to_owned()).or_default().cname = Some((ttl, absolute(target)));
    }

    /// Makes `owner` and its ancestors down to `origin` exist (the
    /// ancestors as empty non-terminals).
    fn ensure_exists(&mut self, owner: &str, origin: &str) {
        let mut name = owner;
        loop {
            self.nodes.entry(name.to_owned()).or_default();
            if name == origin || name == "." {
                break;
            }
            name = parent(name);
        }
    }

    fn negative_ttl(&self, name: &str) -> Option<u32> {
        self.zones
            .iter()
            .filter(|(origin, _)| origin == "." || is_at_or_below(name, origin))
            .max_by_key(|(origin, _)| if origin == "." { 0 } else { origin.len() })
            .map(|(_, ttl)| *ttl)
    }

    /// Whether `name` is at or below a zone cut whose child zone is not
    /// here (a lame delegation, as far as this resolver can tell).
    fn is_delegated_away(&self, name: &str) -> bool {
        self.delegations.iter().any(|cut| {
            is_at_or_below(name, cut)
                && !self.zones.iter().any(|(zone, _)| {
                    zone != "." && is_at_or_below(zone, cut) && is_at_or_below(name, zone)
                })
        })
    }

    fn fault_for(&self, name: &str) -> Option<Fault> {
        self.faults
            .iter()
            .find(|(f, _)| is_at_or_below(name, f))
            .map(|(_, fault)| *fault)
    }

    /// The node answering for `name`: the name itself, or the wildcard at its
    /// closest encloser.
    fn node_for(&self, name: &str) -> Option<&Node> {
        if let Some(node) = self.nodes.get(name) {
            return Some(node);
        }
        let mut encloser = name;
        while encloser != "." {
            encloser = parent(encloser);
            if self.nodes.contains_key(encloser) {
                let wildcard = if encloser == "." {
                    "*.".to_owned()
                } else {
                    format!("*.{encloser}")
                };
                return self.nodes.get(&wildcard);
            }
        }
        None
    }

    fn resolve(&self, name: &str, qtype: QueryType) -> Resolution {
        let mut current = absolute(name);
        let mut chain_ttl = u32::MAX;
        for _ in 0..=MAX_CNAME_CHAIN {
            match self.fault_for(&current) {
                Some(Fault::Hang) => return Resolution::Hang,
                Some(fault) => {
                    return Resolution::Done(DnsOutcome::Transient(match fault {
                        Fault::ServFail => Transient::ServFail,
                        Fault::Refused => Transient::Refused,
                        Fault::FormErr => Transient::Rcode(1),
                        _ => Transient::Timeout,
                    }));
                }
                None => {}
            }
            if self.is_delegated_away(&current) {
                return Resolution::Done(DnsOutcome::Transient(Transient::ServFail));
            }
            // A DNAME above the name rewrites its suffix, like a CNAME.
            if let Some((owner, target, ttl)) = self
                .dnames
                .iter()
                .filter(|(o, _, _)| current != *o && is_at_or_below(&current, o))
                .max_by_key(|(o, _, _)| o.len())
            {
                chain_ttl = chain_ttl.min(*ttl);
                let prefix = &current[..current.len() - owner.len()];
                current = if target == "." {
                    prefix.to_owned()
                } else {
                    format!("{prefix}{target}")
                };
                continue;
            }
            let Some(node) = self.node_for(&current) else {
                return Resolution::Done(DnsOutcome::NxDomain {
                    negative_ttl: self.negative_ttl(&current),
                });
            };
            if let Some((ttl, target)) = &node.cname {
                chain_ttl = chain_ttl.min(*ttl);
                current.clone_from(target);
                continue;
            }
            return Resolution::Done(match node.rrset(qtype) {
                Some((ttl, records)) => DnsOutcome::Records {
                    records: records.clone(),
                    ttl: chain_ttl.min(*ttl),
                },
                None => DnsOutcome::NoData {
                    negative_ttl: self.negative_ttl(&current),
                },
            });
        }
        Resolution::Done(DnsOutcome::Transient(Transient::ServFail))
    }
}

#[async_trait]
impl Resolver for InMemoryResolver {
    async fn query(&self, name: &str, qtype: QueryType) -> DnsOutcome {
        self.queries[qtype_index(qtype)].fetch_add(1, Ordering::Relaxed);
        if let Some(latency) = self.latency {
            tokio::time::sleep(latency).await;
        }
        match self.resolve(name, qtype) {
            Resolution::Done(outcome) => outcome,
            Resolution::Hang => std::future::pending().await,
        }
    }
}

fn qtype_index(qtype: QueryType) -> usize {
    match qtype {
        QueryType::Mx => 0,
        QueryType::A => 1,
        QueryType::Aaaa => 2,
    }
}

/// Lowercased, with a trailing dot.
fn absolute(name: &str) -> String {
    let mut s = name.to_ascii_lowercase();
    if !s.ends_with('.') {
        s.push('.');
    }
    s
}

fn checked_name(name: &str) -> Result<String, LoadError> {
    domain_name(name, ".").map_err(|_| LoadError::Name(name.to_owned()))
}

/// `a.b.` → `b.`, `b.` → `.`.
fn parent(name: &str) -> &str {
    match name.find('.') {
        Some(i) if i + 1 < name.len() => &name[i + 1..],
        _ => ".",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_error_has_line() {
        let text = "$ORIGIN example.\n@ 300 IN SOA ns. h. 1 1 1 1 60\n\nok 300 IN A 192.0.2.1\nbad 300 IN A not-an-ip\nlater 300 IN A 192.0.2.2\n";
        match InMemoryResolver::from_zone_text(text) {
            Err(LoadError::Zone { line, .. }) => assert_eq!(line, 5),
            other => panic!("expected a zone error, got {other:?}"),
        }
    }

    #[test]
    fn underscore_labels_load() {
        let dns = InMemoryResolver::from_zone_text(
            "$TTL 300\n$ORIGIN com.\nsmtp_gw.example 300 IN A 192.0.2.1 ; a_comment\n_srv.example 300 IN TXT \"x_y\"\n",
        )
        .unwrap();
        assert!(dns.nodes.contains_key("smtp_gw.example.com."));
        assert!(dns.nodes.contains_key("_srv.example.com."));
    }

    #[test]
    fn parent_names() {
        assert_eq!(parent("a.b.c."), "b.c.");
        assert_eq!(parent("c."), ".");
        assert_eq!(parent("."), ".");
    }
}
