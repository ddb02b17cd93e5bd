//! Master-file text (RFC 1035 section 5) to records: the reader behind
//! [`InMemoryResolver::load_zone`](super::memory::InMemoryResolver::load_zone)
//! and [`parse_zone`].
//!
//! Our own reader rather than a DNS library's: it reads what authoritative
//! servers (NSD, BIND) serve, such as `smtp_gw` host labels and DNAME, which
//! an IDNA-checking parser refuses, and it keeps the crate's in-memory DNS
//! free of any DNS library.

use std::collections::HashSet;
use std::net::{Ipv4Addr, Ipv6Addr};

use super::memory::LoadError;

/// The records of one master file, as [`InMemoryResolver`] reads them.
///
/// [`InMemoryResolver`]: super::memory::InMemoryResolver
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Zone {
    /// The zone's origin: the owner of its SOA record, else the last
    /// `$ORIGIN`, else the root `.`.
    pub origin: String,
    /// The records in file order; an exact repeat of a record is dropped.
    pub records: Vec<ZoneRecord>,
}

/// One resource record of a master file. Names are absolute A-label names,
/// lowercased, with a trailing dot (`mx.example.com.`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ZoneRecord {
    /// The owner name.
    pub owner: String,
    /// The TTL in seconds.
    pub ttl: u32,
    /// The record's type and data.
    pub data: ZoneData,
}

/// The type and data of a [`ZoneRecord`]: the types the envelope check
/// looks at, with their data, and any other type by name only.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ZoneData {
    /// An MX record; a null MX has `exchange == "."`.
    Mx {
        /// The preference.
        preference: u16,
        /// The exchange.
        exchange: String,
    },
    /// An A record.
    A(Ipv4Addr),
    /// An AAAA record.
    Aaaa(Ipv6Addr),
    /// A CNAME record: the target.
    Cname(String),
    /// A DNAME record (RFC 6672): the target.
    Dname(String),
    /// An NS record: the name server.
    Ns(String),
    /// An SOA record.
    Soa {
        /// The primary name server.
        mname: String,
        /// The responsible mailbox, as a name.
        rname: String,
        /// The serial number.
        serial: u32,
        /// The refresh interval, seconds.
        refresh: u32,
        /// The retry interval, seconds.
        retry: u32,
        /// The expiry, seconds.
        expire: u32,
        /// The negative-caching TTL (RFC 2308), seconds.
        minimum: u32,
    },
    /// Any other known type (TXT, SRV, ...), by its mnemonic in upper case;
    /// its data is not kept. It makes its owner name exist.
    Other(String),
}

/// Parses RFC 1035 master-file text, exactly as
/// [`InMemoryResolver`](super::memory::InMemoryResolver) reads it: use it
/// to serve the same data from another DNS server, such as a
/// `hickory-server` in your tests.
///
/// Reads `$ORIGIN` (relative to the current origin), `$TTL`, `@`, relative
/// names, owner-less lines, TTLs with units (`1h30m`), the class `IN`,
/// comments, quoted strings and parentheses. The origin starts as `.`. A
/// record without a TTL takes `$TTL`, else the last TTL given. `$INCLUDE`,
/// other classes and escapes in names are refused. Labels are not checked
/// against the host-name rules: `smtp_gw` is read as NSD and BIND read it.
///
/// ```
/// use envelope_check::{ZoneData, parse_zone};
///
/// let zone = parse_zone("$TTL 300\n$ORIGIN example.\n@ IN SOA ns host 1 1 1 1 60\nshop IN MX 10 mx.shop\n")?;
/// assert_eq!(zone.origin, "example.");
/// let mx = &zone.records[1];
/// assert_eq!((mx.owner.as_str(), mx.ttl), ("shop.example.", 300));
/// assert_eq!(mx.data, ZoneData::Mx { preference: 10, exchange: "mx.shop.example.".into() });
/// # Ok::<(), envelope_check::LoadError>(())
/// ```
///
/// # Errors
///
/// [`LoadError::Zone`] with the line where the first bad entry starts.
pub fn parse_zone(text: &str) -> Result<Zone, LoadError> {
    let mut reader = Reader {
        origin: ".".to_owned(),
        default_ttl: None,
        last_ttl: None,
        owner: None,
    };
    let mut records: Vec<ZoneRecord> = Vec::new();
    let mut seen: HashSet<ZoneRecord> = HashSet::new();
    let mut soa_owners: HashSet<String> = HashSet::new();
    for entry in entries(text) {
        let line = entry.line;
        let record = reader
            .entry(entry)
            .map_err(|message| LoadError::Zone { line, message })?;
        let Some(record) = record else { continue };
        if seen.contains(&record) {
            continue;
        }
        if matches!(record.data, ZoneData::Soa { .. }) && !soa_owners.insert(record.owner.clone()) {
            return Err(LoadError::Zone {
                line,
                message: format!("a second SOA record for {}", record.owner),
            });
        }
        seen.insert(record.clone());
        records.push(record);
    }
    let origin = records
        .iter()
        .find(|r| matches!(r.data, ZoneData::Soa { .. }))
        .map_or(reader.origin, |r| r.owner.clone());
    Ok(Zone { origin, records })
}

