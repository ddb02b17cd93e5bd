//! Sender access maps: Postfix's `check_sender_access`, read as `postmap`
//! reads a table and applied as `smtpd` applies it.

mod action;
mod table;

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

pub use action::{AccessAction, AccessReply, Directive};
pub use table::TableWarning;

/// Why a sender access map could not be loaded. `Display` names the file
/// (when known), the line and the offending text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}line {line}: {kind}", file.as_ref().map(|f| format!("{}: ", f.display())).unwrap_or_default())]
pub struct MapError {
    file: Option<PathBuf>,
    line: usize,
    kind: MapErrorKind,
}

impl MapError {
    /// The file, when the map was read from one.
    pub fn file(&self) -> Option<&Path> {
        self.file.as_deref()
    }

    /// The line (1-based; 0 for an error that concerns no line).
    pub fn line(&self) -> usize {
        self.line
    }

    /// What is wrong.
    pub fn kind(&self) -> &MapErrorKind {
        &self.kind
    }

    fn in_file(mut self, file: &Path) -> Self {
        self.file = Some(file.to_owned());
        self
    }
}

/// What is wrong with a map line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MapErrorKind {
    /// A value that is no access action Postfix knows (Postfix would treat
    /// it as a restriction list and answer `451 4.3.5 Server configuration
    /// error` at run time). Restriction lists in values are not supported.
    #[error("unknown action \"{}\" (Postfix answers 451 4.3.5 Server configuration error)", shown(.0))]
    UnknownAction(String),
    /// A three-digit reply code that is not 4NN or 5NN.
    #[error("reply code in \"{}\" is not 4NN or 5NN", shown(.0))]
    BadCode(String),
    /// The file could not be read.
    #[error("{0}")]
    Io(String),
    /// The file is not UTF-8.
    #[error("not UTF-8 text")]
    NotUtf8,
}

/// Map text as an error message shows it: sanitized, and cut after 80
/// characters, so that the message stays one short line.
fn shown(text: &str) -> String {
    let clean = crate::sanitize::printable(text);
    match clean.char_indices().nth(80) {
        Some((cut, _)) => format!("{}...", &clean[..cut]),
        None => clean.into_owned(),
    }
}

/// A sender access map: keys and [`AccessAction`]s with the meaning
/// Postfix's `check_sender_access` gives them.
///
/// Lookup order, as Postfix has it with its defaults
/// (`recipient_delimiter` empty, `parent_domain_matches_subdomains`
/// including `smtpd_access_maps`): the whole address the sender routes to
/// (`user@example.com`), then its domain and each parent domain
/// (`mail.example.com`, `example.com`, `com`), then its local part with
/// the `@` (`user@`). The null sender is looked up as `<>`. The first key
/// found decides, even when its action is `DUNNO`. Keys and addresses are
/// compared case-insensitively.
///
/// One deliberate difference: a domain is compared in its A-label form, so
/// a key written with a U-label (`müller.de`) matches an address written
/// with the A-label (`xn--mller-kva.de`) and the other way round; Postfix
/// compares the strings as written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SenderAccess {
    entries: HashMap<String, Entry>,
    warnings: Vec<TableWarning>,
    /// Domains whose subdomains (not the domain itself) are approved: an
    /// extension, never read from a Postfix map.
    subdomains: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    line: usize,
    action: AccessAction,
}

/// The map entry that matched an address: which key (case-folded, domains
/// in A-label form), on which line, and its action.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccessMatch {
    key: String,
    line: usize,
    action: AccessAction,
}

impl AccessMatch {
    /// The key that matched, case-folded (`user@example.com`,
    /// `example.com`, `user@`, `<>`). A subdomain approval added with
    /// [`PolicyBuilder::approve_subdomains`](crate::PolicyBuilder::approve_subdomains)
    /// shows as `*.example.com`.
    pub fn key(&self) -> &str {
        &self.key
    }

    /// The line of the map (1-based; 0 for an entry added in code).
    pub fn line(&self) -> usize {
        self.line
    }

    /// The action.
    pub fn action(&self) -> &AccessAction {
        &self.action
    }

    /// The directive for the MTA, if the action is one (`HOLD`, `DISCARD`,
    /// `FILTER`, …).
    pub fn directive(&self) -> Option<&Directive> {
        match &self.action {
            AccessAction::Directive(d) => Some(d),
            _ => None,
        }
    }
}

impl fmt::Display for AccessMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let key = crate::sanitize::printable(&self.key);
        if self.line > 0 {
            write!(f, "{key} (line {}): {}", self.line, self.action)
        } else {
            write!(f, "{key}: {}", self.action)
        }
    }
}

