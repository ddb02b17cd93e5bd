//! Domains and address literals: Postfix's host-name and literal rules, IDNA.

use std::borrow::Cow;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use idna::uts46::{AsciiDenyList, DnsLength, Hyphens, Uts46};

use super::AddressError;

/// Longest name Postfix's `valid_hostname()` accepts (octets, no trailing dot).
pub(crate) const MAX_HOSTNAME_LEN: usize = 255;
/// Longest label Postfix (and DNS) accepts.
const MAX_LABEL_LEN: usize = 63;
/// Longest name that can be sent to DNS (RFC 1035: 255 octets on the wire).
pub(crate) const MAX_DNS_NAME_LEN: usize = 253;

/// The domain of a mailbox: what was written, and the form used for DNS.
///
/// `written()` keeps the client's spelling (case, U-labels) without the
/// trailing dot; `ascii()` is the lowercased A-label form that is looked up.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Domain<'a> {
    written: Cow<'a, str>,
    ascii: Cow<'a, str>,
    trailing_dot: bool,
    unicode_input: bool,
}

impl<'a> Domain<'a> {
    /// Validates `text` (a domain as it appears after the `@`, one trailing
    /// dot allowed) with Postfix's rules. U-labels need `smtputf8`.
    ///
    /// ```
    /// use envelope_check::Domain;
    /// let d = Domain::parse("Example.COM.", false).unwrap();
    /// assert_eq!(d.ascii(), "example.com");
    /// assert_eq!(d.written(), "Example.COM");
    /// assert!(Domain::parse("1.2.3.4", false).is_err());
    /// ```
    pub fn parse(text: &'a str, smtputf8: bool) -> Result<Self, AddressError> {
        let (body, trailing_dot) = strip_one_trailing_dot(text);
        Self::from_body(Cow::Borrowed(body), trailing_dot, smtputf8)
    }

    pub(crate) fn from_body(
        body: Cow<'a, str>,
        trailing_dot: bool,
        smtputf8: bool,
    ) -> Result<Self, AddressError> {
        if body.is_empty() {
            return Err(AddressError::EmptyDomain);
        }
        if body.is_ascii() {
            let has_upper = valid_hostname(&body)?;
            let ascii = match &body {
                Cow::Borrowed(b) if !has_upper => Cow::Borrowed(*b),
                _ => Cow::Owned(body.to_ascii_lowercase()),
            };
            return Ok(Self {
                written: body,
                ascii,
                trailing_dot,
                unicode_input: false,
            });
        }
        if !smtputf8 {
            return Err(AddressError::Utf8DomainWithoutSmtputf8);
        }
        let ascii = to_a_label(&body)?;
        valid_hostname(&ascii)?;
        Ok(Self {
            written: body,
            ascii: Cow::Owned(ascii),
            trailing_dot,
            unicode_input: true,
        })
    }

    /// The domain as the client wrote it, without the trailing dot.
    pub fn written(&self) -> &str {
        &self.written
    }

    /// The lowercased A-label form used for DNS and comparisons, no trailing dot.
    pub fn ascii(&self) -> &str {
        &self.ascii
    }

