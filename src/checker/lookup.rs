//! The DNS side of a check: the verdict cache with coalescing, and the
//! lookup itself (MX first, then A and AAAA raced), within the deadline.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Mutex;
use std::task::Poll;
use std::time::Duration;

use tracing::Instrument;

use super::Checker;
use crate::address::Domain;
use crate::cache::{self, Cache};
use crate::engine::{self, DnsEvidence, DomainStatus};
use crate::evidence::CacheUse;
use crate::resolver::{DnsOutcome, QueryType, Resolver, Transient};
use crate::stats::bump;

/// What a domain lookup found, and how.
pub(super) struct StatusInfo {
    pub(super) status: DomainStatus,
    pub(super) cache: CacheUse,
    /// The questions this check asked, when it asked any (boxed: the hit
    /// path moves this struct around).
    pub(super) dns: Option<Box<DnsEvidence>>,
}

impl<R: Resolver> Checker<R> {
    /// What the DNS says about `domain`: from the cache, from a lookup
    /// another check has under way, or from a fresh lookup. Within the
    /// policy's deadline, waiting included.
    pub(super) async fn status_info(&self, domain: &Domain<'_>) -> StatusInfo {
        let Some(cache) = &self.cache else {
            let dns = self.look_up_within(domain, self.policy.deadline()).await;
            return StatusInfo {
                status: engine::classify(&dns),
                cache: CacheUse::NotUsed,
                dns: Some(Box::new(dns)),
            };
        };
        let key = domain.ascii();
        if let Some(entry) = cache.get(key) {
            if let Some(remaining) = entry.remaining() {
                bump(&self.counters.cache_hits);
                return StatusInfo {
                    status: entry.status,
                    cache: CacheUse::Hit { remaining },
                    dns: None,
                };
            }
            cache.remove(key);
        }
        bump(&self.counters.cache_misses);
        // The miss path is boxed so that the hit path's future stays small.
        Box::pin(self.cache_miss(cache, domain)).await
    }

    async fn cache_miss(&self, cache: &Cache, domain: &Domain<'_>) -> StatusInfo {
        let deadline = tokio::time::Instant::now() + self.policy.deadline();
        let waited =
            tokio::time::timeout_at(deadline, cache.get_value_or_guard_async(domain.ascii())).await;
        match waited {
            Err(_) => {
                bump(&self.counters.deadline_expiries);
                StatusInfo {
                    status: DomainStatus::Unavailable(Transient::Deadline),
                    cache: CacheUse::Shared,
                    dns: None,
                }
            }
            // Filled by the check that held the guard: fresh, or a result
            // shared only with the checks that waited for it.
            Ok(Ok(entry)) => StatusInfo {
                status: entry.status,
                cache: CacheUse::Shared,
                dns: None,
            },
            Ok(Err(guard)) => {
                let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
                let dns = self.look_up_within(domain, remaining).await;
                let status = engine::classify(&dns);
                let ttl = engine::cache_ttl(&dns, status);
                let _ = guard.insert(cache::entry(&self.cache_config, status, ttl));
                StatusInfo {
                    status,
                    cache: CacheUse::Miss,
                    dns: Some(Box::new(dns)),
                }
            }
        }
    }

    /// Gathers the DNS evidence for `domain` (no cache) within `budget`.
    /// What did not arrive in time is missing from the evidence, which
    /// [`engine::classify`] turns into a temporary failure.
    pub(super) async fn look_up_within(
        &self,
        domain: &Domain<'_>,
        budget: Duration,
    ) -> DnsEvidence {
        let mut name = String::with_capacity(domain.ascii().len() + 1);
        name.push_str(domain.ascii());
        name.push('.');
        let evidence = Mutex::new(DnsEvidence::default());
        let span = tracing::debug_span!(target: "envelope_check", "dns_lookup", domain = %name);
        let gather = gather(&self.resolver, &name, &evidence).instrument(span);
        let timed_out = tokio::time::timeout(budget, gather).await.is_err();
        let evidence = evidence
            .into_inner()
            .unwrap_or_else(|poison| poison.into_inner());
        if timed_out {
            bump(&self.counters.deadline_expiries);
        }
        for outcome in [&evidence.mx, &evidence.a, &evidence.aaaa]
            .into_iter()
            .flatten()
        {
            bump(&self.counters.dns_queries);
            if outcome.transient().is_some() {
                bump(&self.counters.transient_failures);
            }
        }
        evidence
    }
}

fn store(evidence: &Mutex<DnsEvidence>, qtype: QueryType, outcome: DnsOutcome) {
    let mut ev = evidence.lock().unwrap_or_else(|poison| poison.into_inner());
    let slot = match qtype {
        QueryType::Mx => &mut ev.mx,
        QueryType::A => &mut ev.a,
        QueryType::Aaaa => &mut ev.aaaa,
    };
    *slot = Some(outcome.normalized());
}

/// MX first. A positive MX answer or NXDOMAIN ends the lookup; otherwise
/// A and AAAA are asked at once and the first positive answer wins.
async fn gather<R: Resolver + ?Sized>(resolver: &R, name: &str, evidence: &Mutex<DnsEvidence>) {
    let mx = resolver.query(name, QueryType::Mx).await;
    let done = mx.decides_alone();
    store(evidence, QueryType::Mx, mx);
    if done {
        return;
    }
    let mut a = pin!(resolver.query(name, QueryType::A));
    let mut aaaa = pin!(resolver.query(name, QueryType::Aaaa));
    let (mut a_done, mut aaaa_done) = (false, false);
    // Polls one pending query; true when it just gave a positive answer.
    let step = |fut: std::pin::Pin<&mut (dyn Future<Output = DnsOutcome> + Send + '_)>,
                qtype: QueryType,
                finished: &mut bool,
                cx: &mut std::task::Context<'_>| {
        if *finished {
            return false;
        }
        match fut.poll(cx) {
            Poll::Pending => false,
            Poll::Ready(outcome) => {
                *finished = true;
                let positive = outcome.is_positive();
                store(evidence, qtype, outcome);
                positive
            }
        }
    };
    poll_fn(|cx| {
        if step(a.as_mut(), QueryType::A, &mut a_done, cx)
            || step(aaaa.as_mut(), QueryType::Aaaa, &mut aaaa_done, cx)
            || (a_done && aaaa_done)
        {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
}
