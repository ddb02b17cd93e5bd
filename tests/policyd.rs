//! `envelope-check-policyd` as a Postfix policy client sees it, without
//! Postfix: the wire protocol, replies, many clients and requests per
//! connection, TCP and unix sockets, bad input and the idle timeout; then
//! the daemon's hardening (connection cap, unix socket safety, request
//! caps, log sanitization) and operations (reload, drain, socket
//! activation, metrics). The server answers from the oracle zone
//! (`--zone`), so no network is used beyond loopback. `tests/postfix.rs`
//! puts a real Postfix in front.
#![cfg(feature = "policyd")]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_envelope-check-policyd");

/// A path in the temporary directory that no other test (or test run)
/// uses.
fn temp_path(what: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    std::env::temp_dir().join(format!(
        "envelope-check-policyd-{}-{}-{what}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

/// A running policy server; killed on drop.
struct PolicyServer {
    child: Child,
    tcp: SocketAddr,
    unix: PathBuf,
    /// Everything logged after start-up, read continuously so that the
    /// server never blocks on a full pipe.
    log: Arc<Mutex<String>>,
}

/// What a log line says after `listening on ` (or another prefix).
fn after<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = &line[line.find(prefix)? + prefix.len()..];
    Some(rest.split(' ').next().unwrap_or(rest))
}

impl PolicyServer {
    fn start(extra: &[&str]) -> Self {
        Self::start_with(Command::new(BIN), extra)
    }

    /// Starts the server by `command` (the binary, or a shell or systemd
    /// wrapper that runs it), with the test DNS and policy.
    fn start_with(mut command: Command, extra: &[&str]) -> Self {
        let unix = temp_path("policy.sock");
        // The oracle's map unless the test brings its own.
        let map = match extra.contains(&"--sender-access") {
            true => vec![],
            false => vec![
                "--approved-senders".to_owned(),
                common::data("approved_senders"),
            ],
        };
        let listen: &[&str] = if extra.contains(&"--no-listen") {
            &[]
        } else {
            &["--listen", "127.0.0.1:0"]
        };
        let extra: Vec<&str> = extra
            .iter()
            .copied()
            .filter(|a| *a != "--no-listen")
            .collect();
        let mut child = command
            .args(listen)
            .arg("--unix")
            .arg(&unix)
            .args(["--zone", &common::data("zone.txt")])
            .args(["--faults", &common::data("faults.txt")])
            .args(map)
            .args(["--managed-domain", "northwind-traders.com"])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("policy server starts");
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let mut tcp = None;
        let mut early = String::new();
        loop {
            let mut line = String::new();
            assert!(
                stderr.read_line(&mut line).unwrap() > 0,
                "the policy server exited before it was ready: {early}"
            );
            early.push_str(&line);
            if let Some(Ok(addr)) = after(&line, "listening on ").map(str::parse::<SocketAddr>) {
                tcp.get_or_insert(addr);
            }
            if line.contains(" ready ") {
                break;
            }
        }
        let log = Arc::new(Mutex::new(early));
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in stderr.lines() {
                let Ok(line) = line else { break };
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        Self {
            child,
            tcp: tcp.expect("a TCP listener"),
            unix,
            log,
        }
    }

    /// Waits (up to 10 s) until the log holds `text`; the log.
    fn wait_for_log(&self, text: &str) -> String {
        let start = Instant::now();
        loop {
            let log = self.log();
            if log.contains(text) || start.elapsed() > Duration::from_secs(10) {
                return log;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn tcp(&self) -> Client {
        Client::new(Box::new(TcpStream::connect(self.tcp).unwrap()))
    }

    fn unix(&self) -> Client {
        Client::new(Box::new(UnixStream::connect(&self.unix).unwrap()))
    }

    /// What the server has logged so far.
    fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for PolicyServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.unix);
    }
}

trait Stream: Read + Write + Send {
    fn set_timeout(&self, d: Duration);
}
impl Stream for TcpStream {
    fn set_timeout(&self, d: Duration) {
        self.set_read_timeout(Some(d)).unwrap();
    }
}
impl Stream for UnixStream {
    fn set_timeout(&self, d: Duration) {
        self.set_read_timeout(Some(d)).unwrap();
    }
}

struct Client {
    reader: BufReader<Box<dyn Stream>>,
}

impl Client {
    fn new(stream: Box<dyn Stream>) -> Self {
        stream.set_timeout(Duration::from_secs(30));
        Self {
            reader: BufReader::new(stream),
        }
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).unwrap();
    }

    /// Sends one request and returns its `action=` value, or None when the
    /// server closed the connection.
    fn ask(&mut self, attributes: &[(&str, &str)]) -> Option<String> {
        let mut request = String::new();
        for (k, v) in attributes {
            request.push_str(&format!("{k}={v}\n"));
        }
        request.push('\n');
        self.send_raw(request.as_bytes());
        self.answer()
    }

    /// Reads one answer: `action=...` and an empty line.
    fn answer(&mut self) -> Option<String> {
        let mut line = String::new();
        if self.reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let mut blank = String::new();
        self.reader.read_line(&mut blank).unwrap();
        assert_eq!(blank, "\n", "an answer ends with an empty line");
        let action = line.strip_suffix('\n').expect("a whole line");
        Some(
            action
                .strip_prefix("action=")
                .expect("an action= line")
                .to_owned(),
        )
    }

    /// True when the server has closed the connection (EOF).
    fn is_closed(&mut self) -> bool {
        let mut buf = [0u8; 1];
        matches!(self.reader.read(&mut buf), Ok(0))
    }
}

fn rcpt<'a>(sender: &'a str, recipient: &'a str, context: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut request = vec![
        ("request", "smtpd_access_policy"),
        ("protocol_state", "RCPT"),
        ("protocol_name", "ESMTP"),
        ("client_address", "192.0.2.1"),
        ("helo_name", "client.example"),
        ("queue_id", ""),
        ("sender", sender),
        ("recipient", recipient),
        ("recipient_count", "0"),
        ("size", "0"),
    ];
    if !context.is_empty() {
        request.push(("policy_context", context));
    }
    request
}

/// A sender access map's directive reaches Postfix as the action, and its
/// rejects as Postfix's access-map replies.
#[test]
fn sender_access_actions_reach_postfix() {
    let map = common::data("sender_access.map");
    let server = PolicyServer::start(&["--sender-access", &map]);
    let mut c = server.tcp();
    let good = "alice@northwind-traders.com";
    for (sender, action) in [
        ("hold-good@northwind-traders.com", "HOLD held for review"),
        ("discard-nx@globex-nonexistent.com", "DISCARD"),
        (
            "redirect-nx@globex-nonexistent.com",
            "550 5.1.8 Domain not found",
        ),
        ("reject-me@northwind-traders.com", "554 5.7.1 Access denied"),
        ("text@northwind-traders.com", "554 5.7.1 go   away   now"),
        (
            "dip-good@northwind-traders.com",
            "450 4.7.1 Service unavailable",
        ),
        ("ok-nx@globex-nonexistent.com", "DUNNO"),
    ] {
        assert_eq!(
            c.ask(&rcpt(sender, good, "sender")).as_deref(),
            Some(action),
            "{sender}"
        );
    }
}

#[test]
fn answers_each_class_as_postfix_expects_it() {
    let server = PolicyServer::start(&[]);
    let mut c = server.tcp();
    let good = "alice@northwind-traders.com";
    // Postfix adds `<address>: Sender address rejected: ` to the text.
    let cases = [
        (
            ("john@globex-nonexistent.com", good, "sender"),
            "550 5.1.8 Domain not found",
        ),
        (("john@globex-nonexistent.com", good, "recipient"), "DUNNO"),
        (
            (good, "info@globex-nonexistent.com", "recipient"),
            "550 5.1.2 Domain not found",
        ),
        ((good, "info@globex-nonexistent.com", "sender"), "DUNNO"),
        ((good, good, "sender"), "DUNNO"),
        ((good, good, "recipient"), "DUNNO"),
        (("", good, "sender"), "DUNNO"),
        (
            ("info@nullmx-only.org", good, "sender"),
            "550 5.7.27 Domain nullmx-only.org does not accept mail (nullMX)",
        ),
        (
            (good, "info@nullmx-only.org", "recipient"),
            "556 5.1.10 Domain nullmx-only.org does not accept mail (nullMX)",
        ),
        (
            ("john@mail", good, "sender"),
            "504 5.5.2 need fully-qualified address",
        ),
        // Approved sender: bypasses the DNS check, inbound.
        (("vip@globex-nonexistent.com", good, "sender"), "DUNNO"),
        // Temporary failure: never a 5xx.
        (
            ("info@broken-dns.com", good, "sender"),
            "450 4.1.8 Domain not found",
        ),
        // No policy_context: a sender reject names the sender itself.
        (
            ("john@globex-nonexistent.com", good, ""),
            "550 5.1.8 <john@globex-nonexistent.com>: Sender address rejected: Domain not found",
        ),
        (
            (good, "info@globex-nonexistent.com", ""),
            "550 5.1.2 Domain not found",
        ),
    ];
    for ((sender, recipient, context), want) in cases {
        let got = c.ask(&rcpt(sender, recipient, context)).unwrap();
        assert_eq!(
            got, want,
            "sender={sender} recipient={recipient} context={context}"
        );
    }
    // Other protocol states are not ours to judge.
    let mut mail = rcpt("john@globex-nonexistent.com", "", "sender");
    mail[1] = ("protocol_state", "MAIL");
    assert_eq!(c.ask(&mail).unwrap(), "DUNNO");
    // The answers were sent after the log lines were written; give the
    // reading thread a moment to collect them.
    let log = server.wait_for_log("reason=\"unknown recipient domain\"");

    // Each reject is logged with its queue ID, reply, mail-tracking reason
    // and whether the customer's (here the recipient's, inbound) domain is
    // managed.
    assert!(
        log.contains(
            "reject queue_id=\"NOQUEUE\" reply=\"550 5.1.8 <john@globex-nonexistent.com>: \
             Sender address rejected: Domain not found\" reason=\"unknown sender domain\" \
             tracked=\"yes\""
        ),
        "{log}"
    );
    assert!(
        log.contains(
            "reject queue_id=\"NOQUEUE\" reply=\"550 5.1.2 <info@globex-nonexistent.com>: \
             Recipient address rejected: Domain not found\" reason=\"unknown recipient domain\" \
             tracked=\"no\""
        ),
        "{log}"
    );
}

#[test]
fn whole_lines_on_request() {
    let server = PolicyServer::start(&["--action-text", "whole"]);
    let mut c = server.unix();
    assert_eq!(
        c.ask(&rcpt(
            "a@northwind-traders.com",
            "info@globex-nonexistent.com",
            "recipient"
        ))
        .unwrap(),
        "550 5.1.2 <info@globex-nonexistent.com>: Recipient address rejected: Domain not found"
    );
}

#[test]
fn many_clients_many_requests_tcp_and_unix() {
    let server = PolicyServer::start(&[]);
    const CLIENTS: usize = 32;
    const REQUESTS: usize = 40;
    std::thread::scope(|s| {
        for n in 0..CLIENTS {
            let server = &server;
            s.spawn(move || {
                let mut c = if n % 2 == 0 {
                    server.tcp()
                } else {
                    server.unix()
                };
                for i in 0..REQUESTS {
                    let (recipient, want) = if (n + i) % 3 == 0 {
                        (
                            format!("u{i}@nope-{n}.globex-nonexistent.com"),
                            "550 5.1.2 Domain not found",
                        )
                    } else {
                        (format!("u{i}@northwind-traders.com"), "DUNNO")
                    };
                    let got = c.ask(&rcpt("a@northwind-traders.com", &recipient, "recipient"));
                    assert_eq!(got.as_deref(), Some(want), "client {n} request {i}");
                }
            });
        }
    });
}

#[test]
fn bad_input_is_refused_and_never_blocks_others() {
    let server = PolicyServer::start(&[]);
    // A client that stalls in the middle of a request holds up nobody.
    let mut stalled = server.tcp();
    stalled.send_raw(b"request=smtpd_access_policy\nprotocol_state=RCPT\n");

    let refusals: [(&str, Vec<u8>); 5] = [
        (
            "no `=`",
            b"request=smtpd_access_policy\nnonsense\n\n".to_vec(),
        ),
        (
            "not UTF-8",
            b"request=smtpd_access_policy\nsender=\xff\xfe\n\n".to_vec(),
        ),
        (
            "not a policy request",
            b"request=something_else\n\n".to_vec(),
        ),
        ("no request attribute", b"protocol_state=RCPT\n\n".to_vec()),
        ("a line over 16 KiB", {
            let mut v = b"sender=".to_vec();
            v.extend(std::iter::repeat_n(b'a', 20_000));
            v.extend(b"\n\n");
            v
        }),
    ];
    for (what, bytes) in &refusals {
        let mut c = server.tcp();
        c.send_raw(bytes);
        let answer = c.answer().unwrap_or_else(|| panic!("{what}: no answer"));
        assert!(answer.starts_with("DEFER_IF_PERMIT "), "{what}: {answer}");
        assert!(c.is_closed(), "{what}: connection left open");
    }
    let mut many = String::from("request=smtpd_access_policy\n");
    for i in 0..200 {
        many.push_str(&format!("x{i}=y\n"));
    }
    many.push('\n');
    let mut c = server.unix();
    c.send_raw(many.as_bytes());
    assert!(c.answer().unwrap().starts_with("DEFER_IF_PERMIT "));
    assert!(c.is_closed());

    // Hostile addresses get a reply, never a crash, and nothing of the
    // input's control characters reaches it.
    let mut c = server.tcp();
    for sender in [
        "a\u{7}b@x\u{1b}y.com",
        "@@@",
        "<>",
        "a@[999.1.1.1]",
        "a@b..com",
    ] {
        let got = c
            .ask(&rcpt(sender, "b@northwind-traders.com", "sender"))
            .expect("the server is still there");
        assert!(!got.chars().any(char::is_control), "{got:?}");
    }

    // A client that hangs up mid-request is harmless too.
    let mut gone = server.tcp();
    gone.send_raw(b"request=smtpd_access_policy\nsender=a@b.c");
    drop(gone);

    // The stalled client's request still completes, and others are served.
    stalled.send_raw(b"sender=x@globex-nonexistent.com\nrecipient=y@northwind-traders.com\npolicy_context=sender\n\n");
    assert_eq!(stalled.answer().unwrap(), "550 5.1.8 Domain not found");
    assert_eq!(
        server
            .tcp()
            .ask(&rcpt(
                "a@northwind-traders.com",
                "b@northwind-traders.com",
                ""
            ))
            .unwrap(),
        "DUNNO"
    );
}

#[test]
fn idle_connections_are_closed() {
    let server = PolicyServer::start(&["--idle-timeout", "1"]);
    let mut c = server.tcp();
    assert_eq!(
        c.ask(&rcpt(
            "a@northwind-traders.com",
            "b@northwind-traders.com",
            ""
        ))
        .unwrap(),
        "DUNNO"
    );
    let start = Instant::now();
    assert!(c.is_closed(), "an idle connection is closed");
    // Not a timing assertion on speed: only that the close came from the
    // timeout rather than from our own read timeout (30 s).
    assert!(start.elapsed() < Duration::from_secs(25));
}