    /// The lowercased Unicode form (U-labels decoded), for human-facing text.
    pub fn unicode(&self) -> Cow<'_, str> {
        if !self.is_idn() {
            return Cow::Borrowed(&self.ascii);
        }
        let (text, result) =
            Uts46::new().to_unicode(self.ascii.as_bytes(), AsciiDenyList::EMPTY, Hyphens::Allow);
        match result {
            Ok(()) => text,
            // An ASCII "xn--" label that is not valid Punycode stays as written.
            Err(_) => Cow::Borrowed(&self.ascii),
        }
    }

    /// Whether the client wrote one trailing dot (`user@example.com.`).
    pub fn had_trailing_dot(&self) -> bool {
        self.trailing_dot
    }

    /// Whether this is an internationalized name: written with U-labels, or
    /// containing an A-label (`xn--`).
    pub fn is_idn(&self) -> bool {
        self.unicode_input || self.ascii.split('.').any(|l| l.starts_with("xn--"))
    }

    /// Postfix's `reject_non_fqdn_*` rule: at least one dot remains after the
    /// trailing dot is removed (`user@com.` is not fully qualified).
    pub fn is_fully_qualified(&self) -> bool {
        self.written.contains('.')
    }

    /// Whether the name is short enough to be sent to DNS at all. Postfix
    /// accepts 254- and 255-octet names as syntax, but no such name exists.
    pub fn fits_in_dns(&self) -> bool {
        self.ascii.len() <= MAX_DNS_NAME_LEN
    }

    /// Whether the domain is itself a public suffix (`com`, `co.uk`), per the
    /// Public Suffix List compiled into the `addr` crate. Opt-in policy helper.
    pub fn is_public_suffix(&self) -> bool {
        match addr::parse_domain_name(&self.ascii) {
            Ok(name) => name.has_known_suffix() && name.root().is_none(),
            Err(_) => false,
        }
    }

    /// Whether the domain is, or is under, an RFC 6761 / RFC 6762 / RFC 7686
    /// special-use name that never has public mail service (`test`,
    /// `localhost`, `invalid`, `example`, `example.com/net/org`, `local`,
    /// `onion`). Opt-in policy helper.
    pub fn is_special_use(&self) -> bool {
        const SPECIAL: [&str; 9] = [
            "test",
            "localhost",
            "invalid",
            "example",
            "example.com",
            "example.net",
            "example.org",
            "local",
            "onion",
        ];
        SPECIAL.iter().any(|s| is_at_or_below(&self.ascii, s))
    }

    /// An owned copy, independent of the input buffer.
    pub fn into_owned(self) -> Domain<'static> {
        Domain {
            written: Cow::Owned(self.written.into_owned()),
            ascii: Cow::Owned(self.ascii.into_owned()),
            trailing_dot: self.trailing_dot,
            unicode_input: self.unicode_input,
        }
    }
}

impl fmt::Display for Domain<'_> {
    /// The written form (no trailing dot).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.written)
    }
}

/// Whether `name` equals `zone` or lies below it (both lowercased ASCII).
pub(crate) fn is_at_or_below(name: &str, zone: &str) -> bool {
    name == zone
        || (name.len() > zone.len()
            && name.ends_with(zone)
            && name.as_bytes()[name.len() - zone.len() - 1] == b'.')
}

/// Removes one trailing dot, but not from `..` or a lone `.` (Postfix keeps
/// those so that the syntax check rejects them).
pub(crate) fn strip_one_trailing_dot(text: &str) -> (&str, bool) {
    match text.strip_suffix('.') {
        Some(rest) if !rest.is_empty() && !rest.ends_with('.') => (rest, true),
        _ => (text, false),
    }
}

/// UTS #46 ToASCII, non-transitional (IDNA2008 behaviour: `ß` stays `ß`),
/// with CheckHyphens as ICU (and so Postfix) applies it to a domain with
/// non-ASCII labels: no hyphen first, last, or third and fourth (`-ü.com`,
/// `üü--x.com`: oracle S1044-S1046). The ASCII deny list is left to
/// `valid_hostname`, which applies Postfix's LDH-plus-underscore rule to
/// the result.
fn to_a_label(unicode: &str) -> Result<String, AddressError> {
    Uts46::new()
        .to_ascii(
            unicode.as_bytes(),
            AsciiDenyList::EMPTY,
            Hyphens::Check,
            DnsLength::Ignore,
        )
        .map(Cow::into_owned)
        .map_err(|_| AddressError::InvalidIdn)
}

/// Postfix `valid_hostname()`: letters, digits, `_` and `-`; labels of 1..=63
/// octets with no leading or trailing hyphen; not all-numeric; at most 255
/// octets. Returns whether the name has upper-case letters (one pass).
pub(crate) fn valid_hostname(name: &str) -> Result<bool, AddressError> {
    if name.is_empty() {
        return Err(AddressError::EmptyDomain);
    }
    let mut non_numeric = false;
    let mut has_upper = false;
    for label in name.as_bytes().split(|&c| c == b'.') {
        // Checks in Postfix's order of discovery: characters and label
        // length as they come, then hyphen placement.
        let (first, last) = match (label.first(), label.last()) {
            (Some(&f), Some(&l)) => (f, l),
            _ => return Err(AddressError::EmptyLabel),
        };
        for &c in label {
            if !HOST_CHAR[usize::from(c)] {
                return Err(AddressError::BadDomainCharacter);
            }
            non_numeric |= !c.is_ascii_digit();
            has_upper |= c.is_ascii_uppercase();
        }
        if label.len() > MAX_LABEL_LEN {
            return Err(AddressError::LabelTooLong);
        }
        if first == b'-' || last == b'-' {
            return Err(AddressError::MisplacedHyphen);
        }
    }
    if !non_numeric {
        return Err(AddressError::NumericDomain);
    }
    if name.len() > MAX_HOSTNAME_LEN {
        return Err(AddressError::DomainTooLong);
    }
    Ok(has_upper)
}

