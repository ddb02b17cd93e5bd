//! A Postfix SMTP access policy delegation server (`check_policy_service`)
//! that answers with this crate's verdicts.
//!
//! ```text
//! cargo run --example policy_server -- [--listen IP:PORT]... [--unix PATH]...
//!      [--nameserver IP:PORT]... [--zone FILE]... [--faults FILE]
//!      [--sender-access FILE] [--local-domain NAME]... [--managed-domain NAME]...
//!      [--direction inbound|outbound] [--idle-timeout SECONDS]
//!      [--action-text detail|whole]
//! ```
//!
//! For each `protocol_state=RCPT` request it judges the address named by
//! `policy_context=sender` / `recipient` (set in main.cf; without it, the
//! sender, then the recipient) and answers the reject as
//! `action=<code> <status> <text>`, or `action=DUNNO`. Postfix puts
//! `<address>: Sender address rejected: ` (or `Recipient`) before the text
//! itself, so the client sees the library's reply byte for byte;
//! `--action-text whole` sends whole reply lines instead. Other states get
//! `action=DUNNO`. DNS: the system's resolvers by default, `--nameserver`
//! servers, or `--zone` files (offline).
//!
//! It serves TCP and unix-socket clients concurrently, each connection in a
//! task of its own, many requests per connection; an idle connection is
//! closed after `--idle-timeout` (default 300 s, the same as Postfix's
//! `smtpd_policy_service_max_idle`). A malformed request gets
//! `action=DEFER_IF_PERMIT <why>` and the connection is closed. Each reject
//! is logged on stderr with its mail-tracking log reason and whether the
//! customer's tracking log shows it (`--managed-domain`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use common::{PolicyArgs, load_files, network_dns};
use envelope_check::{
    Argument, CheckOptions, Checker, InMemoryResolver, MAX_POLICY_LINE, PolicyRequest,
    PolicyRequestReader, Resolver, ReversePath, Role, parse_internal_forward_path,
    parse_internal_reverse_path,
};
use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};

mod common;

