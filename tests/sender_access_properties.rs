//! Property tests of sender access maps: no map text approves a sender
//! unless Postfix would, no map text panics, and every reply stays within
//! the reply-line bounds.

#[path = "fuzz_checks/evidence.rs"]
mod evidence;

use envelope_check::engine::decide_sender;
use envelope_check::{MAX_REPLY_LINE, Policy, Rule, SenderAccess, parse_reverse_path};
use proptest::prelude::*;

const KEYS: &[&str] = &[
    "vip@nx.example",
    "VIP@NX.EXAMPLE",
    "nx.example",
    "example",
    "sub.nx.example",
    "vip@",
    "Other@",
    ".nx.example",
    "@nx.example",
    "*.nx.example",
    "vip@other.example",
    "other.example",
    "<>",
    "v#p@nx.example",
    "vip\u{a0}@nx.example",
];
const ACTIONS: &[&str] = &[
    "OK",
    "ok trailing text",
    "RELAY",
    "12345",
    "550",
    "permit",
    "DISCARD",
    "DISCARD why",
    "REJECT",
    "REJECT go away",
    "DUNNO",
    "HOLD",
    "FILTER smtp:x",
    "WARN w",
    "550 no",
    "450 4.7.1 later",
    "DEFER",
    "DEFER_IF_PERMIT",
    "DEFER_IF_REJECT x",
    "REDIRECT a@b.example",
    "PREPEND X-A: b",
];
const SENDERS: &[&str] = &[
    "<vip@nx.example>",
    "<VIP@Sub.NX.example.>",
    "<other@nx.example>",
    "<vip@other.example>",
    "<x@deep.sub.nx.example>",
    "<x@example>",
    "<v#p@nx.example>",
    "<\"vip\"@nx.example>",
    "<>",
];

/// One physical line of map text.
fn line() -> impl Strategy<Value = String> {
    let sep = prop::sample::select(vec![" ", "\t", "  ", " \t "]);
    prop_oneof![
        4 => (prop::sample::select(KEYS), sep.clone(), prop::sample::select(ACTIONS))
            .prop_map(|(k, s, a)| format!("{k}{s}{a}")),
        1 => (sep.clone(), prop::sample::select(ACTIONS)).prop_map(|(s, a)| format!("{s}{a}")),
        1 => (sep, prop::sample::select(KEYS)).prop_map(|(s, k)| format!("{s}{k} OK")),
        1 => prop::sample::select(vec!["# c", "   # vip@nx.example OK", "", "   ", "#vip@nx.example OK"])
            .prop_map(str::to_owned),
        1 => prop::sample::select(KEYS).prop_map(str::to_owned),
        1 => prop::sample::select(KEYS).prop_map(|k| format!("{k} OK # comment")),
    ]
}

fn map_text() -> impl Strategy<Value = String> {
    prop::collection::vec(line(), 0..12)
        .prop_map(|lines| lines.into_iter().map(|l| l + "\n").collect::<String>())
}

