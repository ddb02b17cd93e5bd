//! Access-map actions, parsed as Postfix's `check_table_result()` reads a
//! value, and the replies they make.

use std::fmt;

use super::MapErrorKind;
use super::table::{TableWarning, is_space};
use crate::verdict::EnhancedStatus;

/// Postfix's `access_map_reject_code` default, the code of `REJECT`.
const REJECT_CODE: u16 = 554;
/// Postfix's `access_map_defer_code` default, the code of `DEFER`.
const DEFER_CODE: u16 = 450;
/// The code of the `DEFER_IF_*` actions (fixed in Postfix).
const DEFER_IF_CODE: u16 = 450;

/// What an access-map entry does, with the meaning Postfix gives it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AccessAction {
    /// `OK`, `RELAY`, an all-numeric value or `permit`: the sender is
    /// approved and its DNS check skipped.
    Permit,
    /// `DUNNO`: as if the key were absent; the DNS check decides.
    Dunno,
    /// `REJECT [text]`, `4NN text`, `5NN text` or `DEFER [text]`: this
    /// reply.
    Reject(AccessReply),
    /// `DEFER_IF_PERMIT [text]`: this 450 reply wherever the remaining
    /// checks would accept (or fail temporarily); a reject of theirs wins.
    DeferIfPermit(AccessReply),
    /// `DEFER_IF_REJECT [text]`: this 450 reply wherever the sender's
    /// remaining checks would reject with a 5xx.
    DeferIfReject(AccessReply),
    /// An action on the message: the MTA applies it; the checks end with
    /// an accept ([`Directive::Discard`]) or go on.
    Directive(Directive),
    /// A message action whose argument Postfix finds malformed (`FILTER`
    /// without `transport:`, `REDIRECT` or `BCC` without `@`, `PREPEND`
    /// without a header): Postfix logs a warning and acts as `DUNNO`.
    Ignored(String),
}

/// A reply made by an access map: code, enhanced status and text, with the
/// status already fixed up as Postfix fixes it for a sender (class from the
/// code; address details mapped to sender ones).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccessReply {
    code: u16,
    status: EnhancedStatus,
    text: String,
}

impl AccessReply {
    /// The reply code.
    pub fn code(&self) -> u16 {
        self.code
    }

    /// The enhanced status, fixed up as Postfix sends it for a sender.
    pub fn status(&self) -> EnhancedStatus {
        self.status
    }

    /// The text after `<address>: Sender address rejected: `, unsanitized
    /// (the reply line sanitizes and bounds it).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Whether the MTA must close the connection after sending it (421 or
    /// 521, RFC 5321 and RFC 7504).
    pub fn closes_connection(&self) -> bool {
        matches!(self.code, 421 | 521)
    }
}

/// An action an access map asks the MTA to take on the message. Postfix
/// applies these itself; a library caller applies them, and the policy
/// server hands them to Postfix ([`Directive::postfix_action`]).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Directive {
    /// `HOLD [text]`: keep the message in the hold queue.
    Hold(Option<String>),
    /// `DISCARD [text]`: accept the message and throw it away. Ends the
    /// sender checks with an accept.
    Discard(Option<String>),
    /// `FILTER transport:destination`: send the message through this
    /// content filter.
    Filter(String),
    /// `REDIRECT user@domain`: deliver to this address instead.
    Redirect(String),
    /// `BCC user@domain`: send a copy to this address.
    Bcc(String),
    /// `PREPEND header: text`: add this header.
    Prepend(String),
    /// `WARN [text]`: log a warning.
    Warn(Option<String>),
    /// `INFO [text]`: log an informational line.
    Info(Option<String>),
}

