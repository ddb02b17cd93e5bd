//! The hot path: parse, normalize, verdict-cache hit, reply rendering,
//! for each class of input, side by side with a floor and the peers.
//!
//! Run: `cargo bench --bench hot_path` (offline). The cached checks are
//! polled once with a no-op waker: a cache hit never waits, so this measures
//! the work itself, without an async runtime's scheduling.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::str::FromStr;
use std::task::{Context, Poll, Waker};

use criterion::{Criterion, criterion_group, criterion_main};
use envelope_check::CheckOptions;
use envelope_check::engine::{Plan, plan_recipient};
use envelope_check::{
    Checker, InMemoryResolver, Policy, parse_forward_path, split_command_argument,
};

const ZONE: &str = include_str!("../tests/data/zone.txt");

fn now<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => panic!("a cache hit must not wait"),
    }
}

fn hot_path(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let checker = Checker::new(
        InMemoryResolver::from_zone_text(ZONE).unwrap(),
        Policy::default(),
    );
    let cases = [
        ("ascii", "<user@northwind-traders.com>", false),
        ("ascii upper-case", "<USER@NORTHWIND-TRADERS.COM>", false),
        ("idn", "<kunde@müller-bäckerei.de>", true),
        (
            "quoted local part",
            "<\"john doe\"@northwind-traders.com>",
            false,
        ),
        (
            "source route",
            "<@a.example,@b.example:user@northwind-traders.com>",
            false,
        ),
        (
            "nxdomain (reject rendered)",
            "<user@globex-nonexistent.com>",
            false,
        ),
        ("invalid", "<user@northwind..com>", false),
    ];
    // A cache miss (an entry past its TTL during a long run) needs the
    // runtime's timer; each case is warmed again right before it runs.
    let _guard = rt.enter();
    let mut g = c.benchmark_group("hot path");
    let mut map: HashMap<String, u32> = HashMap::new();
    map.insert("northwind-traders.com".to_owned(), 1);
    g.bench_function("floor: lowercase domain + HashMap lookup", |b| {
        b.iter(|| {
            let addr = black_box("user@Northwind-Traders.com");
            let domain = &addr[addr.rfind('@').unwrap_or(0) + 1..];
            black_box(map.get(&domain.to_ascii_lowercase()))
        })
    });
    g.bench_function("parse only: ascii", |b| {
        b.iter(|| {
            black_box(parse_forward_path(black_box("<user@northwind-traders.com>"), false).is_ok())
        })
    });
    let mut line = String::with_capacity(600);
    for (name, input, utf8) in cases {
        rt.block_on(checker.rcpt_to(input, CheckOptions::default().smtputf8(utf8)));
        g.bench_function(format!("cached check + reply: {name}"), |b| {
            b.iter(|| {
                let v =
                    now(checker.rcpt_to(black_box(input), CheckOptions::default().smtputf8(utf8)));
                line.clear();
                let _ = write!(line, "{v}");
                black_box(line.len())
            })
        });
    }
    // The components of the ASCII case, to see what limits it.
    g.bench_function("component: split_command_argument", |b| {
        b.iter(|| {
            black_box(split_command_argument(black_box("<user@northwind-traders.com>")).is_ok())
        })
    });
    let path = parse_forward_path("<user@northwind-traders.com>", false).unwrap();
    let policy = Policy::default();
    g.bench_function("component: engine::plan_recipient", |b| {
        b.iter(|| {
            black_box(matches!(
                plan_recipient(black_box(&path), &policy),
                Plan::LookUp(_)
            ))
        })
    });
    rt.block_on(checker.recipient(&path, CheckOptions::default()));
    g.bench_function(
        "component: cached check of a parsed recipient (Checker::recipient)",
        |b| {
            b.iter(|| {
                black_box(now(
                    checker.recipient(black_box(&path), CheckOptions::default())
                ))
            })
        },
    );
    g.bench_function("peer email_address::EmailAddress::from_str", |b| {
        b.iter(|| {
            black_box(
                email_address::EmailAddress::from_str(black_box("user@northwind-traders.com"))
                    .is_ok(),
            )
        })
    });
    g.bench_function("peer addr::parse_email_address", |b| {
        b.iter(|| {
            black_box(addr::parse_email_address(black_box("user@northwind-traders.com")).is_ok())
        })
    });
    g.finish();
}

criterion_group!(benches, hot_path);
criterion_main!(benches);
