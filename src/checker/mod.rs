//! `Checker<R>`: parse, consult the policy, gather DNS evidence, decide.

mod lookup;
mod report;

use crate::address::{
    AddressError, ForwardPath, Mailbox, ReversePath, parse_forward_path,
    parse_internal_forward_path, parse_internal_reverse_path, parse_reverse_path,
    split_command_argument, split_command_argument_bytes,
};
use crate::cache::{self, Cache, CacheConfig};
use crate::engine::{self, Plan};
use crate::policy::Policy;
use crate::resolver::Resolver;
use crate::stats::{Counters, Stats};
use crate::verdict::{Role, Verdict};
use report::{Ctx, Facts};
use std::sync::Arc;

/// Checks envelope senders and recipients against a [`Policy`], asking a
/// [`Resolver`] for DNS evidence.
///
/// DNS strategy: MX first. A positive MX answer or NXDOMAIN ends the lookup
/// (one query). Otherwise A and AAAA are asked concurrently and the first
/// positive answer wins (at most three queries in two round trips). Every
/// check finishes within the policy's deadline.
///
/// **Tokio:** a check that reaches the DNS runs its deadline on Tokio's
/// timer, so it must run inside a Tokio runtime with the time driver
/// enabled (`#[tokio::main]`, or a runtime built with `enable_time()` or
/// `enable_all()`). Checks that need no DNS (syntax errors, cached
/// verdicts, local domains) do not touch the timer.
///
/// Results are cached per domain (see [`CacheConfig`]): positive ones for
/// the answers' TTL, negative ones for the SOA negative TTL, transient
/// failures never. Concurrent checks of the same uncached domain share one
/// lookup.
///
/// Each check emits one `tracing` event (target `envelope_check`): INFO for
/// a reject, DEBUG for an accept.
///
/// ```
/// use envelope_check::{CheckOptions, Checker, InMemoryResolver, Policy};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let mut dns = InMemoryResolver::new();
/// dns.add_mx("shop.example", 10, "mx.shop.example").unwrap();
/// let checker = Checker::new(dns, Policy::default());
///
/// let sender = checker.mail_from("<buyer@shop.example>", CheckOptions::default()).await;
/// assert_eq!(sender.to_string(), "250 2.1.0 Ok");
/// let rcpt = checker.rcpt_to("<info@typo.example>", CheckOptions::default()).await;
/// assert_eq!(
///     rcpt.to_string(),
///     "550 5.1.2 <info@typo.example>: Recipient address rejected: Domain not found"
/// );
/// # }
/// ```
pub struct Checker<R> {
    resolver: R,
    policy: Policy,
    cache_config: CacheConfig,
    // Shared with the checkers made by `with_policy`.
    cache: Option<Arc<Cache>>,
    counters: Arc<Counters>,
}

impl<R> std::fmt::Debug for Checker<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Checker")
            .field("policy", &self.policy)
            .field("cache_config", &self.cache_config)
            .field("cached_domains", &self.cached_domains())
            .finish_non_exhaustive()
    }
}

/// How one check runs: options as a value, `Default` for none.
///
/// ```
/// use envelope_check::CheckOptions;
///
/// let options = CheckOptions::default().smtputf8(true).explain(true);
/// assert!(options.is_smtputf8() && options.is_explain());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct CheckOptions {
    explain: bool,
    smtputf8: bool,
}

impl CheckOptions {
    /// Attach [`Evidence`](crate::Evidence) to the verdict (the reply line
    /// is the same either way).
    pub fn explain(mut self, yes: bool) -> Self {
        self.explain = yes;
        self
    }

    /// The transaction declared `SMTPUTF8` (for `RCPT TO`; a `MAIL FROM`
    /// argument declares it with its own parameter). U-label domains need
    /// it.
    pub fn smtputf8(mut self, yes: bool) -> Self {
        self.smtputf8 = yes;
        self
    }

    /// Whether evidence is attached.
    pub fn is_explain(&self) -> bool {
        self.explain
    }

    /// Whether SMTPUTF8 is in force.
    pub fn is_smtputf8(&self) -> bool {
        self.smtputf8
    }
}

/// A command argument, the way it arrived.
///
/// ```
/// use envelope_check::Argument;
///
/// // What follows `MAIL FROM:` as text, ESMTP parameters included:
/// let text = Argument::from("<a@example.com> SIZE=100");
/// // The same, as raw bytes off the wire (not UTF-8: a 500 reply):
/// let bytes = Argument::from(&b"<a@example.com> SIZE=100"[..]);
/// // Postfix's internal form, as a policy server receives it (no brackets):
/// let internal = Argument::Internal("a@example.com");
/// # let _ = (text, bytes, internal);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Argument<'a> {
    /// The text after `MAIL FROM:` / `RCPT TO:`: the path, then ESMTP
    /// parameters.
    Text(&'a str),
    /// The same as raw bytes; text that is not UTF-8 gets Postfix's
    /// `500 5.5.2 Error: bad UTF-8 syntax`.
    Bytes(&'a [u8]),
    /// Postfix's internal form of an address, as in a policy request's
    /// `sender=` / `recipient=` attribute: no brackets, no parameters, the
    /// empty string for the null sender.
    Internal(&'a str),
}

impl<'a> From<&'a str> for Argument<'a> {
    fn from(text: &'a str) -> Self {
        Self::Text(text)
    }
}

impl<'a> From<&'a String> for Argument<'a> {
    fn from(text: &'a String) -> Self {
        Self::Text(text)
    }
}

