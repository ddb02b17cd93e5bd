//! The envelope address model: reverse and forward paths, mailboxes, domains.
//!
//! Parsing follows Postfix 3.7's smtpd with `strict_rfc821_envelopes = no`:
//! as lenient as it is (missing or doubled brackets, spaces, source routes,
//! several `@`) and as strict (host-name syntax, literal syntax, U-labels
//! only with SMTPUTF8). See the README's address table.

mod command;
mod host;
mod rfc822;
mod routing;

use std::borrow::Cow;
use std::fmt;

pub use command::{
    CommandArgument, EsmtpParam, split_command_argument, split_command_argument_bytes,
};
pub use host::{AddressLiteral, Domain};
pub(crate) use host::{is_at_or_below, strip_one_trailing_dot};
pub(crate) use routing::{Route, resolve_route, route};

/// Why an envelope path was refused as syntax.
///
/// Every variant is a *syntax* problem: the SMTP reply is `501 5.1.7 Bad
/// sender address syntax` / `501 5.1.3 Bad recipient address syntax`, except
/// [`MissingPath`](Self::MissingPath) (`501 5.5.4`) and
/// [`InvalidUtf8`](Self::InvalidUtf8) (`500 5.5.2`), as in Postfix. The
/// caller should send that reply and keep the session open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum AddressError {
    /// Nothing followed `MAIL FROM:` / `RCPT TO:`.
    #[error("no path was given")]
    MissingPath,
    /// The command line is not UTF-8.
    #[error("command is not valid UTF-8")]
    InvalidUtf8,
    /// A `<` or `"` was never closed, which smtpd's command tokenizer
    /// refuses. (A comment, literal or quoted string that only the address
    /// parser sees closes at the end of the text, as in Postfix.)
    #[error("unterminated bracket or quote")]
    Unterminated,
    /// A stray `)`, `]` or backslash outside a quoted string.
    #[error("misplaced special character")]
    BadCharacter,
    /// More than one address in one path (`<a@b.c, d@e.f>`).
    #[error("more than one address in the path")]
    MultipleAddresses,
    /// `<>` as a recipient.
    #[error("the null path is not a recipient")]
    NullRecipient,
    /// Nothing after the `@`.
    #[error("empty domain")]
    EmptyDomain,
    /// An empty label: `a..b`, a leading dot, or two trailing dots.
    #[error("empty label in domain")]
    EmptyLabel,
    /// A label starts or ends with `-`.
    #[error("label starts or ends with a hyphen")]
    MisplacedHyphen,
    /// A character other than letters, digits, `-`, `_` and `.`.
    #[error("invalid character in domain")]
    BadDomainCharacter,
    /// A label longer than 63 octets.
    #[error("domain label longer than 63 octets")]
    LabelTooLong,
    /// All labels are numeric (`1.2.3.4`): an address needs brackets.
    #[error("all-numeric domain; address literals need brackets")]
    NumericDomain,
    /// A domain longer than 255 octets.
    #[error("domain longer than 255 octets")]
    DomainTooLong,
    /// A U-label domain without the `SMTPUTF8` parameter.
    #[error("non-ASCII domain without SMTPUTF8")]
    Utf8DomainWithoutSmtputf8,
    /// A U-label that IDNA (UTS #46, non-transitional) refuses.
    #[error("invalid internationalized domain name")]
    InvalidIdn,
    /// A bracketed literal that is not `[IPv4]` or `[IPv6:...]`.
    #[error("invalid address literal")]
    BadLiteral,
}

