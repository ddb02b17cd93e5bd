//! The checker's counters: relaxed atomics, and their snapshot.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::verdict::{Reason, Verdict};

/// A snapshot of a checker's counters (monotonic since it was built).
/// Export them to whatever metrics system the MTA uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Stats {
    /// Checks made.
    pub checks: u64,
    /// Accepted.
    pub accepted: u64,
    /// Rejected as bad syntax, or commands out of order.
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
            Some(Reason::BadSyntax(_) | Reason::OutOfOrder) => &self.bad_syntax,
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