/// Letters, digits, `-` and `_`.
static HOST_CHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut c = 0;
    while c < 256 {
        let b = c as u8;
        table[c] = b.is_ascii_alphanumeric() || b == b'-' || b == b'_';
        c += 1;
    }
    table
};

/// An address literal, `[192.0.2.1]` or `[IPv6:2001:db8::1]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AddressLiteral<'a> {
    /// The text between the brackets, as written.
    text: Cow<'a, str>,
    ip: Option<IpAddr>,
}

impl<'a> AddressLiteral<'a> {
    /// Validates a bracketed literal with Postfix's rules
    /// (`valid_mailhost_literal`): a dotted quad, or `IPv6:` (any case)
    /// followed by an IPv6 address.
    ///
    /// ```
    /// use envelope_check::AddressLiteral;
    /// assert!(AddressLiteral::parse("[192.0.2.1]").is_ok());
    /// assert!(AddressLiteral::parse("[ipv6:2001:db8::1]").is_ok());
    /// assert!(AddressLiteral::parse("[2001:db8::1]").is_err());
    /// assert!(AddressLiteral::parse("[300.1.1.1]").is_err());
    /// ```
    pub fn parse(text: &'a str) -> Result<Self, AddressError> {
        let inner = text
            .strip_prefix('[')
            .and_then(|t| t.strip_suffix(']'))
            .ok_or(AddressError::BadLiteral)?;
        if inner.contains(']') {
            return Err(AddressError::BadLiteral);
        }
        let ip = match inner.get(..5) {
            Some(tag) if tag.eq_ignore_ascii_case("IPv6:") => {
                let bare = &inner[5..];
                if !valid_ipv6(bare) {
                    return Err(AddressError::BadLiteral);
                }
                bare.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
            }
            _ => {
                if !valid_ipv4(inner) {
                    return Err(AddressError::BadLiteral);
                }
                inner.parse::<Ipv4Addr>().ok().map(IpAddr::V4)
            }
        };
        Ok(Self {
            text: Cow::Borrowed(inner),
            ip,
        })
    }

    /// The text between the brackets, as written (`IPv6:2001:db8::1`).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The address, when the standard library can represent it. Postfix's
    /// IPv6 syntax is a little looser than `std`'s, so this can be `None` for
    /// a literal that passed validation.
    pub fn ip(&self) -> Option<IpAddr> {
        self.ip
    }

    /// An owned copy.
    pub fn into_owned(self) -> AddressLiteral<'static> {
        AddressLiteral {
            text: Cow::Owned(self.text.into_owned()),
            ip: self.ip,
        }
    }
}

/// Postfix `valid_ipv4_hostaddr()`: four decimal octets <= 255; a first
/// octet of 0 only in `0.0.0.0`.
fn valid_ipv4(addr: &str) -> bool {
    let bytes = addr.as_bytes();
    let mut in_byte = false;
    let mut count = 0;
    let mut value: u32 = 0;
    for (i, &c) in bytes.iter().enumerate() {
        match c {
            b'0'..=b'9' => {
                if !in_byte {
                    in_byte = true;
                    value = 0;
                    count += 1;
                }
                value = value * 10 + u32::from(c - b'0');
                if value > 255 {
                    return false;
                }
            }
            b'.' => {
                if !in_byte || i + 1 == bytes.len() {
                    return false;
                }
                if count == 1 && value == 0 && addr.bytes().any(|b| b != b'0' && b != b'.') {
                    return false;
                }
                in_byte = false;
            }
            _ => return false,
        }
    }
    count == 4
}

