//! What a verdict rests on.

use std::fmt;
use std::time::Duration;

use crate::resolver::{DnsOutcome, QueryType, Record};
use crate::verdict::Rule;

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
        Rule::CommandOrder => "command order",
        Rule::Exemption => "exemption",
        Rule::NonFqdn => "the fully-qualified rule",
        Rule::SenderAccess => "sender access map",
        Rule::LocalDomain => "local domain",
        Rule::Literal => "address literal",
        Rule::Policy => "policy",
        Rule::Dns => "DNS",
    }
}
