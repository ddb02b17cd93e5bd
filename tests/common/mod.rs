//! Shared test helpers: the Postfix oracle corpus and the oracle's DNS.
#![allow(dead_code, unreachable_pub)]

use std::collections::HashMap;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

pub mod dns;

use envelope_check::{CheckOptions, Checker, InMemoryResolver, Policy, Verdict};

pub const CASES: &str = include_str!("../data/cases.tsv");
pub const ZONE: &str = include_str!("../data/zone.txt");
pub const FAULTS: &str = include_str!("../data/faults.txt");
pub const APPROVED: &str = include_str!("../data/approved_senders");
pub const DEVIATIONS: &str = include_str!("../data/DEVIATIONS.md");
/// DNS situations added after the first corpus (DNAME, lame delegations,
/// wildcards beside explicit names, long CNAME chains, ...), and their rows.
pub const ZONE_EXTRA: &str = include_str!("../data/dns.zone");
pub const DNS_CASES: &str = include_str!("../data/dns_cases.tsv");
/// More approved-sender keys (domain, `.domain`, `user@`, `@domain`), and
/// the rows Postfix answered with them.
pub const APPROVED_EXTRA: &str = include_str!("../data/approved.map");
pub const APPROVED_CASES: &str = include_str!("../data/approved_cases.tsv");

/// Rows in `cases.tsv`, counted from the data (header excluded).
pub const ROWS: usize = corpus_counts(CASES).0;
/// Rows in scope: all but the 555/552 ESMTP-parameter rows.
pub const IN_SCOPE: usize = corpus_counts(CASES).1;

/// `(rows, rows in scope)` of a cases file, at compile time: a row is out of
/// scope when its `postfix_reply`, the ninth column, is a 555 or 552 reply.
/// `every_oracle_row_matches_postfix` checks the count against `in_scope()`.
const fn corpus_counts(text: &str) -> (usize, usize) {
    const POSTFIX_REPLY: usize = 8;
    let b = text.as_bytes();
    let (mut rows, mut in_scope) = (0, 0);
    let mut i = 0;
    let mut header = true;
    while i < b.len() {
        let start = i;
        let mut tabs = 0;
        let mut reply = usize::MAX;
        while i < b.len() && b[i] != b'\n' {
            if b[i] == b'\t' {
                tabs += 1;
                if tabs == POSTFIX_REPLY {
                    reply = i + 1;
                }
            }
            i += 1;
        }
        i += 1;
        if header || i - 1 == start {
            header = false;
            continue;
        }
        rows += 1;
        let parameter_reply = reply + 4 <= b.len()
            && b[reply] == b'5'
            && b[reply + 1] == b'5'
            && (b[reply + 2] == b'5' || b[reply + 2] == b'2')
            && b[reply + 3] == b' ';
        if !parameter_reply {
            in_scope += 1;
        }
    }
    (rows, in_scope)
}

/// One row of `cases.tsv`.
#[derive(Debug, Clone)]
pub struct Case {
    pub id: String,
    pub command: String,
    pub address: String,
    pub smtputf8: bool,
    pub reply_to: String,
    pub mail_reply: String,
    pub postfix_reply: String,
    pub note: String,
}

impl Case {
    pub fn is_mail(&self) -> bool {
        self.command == "MAIL"
    }

    /// The 555/552 rows are the MTA's ESMTP-parameter business, out of scope.
    pub fn in_scope(&self) -> bool {
        !(self.postfix_reply.starts_with("555 ") || self.postfix_reply.starts_with("552 "))
    }

    /// The reply that is this row's own verdict: for a MAIL row accepted by
    /// Postfix, the MAIL reply (the RCPT reply is the recipient's); else the
    /// decisive reply.
    pub fn expected(&self) -> &str {
        if self.is_mail() && self.reply_to == "RCPT" && self.postfix_reply.starts_with('2') {
            &self.mail_reply
        } else {
            &self.postfix_reply
        }
    }

    /// The argument as the oracle sent it (with its own ` SMTPUTF8`).
    pub fn mail_argument(&self) -> String {
        if self.smtputf8 {
            format!("{} SMTPUTF8", self.address)
        } else {
            self.address.clone()
        }
    }
}

pub fn cases() -> Vec<Case> {
    parse_cases(CASES)
}

/// The rows for the approved-sender keys in `approved.map`.
pub fn approved_cases() -> Vec<Case> {
    parse_cases(APPROVED_CASES)
}

/// The rows for the DNS data added in `dns.zone`.
pub fn dns_cases() -> Vec<Case> {
    parse_cases(DNS_CASES)
}

