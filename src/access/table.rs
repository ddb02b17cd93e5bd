//! Postfix table source text, read the way `postmap` reads it.
//!
//! - A logical line is a line that starts with a non-blank character,
//!   followed by every line that starts with white space (a continuation).
//!   The continuation is appended as it is, its leading white space
//!   included.
//! - A line that is empty, all white space, or whose first non-blank
//!   character is `#` is ignored wherever it stands, even between a line
//!   and its continuation. A `#` anywhere else is ordinary text.
//! - Continuation text with nothing before it is dropped with a warning.
//! - The key is the text up to the first space, tab, CR or LF; the value is
//!   the rest with surrounding white space trimmed. A key without a value is
//!   dropped with a warning.
//! - Text after a NUL character is ignored (Postfix reads C strings).

use super::shown;
use std::fmt;

/// Postfix's `ISSPACE`: ASCII white space only, never Unicode spaces.
pub(crate) fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0b' | '\x0c')
}

/// Where `postmap` splits the key from the value (`CHARS_SPACE`).
fn is_key_separator(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// One `key value` entry of a table source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TableEntry {
    /// The physical line on which the logical line starts (1-based).
    pub(crate) line: usize,
    pub(crate) key: String,
    pub(crate) value: String,
}

/// Something `postmap` would warn about and skip.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TableWarning {
    /// Continuation text with no line before it: dropped.
    LeadingWhitespace {
        /// The line (1-based).
        line: usize,
    },
    /// A key without a value: dropped.
    MissingValue {
        /// The line (1-based).
        line: usize,
        /// The key as written.
        key: String,
    },
    /// A NUL character: the text after it is ignored.
    NulCharacter {
        /// The line (1-based).
        line: usize,
    },
    /// A key already in the table: the first entry is kept, this one is
    /// ignored.
    DuplicateKey {
        /// The line (1-based).
        line: usize,
        /// The key, case-folded.
        key: String,
    },
    /// A `.domain` or `@domain` key: Postfix's access maps never look such
    /// a key up (with the default `parent_domain_matches_subdomains`, the
    /// key `example.com` already covers the domains below it).
    NeverMatches {
        /// The line (1-based).
        line: usize,
        /// The key as written.
        key: String,
    },
    /// An action that Postfix ignores because its argument is malformed
    /// (`FILTER` without `transport:`, `REDIRECT` or `BCC` without `@`,
    /// `PREPEND` without a header): the entry acts as `DUNNO`.
    IgnoredAction {
        /// The line (1-based).
        line: usize,
        /// The whole value.
        value: String,
    },
    /// An all-numeric value such as `550`: Postfix treats it as `OK`
    /// (a permit), which is rarely what was meant.
    NumericPermit {
        /// The line (1-based).
        line: usize,
        /// The value.
        value: String,
    },
}

impl TableWarning {
    /// The line the warning is about (1-based).
    pub fn line(&self) -> usize {
        match self {
            Self::LeadingWhitespace { line }
            | Self::MissingValue { line, .. }
            | Self::NulCharacter { line }
            | Self::DuplicateKey { line, .. }
            | Self::NeverMatches { line, .. }
            | Self::IgnoredAction { line, .. }
            | Self::NumericPermit { line, .. } => *line,
        }
    }
}

impl fmt::Display for TableWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let line = self.line();
        match self {
            Self::LeadingWhitespace { .. } => {
                write!(
                    f,
                    "line {line}: logical line must not start with white space; ignored"
                )
            }
            Self::MissingValue { key, .. } => write!(
                f,
                "line {line}: expected format: key whitespace value; \"{}\" ignored",
                shown(key)
            ),
            Self::NulCharacter { .. } => {
                write!(f, "line {line}: text after a NUL character ignored")
            }
            Self::DuplicateKey { key, .. } => write!(
                f,
                "line {line}: duplicate key \"{}\": the first entry is kept",
                shown(key)
            ),
            Self::NeverMatches { key, .. } => write!(
                f,
                "line {line}: key \"{}\" never matches in a Postfix access map",
                shown(key)
            ),
            Self::IgnoredAction { value, .. } => write!(
                f,
                "line {line}: action \"{}\" is malformed; Postfix ignores it (DUNNO)",
                shown(value)
            ),
            Self::NumericPermit { value, .. } => write!(
                f,
                "line {line}: all-numeric value \"{}\" is a permit (OK) in Postfix",
                shown(value)
            ),
        }
    }
}

