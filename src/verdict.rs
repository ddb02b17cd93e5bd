//! Verdicts in the protocol's own words, and the one place that renders
//! SMTP reply text.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use crate::access::{AccessMatch, AccessReply, Directive};
use crate::address::AddressError;
use crate::evidence::Evidence;
use crate::resolver::Transient;
use crate::sanitize::sanitize_char;

/// Which envelope address a verdict is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The `MAIL FROM` reverse path.
    Sender,
    /// A `RCPT TO` forward path.
    Recipient,
}

impl Role {
    fn word(self) -> &'static str {
        match self {
            Self::Sender => "Sender",
            Self::Recipient => "Recipient",
        }
    }

    /// `"sender"` or `"recipient"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sender => "sender",
            Self::Recipient => "recipient",
        }
    }
}

/// The rule that decided a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Rule {
    /// The path's syntax.
    Syntax,
    /// The order of commands in the transaction (`RCPT` before `MAIL`, a
    /// second `MAIL`).
    CommandOrder,
    /// An exemption: the null sender `<>` or the bare `<postmaster>` recipient.
    Exemption,
    /// The fully-qualified-domain rule.
    NonFqdn,
    /// The sender access map (Postfix's `check_sender_access`): a permit
    /// (`OK`), `DISCARD`, or one of its rejects. Which key matched is in
    /// [`Verdict::access_match`].
    SenderAccess,
    /// A local domain (final destination), which is not looked up.
    LocalDomain,
    /// An address literal, which is not looked up.
    Literal,
    /// An opt-in policy rule (public suffix, special-use name).
    Policy,
    /// The DNS answers.
    Dns,
}

/// Why an address was rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// The path is not valid syntax.
    BadSyntax(AddressError),
    /// `RCPT TO` before `MAIL FROM` (recipient), or a second `MAIL FROM`
    /// in a transaction (sender): `503 5.5.1`, before any syntax check.
    OutOfOrder,
    /// The domain is not fully qualified (`john@mail`).
    NotFullyQualified,
    /// A definite negative DNS answer: NXDOMAIN, or NODATA for MX, A and
    /// AAAA, or a name too long to exist.
    UnknownDomain,
    /// The domain publishes a null MX (RFC 7505): it accepts no mail.
    NullMx,
    /// The DNS could not be asked or did not answer: try again later.
    TemporaryFailure(Transient),
    /// Opt-in: the domain is itself a public suffix (`com`, `co.uk`).
    PublicSuffix,
    /// Opt-in: the domain is an RFC 6761 special-use name.
    SpecialUse,
    /// The policy does not accept address literals.
    LiteralNotAccepted,
    /// The sender access map rejected the sender (`REJECT`, `4NN`/`5NN`,
    /// `DEFER`, or a `DEFER_IF_*` that applied). The reply text is the
    /// map's.
    AccessDenied,
}

/// An RFC 3463 enhanced status code, `class.subject.detail`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnhancedStatus {
    /// 2, 4 or 5.
    pub class: u8,
    /// The subject.
    pub subject: u16,
    /// The detail.
    pub detail: u16,
}

impl fmt::Display for EnhancedStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.class, self.subject, self.detail)
    }
}

