//! What a check reports besides its verdict: the counters, one tracing
//! event, and on request the evidence.

use std::time::{Duration, Instant};

use tracing::Level;

use super::Checker;
use crate::address::{Domain, Mailbox};
use crate::engine::DnsEvidence;
use crate::evidence::{CacheUse, Evidence, QueryEvidence};
use crate::policy::Policy;
use crate::resolver::{DnsOutcome, QueryType};
use crate::tracking::Tracking;
use crate::verdict::{Role, Verdict};

/// What one check must report, decided once at its start.
#[derive(Clone, Copy)]
pub(super) struct Ctx {
    start: Option<Instant>,
    trace: bool,
    pub(super) explain: bool,
}

impl Ctx {
    /// The start time is read only if an event or an explanation will use
    /// it.
    pub(super) fn new(explain: bool) -> Self {
        let trace = tracing::enabled!(target: "envelope_check", Level::INFO);
        Self {
            start: (explain || trace).then(Instant::now),
            trace,
            explain,
        }
    }
}

/// The DNS side of one check: the domain looked up (kept only for an
/// explanation), how the cache served it, and the questions asked.
pub(super) struct Facts {
    pub(super) domain: Option<String>,
    pub(super) cache: CacheUse,
    pub(super) dns: Option<Box<DnsEvidence>>,
}

impl Facts {
    pub(super) const NONE: Self = Self {
        domain: None,
        cache: CacheUse::NotUsed,
        dns: None,
    };

    fn query_count(&self) -> u64 {
        self.dns.as_ref().map_or(0, |d| {
            [&d.mx, &d.a, &d.aaaa]
                .iter()
                .filter(|o| o.is_some())
                .count() as u64
        })
    }

    /// The questions in the order they were asked: MX, then A and AAAA
    /// unless MX was positive or NXDOMAIN (or never answered).
    fn queries(&self) -> Vec<QueryEvidence> {
        let Some(dns) = &self.dns else {
            return Vec::new();
        };
        let name = format!("{}.", self.domain.as_deref().unwrap_or_default());
        let mut queries = vec![QueryEvidence {
            name: name.clone(),
            qtype: QueryType::Mx,
            outcome: dns.mx.clone(),
        }];
        let mx_decided = dns.mx.as_ref().is_none_or(DnsOutcome::decides_alone);
        if !mx_decided {
            for (qtype, outcome) in [(QueryType::A, &dns.a), (QueryType::Aaaa, &dns.aaaa)] {
                queries.push(QueryEvidence {
                    name: name.clone(),
                    qtype,
                    outcome: outcome.clone(),
                });
            }
        }
        queries
    }
}

impl<R> Checker<R> {
    /// Counts, emits the event, and attaches evidence when asked. `sender`
    /// and `recipient` are the parties known to the check (for the event's
    /// address and the tracking rule).
    pub(super) fn finish(
        &self,
        verdict: Verdict,
        sender: Option<&Mailbox<'_>>,
        recipient: Option<&Mailbox<'_>>,
        facts: Facts,
        ctx: Ctx,
    ) -> Verdict {
        self.counters.count_verdict(&verdict);
        let elapsed = ctx.start.map_or(Duration::ZERO, |s| s.elapsed());
        if ctx.trace {
            let role = verdict.role();
            let tracking = self.policy.tracking(role, sender, recipient);
            let subject = if role == Role::Sender {
                sender
            } else {
                recipient
            };
            emit(&self.policy, &verdict, subject, tracking, &facts, elapsed);
        }
        if !ctx.explain {
            return verdict;
        }
        let rule = verdict.rule();
        let queries = facts.queries();
        verdict.with_evidence(Evidence {
            rule,
            domain: facts.domain,
            queries,
            cache: facts.cache,
            elapsed,
        })
    }
}

/// One structured event per check: INFO for a reject, DEBUG for an accept.
fn emit(
    policy: &Policy,
    verdict: &Verdict,
    mailbox: Option<&Mailbox<'_>>,
    tracking: Tracking,
    facts: &Facts,
    elapsed: Duration,
) {
    let direction = policy.direction().as_str();
    let role = verdict.role().as_str();
    let echo = mailbox.map(|m| m.echo());
    let domain = mailbox
        .and_then(Mailbox::domain)
        .map(Domain::ascii)
        .unwrap_or("");
    let cached = matches!(facts.cache, CacheUse::Hit { .. });
    let queries = facts.query_count();
    let elapsed_us = elapsed.as_micros() as u64;
    macro_rules! event {
        ($level:expr) => {
            tracing::event!(
                target: "envelope_check",
                $level,
                direction,
                role,
                address = echo.as_ref().map(tracing::field::display),
                domain,
                code = verdict.code(),
                status = verdict.reject().map(|r| tracing::field::display(r.status())),
                reason = verdict.reject().map(|r| tracing::field::debug(r.reason())),
                log_reason = verdict.log_reason(),
                access_key = verdict.access_match().map(|m| tracing::field::display(m.key())),
                directive = verdict.directive().map(tracing::field::display),
                tracked = tracking.as_str(),
                cached,
                elapsed_us,
                queries,
                "{verdict}"
            )
        };
    }
    if verdict.is_accept() {
        event!(Level::DEBUG);
    } else {
        event!(Level::INFO);
    }
}
