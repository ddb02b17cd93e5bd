//! Checks envelope senders and recipients and prints Postfix's reply for each.
//!
//! ```text
//! cargo run --example check -- [--zone FILE]... [--faults FILE] [--sender-access FILE]
//!      [--local-domain NAME]... [--managed-domain NAME]... [--direction inbound|outbound]
//!      [--smtputf8]
//!      [--nameserver IP:PORT]... [--system] [--explain] [--sender ADDR] [--rcpt ADDR]...
//! ```
//!
//! Without `--zone`, `--nameserver` or `--system` it answers from the embedded
//! demo DNS (`examples/demo.zone` and `examples/demo.faults`), offline.
//! `--nameserver` asks those servers (UDP, TCP fallback); `--system` asks the
//! servers of `/etc/resolv.conf`. With `--sender`/`--rcpt` it prints one
//! reply line per address, sender first. Otherwise it reads SMTP commands
//! (`MAIL FROM:`, `RCPT TO:`, `RSET`) from stdin and writes one reply line per
//! command, streaming. `--explain` prints, under each reply line, the
//! evidence it rests on, indented. Exit status: 0 when the input was processed, 2 for a
//! usage, zone or file error.

use std::io::{self, BufRead, BufWriter, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use common::{PolicyArgs, load_files, network_dns};
use envelope_check::{Checker, InMemoryResolver, Resolver, Verdict};

mod common;

const DEMO_ZONE: &str = include_str!("demo.zone");
const DEMO_FAULTS: &str = include_str!("demo.faults");

#[derive(Parser)]
#[command(about = "Postfix-exact envelope domain checks")]
struct Args {
    /// RFC 1035 master file(s) to answer from instead of the demo zone.
    #[arg(long = "zone", value_name = "FILE")]
    zones: Vec<PathBuf>,
    /// Fault lines, `NAME servfail|refused|timeout`.
    #[arg(long, value_name = "FILE")]
    faults: Option<PathBuf>,
    #[command(flatten)]
    policy: PolicyArgs,
    /// The transaction declared SMTPUTF8 (for --sender/--rcpt).
    #[arg(long)]
    smtputf8: bool,
    /// Ask this DNS server (IP:PORT) instead of the demo zone; repeatable.
    #[arg(long = "nameserver", value_name = "IP:PORT", conflicts_with_all = ["zones", "faults", "system"])]
    nameservers: Vec<SocketAddr>,
    /// Ask the servers of /etc/resolv.conf instead of the demo zone.
    #[arg(long, conflicts_with_all = ["zones", "faults"])]
    system: bool,
    /// Under each reply, print the evidence: DNS questions and answers,
    /// cache use, time, and the rule that decided.
    #[arg(long)]
    explain: bool,
    /// A sender to check (what follows `MAIL FROM:`).
    #[arg(long, value_name = "ADDR")]
    sender: Option<String>,
    /// A recipient to check (what follows `RCPT TO:`); repeatable.
    #[arg(long = "rcpt", value_name = "ADDR")]
    rcpts: Vec<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("check: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(args: Args) -> Result<(), String> {
    // 1. The DNS: real servers, or the demo data, or the zones and faults given.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let dns: Arc<dyn Resolver> = if args.system || !args.nameservers.is_empty() {
        // hickory spawns its connection tasks on the current runtime.
        let _guard = rt.enter();
        // `--system` conflicts with `--nameserver`: no servers means the system's.
        network_dns(&args.nameservers)?
    } else {
        let mut dns = InMemoryResolver::new();
        if args.zones.is_empty() {
            dns.load_zone(DEMO_ZONE)
                .map_err(|e| format!("demo.zone: {e}"))?;
            dns.load_faults(DEMO_FAULTS)
                .map_err(|e| format!("demo.faults: {e}"))?;
        }
        load_files(&mut dns, &args.zones, args.faults.as_ref())?;
        Arc::new(dns)
    };

    // 2. The policy.
    let policy = args.policy.policy()?;

    // 3. Check, on the single-threaded runtime.
    let checker = Checker::new(dns, policy);
    let out = io::stdout();
    let mut out = BufWriter::new(out.lock());
    let explain = args.explain;
    if args.sender.is_some() || !args.rcpts.is_empty() {
        let utf8 = if args.smtputf8 { " SMTPUTF8" } else { "" };
        if let Some(sender) = &args.sender {
            let arg = format!("{sender}{utf8}");
            let v = rt.block_on(async {
                if explain {
                    checker.explain_mail_from(&arg).await
                } else {
                    checker.check_mail_from(&arg).await
                }
            });
            reply(&mut out, &v, explain).map_err(|e| e.to_string())?;
        }
        for rcpt in &args.rcpts {
            let v = rt.block_on(async {
                if explain {
                    checker.explain_rcpt_to(rcpt, args.smtputf8).await
                } else {
                    checker.check_rcpt_to(rcpt, args.smtputf8).await
                }
            });
            reply(&mut out, &v, explain).map_err(|e| e.to_string())?;
        }
        return out.flush().map_err(|e| e.to_string());
    }
    let stdin = io::stdin();
    session(&rt, &checker, stdin.lock(), &mut out, explain).map_err(|e| e.to_string())
}

/// One reply line, and with `--explain` the evidence under it.
fn reply(out: &mut impl Write, verdict: &Verdict, explain: bool) -> io::Result<()> {
    writeln!(out, "{verdict}")?;
    if let (true, Some(evidence)) = (explain, verdict.evidence()) {
        writeln!(out, "{evidence}")?;
    }
    if let (true, Some(found)) = (explain, verdict.access_match()) {
        writeln!(out, "  sender access: {found}")?;
        if let Some(directive) = found.directive() {
            writeln!(out, "  directive for the MTA: {directive}")?;
        }
    }
    Ok(())
}

/// Reads SMTP commands and writes one reply line each, in constant memory.
fn session(
    rt: &tokio::runtime::Runtime,
    checker: &Checker<Arc<dyn Resolver>>,
    mut input: impl BufRead,
    out: &mut impl Write,
    explain: bool,
) -> io::Result<()> {
    let mut line = Vec::new();
    // MAIL FROM starts a transaction; its SMTPUTF8 applies to its RCPTs.
    let mut tx = checker.transaction().explain(explain);
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let Ok(text) = std::str::from_utf8(&line) else {
            writeln!(out, "500 5.5.2 Error: bad UTF-8 syntax")?;
            continue;
        };
        let text = text.trim_end_matches(['\r', '\n']);
        let (verb, rest) = text.split_once([' ', '\t']).unwrap_or((text, ""));
        let rest = rest.trim_start();
        if verb.eq_ignore_ascii_case("MAIL") {
            match strip_keyword(rest, "FROM:") {
                Some(arg) => {
                    tx = checker.transaction().explain(explain);
                    let v = rt.block_on(tx.mail_from(arg));
                    reply(out, &v, explain)?;
                }
                None => writeln!(out, "501 5.5.4 Syntax: MAIL FROM:<address>")?,
            }
        } else if verb.eq_ignore_ascii_case("RCPT") {
            match strip_keyword(rest, "TO:") {
                Some(arg) => {
                    let v = rt.block_on(tx.rcpt_to(arg));
                    reply(out, &v, explain)?;
                }
                None => writeln!(out, "501 5.5.4 Syntax: RCPT TO:<address>")?,
            }
        } else if verb.eq_ignore_ascii_case("RSET") && rest.is_empty() {
            tx = checker.transaction().explain(explain);
            writeln!(out, "250 2.0.0 Ok")?;
        } else {
            writeln!(out, "502 5.5.2 Error: command not recognized")?;
        }
        if input.fill_buf()?.is_empty() {
            out.flush()?;
        }
    }
    out.flush()
}

/// `FROM:<a>` → `<a>`, case-insensitively.
fn strip_keyword<'a>(text: &'a str, keyword: &str) -> Option<&'a str> {
    let head = text.get(..keyword.len())?;
    head.eq_ignore_ascii_case(keyword)
        .then(|| &text[keyword.len()..])
}