/// Reads table source text into entries, in order, with the warnings
/// `postmap` would print.
pub(crate) fn read_table(text: &str) -> (Vec<TableEntry>, Vec<TableWarning>) {
    let mut entries = Vec::new();
    let mut warnings = Vec::new();
    // The logical line being assembled: its first line, and its text (`None`
    // for continuation text with nothing before it, which is dropped).
    let mut logical: Option<(usize, Option<String>)> = None;
    for (index, physical) in text.split('\n').enumerate() {
        let line = index + 1;
        match physical.chars().find(|c| !is_space(*c)) {
            None | Some('#') => continue,
            Some(_) => {}
        }
        if physical.starts_with(is_space) {
            match &mut logical {
                Some((_, Some(text))) => text.push_str(physical),
                Some((_, None)) => {}
                None => {
                    warnings.push(TableWarning::LeadingWhitespace { line });
                    logical = Some((line, None));
                }
            }
            continue;
        }
        if let Some((first, Some(text))) = logical.take() {
            split_entry(first, &text, &mut entries, &mut warnings);
        }
        logical = Some((line, Some(physical.to_owned())));
    }
    if let Some((first, Some(text))) = logical {
        split_entry(first, &text, &mut entries, &mut warnings);
    }
    (entries, warnings)
}

/// Splits one logical line into key and value, as `postmap` does.
fn split_entry(
    line: usize,
    logical: &str,
    entries: &mut Vec<TableEntry>,
    warnings: &mut Vec<TableWarning>,
) {
    let logical = match logical.split_once('\0') {
        Some((before, _)) => {
            warnings.push(TableWarning::NulCharacter { line });
            before
        }
        None => logical,
    };
    let key_end = logical.find(is_key_separator).unwrap_or(logical.len());
    let value = logical[key_end..].trim_matches(is_space);
    let key = logical[..key_end].trim_end_matches(is_space);
    if key.is_empty() || value.is_empty() {
        warnings.push(TableWarning::MissingValue {
            line,
            key: key.to_owned(),
        });
        return;
    }
    entries.push(TableEntry {
        line,
        key: key.to_owned(),
        value: value.to_owned(),
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(text: &str) -> Vec<(usize, String, String)> {
        read_table(text)
            .0
            .into_iter()
            .map(|e| (e.line, e.key, e.value))
            .collect()
    }

    #[test]
    fn continuation_lines_join_and_comments_do_not_break_them() {
        let text = "listed.example REJECT\n  gmail.com and friends\n\
                    a REJECT first\n# note\n\n  second\n";
        assert_eq!(
            entries(text),
            vec![
                (
                    1,
                    "listed.example".into(),
                    "REJECT  gmail.com and friends".into()
                ),
                (3, "a".into(), "REJECT first  second".into()),
            ]
        );
    }

    #[test]
    fn hash_is_a_comment_only_as_first_non_blank() {
        let text = "a#b@x.example OK # not a comment\n   # comment\n#c OK\n";
        assert_eq!(
            entries(text),
            vec![(1, "a#b@x.example".into(), "OK # not a comment".into())]
        );
    }

    #[test]
    fn keys_without_values_and_leading_continuations_are_dropped() {
        let (e, w) = read_table("  orphan OK\n  more\nkey\nkey2   \t\nk\tv  \r\n");
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].key.as_str(), e[0].value.as_str()), ("k", "v"));
        assert_eq!(
            w,
            vec![
                TableWarning::LeadingWhitespace { line: 1 },
                TableWarning::MissingValue {
                    line: 3,
                    key: "key".into()
                },
                TableWarning::MissingValue {
                    line: 4,
                    key: "key2".into()
                },
            ]
        );
    }

    #[test]
    fn unicode_space_is_text_and_nul_ends_the_line() {
        let (e, w) = read_table("a\u{a0}b OK\nc OK\0 x\n");
        assert_eq!(e[0].key, "a\u{a0}b");
        assert_eq!(e[1].value, "OK");
        assert_eq!(w, vec![TableWarning::NulCharacter { line: 2 }]);
    }
}
