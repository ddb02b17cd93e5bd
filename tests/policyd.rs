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
    /// The metrics address, with `--metrics`.
    metrics: Option<SocketAddr>,
    /// Everything logged after start-up, read continuously so that the
    /// server never blocks on a full pipe.
    log: Arc<Mutex<String>>,
}

/// The word after `prefix` in a log line, text or JSON.
fn after<'a>(line: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = &line[line.find(prefix)? + prefix.len()..];
    rest.trim_end().split([' ', '"']).next()
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
        let mut metrics = None;
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
            if let Some(at) = after(&line, "metrics on http://") {
                metrics = Some(at.trim_end_matches("/metrics").parse().unwrap());
            }
            if line.contains(" ready ") || line.contains("\"ready\"") {
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
            metrics,
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

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .args([&format!("-{name}"), &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
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

    /// The same client with another read timeout.
    fn read_timeout(self, d: Duration) -> Self {
        self.reader.get_ref().set_timeout(d);
        self
    }

    fn send_raw(&mut self, bytes: &[u8]) {
        self.reader.get_mut().write_all(bytes).unwrap();
    }

    /// Sends without insisting: false once the server has closed.
    fn try_send_raw(&mut self, bytes: &[u8]) -> bool {
        self.reader.get_mut().write_all(bytes).is_ok()
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

/// A request every configuration here accepts (`DUNNO`): a sender and a
/// recipient at a domain with an MX.
fn accepted() -> Vec<(&'static str, &'static str)> {
    rcpt("a@northwind-traders.com", "b@northwind-traders.com", "")
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
    // ... but the operator is told, once.
    assert_eq!(c.ask(&mail).unwrap(), "DUNNO");
    let log = server.wait_for_log("only RCPT requests are judged");
    assert_eq!(
        log.matches("only RCPT requests are judged").count(),
        1,
        "{log}"
    );
    assert!(log.contains("protocol_state=\"MAIL\""), "{log}");
    // A policy_context naming neither class (a typo) judges both, and a
    // sender reject then names its address itself, as with none.
    assert_eq!(
        c.ask(&rcpt(
            "john@globex-nonexistent.com",
            "b@northwind-traders.com",
            "senders"
        ))
        .unwrap(),
        "550 5.1.8 <john@globex-nonexistent.com>: Sender address rejected: Domain not found"
    );
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
    assert_eq!(c.ask(&accepted()).unwrap(), "DUNNO");
    let start = Instant::now();
    assert!(c.is_closed(), "an idle connection is closed");
    // Not a timing assertion on speed: only that the close came from the
    // timeout rather than from our own read timeout (30 s).
    assert!(start.elapsed() < Duration::from_secs(25));
}

/// A client that trickles a request, a line at a time, cannot hold its
/// connection (busy, so never evicted) past the request bound: the idle
/// timeout, renewed by every line, no longer applies once a request began.
#[test]
fn a_trickled_request_is_cut_off_at_the_request_timeout() {
    let server = PolicyServer::start(&["--request-timeout", "1", "--idle-timeout", "300"]);
    let mut c = server.tcp();
    c.send_raw(PARTIAL);
    let start = Instant::now();
    let mut cut = false;
    for i in 0..40 {
        std::thread::sleep(Duration::from_millis(250));
        if !c.try_send_raw(format!("padding{i}=x\n").as_bytes()) {
            cut = true;
            break;
        }
    }
    // The server may close while our last lines are still in flight: then
    // the writes succeed and the close shows on a read.
    assert!(
        cut || c.is_closed(),
        "still open after {:?}",
        start.elapsed()
    );
}

/// At exit the server removes only the socket file it bound: one that a
/// new instance put at the same path in the meantime stays.
#[test]
fn at_exit_only_our_own_socket_file_is_removed() {
    let mut server = PolicyServer::start(&[]);
    // Another instance takes over the path (as after a stale check).
    std::fs::remove_file(&server.unix).unwrap();
    let successor = std::os::unix::net::UnixListener::bind(&server.unix).unwrap();
    server.signal("TERM");
    let status = exit_within(&mut server.child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(0));
    assert!(
        UnixStream::connect(&server.unix).is_ok(),
        "the successor's socket was removed"
    );
    drop(successor);
    let _ = std::fs::remove_file(&server.unix);
}

/// Waits up to `limit` for the process to exit; kills it past that.
fn exit_within(child: &mut Child, limit: Duration) -> std::process::ExitStatus {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            panic!("still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The server started under a descriptor limit of 64 (soft and hard).
fn under_ulimit_64() -> Command {
    let mut sh = Command::new("sh");
    sh.args(["-c", "ulimit -n 64 && exec \"$0\" \"$@\"", BIN]);
    sh
}

/// A request that makes the server think while it is being sent: its
/// first line, the rest to follow.
const PARTIAL: &[u8] = b"request=smtpd_access_policy\nprotocol_state=RCPT\n";
const REST: &[u8] =
    b"sender=x@globex-nonexistent.com\nrecipient=y@northwind-traders.com\npolicy_context=sender\n\n";

/// Idle connections beyond what the descriptors allow cost a good client
/// nothing: the longest-idle ones are closed to make room, and its answer
/// comes within 1 s. (Before: every descriptor was taken, the client got
/// no answer for 10 s and the accept error was logged ten times a second.)
#[test]
fn idle_connections_cannot_lock_a_client_out() {
    let server = PolicyServer::start_with(under_ulimit_64(), &[]);
    let log = server.log();
    assert!(log.contains("ready max_connections=48"), "{log}");
    let idle: Vec<TcpStream> = (0..150)
        .map(|_| TcpStream::connect(server.tcp).unwrap())
        .collect();
    let mut good = server.tcp().read_timeout(Duration::from_secs(1));
    let answer = good.ask(&rcpt(
        "a@northwind-traders.com",
        "info@globex-nonexistent.com",
        "recipient",
    ));
    assert_eq!(answer.as_deref(), Some("550 5.1.2 Domain not found"));
    // The first idle connection was among those closed to make room.
    let mut first = Client::new(Box::new(idle[0].try_clone().unwrap()));
    assert!(first.is_closed());
    let log = server.log();
    assert!(log.matches("accept:").count() <= 1, "{log}");
}

/// Configured above what the descriptors allow, the server runs out of
/// them: the accept loop evicts an idle connection, backs off, and logs
/// once per interval rather than once per attempt.
#[test]
fn running_out_of_descriptors_is_survived_and_logged_once() {
    let server = PolicyServer::start_with(under_ulimit_64(), &["--max-connections", "1000"]);
    let _idle: Vec<TcpStream> = (0..120)
        .map(|_| TcpStream::connect(server.tcp).unwrap())
        .collect();
    let mut good = server.tcp().read_timeout(Duration::from_secs(10));
    let answer = good.ask(&rcpt(
        "a@northwind-traders.com",
        "b@northwind-traders.com",
        "recipient",
    ));
    assert_eq!(answer.as_deref(), Some("DUNNO"));
    let log = server.log();
    assert!(
        log.contains("above what the descriptor limit allows"),
        "{log}"
    );
    assert_eq!(log.matches("accept: ").count(), 1, "{log}");
    assert!(log.contains("Too many open files"), "{log}");
}

/// At the cap with every connection in the middle of a request, a new
/// connection is closed at once (its client falls back to its default),
/// and the busy ones are still answered.
#[test]
fn when_every_connection_is_busy_a_new_one_is_closed_at_once() {
    let server = PolicyServer::start(&["--max-connections", "2"]);
    let mut busy = [server.tcp(), server.unix()];
    for c in &mut busy {
        c.send_raw(PARTIAL);
    }
    // Let the server read those first lines (a wait, not an assertion).
    std::thread::sleep(Duration::from_millis(300));
    let mut late = server.tcp().read_timeout(Duration::from_secs(10));
    assert!(late.is_closed(), "the new connection is closed");
    for c in &mut busy {
        c.send_raw(REST);
        assert_eq!(c.answer().as_deref(), Some("550 5.1.8 Domain not found"));
    }
    // Now both are idle: a newcomer takes the place of one of them.
    let mut next = server.tcp();
    assert_eq!(next.ask(&accepted()).as_deref(), Some("DUNNO"));
}

/// A request that names an attribute twice, or outgrows 64 KiB, is
/// refused: `DEFER_IF_PERMIT` and the connection closed. (Before: the
/// last `sender=` won, and any number of lines was taken.)
#[test]
fn duplicate_attributes_and_oversized_requests_are_refused() {
    let server = PolicyServer::start(&[]);
    let mut c = server.tcp();
    // Nothing follows the offending line, so the server has read all
    // that was sent when it closes.
    c.send_raw(b"request=smtpd_access_policy\nprotocol_state=RCPT\nsender=a@northwind-traders.com\nsender=john@globex-nonexistent.com\n");
    assert_eq!(
        c.answer().as_deref(),
        Some("DEFER_IF_PERMIT duplicate policy request attribute")
    );
    assert!(c.is_closed());

    let mut c = server.unix();
    let mut big = b"request=smtpd_access_policy\n".to_vec();
    for i in 0..5 {
        big.extend(format!("x{i}={}\n", "y".repeat(16_000)).bytes());
    }
    c.send_raw(&big);
    assert_eq!(
        c.answer().as_deref(),
        Some("DEFER_IF_PERMIT policy request too large")
    );
    assert!(c.is_closed());
}

/// A control character in a value never reaches the log raw: a CR in
/// `queue_id` cannot forge a log line, as text or as JSON.
#[test]
fn logged_values_are_sanitized() {
    for format in ["text", "json"] {
        let server = PolicyServer::start(&["--log-format", format]);
        let mut request = rcpt(
            "john@globex-nonexistent.com",
            "b@northwind-traders.com",
            "sender",
        );
        request[5] = ("queue_id", "ABC\rpolicy_server: FAKE LOG LINE\u{1b}[2J");
        assert_eq!(
            server.tcp().ask(&request).as_deref(),
            Some("550 5.1.8 Domain not found")
        );
        let log = server.wait_for_log("FAKE LOG LINE");
        assert!(
            !log.contains('\r') && !log.contains('\u{1b}'),
            "{format}: {log:?}"
        );
        let want = match format {
            "text" => "queue_id=\"ABC policy_server: FAKE LOG LINE [2J\"",
            _ => "\"queue_id\":\"ABC policy_server: FAKE LOG LINE [2J\"",
        };
        assert!(log.contains(want), "{format}: {log}");
    }
}

/// `--unix` never deletes a file that is not a socket, nor the socket of
/// a server still running; it replaces a stale socket and gives it the
/// mode asked for.
#[test]
fn the_unix_socket_path_is_handled_with_care() {
    use std::os::unix::fs::PermissionsExt;

    let path = temp_path("precious.txt");
    std::fs::write(&path, "precious\n").unwrap();
    let mut child = Command::new(BIN)
        .args(["--zone", &common::data("zone.txt"), "--unix"])
        .arg(&path)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let status = exit_within(&mut child, Duration::from_secs(20));
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("exists and is not a socket; not removing it"),
        "{stderr}"
    );
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious\n");
    std::fs::remove_file(&path).unwrap();

    // A socket left by a server that is gone is replaced.
    let stale = temp_path("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    assert!(stale.exists());
    let stale_arg = stale.to_str().unwrap();
    let server = PolicyServer::start(&["--unix", stale_arg, "--unix-mode", "0600"]);
    let mode = |p: &PathBuf| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&stale), 0o600);
    assert_eq!(mode(&server.unix), 0o600);
    assert_eq!(mode(&PolicyServer::start(&[]).unix), 0o660, "the default");
    let mut c = Client::new(Box::new(UnixStream::connect(&stale).unwrap()));
    assert_eq!(c.ask(&accepted()).as_deref(), Some("DUNNO"));

    // A live server's socket is not taken over.
    let mut second = Command::new(BIN)
        .args(["--zone", &common::data("zone.txt"), "--unix", stale_arg])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    assert_eq!(
        exit_within(&mut second, Duration::from_secs(20)).code(),
        Some(2)
    );
    let mut stderr = String::new();
    second
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        stderr.contains("another server is listening there"),
        "{stderr}"
    );
    drop(server);
    let _ = std::fs::remove_file(&stale);
}

/// SIGHUP swaps in the re-read map and domain files; a map that does not
/// load leaves the running configuration alone, and the error names the
/// file and the line.
#[test]
fn sighup_reloads_and_a_bad_file_keeps_the_old_configuration() {
    let map = temp_path("sender_access");
    let local = temp_path("local_domains");
    std::fs::write(&map, "alice@northwind-traders.com REJECT go away\n").unwrap();
    std::fs::write(&local, "# none yet\n").unwrap();
    let server = PolicyServer::start(&[
        "--sender-access",
        map.to_str().unwrap(),
        "--local-domains",
        local.to_str().unwrap(),
    ]);
    let mut c = server.tcp();
    let alice = rcpt(
        "alice@northwind-traders.com",
        "b@northwind-traders.com",
        "sender",
    );
    let to_globex = rcpt(
        "a@northwind-traders.com",
        "info@globex-nonexistent.com",
        "recipient",
    );
    assert_eq!(c.ask(&alice).as_deref(), Some("554 5.7.1 go away"));
    assert_eq!(
        c.ask(&to_globex).as_deref(),
        Some("550 5.1.2 Domain not found")
    );

    std::fs::write(&map, "alice@northwind-traders.com OK\n").unwrap();
    std::fs::write(&local, "# ours\nglobex-nonexistent.com\n").unwrap();
    server.signal("HUP");
    let log = server.wait_for_log("reloaded the configuration");
    assert!(log.contains("reloaded the configuration"), "{log}");
    // The same connection gets the new answers.
    assert_eq!(c.ask(&alice).as_deref(), Some("DUNNO"));
    assert_eq!(c.ask(&to_globex).as_deref(), Some("DUNNO"));

    std::fs::write(
        &map,
        "alice@northwind-traders.com REJECT again\nbob@northwind-traders.com FOOBAR\n",
    )
    .unwrap();
    std::fs::write(&local, "").unwrap();
    server.signal("HUP");
    let log = server.wait_for_log("reload failed");
    let line = log
        .lines()
        .find(|l| l.contains("reload failed"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(line.contains(map.to_str().unwrap()), "{line}");
    assert!(line.contains("line 2"), "{line}");
    // Nothing of the bad reload took effect, the domain file neither.
    assert_eq!(c.ask(&alice).as_deref(), Some("DUNNO"));
    assert_eq!(c.ask(&to_globex).as_deref(), Some("DUNNO"));
    let _ = std::fs::remove_file(&map);
    let _ = std::fs::remove_file(&local);
}

/// SIGTERM: no new connection is taken, idle ones are closed, a request
/// under way is answered, and the server exits 0 and removes its socket.
#[test]
fn sigterm_drains_the_requests_under_way_and_exits_0() {
    let mut server = PolicyServer::start(&[]);
    let mut idle = server.unix();
    assert_eq!(idle.ask(&accepted()).as_deref(), Some("DUNNO"));
    let mut busy = server.tcp();
    // One whole exchange first: the connection is then surely accepted,
    // whatever the machine's load.
    assert_eq!(busy.ask(&accepted()).as_deref(), Some("DUNNO"));
    busy.send_raw(PARTIAL);
    // Let the server read that first line (a wait, not an assertion).
    std::thread::sleep(Duration::from_millis(300));
    server.signal("TERM");
    server.wait_for_log("shutting down");
    assert!(idle.is_closed(), "an idle connection is closed at once");
    // The listeners are gone.
    let start = Instant::now();
    while TcpStream::connect(server.tcp).is_ok() {
        assert!(start.elapsed() < Duration::from_secs(10), "still accepting");
        std::thread::sleep(Duration::from_millis(20));
    }
    busy.send_raw(REST);
    assert_eq!(busy.answer().as_deref(), Some("550 5.1.8 Domain not found"));
    assert!(busy.is_closed());
    let status = exit_within(&mut server.child, Duration::from_secs(20));
    assert_eq!(status.code(), Some(0));
    assert!(server.log().contains("all connections closed"));
    assert!(!server.unix.exists(), "the socket file is removed");
}

/// Started by systemd-socket-activate (as systemd starts it from a
/// `.socket` unit), the server serves the socket it is given, beginning
/// with the connection that started it.
#[test]
fn serves_a_socket_passed_by_systemd() {
    let activate = "/usr/bin/systemd-socket-activate";
    if !std::path::Path::new(activate).exists() {
        eprintln!("SKIPPED: {activate} is not installed (Debian package systemd)");
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut child = Command::new(activate)
        .args(["-l", &format!("127.0.0.1:{port}"), BIN])
        .args(["--zone", &common::data("zone.txt")])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(child.stderr.take().unwrap());
    let mut line = String::new();
    while !line.contains("Listening on") {
        line.clear();
        assert!(stderr.read_line(&mut line).unwrap() > 0, "no socket");
    }
    let mut c = Client::new(Box::new(TcpStream::connect(("127.0.0.1", port)).unwrap()));
    let answer = c.ask(&rcpt(
        "a@northwind-traders.com",
        "info@globex-nonexistent.com",
        "recipient",
    ));
    assert_eq!(answer.as_deref(), Some("550 5.1.2 Domain not found"));
    let _ = child.kill();
    let _ = child.wait();
    let mut log = String::new();
    let _ = stderr.read_to_string(&mut log);
    assert!(
        log.contains(&format!("listening on 127.0.0.1:{port} activated=true")),
        "{log}"
    );
}

/// `GET /metrics`: verdicts by reason, cache hits and misses, DNS
/// queries, open connections and the latency histogram, in Prometheus'
/// text format.
#[test]
fn metrics_are_served_in_prometheus_text() {
    let server = PolicyServer::start(&["--metrics", "127.0.0.1:0"]);
    let metrics = server.metrics.expect("the metrics address is logged");
    let mut c = server.tcp();
    let good = "alice@northwind-traders.com";
    for (sender, want) in [
        ("john@globex-nonexistent.com", "550 5.1.8 Domain not found"),
        (good, "DUNNO"),
        (good, "DUNNO"),
    ] {
        assert_eq!(c.ask(&rcpt(sender, good, "sender")).as_deref(), Some(want));
    }
    let get = |path: &str| {
        let mut s = TcpStream::connect(metrics).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        write!(s, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
        let mut response = String::new();
        s.read_to_string(&mut response).unwrap();
        response
    };
    // The latency of the last answer is recorded just after it is sent.
    let start = Instant::now();
    let mut page = get("/metrics");
    while !page.contains("envelope_check_policy_request_duration_seconds_count 3\n") {
        assert!(start.elapsed() < Duration::from_secs(10), "{page}");
        std::thread::sleep(Duration::from_millis(20));
        page = get("/metrics");
    }
    assert!(page.starts_with("HTTP/1.0 200 OK\r\n"), "{page}");
    assert!(
        page.contains("Content-Type: text/plain; version=0.0.4"),
        "{page}"
    );
    for line in [
        "# TYPE envelope_check_verdicts_total counter",
        "envelope_check_verdicts_total{reason=\"unknown_domain\"} 1",
        "envelope_check_verdicts_total{reason=\"accepted\"} 2",
        "envelope_check_verdicts_total{reason=\"temporary_failure\"} 0",
        "envelope_check_cache_hits_total 1",
        "envelope_check_cache_misses_total 2",
        "envelope_check_dns_transient_failures_total 0",
        "envelope_check_deadline_expiries_total 0",
        "envelope_check_open_connections 1",
        "# TYPE envelope_check_policy_request_duration_seconds histogram",
        "envelope_check_policy_request_duration_seconds_bucket{le=\"+Inf\"} 3",
        "envelope_check_connections_refused_total 0",
    ] {
        assert!(page.lines().any(|l| l == line), "{line}\n{page}");
    }
    assert!(
        page.lines()
            .any(|l| l.starts_with("envelope_check_dns_queries_total ")),
        "{page}"
    );
    assert!(get("/other").starts_with("HTTP/1.0 404 "));
}