/// One entry: a line, or lines joined by parentheses.
struct Entry {
    /// 1-based line where the entry starts.
    line: usize,
    /// Whether the entry starts with a blank (no owner: the last one holds).
    blank_start: bool,
    tokens: Vec<String>,
}

/// Splits the text into entries of tokens: comments dropped, quoted strings
/// kept as one token (quotes removed), parentheses joining lines.
fn entries(text: &str) -> Vec<Entry> {
    let mut out = Vec::new();
    let mut current: Option<Entry> = None;
    let mut depth = 0usize;
    for (i, raw) in text.lines().enumerate() {
        if current.is_none() {
            current = Some(Entry {
                line: i + 1,
                blank_start: raw.starts_with([' ', '\t']),
                tokens: Vec::new(),
            });
        }
        let entry = current.as_mut().expect("set above");
        let mut chars = raw.chars().peekable();
        let mut token: Option<String> = None;
        let mut quoted = false;
        while let Some(c) = chars.next() {
            if quoted {
                let t = token.get_or_insert_with(String::new);
                match c {
                    '"' => quoted = false,
                    '\\' => {
                        t.push(c);
                        if let Some(next) = chars.next() {
                            t.push(next);
                        }
                    }
                    _ => t.push(c),
                }
                continue;
            }
            match c {
                ';' => break,
                '"' => {
                    quoted = true;
                    token.get_or_insert_with(String::new);
                }
                '(' | ')' | ' ' | '\t' => {
                    entry.tokens.extend(token.take());
                    if c == '(' {
                        depth += 1;
                    } else if c == ')' {
                        depth = depth.saturating_sub(1);
                    }
                }
                '\\' => {
                    let t = token.get_or_insert_with(String::new);
                    t.push(c);
                    if let Some(next) = chars.next() {
                        t.push(next);
                    }
                }
                _ => token.get_or_insert_with(String::new).push(c),
            }
        }
        entry.tokens.extend(token.take());
        if depth == 0 {
            let entry = current.take().expect("set above");
            if !entry.tokens.is_empty() {
                out.push(entry);
            }
        }
    }
    // An unclosed parenthesis ends at the end of the text.
    out.extend(current.filter(|e| !e.tokens.is_empty()));
    out
}

struct Reader {
    origin: String,
    default_ttl: Option<u32>,
    last_ttl: Option<u32>,
    owner: Option<String>,
}