/// A rejection: reply code, enhanced status, typed reason and the address.
/// `Display` gives the reply line.
///
/// ```
/// use envelope_check::{CheckOptions, Checker, InMemoryResolver, Policy, Reason, Role, Rule};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let checker = Checker::new(InMemoryResolver::new(), Policy::default());
/// let verdict = checker.mail_from("<john@mail>", CheckOptions::default()).await;
/// let reject = verdict.reject().expect("not fully qualified");
/// assert_eq!((reject.code(), reject.status().to_string()), (504, "5.5.2".to_owned()));
/// assert_eq!(reject.reason(), Reason::NotFullyQualified);
/// assert_eq!((reject.role(), reject.rule()), (Role::Sender, Rule::NonFqdn));
/// assert_eq!(reject.log_reason(), "non-fully-qualified sender address");
/// assert!(reject.is_permanent());
/// assert_eq!(
///     reject.to_string(),
///     "504 5.5.2 <john@mail>: Sender address rejected: need fully-qualified address"
/// );
/// // For a Postfix access map or policy server: the part after the prefix.
/// assert_eq!(reject.postfix_action(), "504 5.5.2 need fully-qualified address");
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reject {
    role: Role,
    code: u16,
    status: EnhancedStatus,
    reason: Reason,
    rule: Rule,
    /// Postfix's internal form of the address (unsanitized; sanitized when
    /// rendered). Empty for syntax errors, whose reply names no address.
    address: String,
    /// The lowercased domain named in a null-MX reply, or the text of an
    /// access-map reply.
    domain: String,
    evidence: Option<Box<Evidence>>,
    access: Option<Box<AccessMatch>>,
}

impl Reject {
    /// Builds a reject. The enhanced status class follows the reply code's
    /// first digit, as Postfix's `smtpd_check_reject()` does.
    pub(crate) fn new(
        role: Role,
        code: u16,
        reason: Reason,
        rule: Rule,
        address: &str,
        domain: &str,
    ) -> Self {
        let (subject, detail) = subject_detail(role, reason);
        Self {
            role,
            code,
            status: EnhancedStatus {
                class: (code / 100) as u8,
                subject,
                detail,
            },
            reason,
            rule,
            address: address.to_owned(),
            domain: domain.to_owned(),
            evidence: None,
            access: None,
        }
    }

    /// A reject made by the sender access map: its code, fixed-up status
    /// and text.
    pub(crate) fn access(
        role: Role,
        reply: &AccessReply,
        address: &str,
        found: AccessMatch,
    ) -> Self {
        Self {
            role,
            code: reply.code(),
            status: reply.status(),
            reason: Reason::AccessDenied,
            rule: Rule::SenderAccess,
            address: address.to_owned(),
            domain: reply.text().to_owned(),
            evidence: None,
            access: Some(Box::new(found)),
        }
    }

    /// Whether the MTA must close the connection after this reply (421 or
    /// 521, which an access map can ask for).
    pub fn closes_connection(&self) -> bool {
        matches!(self.code, 421 | 521)
    }

    /// Whether this is a `DEFER_IF_PERMIT` deferral from the sender access
    /// map. Postfix sends it only where the rest of the checks would accept:
    /// a recipient that is itself rejected gets its own reply instead
    /// ([`Transaction::rcpt_to`](crate::Transaction::rcpt_to) does this).
    pub fn is_deferred_permit(&self) -> bool {
        self.reason == Reason::AccessDenied
            && self
                .access
                .as_ref()
                .is_some_and(|m| matches!(m.action(), crate::AccessAction::DeferIfPermit(_)))
    }

    /// The three-digit SMTP reply code.
    pub fn code(&self) -> u16 {
        self.code
    }

    /// The enhanced status code.
    pub fn status(&self) -> EnhancedStatus {
        self.status
    }

    /// The typed reason.
    pub fn reason(&self) -> Reason {
        self.reason
    }

    /// Sender or recipient.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The rule that decided.
    pub fn rule(&self) -> Rule {
        self.rule
    }

    /// The address in Postfix's internal form, as the client sent it
    /// (unsanitized; the reply line sanitizes it). Empty for syntax errors.
    pub fn address(&self) -> &str {
        &self.address
    }

    /// Whether the reply is permanent (5xx).
    pub fn is_permanent(&self) -> bool {
        self.code >= 500
    }

    /// The mail-tracking log reason, e.g. "unknown sender domain".
    pub fn log_reason(&self) -> &'static str {
        log_reason(self.role, self.reason)
    }
}

// The reply table: codes, statuses, texts and log reasons live here, and
// only here. The codes Postfix does not make configurable:
/// Null MX, sender (`reject_unknown_sender_domain`).
pub(crate) const NULL_MX_SENDER_CODE: u16 = 550;
/// Null MX, recipient.
pub(crate) const NULL_MX_RECIPIENT_CODE: u16 = 556;
/// A temporary DNS failure (`unknown_address_tempfail_action`).
pub(crate) const TEMPFAIL_CODE: u16 = 450;

