//! Load test against an in-process hickory-server on 127.0.0.1.
//!
//! Run: `cargo bench --bench load` (offline; about a minute). Optional
//! arguments: `CHECKS DOMAINS CONCURRENCY` (default 100000 10000 256).
//!
//! Side by side, in one run, against the same server:
//! 1. bare hickory `lookup(MX)`, cache off: the throughput baseline;
//! 2. `Checker` with its cache off, MX domains only: uncached checks;
//! 3. the load test proper: CHECKS checks over DOMAINS domains, 1% of them
//!    faulted (0.5% SERVFAIL, 0.5% never answered), verdict cache on;
//! 4. a warm verdict-cache hit vs a warm hickory cache hit.
//!
//! It prints checks/s, DNS queries per check, p50/p99 latency, peak RSS, and
//! verifies that every call returned a verdict and no transient fault gave a
//! 5xx.

// The test suite's DNS servers; `OracleServer::start()` reads these.
#[allow(dead_code, unreachable_pub)]
#[path = "../tests/common/dns.rs"]
mod dns;
const ZONE: &str = "";
const FAULTS: &str = "";

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use dns::OracleServer;
use envelope_check::CheckOptions;
use envelope_check::{CacheConfig, Checker, HickoryOptions, HickoryResolver, Policy};
use hickory_resolver::proto::rr::{Name, RecordType};

struct Figures {
    label: &'static str,
    per_second: f64,
    p50: Duration,
    p99: Duration,
}

impl Figures {
    fn new(label: &'static str, per_second: f64, latencies: &[Duration]) -> Self {
        Self {
            label,
            per_second,
            p50: percentile(latencies, 0.5),
            p99: percentile(latencies, 0.99),
        }
    }
}

fn zone(domains: usize) -> (String, String) {
    let mut zone = String::from(
        "$TTL 300\n$ORIGIN .\n@ IN SOA ns.load. h.load. 1 3600 600 86400 60\n@ IN NS ns.load.\n$ORIGIN loadtest.net.\n",
    );
    let mut faults = String::new();
    for i in 0..domains {
        match i % 200 {
            0 => faults.push_str(&format!("f{i}.loadtest.net servfail\n")),
            100 => faults.push_str(&format!("f{i}.loadtest.net timeout\n")),
            _ => zone.push_str(&format!("d{i} IN MX 10 mx.d{i}.loadtest.net.\n")),
        }
    }
    (zone, faults)
}

fn domain(i: usize, domains: usize) -> String {
    let i = i % domains;
    match i % 200 {
        0 | 100 => format!("f{i}.loadtest.net"),
        _ => format!("d{i}.loadtest.net"),
    }
}

/// Runs `total` jobs at `concurrency`, returns (per second, sorted latencies).
async fn drive<F, Fut>(total: usize, concurrency: usize, job: F) -> (f64, Vec<Duration>)
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = ()> + Send,
{
    let job = Arc::new(job);
    let next = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (job, next) = (job.clone(), next.clone());
            tokio::spawn(async move {
                let mut latencies = Vec::new();
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    if i >= total {
                        return latencies;
                    }
                    let t = Instant::now();
                    job(i).await;
                    latencies.push(t.elapsed());
                }
            })
        })
        .collect();
    let mut all = Vec::with_capacity(total);
    for w in workers {
        all.extend(w.await.unwrap());
    }
    let elapsed = start.elapsed();
    all.sort();
    (total as f64 / elapsed.as_secs_f64(), all)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p) as usize]
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let checks = args.first().copied().unwrap_or(100_000);
    let domains = args.get(1).copied().unwrap_or(10_000);
    let concurrency = args.get(2).copied().unwrap_or(256);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(run(checks, domains, concurrency));
}

