//! The pure verdict: (role, parsed address, policy, DNS evidence) → Verdict.
//!
//! No I/O, no clock, no randomness. In one step, [`decide_sender`] /
//! [`decide_recipient`] turn a parsed path, the policy and the DNS evidence
//! into a verdict. In two, as the `Checker` does it, [`plan_sender`] /
//! [`plan_recipient`] say whether DNS is needed and for which domain, and
//! [`Lookup::verdict`] decides once its status is known: bring your own
//! DNS orchestration and cache this way. [`syntax_error`] is the reply for a
//! path that did not parse.

use std::borrow::Cow;

use crate::access::{AccessAction, AccessMatch};
use crate::address::{AddressError, Domain, ForwardPath, Host, Mailbox, ReversePath};
use crate::policy::{Direction, Policy, is_approval};
use crate::resolver::{DnsOutcome, Transient};
use crate::verdict::{
    Accept, NULL_MX_RECIPIENT_CODE, NULL_MX_SENDER_CODE, Reason, Reject, Role, Rule, TEMPFAIL_CODE,
    Verdict,
};

/// The DNS answers a verdict rests on: MX, then A and AAAA.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DnsEvidence {
    /// The MX outcome, if MX was asked and answered.
    pub mx: Option<DnsOutcome>,
    /// The A outcome, if asked and answered.
    pub a: Option<DnsOutcome>,
    /// The AAAA outcome, if asked and answered.
    pub aaaa: Option<DnsOutcome>,
}

/// What the DNS says about a domain, for the purpose of mail: the meaning
/// of the evidence, decided in one place ([`classify`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DomainStatus {
    /// An MX (not null), A or AAAA answer exists.
    Exists,
    /// A definite negative: NXDOMAIN, or NODATA for MX, A and AAAA.
    NotFound,
    /// The domain publishes a null MX (any MX whose exchange is the root).
    NullMx,
    /// No definite answer: a transient failure or the deadline.
    Unavailable(Transient),
}

impl DomainStatus {
    /// Whether this status may be cached (everything but `Unavailable`).
    pub fn is_definite(self) -> bool {
        !matches!(self, Self::Unavailable(_))
    }
}

/// The one place where DNS outcomes get their meaning: a permanent status
/// needs a definite negative answer (NXDOMAIN, NODATA everywhere, null MX);
/// anything else without a positive answer is `Unavailable`. Missing
/// outcomes (not asked, or not answered before the deadline) are not
/// definite.
pub fn classify(ev: &DnsEvidence) -> DomainStatus {
    if let Some(DnsOutcome::Records { records, .. }) = &ev.mx {
        if records.iter().any(|r| r.is_null_mx()) {
            return DomainStatus::NullMx;
        }
        if !records.is_empty() {
            return DomainStatus::Exists;
        }
    }
    if matches!(ev.mx, Some(DnsOutcome::NxDomain { .. })) {
        return DomainStatus::NotFound;
    }
    let answers = [&ev.mx, &ev.a, &ev.aaaa];
    if answers
        .iter()
        .any(|o| o.as_ref().is_some_and(DnsOutcome::is_positive))
    {
        return DomainStatus::Exists;
    }
    if answers
        .iter()
        .all(|o| o.as_ref().is_some_and(DnsOutcome::is_definite_negative))
    {
        return DomainStatus::NotFound;
    }
    DomainStatus::Unavailable(
        answers
            .iter()
            .find_map(|o| o.as_ref().and_then(DnsOutcome::transient))
            .unwrap_or(Transient::Deadline),
    )
}

/// How long a status may be cached, from the TTLs of the answers it rests
/// on: the answers used for a positive status, the SOA negative TTL (RFC
/// 2308) for a negative one. `None`: do not cache (transient, or a negative
/// answer without an SOA).
pub fn cache_ttl(ev: &DnsEvidence, status: DomainStatus) -> Option<u32> {
    let ttl = |o: &Option<DnsOutcome>| match o {
        Some(DnsOutcome::Records { records, ttl }) if !records.is_empty() => Some(*ttl),
        Some(DnsOutcome::NoData { negative_ttl } | DnsOutcome::NxDomain { negative_ttl }) => {
            *negative_ttl
        }
        _ => None,
    };
    match status {
        DomainStatus::Exists => [&ev.mx, &ev.a, &ev.aaaa]
            .into_iter()
            .filter(|o| o.as_ref().is_some_and(DnsOutcome::is_positive))
            .filter_map(ttl)
            .min(),
        DomainStatus::NullMx => ttl(&ev.mx),
        DomainStatus::NotFound => match &ev.mx {
            Some(DnsOutcome::NxDomain { negative_ttl }) => *negative_ttl,
            _ => {
                let all: Option<Vec<u32>> =
                    [&ev.mx, &ev.a, &ev.aaaa].into_iter().map(ttl).collect();
                all.and_then(|v| v.into_iter().min())
            }
        },
        DomainStatus::Unavailable(_) => None,
    }
}

