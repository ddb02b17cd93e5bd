//! The DNS path: one check on a cold cache (in memory and through hickory
//! against an in-process hickory-server on 127.0.0.1), one check on a warm
//! verdict cache, and a bare hickory `lookup(MX)` as the baseline.
//!
//! Run: `cargo bench --bench dns` (offline).

#[allow(dead_code, unreachable_pub)]
#[path = "../tests/common/dns.rs"]
mod dns;
const ZONE: &str = include_str!("../tests/data/zone.txt");
const FAULTS: &str = include_str!("../tests/data/faults.txt");

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use envelope_check::CheckOptions;
use envelope_check::{
    CacheConfig, Checker, HickoryOptions, HickoryResolver, InMemoryResolver, Policy,
};
use hickory_resolver::proto::rr::{Name, RecordType};

fn dns_path(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(dns::OracleServer::start());
    let _guard = rt.enter();
    let mut g = c.benchmark_group("dns path");
    g.measurement_time(Duration::from_secs(5));

    let memory = Checker::with_cache(
        InMemoryResolver::from_zone_text(ZONE).unwrap(),
        Policy::default(),
        CacheConfig::disabled(),
    );
    for (label, rcpt) in [
        ("MX", "<u@northwind-traders.com>"),
        ("A only", "<u@webshop-a-only.de>"),
        ("NXDOMAIN", "<u@globex-nonexistent.com>"),
    ] {
        g.bench_function(format!("in-memory, cache off: {label}"), |b| {
            b.iter(|| {
                rt.block_on(memory.rcpt_to(black_box(rcpt), CheckOptions::default()))
                    .code()
            })
        });
    }

    let name = Name::from_ascii("northwind-traders.com.").unwrap();
    let baseline = dns::bare_resolver(server.addr, 0);
    g.bench_function("hickory: bare lookup(MX), uncached", |b| {
        b.iter(|| {
            rt.block_on(baseline.lookup(name.clone(), RecordType::MX))
                .is_ok()
        })
    });
    let hickory =
        || HickoryResolver::with_name_servers(&[server.addr], HickoryOptions::default()).unwrap();
    let cold = Checker::with_cache(hickory(), Policy::default(), CacheConfig::disabled());
    g.bench_function("hickory: check MX domain, verdict cache cold", |b| {
        b.iter(|| {
            rt.block_on(cold.rcpt_to(
                black_box("<u@northwind-traders.com>"),
                CheckOptions::default(),
            ))
            .code()
        })
    });
    let warm = Checker::new(hickory(), Policy::default());
    rt.block_on(warm.rcpt_to("<u@northwind-traders.com>", CheckOptions::default()));
    g.bench_function("hickory: check MX domain, verdict cache warm", |b| {
        b.iter(|| {
            rt.block_on(warm.rcpt_to(
                black_box("<u@northwind-traders.com>"),
                CheckOptions::default(),
            ))
            .code()
        })
    });
    g.finish();
}

criterion_group!(benches, dns_path);
criterion_main!(benches);
