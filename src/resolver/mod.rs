//! The `Resolver` trait and its typed answers.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Arc;

use async_trait::async_trait;

#[cfg(feature = "hickory")]
pub(crate) mod hickory;
pub(crate) mod memory;
pub(crate) mod zone;

/// The record types the check asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QueryType {
    /// MX, asked first.
    Mx,
    /// A, asked when there is no MX.
    A,
    /// AAAA, asked with A.
    Aaaa,
}

impl fmt::Display for QueryType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Mx => "MX",
            Self::A => "A",
            Self::Aaaa => "AAAA",
        })
    }
}

/// One answer record of the asked type (CNAMEs already followed and dropped).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Record {
    /// An MX record. A null MX has `exchange == "."`.
    Mx {
        /// The preference.
        preference: u16,
        /// The exchange, absolute (`mx.example.com.`, or `.` for a null MX).
        exchange: String,
    },
    /// An A record.
    A(Ipv4Addr),
    /// An AAAA record.
    Aaaa(Ipv6Addr),
}

impl Record {
    /// Whether this is an MX record whose exchange is the root: a null MX.
    pub fn is_null_mx(&self) -> bool {
        matches!(self, Self::Mx { exchange, .. } if exchange == "." || exchange.is_empty())
    }
}

/// Why a query could not be answered. Every kind is temporary: it can
/// never justify a permanent (5xx) reject.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transient {
    /// No answer in time.
    Timeout,
    /// The server answered SERVFAIL (includes CNAME loops at a resolver).
    ServFail,
    /// The server answered REFUSED.
    Refused,
    /// Another error rcode (FORMERR, NOTIMP, ...), by number.
    Rcode(u16),
    /// A network or I/O error.
    Network(std::io::ErrorKind),
    /// The answer could not be decoded, or contradicted itself.
    Malformed,
    /// The check's own deadline passed before the DNS answered.
    Deadline,
}

impl fmt::Display for Transient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Timeout => f.write_str("timeout"),
            Self::ServFail => f.write_str("SERVFAIL"),
            Self::Refused => f.write_str("REFUSED"),
            Self::Rcode(rc) => write!(f, "rcode {rc}"),
            Self::Network(kind) => write!(f, "network error ({kind})"),
            Self::Malformed => f.write_str("malformed answer"),
            Self::Deadline => f.write_str("deadline expired"),
        }
    }
}

/// The typed outcome of one query.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DnsOutcome {
    /// One or more records of the asked type. An empty list is read as
    /// [`NoData`](Self::NoData) (see [`normalized`](DnsOutcome::normalized)):
    /// the checker stores every answer in that one form.
    Records {
        /// The records.
        records: Vec<Record>,
        /// The smallest TTL of the answer, in seconds.
        ttl: u32,
    },
    /// The name exists but has no record of this type.
    NoData {
        /// The negative-caching TTL from the SOA (RFC 2308), if known.
        negative_ttl: Option<u32>,
    },
    /// The name does not exist.
    NxDomain {
        /// The negative-caching TTL from the SOA (RFC 2308), if known.
        negative_ttl: Option<u32>,
    },
    /// The query failed temporarily.
    Transient(Transient),
}

impl DnsOutcome {
    /// Whether this is a non-empty answer.
    pub fn is_positive(&self) -> bool {
        matches!(self, Self::Records { records, .. } if !records.is_empty())
    }

    /// Whether this is a definite negative answer (NXDOMAIN or NODATA; an
    /// empty record list counts as NODATA).
    pub fn is_definite_negative(&self) -> bool {
        match self {
            Self::NoData { .. } | Self::NxDomain { .. } => true,
            Self::Records { records, .. } => records.is_empty(),
            Self::Transient(_) => false,
        }
    }

    /// The one form of "no data": an empty [`Records`](Self::Records)
    /// becomes [`NoData`](Self::NoData) without a negative TTL; anything
    /// else is returned as it is.
    pub fn normalized(self) -> Self {
        match self {
            Self::Records { records, .. } if records.is_empty() => {
                Self::NoData { negative_ttl: None }
            }
            other => other,
        }
    }

    /// Whether this MX answer decides without A and AAAA: records (a null
    /// MX included) or NXDOMAIN. The one place that says so; the lookup,
    /// the verdict and the evidence all ask it.
    pub fn decides_alone(&self) -> bool {
        self.is_positive() || matches!(self, Self::NxDomain { .. })
    }

    /// The transient failure, if this is one.
    pub fn transient(&self) -> Option<Transient> {
        match self {
            Self::Transient(t) => Some(*t),
            _ => None,
        }
    }
}

/// A DNS backend. `name` is always absolute: the lowercased A-label form
/// with a trailing dot (`example.com.`); implementations must not apply a
/// search list.
///
/// The trait is object safe (`Arc<dyn Resolver>` works) and can be mocked
/// with `mockall::mock!`. It is declared with the `async_trait` macro,
/// which this crate re-exports as [`envelope_check::async_trait`](crate::async_trait):
/// put `#[async_trait]` on your `impl` and write a plain `async fn query`
/// (without it, the compiler asks for the expanded signature, E0195). No
/// extra dependency is needed.
///
/// A backend of your own, here a fixed table standing in for your MTA's
/// DNS cache:
///
/// ```
/// use std::collections::HashMap;
/// use envelope_check::{
///     CheckOptions, Checker, DnsOutcome, Policy, QueryType, Record, Resolver, Transient,
///     async_trait,
/// };
///
/// struct Table(HashMap<(String, QueryType), DnsOutcome>);
///
/// #[async_trait]
/// impl Resolver for Table {
///     async fn query(&self, name: &str, qtype: QueryType) -> DnsOutcome {
///         match self.0.get(&(name.to_owned(), qtype)) {
///             Some(outcome) => outcome.clone(),
///             // Whatever your backend cannot answer is a temporary failure,
///             // which never gives a permanent reject.
///             None => DnsOutcome::Transient(Transient::ServFail),
///         }
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut table = HashMap::new();
/// let mx = Record::Mx { preference: 10, exchange: "mx.shop.example.".into() };
/// table.insert(
///     ("shop.example.".to_owned(), QueryType::Mx),
///     DnsOutcome::Records { records: vec![mx], ttl: 300 },
/// );
/// table.insert(
///     ("gone.example.".to_owned(), QueryType::Mx),
///     DnsOutcome::NxDomain { negative_ttl: Some(60) },
/// );
/// let checker = Checker::new(Table(table), Policy::default());
/// let options = CheckOptions::default();
/// assert!(checker.mail_from("<a@shop.example>", options).await.is_accept());
/// assert_eq!(checker.rcpt_to("<a@gone.example>", options).await.code(), 550);
/// assert_eq!(checker.rcpt_to("<a@unknown.example>", options).await.code(), 450);
/// # }
/// ```
#[async_trait]
pub trait Resolver: Send + Sync {
    /// Asks one question and returns its typed outcome. Must not panic; a
    /// failure is a [`DnsOutcome::Transient`].
    async fn query(&self, name: &str, qtype: QueryType) -> DnsOutcome;
}

#[async_trait]
impl<R: Resolver + ?Sized> Resolver for Arc<R> {
    async fn query(&self, name: &str, qtype: QueryType) -> DnsOutcome {
        (**self).query(name, qtype).await
    }
}

#[async_trait]
impl<R: Resolver + ?Sized> Resolver for &R {
    async fn query(&self, name: &str, qtype: QueryType) -> DnsOutcome {
        (**self).query(name, qtype).await
    }
}