/// What the checker must do next for one address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan<'m> {
    /// The verdict needs no DNS.
    Decided(Verdict),
    /// Look the domain up (MX, then A/AAAA), then ask [`Lookup::verdict`].
    LookUp(Lookup<'m>),
}

/// An address whose verdict waits for the DNS status of one domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup<'m> {
    role: Role,
    mailbox: &'m Mailbox<'m>,
    domain: Cow<'m, Domain<'m>>,
    /// The sender access entry that let the checks go on (`DUNNO`, a
    /// `DEFER_IF_*`, a message directive), applied to the DNS verdict.
    access: Option<Box<AccessMatch>>,
}

impl<'m> Lookup<'m> {
    /// The domain to look up (after routing: under a local domain, the
    /// percent-hack domain).
    pub fn domain(&self) -> &Domain<'m> {
        &self.domain
    }

    /// The verdict once the domain's status is known; `None` (nothing
    /// known, e.g. the deadline passed) is a temporary failure.
    pub fn verdict(&self, policy: &Policy, status: Option<DomainStatus>) -> Verdict {
        let verdict = judge_dns(self.role, self.mailbox, &self.domain, policy, status);
        match &self.access {
            None => verdict,
            Some(found) => after_access(found, self.mailbox.internal(), verdict),
        }
    }
}

/// The reject for a path that did not parse.
pub fn syntax_error(role: Role, error: AddressError) -> Verdict {
    let code = match error {
        AddressError::InvalidUtf8 => 500,
        _ => 501,
    };
    Verdict::Reject(Reject::new(
        role,
        code,
        Reason::BadSyntax(error),
        Rule::Syntax,
        "",
        "",
    ))
}

/// What a sender needs: a verdict now, or a DNS lookup.
pub fn plan_sender<'m>(path: &'m ReversePath<'m>, policy: &Policy) -> Plan<'m> {
    match path {
        ReversePath::Null => Plan::Decided(null_sender(policy)),
        ReversePath::Mailbox(m) => plan_mailbox(Role::Sender, m, policy),
    }
}

/// The null sender is exempt from every check but the sender access map,
/// which Postfix consults with the key `<>`.
fn null_sender(policy: &Policy) -> Verdict {
    let exempt = accept(Role::Sender, Rule::Exemption);
    if policy.direction() != Direction::Inbound {
        return exempt;
    }
    match policy.sender_access().lookup_null_sender() {
        None => exempt,
        Some(found) => match access_step(found, "") {
            AccessStep::Decided(v) => v,
            AccessStep::GoOn(found) => after_access(&found, "", exempt),
        },
    }
}

/// What the sender access map's entry means for the checks.
enum AccessStep {
    /// The map decided: a permit, `DISCARD`, or a reject.
    Decided(Verdict),
    /// The checks go on; the entry applies to their verdict.
    GoOn(Box<AccessMatch>),
}

fn access_step(found: AccessMatch, address: &str) -> AccessStep {
    match found.action() {
        action if is_approval(action) => {
            AccessStep::Decided(accept(Role::Sender, Rule::SenderAccess).with_access(found))
        }
        AccessAction::Reject(reply) => {
            let reply = reply.clone();
            AccessStep::Decided(Verdict::Reject(Reject::access(
                Role::Sender,
                &reply,
                address,
                found,
            )))
        }
        _ => AccessStep::GoOn(Box::new(found)),
    }
}