/// Postfix `valid_ipv6_hostaddr()`: up to eight hex fields of at most four
/// digits, at most one `::`, an optional trailing dotted quad.
fn valid_ipv6(addr: &str) -> bool {
    let b = addr.as_bytes();
    let mut i = 0usize;
    let mut field = 0usize;
    let mut null_field = 0usize;
    let mut len = 0usize;
    loop {
        match b.get(i) {
            None => {
                return !(field < 2 || (len == 0 && null_field + 1 != field));
            }
            Some(b'.') => {
                if !(2..=6).contains(&field) {
                    return false;
                }
                return valid_ipv4(&addr[i - len..]);
            }
            Some(b':') => {
                if field == 0 && len == 0 && b.get(i + 1).is_some_and(u8::is_ascii_alphanumeric) {
                    return false;
                }
                field += 1;
                if field > 7 {
                    return false;
                }
                i += 1;
                len = 0;
                if b.get(i) == Some(&b':') {
                    if null_field > 0 {
                        return false;
                    }
                    null_field = field;
                }
            }
            Some(_) => {
                len = b[i..].iter().take_while(|c| c.is_ascii_hexdigit()).count();
                if len == 0 || len > 4 {
                    return false;
                }
                i += len;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostname_rules() {
        assert!(valid_hostname("smtp_gw.example.com").is_ok());
        assert!(valid_hostname("foo.123").is_ok());
        assert!(valid_hostname("123.com").is_ok());
        assert_eq!(valid_hostname("1.2.3.4"), Err(AddressError::NumericDomain));
        assert_eq!(valid_hostname("-a.com"), Err(AddressError::MisplacedHyphen));
        assert_eq!(valid_hostname("a-.com"), Err(AddressError::MisplacedHyphen));
        assert_eq!(valid_hostname("a..com"), Err(AddressError::EmptyLabel));
        assert_eq!(valid_hostname("a.com."), Err(AddressError::EmptyLabel));
        assert_eq!(
            valid_hostname(&"a".repeat(64)),
            Err(AddressError::LabelTooLong)
        );
        assert!(valid_hostname(&"a".repeat(63)).is_ok());
        assert_eq!(
            valid_hostname("a b.com"),
            Err(AddressError::BadDomainCharacter)
        );
    }

    #[test]
    fn ipv4_rules() {
        assert!(valid_ipv4("192.0.2.1"));
        assert!(valid_ipv4("0.0.0.0"));
        assert!(!valid_ipv4("0.1.2.3"));
        assert!(!valid_ipv4("192.0.2"));
        assert!(!valid_ipv4("192.0.2.1."));
        assert!(!valid_ipv4("256.0.0.1"));
        assert!(!valid_ipv4("1..2.3"));
    }

    #[test]
    fn ipv6_rules() {
        assert!(valid_ipv6("2001:db8::1"));
        assert!(valid_ipv6("::1"));
        assert!(valid_ipv6("::"));
        assert!(valid_ipv6("1:2:3:4:5:6:7:8"));
        assert!(valid_ipv6("::ffff:192.0.2.1"));
        assert!(!valid_ipv6("1:2:3:4:5:6:7:8:9"));
        assert!(!valid_ipv6("1::2::3"));
        assert!(!valid_ipv6("12345::1"));
        assert!(!valid_ipv6("2001:db8::g"));
        assert!(!valid_ipv6("1"));
    }

    #[test]
    fn idn_non_transitional() {
        let d = Domain::parse("straße-shop.de", true).unwrap();
        assert_eq!(d.ascii(), "xn--strae-shop-83a.de");
        assert_eq!(d.unicode(), "straße-shop.de");
        let d = Domain::parse("MÜLLER-BÄCKEREI.DE", true).unwrap();
        assert_eq!(d.ascii(), "xn--mller-bckerei-hfb76a.de");
        assert!(d.is_idn());
        assert_eq!(
            Domain::parse("müller.de", false),
            Err(AddressError::Utf8DomainWithoutSmtputf8)
        );
    }

    #[test]
    fn classification_helpers() {
        assert!(Domain::parse("co.uk", false).unwrap().is_public_suffix());
        assert!(Domain::parse("com", false).unwrap().is_public_suffix());
        assert!(
            !Domain::parse("example.co.uk", false)
                .unwrap()
                .is_public_suffix()
        );
        assert!(Domain::parse("foo.test", false).unwrap().is_special_use());
        assert!(
            Domain::parse("example.com", false)
                .unwrap()
                .is_special_use()
        );
        assert!(
            !Domain::parse("notexample.com", false)
                .unwrap()
                .is_special_use()
        );
    }
}
