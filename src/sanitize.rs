//! The one sanitizer for text that came from outside and goes into a reply
//! line, a log line or a warning: control characters (C0, DEL, C1, and so
//! CR and LF) become spaces, as Postfix's `printable(text, ' ')` makes the
//! C0 controls and DEL of its replies.

use std::borrow::Cow;

/// `c`, or a space for a control character.
pub(crate) fn sanitize_char(c: char) -> char {
    if c.is_control() { ' ' } else { c }
}

/// `text` with every control character replaced by a space; borrowed when
/// there is none.
pub(crate) fn printable(text: &str) -> Cow<'_, str> {
    if text.chars().any(char::is_control) {
        Cow::Owned(text.chars().map(sanitize_char).collect())
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_become_spaces() {
        assert_eq!(printable("a\r\nb\tc\u{7f}\u{85}d"), "a  b c  d");
        assert!(matches!(printable("plain ü"), Cow::Borrowed(_)));
    }
}
