//! Parsing and normalizing envelope paths, side by side with a floor and
//! with the peers' parse-only calls.
//!
//! Run: `cargo bench --bench parse` (offline; criterion prints medians).
//! The floor is what any check must at least do: lowercase the domain and
//! look it up once in a std `HashMap`.

use std::collections::HashMap;
use std::hint::black_box;
use std::str::FromStr;

use criterion::{Criterion, criterion_group, criterion_main};
use envelope_check::{parse_forward_path, parse_reverse_path};

const ASCII: &str = "<user@example.com>";

fn floor(c: &mut Criterion) {
    let mut map: HashMap<String, u32> = HashMap::new();
    map.insert("example.com".to_owned(), 1);
    let mut g = c.benchmark_group("parse");
    g.bench_function("floor: lowercase domain + HashMap lookup", |b| {
        b.iter(|| {
            let addr = black_box("user@Example.com");
            let domain = &addr[addr.rfind('@').unwrap_or(0) + 1..];
            let lower = domain.to_ascii_lowercase();
            black_box(map.get(&lower))
        })
    });
    let cases = [
        ("ascii", ASCII, false),
        ("ascii upper-case", "<USER@EXAMPLE.COM>", false),
        ("idn (SMTPUTF8)", "<kunde@müller-bäckerei.de>", true),
        ("quoted local part", "<\"john doe\"@example.com>", false),
        (
            "source route",
            "<@a.example,@b.example:user@example.com>",
            false,
        ),
        ("invalid", "<user@exa..mple.com>", false),
    ];
    for (name, input, utf8) in cases {
        g.bench_function(format!("envelope-check sender: {name}"), |b| {
            b.iter(|| black_box(parse_reverse_path(black_box(input), utf8).is_ok()))
        });
    }
    g.bench_function("envelope-check recipient: ascii", |b| {
        b.iter(|| black_box(parse_forward_path(black_box(ASCII), false).is_ok()))
    });
    g.bench_function("peer email_address::EmailAddress::from_str", |b| {
        b.iter(|| {
            black_box(email_address::EmailAddress::from_str(black_box("user@example.com")).is_ok())
        })
    });
    g.bench_function("peer addr::parse_email_address", |b| {
        b.iter(|| black_box(addr::parse_email_address(black_box("user@example.com")).is_ok()))
    });
    g.finish();
}

criterion_group!(benches, floor);
criterion_main!(benches);