impl Directive {
    /// The action word (`HOLD`, `DISCARD`, …).
    pub fn word(&self) -> &'static str {
        match self {
            Self::Hold(_) => "HOLD",
            Self::Discard(_) => "DISCARD",
            Self::Filter(_) => "FILTER",
            Self::Redirect(_) => "REDIRECT",
            Self::Bcc(_) => "BCC",
            Self::Prepend(_) => "PREPEND",
            Self::Warn(_) => "WARN",
            Self::Info(_) => "INFO",
        }
    }

    /// The argument, if any.
    pub fn argument(&self) -> Option<&str> {
        match self {
            Self::Hold(t) | Self::Discard(t) | Self::Warn(t) | Self::Info(t) => t.as_deref(),
            Self::Filter(a) | Self::Redirect(a) | Self::Bcc(a) | Self::Prepend(a) => Some(a),
        }
    }

    /// Whether the sender checks end here with an accept (`DISCARD`), rather
    /// than going on.
    pub fn ends_checks(&self) -> bool {
        matches!(self, Self::Discard(_))
    }

    /// The action as a Postfix access map or policy server writes it
    /// (`HOLD held for review`), sanitized.
    pub fn postfix_action(&self) -> String {
        match self.argument() {
            Some(arg) => format!("{} {}", self.word(), crate::sanitize::printable(arg)),
            None => self.word().to_owned(),
        }
    }
}

impl fmt::Display for Directive {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.postfix_action())
    }
}

impl fmt::Display for AccessAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let reply = |f: &mut fmt::Formatter<'_>, word: &str, r: &AccessReply| {
            write!(
                f,
                "{word} {} {} {}",
                r.code,
                r.status,
                crate::sanitize::printable(&r.text)
            )
        };
        match self {
            Self::Permit => f.write_str("OK"),
            Self::Dunno => f.write_str("DUNNO"),
            Self::Reject(r) => reply(f, "reject", r),
            Self::DeferIfPermit(r) => reply(f, "DEFER_IF_PERMIT", r),
            Self::DeferIfReject(r) => reply(f, "DEFER_IF_REJECT", r),
            Self::Directive(d) => fmt::Display::fmt(d, f),
            Self::Ignored(v) => write!(f, "ignored ({})", crate::sanitize::printable(v)),
        }
    }
}

/// Parses a value in `check_table_result()`'s order: the first word,
/// compared case-insensitively, then the rest with leading white space
/// skipped.
pub(super) fn parse(
    value: &str,
    line: usize,
) -> Result<(AccessAction, Option<TableWarning>), MapErrorKind> {
    let word_end = value.find([' ', '\t']).unwrap_or(value.len());
    let (word, rest) = value.split_at(word_end);
    let text = rest.trim_start_matches(is_space);
    let is = |name: &str| word.eq_ignore_ascii_case(name);
    let optional = || (!text.is_empty()).then(|| text.to_owned());
    let ignored = || {
        Ok((
            AccessAction::Ignored(value.to_owned()),
            Some(TableWarning::IgnoredAction {
                line,
                value: value.to_owned(),
            }),
        ))
    };
    let action = if is("DUNNO") {
        AccessAction::Dunno
    } else if is("REJECT") {
        AccessAction::Reject(reply(REJECT_CODE, "5.7.1", text, "Access denied"))
    } else if is("WARN") {
        AccessAction::Directive(Directive::Warn(optional()))
    } else if is("INFO") {
        AccessAction::Directive(Directive::Info(optional()))
    } else if is("FILTER") {
        if !text.contains(':') {
            return ignored();
        }
        AccessAction::Directive(Directive::Filter(text.to_owned()))
    } else if is("HOLD") {
        AccessAction::Directive(Directive::Hold(optional()))
    } else if is("DISCARD") {
        AccessAction::Directive(Directive::Discard(optional()))
    } else if is("REDIRECT") || is("BCC") {
        if !text.contains('@') {
            return ignored();
        }
        AccessAction::Directive(if is("BCC") {
            Directive::Bcc(text.to_owned())
        } else {
            Directive::Redirect(text.to_owned())
        })
    } else if is("DEFER") {
        AccessAction::Reject(reply(DEFER_CODE, "4.7.1", text, "Access denied"))
    } else if is("DEFER_IF_PERMIT") {
        AccessAction::DeferIfPermit(reply(DEFER_IF_CODE, "4.7.1", text, "Service unavailable"))
    } else if is("DEFER_IF_REJECT") {
        AccessAction::DeferIfReject(reply(DEFER_IF_CODE, "4.7.1", text, "Service unavailable"))
    } else if is("PREPEND") {
        if !is_header(text) {
            return ignored();
        }
        AccessAction::Directive(Directive::Prepend(text.to_owned()))
    } else if value.bytes().all(|b| b.is_ascii_digit()) {
        // "Probably a time stamp": Postfix permits. `550` alone is one.
        let looks_like_code = value.len() == 3 && matches!(value.as_bytes()[0], b'4' | b'5');
        let warning = looks_like_code.then(|| TableWarning::NumericPermit {
            line,
            value: value.to_owned(),
        });
        return Ok((AccessAction::Permit, warning));
    } else if word.len() == 3 && word.bytes().all(|b| b.is_ascii_digit()) && !text.is_empty() {
        if !matches!(word.as_bytes()[0], b'4' | b'5') {
            return Err(MapErrorKind::BadCode(value.to_owned()));
        }
        let code: u16 = word.parse().unwrap_or(REJECT_CODE);
        let default_status = format!("{}.7.1", &word[..1]);
        AccessAction::Reject(reply(code, &default_status, text, "Access denied"))
    } else if is("OK") || is("RELAY") {
        AccessAction::Permit
    } else if value.eq_ignore_ascii_case("permit") {
        // The restriction `permit`, the one restriction list we take.
        AccessAction::Permit
    } else if word.len() == 3 && word.bytes().all(|b| b.is_ascii_digit()) {
        return Err(MapErrorKind::BadCode(value.to_owned()));
    } else {
        return Err(MapErrorKind::UnknownAction(value.to_owned()));
    };
    Ok((action, None))
}

