//! `InMemoryResolver` answers as a recursive resolver in front of the
//! oracle's zone would (the zone's own comments state the expectations).

mod common;

use envelope_check::{
    DnsOutcome, Fault, InMemoryResolver, LoadError, QueryType, Record, Resolver, Transient,
    ZoneData, parse_zone,
};
use proptest::prelude::*;

async fn q(dns: &InMemoryResolver, name: &str, qtype: QueryType) -> DnsOutcome {
    dns.query(name, qtype).await
}

#[tokio::test]
async fn answers_nodata_and_nxdomain_with_ttls() {
    let dns = common::oracle_dns();
    match q(&dns, "northwind-traders.com.", QueryType::Mx).await {
        DnsOutcome::Records { records, ttl } => {
            assert_eq!(ttl, 300);
            assert_eq!(records.len(), 2);
            assert!(records.contains(&Record::Mx {
                preference: 10,
                exchange: "mx1.northwind-traders.com.".into()
            }));
        }
        other => panic!("{other:?}"),
    }
    // Negative TTL: min(SOA TTL 300, SOA minimum 60).
    assert_eq!(
        q(&dns, "txtonly-corp.com.", QueryType::Mx).await,
        DnsOutcome::NoData {
            negative_ttl: Some(60)
        }
    );
    assert_eq!(
        q(&dns, "nowhere-xyz.com.", QueryType::Mx).await,
        DnsOutcome::NxDomain {
            negative_ttl: Some(60)
        }
    );
    // Case does not matter.
    assert!(
        q(&dns, "NorthWind-Traders.COM.", QueryType::Mx)
            .await
            .is_positive()
    );
}

#[tokio::test]
async fn empty_non_terminals_and_wildcards() {
    let dns = common::oracle_dns();
    assert!(matches!(
        q(&dns, "mail.ent-only.com.", QueryType::Mx).await,
        DnsOutcome::NoData { .. }
    ));
    assert!(matches!(
        q(&dns, "ent-only.com.", QueryType::A).await,
        DnsOutcome::NoData { .. }
    ));
    assert!(matches!(
        q(&dns, "x.ent-only.com.", QueryType::A).await,
        DnsOutcome::NxDomain { .. }
    ));
    // *.wildcard-hosting.com MX: synthesized below, not at the apex, not for
    // an explicit name, and not below an explicit name.
    assert!(
        q(&dns, "shop.wildcard-hosting.com.", QueryType::Mx)
            .await
            .is_positive()
    );
    assert!(
        q(&dns, "a.b.wildcard-hosting.com.", QueryType::Mx)
            .await
            .is_positive()
    );
    assert!(matches!(
        q(&dns, "wildcard-hosting.com.", QueryType::Mx).await,
        DnsOutcome::NoData { .. }
    ));
    assert!(matches!(
        q(&dns, "mx.wildcard-hosting.com.", QueryType::Mx).await,
        DnsOutcome::NoData { .. }
    ));
    assert!(matches!(
        q(&dns, "x.mx.wildcard-hosting.com.", QueryType::Mx).await,
        DnsOutcome::NxDomain { .. }
    ));
    assert!(matches!(
        q(&dns, "x.txt-wild.org.", QueryType::Mx).await,
        DnsOutcome::NoData { .. }
    ));
}

#[tokio::test]
async fn cname_chains_and_loops() {
    let dns = common::oracle_dns();
    assert!(
        q(&dns, "cname-chain.net.", QueryType::Mx)
            .await
            .is_positive()
    );
    assert!(matches!(
        q(&dns, "dangling-cname.com.", QueryType::Mx).await,
        DnsOutcome::NxDomain { .. }
    ));
    assert!(matches!(
        q(&dns, "cname-to-txtonly.net.", QueryType::Mx).await,
        DnsOutcome::NoData { .. }
    ));
    assert_eq!(
        q(&dns, "loop-a.org.", QueryType::Mx).await,
        DnsOutcome::Transient(Transient::ServFail)
    );
    assert_eq!(
        q(&dns, "self-cname.net.", QueryType::A).await,
        DnsOutcome::Transient(Transient::ServFail)
    );
    // An MX exchange that is a CNAME target is not followed for MX queries of
    // the domain itself, only the owner's chain is.
    assert!(
        q(&dns, "mx-to-cname.com.", QueryType::Mx)
            .await
            .is_positive()
    );
}

#[tokio::test]
async fn faults_cover_the_subtree_and_chains_into_it() {
    let dns = common::oracle_dns();
    assert_eq!(
        q(&dns, "broken-dns.com.", QueryType::Mx).await,
        DnsOutcome::Transient(Transient::ServFail)
    );
    assert_eq!(
        q(&dns, "mx.broken-dns.com.", QueryType::A).await,
        DnsOutcome::Transient(Transient::ServFail)
    );
    assert_eq!(
        q(&dns, "slow-dns.net.", QueryType::Aaaa).await,
        DnsOutcome::Transient(Transient::Timeout)
    );
    assert!(
        q(&dns, "not-broken-dns.com.", QueryType::Mx)
            .await
            .is_definite_negative()
    );
    let mut dns = common::oracle_dns();
    dns.add_fault("northwind-traders.com", Fault::Refused)
        .unwrap();
    assert_eq!(
        q(&dns, "alias-to-good.net.", QueryType::Mx).await,
        DnsOutcome::Transient(Transient::Refused)
    );
}

#[tokio::test]
async fn counts_queries_by_type() {
    let dns = common::oracle_dns();
    q(&dns, "a.com.", QueryType::Mx).await;
    q(&dns, "a.com.", QueryType::A).await;
    q(&dns, "a.com.", QueryType::A).await;
    assert_eq!(dns.query_count(), 3);
    assert_eq!(dns.query_count_of(QueryType::A), 2);
    dns.reset_query_count();
    assert_eq!(dns.query_count(), 0);
}