/// Applies an entry that let the checks go on to their verdict, as Postfix
/// applies its deferred decisions: `DEFER_IF_PERMIT` replaces an accept or a
/// temporary failure (the first deferral wins) but not a reject;
/// `DEFER_IF_REJECT` replaces a 5xx reject. The entry stays attached, for
/// its directive and for explanations.
fn after_access(found: &AccessMatch, address: &str, verdict: Verdict) -> Verdict {
    let replace = match (found.action(), &verdict) {
        (AccessAction::DeferIfPermit(reply), Verdict::Accept(_)) => Some(reply),
        (AccessAction::DeferIfPermit(reply), Verdict::Reject(r))
            if matches!(r.reason(), Reason::TemporaryFailure(_)) =>
        {
            Some(reply)
        }
        (AccessAction::DeferIfReject(reply), Verdict::Reject(r)) if r.is_permanent() => Some(reply),
        _ => None,
    };
    match replace {
        Some(reply) => Verdict::Reject(Reject::access(
            Role::Sender,
            &reply.clone(),
            address,
            found.clone(),
        )),
        None => verdict.with_access(found.clone()),
    }
}

/// What a recipient needs: a verdict now, or a DNS lookup.
pub fn plan_recipient<'m>(path: &'m ForwardPath<'m>, policy: &Policy) -> Plan<'m> {
    match path {
        ForwardPath::Postmaster(_) => Plan::Decided(accept(Role::Recipient, Rule::Exemption)),
        ForwardPath::Mailbox(m) => plan_mailbox(Role::Recipient, m, policy),
    }
}

/// The sender's verdict, in one pure step: the parsed path, the policy,
/// and the DNS evidence for the domain the sender routes to (the domain
/// [`plan_sender`] names; see [`classify`] for what the answers mean).
/// Missing answers count as not answered in time: a temporary failure,
/// never a permanent reject. Evidence is ignored when no lookup is needed.
///
/// ```
/// use envelope_check::engine::{DnsEvidence, decide_sender};
/// use envelope_check::{DnsOutcome, Policy, parse_reverse_path};
///
/// let path = parse_reverse_path("<john@typo.example>", false).unwrap();
/// let nxdomain = DnsEvidence {
///     mx: Some(DnsOutcome::NxDomain { negative_ttl: Some(60) }),
///     ..Default::default()
/// };
/// let verdict = decide_sender(&path, &Policy::default(), &nxdomain);
/// assert_eq!(
///     verdict.to_string(),
///     "550 5.1.8 <john@typo.example>: Sender address rejected: Domain not found"
/// );
/// // Nothing known yet: a temporary failure.
/// let verdict = decide_sender(&path, &Policy::default(), &DnsEvidence::default());
/// assert_eq!(verdict.code(), 450);
/// ```
pub fn decide_sender(path: &ReversePath<'_>, policy: &Policy, dns: &DnsEvidence) -> Verdict {
    match path {
        ReversePath::Null => null_sender(policy),
        ReversePath::Mailbox(m) => decide_mailbox(Role::Sender, m, policy, dns),
    }
}

/// The recipient's verdict, in one pure step; see [`decide_sender`].
pub fn decide_recipient(path: &ForwardPath<'_>, policy: &Policy, dns: &DnsEvidence) -> Verdict {
    match path {
        ForwardPath::Postmaster(_) => accept(Role::Recipient, Rule::Exemption),
        ForwardPath::Mailbox(m) => decide_mailbox(Role::Recipient, m, policy, dns),
    }
}

fn decide_mailbox(role: Role, m: &Mailbox<'_>, policy: &Policy, dns: &DnsEvidence) -> Verdict {
    match plan_mailbox(role, m, policy) {
        Plan::Decided(v) => v,
        Plan::LookUp(lookup) => lookup.verdict(policy, Some(classify(dns))),
    }
}

fn accept(role: Role, rule: Rule) -> Verdict {
    Verdict::Accept(Accept::new(role, rule))
}

fn reject(role: Role, m: &Mailbox<'_>, code: u16, reason: Reason, rule: Rule) -> Verdict {
    Verdict::Reject(Reject::new(role, code, reason, rule, m.internal(), ""))
}