#[derive(Parser)]
#[command(about = "Postfix policy server with Postfix-exact envelope domain checks")]
struct Args {
    /// TCP address to listen on; repeatable. Default 127.0.0.1:10040 when
    /// no --unix is given either.
    #[arg(long = "listen", value_name = "IP:PORT")]
    listen: Vec<SocketAddr>,
    /// Unix socket to listen on; repeatable.
    #[arg(long = "unix", value_name = "PATH")]
    unix: Vec<PathBuf>,
    /// DNS server to ask (IP:PORT), repeatable; default: /etc/resolv.conf.
    #[arg(long = "nameserver", value_name = "IP:PORT", conflicts_with = "zones")]
    nameservers: Vec<SocketAddr>,
    /// Answer from these master files instead of the network (testing).
    #[arg(long = "zone", value_name = "FILE")]
    zones: Vec<PathBuf>,
    /// Fault lines for --zone, `NAME servfail|refused|timeout`.
    #[arg(long, value_name = "FILE", requires = "zones")]
    faults: Option<PathBuf>,
    #[command(flatten)]
    policy: PolicyArgs,
    /// Close a connection idle this many seconds.
    #[arg(long, default_value_t = 300)]
    idle_timeout: u64,
    /// `detail`: the reply text Postfix expects, without the
    /// `<address>: Sender address rejected: ` that Postfix adds itself.
    /// `whole`: the whole reply line, for clients that send it verbatim.
    #[arg(long, value_enum, default_value_t = ActionText::Detail)]
    action_text: ActionText,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ActionText {
    Detail,
    Whole,
}

#[tokio::main]
async fn main() -> ExitCode {
    match run(Args::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("policy_server: {message}");
            ExitCode::from(2)
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    // 1. The DNS backend.
    let dns: Arc<dyn Resolver> = if !args.zones.is_empty() {
        let mut dns = InMemoryResolver::new();
        load_files(&mut dns, &args.zones, args.faults.as_ref())?;
        Arc::new(dns)
    } else {
        network_dns(&args.nameservers)?
    };

    // 2. The policy.
    let checker = Checker::new(dns, args.policy.policy()?);
    let server = Arc::new(Server {
        checker,
        idle: Duration::from_secs(args.idle_timeout),
        whole_lines: args.action_text == ActionText::Whole,
    });

    // 3. Listen: every connection gets its own task.
    let mut listeners = Vec::new();
    let tcp = if args.listen.is_empty() && args.unix.is_empty() {
        vec!["127.0.0.1:10040".parse().expect("literal address")]
    } else {
        args.listen.clone()
    };
    for addr in tcp {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| format!("{addr}: {e}"))?;
        let local = listener.local_addr().map_err(|e| e.to_string())?;
        eprintln!("policy_server: listening on {local}");
        listeners.push(tokio::spawn(Listener::Tcp(listener).run(server.clone())));
    }
    for path in &args.unix {
        let _ = std::fs::remove_file(path);
        let listener =
            tokio::net::UnixListener::bind(path).map_err(|e| format!("{}: {e}", path.display()))?;
        eprintln!("policy_server: listening on {}", path.display());
        listeners.push(tokio::spawn(Listener::Unix(listener).run(server.clone())));
    }
    for l in listeners {
        let _ = l.await;
    }
    Ok(())
}

/// What every connection shares.
struct Server {
    checker: Checker<Arc<dyn Resolver>>,
    idle: Duration,
    whole_lines: bool,
}

enum Listener {
    Tcp(tokio::net::TcpListener),
    Unix(tokio::net::UnixListener),
}

impl Listener {
    /// Accepts forever; each connection is served by a task of its own, so
    /// a slow or stalled client never holds up another.
    async fn run(self, server: Arc<Server>) {
        loop {
            let accepted = match &self {
                Self::Tcp(l) => l
                    .accept()
                    .await
                    .map(|(s, _)| tokio::spawn(serve(s, server.clone()))),
                Self::Unix(l) => l
                    .accept()
                    .await
                    .map(|(s, _)| tokio::spawn(serve(s, server.clone()))),
            };
            if let Err(e) = accepted {
                // Out of file descriptors and the like: do not spin.
                eprintln!("policy_server: accept: {e}");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// One client connection: requests until EOF, idle timeout or bad input.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(stream: S, server: Arc<Server>) {
    let (reader, mut writer) = tokio::io::split(stream);
    let mut reader = BufReader::new(reader);
    let mut requests = PolicyRequestReader::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let mut limited = (&mut reader).take(MAX_POLICY_LINE as u64 + 1);
        match tokio::time::timeout(server.idle, limited.read_until(b'\n', &mut line)).await {
            Err(_) | Ok(Err(_)) | Ok(Ok(0)) => return,
            Ok(Ok(_)) => {}
        }
        // An empty line ends the request.
        let action = match requests.push_line(&line) {
            Ok(None) => continue,
            Ok(Some(request)) => decide(&server, &request).await,
            Err(e) => return refuse(&mut writer, &e.to_string()).await,
        };
        if writer
            .write_all(format!("action={action}\n\n").as_bytes())
            .await
            .is_err()
        {
            return;
        }
    }
}

async fn refuse<W: AsyncWrite + Unpin>(writer: &mut W, why: &str) {
    eprintln!("policy_server: closing a connection: {why}");
    let _ = writer
        .write_all(format!("action=DEFER_IF_PERMIT {why}\n\n").as_bytes())
        .await;
}

/// The sender's reject, else the recipient's, else DUNNO. With
/// `policy_context=sender` (or `recipient`) only that address is judged,
/// and Postfix renders the reject in the right class itself.
async fn decide(server: &Server, request: &PolicyRequest) -> String {
    if request.get("protocol_state") != Some("RCPT") {
        return "DUNNO".to_owned();
    }
    let get = |k: &str| request.get(k).unwrap_or("");
    let context = get("policy_context");
    // Postfix passes internal forms and has already refused U-labels
    // without SMTPUTF8, so whatever arrives may be UTF-8.
    let options = CheckOptions::default().smtputf8(true);
    let sender = parse_internal_reverse_path(get("sender"), true);
    let recipient = parse_internal_forward_path(get("recipient"), true);
    // A sender access map's directive (HOLD, DISCARD, FILTER, ...) for an
    // accepted sender goes to Postfix as the action, which applies it.
    let mut accepted = "DUNNO".to_owned();
    let verdict = if context == "recipient" {
        None
    } else {
        let verdict = server
            .checker
            .mail_from(Argument::Internal(get("sender")), options)
            .await;
        if let Some(directive) = verdict.directive() {
            accepted = directive.postfix_action();
        }
        Some(verdict).filter(|v| !v.is_accept())
    };
    let verdict = match verdict {
        Some(v) => v,
        None if context == "sender" => return accepted,
        None => {
            server
                .checker
                .rcpt_to(Argument::Internal(get("recipient")), options)
                .await
        }
    };
    let Some(reject) = verdict.reject() else {
        return accepted;
    };

    // The mail-tracking log line.
    let sender_box = sender.as_ref().ok().and_then(ReversePath::mailbox);
    let tracked = recipient.as_ref().is_ok_and(|r| {
        server
            .checker
            .policy()
            .is_tracked_for(reject.role(), sender_box, r.mailbox())
    });
    let queue_id = match get("queue_id") {
        "" => "NOQUEUE",
        id => id,
    };
    eprintln!(
        "policy_server: {queue_id}: reject: {reject}; reason=\"{}\" tracked={}",
        reject.log_reason(),
        if tracked { "yes" } else { "no" },
    );

    // Postfix writes `<address>: Sender address rejected: ` before an
    // action's text, in the class of the restriction that asked. With no
    // policy_context a sender reject may come back in the recipient class,
    // so it then carries its whole line to name the right address.
    if server.whole_lines || (context.is_empty() && reject.role() == Role::Sender) {
        reject.to_string()
    } else {
        reject.postfix_action()
    }
}