impl SenderAccess {
    /// An empty map.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reads Postfix table text (the source of a `hash:` map) as `postmap`
    /// reads it. See [`TableWarning`] for what is skipped; an unknown
    /// action or a reply code outside 4NN/5NN is an error.
    ///
    /// ```
    /// use envelope_check::{AccessAction, SenderAccess};
    ///
    /// let map = SenderAccess::parse(
    ///     "partner@example.com OK\n\
    ///      spammer@example.net REJECT no thanks\n\
    ///      example.org DUNNO\n\
    ///      \x20 continues the line before\n",
    /// )
    /// .unwrap();
    /// assert_eq!(map.len(), 3);
    /// assert_eq!(map.get("Partner@Example.COM"), Some(&AccessAction::Permit));
    /// assert_eq!(map.get("continues"), None);
    /// assert!(SenderAccess::parse("x@example.com FOOBAR\n").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, MapError> {
        let (lines, warnings) = table::read_table(text);
        let mut map = Self {
            warnings,
            ..Self::default()
        };
        for entry in lines {
            let (action, warning) =
                action::parse(&entry.value, entry.line).map_err(|kind| MapError {
                    file: None,
                    line: entry.line,
                    kind,
                })?;
            map.warnings.extend(warning);
            map.insert_at(&entry.key, action, entry.line);
        }
        map.warnings.sort_by_key(TableWarning::line);
        Ok(map)
    }

    /// Reads a map file (its source text, not a compiled `.db`). Errors
    /// name the file and the line.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, MapError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|e| {
            MapError {
                file: None,
                line: 0,
                kind: MapErrorKind::Io(e.to_string()),
            }
            .in_file(path)
        })?;
        let text = String::from_utf8(bytes).map_err(|e| {
            let line = 1 + e.as_bytes()[..e.utf8_error().valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count();
            MapError {
                file: None,
                line,
                kind: MapErrorKind::NotUtf8,
            }
            .in_file(path)
        })?;
        Self::parse(&text).map_err(|e| e.in_file(path))
    }

    /// Adds an entry; a key already present keeps its first action (as
    /// `postmap` does), and `false` is returned.
    pub fn insert(&mut self, key: &str, action: AccessAction) -> bool {
        self.insert_at(key, action, 0)
    }

    fn insert_at(&mut self, key: &str, action: AccessAction, line: usize) -> bool {
        let folded = fold_key(key);
        if (key.starts_with('.') || (key.starts_with('@') && key.len() > 1)) && line > 0 {
            self.warnings.push(TableWarning::NeverMatches {
                line,
                key: key.to_owned(),
            });
        }
        if self.entries.contains_key(&folded) {
            if line > 0 {
                self.warnings
                    .push(TableWarning::DuplicateKey { line, key: folded });
            }
            return false;
        }
        self.entries.insert(folded, Entry { line, action });
        true
    }

    /// Approves the domains below `domain` (not `domain` itself). An
    /// extension: a Postfix map has no such key.
    pub(crate) fn approve_subdomains(&mut self, domain: &str) {
        self.subdomains.push(fold_domain(domain));
    }

    /// The action of `key` (any case), if the map has it.
    pub fn get(&self, key: &str) -> Option<&AccessAction> {
        self.entries.get(&fold_key(key)).map(|e| &e.action)
    }

    /// Entries in the map.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the map has no entry and no subdomain approval.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty() && self.subdomains.is_empty()
    }

    /// What `postmap` would have warned about while reading the text, and
    /// keys that can never match, in line order.
    pub fn warnings(&self) -> &[TableWarning] {
        &self.warnings
    }

    /// Adds every entry of `other` that this map does not have yet.
    pub(crate) fn merge(&mut self, other: Self) {
        for (key, entry) in other.entries {
            self.entries.entry(key).or_insert(entry);
        }
        self.warnings.extend(other.warnings);
        self.subdomains.extend(other.subdomains);
    }

    /// The entry for the null sender (key `<>`).
    pub(crate) fn lookup_null_sender(&self) -> Option<AccessMatch> {
        self.found("<>")
    }

    /// Looks up `address`, the address a sender routes to (Postfix's
    /// internal form, one trailing dot of the domain removed), in Postfix's
    /// order.
    pub(crate) fn lookup(&self, address: &str) -> Option<AccessMatch> {
        if self.is_empty() {
            return None;
        }
        let (local, domain) = address.rsplit_once('@')?;
        let local = local.to_lowercase();
        let domain = fold_domain(domain);
        let mut key = String::with_capacity(local.len() + 1 + domain.len());
        key.push_str(&local);
        key.push('@');
        key.push_str(&domain);
        if let Some(found) = self.found(&key) {
            return Some(found);
        }
        // The domain and its parents, the top-level domain included.
        let mut name = domain.as_str();
        while !name.is_empty() {
            if let Some(found) = self.found(name) {
                return Some(found);
            }
            // Postfix's `strchr(name + 1, '.')`: the next dot after the
            // first character (a byte search: `.` is ASCII, so the text
            // after it starts on a character boundary).
            match name.bytes().skip(1).position(|b| b == b'.') {
                Some(dot) => name = &name[dot + 2..],
                None => break,
            }
        }
        key.truncate(local.len() + 1);
        if let Some(found) = self.found(&key) {
            return Some(found);
        }
        self.subdomains
            .iter()
            .find(|d| domain.len() > d.len() && crate::address::is_at_or_below(&domain, d))
            .map(|d| AccessMatch {
                key: format!("*.{d}"),
                line: 0,
                action: AccessAction::Permit,
            })
    }

    fn found(&self, key: &str) -> Option<AccessMatch> {
        self.entries.get(key).map(|e| AccessMatch {
            key: key.to_owned(),
            line: e.line,
            action: e.action.clone(),
        })
    }
}