async fn run(checks: usize, domains: usize, concurrency: usize) {
    let (zone_text, faults) = zone(domains);
    let server = OracleServer::start_with(&zone_text, &faults, None).await;
    let addr = server.addr;
    println!(
        "load test: {checks} checks, {domains} domains, concurrency {concurrency}, server {addr}"
    );
    let mut figures = Vec::new();
    let mx_only = move |i: usize| {
        let d = domain(i, domains);
        if d.starts_with('f') {
            format!("d{}.loadtest.net", (i % domains) + 1)
        } else {
            d
        }
    };

    // 1. Bare hickory lookups, cache off: the baseline.
    let bare = Arc::new(dns::bare_resolver(addr, 0));
    let n = checks.min(50_000);
    let (rate, lat) = drive(n, concurrency, {
        let bare = bare.clone();
        move |i| {
            let (bare, name) = (
                bare.clone(),
                Name::from_ascii(format!("{}.", mx_only(i))).unwrap(),
            );
            async move {
                let _ = bare.lookup(name, RecordType::MX).await;
            }
        }
    })
    .await;
    figures.push(Figures::new(
        "bare hickory lookup(MX), uncached",
        rate,
        &lat,
    ));

    // 2. Checker, cache off, MX domains only.
    let uncached = Arc::new(Checker::with_cache(
        HickoryResolver::with_name_servers(&[addr], HickoryOptions::default()).unwrap(),
        Policy::default(),
        CacheConfig::disabled(),
    ));
    let (rate, lat) = drive(n, concurrency, {
        let c = uncached.clone();
        move |i| {
            let (c, rcpt) = (c.clone(), format!("<u@{}>", mx_only(i)));
            async move {
                assert!(c.rcpt_to(&rcpt, CheckOptions::default()).await.is_accept());
            }
        }
    })
    .await;
    figures.push(Figures::new(
        "Checker, verdict cache off, MX domains",
        rate,
        &lat,
    ));

    // 3. The load test: cache on, 1% faulted domains.
    let dns =
        Arc::new(HickoryResolver::with_name_servers(&[addr], HickoryOptions::default()).unwrap());
    let counted = Arc::new(Counting {
        inner: dns,
        queries: AtomicUsize::new(0),
    });
    let checker = Arc::new(Checker::new(counted.clone(), Policy::default()));
    let verdicts = Arc::new(AtomicUsize::new(0));
    let bad = Arc::new(AtomicUsize::new(0));
    let (rate, lat) = drive(checks, concurrency, {
        let (c, verdicts, bad) = (checker.clone(), verdicts.clone(), bad.clone());
        move |i| {
            let (c, verdicts, bad) = (c.clone(), verdicts.clone(), bad.clone());
            let d = domain(i, domains);
            async move {
                let v = c
                    .rcpt_to(&format!("<u@{d}>"), CheckOptions::default())
                    .await;
                verdicts.fetch_add(1, Ordering::Relaxed);
                let faulted = d.starts_with('f');
                if (faulted && v.code() != 450) || (!faulted && !v.is_accept()) {
                    bad.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    })
    .await;
    figures.push(Figures::new(
        "load test: Checker, cache on, 1% faults",
        rate,
        &lat,
    ));
    let queries = counted.queries.load(Ordering::Relaxed);

    // 4. Warm cache hits: ours vs hickory's.
    let warm = dns::bare_resolver(addr, 1024);
    let name = Name::from_ascii("d1.loadtest.net.").unwrap();
    let _ = warm.lookup(name.clone(), RecordType::MX).await;
    let reps = 200_000u32;
    let t = Instant::now();
    for _ in 0..reps {
        let _ = std::hint::black_box(warm.lookup(name.clone(), RecordType::MX).await);
    }
    let hickory_hit = t.elapsed() / reps;
    let _ = checker
        .rcpt_to("<u@d1.loadtest.net>", CheckOptions::default())
        .await;
    let t = Instant::now();
    for _ in 0..reps {
        let _ = std::hint::black_box(
            checker
                .rcpt_to(
                    std::hint::black_box("<u@d1.loadtest.net>"),
                    CheckOptions::default(),
                )
                .await,
        );
    }
    let our_hit = t.elapsed() / reps;
    let path = envelope_check::parse_forward_path("<u@d1.loadtest.net>", false).unwrap();
    let t = Instant::now();
    for _ in 0..reps {
        let _ = std::hint::black_box(
            checker
                .recipient(std::hint::black_box(&path), CheckOptions::default())
                .await,
        );
    }
    let cache_hit = t.elapsed() / reps;

    println!();
    println!("| run | checks/s | p50 | p99 |");
    println!("| --- | ---: | ---: | ---: |");
    for f in &figures {
        println!(
            "| {} | {:.0} | {:.2?} | {:.2?} |",
            f.label, f.per_second, f.p50, f.p99
        );
    }
    println!();
    println!(
        "uncached checks / bare lookups: {:.2}",
        figures[1].per_second / figures[0].per_second
    );
    println!(
        "load test: {} verdicts of {checks}; {} wrong (a 5xx for a fault, or a reject for an MX domain)",
        verdicts.load(Ordering::Relaxed),
        bad.load(Ordering::Relaxed)
    );
    println!(
        "load test: {queries} DNS queries, {:.3} per check; {} domains cached",
        queries as f64 / checks as f64,
        checker.cached_domains()
    );
    let ratio = |d: Duration| d.as_secs_f64() / hickory_hit.as_secs_f64();
    println!("warm hickory cache hit, lookup(MX): {hickory_hit:.2?}");
    println!(
        "warm verdict-cache hit, Checker::recipient on a parsed path: {cache_hit:.2?} (ratio {:.3})",
        ratio(cache_hit)
    );
    println!(
        "warm full check, Checker::check_rcpt_to (parse + cache + verdict): {our_hit:.2?} (ratio {:.3})",
        ratio(our_hit)
    );
    println!("peak RSS: {} MiB", peak_rss_kib() / 1024);
    assert_eq!(
        verdicts.load(Ordering::Relaxed),
        checks,
        "every call returns a verdict"
    );
    assert_eq!(
        bad.load(Ordering::Relaxed),
        0,
        "no transient fault gives a 5xx"
    );
}

/// Counts the queries the checker sends.
struct Counting {
    inner: Arc<HickoryResolver>,
    queries: AtomicUsize,
}

#[async_trait::async_trait]
impl envelope_check::Resolver for Counting {
    async fn query(
        &self,
        name: &str,
        qtype: envelope_check::QueryType,
    ) -> envelope_check::DnsOutcome {
        self.queries.fetch_add(1, Ordering::Relaxed);
        self.inner.query(name, qtype).await
    }
}
