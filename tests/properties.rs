//! Property tests of the address model and the verdict engine.

mod common;
#[path = "fuzz_checks/evidence.rs"]
mod evidence;

use common::block_on;

use std::sync::Arc;

use envelope_check::CheckOptions;
use envelope_check::engine::{decide_recipient, decide_sender};
use envelope_check::{
    AddressError, Checker, Fault, InMemoryResolver, MAX_REPLY_LINE, Policy, Verdict, engine,
    parse_forward_path, parse_reverse_path, split_command_argument, split_command_argument_bytes,
};
use proptest::prelude::*;

/// Every reply line the engine can build for `path` in either role, under
/// every kind of DNS evidence.
fn all_replies(path: &str, smtputf8: bool) -> Vec<String> {
    let policy = Policy::default();
    let evidences = evidence::samples();
    let mut out = Vec::new();
    match parse_reverse_path(path, smtputf8) {
        Ok(p) => {
            for ev in &evidences {
                out.push(decide_sender(&p, &policy, ev).to_string());
            }
        }
        Err(e) => out.push(engine::syntax_error(envelope_check::Role::Sender, e).to_string()),
    }
    match parse_forward_path(path, smtputf8) {
        Ok(p) => {
            for ev in &evidences {
                out.push(decide_recipient(&p, &policy, ev).to_string());
            }
        }
        Err(e) => out.push(engine::syntax_error(envelope_check::Role::Recipient, e).to_string()),
    }
    out
}

fn assert_reply_line_ok(line: &str) {
    assert!(
        line.len() <= MAX_REPLY_LINE,
        "{} octets: {line:?}",
        line.len()
    );
    assert!(
        !line.chars().any(char::is_control),
        "control character in {line:?}"
    );
}

/// Plausible local parts: dot-atoms, quoted strings with specials, and
/// Unicode white space and format characters (atom text to Postfix).
fn local_part() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9!#$&'*+/=?^_`{|}~-]{1,10}(\\.[a-z0-9_-]{1,8}){0,2}",
        "[ a-z@\"\\\\.,:;<>()\\[\\]]{0,12}",
        "[a-zé\u{3b4}\u{3bf}]{1,6}",
        "[a-z\u{a0}\u{2000}-\u{200f}\u{2028}\u{202a}-\u{202f}\u{3000}\u{feff}]{1,8}",
    ]
}

/// Text that stresses both tokenizers: specials, escapes, ASCII and Unicode
/// white space, controls, format and bidi characters.
const TRICKY: &str = "[<>\"()\\[\\]@.,:;%!|\\\\ \t\u{b}\u{c}a-z\u{1}\u{7f}\u{a0}\u{2000}-\u{200f}\u{2028}\u{202a}-\u{202f}\u{2066}-\u{2069}\u{3000}\u{feff}é]{0,40}";

fn label() -> impl Strategy<Value = String> {
    "[a-z]([a-z0-9_-]{0,10}[a-z0-9])?"
}

