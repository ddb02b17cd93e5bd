//! What a verdict rests on, and the checker's counters.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::resolver::{DnsOutcome, QueryType, Record};
use crate::verdict::{Reason, Rule, Verdict};

/// How the verdict cache was used for a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CacheUse {
    /// No DNS was needed, or the cache is off.
    NotUsed,
    /// Not cached: this check asked the DNS.
    Miss,
    /// Answered from the cache; the entry had this long to live.
    Hit {
        /// Remaining lifetime of the entry.
        remaining: Duration,
    },
    /// Another check was already asking; this one shared its answer.
    Shared,
}

/// One DNS question a verdict rests on.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct QueryEvidence {
    /// The absolute name asked (`example.com.`).
    pub name: String,
    /// The type asked.
    pub qtype: QueryType,
    /// The outcome; `None` when no answer was used (the deadline passed
    /// first, or another answer already decided).
    pub outcome: Option<DnsOutcome>,
}

/// The evidence of one verdict: which rule decided, the DNS questions and
/// their outcomes, whether the cache answered, and the time taken. Ask for
/// it with `Checker::explain_*` or a `Transaction` with explanations on; the
/// plain checks collect none.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Evidence {
    /// The rule that decided.
    pub rule: Rule,
    /// The A-label domain looked up, if DNS was needed.
    pub domain: Option<String>,
    /// The questions asked by this check (none on a cache hit).
    pub queries: Vec<QueryEvidence>,
    /// How the cache was used.
    pub cache: CacheUse,
    /// Time from the start of the check to the verdict.
    pub elapsed: Duration,
}

impl fmt::Display for Evidence {
    /// Lines an administrator can read at a glance, each indented by four
    /// spaces, for example
    /// `    MX typo-domain.com. → NXDOMAIN (negative TTL 60 s) · 0.4 ms · decided by DNS`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut lines: Vec<String> = self
            .queries
            .iter()
            .map(|q| {
                format!(
                    "{} {} → {}",
                    q.qtype,
                    q.name,
                    OutcomeText(q.outcome.as_ref())
                )
            })
            .collect();
        match (self.cache, &self.domain) {
            (CacheUse::Hit { remaining }, Some(d)) => {
                lines.push(format!("{d}. → cached ({} s left)", remaining.as_secs()));
            }
            (CacheUse::Shared, Some(d)) => {
                lines.push(format!("{d}. → shared with a lookup under way"))
            }
            _ => {}
        }
        if lines.is_empty() {
            lines.push("no DNS needed".to_owned());
        }
        let last = lines.len() - 1;
        for (i, line) in lines.iter().enumerate() {
            write!(f, "    {line}")?;
            if i == last {
                write!(
                    f,
                    " · {:.1} ms · decided by {}",
                    self.elapsed.as_secs_f64() * 1000.0,
                    rule_text(self.rule)
                )?;
            } else {
                writeln!(f)?;
            }
        }
        Ok(())
    }
}

struct OutcomeText<'a>(Option<&'a DnsOutcome>);

impl fmt::Display for OutcomeText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let negative = |f: &mut fmt::Formatter<'_>, what: &str, ttl: &Option<u32>| match ttl {
            Some(t) => write!(f, "{what} (negative TTL {t} s)"),
            None => f.write_str(what),
        };
        match self.0 {
            None => f.write_str("no answer used"),
            Some(DnsOutcome::Records { records, ttl }) => {
                if records.iter().any(Record::is_null_mx) {
                    write!(f, "null MX (TTL {ttl} s)")
                } else {
                    let n = records.len();
                    write!(
                        f,
                        "{n} record{} (TTL {ttl} s)",
                        if n == 1 { "" } else { "s" }
                    )
                }
            }
            Some(DnsOutcome::NoData { negative_ttl }) => negative(f, "NODATA", negative_ttl),
            Some(DnsOutcome::NxDomain { negative_ttl }) => negative(f, "NXDOMAIN", negative_ttl),
            Some(DnsOutcome::Transient(t)) => write!(f, "{t} (temporary)"),
        }
    }
}

