//! `Checker<R>`: parse, consult the policy, gather DNS evidence, decide.

use std::future::{Future, poll_fn};
use std::pin::pin;
use std::sync::Mutex;
use std::task::Poll;

use crate::address::{
    Domain, ForwardPath, ReversePath, parse_forward_path, parse_reverse_path,
    split_command_argument,
};
use crate::engine::{self, DnsEvidence, Plan};
use crate::policy::Policy;
use crate::resolver::{DnsOutcome, QueryType, Resolver};
use crate::verdict::{Role, Verdict};

/// Checks envelope senders and recipients against a [`Policy`], asking a
/// [`Resolver`] for DNS evidence.
///
/// DNS strategy: MX first. A positive MX answer or NXDOMAIN ends the lookup
/// (one query). Otherwise A and AAAA are asked concurrently and the first
/// positive answer wins (at most three queries in two round trips). Every
/// check finishes within the policy's deadline; the lookup needs a Tokio
/// runtime with the time driver enabled.
#[derive(Debug)]
pub struct Checker<R> {
    resolver: R,
    policy: Policy,
}

impl<R: Resolver> Checker<R> {
    /// A checker over `resolver` enforcing `policy`.
    pub fn new(resolver: R, policy: Policy) -> Self {
        Self { resolver, policy }
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
            Plan::LookUp(domain) => {
                let evidence = self.look_up(&domain).await;
                engine::decide_sender(path, &self.policy, Some(&evidence))
            }
        }
    }

    /// Checks a parsed recipient.
    pub async fn check_recipient(&self, path: &ForwardPath<'_>) -> Verdict {
        match engine::plan_recipient(path, &self.policy) {
            Plan::Decided(v) => v,
            Plan::LookUp(domain) => {
                let evidence = self.look_up(&domain).await;
                engine::decide_recipient(path, &self.policy, Some(&evidence))
            }
        }
    }

    /// Gathers the DNS evidence for `domain` within the policy's deadline.
    /// What did not arrive in time is missing from the evidence, which the
    /// engine turns into a temporary failure.
    pub async fn look_up(&self, domain: &Domain<'_>) -> DnsEvidence {
        let mut name = String::with_capacity(domain.ascii().len() + 1);
        name.push_str(domain.ascii());
        name.push('.');
        let evidence = Mutex::new(DnsEvidence::default());
        let gather = gather(&self.resolver, &name, &evidence);
        let _ = tokio::time::timeout(self.policy.deadline(), gather).await;
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
