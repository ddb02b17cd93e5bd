//! Sender access maps against the real Postfix: every row of
//! `sender_access_cases.tsv` (the map `sender_access.map`), and the two
//! transaction runs (`sender_access_b*`: `DEFER_IF_REJECT` and the values
//! Postfix cannot use; `sender_access_c*`: `DEFER_IF_PERMIT`), through the
//! library and through `check --sender-access`.

mod common;

use std::collections::HashMap;

use common::Case;
use envelope_check::{
    AccessAction, Checker, Directive, InMemoryResolver, MAX_REPLY_LINE, MapErrorKind, Policy, Rule,
    SenderAccess, TableWarning, Verdict,
};
use envelope_check::{CheckOptions, Transaction};

const MAP_A: &str = include_str!("data/sender_access.map");
const CASES_A: &str = include_str!("data/sender_access_cases.tsv");
const MAP_B: &str = include_str!("data/sender_access_b.map");
const CASES_B: &str = include_str!("data/sender_access_b_cases.tsv");
const MAP_C: &str = include_str!("data/sender_access_c.map");
const CASES_C: &str = include_str!("data/sender_access_c_cases.tsv");

/// The deliberate differences, from the "Sender access maps" section of
/// DEVIATIONS.md: id → our reply (only the rows with a literal reply).
fn deviations() -> HashMap<String, String> {
    let section = common::DEVIATIONS
        .split("\n## Sender access maps")
        .nth(1)
        .expect("DEVIATIONS.md has a sender access section")
        .split("\n## ")
        .next()
        .unwrap();
    section
        .lines()
        .filter(|l| l.starts_with("| S") || l.starts_with("| R"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").map(str::trim).collect();
            (cells[0].to_owned(), cells[1].trim_matches('`').to_owned())
        })
        .collect()
}

fn checker(map: &str) -> Checker<InMemoryResolver> {
    let mut policy = Policy::builder().sender_access_text(map);
    for d in common::LOCAL_DOMAINS {
        policy = policy.local_domain(d);
    }
    Checker::new(common::oracle_dns(), policy.build().expect("map loads"))
}

fn cases(text: &str) -> Vec<Case> {
    common::parse_cases(text)
}

#[tokio::test]
async fn every_sender_access_row_matches_postfix() {
    let checker = checker(MAP_A);
    let deviations = deviations();
    let rows = cases(CASES_A);
    let mut failures = Vec::new();
    for case in &rows {
        let got = checker
            .mail_from(&case.mail_argument(), CheckOptions::default())
            .await;
        let line = got.to_string();
        let postfix = case.expected();
        assert!(line.len() <= MAX_REPLY_LINE, "{}", case.id);
        assert!(!line.chars().any(char::is_control), "{}", case.id);
        let ok = match deviations.get(&case.id) {
            // The reply bound: the first 510 octets of Postfix's line.
            Some(_) if case.id == "S3109" => {
                postfix.len() > MAX_REPLY_LINE
                    && line.len() == MAX_REPLY_LINE
                    && postfix.starts_with(&line)
            }
            Some(ours) => {
                assert_ne!(ours, postfix, "{}: a deviation must differ", case.id);
                line == *ours
            }
            None => line == postfix,
        };
        if !ok {
            failures.push(format!(
                "{} {}\n   want {postfix}\n    got {line}",
                case.id, case.address
            ));
        }
        // A REJECT, DUNNO or numeric line never yields 250, and a 250
        // always comes from a permit, DISCARD, or the DNS.
        if got.is_accept() {
            assert!(
                matches!(
                    got.rule(),
                    Rule::SenderAccess
                        | Rule::Dns
                        | Rule::Exemption
                        | Rule::LocalDomain
                        | Rule::Literal
                ),
                "{}",
                case.id
            );
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} rows differ:\n{}",
        failures.len(),
        rows.len(),
        failures.join("\n")
    );
    assert_eq!(rows.len(), CASES_A.lines().count() - 1);
    assert!(rows.len() >= 60);
}