fn rule_text(rule: Rule) -> &'static str {
    match rule {
        Rule::Syntax => "syntax",
        Rule::Exemption => "exemption",
        Rule::NonFqdn => "the fully-qualified rule",
        Rule::SenderAccess => "sender access map",
        Rule::LocalDomain => "local domain",
        Rule::Literal => "address literal",
        Rule::Policy => "policy",
        Rule::Dns => "DNS",
    }
}

/// A snapshot of a checker's counters (monotonic since it was built).
/// Export them to whatever metrics system the MTA uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Stats {
    /// Checks made.
    pub checks: u64,
    /// Accepted.
    pub accepted: u64,
    /// Rejected as bad syntax.
    pub bad_syntax: u64,
    /// Rejected as not fully qualified.
    pub not_fully_qualified: u64,
    /// Rejected: unknown domain.
    pub unknown_domain: u64,
    /// Rejected: null MX.
    pub null_mx: u64,
    /// Rejected temporarily (450).
    pub temporary_failure: u64,
    /// Rejected by an opt-in policy rule (public suffix, special use, literal).
    pub policy: u64,
    /// Rejected (or deferred) by the sender access map.
    pub access_denied: u64,
    /// Domain lookups answered by the verdict cache.
    pub cache_hits: u64,
    /// Domain lookups not in the cache (asked, or shared with a lookup
    /// under way).
    pub cache_misses: u64,
    /// DNS queries answered (or failed) for this checker.
    pub dns_queries: u64,
    /// DNS queries that failed temporarily.
    pub transient_failures: u64,
    /// Lookups cut short by the check's deadline.
    pub deadline_expiries: u64,
}

/// The live counters: relaxed atomics, no locks.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    accepted: AtomicU64,
    bad_syntax: AtomicU64,
    not_fully_qualified: AtomicU64,
    unknown_domain: AtomicU64,
    null_mx: AtomicU64,
    temporary_failure: AtomicU64,
    policy: AtomicU64,
    access_denied: AtomicU64,
    pub(crate) cache_hits: AtomicU64,
    pub(crate) cache_misses: AtomicU64,
    pub(crate) dns_queries: AtomicU64,
    pub(crate) transient_failures: AtomicU64,
    pub(crate) deadline_expiries: AtomicU64,
}

impl Counters {
    /// One atomic add per check: `checks` is the sum of the outcomes.
    pub(crate) fn count_verdict(&self, verdict: &Verdict) {
        let counter = match verdict.reject().map(|r| r.reason()) {
            None => &self.accepted,
            Some(Reason::BadSyntax(_)) => &self.bad_syntax,
            Some(Reason::NotFullyQualified) => &self.not_fully_qualified,
            Some(Reason::UnknownDomain) => &self.unknown_domain,
            Some(Reason::NullMx) => &self.null_mx,
            Some(Reason::TemporaryFailure(_)) => &self.temporary_failure,
            Some(Reason::PublicSuffix | Reason::SpecialUse | Reason::LiteralNotAccepted) => {
                &self.policy
            }
            Some(Reason::AccessDenied) => &self.access_denied,
        };
        bump(counter);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let outcomes = [
            &self.accepted,
            &self.bad_syntax,
            &self.not_fully_qualified,
            &self.unknown_domain,
            &self.null_mx,
            &self.temporary_failure,
            &self.policy,
            &self.access_denied,
        ];
        Stats {
            checks: outcomes.iter().map(|a| get(a)).sum(),
            accepted: get(&self.accepted),
            bad_syntax: get(&self.bad_syntax),
            not_fully_qualified: get(&self.not_fully_qualified),
            unknown_domain: get(&self.unknown_domain),
            null_mx: get(&self.null_mx),
            temporary_failure: get(&self.temporary_failure),
            policy: get(&self.policy),
            access_denied: get(&self.access_denied),
            cache_hits: get(&self.cache_hits),
            cache_misses: get(&self.cache_misses),
            dns_queries: get(&self.dns_queries),
            transient_failures: get(&self.transient_failures),
            deadline_expiries: get(&self.deadline_expiries),
        }
    }
}

pub(crate) fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}