pub fn parse_cases(text: &str) -> Vec<Case> {
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let col = |name: &str| header.iter().position(|h| *h == name).expect(name);
    let (id, command, address, smtputf8, reply_to, mail_reply, postfix_reply, note) = (
        col("id"),
        col("command"),
        col("address"),
        col("smtputf8"),
        col("reply_to"),
        col("mail_reply"),
        col("postfix_reply"),
        col("note"),
    );
    lines
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            Case {
                id: f[id].to_owned(),
                command: f[command].to_owned(),
                address: f[address].to_owned(),
                smtputf8: f[smtputf8] == "yes",
                reply_to: f[reply_to].to_owned(),
                mail_reply: f[mail_reply].to_owned(),
                postfix_reply: f[postfix_reply].to_owned(),
                note: f[note].to_owned(),
            }
        })
        .collect()
}

/// The reply a row must get from us: Postfix's, or the documented
/// deviation, which must differ from it.
pub fn our_reply<'a>(case: &'a Case, deviations: &'a HashMap<String, (String, String)>) -> &'a str {
    match deviations.get(&case.id) {
        Some((ours, _)) => {
            assert_ne!(
                ours,
                case.expected(),
                "{}: a deviation must differ from Postfix",
                case.id
            );
            ours
        }
        None => case.expected(),
    }
}

/// Documented deviations: id → (our reply, reason).
pub fn deviations() -> HashMap<String, (String, String)> {
    DEVIATIONS
        .split("\n## ")
        .next()
        .unwrap_or_default()
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| id") && !l.starts_with("| --"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").map(str::trim).collect();
            (
                cells[0].to_owned(),
                (cells[1].trim_matches('`').to_owned(), cells[2].to_owned()),
            )
        })
        .collect()
}

/// The oracle's DNS: zone.txt plus faults.txt.
pub fn oracle_dns() -> InMemoryResolver {
    let mut dns = InMemoryResolver::from_zone_text(ZONE).expect("zone.txt loads");
    dns.load_faults(FAULTS).expect("faults.txt loads");
    dns
}

/// The oracle Postfix's final destinations: `mydestination`, and the
/// addresses of `inet_interfaces = loopback-only` (`inet_protocols = all`).
pub const LOCAL_DOMAINS: [&str; 3] = ["mx.oracle-mta.net", "localhost.oracle-mta.net", "localhost"];
pub const LOCAL_ADDRESSES: [&str; 2] = ["127.0.0.1", "::1"];

/// The oracle's Postfix configuration as a policy.
pub fn oracle_policy() -> Policy {
    let mut policy = Policy::builder()
        .sender_access_text(APPROVED)
        .deadline(Duration::from_secs(2));
    for d in LOCAL_DOMAINS {
        policy = policy.local_domain(d);
    }
    for a in LOCAL_ADDRESSES {
        policy = policy.local_address(a.parse().unwrap());
    }
    policy.build().expect("valid policy")
}

/// The same policy as command-line options of the examples.
pub fn oracle_policy_args() -> Vec<String> {
    let mut args = vec!["--sender-access".to_owned(), data("approved_senders")];
    for d in LOCAL_DOMAINS {
        args.extend(["--local-domain".to_owned(), d.to_owned()]);
    }
    for a in LOCAL_ADDRESSES {
        args.extend(["--local-address".to_owned(), a.to_owned()]);
    }
    args
}

pub fn oracle_checker() -> Checker<InMemoryResolver> {
    Checker::new(oracle_dns(), oracle_policy())
}

/// The crate's verdict on a corpus row: its `MAIL FROM` argument (ESMTP
/// parameters included) or its recipient, with the row's SMTPUTF8 flag.
pub async fn verdict(checker: &Checker<InMemoryResolver>, case: &Case) -> Verdict {
    if case.is_mail() {
        checker
            .mail_from(&case.mail_argument(), CheckOptions::default())
            .await
    } else {
        checker
            .rcpt_to(
                &case.address,
                CheckOptions::default().smtputf8(case.smtputf8),
            )
            .await
    }
}

/// `cargo test` builds the examples next to the test binaries.
pub fn check_binary() -> PathBuf {
    example_binary("check")
}

/// An example's binary, built by `cargo test` next to the test binaries.
pub fn example_binary(name: &str) -> PathBuf {
    let mut dir = std::env::current_exe().unwrap();
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let bin = dir
        .join("examples")
        .join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(bin.exists(), "{} not built", bin.display());
    bin
}

pub fn data(name: &str) -> String {
    format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"))
}

pub fn run_check(args: &[&str], stdin: &str) -> (i32, String, String) {
    run_check_bytes(args, stdin.as_bytes())
}

/// `check` with any bytes on stdin: exit code, stdout, stderr.
pub fn run_check_bytes(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let mut child = Command::new(check_binary())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Write from another thread: the whole corpus's replies outgrow the
    // stdout pipe, and the child stops reading until they are read.
    let mut pipe = child.stdin.take().unwrap();
    let input = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        // A child that exits early (a usage error) need not read it all.
        let _ = pipe.write_all(&input);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Runs a future to completion on a fresh current-thread runtime.
pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}