/// The host part of a mailbox: a domain or an address literal.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Host<'a> {
    /// A domain name.
    Domain(Domain<'a>),
    /// `[192.0.2.1]` or `[IPv6:...]`: never looked up in DNS.
    Literal(AddressLiteral<'a>),
}

impl<'a> Host<'a> {
    fn parse(text: &'a str, smtputf8: bool) -> Result<Self, AddressError> {
        if text.starts_with('[') {
            AddressLiteral::parse(text).map(Host::Literal)
        } else {
            Domain::parse(text, smtputf8).map(Host::Domain)
        }
    }

    /// The host after an `@`, or `None` for a domain that is no host name
    /// but that Postfix's resolver reads as one (`example.com\"`, see
    /// [`Host::parse_routed`]): such an address passes the syntax check and
    /// is then not fully qualified (504), as in Postfix.
    fn parse_resolvable(text: &'a str, smtputf8: bool) -> Result<Option<Self>, AddressError> {
        match Self::parse(text, smtputf8) {
            Ok(host) => Ok(Some(host)),
            Err(e) => Self::reread(text, smtputf8, e).map(|_| None),
        }
    }

    /// The host an address is routed to: the text itself, or, when that is
    /// no host name, the domain Postfix's trivial-rewrite reads in it after
    /// parsing it again (`rfc822::resolver_view`: `example.com\"` is
    /// `example.com`; oracle rows S2368-S2452). A literal is never read so.
    fn parse_routed(text: &str, smtputf8: bool) -> Result<Host<'static>, AddressError> {
        match Host::parse(text, smtputf8) {
            Ok(host) => Ok(host.into_owned()),
            Err(e) => Self::reread(text, smtputf8, e),
        }
    }

    /// The domain in `text`, which did not parse as a host (`error`), as
    /// trivial-rewrite reads it; else `error` itself.
    fn reread(
        text: &str,
        smtputf8: bool,
        error: AddressError,
    ) -> Result<Host<'static>, AddressError> {
        let view = rfc822::resolver_view(text);
        if view == text || view.starts_with('[') {
            return Err(error);
        }
        Domain::parse(&view, smtputf8)
            .map(|d| Host::Domain(d.into_owned()))
            .map_err(|_| error)
    }

    /// An owned copy.
    pub fn into_owned(self) -> Host<'static> {
        match self {
            Host::Domain(d) => Host::Domain(d.into_owned()),
            Host::Literal(l) => Host::Literal(l.into_owned()),
        }
    }
}

/// A mailbox in Postfix's internal form: quotes removed, source route
/// dropped, case and trailing dot kept.
///
/// ```
/// use envelope_check::parse_reverse_path;
/// let path = parse_reverse_path("<\"john doe\"@Example.COM.>", false).unwrap();
/// let mailbox = path.mailbox().unwrap();
/// assert_eq!(mailbox.local_part(), "john doe");
/// assert_eq!(mailbox.domain().unwrap().ascii(), "example.com");
/// assert_eq!(mailbox.echo().to_string(), "<john doe@Example.COM.>");
/// assert_eq!(mailbox.to_string(), "<\"john doe\"@Example.COM.>");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Mailbox<'a> {
    internal: Cow<'a, str>,
    at: Option<usize>,
    host: Option<Host<'a>>,
    smtputf8: bool,
}

impl<'a> Mailbox<'a> {
    fn from_internal(internal: Cow<'a, str>, smtputf8: bool) -> Result<Self, AddressError> {
        // Postfix validates the domain the address routes to (trivial-rewrite
        // RESOLVE_FLAG_ERROR): for `site!user` and `user%site` that is `site`;
        // an empty domain (`a@b.com@`) is stripped and the rest routed.
        let at = internal.rfind('@');
        let host = match (&internal, at) {
            (_, None) => None,
            (_, Some(at)) if at + 1 == internal.len() => None,
            (Cow::Borrowed(b), Some(at)) => Host::parse_resolvable(&b[at + 1..], smtputf8)?,
            (Cow::Owned(o), Some(at)) => {
                Host::parse_resolvable(&o[at + 1..], smtputf8)?.map(Host::into_owned)
            }
        };
        let has_domain = at.is_some_and(|at| at + 1 < internal.len());
        if !has_domain && let Route::Remote(domain) = resolve_route(&internal, &|_| false) {
            Host::parse(&domain, smtputf8)?;
        }
        Ok(Self {
            internal,
            at,
            host,
            smtputf8,
        })
    }