/// A key as the map stores it: case-folded, its domain in A-label form.
fn fold_key(key: &str) -> String {
    if key == "<>" {
        return key.to_owned();
    }
    match key.rsplit_once('@') {
        Some((local, domain)) => format!("{}@{}", local.to_lowercase(), fold_domain(domain)),
        None => fold_domain(key),
    }
}

/// A domain case-folded, in A-label form when it converts (else as
/// lowercased text, which then only matches itself).
fn fold_domain(domain: &str) -> String {
    if domain.is_ascii() {
        return domain.to_ascii_lowercase();
    }
    idna::domain_to_ascii(domain).unwrap_or_else(|_| domain.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(text: &str) -> SenderAccess {
        SenderAccess::parse(text).unwrap()
    }

    fn key_for(map: &SenderAccess, address: &str) -> Option<String> {
        map.lookup(address).map(|m| m.key)
    }

    #[test]
    fn lookup_order_is_address_then_domains_then_local_part() {
        let m = map("u@a.example OK\na.example DUNNO\nexample REJECT\nu@ REJECT\n");
        assert_eq!(key_for(&m, "U@A.Example").as_deref(), Some("u@a.example"));
        assert_eq!(key_for(&m, "v@b.a.example").as_deref(), Some("a.example"));
        assert_eq!(key_for(&m, "v@other.example").as_deref(), Some("example"));
        assert_eq!(key_for(&m, "u@other.test").as_deref(), Some("u@"));
        assert_eq!(key_for(&m, "v@other.test"), None);
    }

    #[test]
    fn dot_and_at_keys_never_match_and_are_reported() {
        let m = map(".a.example OK\n@b.example OK\n");
        assert_eq!(key_for(&m, "x@sub.a.example"), None);
        assert_eq!(key_for(&m, "x@b.example"), None);
        assert_eq!(m.warnings().len(), 2);
    }

    #[test]
    fn u_label_and_a_label_forms_match_each_other() {
        let m = map("MÜLLER.example REJECT\nxn--e1afmkfd.example OK\n");
        assert!(key_for(&m, "x@xn--mller-kva.example").is_some());
        assert!(key_for(&m, "x@Müller.example").is_some());
        assert!(key_for(&m, "x@пример.example").is_some());
    }

    #[test]
    fn first_entry_wins_and_the_duplicate_is_reported() {
        let m = map("a@b.example OK\nA@B.example REJECT\n");
        assert_eq!(m.get("a@b.example"), Some(&AccessAction::Permit));
        assert_eq!(
            m.warnings(),
            &[TableWarning::DuplicateKey {
                line: 2,
                key: "a@b.example".into()
            }]
        );
    }

    #[test]
    fn errors_name_the_line_and_the_action() {
        let e = SenderAccess::parse("a OK\n\nb@c FOOBAR x\n").unwrap_err();
        assert_eq!(e.line(), 3);
        assert_eq!(
            e.to_string(),
            "line 3: unknown action \"FOOBAR x\" (Postfix answers 451 4.3.5 Server configuration error)"
        );
        let e = SenderAccess::parse("a 250 fine\n").unwrap_err();
        assert_eq!(e.kind(), &MapErrorKind::BadCode("250 fine".into()));
    }
}