/// A reply from `text`: an optional leading RFC 3463 status, then free
/// text (`default_text` when there is none). The status is fixed up as
/// Postfix's `smtpd_dsn_fix()` does for a sender, and its class follows the
/// code.
fn reply(code: u16, default_status: &str, text: &str, default_text: &str) -> AccessReply {
    let (status, rest) = match split_status(text) {
        Some((status, rest)) => (status, rest),
        None => (default_status, text),
    };
    // Postfix reads past the end of the value when it holds a status and no
    // text (it skips one character too many); we use the default text.
    let text = if rest.is_empty() { default_text } else { rest };
    let mut parts = status.split('.');
    let (_, subject, detail) = (parts.next(), parts.next(), parts.next());
    let subject = subject.unwrap_or("7");
    let detail = detail.unwrap_or("1");
    let detail = if subject == "1" {
        sender_detail(detail)
    } else {
        detail.parse().unwrap_or(0)
    };
    AccessReply {
        code,
        status: EnhancedStatus {
            class: (code / 100) as u8,
            subject: subject.parse().unwrap_or(0),
            detail,
        },
        // Postfix's printable() turns white space inside the text into
        // spaces; other control characters are left to the reply's
        // sanitizer.
        text: text
            .chars()
            .map(|c| if is_space(c) { ' ' } else { c })
            .collect(),
    }
}

/// `smtpd_dsn_fix()` for a sender: an address-status detail (`X.1.Y`) is
/// mapped to the sender's counterpart, and any detail it does not know
/// (compared as text) to 0.
fn sender_detail(detail: &str) -> u16 {
    match detail {
        "1" | "3" | "7" => 7,
        "2" | "8" => 8,
        _ => 0,
    }
}

