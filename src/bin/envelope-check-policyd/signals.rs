//! Signals: SIGHUP reloads the policy files, SIGTERM and SIGINT end the
//! wait so that the server can drain.

use tokio::signal::unix::{SignalKind, signal};

use crate::config;
use crate::config::PolicyArgs;
use crate::sanitize::printable;
use crate::server::Server;

/// Serves SIGHUP until SIGTERM or SIGINT arrives.
pub(crate) async fn run(server: &Server, policy: &PolicyArgs) -> Result<(), String> {
    let install = |kind| signal(kind).map_err(|e| format!("installing a signal handler: {e}"));
    let mut hup = install(SignalKind::hangup())?;
    let mut term = install(SignalKind::terminate())?;
    let mut int = install(SignalKind::interrupt())?;
    loop {
        tokio::select! {
            _ = hup.recv() => reload(server, policy),
            _ = term.recv() => return Ok(()),
            _ = int.recv() => return Ok(()),
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