impl Reader {
    fn entry(&mut self, entry: Entry) -> Result<Option<ZoneRecord>, String> {
        let mut tokens = entry.tokens.into_iter();
        if !entry.blank_start {
            let first = tokens.next().expect("entries are not empty");
            match first.to_ascii_uppercase().as_str() {
                "$ORIGIN" => {
                    let name = one_more(tokens, "$ORIGIN")?;
                    self.origin = domain_name(&name, &self.origin)?;
                    return Ok(None);
                }
                "$TTL" => {
                    self.default_ttl = Some(ttl(&one_more(tokens, "$TTL")?)?);
                    return Ok(None);
                }
                "$INCLUDE" => return Err("$INCLUDE is not supported".into()),
                directive if directive.starts_with('$') => {
                    return Err(format!("unknown directive {first}"));
                }
                _ => self.owner = Some(domain_name(&first, &self.origin)?),
            }
        }
        let owner = self
            .owner
            .clone()
            .ok_or("the first record has no owner name")?;
        let mut this_ttl = None;
        let rtype = loop {
            let token = tokens.next().ok_or("no record type")?;
            if let Ok(t) = ttl(&token) {
                this_ttl = Some(t);
            } else if token.eq_ignore_ascii_case("IN") {
            } else if ["CH", "CS", "HS", "ANY", "NONE"]
                .iter()
                .any(|c| token.eq_ignore_ascii_case(c))
            {
                return Err(format!("class {token} is not supported, only IN"));
            } else {
                break token.to_ascii_uppercase();
            }
        };
        let ttl = match this_ttl {
            Some(t) => {
                self.last_ttl = Some(t);
                t
            }
            None => self
                .default_ttl
                .or(self.last_ttl)
                .ok_or("no TTL, and no $TTL before it")?,
        };
        let rdata: Vec<String> = tokens.collect();
        let data = self.data(&rtype, &rdata)?;
        Ok(Some(ZoneRecord { owner, ttl, data }))
    }

    fn data(&self, rtype: &str, rdata: &[String]) -> Result<ZoneData, String> {
        let name = |s: &str| domain_name(s, &self.origin);
        let fields = |n: usize| {
            if rdata.len() == n {
                Ok(())
            } else {
                Err(format!(
                    "{rtype} takes {n} field(s), got {}: {}",
                    rdata.len(),
                    rdata.join(" ")
                ))
            }
        };
        Ok(match rtype {
            "MX" => {
                fields(2)?;
                let preference = rdata[0]
                    .parse()
                    .map_err(|_| format!("bad MX preference {:?}", rdata[0]))?;
                ZoneData::Mx {
                    preference,
                    exchange: name(&rdata[1])?,
                }
            }
            "A" => {
                fields(1)?;
                ZoneData::A(
                    rdata[0]
                        .parse()
                        .map_err(|_| format!("bad IPv4 address {:?}", rdata[0]))?,
                )
            }
            "AAAA" => {
                fields(1)?;
                ZoneData::Aaaa(
                    rdata[0]
                        .parse()
                        .map_err(|_| format!("bad IPv6 address {:?}", rdata[0]))?,
                )
            }
            "CNAME" | "DNAME" | "NS" => {
                fields(1)?;
                let target = name(&rdata[0])?;
                match rtype {
                    "CNAME" => ZoneData::Cname(target),
                    "DNAME" => ZoneData::Dname(target),
                    _ => ZoneData::Ns(target),
                }
            }
            "SOA" => {
                fields(7)?;
                let serial = rdata[2]
                    .parse()
                    .map_err(|_| format!("bad SOA serial {:?}", rdata[2]))?;
                ZoneData::Soa {
                    mname: name(&rdata[0])?,
                    rname: name(&rdata[1])?,
                    serial,
                    refresh: ttl(&rdata[3])?,
                    retry: ttl(&rdata[4])?,
                    expire: ttl(&rdata[5])?,
                    minimum: ttl(&rdata[6])?,
                }
            }
            other if is_known_type(other) => {
                if rdata.is_empty() {
                    return Err(format!("{other} record without data"));
                }
                ZoneData::Other(other.to_owned())
            }
            other => return Err(format!("unknown record type {other}")),
        })
    }
}

