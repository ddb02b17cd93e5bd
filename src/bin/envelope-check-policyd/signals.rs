//! Signals: SIGHUP reloads the policy files, SIGTERM and SIGINT end the
//! wait so that the server can drain.

use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::config;
use crate::config::PolicyArgs;
use crate::sanitize::printable;
use crate::server::Server;

/// The signals the daemon handles, taken over from their default actions
/// (SIGHUP's and SIGTERM's is to end the process). Installed first thing at
/// start, before any socket is bound: a SIGHUP sent as soon as the daemon
/// answers must reload it, never kill it.
pub(crate) struct Signals {
    hup: Signal,
    term: Signal,
    int: Signal,
}

impl Signals {
    pub(crate) fn install() -> Result<Self, String> {
        let install = |kind| signal(kind).map_err(|e| format!("installing a signal handler: {e}"));
        Ok(Self {
            hup: install(SignalKind::hangup())?,
            term: install(SignalKind::terminate())?,
            int: install(SignalKind::interrupt())?,
        })
    }

    /// Serves SIGHUP until SIGTERM or SIGINT arrives.
    pub(crate) async fn run(mut self, server: &Server, policy: &PolicyArgs) {
        loop {
            tokio::select! {
                _ = self.hup.recv() => reload(server, policy),
                _ = self.term.recv() => return,
                _ = self.int.recv() => return,
            }
        }
    }
}

/// Reads the sender access map and the domain files again and swaps the
/// new policy in whole; on any error the old one stays.
fn reload(server: &Server, policy: &PolicyArgs) {
    match config::load(policy, crate::logging::map_warning) {
        Ok(policy) => {
            server.set_policy(policy);
            server.metrics.count_reload(true);
            tracing::info!("reloaded the configuration");
        }
        Err(e) => {
            server.metrics.count_reload(false);
            tracing::error!(
                "reload failed, keeping the previous configuration: {}",
                printable(&e)
            );
        }
    }
}
