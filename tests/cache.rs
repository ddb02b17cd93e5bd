//! The checker's verdict cache: TTLs, negative caching, no caching of
//! transient failures, bounded memory, and coalescing of concurrent lookups.

mod common;

use std::sync::Arc;
use std::time::Duration;

use envelope_check::CheckOptions;
use envelope_check::{CacheConfig, Checker, Fault, InMemoryResolver, Policy, QueryType};

fn checker_with(dns: InMemoryResolver, config: CacheConfig) -> Arc<Checker<InMemoryResolver>> {
    Arc::new(Checker::with_cache(dns, common::oracle_policy(), config))
}

#[tokio::test]
async fn positive_and_negative_answers_are_cached() {
    let checker = checker_with(common::oracle_dns(), CacheConfig::default());
    for address in [
        "<u@northwind-traders.com>",
        "<u@globex-nonexistent.com>",
        "<u@txtonly-corp.com>",
        "<u@nullmx-only.org>",
    ] {
        let first = checker.rcpt_to(address, CheckOptions::default()).await;
        let asked = checker.resolver().query_count();
        let second = checker
            .rcpt_to(&address.to_uppercase(), CheckOptions::default())
            .await;
        assert_eq!(
            checker.resolver().query_count(),
            asked,
            "{address}: the second check asks nothing"
        );
        assert_eq!(first.code(), second.code());
        assert_eq!(
            first.reject().map(|r| r.reason()),
            second.reject().map(|r| r.reason())
        );
    }
    assert_eq!(checker.cached_domains(), 4);
}

#[tokio::test]
async fn transient_failures_are_never_cached() {
    let checker = checker_with(common::oracle_dns(), CacheConfig::default());
    for _ in 0..3 {
        assert_eq!(
            checker
                .rcpt_to("<u@broken-dns.com>", CheckOptions::default())
                .await
                .code(),
            450
        );
    }
    assert_eq!(checker.resolver().query_count_of(QueryType::Mx), 3);
}

#[tokio::test]
async fn ttls_bound_the_entries() {
    // Caps of zero: nothing outlives its lookup.
    let mut config = CacheConfig::default();
    config.max_positive_ttl = Duration::ZERO;
    config.max_negative_ttl = Duration::ZERO;
    let checker = checker_with(common::oracle_dns(), config);
    checker
        .rcpt_to("<u@northwind-traders.com>", CheckOptions::default())
        .await;
    checker
        .rcpt_to("<u@globex-nonexistent.com>", CheckOptions::default())
        .await;
    checker
        .rcpt_to("<u@northwind-traders.com>", CheckOptions::default())
        .await;
    checker
        .rcpt_to("<u@globex-nonexistent.com>", CheckOptions::default())
        .await;
    assert_eq!(checker.resolver().query_count(), 4);

    // A 1-second TTL and a zero negative TTL in the zone itself.
    let zone =
        "$ORIGIN example.\n@ 1 IN SOA ns. h. 1 1 1 1 0\nshort 1 IN MX 10 mx.short.example.\n";
    let checker = checker_with(
        InMemoryResolver::from_zone_text(zone).unwrap(),
        CacheConfig::default(),
    );
    checker
        .rcpt_to("<u@short.example>", CheckOptions::default())
        .await;
    checker
        .rcpt_to("<u@short.example>", CheckOptions::default())
        .await;
    assert_eq!(checker.resolver().query_count(), 1, "within the TTL");
    checker
        .rcpt_to("<u@nx.example>", CheckOptions::default())
        .await;
    checker
        .rcpt_to("<u@nx.example>", CheckOptions::default())
        .await;
    assert_eq!(
        checker.resolver().query_count(),
        3,
        "negative TTL 0: not cached"
    );
    tokio::time::sleep(Duration::from_millis(1100)).await;
    checker
        .rcpt_to("<u@short.example>", CheckOptions::default())
        .await;
    assert_eq!(checker.resolver().query_count(), 4, "expired after its TTL");
}

#[tokio::test]
async fn memory_is_bounded_by_capacity() {
    let mut config = CacheConfig::default();
    config.capacity = 100;
    let checker = checker_with(common::oracle_dns(), config);
    for i in 0..5_000 {
        checker
            .rcpt_to(
                &format!("<u@random-{i}.example.com>"),
                CheckOptions::default(),
            )
            .await;
    }
    let held = checker.cached_domains();
    assert!(held <= 100, "{held} entries for a capacity of 100");
    assert!(held > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_checks_of_one_domain_share_one_lookup() {
    let mut dns = common::oracle_dns();
    dns.set_latency(Some(Duration::from_millis(50)));
    let checker = checker_with(dns, CacheConfig::default());
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let checker = checker.clone();
            let address = if i % 2 == 0 {
                "<a@webshop-a-only.de>"
            } else {
                "<b@WebShop-A-Only.DE>"
            };
            tokio::spawn(async move { checker.rcpt_to(address, CheckOptions::default()).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().to_string(), "250 2.1.5 Ok");
    }
    // One MX, then A and AAAA: one set of queries for 64 checks.
    assert_eq!(checker.resolver().query_count_of(QueryType::Mx), 1);
    assert!(checker.resolver().query_count() <= 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn waiters_share_a_transient_result_but_later_checks_ask_again() {
    let mut dns = common::oracle_dns();
    dns.set_latency(Some(Duration::from_millis(50)));
    let checker = checker_with(dns, CacheConfig::default());
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let checker = checker.clone();
            tokio::spawn(async move {
                checker
                    .rcpt_to("<u@broken-dns.com>", CheckOptions::default())
                    .await
            })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().code(), 450);
    }
    let shared = checker.resolver().query_count_of(QueryType::Mx);
    assert_eq!(shared, 1, "in-flight checks share the lookup");
    checker
        .rcpt_to("<u@broken-dns.com>", CheckOptions::default())
        .await;
    assert_eq!(
        checker.resolver().query_count_of(QueryType::Mx),
        2,
        "not served later"
    );
}

#[tokio::test(start_paused = true)]
async fn waiting_for_another_lookup_respects_the_deadline() {
    let mut dns = InMemoryResolver::new();
    dns.add_fault("hang.example", Fault::Hang).unwrap();
    let policy = Policy::builder()
        .deadline(Duration::from_millis(300))
        .build()
        .unwrap();
    let checker = Arc::new(Checker::new(dns, policy));
    let start = tokio::time::Instant::now();
    let a = tokio::spawn({
        let c = checker.clone();
        async move { c.rcpt_to("<a@hang.example>", CheckOptions::default()).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let b = checker
        .rcpt_to("<b@hang.example>", CheckOptions::default())
        .await;
    assert_eq!(b.code(), 450);
    // The lookup under way gives up at 300 ms and its 450 is shared with the
    // waiter, which would otherwise have stopped at its own deadline, 400 ms.
    assert_eq!(start.elapsed(), Duration::from_millis(300));
    assert_eq!(a.await.unwrap().code(), 450);
}