fn subject_detail(role: Role, reason: Reason) -> (u16, u16) {
    match (reason, role) {
        (Reason::BadSyntax(AddressError::MissingPath), _) => (5, 4),
        (Reason::BadSyntax(AddressError::InvalidUtf8), _) => (5, 2),
        (Reason::BadSyntax(_), Role::Sender) => (1, 7),
        (Reason::BadSyntax(_), Role::Recipient) => (1, 3),
        (Reason::OutOfOrder, _) => (5, 1),
        (Reason::NotFullyQualified, _) => (5, 2),
        (Reason::NullMx, Role::Sender) => (7, 27),
        (Reason::NullMx, Role::Recipient) => (1, 10),
        (_, Role::Sender) => (1, 8),
        (_, Role::Recipient) => (1, 2),
    }
}

fn log_reason(role: Role, reason: Reason) -> &'static str {
    use Reason::*;
    match (reason, role) {
        (BadSyntax(_), Role::Sender) => "bad sender address syntax",
        (BadSyntax(_), Role::Recipient) => "bad recipient address syntax",
        (OutOfOrder, Role::Sender) => "nested MAIL command",
        (OutOfOrder, Role::Recipient) => "RCPT without MAIL",
        (NotFullyQualified, Role::Sender) => "non-fully-qualified sender address",
        (NotFullyQualified, Role::Recipient) => "non-fully-qualified recipient address",
        (UnknownDomain | PublicSuffix | SpecialUse, Role::Sender) => "unknown sender domain",
        (UnknownDomain | PublicSuffix | SpecialUse, Role::Recipient) => "unknown recipient domain",
        (NullMx, Role::Sender) => "sender domain does not accept mail",
        (NullMx, Role::Recipient) => "recipient domain does not accept mail",
        (TemporaryFailure(_), Role::Sender) => "sender domain lookup failed temporarily",
        (TemporaryFailure(_), Role::Recipient) => "recipient domain lookup failed temporarily",
        (LiteralNotAccepted, Role::Sender) => "sender address literal not accepted",
        (LiteralNotAccepted, Role::Recipient) => "recipient address literal not accepted",
        (AccessDenied, Role::Sender) => "sender access denied",
        (AccessDenied, Role::Recipient) => "recipient access denied",
    }
}

/// An accepted address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Accept {
    role: Role,
    rule: Rule,
    evidence: Option<Box<Evidence>>,
    access: Option<Box<AccessMatch>>,
}

impl Accept {
    pub(crate) fn new(role: Role, rule: Rule) -> Self {
        Self {
            role,
            rule,
            evidence: None,
            access: None,
        }
    }

    /// Sender or recipient.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The rule that decided.
    pub fn rule(&self) -> Rule {
        self.rule
    }
}

/// The outcome of one check. `Display` gives the exact SMTP reply line
/// (without CRLF), at most 510 octets, with no control characters.
///
/// ```
/// use envelope_check::{CheckOptions, Checker, InMemoryResolver, Policy, Rule, Verdict};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let checker = Checker::new(InMemoryResolver::new(), Policy::default());
/// let options = CheckOptions::default().explain(true);
/// match checker.rcpt_to("<info@nowhere.example>", options).await {
///     Verdict::Accept(_) => unreachable!("the resolver knows no domain"),
///     Verdict::Reject(reject) => {
///         assert_eq!(reject.code(), 550);
///         assert_eq!(reject.log_reason(), "unknown recipient domain");
///     }
/// }
/// let verdict = checker.mail_from("<>", options).await;
/// assert!(verdict.is_accept());
/// assert_eq!(verdict.rule(), Rule::Exemption);
/// assert_eq!(verdict.to_string(), "250 2.1.0 Ok");
/// assert!(verdict.evidence().is_some());
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// The address passes.
    Accept(Accept),
    /// The address is refused.
    Reject(Reject),
}

