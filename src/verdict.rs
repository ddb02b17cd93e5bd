//! Verdicts in the protocol's own words, and the one place that renders
//! SMTP reply text.

use std::borrow::Cow;
use std::fmt::{self, Write as _};

use crate::address::AddressError;
use crate::evidence::Evidence;
use crate::resolver::Transient;

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

    fn lower(self) -> &'static str {
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
    /// An exemption: the null sender `<>` or the bare `<postmaster>` recipient.
    Exemption,
    /// The fully-qualified-domain rule.
    NonFqdn,
    /// The approved-senders list.
    ApprovedSender,
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
    /// The lowercased domain named in a null-MX reply.
    domain: String,
    evidence: Option<Box<Evidence>>,
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
        }
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

fn subject_detail(role: Role, reason: Reason) -> (u16, u16) {
    match (reason, role) {
        (Reason::BadSyntax(AddressError::MissingPath), _) => (5, 4),
        (Reason::BadSyntax(AddressError::InvalidUtf8), _) => (5, 2),
        (Reason::BadSyntax(_), Role::Sender) => (1, 7),
        (Reason::BadSyntax(_), Role::Recipient) => (1, 3),
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
    }
}

/// An accepted address.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Accept {
    role: Role,
    rule: Rule,
    evidence: Option<Box<Evidence>>,
}

impl Accept {
    pub(crate) fn new(role: Role, rule: Rule) -> Self {
        Self {
            role,
            rule,
            evidence: None,
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
/// (without CRLF), at most 510 octets.
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
                return Wording::Whole(format!("Bad {} address syntax", role.lower()).into());
            }
            Reason::NotFullyQualified => "need fully-qualified address".into(),
            Reason::UnknownDomain
            | Reason::TemporaryFailure(_)
            | Reason::PublicSuffix
            | Reason::SpecialUse => "Domain not found".into(),
            Reason::LiteralNotAccepted => "Address literals are not accepted".into(),
            Reason::NullMx => {
                let domain: String = self.domain.chars().map(sanitize).collect();
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

/// Writes `head <address> middle suffix`, shortening the sanitized address
/// (with `...`) when the whole line would exceed [`MAX_REPLY_LINE`].
fn write_bounded(
    f: &mut fmt::Formatter<'_>,
    head: &str,
    address: &str,
    middle: &str,
    suffix: &str,
) -> fmt::Result {
    let fixed = head.len() + 2 + middle.len() + suffix.len();
    let mut suffix = suffix;
    let mut budget = MAX_REPLY_LINE.saturating_sub(fixed);
    if fixed + 3 > MAX_REPLY_LINE {
        // Only a null-MX domain can make the fixed part this long: cut it.
        let keep = MAX_REPLY_LINE.saturating_sub(head.len() + middle.len() + 2 + 3 + 32);
        suffix = &suffix[..floor_char_boundary(suffix, keep)];
        budget = 32;
    }
    f.write_str(head)?;
    f.write_char('<')?;
    let mut used = 0;
    let sanitized = address.chars().map(sanitize);
    let needed: usize = sanitized.clone().map(char::len_utf8).sum();
    if needed <= budget {
        for c in sanitized {
            f.write_char(c)?;
        }
    } else {
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

/// Control characters (C0, DEL, C1) never reach a reply line.
fn sanitize(c: char) -> char {
    crate::address::reply_char(c)
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
