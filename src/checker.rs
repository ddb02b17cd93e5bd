//! `Checker<R>`: parse, consult the policy, gather DNS evidence, decide.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Mutex;
use std::task::Poll;

use crate::address::{
    Domain, ForwardPath, ReversePath, parse_forward_path, parse_reverse_path,
    split_command_argument,
};
use crate::cache::{self, Cache, CacheConfig};
use crate::engine::{self, DnsEvidence, DomainStatus, Plan};
use crate::policy::Policy;
use crate::resolver::{DnsOutcome, QueryType, Resolver, Transient};
use crate::verdict::{Role, Verdict};

/// Checks envelope senders and recipients against a [`Policy`], asking a
/// [`Resolver`] for DNS evidence.
///
/// DNS strategy: MX first. A positive MX answer or NXDOMAIN ends the lookup
/// (one query). Otherwise A and AAAA are asked concurrently and the first
/// positive answer wins (at most three queries in two round trips). Every
/// check finishes within the policy's deadline; the lookup needs a Tokio
/// runtime with the time driver enabled.
///
/// Results are cached per domain (see [`CacheConfig`]): positive ones for
/// the answers' TTL, negative ones for the SOA negative TTL, transient
/// failures never. Concurrent checks of the same uncached domain share one
/// lookup.
pub struct Checker<R> {
    resolver: R,
    policy: Policy,
    cache_config: CacheConfig,
    cache: Option<Cache>,
}

impl<R> std::fmt::Debug for Checker<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checker")
            .field("policy", &self.policy)
            .field("cache_config", &self.cache_config)
            .field("cached_domains", &self.cache.as_ref().map_or(0, Cache::len))
            .finish_non_exhaustive()
    }
}

impl<R: Resolver> Checker<R> {
    /// A checker over `resolver` enforcing `policy`, with the default cache.
    pub fn new(resolver: R, policy: Policy) -> Self {
        Self::with_cache(resolver, policy, CacheConfig::default())
    }

    /// A checker with the given cache settings
    /// ([`CacheConfig::disabled`] for none).
    pub fn with_cache(resolver: R, policy: Policy, cache_config: CacheConfig) -> Self {
        let cache = cache::new_cache(&cache_config);
        Self {
            resolver,
            policy,
            cache_config,
            cache,
        }
    }

    /// Domains currently held in the cache.
    pub fn cached_domains(&self) -> usize {
        self.cache.as_ref().map_or(0, Cache::len)
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The resolver.
    pub fn resolver(&self) -> &R {
        &self.resolver
    }

    /// Checks the argument of `MAIL FROM:` (path and ESMTP parameters; an
    /// `SMTPUTF8` parameter allows U-label domains).
    pub async fn check_mail_from(&self, arg: &str) -> Verdict {
        match split_command_argument(arg) {
            Err(e) => engine::syntax_error(Role::Sender, e),
            Ok(arg) => match parse_reverse_path(arg.path, arg.smtputf8) {
                Err(e) => engine::syntax_error(Role::Sender, e),
                Ok(path) => self.check_sender(&path).await,
            },
        }
    }

    /// Checks the argument of `RCPT TO:`; `smtputf8` is whether the
    /// transaction's `MAIL FROM` declared SMTPUTF8.
    pub async fn check_rcpt_to(&self, arg: &str, smtputf8: bool) -> Verdict {
        match split_command_argument(arg) {
            Err(e) => engine::syntax_error(Role::Recipient, e),
            Ok(arg) => match parse_forward_path(arg.path, smtputf8 || arg.smtputf8) {
                Err(e) => engine::syntax_error(Role::Recipient, e),
                Ok(path) => self.check_recipient(&path).await,
            },
        }
    }

    /// Checks a parsed sender.
    pub async fn check_sender(&self, path: &ReversePath<'_>) -> Verdict {
        match engine::plan_sender(path, &self.policy) {
            Plan::Decided(v) => v,
            Plan::LookUp(lookup) => {
                let status = self.domain_status(lookup.domain()).await;
                lookup.verdict(&self.policy, Some(status))
            }
        }
    }

    /// Checks a parsed recipient.
    pub async fn check_recipient(&self, path: &ForwardPath<'_>) -> Verdict {
        match engine::plan_recipient(path, &self.policy) {
            Plan::Decided(v) => v,
            Plan::LookUp(lookup) => {
                let status = self.domain_status(lookup.domain()).await;
                lookup.verdict(&self.policy, Some(status))
            }
        }
    }

    /// What the DNS says about `domain`: from the cache, from a lookup
    /// another check has under way, or from a fresh lookup. Within the
    /// policy's deadline, waiting included.
    pub async fn domain_status(&self, domain: &Domain<'_>) -> DomainStatus {
        let Some(cache) = &self.cache else {
            return engine::classify(&self.look_up(domain).await);
        };
        let key = domain.ascii();
        if let Some(entry) = cache.get(key) {
            if entry.is_fresh() {
                return entry.status;
            }
            cache.remove(key);
        }
        // The miss path is boxed so that the hit path's future stays small.
        Box::pin(self.cache_miss(cache, domain)).await
    }

    async fn cache_miss(&self, cache: &Cache, domain: &Domain<'_>) -> DomainStatus {
        let deadline = tokio::time::Instant::now() + self.policy.deadline();
        match tokio::time::timeout_at(deadline, cache.get_value_or_guard_async(domain.ascii()))
            .await
        {
            Err(_) => DomainStatus::Unavailable(Transient::Deadline),
            // Filled by the check that held the guard: fresh, or a result
            // shared only with the checks that waited for it.
            Ok(Ok(entry)) => entry.status,
            Ok(Err(guard)) => {
                let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
                let evidence = self.look_up_within(domain, remaining).await;
                let status = engine::classify(&evidence);
                let ttl = engine::cache_ttl(&evidence, status);
                let _ = guard.insert(cache::entry(&self.cache_config, status, ttl));
                status
            }
        }
    }

    /// Gathers the DNS evidence for `domain` (no cache) within the policy's
    /// deadline. What did not arrive in time is missing from the evidence,
    /// which [`engine::classify`] turns into a temporary failure.
    pub async fn look_up(&self, domain: &Domain<'_>) -> DnsEvidence {
        self.look_up_within(domain, self.policy.deadline()).await
    }

    async fn look_up_within(
        &self,
        domain: &Domain<'_>,
        budget: std::time::Duration,
    ) -> DnsEvidence {
        let mut name = String::with_capacity(domain.ascii().len() + 1);
        name.push_str(domain.ascii());
        name.push('.');
        let evidence = Mutex::new(DnsEvidence::default());
        let gather = gather(&self.resolver, &name, &evidence);
        let _ = tokio::time::timeout(budget, gather).await;
        evidence
            .into_inner()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

fn store(evidence: &Mutex<DnsEvidence>, qtype: QueryType, outcome: DnsOutcome) {
    let mut ev = evidence.lock().unwrap_or_else(|poison| poison.into_inner());
    let slot = match qtype {
        QueryType::Mx => &mut ev.mx,
        QueryType::A => &mut ev.a,
        QueryType::Aaaa => &mut ev.aaaa,
    };
    *slot = Some(outcome);
}

async fn gather<R: Resolver + ?Sized>(resolver: &R, name: &str, evidence: &Mutex<DnsEvidence>) {
    let mx = resolver.query(name, QueryType::Mx).await;
    let done = mx.is_positive() || matches!(mx, DnsOutcome::NxDomain { .. });
    store(evidence, QueryType::Mx, mx);
    if done {
        return;
    }
    // No MX (or MX failed): A and AAAA at once; the first positive wins.
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