/// `check --sender-access MAP` gives the same replies as the library.
#[test]
fn check_example_reproduces_the_oracle_replies() {
    let deviations = deviations();
    let rows = cases(CASES_A);
    let mut args = vec![
        "--sender-access".to_owned(),
        common::data("sender_access.map"),
    ];
    for d in common::LOCAL_DOMAINS {
        args.extend(["--local-domain".to_owned(), d.to_owned()]);
    }
    args.extend(["--zone".to_owned(), common::data("zone.txt")]);
    args.extend(["--faults".to_owned(), common::data("faults.txt")]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let input: String = rows
        .iter()
        .map(|c| format!("MAIL FROM:{}\r\nRSET\r\n", c.mail_argument()))
        .collect();
    let (code, stdout, stderr) = common::run_check(&args, &input);
    assert_eq!(code, 1, "some rows are rejects: {stderr}");
    // The map's warnings go to stderr, naming the file and the line.
    assert!(
        stderr.contains("sender_access.map: line 85: expected format"),
        "{stderr}"
    );
    let lines: Vec<&str> = stdout.lines().step_by(2).collect();
    assert!(
        stdout
            .lines()
            .skip(1)
            .step_by(2)
            .all(|l| l == "250 2.0.0 Ok")
    );
    assert_eq!(lines.len(), rows.len());
    for (case, line) in rows.iter().zip(lines) {
        match deviations.get(&case.id) {
            Some(_) if case.id == "S3109" => assert!(case.expected().starts_with(line)),
            Some(ours) => assert_eq!(line, ours, "{}", case.id),
            None => assert_eq!(line, case.expected(), "{}", case.id),
        }
    }
}

#[test]
fn the_map_reads_as_postmap_reads_it() {
    let map = SenderAccess::parse(MAP_A).unwrap();
    let count = |f: fn(&TableWarning) -> bool| map.warnings().iter().filter(|w| f(w)).count();
    assert_eq!(count(|w| matches!(w, TableWarning::MissingValue { .. })), 2);
    assert_eq!(count(|w| matches!(w, TableWarning::DuplicateKey { .. })), 2);
    assert_eq!(count(|w| matches!(w, TableWarning::NeverMatches { .. })), 3);
    assert_eq!(
        count(|w| matches!(w, TableWarning::IgnoredAction { .. })),
        3
    );
    assert_eq!(
        count(|w| matches!(w, TableWarning::NumericPermit { .. })),
        1
    );
    // A continuation line is part of the value, not a key.
    assert!(map.get("globex-nonexistent.com").is_none());
    assert!(
        matches!(map.get("listed.com"), Some(AccessAction::Reject(r)) if r.text() == "globex-nonexistent.com OK")
    );
    // A `#` inside a key or after the action is text.
    assert!(map.get("hash#in@northwind-traders.com").is_some());
    assert!(map.get("#commented@globex-nonexistent.com").is_none());
    assert_eq!(
        map.get("midline@globex-nonexistent.com"),
        Some(&AccessAction::Permit)
    );
}

#[tokio::test]
async fn message_actions_come_back_as_typed_directives() {
    let checker = checker(MAP_A);
    let directive = |v: &Verdict| v.directive().cloned();
    let v = checker
        .mail_from("<hold-good@northwind-traders.com>", CheckOptions::default())
        .await;
    assert!(v.is_accept());
    assert_eq!(
        directive(&v),
        Some(Directive::Hold(Some("held for review".into())))
    );
    // DISCARD ends the checks with an accept, DNS skipped.
    let v = checker
        .mail_from(
            "<discard-nx@globex-nonexistent.com>",
            CheckOptions::default(),
        )
        .await;
    assert_eq!((v.is_accept(), v.rule()), (true, Rule::SenderAccess));
    assert_eq!(directive(&v), Some(Directive::Discard(None)));
    // The others let the DNS check decide, and still carry the directive.
    let v = checker
        .mail_from(
            "<filter-nx@globex-nonexistent.com>",
            CheckOptions::default(),
        )
        .await;
    assert_eq!(v.code(), 550);
    assert_eq!(
        directive(&v),
        Some(Directive::Filter("smtp:[127.0.0.1]:10025".into()))
    );
    assert_eq!(
        v.access_match().unwrap().key(),
        "filter-nx@globex-nonexistent.com"
    );
    for (sender, word) in [
        ("redirect-nx@globex-nonexistent.com", "REDIRECT"),
        ("bcc-nx@globex-nonexistent.com", "BCC"),
        ("prepend-nx@globex-nonexistent.com", "PREPEND"),
        ("warn-nx@globex-nonexistent.com", "WARN"),
        ("info-nx@globex-nonexistent.com", "INFO"),
    ] {
        let v = checker
            .mail_from(&format!("<{sender}>"), CheckOptions::default())
            .await;
        assert_eq!(v.directive().map(Directive::word), Some(word), "{sender}");
    }
    // A malformed one is Postfix's DUNNO: no directive.
    let v = checker
        .mail_from(
            "<filter-bad@globex-nonexistent.com>",
            CheckOptions::default(),
        )
        .await;
    assert_eq!((v.code(), v.directive()), (550, None));
    // 421 and 521 tell the MTA to close the connection.
    let v = checker
        .mail_from("<code421@northwind-traders.com>", CheckOptions::default())
        .await;
    assert!(v.reject().unwrap().closes_connection());
    let v = checker
        .mail_from("<code450@northwind-traders.com>", CheckOptions::default())
        .await;
    assert!(!v.reject().unwrap().closes_connection());
    // The rule and the key are typed; the log reason says so.
    let v = checker
        .mail_from("<x@a.b.dom-reject.com>", CheckOptions::default())
        .await;
    assert_eq!(v.rule(), Rule::SenderAccess);
    assert_eq!(v.access_match().unwrap().key(), "dom-reject.com");
    assert_eq!(v.log_reason(), Some("sender access denied"));
}

/// `DEFER_IF_REJECT` on the sender never touches a recipient's reply;
/// `DEFER_IF_PERMIT` turns every recipient that is not itself rejected
/// into the sender's deferral (Postfix's `smtpd_delay_reject = yes`).
#[tokio::test]
async fn deferrals_across_a_transaction_match_postfix() {
    for (map, rows) in [(MAP_B, CASES_B), (MAP_C, CASES_C)] {
        // Run B's map holds the values Postfix cannot use; keep its first line.
        let map = map.lines().next().unwrap();
        let checker = checker(map);
        for case in cases(rows).iter().filter(|c| !c.is_mail()) {
            let mut tx = Transaction::default().delay_reject(true);
            tx.mail_from(&checker, "<probe@northwind-traders.com>")
                .await;
            let got = tx.rcpt_to(&checker, &case.address).await.to_string();
            assert_eq!(got, case.postfix_reply, "{} {}", case.id, case.address);
        }
    }
}

/// What Postfix answers 451 4.3.5 for at run time, we refuse at load time,
/// naming the line and the value.
#[test]
fn values_postfix_cannot_use_are_refused_when_loading() {
    let rows = cases(CASES_B);
    let mail_rows: Vec<&Case> = rows.iter().filter(|c| c.is_mail()).collect();
    assert_eq!(mail_rows.len(), 6);
    // Each map line after the first belongs to one MAIL row, in order.
    for (index, line) in MAP_B.lines().enumerate().skip(1) {
        let err = SenderAccess::parse(line).unwrap_err();
        assert_eq!(err.line(), 1);
        let value = line.split_once(' ').unwrap().1;
        assert!(err.to_string().contains(value), "{err}");
        assert!(matches!(
            err.kind(),
            MapErrorKind::UnknownAction(_) | MapErrorKind::BadCode(_)
        ));
        // After good and blank lines, the error names the line.
        let text = format!("ok@example.com OK\n{}{line}\n", "\n".repeat(index - 1));
        assert_eq!(SenderAccess::parse(&text).unwrap_err().line(), index + 1);
    }
    // Postfix itself: 451 for all but the restriction list it evaluates.
    let configuration_errors = mail_rows
        .iter()
        .filter(|c| c.postfix_reply == "451 4.3.5 Server configuration error")
        .count();
    assert_eq!(configuration_errors, 5);
}

#[test]
fn check_exits_2_naming_the_file_and_line_of_a_bad_map() {
    let dir = std::env::temp_dir().join(format!("ec-map-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bad.map");
    std::fs::write(&file, "a@b.example OK\n\nspammer@evil.example REJCT\n").unwrap();
    let (code, stdout, stderr) = common::run_check(
        &[
            "--sender-access",
            file.to_str().unwrap(),
            "--sender",
            "<a@b.example>",
        ],
        "",
    );
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("bad.map: line 3: unknown action \"REJCT\""),
        "{stderr}"
    );
    // The old option name still works.
    let (code, _, stderr) = common::run_check(
        &[
            "--approved-senders",
            file.to_str().unwrap(),
            "--sender",
            "<a@b.example>",
        ],
        "",
    );
    assert_eq!(code, 2, "{stderr}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn explain_shows_the_key_and_the_directive() {
    let map = common::data("sender_access.map");
    let (code, stdout, stderr) = common::run_check(
        &[
            "--sender-access",
            &map,
            "--zone",
            &common::data("zone.txt"),
            "--explain",
            "--sender",
            "<hold-good@northwind-traders.com>",
        ],
        "",
    );
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("sender access: hold-good@northwind-traders.com (line "),
        "{stdout}"
    );
    assert!(
        stdout.contains("directive for the MTA: HOLD held for review"),
        "{stdout}"
    );
}
