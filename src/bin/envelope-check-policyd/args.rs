//! The command line (the policy options are in `config.rs`, shared with
//! the `check` example).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::config::PolicyArgs;

#[derive(Parser)]
#[command(
    name = "envelope-check-policyd",
    version,
    about = "Postfix policy server with Postfix-exact envelope domain checks"
)]
pub(crate) struct Args {
    #[command(flatten)]
    pub(crate) listen: ListenArgs,
    #[command(flatten)]
    pub(crate) dns: DnsArgs,
    #[command(flatten)]
    pub(crate) policy: PolicyArgs,
    /// Close a connection idle this many seconds (Postfix's
    /// smtpd_policy_service_max_idle is 300).
    #[arg(long, default_value_t = 300, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) idle_timeout: u64,
    /// How long a request may take to arrive whole once its first line is
    /// in, and its answer to be taken by the client. Postfix writes a
    /// request and reads the answer at once; a client that trickles a
    /// request or never reads is closed when this runs out.
    #[arg(long, default_value_t = 10, value_name = "SECONDS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) request_timeout: u64,
    /// `detail`: the reply text Postfix expects, without the
    /// `<address>: Sender address rejected: ` that Postfix adds itself.
    /// `whole`: the whole reply line, for clients that send it verbatim.
    #[arg(long, value_enum, default_value_t = ActionText::Detail)]
    pub(crate) action_text: ActionText,
    /// Most client connections open at once. At the cap a new connection
    /// closes the longest-idle one; when every connection is in the middle
    /// of a request, the new one is closed at once. Default: from the
    /// descriptor limit (whose soft value is raised to the hard one), at
    /// most 16384.
    #[arg(long, value_name = "N")]
    pub(crate) max_connections: Option<usize>,
    /// On SIGTERM or SIGINT, how long the requests under way may take to
    /// be answered before the server exits anyway.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub(crate) drain_timeout: u64,
    /// Serve Prometheus metrics on http://IP:PORT/metrics.
    #[arg(long, value_name = "IP:PORT")]
    pub(crate) metrics: Option<SocketAddr>,
    /// Log line format, on standard error.
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub(crate) log_format: LogFormat,
}

impl Args {
    pub(crate) fn idle_timeout(&self) -> Duration {
        Duration::from_secs(self.idle_timeout)
    }

    pub(crate) fn request_timeout(&self) -> Duration {
        Duration::from_secs(self.request_timeout)
    }

    pub(crate) fn drain_timeout(&self) -> Duration {
        Duration::from_secs(self.drain_timeout)
    }
}

/// Where to listen.
#[derive(clap::Args)]
pub(crate) struct ListenArgs {
    /// TCP address to listen on; repeatable. Default 127.0.0.1:10040 when
    /// no --unix is given and systemd passed no socket either.
    #[arg(long = "listen", value_name = "IP:PORT")]
    pub(crate) tcp: Vec<SocketAddr>,
    /// Unix socket to listen on; repeatable. A stale socket there is
    /// replaced; any other kind of file is left alone and the start fails.
    #[arg(long = "unix", value_name = "PATH")]
    pub(crate) unix: Vec<PathBuf>,
    /// Permissions of the unix sockets, in octal.
    #[arg(long, default_value = "0660", value_name = "MODE", value_parser = parse_mode)]
    pub(crate) unix_mode: u32,
}

fn parse_mode(text: &str) -> Result<u32, String> {
    match u32::from_str_radix(text, 8) {
        Ok(mode) if mode <= 0o777 => Ok(mode),
        _ => Err(format!("{text:?} is not an octal mode such as 0660")),
    }
}

/// Where DNS answers come from.
#[derive(clap::Args)]
pub(crate) struct DnsArgs {
    /// DNS server to ask (IP:PORT), repeatable; default: /etc/resolv.conf.
    #[arg(long = "nameserver", value_name = "IP:PORT", conflicts_with = "zones")]
    pub(crate) nameservers: Vec<SocketAddr>,
    /// Answer from these master files instead of the network (testing).
    #[arg(long = "zone", value_name = "FILE")]
    pub(crate) zones: Vec<PathBuf>,
    /// Fault lines for --zone, `NAME servfail|refused|timeout`.
    #[arg(long, value_name = "FILE", requires = "zones")]
    pub(crate) faults: Option<PathBuf>,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ActionText {
    Detail,
    Whole,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum LogFormat {
    Text,
    Json,
}
