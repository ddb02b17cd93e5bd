//! Prometheus metrics (text exposition format 0.0.4) on
//! `http://IP:PORT/metrics`, served by a minimal HTTP/1.0 responder: one
//! request per connection, `GET /metrics` only.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::server::Server;

/// The daemon's own instruments; the checker's counters are read at each
/// scrape.
pub(crate) struct Metrics {
    latency: Histogram,
    refused: Counter,
    reloads: Family<[(&'static str, &'static str); 1], Counter>,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        Self {
            // 50 µs to about 3.3 s.
            latency: Histogram::new(exponential_buckets(0.000_05, 4.0, 9)),
            refused: Counter::default(),
            reloads: Family::default(),
        }
    }

    /// Time from a request's first line to its answer written.
    pub(crate) fn observe_latency(&self, d: Duration) {
        self.latency.observe(d.as_secs_f64());
    }

    /// A connection closed at once because every other was busy.
    pub(crate) fn count_refused(&self) {
        self.refused.inc();
    }

    pub(crate) fn count_reload(&self, ok: bool) {
        let result = if ok { "ok" } else { "failed" };
        self.reloads.get_or_create(&[("result", result)]).inc();
    }
}

fn registry(server: &Arc<Server>) -> Registry {
    let mut registry = Registry::with_prefix("envelope_check");
    let m = &server.metrics;
    registry.register(
        "policy_request_duration_seconds",
        "Time from a policy request's first line to its answer",
        m.latency.clone(),
    );
    registry.register(
        "connections_refused",
        "Connections closed at once because every open one was in the middle of a request",
        m.refused.clone(),
    );
    registry.register(
        "reloads",
        "Configuration reloads (SIGHUP), by result",
        m.reloads.clone(),
    );
    registry.register_collector(Box::new(CheckerCollector(server.clone())));
    registry
}

/// The checker's counters and the open connections, read at each scrape.
struct CheckerCollector(Arc<Server>);

impl std::fmt::Debug for CheckerCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CheckerCollector")
    }
}

impl Collector for CheckerCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), std::fmt::Error> {
        let s = self.0.checker().stats();
        let verdicts = [
            ("accepted", s.accepted),
            ("bad_syntax", s.bad_syntax),
            ("not_fully_qualified", s.not_fully_qualified),
            ("unknown_domain", s.unknown_domain),
            ("null_mx", s.null_mx),
            ("temporary_failure", s.temporary_failure),
            ("policy", s.policy),
            ("access_denied", s.access_denied),
        ];
        let kind = ConstCounter::new(0u64).metric_type();
        let mut family =
            encoder.encode_descriptor("verdicts", "Checks made, by verdict reason.", None, kind)?;
        for (reason, n) in verdicts {
            ConstCounter::new(n).encode(family.encode_family(&[("reason", reason)])?)?;
        }
        for (name, help, n) in [
            (
                "cache_hits",
                "Domain lookups answered by the verdict cache.",
                s.cache_hits,
            ),
            (
                "cache_misses",
                "Domain lookups not in the verdict cache.",
                s.cache_misses,
            ),
            (
                "dns_queries",
                "DNS queries answered or failed.",
                s.dns_queries,
            ),
            (
                "dns_transient_failures",
                "DNS queries that failed temporarily.",
                s.transient_failures,
            ),
            (
                "deadline_expiries",
                "Lookups cut short by the check's deadline.",
                s.deadline_expiries,
            ),
        ] {
            let counter = ConstCounter::new(n);
            counter.encode(encoder.encode_descriptor(
                name,
                help,
                None,
                counter.metric_type(),
            )?)?;
        }
        let open = ConstGauge::new(i64::try_from(self.0.connections.len()).unwrap_or(i64::MAX));
        open.encode(encoder.encode_descriptor(
            "open_connections",
            "Policy client connections open.",
            None,
            open.metric_type(),
        )?)?;
        Ok(())
    }
}

/// Longest HTTP request head read.
const MAX_HEAD: usize = 8 * 1024;
/// Scrapes served at once; more wait for a turn in the kernel's backlog.
const MAX_SCRAPES: usize = 4;

/// Binds `addr` and serves scrapes in the background.
pub(crate) async fn serve(addr: SocketAddr, server: Arc<Server>) -> Result<(), String> {
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("--metrics {addr}: {e}"))?;
    let local = listener.local_addr().map_err(|e| e.to_string())?;
    tracing::info!("metrics on http://{local}/metrics");
    let registry = Arc::new(registry(&server));
    let turns = Arc::new(Semaphore::new(MAX_SCRAPES));
    tokio::spawn(async move {
        loop {
            let Ok(turn) = turns.clone().acquire_owned().await else {
                return;
            };
            match listener.accept().await {
                Ok((stream, _)) => {
                    let registry = registry.clone();
                    tokio::spawn(async move {
                        let _ = tokio::time::timeout(
                            Duration::from_secs(5),
                            respond(stream, &registry),
                        )
                        .await;
                        drop(turn);
                    });
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    });
    Ok(())
}

async fn respond(mut stream: TcpStream, registry: &Registry) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") && !head.windows(2).any(|w| w == b"\n\n") {
        let n = stream.read(&mut buf).await?;
        if n == 0 || head.len() + n > MAX_HEAD {
            return Ok(());
        }
        head.extend_from_slice(&buf[..n]);
    }
    let request_line = head.split(|&b| b == b'\n').next().unwrap_or_default();
    let mut words = request_line.split(|&b| b == b' ');
    let (method, path) = (words.next(), words.next());
    let (status, kind, body) = match (method, path) {
        (Some(b"GET"), Some(b"/metrics")) => {
            let mut body = String::new();
            match prometheus_client::encoding::prometheus_text::encode(&mut body, registry) {
                Ok(()) => ("200 OK", "text/plain; version=0.0.4; charset=utf-8", body),
                Err(_) => (
                    "500 Internal Server Error",
                    "text/plain",
                    "encoding failed\n".into(),
                ),
            }
        }
        (Some(b"GET"), _) => ("404 Not Found", "text/plain", "try /metrics\n".into()),
        _ => ("405 Method Not Allowed", "text/plain", "GET only\n".into()),
    };
    let response = format!(
        "HTTP/1.0 {status}\r\nContent-Type: {kind}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(response.as_bytes()).await?;
    stream.shutdown().await
}