fn one_more(mut tokens: impl Iterator<Item = String>, directive: &str) -> Result<String, String> {
    match (tokens.next(), tokens.next()) {
        (Some(value), None) => Ok(value),
        _ => Err(format!("{directive} takes one value")),
    }
}

/// The record types a master file may hold besides those read in full.
fn is_known_type(rtype: &str) -> bool {
    const TYPES: &[&str] = &[
        "TXT",
        "SPF",
        "PTR",
        "SRV",
        "NAPTR",
        "CAA",
        "TLSA",
        "SMIMEA",
        "SSHFP",
        "HINFO",
        "RP",
        "LOC",
        "AFSDB",
        "URI",
        "CERT",
        "KX",
        "SVCB",
        "HTTPS",
        "OPENPGPKEY",
        "DS",
        "CDS",
        "DNSKEY",
        "CDNSKEY",
        "RRSIG",
        "NSEC",
        "NSEC3",
        "NSEC3PARAM",
        "CSYNC",
        "ZONEMD",
        "NULL",
    ];
    TYPES.contains(&rtype)
        || rtype
            .strip_prefix("TYPE")
            .is_some_and(|n| n.parse::<u16>().is_ok())
}

/// A TTL: seconds, or numbers with units `s`, `m`, `h`, `d`, `w` (`1h30m`).
fn ttl(text: &str) -> Result<u32, String> {
    let bad = || format!("bad TTL {text:?}");
    if text.is_empty() || !text.starts_with(|c: char| c.is_ascii_digit()) {
        return Err(bad());
    }
    let mut total: u32 = 0;
    let mut number: Option<u32> = None;
    for c in text.chars() {
        if let Some(d) = c.to_digit(10) {
            let n = number.unwrap_or(0);
            number = Some(
                n.checked_mul(10)
                    .and_then(|n| n.checked_add(d))
                    .ok_or_else(bad)?,
            );
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3_600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return Err(bad()),
        };
        let n = number.take().ok_or_else(bad)?;
        total = n
            .checked_mul(unit)
            .and_then(|v| total.checked_add(v))
            .ok_or_else(bad)?;
    }
    match number {
        Some(n) => total.checked_add(n).ok_or_else(bad),
        None => Ok(total),
    }
}