fn domain() -> impl Strategy<Value = String> {
    prop::collection::vec(label(), 2..5).prop_map(|l| l.join("."))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_strings_never_panic(s in ".{0,300}", utf8 in any::<bool>()) {
        let _ = split_command_argument(&s);
        for line in all_replies(&s, utf8) {
            assert_reply_line_ok(&line);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        if let Ok(arg) = split_command_argument_bytes(&bytes) {
            for line in all_replies(arg.path, arg.smtputf8) {
                assert_reply_line_ok(&line);
            }
        }
    }

    #[test]
    fn bracketed_junk_never_panics(inner in "[<>\"()\\[\\]@.,:;\\\\ a-z\u{0}-\u{1f}\u{7f}-\u{9f}é]{0,40}") {
        for line in all_replies(&format!("<{inner}>"), true) {
            assert_reply_line_ok(&line);
        }
    }

    #[test]
    fn long_inputs_keep_replies_within_limits(local in "[a-z\u{1}\r\n]{0,600}", d in domain()) {
        for line in all_replies(&format!("<\"{local}\"@{d}>"), true) {
            assert_reply_line_ok(&line);
        }
    }

    #[test]
    fn render_then_parse_is_identity(local in local_part(), d in domain(), dot in any::<bool>()) {
        let text = format!("<\"{}\"@{d}{}>", local.replace('\\', "\\\\").replace('"', "\\\""), if dot { "." } else { "" });
        if let Ok(path) = parse_reverse_path(&text, true)
            && let Some(mailbox) = path.mailbox()
        {
            let rendered = mailbox.to_string();
            let again = parse_reverse_path(&rendered, true);
            prop_assert_eq!(again.as_ref().ok(), Some(&path), "rendered {}", rendered);
        }
    }

    /// Whatever parses renders to one command token that parses back to the
    /// same mailbox, in either role (the fuzz targets' round trip).
    #[test]
    fn every_path_that_parses_round_trips(inner in TRICKY, wrap in any::<bool>(), utf8 in any::<bool>()) {
        let text = if wrap { format!("<{inner}>") } else { inner };
        for (mailbox, recipient) in [
            (parse_reverse_path(&text, utf8).ok().and_then(|p| p.mailbox().cloned()), false),
            (parse_forward_path(&text, utf8).ok().map(|p| p.mailbox().clone()), true),
        ] {
            let Some(mailbox) = mailbox else { continue };
            let rendered = mailbox.to_string();
            let arg = split_command_argument(&rendered);
            prop_assert_eq!(arg.map(|a| a.path), Ok(rendered.as_str()));
            let again = if recipient {
                parse_forward_path(&rendered, utf8).map(|p| p.mailbox().clone())
            } else {
                parse_reverse_path(&rendered, utf8).map(|p| p.mailbox().cloned().unwrap())
            };
            prop_assert_eq!(again.as_ref(), Ok(&mailbox), "rendered {}", rendered);
        }
    }

    #[test]
    fn u_label_and_a_label_normalize_the_same(
        labels in prop::collection::vec("[a-zäöüßéñ\u{4f8b}\u{3048}]{1,8}", 1..3),
        tld in "(com|de|jp)",
    ) {
        let unicode = format!("{}.{tld}", labels.join("."));
        let u_text = format!("<u@{unicode}>");
        let Ok(u) = parse_reverse_path(&u_text, true) else { return Ok(()) };
        let u = u.mailbox().unwrap().domain().unwrap().clone();
        let a_text = format!("<u@{}>", u.ascii());
        let a = parse_reverse_path(&a_text, false).unwrap();
        let a = a.mailbox().unwrap().domain().unwrap();
        prop_assert_eq!(a.ascii(), u.ascii());
        // Upper-case every character whose case mapping round-trips (`ß` →
        // `SS` is a different name under IDNA2008, not a case variant).
        let upper_domain: String = unicode.chars().map(|c| {
            let up: String = c.to_uppercase().collect();
            if up.chars().count() == 1 && up.to_lowercase() == c.to_string() { up } else { c.to_string() }
        }).collect();
        let upper_text = format!("<u@{upper_domain}>");
        let upper = parse_reverse_path(&upper_text, true).unwrap();
        prop_assert_eq!(upper.mailbox().unwrap().domain().unwrap().ascii(), u.ascii());
    }

    #[test]
    fn domain_case_never_changes_the_outcome(local in "[a-z]{1,8}", d in domain(), flips in prop::collection::vec(any::<bool>(), 64)) {
        let mixed: String = d.chars().zip(flips.iter().cycle()).map(|(c, &up)| if up { c.to_ascii_uppercase() } else { c }).collect();
        let (lower_text, upper_text) = (format!("<{local}@{d}>"), format!("<{local}@{mixed}>"));
        let lower = parse_reverse_path(&lower_text, false);
        let upper = parse_reverse_path(&upper_text, false);
        match (&lower, &upper) {
            (Ok(l), Ok(u)) => {
                let (l, u) = (l.mailbox().unwrap(), u.mailbox().unwrap());
                prop_assert_eq!(l.domain().unwrap().ascii(), u.domain().unwrap().ascii());
                prop_assert_eq!(l.is_fully_qualified(), u.is_fully_qualified());
            }
            (Err(a), Err(b)) => prop_assert_eq!(a, b),
            _ => prop_assert!(false, "case changed the parse: {:?} vs {:?}", lower, upper),
        }
    }
}

/// The oracle DNS, shared by the async properties below.
fn oracle_checker() -> Arc<Checker<InMemoryResolver>> {
    Arc::new(common::oracle_checker())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn verdict_is_deterministic(idx in 0usize..common::ROWS) {
        let cases = common::cases();
        let case = &cases[idx % cases.len()];
        let checker = oracle_checker();
        let first = block_on(checker.rcpt_to(&case.address, CheckOptions::default().smtputf8(true)));
        let second = block_on(checker.rcpt_to(&case.address, CheckOptions::default().smtputf8(true)));
        prop_assert_eq!(first, second);
    }

    #[test]
    fn case_and_idn_form_never_change_the_verdict(
        domain in prop::sample::select(vec![
            "northwind-traders.com", "globex-nonexistent.com", "nullmx-only.org",
            "webshop-a-only.de", "sixonly-hosting.net", "xn--mller-bckerei-hfb76a.de",
            "müller-bäckerei.de", "broken-dns.com", "txtonly-corp.com", "пример.рф",
        ]),
        flips in prop::collection::vec(any::<bool>(), 40),
    ) {
        let checker = oracle_checker();
        let mixed: String = domain.chars().zip(flips.iter().cycle()).map(|(c, &up)| if up { c.to_uppercase().next().unwrap() } else { c }).collect();
        let a = block_on(checker.rcpt_to(&format!("<x@{domain}>"), CheckOptions::default().smtputf8(true)));
        let b = block_on(checker.rcpt_to(&format!("<x@{mixed}>"), CheckOptions::default().smtputf8(true)));
        prop_assert_eq!(a.code(), b.code());
        prop_assert_eq!(a.reject().map(|r| r.reason()), b.reject().map(|r| r.reason()));
        if domain.starts_with("müller") {
            let c = block_on(checker.rcpt_to("<x@xn--mller-bckerei-hfb76a.de>", CheckOptions::default()));
            prop_assert_eq!(a.code(), c.code());
        }
    }

    #[test]
    fn a_transient_fault_anywhere_never_yields_a_5xx(
        fault in prop::sample::select(vec![Fault::ServFail, Fault::Refused, Fault::FormErr, Fault::Timeout, Fault::Hang]),
        target in prop::sample::select(vec![
            "northwind-traders.com", "globex-nonexistent.com", "nullmx-only.org",
            "webshop-a-only.de", "txtonly-corp.com", "alias-to-good.net", "dangling-cname.com",
            "cname-to-nullmx.net", "com", "de",
        ]),
        domain in prop::sample::select(vec![
            "globex-nonexistent.com", "txtonly-corp.com", "dangling-cname.com",
            "nullmx-only.org", "cname-to-nullmx.net", "mail.ent-only.com", "x.txt-wild.org",
        ]),
    ) {
        // Faulting a name the check depends on (or an ancestor of it) must
        // never turn into a permanent reject, unless the fault is on a name
        // the verdict does not need.
        let mut dns = common::oracle_dns();
        dns.add_fault(target, fault).unwrap();
        let policy = Policy::builder().deadline(std::time::Duration::from_millis(50)).build().unwrap();
        let checker = Checker::new(dns, policy);
        let v = block_on(checker.rcpt_to(&format!("<x@{domain}>"), CheckOptions::default()));
        let clean = block_on(common::oracle_checker().rcpt_to(&format!("<x@{domain}>"), CheckOptions::default()));
        let affected = envelope_check::Domain::parse(domain, false).unwrap().ascii() == target
            || domain.ends_with(&format!(".{target}"))
            || (domain == "dangling-cname.com" && target == "com")
            || (domain == "cname-to-nullmx.net" && target == "nullmx-only.org");
        if affected {
            prop_assert!(!v.is_permanent(), "{domain} with {fault:?} at {target}: {v}");
        } else {
            prop_assert_eq!(v, clean);
        }
    }
}

#[test]
fn syntax_errors_are_typed() {
    assert_eq!(
        parse_reverse_path("<user@>", false),
        Err(AddressError::EmptyDomain)
    );
    assert_eq!(
        parse_forward_path("<>", false),
        Err(AddressError::NullRecipient)
    );
    assert_eq!(
        parse_reverse_path("<kunde@müller.de>", false),
        Err(AddressError::Utf8DomainWithoutSmtputf8)
    );
    let v: Verdict = engine::syntax_error(envelope_check::Role::Sender, AddressError::MissingPath);
    assert_eq!(v.to_string(), "501 5.5.4 Syntax: MAIL FROM:<address>");
}