    /// Postfix's internal form of the address (`john doe@example.com`).
    pub fn internal(&self) -> &str {
        &self.internal
    }

    /// The local part, unquoted (everything before the rightmost `@`).
    pub fn local_part(&self) -> &str {
        match self.at {
            Some(at) => &self.internal[..at],
            None => &self.internal,
        }
    }

    /// The host after the rightmost `@`, if there is an `@` and what
    /// follows it is a host name or literal. A domain that only Postfix's
    /// resolver reads as a host name (`example.com\"`) has none: the
    /// mailbox is then not fully qualified.
    pub fn host(&self) -> Option<&Host<'a>> {
        self.host.as_ref()
    }

    /// The domain, if the host is a domain name.
    pub fn domain(&self) -> Option<&Domain<'a>> {
        match &self.host {
            Some(Host::Domain(d)) => Some(d),
            _ => None,
        }
    }

    /// Whether the host is an address literal.
    pub fn is_literal(&self) -> bool {
        matches!(self.host, Some(Host::Literal(_)))
    }

    /// Postfix's `reject_non_fqdn_*` test: an address literal, or a domain
    /// with a dot after trailing-dot removal. `user`, `user@mail` and
    /// `user@com.` are not fully qualified.
    pub fn is_fully_qualified(&self) -> bool {
        match &self.host {
            Some(Host::Literal(_)) => true,
            Some(Host::Domain(d)) => d.is_fully_qualified(),
            None => false,
        }
    }

    /// The echo: the `<...>` form Postfix puts in its replies, with control
    /// characters replaced by spaces.
    pub fn echo(&self) -> Echo<'_> {
        Echo(&self.internal)
    }

    /// Whether the mailbox was parsed under SMTPUTF8.
    pub fn smtputf8(&self) -> bool {
        self.smtputf8
    }

    /// The host an address routes to once local domains are stripped and
    /// Postfix's routing operators (`user@host` in the local part, `%`, `!`)
    /// are applied: `None` when it is delivered locally.
    pub(crate) fn routed_host(
        &self,
        is_local: &dyn Fn(&str) -> bool,
    ) -> Result<Option<Cow<'_, Host<'a>>>, AddressError> {
        // The common case: a remote domain after the rightmost `@` is where
        // the address goes, whatever its local part holds.
        if let (Some(host), Some(at)) = (&self.host, self.at) {
            let (top, _) = strip_one_trailing_dot(&self.internal[at + 1..]);
            // A local part that starts with `@` may hold a source route.
            if !is_local(top) && !self.internal.starts_with('@') {
                return Ok(Some(Cow::Borrowed(host)));
            }
        }
        match resolve_route(&self.internal, is_local) {
            Route::Local => Ok(None),
            Route::Remote(routed) => {
                Host::parse_routed(&routed, self.smtputf8).map(|h| Some(Cow::Owned(h)))
            }
        }
    }

    /// An owned copy, independent of the input buffer.
    pub fn into_owned(self) -> Mailbox<'static> {
        Mailbox {
            internal: Cow::Owned(self.internal.into_owned()),
            at: self.at,
            host: self.host.map(Host::into_owned),
            smtputf8: self.smtputf8,
        }
    }
}

impl fmt::Display for Mailbox<'_> {
    /// An RFC 5321 path that parses back to the same mailbox: the local part
    /// is quoted when it is not a dot-atom.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let local = self.local_part();
        f.write_str("<")?;
        // An empty local part is written `""`: a bare `<@...:` would read as
        // a source route (the fuzzer found `<@[IPv6:...]>`).
        if is_dot_atom(local) {
            f.write_str(local)?;
        } else {
            f.write_str("\"")?;
            for c in local.chars() {
                if c == '"' || c == '\\' {
                    f.write_str("\\")?;
                }
                write!(f, "{c}")?;
            }
            f.write_str("\"")?;
        }
        if let Some(at) = self.at {
            f.write_str("@")?;
            let domain = &self.internal[at + 1..];
            if self.host.is_some() {
                f.write_str(domain)?;
            } else {
                // Not a host name (`example.com"`): every special that
                // made it so came escaped, and goes out escaped again.
                for c in domain.chars() {
                    if rfc822::is_special_in_domain(c) {
                        f.write_str("\\")?;
                    }
                    write!(f, "{c}")?;
                }
            }
        }
        f.write_str(">")
    }
}