/// Postfix's `dsn_valid()`: `D.S.D` with D in 2/4/5, a subject of 1-3
/// digits and a detail of 1-3 digits, followed by white space or the end.
/// Returns the status and the text after it, leading white space skipped.
fn split_status(text: &str) -> Option<(&str, &str)> {
    let bytes = text.as_bytes();
    if !matches!(bytes.first(), Some(b'2' | b'4' | b'5')) || bytes.get(1) != Some(&b'.') {
        return None;
    }
    let digits = |from: usize| {
        bytes[from..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count()
    };
    let subject = digits(2);
    if !(1..=3).contains(&subject) || bytes.get(2 + subject) != Some(&b'.') {
        return None;
    }
    let detail_at = 3 + subject;
    let detail = digits(detail_at);
    let end = detail_at + detail;
    if !(1..=3).contains(&detail) || bytes.get(end).is_some_and(|&b| !is_space(char::from(b))) {
        return None;
    }
    Some((&text[..end], text[end..].trim_start_matches(is_space)))
}

/// Postfix's `is_header()`: a name of printable ASCII other than `:`, then
/// optional blanks, then `:`.
fn is_header(text: &str) -> bool {
    let Some((name, _)) = text.split_once(':') else {
        return false;
    };
    let trimmed = name.trim_end_matches([' ', '\t']);
    !trimmed.is_empty() && trimmed.bytes().all(|b| b.is_ascii_graphic())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply_of(value: &str) -> (u16, String, String) {
        match parse(value, 1).unwrap().0 {
            AccessAction::Reject(r)
            | AccessAction::DeferIfPermit(r)
            | AccessAction::DeferIfReject(r) => (r.code, r.status.to_string(), r.text),
            other => panic!("{value}: {other:?}"),
        }
    }

    #[test]
    fn statuses_are_fixed_up_as_postfix_fixes_them_for_a_sender() {
        // Oracle rows S3004-S3036.
        assert_eq!(reply_of("REJECT 4.7.1 wrong class").1, "5.7.1");
        assert_eq!(reply_of("550 5.1.2 x").1, "5.1.8");
        assert_eq!(reply_of("550 5.1.1 x").1, "5.1.7");
        assert_eq!(reply_of("550 5.1.10 x").1, "5.1.0");
        assert_eq!(reply_of("550 5.1.5 x").1, "5.1.0");
        assert_eq!(reply_of("550 4.2.0 x").1, "5.2.0");
        assert_eq!(reply_of("450 5.7.1 x").1, "4.7.1");
        assert_eq!(
            reply_of("DEFER"),
            (450, "4.7.1".into(), "Access denied".into())
        );
        assert_eq!(
            reply_of("DEFER_IF_PERMIT"),
            (450, "4.7.1".into(), "Service unavailable".into())
        );
        assert_eq!(
            reply_of("550 5.1234.1 not"),
            (550, "5.7.1".into(), "5.1234.1 not".into())
        );
        assert_eq!(reply_of("REJECT a\tb ").2, "a\tb ".replace('\t', " "));
    }

    #[test]
    fn permits_and_errors() {
        for permit in ["OK", "ok whatever", "RELAY", "12345", "550", "permit"] {
            assert_eq!(
                parse(permit, 1).unwrap().0,
                AccessAction::Permit,
                "{permit}"
            );
        }
        assert!(parse("550", 1).unwrap().1.is_some());
        assert_eq!(
            parse("250 ok", 1),
            Err(MapErrorKind::BadCode("250 ok".into()))
        );
        assert_eq!(
            parse("600 x", 1),
            Err(MapErrorKind::BadCode("600 x".into()))
        );
        assert_eq!(
            parse("okay", 1),
            Err(MapErrorKind::UnknownAction("okay".into()))
        );
        assert_eq!(
            parse("smtp:x", 1),
            Err(MapErrorKind::UnknownAction("smtp:x".into()))
        );
    }

    #[test]
    fn malformed_message_actions_are_ignored_with_a_warning() {
        for bad in [
            "FILTER nocolon",
            "REDIRECT nobody",
            "BCC nobody",
            "PREPEND not a header",
            "FILTER",
        ] {
            let (action, warning) = parse(bad, 7).unwrap();
            assert_eq!(action, AccessAction::Ignored(bad.into()));
            assert_eq!(warning.map(|w| w.line()), Some(7));
        }
        assert_eq!(
            parse("PREPEND X-Test: yes", 1).unwrap().0,
            AccessAction::Directive(Directive::Prepend("X-Test: yes".into()))
        );
    }
}