/// An independent model of postmap and `check_sender_access` for the ASCII
/// keys above: logical lines, first entry wins, Postfix's lookup order.
/// Whether `sender` (inside `<>`) is approved, i.e. the entry found first
/// is a permit or DISCARD.
fn postfix_approves(text: &str, sender: &str) -> bool {
    let mut logical: Vec<String> = Vec::new();
    for physical in text.split('\n') {
        let trimmed = physical.trim_start_matches([' ', '\t']);
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        if physical.starts_with([' ', '\t']) {
            // Continuation text with nothing before it is dropped; the
            // model marks that with an empty line that the next key ends.
            match logical.last_mut() {
                Some(l) => l.push_str(physical),
                None => logical.push(String::new()),
            }
        } else {
            logical.push(physical.to_owned());
        }
    }
    let mut table: Vec<(String, String)> = Vec::new();
    for l in logical {
        if l.starts_with([' ', '\t']) || l.is_empty() {
            continue;
        }
        let (key, value) = l.split_once([' ', '\t']).unwrap_or((&l, ""));
        let value = value.trim_matches([' ', '\t']);
        if value.is_empty() {
            continue;
        }
        let key = key.to_lowercase();
        if !table.iter().any(|(k, _)| *k == key) {
            table.push((key, value.to_owned()));
        }
    }
    let inner = sender.trim_start_matches('<').trim_end_matches('>');
    let inner = inner.replace('"', "");
    let mut candidates = Vec::new();
    if inner.is_empty() {
        candidates.push("<>".to_owned());
    } else {
        let inner = inner.to_lowercase();
        let inner = inner.strip_suffix('.').unwrap_or(&inner).to_owned();
        let (local, domain) = inner.rsplit_once('@').unwrap();
        if !domain.contains('.') {
            // reject_non_fqdn_sender comes first: no map approves it.
            return false;
        }
        candidates.push(format!("{local}@{domain}"));
        let mut d = domain;
        loop {
            candidates.push(d.to_owned());
            match d.split_once('.') {
                Some((_, rest)) => d = rest,
                None => break,
            }
        }
        candidates.push(format!("{local}@"));
    }
    let Some(value) = candidates
        .iter()
        .find_map(|c| table.iter().find(|(k, _)| k == c).map(|(_, v)| v))
    else {
        return false;
    };
    let word = value
        .split([' ', '\t'])
        .next()
        .unwrap_or("")
        .to_ascii_uppercase();
    matches!(word.as_str(), "OK" | "RELAY" | "DISCARD")
        || value.bytes().all(|b| b.is_ascii_digit())
        || value.eq_ignore_ascii_case("permit")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// A sender is approved exactly when Postfix's lookup order finds an
    /// entry with a permit (or DISCARD) first.
    #[test]
    fn approval_only_where_postfix_approves(text in map_text(), sender in prop::sample::select(SENDERS)) {
        let Ok(map) = SenderAccess::parse(&text) else {
            return Ok(());
        };
        let policy = Policy::builder().sender_access(map).build().unwrap();
        let path = parse_reverse_path(sender, false).unwrap();
        let verdict = decide_sender(&path, &policy, &evidence::nxdomain());
        let approved = verdict.is_accept() && verdict.rule() == Rule::SenderAccess;
        prop_assert_eq!(approved, postfix_approves(&text, sender), "map:\n{}", text);
        // And a reject or DUNNO never gives 250 for a domain that does not exist.
        if verdict.is_accept() && !sender.is_empty() && sender != "<>" {
            prop_assert_eq!(verdict.rule(), Rule::SenderAccess);
        }
    }

    /// Arbitrary text never panics the reader, and whatever it loads gives
    /// bounded, printable replies.
    #[test]
    fn any_text_is_read_without_panic(text in any::<String>(), sender in prop::sample::select(SENDERS)) {
        if let Ok(map) = SenderAccess::parse(&text) {
            for w in map.warnings() {
                prop_assert!(!w.to_string().chars().any(char::is_control));
            }
            let policy = Policy::builder().sender_access(map).build().unwrap();
            let path = parse_reverse_path(sender, false).unwrap();
            let line = decide_sender(&path, &policy, &evidence::mx_exists()).to_string();
            prop_assert!(line.len() <= MAX_REPLY_LINE);
        }
    }

    /// Map text in a reply is sanitized and the line bounded, whatever the
    /// text and the address.
    #[test]
    fn replies_from_map_text_stay_within_bounds(
        text in "[^\n]{0,700}",
        local in "[a-z]{1,64}",
        code in prop::sample::select(vec!["REJECT", "550", "450 4.7.1", "DEFER", "DEFER_IF_PERMIT", "421"]),
    ) {
        let key = format!("{local}@nx.example");
        let map = format!("{key} {code} {text}\n");
        let Ok(map) = SenderAccess::parse(&map) else {
            return Ok(());
        };
        let policy = Policy::builder().sender_access(map).build().unwrap();
        let arg = format!("<{key}>");
        let path = parse_reverse_path(&arg, false).unwrap();
        let verdict = decide_sender(&path, &policy, &evidence::mx_exists());
        let line = verdict.to_string();
        prop_assert!(line.len() <= MAX_REPLY_LINE, "{} octets", line.len());
        prop_assert!(!line.chars().any(char::is_control));
        if let Some(reject) = verdict.reject() {
            prop_assert!(!reject.postfix_action().chars().any(char::is_control));
        }
    }
}