fn is_dot_atom(s: &str) -> bool {
    !s.is_empty()
        && s.split('.').all(|atom| {
            !atom.is_empty()
                && atom.chars().all(|c| {
                    !c.is_ascii() || c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~".contains(c)
                })
        })
}

/// The `<address>` text of a reply, sanitized as Postfix's `printable()`
/// sanitizes its reject texts: every control character becomes a space,
/// so input can never break a reply line. Postfix keeps the C1 controls
/// (U+0080-U+009F) of UTF-8 text; we replace them too (see "Deviations from
/// Postfix" in the crate documentation).
#[derive(Debug, Clone, Copy)]
pub struct Echo<'a>(&'a str);

impl Echo<'_> {
    /// The sanitized text between the angle brackets.
    pub fn chars(&self) -> impl Iterator<Item = char> + '_ {
        self.0.chars().map(reply_char)
    }
}

/// The reply sanitizer ([`crate::sanitize`]), for the echo.
pub(crate) fn reply_char(c: char) -> char {
    crate::sanitize::sanitize_char(c)
}

impl fmt::Display for Echo<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<")?;
        if self.0.chars().any(char::is_control) {
            for c in self.chars() {
                write!(f, "{c}")?;
            }
        } else {
            f.write_str(self.0)?;
        }
        f.write_str(">")
    }
}

/// The `MAIL FROM` path: the null path `<>` or a mailbox.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ReversePath<'a> {
    /// `<>`: bounces and DSNs. Exempt from the domain checks.
    Null,
    /// A sender mailbox.
    Mailbox(Mailbox<'a>),
}

impl<'a> ReversePath<'a> {
    /// The mailbox, unless this is the null path.
    pub fn mailbox(&self) -> Option<&Mailbox<'a>> {
        match self {
            ReversePath::Null => None,
            ReversePath::Mailbox(m) => Some(m),
        }
    }

    /// An owned copy.
    pub fn into_owned(self) -> ReversePath<'static> {
        match self {
            ReversePath::Null => ReversePath::Null,
            ReversePath::Mailbox(m) => ReversePath::Mailbox(m.into_owned()),
        }
    }
}

/// The `RCPT TO` path: a mailbox, or the bare `<postmaster>` (any case),
/// which RFC 5321 requires every server to accept.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ForwardPath<'a> {
    /// The bare `<postmaster>`; the mailbox keeps the client's spelling.
    Postmaster(Mailbox<'a>),
    /// Any other recipient.
    Mailbox(Mailbox<'a>),
}

impl<'a> ForwardPath<'a> {
    /// The mailbox, including a bare postmaster's.
    pub fn mailbox(&self) -> &Mailbox<'a> {
        match self {
            ForwardPath::Postmaster(m) | ForwardPath::Mailbox(m) => m,
        }
    }

    /// An owned copy.
    pub fn into_owned(self) -> ForwardPath<'static> {
        match self {
            ForwardPath::Postmaster(m) => ForwardPath::Postmaster(m.into_owned()),
            ForwardPath::Mailbox(m) => ForwardPath::Mailbox(m.into_owned()),
        }
    }
}

