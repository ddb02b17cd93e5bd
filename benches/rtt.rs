//! Check latency in DNS round trips, against a server that delays every
//! answer by 20 ms, side by side with a sequential MX → A → AAAA lookup
//! (what Postfix's `reject_unknown_*_domain` does).
//!
//! Run: `cargo bench --bench rtt` (offline; about 15 s).

#[allow(dead_code, unreachable_pub)]
#[path = "../tests/common/dns.rs"]
mod dns;
const ZONE: &str = "";
const FAULTS: &str = "";

use std::time::{Duration, Instant};

use envelope_check::CheckOptions;
use envelope_check::{
    CacheConfig, Checker, DnsOutcome, HickoryOptions, HickoryResolver, Policy, QueryType, Resolver,
};

const RTT: Duration = Duration::from_millis(20);

const RTT_ZONE: &str = "$TTL 300
$ORIGIN .
@ IN SOA ns.rtt. h.rtt. 1 3600 600 86400 60
@ IN NS ns.rtt.
$ORIGIN rtt-bench.net.
mx IN MX 10 mx.mx.rtt-bench.net.
a-only IN A 192.0.2.1
aaaa-only IN AAAA 2001:db8::1
null-mx IN MX 0 .
";

/// Postfix's order: MX, then A, then AAAA, one after the other, stopping
/// at the first positive answer.
async fn sequential(dns: &HickoryResolver, name: &str) -> bool {
    for qtype in [QueryType::Mx, QueryType::A, QueryType::Aaaa] {
        if let DnsOutcome::Records { .. } = dns.query(name, qtype).await {
            return true;
        }
    }
    false
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let server = dns::OracleServer::start_with(RTT_ZONE, "", Some(RTT)).await;
    let mut options = HickoryOptions::default();
    options.timeout = Duration::from_secs(1);
    let resolver = || HickoryResolver::with_name_servers(&[server.addr], options.clone()).unwrap();
    let checker = Checker::with_cache(resolver(), Policy::default(), CacheConfig::disabled());
    let seq = resolver();
    println!("server delay per answer: {RTT:?}; medians of 15 runs; cache off\n");
    println!("| domain | envelope-check | RTTs | sequential MX→A→AAAA | RTTs | verdict |");
    println!("| --- | ---: | ---: | ---: | ---: | --- |");
    for (label, domain) in [
        ("MX", "mx.rtt-bench.net"),
        ("A only", "a-only.rtt-bench.net"),
        ("AAAA only", "aaaa-only.rtt-bench.net"),
        ("NXDOMAIN", "nx.rtt-bench.net"),
        ("null MX", "null-mx.rtt-bench.net"),
    ] {
        let (mut ours, mut theirs) = (Vec::new(), Vec::new());
        let mut verdict = String::new();
        for _ in 0..15 {
            let t = Instant::now();
            let v = checker
                .rcpt_to(&format!("<u@{domain}>"), CheckOptions::default())
                .await;
            ours.push(t.elapsed());
            verdict = v.to_string().chars().take(10).collect();
            let t = Instant::now();
            sequential(&seq, &format!("{domain}.")).await;
            theirs.push(t.elapsed());
        }
        let (ours, theirs) = (median(ours), median(theirs));
        let rtts = |d: Duration| d.as_secs_f64() / RTT.as_secs_f64();
        println!(
            "| {label} | {ours:.1?} | {:.2} | {theirs:.1?} | {:.2} | {verdict} |",
            rtts(ours),
            rtts(theirs)
        );
    }
}