impl<'a> From<&'a [u8]> for Argument<'a> {
    fn from(bytes: &'a [u8]) -> Self {
        Self::Bytes(bytes)
    }
}

impl<'a> Argument<'a> {
    /// The reverse path, and whether SMTPUTF8 is in force.
    fn reverse_path(self, smtputf8: bool) -> Result<(ReversePath<'a>, bool), AddressError> {
        match self {
            Self::Internal(text) => {
                parse_internal_reverse_path(text, smtputf8).map(|p| (p, smtputf8))
            }
            Self::Text(_) | Self::Bytes(_) => {
                let arg = self.split()?;
                let smtputf8 = smtputf8 || arg.smtputf8;
                parse_reverse_path(arg.path, smtputf8).map(|p| (p, smtputf8))
            }
        }
    }

    /// The forward path.
    pub(crate) fn forward_path(self, smtputf8: bool) -> Result<ForwardPath<'a>, AddressError> {
        match self {
            Self::Internal(text) => parse_internal_forward_path(text, smtputf8),
            Self::Text(_) | Self::Bytes(_) => {
                let arg = self.split()?;
                parse_forward_path(arg.path, smtputf8 || arg.smtputf8)
            }
        }
    }

    fn split(self) -> Result<crate::CommandArgument<'a>, AddressError> {
        match self {
            Self::Text(text) | Self::Internal(text) => split_command_argument(text),
            Self::Bytes(bytes) => split_command_argument_bytes(bytes),
        }
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
        let cache = cache::new_cache(&cache_config).map(Arc::new);
        Self {
            resolver,
            policy,
            cache_config,
            cache,
            counters: Arc::default(),
        }
    }

    /// A checker that enforces `policy` and shares this one's resolver
    /// (cloned), verdict cache and counters: how a server swaps in a
    /// reloaded configuration without losing what it has learnt from the
    /// DNS. The cache holds what the DNS said of each domain, which no
    /// policy changes; [`stats`](Self::stats) of either checker counts the
    /// checks of both.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use envelope_check::{CheckOptions, Checker, InMemoryResolver, Policy};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut dns = InMemoryResolver::new();
    /// dns.add_mx("shop.example", 10, "mx.shop.example").unwrap();
    /// let checker = Checker::new(Arc::new(dns), Policy::default());
    /// checker.rcpt_to("<a@shop.example>", CheckOptions::default()).await;
    ///
    /// let local = Policy::builder().local_domain("shop.example").build().unwrap();
    /// let reloaded = checker.with_policy(local);
    /// assert!(reloaded.policy().is_local_domain("shop.example"));
    /// assert_eq!(reloaded.cached_domains(), 1);
    /// assert_eq!(reloaded.stats().checks, 1);
    /// # }
    /// ```
    pub fn with_policy(&self, policy: Policy) -> Self
    where
        R: Clone,
    {
        Self {
            resolver: self.resolver.clone(),
            policy,
            cache_config: self.cache_config.clone(),
            cache: self.cache.clone(),
            counters: self.counters.clone(),
        }
    }

    /// Checks the argument of `MAIL FROM:`. An `SMTPUTF8` parameter in the
    /// argument allows U-label domains, as `options.smtputf8(true)` does.
    pub async fn mail_from<'a>(
        &self,
        arg: impl Into<Argument<'a>>,
        options: CheckOptions,
    ) -> Verdict {
        self.mail_from_parsed(arg.into(), options).await.0
    }

    /// Checks the argument of `RCPT TO:`; `options.smtputf8(true)` when the
    /// transaction's `MAIL FROM` declared SMTPUTF8.
    pub async fn rcpt_to<'a>(
        &self,
        arg: impl Into<Argument<'a>>,
        options: CheckOptions,
    ) -> Verdict {
        self.rcpt_to_with(arg.into(), None, options).await
    }

    /// Checks a parsed sender.
    pub async fn sender(&self, path: &ReversePath<'_>, options: CheckOptions) -> Verdict {
        self.sender_verdict(path, Ctx::new(options.explain)).await
    }

    /// Checks a parsed recipient.
    pub async fn recipient(&self, path: &ForwardPath<'_>, options: CheckOptions) -> Verdict {
        self.recipient_verdict(path, None, Ctx::new(options.explain))
            .await
    }

    /// The sender's verdict, the parsed sender (owned, for a transaction)
    /// and whether SMTPUTF8 is in force.
    pub(crate) async fn mail_from_parsed(
        &self,
        arg: Argument<'_>,
        options: CheckOptions,
    ) -> (Verdict, Option<ReversePath<'static>>, bool) {
        let ctx = Ctx::new(options.explain);
        match arg.reverse_path(options.smtputf8) {
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

    /// The recipient's verdict, with the transaction's sender when known
    /// (for the tracking rule).
    pub(crate) async fn rcpt_to_with(
        &self,
        arg: Argument<'_>,
        sender: Option<&Mailbox<'_>>,
        options: CheckOptions,
    ) -> Verdict {
        let ctx = Ctx::new(options.explain);
        match arg.forward_path(options.smtputf8) {
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
}

impl<R> Checker<R> {
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
        self.cache.as_deref().map_or(0, Cache::len)
    }

    /// A snapshot of the counters (checks, verdicts by reason, cache hits
    /// and misses, DNS queries, transient failures, deadline expiries).
    pub fn stats(&self) -> Stats {
        self.counters.snapshot()
    }
}