/// A domain name from zone text or code, made absolute against `origin`:
/// lowercased, U-labels converted to A-labels, with a trailing dot. `@` is
/// the origin. Refuses empty labels, labels over 63 octets, names over 255
/// octets on the wire, and escapes.
pub(crate) fn domain_name(text: &str, origin: &str) -> Result<String, String> {
    if text == "@" {
        return Ok(origin.to_owned());
    }
    if text.contains('\\') {
        return Err(format!("escapes in names are not supported: {text:?}"));
    }
    let mut name = if text.is_ascii() {
        text.to_ascii_lowercase()
    } else {
        let relative = text.strip_suffix('.').unwrap_or(text);
        let mut ascii = idna::domain_to_ascii(relative)
            .map_err(|_| format!("not a valid internationalised name: {text:?}"))?;
        if text.ends_with('.') {
            ascii.push('.');
        }
        ascii
    };
    if name == "." {
        return Ok(name);
    }
    if !name.ends_with('.') {
        name.push('.');
        if origin != "." {
            name.push_str(origin);
        }
    }
    let labels = &name[..name.len() - 1];
    if labels.split('.').any(|l| l.is_empty() || l.len() > 63) {
        return Err(format!("not a valid domain name: {text:?}"));
    }
    // Wire form: one length octet per label plus the root's: text + 1.
    if name.len() + 1 > 255 {
        return Err(format!("name longer than 255 octets: {text:?}"));
    }
    Ok(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(domain_name("@", "example.").unwrap(), "example.");
        assert_eq!(domain_name("Mx", "example.").unwrap(), "mx.example.");
        assert_eq!(domain_name("mx", ".").unwrap(), "mx.");
        assert_eq!(domain_name("A.B.", "example.").unwrap(), "a.b.");
        assert_eq!(domain_name("smtp_gw", "com.").unwrap(), "smtp_gw.com.");
        assert_eq!(domain_name(".", "example.").unwrap(), ".");
        assert_eq!(
            domain_name("bücher.example.", ".").unwrap(),
            "xn--bcher-kva.example."
        );
        assert!(domain_name("a..b", ".").is_err());
        assert!(domain_name(&"a".repeat(64), ".").is_err());
        assert!(domain_name(&["a"; 128].join("."), ".").is_err());
        assert!(domain_name("a\\.b", ".").is_err());
    }

    #[test]
    fn ttls() {
        assert_eq!(ttl("300"), Ok(300));
        assert_eq!(ttl("1h30m"), Ok(5_400));
        assert_eq!(ttl("1W"), Ok(604_800));
        assert_eq!(ttl("2d1"), Ok(172_801));
        assert!(ttl("h").is_err());
        assert!(ttl("IN").is_err());
        assert!(ttl("99999999999").is_err());
    }

    #[test]
    fn entries_join_parentheses_and_drop_comments() {
        let zone = parse_zone(
            "$ORIGIN example.\n@ 300 IN SOA ns host ( 1 ; serial\n 2 3\n 4 60 ) ; done\n  IN TXT \"a ; b\" \"(c)\"\n",
        )
        .unwrap();
        assert_eq!(zone.records.len(), 2);
        assert_eq!(
            zone.records[0].data,
            ZoneData::Soa {
                mname: "ns.example.".into(),
                rname: "host.example.".into(),
                serial: 1,
                refresh: 2,
                retry: 3,
                expire: 4,
                minimum: 60
            }
        );
        assert_eq!(zone.records[1].owner, "example.");
        assert_eq!(zone.records[1].data, ZoneData::Other("TXT".into()));
    }

    #[test]
    fn ttl_defaults() {
        let zone =
            parse_zone("a 60 IN A 192.0.2.1\nb IN A 192.0.2.2\n$TTL 10\nc A 192.0.2.3\n").unwrap();
        let ttls: Vec<u32> = zone.records.iter().map(|r| r.ttl).collect();
        assert_eq!(ttls, [60, 60, 10]);
        assert!(parse_zone("a IN A 192.0.2.1\n").is_err());
    }

    #[test]
    fn errors_name_the_entry_line() {
        let at = |text: &str| match parse_zone(text) {
            Err(LoadError::Zone { line, .. }) => line,
            other => panic!("{other:?}"),
        };
        assert_eq!(at("$TTL 1\na A 192.0.2.1\n\nb MX ten c.\n"), 4);
        assert_eq!(at("$TTL 1\na SOA ns. h. (\n 1 2 3 4 )\n"), 2);
        assert_eq!(at("$INCLUDE other.zone\n"), 1);
        assert_eq!(at("$TTL 1\na CH A 192.0.2.1\n"), 2);
        assert_eq!(at("$TTL 1\na BOGUS x\n"), 2);
        assert_eq!(at("  IN A 192.0.2.1\n"), 1);
        assert_eq!(
            at("$TTL 1\n@ SOA a. b. 1 1 1 1 1\n@ SOA a. b. 2 1 1 1 1\n"),
            3
        );
    }

    #[test]
    fn duplicates_dropped_and_dname_read() {
        let zone =
            parse_zone("$TTL 1\n$ORIGIN example.\nd DNAME target.\nx A 192.0.2.1\nx A 192.0.2.1\n")
                .unwrap();
        assert_eq!(zone.origin, "example.");
        assert_eq!(zone.records.len(), 2);
        assert_eq!(zone.records[0].data, ZoneData::Dname("target.".into()));
    }
}
