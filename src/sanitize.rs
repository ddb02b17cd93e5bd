//! The one sanitizer for text that came from outside and goes into a reply
//! line, a log line or a warning: control characters (C0, DEL, C1, and so
//! CR and LF) become `?`.

use std::borrow::Cow;

/// `c`, or `?` for a control character.
pub(crate) fn sanitize_char(c: char) -> char {
    if c.is_control() { '?' } else { c }
}

/// `text` with every control character replaced by `?`; borrowed when
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
    fn control_characters_become_question_marks() {
        assert_eq!(printable("a\r\nb\tc\u{7f}\u{85}d"), "a??b?c??d");
        assert!(matches!(printable("plain ü"), Cow::Borrowed(_)));
    }
}
