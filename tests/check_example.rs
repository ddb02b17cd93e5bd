//! The `check` example's contract: the oracle corpus fed as SMTP commands
//! gives Postfix's replies, one line per command; usage errors exit 2.

mod common;

use common::{data, run_check as run};

fn oracle_args() -> Vec<String> {
    let mut args = vec![
        "--zone".into(),
        data("zone.txt"),
        "--faults".into(),
        data("faults.txt"),
    ];
    args.extend(common::oracle_policy_args());
    args
}

#[test]
fn the_corpus_as_an_smtp_session() {
    let deviations = common::deviations();
    let mut input = String::new();
    let mut expected = Vec::new();
    for case in common::cases().iter().filter(|c| c.in_scope()) {
        let utf8 = if case.smtputf8 { " SMTPUTF8" } else { "" };
        let want = common::our_reply(case, &deviations);
        if case.is_mail() {
            input.push_str(&format!("MAIL FROM:{}{utf8}\r\n", case.address));
            expected.push(want.to_owned());
        } else {
            input.push_str(&format!(
                "mail from:<probe@northwind-traders.com>{utf8}\nRCPT TO:{}\n",
                case.address
            ));
            expected.push("250 2.1.0 Ok".to_owned());
            expected.push(want.to_owned());
        }
        input.push_str("RSET\n");
        expected.push("250 2.0.0 Ok".to_owned());
    }
    input.push_str("NOOP\n");
    expected.push("500 5.5.2 Error: command not recognized".to_owned());
    let args = oracle_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, stdout, stderr) = run(&args, &input);
    assert_eq!(code, 1, "the corpus has rejects: {stderr}");
    let got: Vec<&str> = stdout.lines().collect();
    assert_eq!(got.len(), expected.len(), "one reply line per command");
    for (i, (g, w)) in got.iter().zip(&expected).enumerate() {
        assert_eq!(g, w, "reply {i}");
    }
}

#[test]
fn sender_and_recipients_from_arguments() {
    let (code, stdout, _) = run(
        &[
            "--rcpt",
            "<a@good-mx.com>",
            "--sender",
            "<x@typo-domain.com>",
            "--rcpt",
            "<b@no-mail.net>",
        ],
        "",
    );
    assert_eq!(code, 1, "a reject exits 1");
    assert_eq!(
        stdout,
        "550 5.1.8 <x@typo-domain.com>: Sender address rejected: Domain not found\n\
         250 2.1.5 Ok\n\
         556 5.1.10 <b@no-mail.net>: Recipient address rejected: Domain no-mail.net does not accept mail (nullMX)\n"
    );
}

#[test]
fn smtputf8_applies_to_its_transaction_only() {
    let args = oracle_args();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let input = "MAIL FROM:<a@northwind-traders.com> SMTPUTF8\nRCPT TO:<k@müller-bäckerei.de>\nRSET\n\
                 MAIL FROM:<a@northwind-traders.com>\nRCPT TO:<k@müller-bäckerei.de>\n";
    let (_, stdout, _) = run(&args, input);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines[1], "250 2.1.5 Ok");
    assert_eq!(lines[4], "501 5.1.3 Bad recipient address syntax");
}

#[test]
fn the_demo_shows_every_kind_of_verdict() {
    let input = "MAIL FROM:<>\nRCPT TO:<postmaster>\nRCPT TO:<a@good-mx.com>\nRCPT TO:<a@a-only.net>\n\
                 RCPT TO:<a@aaaa-only.net>\nRCPT TO:<a@typo-domain.com>\nRCPT TO:<a@txt-only.com>\n\
                 RCPT TO:<a@no-mail.net>\nRCPT TO:<a@servfail.example-dns.org>\nRCPT TO:<a@loop-a.net>\n\
                 RCPT TO:<a@mail>\nRCPT TO:<a@>\nRCPT TO:<a@[192.0.2.1]>\n";
    let (code, stdout, _) = run(&[], input);
    assert_eq!(code, 1);
    let codes: Vec<&str> = stdout.lines().map(|l| &l[..3]).collect();
    assert_eq!(
        codes,
        [
            "250", "250", "250", "250", "250", "550", "550", "556", "450", "450", "504", "501",
            "250"
        ]
    );
}