#[tokio::test]
async fn built_in_code() {
    let mut dns = InMemoryResolver::new();
    dns.add_mx("example.net", 10, "mx.example.net").unwrap();
    dns.add_a("a.example.net", "192.0.2.1".parse().unwrap())
        .unwrap();
    dns.add_cname("www.example.net", "a.example.net").unwrap();
    assert!(q(&dns, "example.net.", QueryType::Mx).await.is_positive());
    assert!(
        q(&dns, "www.example.net.", QueryType::A)
            .await
            .is_positive()
    );
    assert!(matches!(
        q(&dns, "www.example.net.", QueryType::Mx).await,
        DnsOutcome::NoData { negative_ttl: None }
    ));
}

#[test]
fn load_errors_carry_line_numbers() {
    let mut dns = InMemoryResolver::new();
    let err = dns
        .load_faults("# comment\nok.example servfail\nbad.example explode\n")
        .unwrap_err();
    assert!(matches!(err, LoadError::Fault { line: 3, .. }), "{err}");
    let zone = "$ORIGIN example.\n@ 300 IN SOA ns. h. (\n  1 2 3 4\n  60 )\nmx 300 IN MX ten mx.example.\n";
    match InMemoryResolver::from_zone_text(zone) {
        Err(LoadError::Zone { line, .. }) => assert_eq!(line, 5),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn dname_rewrites_the_suffix_below_its_owner() {
    let dns = InMemoryResolver::from_zone_text(
        "$TTL 300\n$ORIGIN example.\n@ IN SOA ns. host. 1 1 1 1 60\n\
         old IN DNAME new.example.\n\
         ; a relative target, an explicit TTL and an owner-less line\n\
         other 120 IN TXT \"x\"\n  IN DNAME new\n\
         *.new IN MX 10 mx.example.\n\
         mail.new IN A 192.0.2.1\n",
    )
    .unwrap();
    // Below the owner: rewritten, then the wildcard answers.
    match q(&dns, "shop.old.example.", QueryType::Mx).await {
        DnsOutcome::Records { records, ttl } => {
            assert_eq!(records.len(), 1);
            assert_eq!(ttl, 300);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        q(&dns, "mail.old.example.", QueryType::A)
            .await
            .is_positive()
    );
    assert!(
        q(&dns, "a.other.example.", QueryType::Mx)
            .await
            .is_positive()
    );
    // The owner itself is a name without MX: NODATA, not rewritten.
    assert!(matches!(
        q(&dns, "old.example.", QueryType::Mx).await,
        DnsOutcome::NoData { .. }
    ));
}

#[tokio::test]
async fn a_lame_delegation_is_a_temporary_failure() {
    let mut dns = InMemoryResolver::from_zone_text(
        "$TTL 300\n$ORIGIN example.\n@ IN SOA ns. host. 1 1 1 1 60\n@ IN NS ns.example.\n\
         child IN NS ns.nowhere.\nserved IN NS ns.example.\n",
    )
    .unwrap();
    // A resolver cannot reach the child zone: SERVFAIL at and below the cut.
    for name in ["child.example.", "a.child.example."] {
        assert_eq!(
            q(&dns, name, QueryType::Mx).await,
            DnsOutcome::Transient(Transient::ServFail),
            "{name}"
        );
    }
    // The apex's own NS is no cut; a child zone loaded here is served.
    assert!(matches!(
        q(&dns, "example.", QueryType::Mx).await,
        DnsOutcome::NoData { .. }
    ));
    dns.load_zone("$TTL 300\n$ORIGIN served.example.\n@ IN SOA ns. host. 1 1 1 1 60\n@ IN MX 10 mx.example.\n")
        .unwrap();
    assert!(
        q(&dns, "served.example.", QueryType::Mx)
            .await
            .is_positive()
    );
}

#[test]
fn parse_zone_reads_the_oracle_zone_as_the_resolver_does() {
    let zone = parse_zone(common::ZONE).unwrap();
    assert_eq!(zone.origin, ".");
    let gw = zone
        .records
        .iter()
        .find(|r| r.owner == "smtp_gw.northwind-traders.com.")
        .expect("underscore label read");
    assert_eq!(gw.ttl, 300);
    assert_eq!(gw.data, ZoneData::A("198.51.100.27".parse().unwrap()));
    assert!(zone.records.iter().any(|r| matches!(
        &r.data,
        ZoneData::Soa {
            minimum: 60,
            serial: 2024060101,
            ..
        }
    )));
    let extra = parse_zone(common::ZONE_EXTRA).unwrap();
    assert!(
        extra
            .records
            .iter()
            .any(|r| matches!(r.data, ZoneData::Dname(_)))
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Zone text from anywhere never panics the reader, and what it accepts
    /// the resolver loads.
    #[test]
    fn any_zone_text_is_read_or_refused(
        text in prop_oneof![
            "[ -~\t\n;()\"$@.]{0,200}",
            "(\\$TTL 60\n|\\$ORIGIN [a-z.]{1,12}\n|[a-z@*_.]{0,12}[ \t]+(IN |[0-9]{1,6}[smhdw]? ){0,2}(MX [0-9]{1,3} |A |AAAA |CNAME |DNAME |NS |SOA |TXT )[a-z0-9:.\" ()]{0,30}\n){0,8}",
            any::<String>(),
        ]
    ) {
        if parse_zone(&text).is_ok() {
            prop_assert!(InMemoryResolver::from_zone_text(&text).is_ok());
        }
    }
}
