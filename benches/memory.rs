//! Memory of the verdict cache: RSS with 1 000 000 cached domains, and bytes
//! per entry.
//!
//! Run: `cargo bench --bench memory` (offline; a few seconds). The resolver
//! answers every MX query positively at once, so every check fills one entry.

use std::sync::Arc;

use async_trait::async_trait;
use envelope_check::CheckOptions;
use envelope_check::{CacheConfig, Checker, DnsOutcome, Policy, QueryType, Record, Resolver};

struct AlwaysMx;

#[async_trait]
impl Resolver for AlwaysMx {
    async fn query(&self, _name: &str, _qtype: QueryType) -> DnsOutcome {
        DnsOutcome::Records {
            records: vec![Record::Mx {
                preference: 10,
                exchange: "mx.example.".into(),
            }],
            ttl: 3600,
        }
    }
}

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    const N: usize = 1_000_000;
    let mut config = CacheConfig::default();
    config.capacity = N;
    let checker = Arc::new(Checker::with_cache(AlwaysMx, Policy::default(), config));
    let before = rss_kib("VmRSS:");
    let mut key_bytes = 0;
    for i in 0..N {
        let domain = format!("host-{i:07}.example-corp.net");
        key_bytes += domain.len();
        let v = checker
            .rcpt_to(&format!("<u@{domain}>"), CheckOptions::default())
            .await;
        assert!(v.is_accept());
    }
    let after = rss_kib("VmRSS:");
    let held = checker.cached_domains();
    println!("cached domains: {held} (capacity {N})");
    println!(
        "RSS before: {} MiB, after: {} MiB, peak: {} MiB",
        before / 1024,
        after / 1024,
        rss_kib("VmHWM:") / 1024
    );
    println!(
        "bytes per cached domain: {:.0} (of which domain text {:.0})",
        (after - before) as f64 * 1024.0 / held as f64,
        key_bytes as f64 / N as f64
    );
}
