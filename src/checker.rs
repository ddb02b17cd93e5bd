//! `Checker<R>`: parse, consult the policy, gather DNS evidence, decide.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Mutex;
use std::task::Poll;
use std::time::{Duration, Instant};

use tracing::{Instrument, Level};

use crate::address::{
    Domain, ForwardPath, Mailbox, ReversePath, parse_forward_path, parse_reverse_path,
    split_command_argument,
};
use crate::cache::{self, Cache, CacheConfig};
use crate::engine::{self, DnsEvidence, DomainStatus, Plan};
use crate::evidence::{CacheUse, Counters, Evidence, QueryEvidence, Stats, bump};
use crate::policy::{Policy, Tracking};
use crate::resolver::{DnsOutcome, QueryType, Resolver, Transient};
use crate::verdict::{Reason, Reject, Role, Verdict};

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
///
/// Each check emits one `tracing` event (target `envelope_check`): INFO for
/// a reject, DEBUG for an accept; see the README for its fields.
pub struct Checker<R> {
    resolver: R,
    policy: Policy,
    cache_config: CacheConfig,
    cache: Option<Cache>,
    counters: Counters,
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

/// What one check must report, decided once at its start.
#[derive(Clone, Copy)]
struct Ctx {
    start: Option<Instant>,
    trace: bool,
    explain: bool,
}

/// What a domain lookup found, and how.
struct StatusInfo {
    status: DomainStatus,
    cache: CacheUse,
    /// The questions this check asked, when it asked any (boxed: the hit
    /// path moves this struct around).
    dns: Option<Box<DnsEvidence>>,
}

/// The DNS side of one check, for evidence and events.
struct Facts {
    domain: Option<String>,
    cache: CacheUse,
    dns: Option<Box<DnsEvidence>>,
}

impl Facts {
    const NONE: Self = Self {
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
            counters: Counters::default(),
        }
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// The resolver.
    pub fn resolver(&self) -> &R {
        &self.resolver
    }

    /// Domains currently held in the cache.
    pub fn cached_domains(&self) -> usize {
        self.cache.as_ref().map_or(0, Cache::len)
    }

    /// A snapshot of the counters (checks, verdicts by reason, cache hits
    /// and misses, DNS queries, transient failures, deadline expiries).
    pub fn stats(&self) -> Stats {
        self.counters.snapshot()
    }

    /// A transaction: `MAIL FROM` then `RCPT TO`s, with the transaction's
    /// SMTPUTF8 and the sender known to the recipient checks (for the
    /// tracking rule).
    pub fn transaction(&self) -> Transaction<'_, R> {
        Transaction {
            checker: self,
            sender: None,
            deferral: None,
            smtputf8: false,
            explain: false,
        }
    }

    /// Checks the argument of `MAIL FROM:` (path and ESMTP parameters; an
    /// `SMTPUTF8` parameter allows U-label domains).
    pub async fn check_mail_from(&self, arg: &str) -> Verdict {
        self.mail_from(arg, false).await.0
    }

    /// As [`check_mail_from`](Self::check_mail_from), with the verdict's
    /// [`Evidence`] attached.
    pub async fn explain_mail_from(&self, arg: &str) -> Verdict {
        self.mail_from(arg, true).await.0
    }

    /// Checks the argument of `RCPT TO:`; `smtputf8` is whether the
    /// transaction's `MAIL FROM` declared SMTPUTF8.
    pub async fn check_rcpt_to(&self, arg: &str, smtputf8: bool) -> Verdict {
        self.rcpt_to(arg, smtputf8, None, false).await
    }

    /// As [`check_rcpt_to`](Self::check_rcpt_to), with the verdict's
    /// [`Evidence`] attached.
    pub async fn explain_rcpt_to(&self, arg: &str, smtputf8: bool) -> Verdict {
        self.rcpt_to(arg, smtputf8, None, true).await
    }

    /// Checks a parsed sender.
    pub async fn check_sender(&self, path: &ReversePath<'_>) -> Verdict {
        self.sender_verdict(path, self.context(false)).await
    }

    /// Checks a parsed recipient.
    pub async fn check_recipient(&self, path: &ForwardPath<'_>) -> Verdict {
        self.recipient_verdict(path, None, self.context(false))
            .await
    }