/// Postfix's order: the syntax of the address's destination (routed through
/// local domains, as trivial-rewrite does at MAIL/RCPT time), then the
/// restrictions: non-FQDN, the sender access map (inbound sender only),
/// local domains and literals, opt-in policy rules, then DNS.
fn plan_mailbox<'m>(role: Role, m: &'m Mailbox<'m>, policy: &Policy) -> Plan<'m> {
    let routed = match m.routed_host(&|d| policy.is_local_domain(d)) {
        Err(e) => return Plan::Decided(syntax_error(role, e)),
        Ok(routed) => routed,
    };
    if !m.is_fully_qualified() {
        return Plan::Decided(reject(
            role,
            m,
            policy.non_fqdn_code(),
            Reason::NotFullyQualified,
            Rule::NonFqdn,
        ));
    }
    let found = if role == Role::Sender && policy.direction() == Direction::Inbound {
        policy.sender_access_match(m)
    } else {
        None
    };
    let access = match found.map(|found| access_step(found, m.internal())) {
        Some(AccessStep::Decided(v)) => return Plan::Decided(v),
        Some(AccessStep::GoOn(found)) => Some(found),
        None => None,
    };
    match plan_destination(role, m, routed, policy) {
        Plan::LookUp(mut lookup) => {
            lookup.access = access;
            Plan::LookUp(lookup)
        }
        Plan::Decided(v) => Plan::Decided(match access {
            None => v,
            Some(found) => after_access(&found, m.internal(), v),
        }),
    }
}

/// The checks after the sender access map: local domains and literals,
/// opt-in policy rules, then DNS.
fn plan_destination<'m>(
    role: Role,
    m: &'m Mailbox<'m>,
    routed: Option<Cow<'m, Host<'m>>>,
    policy: &Policy,
) -> Plan<'m> {
    let Some(host) = routed else {
        return Plan::Decided(accept(role, Rule::LocalDomain));
    };
    let domain = match host {
        Cow::Borrowed(Host::Domain(d)) => Cow::Borrowed(d),
        Cow::Owned(Host::Domain(d)) => Cow::Owned(d),
        Cow::Borrowed(Host::Literal(_)) | Cow::Owned(Host::Literal(_)) => {
            return Plan::Decided(if policy.accepts_literals() {
                accept(role, Rule::Literal)
            } else {
                reject(
                    role,
                    m,
                    policy.unknown_domain_code(),
                    Reason::LiteralNotAccepted,
                    Rule::Policy,
                )
            });
        }
    };
    if policy.rejects_special_use() && domain.is_special_use() {
        return Plan::Decided(reject(
            role,
            m,
            policy.unknown_domain_code(),
            Reason::SpecialUse,
            Rule::Policy,
        ));
    }
    if policy.rejects_public_suffix() && domain.is_public_suffix() {
        return Plan::Decided(reject(
            role,
            m,
            policy.unknown_domain_code(),
            Reason::PublicSuffix,
            Rule::Policy,
        ));
    }
    if !domain.fits_in_dns() {
        // Postfix: 254/255-octet names pass syntax, and DNS refuses them
        // before any query (DNS_INVAL): a definite "not found".
        return Plan::Decided(reject(
            role,
            m,
            policy.unknown_domain_code(),
            Reason::UnknownDomain,
            Rule::Dns,
        ));
    }
    Plan::LookUp(Lookup {
        role,
        mailbox: m,
        domain,
        access: None,
    })
}

/// The verdict for a domain status.
fn judge_dns(
    role: Role,
    m: &Mailbox<'_>,
    domain: &Domain<'_>,
    policy: &Policy,
    dns: Option<DomainStatus>,
) -> Verdict {
    match dns.unwrap_or(DomainStatus::Unavailable(Transient::Deadline)) {
        DomainStatus::Exists => accept(role, Rule::Dns),
        DomainStatus::NotFound => reject(
            role,
            m,
            policy.unknown_domain_code(),
            Reason::UnknownDomain,
            Rule::Dns,
        ),
        DomainStatus::NullMx => {
            let code = match role {
                Role::Sender => NULL_MX_SENDER_CODE,
                Role::Recipient => NULL_MX_RECIPIENT_CODE,
            };
            Verdict::Reject(Reject::new(
                role,
                code,
                Reason::NullMx,
                Rule::Dns,
                m.internal(),
                &domain.unicode(),
            ))
        }
        DomainStatus::Unavailable(kind) => reject(
            role,
            m,
            TEMPFAIL_CODE,
            Reason::TemporaryFailure(kind),
            Rule::Dns,
        ),
    }
}
