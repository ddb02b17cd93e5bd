//! `envelope-check-policyd` behind a real Postfix (Debian's package): Postfix
//! runs with `check_policy_service` *instead of* its built-in
//! `reject_non_fqdn_*` / `check_sender_access` / `reject_unknown_*_domain`,
//! the policy server asks an in-process DNS server with the oracle's data,
//! and a pool of SMTP clients replays every row of the oracle corpus. Each
//! reply must be the oracle's (or a documented deviation).
//!
//! Each run is private, so that two runs at once (two checkouts, or the
//! same test binary twice) do not meet: its own directory for Postfix's
//! configuration, queue, data, pid and lock files and log; its own
//! `myhostname` and `syslog_name`; the policy server on a unix socket in
//! that directory; Postfix on a free loopback port, checked by its greeting
//! (which names this run's host) before any row is sent.
//!
//! Needs root (Postfix's master runs as root) and Postfix installed
//! (`.ci/install-postfix`); skips with a message when not root. Progress
//! goes to stderr as it happens, past the test harness's capture.
#![cfg(feature = "policyd")]

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::Case;
use common::dns::OracleServer;

/// SMTP sessions at once: well under Postfix's default process limit (100
/// smtpd processes), and enough that sessions waiting on a reply (the
/// DNS-timeout rows wait seconds) do not leave the CPU idle.
const SESSIONS: usize = 24;

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Debian's Postfix command (root's PATH may lack /usr/sbin).
fn postfix() -> &'static str {
    "/usr/sbin/postfix"
}

/// The policy server under test: the one place that names its program.
fn policy_server() -> Command {
    Command::new(env!("CARGO_BIN_EXE_envelope-check-policyd"))
}

