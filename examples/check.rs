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
//! command, streaming, in Postfix's order (`503` for `RCPT` before `MAIL`
//! and for a nested `MAIL`; a rejected sender's reply repeated at each
//! `RCPT`, as with `smtpd_delay_reject = yes`). `--explain` prints, under
//! each reply line, the evidence it rests on, indented.
//!
//! Exit status: 0 when every reply was 2xx, 1 when any was a reject (4xx or
//! 5xx), 2 for a usage, zone or map error.

use std::io::{self, BufRead, BufWriter, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;
use common::{load_files, network_dns};
use config::PolicyArgs;
use envelope_check::{CheckOptions, Checker, InMemoryResolver, Resolver, Transaction, Verdict};

mod common;
// The policy options and their loader, shared with envelope-check-policyd,
// and the sanitizer they use.
#[path = "../src/bin/envelope-check-policyd/config.rs"]
mod config;
#[path = "../src/sanitize.rs"]
#[allow(dead_code)]
mod sanitize;

const DEMO_ZONE: &str = include_str!("demo.zone");
const DEMO_FAULTS: &str = include_str!("demo.faults");

#[derive(Parser)]
#[command(
    about = "Postfix-exact envelope domain checks",
    after_help = "Exit status: 0 if every reply was 2xx, 1 if any was a reject (4xx/5xx), 2 on a usage, zone or map error."
)]
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
    /// Judge the sender at each RCPT, as Postfix's default
    /// smtpd_delay_reject = yes does (stdin mode): MAIL FROM gets 250 when
    /// its path parses, and each RCPT TO the sender's reject, if any.
    #[arg(long)]
    delay_reject: bool,
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
        Ok(Outcome::AllAccepted) => ExitCode::SUCCESS,
        Ok(Outcome::SomeRejected) => ExitCode::from(1),
        Err(message) => {
            eprintln!("check: {message}");
            ExitCode::from(2)
        }
    }
}

/// Whether every reply was a 2xx.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Outcome {
    AllAccepted,
    SomeRejected,
}

impl Outcome {
    fn add(&mut self, code: u16) {
        if code >= 400 {
            *self = Self::SomeRejected;
        }
    }
}

fn run(args: Args) -> Result<Outcome, String> {
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
    let policy = config::load(&args.policy, |file, warning| {
        eprintln!("warning: {}: {warning}", file.display());
    })?;

    // 3. Check, on the single-threaded runtime.
    let checker = Checker::new(dns, policy);
    let out = io::stdout();
    let mut out = BufWriter::new(out.lock());
    let options = CheckOptions::default().explain(args.explain);
    let mut outcome = Outcome::AllAccepted;
    if args.sender.is_some() || !args.rcpts.is_empty() {
        let options = options.smtputf8(args.smtputf8);
        if let Some(sender) = &args.sender {
            let v = rt.block_on(checker.mail_from(sender, options));
            outcome.add(v.code());
            reply(&mut out, &v, args.explain).map_err(|e| e.to_string())?;
        }
        for rcpt in &args.rcpts {
            let v = rt.block_on(checker.rcpt_to(rcpt, options));
            outcome.add(v.code());
            reply(&mut out, &v, args.explain).map_err(|e| e.to_string())?;
        }
        out.flush().map_err(|e| e.to_string())?;
        return Ok(outcome);
    }
    let stdin = io::stdin();
    let tx = Transaction::new(options).delay_reject(args.delay_reject);
    session(&rt, &checker, stdin.lock(), &mut out, tx, &mut outcome).map_err(|e| e.to_string())?;
    Ok(outcome)
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

/// Reads SMTP commands and writes one reply line each, in constant memory:
/// the library answers each line as Postfix would.
fn session(
    rt: &tokio::runtime::Runtime,
    checker: &Checker<Arc<dyn Resolver>>,
    mut input: impl BufRead,
    out: &mut impl Write,
    mut tx: Transaction,
    outcome: &mut Outcome,
) -> io::Result<()> {
    let mut line = Vec::new();
    let explain = tx.options().is_explain();
    loop {
        line.clear();
        if input.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        let answer = rt.block_on(tx.command(checker, &line));
        outcome.add(answer.code());
        match answer.verdict() {
            Some(v) => reply(out, v, explain)?,
            None => writeln!(out, "{answer}")?,
        }
        if input.fill_buf()?.is_empty() {
            out.flush()?;
        }
    }
    out.flush()
}