    /// What this check must report: the start time is read only if an
    /// event or an explanation will use it.
    fn context(&self, explain: bool) -> Ctx {
        let trace = tracing::enabled!(target: "envelope_check", Level::INFO);
        Ctx {
            start: (explain || trace).then(Instant::now),
            trace,
            explain,
        }
    }

    /// The sender's verdict, and the parsed sender for a transaction.
    async fn mail_from(
        &self,
        arg: &str,
        explain: bool,
    ) -> (Verdict, Option<ReversePath<'static>>, bool) {
        let ctx = self.context(explain);
        let parsed = split_command_argument(arg)
            .and_then(|a| parse_reverse_path(a.path, a.smtputf8).map(|p| (p, a.smtputf8)));
        match parsed {
            Err(e) => {
                let v = engine::syntax_error(Role::Sender, e);
                (self.finish(v, None, None, Facts::NONE, ctx), None, false)
            }
            Ok((path, smtputf8)) => {
                let v = self.sender_verdict(&path, ctx).await;
                (v, Some(path.into_owned()), smtputf8)
            }
        }
    }

    async fn rcpt_to(
        &self,
        arg: &str,
        smtputf8: bool,
        sender: Option<&Mailbox<'_>>,
        explain: bool,
    ) -> Verdict {
        let ctx = self.context(explain);
        let parsed = split_command_argument(arg)
            .and_then(|a| parse_forward_path(a.path, smtputf8 || a.smtputf8));
        match parsed {
            Err(e) => {
                let v = engine::syntax_error(Role::Recipient, e);
                self.finish(v, sender, None, Facts::NONE, ctx)
            }
            Ok(path) => self.recipient_verdict(&path, sender, ctx).await,
        }
    }

    async fn sender_verdict(&self, path: &ReversePath<'_>, ctx: Ctx) -> Verdict {
        let (verdict, facts) = self
            .decide(engine::plan_sender(path, &self.policy), ctx.explain)
            .await;
        self.finish(verdict, path.mailbox(), None, facts, ctx)
    }

    async fn recipient_verdict(
        &self,
        path: &ForwardPath<'_>,
        sender: Option<&Mailbox<'_>>,
        ctx: Ctx,
    ) -> Verdict {
        let (verdict, facts) = self
            .decide(engine::plan_recipient(path, &self.policy), ctx.explain)
            .await;
        self.finish(verdict, sender, Some(path.mailbox()), facts, ctx)
    }

    async fn decide(&self, plan: Plan<'_>, explain: bool) -> (Verdict, Facts) {
        match plan {
            Plan::Decided(v) => (v, Facts::NONE),
            Plan::LookUp(lookup) => {
                let info = self.status_info(lookup.domain()).await;
                let facts = Facts {
                    domain: explain.then(|| lookup.domain().ascii().to_owned()),
                    cache: info.cache,
                    dns: info.dns,
                };
                (lookup.verdict(&self.policy, Some(info.status)), facts)
            }
        }
    }

    /// Counts, emits the event, and attaches evidence when asked. `sender`
    /// and `recipient` are the parties known to the check (for the event's
    /// address and the tracking rule).
    fn finish(
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
        let queries = facts.dns.as_ref().map_or_else(Vec::new, |dns| {
            let name = format!("{}.", facts.domain.as_deref().unwrap_or_default());
            let mut queries = vec![QueryEvidence {
                name: name.clone(),
                qtype: QueryType::Mx,
                outcome: dns.mx.clone(),
            }];
            // A and AAAA were asked unless MX was positive or NXDOMAIN (or
            // never answered).
            let mx_decided = dns
                .mx
                .as_ref()
                .is_none_or(|mx| mx.is_positive() || matches!(mx, DnsOutcome::NxDomain { .. }));
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
        });
        let rule = verdict.rule();
        verdict.with_evidence(Evidence {
            rule,
            domain: facts.domain,
            queries,
            cache: facts.cache,
            elapsed,
        })
    }

    /// What the DNS says about `domain`: from the cache, from a lookup
    /// another check has under way, or from a fresh lookup. Within the
    /// policy's deadline, waiting included.
    pub async fn domain_status(&self, domain: &Domain<'_>) -> DomainStatus {
        self.status_info(domain).await.status
    }