/// A progress line on stderr, whether or not the harness captures output
/// (it captures only the print macros).
fn progress(line: &str) {
    let _ = writeln!(std::io::stderr(), "postfix: {line}");
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Waits until `ready` holds, for at most 20 s.
fn wait_until(what: &str, mut ready: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ready() {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "{what} did not start listening"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stops Postfix and the policy server however the test ends, and removes
/// the run's directory, unless the test failed: then Postfix's log in it
/// is kept for a look.
struct Running {
    dir: PathBuf,
    policy: Child,
    postfix_started: bool,
}

impl Running {
    fn config_dir(&self) -> PathBuf {
        self.dir.join("etc")
    }

    fn stop_postfix(&mut self) {
        if std::mem::take(&mut self.postfix_started) {
            let _ = Command::new(postfix())
                .arg("-c")
                .arg(self.config_dir())
                .arg("stop")
                .output();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop_postfix();
        let _ = self.policy.kill();
        let _ = self.policy.wait();
        if std::thread::panicking() {
            progress(&format!("kept {} (maillog)", self.dir.display()));
        } else {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// A name for this run, unique on the machine: the process id alone may
/// repeat across pid namespaces that share `/tmp`.
fn run_name() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{}-{nanos:09}", std::process::id())
}

/// This run's `main.cf`. Everything Postfix writes (queue, data, pid and
/// lock files, log) is under `dir`; `myhostname` and `syslog_name` name
/// the run. `myorigin`, `mydomain` and `mydestination` stay the oracle's,
/// which the expected replies depend on.
fn write_main_cf(dir: &Path, name: &str, policy_socket: &Path) {
    let queue = dir.join("spool");
    let data = dir.join("data");
    let etc = dir.join("etc");
    for d in [&queue, &data, &etc] {
        std::fs::create_dir_all(d).unwrap();
    }
    let out = Command::new("chown")
        .arg("postfix:postfix")
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chown: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let policy = format!("unix:{}", policy_socket.display());
    let main_cf = format!(
        "compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
meta_directory = /etc/postfix
command_directory = /usr/sbin
daemon_directory = /usr/lib/postfix/sbin
shlib_directory = /usr/lib/postfix
mail_owner = postfix
setgid_group = postdrop
maillog_file = {dir}/maillog
maillog_file_prefixes = {dir}
syslog_name = postfix-{name}
myhostname = {name}.envelope-check.test
mydomain = oracle-mta.net
myorigin = mx.oracle-mta.net
mydestination = mx.oracle-mta.net, localhost.oracle-mta.net, localhost
relay_domains =
local_recipient_maps =
alias_maps =
alias_database =
inet_interfaces = loopback-only
inet_protocols = all
smtputf8_enable = yes
smtpd_delay_reject = yes
smtpd_error_sleep_time = 0
# No flow control: each accepted RCPT opens a queue file, no message is
# ever delivered to return cleanup's token, and with two sessions at once
# cleanup would pause a second (the default in_flow_delay) for each.
in_flow_delay = 0
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
# The built-in checks are replaced by the policy server. policy_context
# tells it which address to judge, so that Postfix renders each reject in
# the right class (sender or recipient).
smtpd_sender_restrictions = check_policy_service {{ {policy}, policy_context=sender }}
smtpd_recipient_restrictions = check_policy_service {{ {policy}, policy_context=recipient }}, permit
",
        queue = queue.display(),
        data = data.display(),
        dir = dir.display(),
    );
    std::fs::write(etc.join("main.cf"), main_cf).unwrap();
}

/// This run's `master.cf`: smtpd on `smtp_port`, no chroot.
fn write_master_cf(dir: &Path, smtp_port: u16) {
    let master_cf = format!(
        "127.0.0.1:{smtp_port} inet n - n - - smtpd
pickup     unix  n       -       n       60      1       pickup
cleanup    unix  n       -       n       -       0       cleanup
qmgr       unix  n       -       n       300     1       qmgr
rewrite    unix  -       -       n       -       -       trivial-rewrite
bounce     unix  -       -       n       -       0       bounce
defer      unix  -       -       n       -       0       bounce
trace      unix  -       -       n       -       0       bounce
verify     unix  -       -       n       -       1       verify
proxymap   unix  -       -       n       -       -       proxymap
smtp       unix  -       -       n       -       -       smtp
error      unix  -       -       n       -       -       error
retry      unix  -       -       n       -       -       error
discard    unix  -       -       n       -       -       discard
local      unix  -       n       n       -       -       local
anvil      unix  -       -       n       -       1       anvil
scache     unix  -       -       n       -       1       scache
postlog    unix-dgram n  -       n       -       1       postlogd
"
    );
    std::fs::write(dir.join("etc").join("master.cf"), master_cf).unwrap();
}

/// The greeting's first line, if something answers on `addr`.
fn greeting(addr: SocketAddr) -> Option<String> {
    let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .ok()?;
    let mut line = String::new();
    BufReader::new(&stream).read_line(&mut line).ok()?;
    let _ = (&stream).write_all(b"QUIT\r\n");
    Some(line)
}

/// Starts this run's Postfix on a free port and returns its address. A
/// port is free when chosen but another program may take it before
/// Postfix binds it: then Postfix fails to start, or the greeting names
/// another host, and the next port is tried.
fn start_postfix(running: &mut Running, name: &str) -> SocketAddr {
    let mut last = String::new();
    for _ in 0..5 {
        let smtp = SocketAddr::from(([127, 0, 0, 1], free_port()));
        write_master_cf(&running.dir, smtp.port());
        let out = Command::new(postfix())
            .arg("-c")
            .arg(running.config_dir())
            .arg("start")
            .output()
            .unwrap();
        running.postfix_started = true;
        if !out.status.success() {
            last = format!("postfix start: {}", String::from_utf8_lossy(&out.stderr));
            running.stop_postfix();
            continue;
        }
        let start = Instant::now();
        let mut banner = None;
        while banner.is_none() && start.elapsed() < Duration::from_secs(20) {
            banner = greeting(smtp);
            if banner.is_none() {
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        match banner {
            Some(line) if line.starts_with(&format!("220 {name}.envelope-check.test ")) => {
                return smtp;
            }
            other => {
                last = format!("{smtp} answered {other:?}, not this run's Postfix");
                running.stop_postfix();
            }
        }
    }
    panic!("Postfix did not start: {last}");
}

/// One SMTP reply (the last line of a multi-line one).
fn reply(reader: &mut impl BufRead) -> String {
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return "(connection closed)".to_owned();
        }
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        if line.len() < 4 || line.as_bytes()[3] != b'-' {
            return line;
        }
    }
}

/// The oracle's probe: EHLO, MAIL FROM (with SMTPUTF8 as the oracle sent
/// it), RCPT TO if MAIL got a 2xx; returns the decisive reply.
fn probe(smtp: SocketAddr, case: &Case) -> String {
    let stream = TcpStream::connect(smtp).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .unwrap();
    let mut writer = stream.try_clone().unwrap();
    let mut reader = BufReader::new(stream);
    let mut say = |line: &str, reader: &mut BufReader<TcpStream>| {
        writer.write_all(format!("{line}\r\n").as_bytes()).unwrap();
        reply(reader)
    };
    reply(&mut reader);
    say(
        &format!("EHLO {}.probe.oracle-client.net", case.id.to_lowercase()),
        &mut reader,
    );
    let utf8 = if case.smtputf8 { " SMTPUTF8" } else { "" };
    let (sender, rcpt) = if case.is_mail() {
        (
            case.address.clone(),
            "<postmaster@northwind-traders.com>".to_owned(),
        )
    } else {
        (
            "<probe@northwind-traders.com>".to_owned(),
            case.address.clone(),
        )
    };
    let mail = say(&format!("MAIL FROM:{sender}{utf8}"), &mut reader);
    let decisive = if mail.starts_with('2') {
        say(&format!("RCPT TO:{rcpt}"), &mut reader)
    } else {
        mail
    };
    say("QUIT", &mut reader);
    decisive
}

#[test]
fn postfix_with_the_policy_server_replies_like_the_oracle() {
    if !is_root() {
        eprintln!(
            "SKIPPED: the Postfix integration test needs root (Postfix's master runs as root)"
        );
        return;
    }
    assert!(
        Path::new(postfix()).exists(),
        "Postfix is not installed: run .ci/install-postfix"
    );
    let began = Instant::now();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dns = rt.block_on(OracleServer::start());

    // This run's directory, and the policy server on a unix socket in it
    // (no port to share with anyone), asking the test DNS server.
    let name = format!("pf{}", run_name());
    let dir = std::env::temp_dir().join(format!("envelope-check-postfix-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("policy.sock");
    let mut args = vec![
        "--nameserver".to_owned(),
        dns.addr.to_string(),
        "--unix".to_owned(),
        socket.display().to_string(),
    ];
    args.extend(common::oracle_policy_args());
    let policy = policy_server()
        .args(&args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("policy server starts");
    let mut running = Running {
        dir: dir.clone(),
        policy,
        postfix_started: false,
    };
    wait_until("the policy server", || UnixStream::connect(&socket).is_ok());
    // Postfix's smtpd runs as `postfix` and must be able to connect.
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o666)).unwrap();
    write_main_cf(&dir, &name, &socket);
    let smtp = start_postfix(&mut running, &name);

    // Every row of the corpus, SESSIONS sessions at a time: each client
    // takes the next row as it finishes one.
    let deviations = common::deviations();
    let cases = common::cases();
    progress(&format!(
        "{} rows, {SESSIONS} sessions at a time, against {smtp}",
        cases.len()
    ));
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let slowest = Mutex::new((Duration::ZERO, String::new()));
    let step = cases.len().div_ceil(4);
    let mut replies: Vec<(usize, String)> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..SESSIONS)
            .map(|_| {
                s.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(case) = cases.get(i) else {
                            return mine;
                        };
                        let sent = Instant::now();
                        mine.push((i, probe(smtp, case)));
                        let took = sent.elapsed();
                        {
                            let mut slowest = slowest.lock().unwrap();
                            if took > slowest.0 {
                                *slowest = (took, case.id.clone());
                            }
                        }
                        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                        if n.is_multiple_of(step) || n == cases.len() {
                            progress(&format!(
                                "{n}/{} rows in {:.1} s",
                                cases.len(),
                                began.elapsed().as_secs_f64()
                            ));
                        }
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect()
    });
    replies.sort_by_key(|(i, _)| *i);
    let (took, id) = slowest.into_inner().unwrap();
    progress(&format!(
        "slowest session {id}, {:.2} s; whole test {:.1} s",
        took.as_secs_f64(),
        began.elapsed().as_secs_f64()
    ));
    let results: Vec<(&Case, String)> = replies
        .into_iter()
        .map(|(i, got)| (&cases[i], got))
        .collect();
    let mut failures = Vec::new();
    let mut dsn_fixed = 0;
    for (case, got) in &results {
        let mut want = deviations.get(&case.id).map_or_else(
            || case.postfix_reply.clone(),
            |(ours, _)| {
                if case.is_mail() && ours.starts_with("250 ") {
                    "250 2.1.5 Ok".to_owned()
                } else if let (Some(text), Some((prefix, _))) = (
                    ours.strip_prefix("501 5.1.7 ")
                        .or(ours.strip_prefix("501 5.1.3 ")),
                    case.postfix_reply.split_once(" address rejected: "),
                ) {
                    // A syntax reject only the policy server makes: Postfix
                    // writes its `<address>: ... rejected: ` before it.
                    let head = &prefix[prefix.find('<').unwrap_or(0)..];
                    format!("{} {head} address rejected: {text}", &ours[..9])
                } else if let (Some((ours_head, text)), Some((prefix, _))) = (
                    ours.split_once(" address rejected: "),
                    case.postfix_reply.split_once(" address rejected: "),
                ) && ours_head.get(..10) == prefix.get(..10)
                {
                    // A deviation in the echo only (S2113): Postfix writes
                    // the address part itself, with its own echo.
                    format!("{prefix} address rejected: {text}")
                } else {
                    ours.clone()
                }
            },
        );
        // Postfix's smtpd_dsn_fix(): X.1.10 through a policy answer
        // becomes X.1.0 (see DEVIATIONS.md). Only the status changes.
        if let Some(rest) = want.strip_prefix("556 5.1.10 ") {
            want = format!("556 5.1.0 {rest}");
            dsn_fixed += 1;
        }
        if *got != want {
            failures.push(format!(
                "{} {}\n   want {want}\n    got {got}",
                case.id, case.address
            ));
        }
    }
    assert_eq!(results.len(), common::ROWS);
    // Exactly the recipient null-MX rows went through smtpd_dsn_fix().
    let null_mx_rows = results
        .iter()
        .filter(|(c, _)| c.postfix_reply.starts_with("556 5.1.10 "))
        .count();
    assert_eq!(dsn_fixed, null_mx_rows);
    assert!(null_mx_rows >= 8, "{null_mx_rows}");
    assert!(
        failures.is_empty(),
        "{} of {} rows differ:\n{}",
        failures.len(),
        common::ROWS,
        failures.join("\n")
    );
}
