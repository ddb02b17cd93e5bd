//! `envelope-check-policyd`: a Postfix SMTP access policy delegation server
//! (`check_policy_service`) that answers with envelope-check's verdicts.
//!
//! ```text
//! envelope-check-policyd [--listen IP:PORT]... [--unix PATH]... [--unix-mode MODE]
//!      [--nameserver IP:PORT]... [--zone FILE]... [--faults FILE]
//!      [--sender-access FILE] [--local-domain NAME]... [--local-domains FILE]
//!      [--local-address IP]... [--managed-domain NAME]... [--managed-domains FILE]
//!      [--direction inbound|outbound] [--idle-timeout SECONDS]
//!      [--action-text detail|whole] [--max-connections N] [--drain-timeout SECONDS]
//!      [--metrics IP:PORT] [--log-format text|json]
//! ```
//!
//! For each `protocol_state=RCPT` request it judges the address named by
//! `policy_context=sender` / `recipient` (set in main.cf; without it, the
//! sender, then the recipient) and answers `action=<code> <status> <text>`
//! or `action=DUNNO`. With no `--listen`, `--unix` or sockets passed by
//! systemd (`LISTEN_FDS`) it listens on 127.0.0.1:10040.
//!
//! SIGHUP re-reads the sender access map and the domain files; SIGTERM and
//! SIGINT stop accepting, answer the requests under way and exit.

mod args;
mod config;
mod connections;
mod decide;
mod dns;
mod limits;
mod listen;
mod logging;
mod metrics;
mod serve;
mod server;
mod signals;

// The library's one sanitizer, compiled into the daemon too: every value
// from outside goes through it before it reaches a log line.
#[path = "../../sanitize.rs"]
#[allow(dead_code, unreachable_pub)]
mod sanitize;

use std::process::ExitCode;
use std::sync::Arc;

use clap::Parser;

use crate::args::Args;
use crate::server::Server;

fn main() -> ExitCode {
    let args = Args::parse();
    logging::init(args.log_format);
    // Before any thread starts: the crate reads and clears LISTEN_FDS and
    // LISTEN_PID from the environment.
    let activated = listenfd::ListenFd::from_env();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => return fail(&format!("cannot start the runtime: {e}")),
    };
    let code = match runtime.block_on(run(args, activated)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => fail(&message),
    };
    logging::flush();
    code
}

fn fail(message: &str) -> ExitCode {
    tracing::error!("{}", sanitize::printable(message));
    logging::flush();
    ExitCode::from(2)
}

async fn run(args: Args, activated: listenfd::ListenFd) -> Result<(), String> {
    let signals = signals::Signals::install()?;
    let max_connections = limits::max_connections(args.max_connections)?;
    let resolver = dns::resolver(&args.dns)?;
    let policy = config::load(&args.policy, logging::map_warning)?;
    let listeners = listen::bind(&args.listen, activated).await?;
    let server = Arc::new(Server::new(resolver, policy, &args, max_connections));
    if let Some(addr) = args.metrics {
        metrics::serve(addr, server.clone()).await?;
    }
    tracing::info!(max_connections, "ready");
    logging::flush();
    let accepting = listeners
        .into_iter()
        .map(|l| tokio::spawn(l.accept_loop(server.clone())))
        .collect::<Vec<_>>();
    signals.run(&server, &args.policy).await;
    // Shutting down: the listeners stop first, then the connections finish
    // the requests they are answering.
    for task in &accepting {
        task.abort();
    }
    // The socket files go with the listeners, so that a new instance can
    // bind at once while this one drains.
    listen::remove_sockets();
    server.drain(args.drain_timeout()).await;
    Ok(())
}