    async fn status_info(&self, domain: &Domain<'_>) -> StatusInfo {
        let Some(cache) = &self.cache else {
            let dns = self.look_up(domain).await;
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

    /// Gathers the DNS evidence for `domain` (no cache) within the policy's
    /// deadline. What did not arrive in time is missing from the evidence,
    /// which [`engine::classify`] turns into a temporary failure.
    pub async fn look_up(&self, domain: &Domain<'_>) -> DnsEvidence {
        self.look_up_within(domain, self.policy.deadline()).await
    }

    async fn look_up_within(&self, domain: &Domain<'_>, budget: Duration) -> DnsEvidence {
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

/// One structured event per check: INFO for a reject, DEBUG for an accept.
fn emit(
    policy: &Policy,
    verdict: &Verdict,
    mailbox: Option<&Mailbox<'_>>,
    tracking: Tracking,
    facts: &Facts,
    elapsed: Duration,
) {
    let direction = match policy.direction() {
        crate::Direction::Inbound => "inbound",
        crate::Direction::Outbound => "outbound",
    };
    let role = match verdict.role() {
        Role::Sender => "sender",
        Role::Recipient => "recipient",
    };
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

/// One SMTP transaction: `MAIL FROM`, then any number of `RCPT TO`. It
/// carries the transaction's SMTPUTF8 to the recipient checks, and the
/// sender to the tracking rule (outbound recipient events are tracked when
/// the sender's domain is managed).
///
/// An inbound *sender* reject concerns every recipient of the transaction:
/// its event says `tracked = "per-recipient"`, and
/// [`Transaction::sender_reject_tracked_for`] tells, recipient by
/// recipient, whether the customer's tracking log shows it.
pub struct Transaction<'c, R> {
    checker: &'c Checker<R>,
    sender: Option<ReversePath<'static>>,
    /// The sender's `DEFER_IF_PERMIT` deferral, which every recipient that
    /// is not itself rejected gets.
    deferral: Option<Verdict>,
    smtputf8: bool,
    explain: bool,
}

impl<R: Resolver> Transaction<'_, R> {
    /// Attaches [`Evidence`] to every verdict of this transaction.
    pub fn explain(mut self, yes: bool) -> Self {
        self.explain = yes;
        self
    }

    /// `MAIL FROM:`: starts the transaction over and checks the sender.
    pub async fn mail_from(&mut self, arg: &str) -> Verdict {
        let (verdict, sender, smtputf8) = self.checker.mail_from(arg, self.explain).await;
        self.sender = sender;
        self.deferral = verdict
            .reject()
            .is_some_and(Reject::is_deferred_permit)
            .then(|| verdict.clone());
        self.smtputf8 = smtputf8;
        verdict
    }

    /// `RCPT TO:`: checks a recipient under the transaction's SMTPUTF8.
    ///
    /// When the sender got a `DEFER_IF_PERMIT` deferral from the sender
    /// access map ([`Reject::is_deferred_permit`]), a recipient that is not
    /// itself rejected gets that deferral, as from Postfix with
    /// `smtpd_delay_reject = yes`; a rejected recipient gets its own reply.
    pub async fn rcpt_to(&mut self, arg: &str) -> Verdict {
        let sender = self.sender.as_ref().and_then(ReversePath::mailbox);
        let verdict = self
            .checker
            .rcpt_to(arg, self.smtputf8, sender, self.explain)
            .await;
        match (&self.deferral, verdict.reject()) {
            (Some(deferral), None) => deferral.clone(),
            (Some(deferral), Some(r)) if matches!(r.reason(), Reason::TemporaryFailure(_)) => {
                deferral.clone()
            }
            _ => verdict,
        }
    }

    /// Whether the transaction declared SMTPUTF8.
    pub fn smtputf8(&self) -> bool {
        self.smtputf8
    }

    /// The sender, once `MAIL FROM` parsed.
    pub fn sender(&self) -> Option<&ReversePath<'static>> {
        self.sender.as_ref()
    }

    /// For an inbound sender reject: whether the tracking log of the
    /// recipient `rcpt` (a parsed recipient of this transaction) shows it.
    /// Outbound, whether the sender's domain is managed.
    pub fn sender_reject_tracked_for(&self, rcpt: &ForwardPath<'_>) -> bool {
        let sender = self.sender.as_ref().and_then(ReversePath::mailbox);
        self.checker
            .policy()
            .is_tracked_for(Role::Sender, sender, rcpt.mailbox())
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
