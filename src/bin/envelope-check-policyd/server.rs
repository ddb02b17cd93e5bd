//! What every connection shares: the checker (swapped whole on reload),
//! the settings, the connection registry and the metrics.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use envelope_check::{Checker, Policy, PolicyRequestError, Resolver};

use crate::args::{ActionText, Args};
use crate::connections::Connections;
use crate::metrics::Metrics;

pub(crate) type SharedChecker = Arc<Checker<Arc<dyn Resolver>>>;

pub(crate) struct Server {
    checker: RwLock<SharedChecker>,
    pub(crate) idle: Duration,
    /// The bound on one request: its arrival once begun, and its answer.
    pub(crate) request_timeout: Duration,
    pub(crate) whole_lines: bool,
    pub(crate) connections: Arc<Connections>,
    pub(crate) metrics: Metrics,
}

impl Server {
    pub(crate) fn new(
        resolver: Arc<dyn Resolver>,
        policy: Policy,
        args: &Args,
        max_connections: usize,
    ) -> Self {
        Self {
            checker: RwLock::new(Arc::new(Checker::new(resolver, policy))),
            idle: args.idle_timeout(),
            request_timeout: args.request_timeout(),
            whole_lines: args.action_text == ActionText::Whole,
            connections: Arc::new(Connections::new(max_connections)),
            metrics: Metrics::new(),
        }
    }

    /// The checker in force; a request keeps the one it started with.
    pub(crate) fn checker(&self) -> SharedChecker {
        self.checker
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Swaps in a new policy; the verdict cache and the counters carry
    /// over.
    pub(crate) fn set_policy(&self, policy: Policy) {
        let next = Arc::new(self.checker().with_policy(policy));
        *self.checker.write().unwrap_or_else(|e| e.into_inner()) = next;
    }

    pub(crate) fn log_refusal(&self, why: &PolicyRequestError) {
        tracing::warn!("closing a connection: {why}");
    }

    /// Waits for the connections to finish the requests under way.
    pub(crate) async fn drain(&self, timeout: Duration) {
        let open = self.connections.len();
        tracing::info!(open_connections = open, "shutting down");
        let left = self.connections.drain(timeout).await;
        if left > 0 {
            tracing::warn!(
                open_connections = left,
                "drain timeout: exiting with requests unanswered"
            );
        } else {
            tracing::info!("all connections closed");
        }
    }
}
