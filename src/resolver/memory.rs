//! `InMemoryResolver`: DNS data from master-file text or code, with the
//! semantics of a real recursive resolver in front of it.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use hickory_resolver::proto::rr::{Name, RData};
use hickory_resolver::proto::serialize::txt::{ParseError, Parser};

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
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The master file does not parse; `line` is where the failing entry
    /// starts (1-based). Fix that entry.
    #[error("zone line {line}: {source}")]
    Zone {
        /// 1-based line of the entry that failed.
        line: usize,
        /// hickory's parse error.
        #[source]
        source: ParseError,
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

    /// Adds the records of a master file. Supports what hickory's parser
    /// supports (`$ORIGIN`, `$TTL`, `@`, relative names, comments,
    /// parentheses), plus DNAME; MX, A, AAAA, CNAME and DNAME are served,
    /// SOA gives the negative TTL, NS below a zone apex is a zone cut (with
    /// no child zone loaded, names at and below it answer SERVFAIL, as a
    /// lame delegation does), and any other type (TXT, ...) makes its name
    /// exist.
    pub fn load_zone(&mut self, text: &str) -> Result<(), LoadError> {
        // hickory's parser has no DNAME: those lines are read here.
        let (text, dnames) = take_dnames(text);
        let (origin, records) = parse_zone(&text)?;
        let origin = absolute(&origin.to_ascii());
        for (owner, target, ttl) in dnames {
            self.ensure_exists(&owner, &origin);
            self.dnames.retain(|(o, _, _)| *o != owner);
            self.dnames.push((owner, target, ttl));
        }
        for record in &records {
            let owner = absolute(&record.name.to_ascii());
            let ttl = record.ttl;
            self.ensure_exists(&owner, &origin);
            match &record.data {
                RData::MX(mx) => self.push(
                    &owner,
                    QueryType::Mx,
                    ttl,
                    Record::Mx {
                        preference: mx.preference,
                        exchange: absolute(&mx.exchange.to_ascii()),
                    },
                ),
                RData::A(a) => self.push(&owner, QueryType::A, ttl, Record::A(a.0)),
                RData::AAAA(a) => self.push(&owner, QueryType::Aaaa, ttl, Record::Aaaa(a.0)),
                RData::CNAME(c) => self.set_cname(&owner, ttl, &c.0.to_ascii()),
                RData::SOA(soa) => {
                    let negative = ttl.min(soa.minimum);
                    self.zones.retain(|(o, _)| *o != owner);
                    self.zones.push((owner.clone(), negative));
                }
                RData::NS(_) if owner != origin && !self.delegations.contains(&owner) => {
                    self.delegations.push(owner.clone());
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

    /// Reads fault lines, `NAME KIND` (the oracle's `faults.txt` format);
    /// `#` starts a comment.
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
    Name::from_ascii(name).map_err(|_| LoadError::Name(name.to_owned()))?;
    Ok(absolute(name))
}

/// `a.b.` → `b.`, `b.` → `.`.
fn parent(name: &str) -> &str {
    match name.find('.') {
        Some(i) if i + 1 < name.len() => &name[i + 1..],
        _ => ".",
    }
}

/// Takes the DNAME records out of master-file text (hickory's parser does
/// not know the type): the text with those lines blanked (line numbers
/// stay), and each DNAME's owner, target and TTL, absolute and lowercased.
/// Follows `$ORIGIN`, `$TTL`, `@`, relative names and owner-less lines.
fn take_dnames(text: &str) -> (Cow<'_, str>, Vec<(String, String, u32)>) {
    if !text
        .as_bytes()
        .windows(5)
        .any(|w| w.eq_ignore_ascii_case(b"DNAME"))
    {
        return (Cow::Borrowed(text), Vec::new());
    }
    let mut origin = ".".to_owned();
    let mut default_ttl = 86_400;
    let mut owner = ".".to_owned();
    let mut dnames = Vec::new();
    let mut out = String::with_capacity(text.len());
    let absolute_in = |name: &str, origin: &str| -> String {
        if name == "@" {
            origin.to_owned()
        } else if name.ends_with('.') || origin == "." {
            absolute(name)
        } else {
            absolute(&format!("{name}.{origin}"))
        }
    };
    for line in text.split_inclusive('\n') {
        let content = line.split(';').next().unwrap_or("");
        let mut words = content.split_whitespace();
        let starts_blank = content.starts_with([' ', '\t']);
        let Some(first) = words.next() else {
            out.push_str(line);
            continue;
        };
        if first.eq_ignore_ascii_case("$ORIGIN") {
            if let Some(o) = words.next() {
                origin = absolute_in(o, &origin);
            }
            out.push_str(line);
            continue;
        }
        if first.eq_ignore_ascii_case("$TTL") {
            default_ttl = words
                .next()
                .and_then(|t| t.parse().ok())
                .unwrap_or(default_ttl);
            out.push_str(line);
            continue;
        }
        let mut rest: Vec<&str> = if starts_blank {
            std::iter::once(first).chain(words).collect()
        } else {
            owner = absolute_in(first, &origin);
            words.collect()
        };
        let mut ttl = default_ttl;
        while let Some(w) = rest.first() {
            if let Ok(t) = w.parse::<u32>() {
                ttl = t;
            } else if !w.eq_ignore_ascii_case("IN") {
                break;
            }
            rest.remove(0);
        }
        match rest.as_slice() {
            [kind, target, ..] if kind.eq_ignore_ascii_case("DNAME") => {
                dnames.push((owner.clone(), absolute_in(target, &origin), ttl));
                out.push_str(if line.ends_with('\n') { "\n" } else { "" });
            }
            _ => out.push_str(line),
        }
    }
    (Cow::Owned(out), dnames)
}

/// Parses RFC 1035 master-file text (origin `.` unless `$ORIGIN` says
/// otherwise) into hickory records, exactly as [`InMemoryResolver`] reads
/// it: use it to serve the same data from another DNS server, such as an
/// in-process `hickory-server` in tests. Returns the zone origin (the SOA
/// owner, else the last `$ORIGIN`) and the records.
pub fn parse_zone(
    text: &str,
) -> Result<(Name, Vec<hickory_resolver::proto::rr::Record>), LoadError> {
    let (marked_text, marked) = mark_underscore_labels(text);
    let (origin, rrsets) = Parser::new(marked_text.as_ref(), None, Some(Name::root()))
        .parse()
        .map_err(|source| LoadError::Zone {
            line: failing_entry_line(&marked_text),
            source,
        })?;
    let unmark = |name: &Name| -> Name {
        if marked.is_empty() {
            return name.clone();
        }
        Name::from_ascii(unmark_labels(&name.to_ascii(), &marked)).unwrap_or_else(|_| name.clone())
    };
    let mut records = Vec::new();
    for rrset in rrsets.values() {
        for record in rrset.records_without_rrsigs() {
            let mut record = record.clone();
            record.name = unmark(&record.name);
            match &mut record.data {
                RData::MX(mx) => mx.exchange = unmark(&mx.exchange),
                RData::CNAME(c) => c.0 = unmark(&c.0),
                _ => {}
            }
            records.push(record);
        }
    }
    // The parser reports the last `$ORIGIN`; the zone's origin is the SOA
    // owner when there is one.
    let origin = records
        .iter()
        .find(|r| matches!(r.data, RData::SOA(_)))
        .map_or_else(|| unmark(&origin), |r| r.name.clone());
    Ok((origin, records))
}

/// hickory's zone parser runs IDNA (STD3) on every label that does not
/// start with `_`, so `smtp_gw` fails although real servers (NSD, BIND)
/// serve it. Labels with an inner underscore get a `_` prefix, which hickory
/// takes verbatim; [`unmark_labels`] removes it after parsing. Quoted
/// strings and comments are left alone; line structure is kept.
fn mark_underscore_labels(text: &str) -> (Cow<'_, str>, HashSet<String>) {
    let mut marked = HashSet::new();
    if !text.contains('_') {
        return (Cow::Borrowed(text), marked);
    }
    let mut out = String::with_capacity(text.len() + 16);
    let mut quoted = false;
    let mut comment = false;
    let mut token = String::new();
    let mut flush = |token: &mut String, out: &mut String| {
        for (i, label) in token.split('.').enumerate() {
            if i > 0 {
                out.push('.');
            }
            if label.contains('_') && !label.starts_with('_') && !label.contains('\\') {
                marked.insert(label.to_ascii_lowercase());
                out.push('_');
            }
            out.push_str(label);
        }
        token.clear();
    };
    for c in text.chars() {
        let plain = !quoted && !comment;
        if plain && !(c.is_whitespace() || "();\"".contains(c)) {
            token.push(c);
            continue;
        }
        flush(&mut token, &mut out);
        match c {
            '"' if !comment => quoted = !quoted,
            ';' if !quoted => comment = true,
            '\n' => comment = false,
            _ => {}
        }
        out.push(c);
    }
    flush(&mut token, &mut out);
    (Cow::Owned(out), marked)
}

/// Undoes [`mark_underscore_labels`] on a parsed name.
fn unmark_labels(name: &str, marked: &HashSet<String>) -> String {
    if marked.is_empty() {
        return name.to_owned();
    }
    name.split('.')
        .map(|label| match label.strip_prefix('_') {
            Some(rest) if marked.contains(&rest.to_ascii_lowercase()) => rest,
            _ => label,
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// Finds the line where the first unparsable entry starts: splits the text
/// into entries (a line that starts outside parentheses starts an entry) and
/// bisects for the shortest failing prefix. Used on the error path only.
fn failing_entry_line(text: &str) -> usize {
    let mut starts = Vec::new(); // (byte offset, line number)
    let mut depth = 0i32;
    let mut offset = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if depth <= 0 {
            depth = 0;
            starts.push((offset, i + 1));
        }
        let mut quoted = false;
        for c in line.chars() {
            match c {
                '"' => quoted = !quoted,
                ';' if !quoted => break,
                '(' if !quoted => depth += 1,
                ')' if !quoted => depth -= 1,
                _ => {}
            }
        }
        offset += line.len();
    }
    let fails = |k: usize| {
        let end = starts.get(k).map_or(text.len(), |s| s.0);
        Parser::new(&text[..end], None, Some(Name::root()))
            .parse()
            .is_err()
    };
    // Smallest k such that the first k entries fail to parse.
    let (mut lo, mut hi) = (1, starts.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if fails(mid) { hi = mid } else { lo = mid + 1 }
    }
    starts.get(lo.saturating_sub(1)).map_or(1, |s| s.1)
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
            "$ORIGIN com.\nsmtp_gw.example 300 IN A 192.0.2.1 ; a_comment\n_srv.example 300 IN TXT \"x_y\"\n",
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