/// Parses the path of `MAIL FROM:` (the path token, without parameters;
/// see [`split_command_argument`]). `smtputf8` says whether the transaction
/// declared SMTPUTF8, which U-label domains need.
///
/// ```
/// use envelope_check::{parse_reverse_path, ReversePath};
/// assert_eq!(parse_reverse_path("<>", false).unwrap(), ReversePath::Null);
/// assert!(parse_reverse_path("<user@>", false).is_err());
/// ```
pub fn parse_reverse_path(path: &str, smtputf8: bool) -> Result<ReversePath<'_>, AddressError> {
    let internal = rfc822::internal_form(path)?;
    if internal.is_empty() {
        return Ok(ReversePath::Null);
    }
    Mailbox::from_internal(internal, smtputf8).map(ReversePath::Mailbox)
}

/// Parses the path of `RCPT TO:` (the path token, without parameters).
///
/// ```
/// use envelope_check::{parse_forward_path, ForwardPath};
/// assert!(matches!(parse_forward_path("<PostMaster>", false), Ok(ForwardPath::Postmaster(_))));
/// assert!(parse_forward_path("<>", false).is_err());
/// ```
pub fn parse_forward_path(path: &str, smtputf8: bool) -> Result<ForwardPath<'_>, AddressError> {
    let internal = rfc822::internal_form(path)?;
    if internal.is_empty() {
        return Err(AddressError::NullRecipient);
    }
    let is_postmaster = internal.eq_ignore_ascii_case("postmaster");
    let mailbox = Mailbox::from_internal(internal, smtputf8)?;
    Ok(if is_postmaster {
        ForwardPath::Postmaster(mailbox)
    } else {
        ForwardPath::Mailbox(mailbox)
    })
}

/// Parses a sender already in Postfix's internal form, as a policy request's
/// `sender=` attribute or a milter gives it (quotes removed, no brackets):
/// no RFC 822 extraction is done. The empty string is the null sender.
///
/// ```
/// use envelope_check::parse_internal_reverse_path;
/// let p = parse_internal_reverse_path("a\"b@example.com", false).unwrap();
/// assert_eq!(p.mailbox().unwrap().local_part(), "a\"b");
/// ```
pub fn parse_internal_reverse_path(
    internal: &str,
    smtputf8: bool,
) -> Result<ReversePath<'_>, AddressError> {
    if internal.is_empty() {
        return Ok(ReversePath::Null);
    }
    Mailbox::from_internal(Cow::Borrowed(internal), smtputf8).map(ReversePath::Mailbox)
}

/// Parses a recipient already in Postfix's internal form (a policy
/// request's `recipient=`); see [`parse_internal_reverse_path`].
pub fn parse_internal_forward_path(
    internal: &str,
    smtputf8: bool,
) -> Result<ForwardPath<'_>, AddressError> {
    if internal.is_empty() {
        return Err(AddressError::NullRecipient);
    }
    let mailbox = Mailbox::from_internal(Cow::Borrowed(internal), smtputf8)?;
    Ok(if internal.eq_ignore_ascii_case("postmaster") {
        ForwardPath::Postmaster(mailbox)
    } else {
        ForwardPath::Mailbox(mailbox)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn echo_sanitizes_controls() {
        let p = parse_reverse_path("<\"a\r\nb\x07\"@example.com>", false).unwrap();
        let echo = p.mailbox().unwrap().echo().to_string();
        assert_eq!(echo, "<a  b @example.com>");
    }

    #[test]
    fn render_round_trips() {
        for s in [
            "<a@b.com>",
            "<\"a b\"@b.com>",
            "<\"a\\\"b\"@b.com>",
            "<@b.com>",
            "<user>",
            "re<@[ipv6:2001:2:1]>",
        ] {
            let p = parse_reverse_path(s, false).unwrap();
            let again = p.mailbox().unwrap().to_string();
            assert_eq!(
                parse_reverse_path(&again, false).unwrap(),
                p,
                "{s} -> {again}"
            );
        }
    }

    #[test]
    fn bang_and_percent_domains_are_validated() {
        assert!(parse_reverse_path("<a..b!user>", false).is_err());
        assert!(parse_reverse_path("<user%a..b>", false).is_err());
        assert!(parse_reverse_path("<nx.com!user>", false).is_ok());
    }
}