/// Every accepted: exit 0.
#[test]
fn all_accepted_exits_0() {
    let (code, stdout, _) = run(
        &["--sender", "<a@good-mx.com>", "--rcpt", "<b@a-only.net>"],
        "",
    );
    assert_eq!((code, stdout.as_str()), (0, "250 2.1.0 Ok\n250 2.1.5 Ok\n"));
    let (code, _, _) = run(
        &[],
        "MAIL FROM:<a@good-mx.com>\nRCPT TO:<b@a-only.net>\nRSET\n",
    );
    assert_eq!(code, 0);
}

const COMMAND_ORDER: &str = include_str!("data/command_order_cases.tsv");

/// Command order as Postfix has it (`command_order_cases.tsv`: whole
/// sessions, each reply of the real Postfix, joined with ` | `).
#[test]
fn command_order_matches_postfix() {
    let mut args = oracle_args();
    args.push("--delay-reject".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let rows: Vec<(&str, &str)> = COMMAND_ORDER
        .lines()
        .skip(1)
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (f[2], f[8])
        })
        .collect();
    assert_eq!(rows.len(), COMMAND_ORDER.lines().count() - 1);
    for (session, postfix) in rows {
        let commands = session.strip_prefix("SEQ:").unwrap();
        let input: String = commands.split(" ;; ").map(|c| format!("{c}\r\n")).collect();
        let (_, stdout, stderr) = run(&args, &input);
        let ours: Vec<&str> = stdout.lines().collect();
        assert_eq!(ours.join(" | "), postfix, "{session}: {stderr}");
    }
}

#[test]
fn usage_and_zone_errors_exit_2() {
    let (code, _, stderr) = run(&["--zone", "/nonexistent/zone"], "");
    assert_eq!(code, 2);
    assert!(stderr.contains("/nonexistent/zone"), "{stderr}");
    let bad = std::env::temp_dir().join(format!("bad-zone-{}.txt", std::process::id()));
    std::fs::write(
        &bad,
        "$ORIGIN example.\n@ 300 IN SOA ns. h. 1 2 3 4 5\nx 300 IN A 300.1.1.1\n",
    )
    .unwrap();
    let (code, _, stderr) = run(&["--zone", bad.to_str().unwrap()], "");
    std::fs::remove_file(&bad).ok();
    assert_eq!(code, 2);
    assert!(stderr.contains("line 3"), "{stderr}");
    let (code, _, _) = run(&["--direction", "sideways"], "");
    assert_eq!(code, 2);
}

#[test]
fn invalid_utf8_gets_a_reply_not_a_crash() {
    let (code, stdout, _) = common::run_check_bytes(&[], b"MAIL FROM:<\xff@x.com>\nRSET\n");
    assert_eq!(code, 1);
    assert_eq!(stdout, "500 5.5.2 Error: bad UTF-8 syntax\n250 2.0.0 Ok\n");
}

#[test]
fn the_readme_shows_the_demo_zone_as_it_is() {
    let readme = include_str!("../README.md");
    let zone = include_str!("../examples/demo.zone");
    assert!(
        readme.contains(zone.trim_end()),
        "README's demo zone is out of date"
    );
}

#[test]
fn explain_prints_the_evidence_under_each_reply() {
    let (code, stdout, _) = run(
        &[
            "--explain",
            "--sender",
            "<x@typo-domain.com>",
            "--rcpt",
            "<a@a-only.net>",
            "--rcpt",
            "<a@mail>",
        ],
        "",
    );
    assert_eq!(code, 1);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0],
        "550 5.1.8 <x@typo-domain.com>: Sender address rejected: Domain not found"
    );
    assert!(
        lines[1].starts_with("    MX typo-domain.com. → NXDOMAIN (negative TTL 60 s) · "),
        "{}",
        lines[1]
    );
    assert!(lines[1].ends_with(" ms · decided by DNS"));
    assert_eq!(lines[2], "250 2.1.5 Ok");
    assert_eq!(lines[3], "    MX a-only.net. → NODATA (negative TTL 60 s)");
    assert_eq!(lines[4], "    A a-only.net. → 1 record (TTL 300 s)");
    assert!(lines[5].starts_with("    AAAA a-only.net. → "));
    assert_eq!(
        lines[6],
        "504 5.5.2 <a@mail>: Recipient address rejected: need fully-qualified address"
    );
    assert!(
        lines[7].starts_with("    no DNS needed · ")
            && lines[7].ends_with("decided by the fully-qualified rule")
    );
    assert_eq!(lines.len(), 8);
}