impl Verdict {
    /// Whether the address was accepted.
    pub fn is_accept(&self) -> bool {
        matches!(self, Self::Accept(_))
    }

    /// Whether this is a permanent (5xx) reject.
    pub fn is_permanent(&self) -> bool {
        matches!(self, Self::Reject(r) if r.is_permanent())
    }

    /// The reject, if any.
    pub fn reject(&self) -> Option<&Reject> {
        match self {
            Self::Reject(r) => Some(r),
            Self::Accept(_) => None,
        }
    }

    /// The SMTP reply code (250 for an accept).
    pub fn code(&self) -> u16 {
        match self {
            Self::Accept(_) => 250,
            Self::Reject(r) => r.code,
        }
    }

    /// The rule that decided.
    pub fn rule(&self) -> Rule {
        match self {
            Self::Accept(a) => a.rule,
            Self::Reject(r) => r.rule,
        }
    }

    /// Sender or recipient.
    pub fn role(&self) -> Role {
        match self {
            Self::Accept(a) => a.role,
            Self::Reject(r) => r.role,
        }
    }

    /// The mail-tracking log reason of a reject; `None` for an accept.
    pub fn log_reason(&self) -> Option<&'static str> {
        self.reject().map(Reject::log_reason)
    }

    /// What the verdict rests on, when it was asked for (`Checker::explain_*`,
    /// or a `Transaction` with explanations on). The reply line is the same
    /// either way.
    pub fn evidence(&self) -> Option<&Evidence> {
        match self {
            Self::Accept(a) => a.evidence.as_deref(),
            Self::Reject(r) => r.evidence.as_deref(),
        }
    }

    /// The sender access map entry that matched, if one did: its key, line
    /// and action. Present whatever the action, `DUNNO` included, so that
    /// an explanation can show it.
    pub fn access_match(&self) -> Option<&AccessMatch> {
        match self {
            Self::Accept(a) => a.access.as_deref(),
            Self::Reject(r) => r.access.as_deref(),
        }
    }

    /// The access map's directive for the MTA (`HOLD`, `DISCARD`,
    /// `FILTER`, `REDIRECT`, `BCC`, `PREPEND`, `WARN`, `INFO`), if the
    /// matching entry has one. Postfix applies it to a message it accepts;
    /// so should the MTA.
    pub fn directive(&self) -> Option<&Directive> {
        self.access_match().and_then(AccessMatch::directive)
    }

    pub(crate) fn with_access(mut self, found: AccessMatch) -> Self {
        let slot = match &mut self {
            Self::Accept(a) => &mut a.access,
            Self::Reject(r) => &mut r.access,
        };
        *slot = Some(Box::new(found));
        self
    }

    pub(crate) fn with_evidence(mut self, evidence: Evidence) -> Self {
        let slot = match &mut self {
            Self::Accept(a) => &mut a.evidence,
            Self::Reject(r) => &mut r.evidence,
        };
        *slot = Some(Box::new(evidence));
        self
    }
}

/// Longest reply line, without CRLF (RFC 5321 section 4.5.3.1.5: 512 with it).
pub const MAX_REPLY_LINE: usize = 510;

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Accept(a) => f.write_str(match a.role {
                Role::Sender => "250 2.1.0 Ok",
                Role::Recipient => "250 2.1.5 Ok",
            }),
            Self::Reject(r) => fmt::Display::fmt(r, f),
        }
    }
}

/// A reply's wording: a whole line of its own, or the text that follows
/// `<address>: Sender address rejected: `.
enum Wording {
    Whole(Cow<'static, str>),
    Detail(Cow<'static, str>),
}

impl Reject {
    /// The reply table. This is the only place reply text is written.
    fn wording(&self) -> Wording {
        let role = self.role;
        Wording::Detail(match self.reason {
            Reason::BadSyntax(AddressError::MissingPath) => {
                let syntax = match role {
                    Role::Sender => "MAIL FROM:<address>",
                    Role::Recipient => "RCPT TO:<address>",
                };
                return Wording::Whole(format!("Syntax: {syntax}").into());
            }
            Reason::BadSyntax(AddressError::InvalidUtf8) => {
                return Wording::Whole("Error: bad UTF-8 syntax".into());
            }
            Reason::BadSyntax(_) => {
                return Wording::Whole(format!("Bad {} address syntax", role.as_str()).into());
            }
            Reason::OutOfOrder => {
                return Wording::Whole(
                    match role {
                        Role::Sender => "Error: nested MAIL command",
                        Role::Recipient => "Error: need MAIL command",
                    }
                    .into(),
                );
            }
            Reason::NotFullyQualified => "need fully-qualified address".into(),
            Reason::UnknownDomain
            | Reason::TemporaryFailure(_)
            | Reason::PublicSuffix
            | Reason::SpecialUse => "Domain not found".into(),
            Reason::LiteralNotAccepted => "Address literals are not accepted".into(),
            Reason::AccessDenied => self
                .domain
                .chars()
                .map(sanitize_char)
                .collect::<String>()
                .into(),
            Reason::NullMx => {
                let domain: String = self.domain.chars().map(sanitize_char).collect();
                format!("Domain {domain} does not accept mail (nullMX)").into()
            }
        })
    }

    /// The reply as a Postfix access-map or policy-server action: code,
    /// enhanced status and the text *after* `<address>: Sender address
    /// rejected: `, which Postfix adds itself
    /// (`550 5.1.8 Domain not found`). Syntax replies come whole.
    pub fn postfix_action(&self) -> String {
        let (Wording::Whole(text) | Wording::Detail(text)) = self.wording();
        let mut action = format!("{} {} {text}", self.code, self.status);
        // Only a long null-MX domain makes it this long (a U-label domain
        // can take 4 octets a character): cut it, as the reply line does.
        action.truncate(floor_char_boundary(&action, MAX_REPLY_LINE));
        action
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let head = format!("{} {} ", self.code, self.status);
        match self.wording() {
            Wording::Whole(text) => write!(f, "{head}{text}"),
            Wording::Detail(detail) => {
                let middle = format!(": {} address rejected: ", self.role.word());
                write_bounded(f, &head, self.address.as_str(), &middle, &detail)
            }
        }
    }
}

/// Writes `head <address> middle suffix` within [`MAX_REPLY_LINE`]: a line
/// that is too long loses the end of its suffix, as Postfix truncates it,
/// unless the address alone is too long, which is then shortened with `...`
/// (keeping at least 32 octets of it).
fn write_bounded(
    f: &mut fmt::Formatter<'_>,
    head: &str,
    address: &str,
    middle: &str,
    suffix: &str,
) -> fmt::Result {
    let fixed = head.len() + 2 + middle.len();
    let sanitized = address.chars().map(sanitize_char);
    let needed: usize = sanitized.clone().map(char::len_utf8).sum();
    let mut suffix = suffix;
    let mut budget = needed;
    if fixed + needed + suffix.len() > MAX_REPLY_LINE {
        if fixed + needed <= MAX_REPLY_LINE {
            suffix = &suffix[..floor_char_boundary(suffix, MAX_REPLY_LINE - fixed - needed)];
        } else {
            let keep = MAX_REPLY_LINE.saturating_sub(fixed + 3 + 32);
            suffix = &suffix[..floor_char_boundary(suffix, keep)];
            budget = MAX_REPLY_LINE - fixed - suffix.len();
        }
    }
    f.write_str(head)?;
    f.write_char('<')?;
    if needed <= budget {
        for c in sanitized {
            f.write_char(c)?;
        }
    } else {
        let mut used = 0;
        for c in sanitized {
            if used + c.len_utf8() + 3 > budget {
                break;
            }
            used += c.len_utf8();
            f.write_char(c)?;
        }
        f.write_str("...")?;
    }
    f.write_char('>')?;
    f.write_str(middle)?;
    f.write_str(suffix)
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}
