//! The `Checker`'s DNS strategy: query order, query budget, concurrency,
//! deadlines; and engine table tests.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use envelope_check::CheckOptions;
use envelope_check::engine::{DnsEvidence, decide_recipient, decide_sender};
use envelope_check::{
    Checker, DnsOutcome, Fault, InMemoryResolver, Policy, QueryType, Reason, Record, Resolver,
    Rule, Transient, Verdict, parse_forward_path, parse_reverse_path,
};
use mockall::{Sequence, mock, predicate::eq};

mock! {
    Dns {}
    #[async_trait]
    impl Resolver for Dns {
        async fn query(&self, name: &str, qtype: QueryType) -> DnsOutcome;
    }
}

fn mx(exchange: &str) -> DnsOutcome {
    DnsOutcome::Records {
        records: vec![Record::Mx {
            preference: 10,
            exchange: exchange.into(),
        }],
        ttl: 300,
    }
}

fn a() -> DnsOutcome {
    DnsOutcome::Records {
        records: vec![Record::A("192.0.2.1".parse().unwrap())],
        ttl: 300,
    }
}

const NODATA: DnsOutcome = DnsOutcome::NoData {
    negative_ttl: Some(60),
};
const NXDOMAIN: DnsOutcome = DnsOutcome::NxDomain {
    negative_ttl: Some(60),
};

fn policy() -> Policy {
    Policy::builder()
        .deadline(Duration::from_millis(500))
        .build()
        .unwrap()
}

#[tokio::test]
async fn mx_domain_costs_one_query() {
    let mut dns = MockDns::new();
    dns.expect_query()
        .with(eq("example.com."), eq(QueryType::Mx))
        .times(1)
        .returning(|_, _| mx("mx.example.com."));
    let v = Checker::new(dns, policy())
        .rcpt_to("<u@Example.COM>", CheckOptions::default())
        .await;
    assert_eq!(v.to_string(), "250 2.1.5 Ok");
}

#[tokio::test]
async fn nxdomain_ends_the_lookup() {
    let mut dns = MockDns::new();
    dns.expect_query()
        .with(eq("nx.example."), eq(QueryType::Mx))
        .times(1)
        .returning(|_, _| NXDOMAIN);
    let v = Checker::new(dns, policy())
        .mail_from("<u@nx.example>", CheckOptions::default())
        .await;
    assert_eq!(
        v.to_string(),
        "550 5.1.8 <u@nx.example>: Sender address rejected: Domain not found"
    );
}

#[tokio::test]
async fn nodata_asks_a_and_aaaa_after_mx() {
    let mut dns = MockDns::new();
    let mut seq = Sequence::new();
    dns.expect_query()
        .with(eq("a-only.example."), eq(QueryType::Mx))
        .times(1)
        .in_sequence(&mut seq)
        .returning(|_, _| NODATA);
    dns.expect_query()
        .with(eq("a-only.example."), eq(QueryType::A))
        .times(1)
        .returning(|_, _| a());
    // AAAA is asked at the same time as A; a positive A may end the race
    // before AAAA is polled, so it is asked at most once.
    dns.expect_query()
        .with(eq("a-only.example."), eq(QueryType::Aaaa))
        .times(0..=1)
        .returning(|_, _| NODATA);
    let v = Checker::new(dns, policy())
        .rcpt_to("<u@a-only.example>", CheckOptions::default())
        .await;
    assert_eq!(v.to_string(), "250 2.1.5 Ok");
}

#[tokio::test]
async fn nodata_everywhere_is_unknown_with_three_queries() {
    let mut dns = MockDns::new();
    for qtype in [QueryType::Mx, QueryType::A, QueryType::Aaaa] {
        dns.expect_query()
            .with(eq("txt.example."), eq(qtype))
            .times(1)
            .returning(|_, _| NODATA);
    }
    let v = Checker::new(dns, policy())
        .rcpt_to("<u@txt.example>", CheckOptions::default())
        .await;
    assert_eq!(v.reject().unwrap().reason(), Reason::UnknownDomain);
}

#[tokio::test]
async fn mx_failure_still_accepts_on_an_address_like_postfix() {
    let mut dns = MockDns::new();
    dns.expect_query()
        .with(eq("flaky.example."), eq(QueryType::Mx))
        .times(1)
        .returning(|_, _| DnsOutcome::Transient(Transient::ServFail));
    dns.expect_query()
        .with(eq("flaky.example."), eq(QueryType::A))
        .times(1)
        .returning(|_, _| NODATA);
    dns.expect_query()
        .with(eq("flaky.example."), eq(QueryType::Aaaa))
        .times(1)
        .returning(|_, _| NODATA);
    let v = Checker::new(dns, policy())
        .rcpt_to("<u@flaky.example>", CheckOptions::default())
        .await;
    assert_eq!(
        v.to_string(),
        "450 4.1.2 <u@flaky.example>: Recipient address rejected: Domain not found"
    );
    assert_eq!(
        v.reject().unwrap().reason(),
        Reason::TemporaryFailure(Transient::ServFail)
    );
}

#[tokio::test]
async fn no_dns_for_exemptions_literals_local_domains_and_non_fqdn() {
    // A mock with no expectations panics on any query.
    let policy = Policy::builder()
        .local_domain("mx.local.example")
        .approve_sender("vip@nx.example")
        .build()
        .unwrap();
    let checker = Checker::new(MockDns::new(), policy);
    assert!(
        checker
            .mail_from("<>", CheckOptions::default())
            .await
            .is_accept()
    );
    assert!(
        checker
            .rcpt_to("<POSTMASTER>", CheckOptions::default())
            .await
            .is_accept()
    );
    assert!(
        checker
            .rcpt_to("<u@[192.0.2.1]>", CheckOptions::default())
            .await
            .is_accept()
    );
    assert!(
        checker
            .rcpt_to("<u@mx.local.example>", CheckOptions::default())
            .await
            .is_accept()
    );
    assert!(
        checker
            .mail_from("<VIP@nx.example.>", CheckOptions::default())
            .await
            .is_accept()
    );
    assert_eq!(
        checker
            .rcpt_to("<u@mail>", CheckOptions::default())
            .await
            .code(),
        504
    );
    assert_eq!(
        checker
            .rcpt_to("<u@>", CheckOptions::default())
            .await
            .code(),
        501
    );
    let long = format!("<u@{}com>", "a.".repeat(126));
    assert_eq!(
        checker.rcpt_to(&long, CheckOptions::default()).await.code(),
        550,
        "too long for DNS: no query"
    );
}

/// A resolver whose answers take a fixed time per type.
struct Timed(HashMap<QueryType, (u64, DnsOutcome)>);

#[async_trait]
impl Resolver for Timed {
    async fn query(&self, _name: &str, qtype: QueryType) -> DnsOutcome {
        let (ms, outcome) = self.0[&qtype].clone();
        tokio::time::sleep(Duration::from_millis(ms)).await;
        outcome
    }
}

#[tokio::test(start_paused = true)]
async fn a_and_aaaa_are_asked_concurrently() {
    let dns = Timed(HashMap::from([
        (QueryType::Mx, (20, NODATA)),
        (QueryType::A, (20, NODATA)),
        (
            QueryType::Aaaa,
            (
                20,
                DnsOutcome::Records {
                    records: vec![Record::Aaaa("2001:db8::1".parse().unwrap())],
                    ttl: 60,
                },
            ),
        ),
    ]));
    let start = tokio::time::Instant::now();
    let v = Checker::new(dns, policy())
        .rcpt_to("<u@six.example>", CheckOptions::default())
        .await;
    assert!(v.is_accept());
    // Virtual time: two round trips, not three.
    assert_eq!(start.elapsed(), Duration::from_millis(40));
}

#[tokio::test(start_paused = true)]
async fn the_first_positive_answer_wins() {
    let dns = Timed(HashMap::from([
        (QueryType::Mx, (20, NODATA)),
        (QueryType::A, (20, a())),
        (QueryType::Aaaa, (10_000, NODATA)),
    ]));
    let start = tokio::time::Instant::now();
    let v = Checker::new(dns, policy())
        .rcpt_to("<u@four.example>", CheckOptions::default())
        .await;
    assert!(v.is_accept());
    assert_eq!(
        start.elapsed(),
        Duration::from_millis(40),
        "a slow AAAA is not awaited"
    );
}

#[tokio::test(start_paused = true)]
async fn a_hanging_server_gives_450_at_the_deadline() {
    let mut dns = InMemoryResolver::new();
    dns.add_fault("hang.example", Fault::Hang).unwrap();
    let policy = Policy::builder()
        .deadline(Duration::from_secs(3))
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    let v = Checker::new(dns, policy)
        .mail_from("<u@hang.example>", CheckOptions::default())
        .await;
    assert_eq!(start.elapsed(), Duration::from_secs(3));
    assert_eq!(
        v.to_string(),
        "450 4.1.8 <u@hang.example>: Sender address rejected: Domain not found"
    );
    assert_eq!(
        v.reject().unwrap().reason(),
        Reason::TemporaryFailure(Transient::Deadline)
    );
}

#[tokio::test]
async fn query_budget_on_the_oracle_zone() {
    let checker = common::oracle_checker();
    let dns = checker.resolver();
    for (address, budget) in [
        ("<u@northwind-traders.com>", 1),
        ("<u@globex-nonexistent.com>", 1),
        ("<u@alias-to-good.net>", 1),
        ("<u@webshop-a-only.de>", 3),
        ("<u@sixonly-hosting.net>", 3),
        ("<u@txtonly-corp.com>", 3),
        ("<u@nullmx-only.org>", 1),
    ] {
        dns.reset_query_count();
        checker.rcpt_to(address, CheckOptions::default()).await;
        assert!(
            dns.query_count() <= budget,
            "{address}: {} queries",
            dns.query_count()
        );
        assert_eq!(
            dns.query_count_of(QueryType::Mx),
            1,
            "{address}: MX first, once"
        );
    }
}

fn sender(evidence: DnsEvidence) -> Verdict {
    let path = parse_reverse_path("<Who@Example.COM>", false).unwrap();
    decide_sender(&path, &Policy::default(), &evidence)
}

fn recipient(evidence: DnsEvidence) -> Verdict {
    let path = parse_forward_path("<Who@Example.COM>", false).unwrap();
    decide_recipient(&path, &Policy::default(), &evidence)
}

#[test]
fn engine_table() {
    let ev = |mx: Option<DnsOutcome>, a: Option<DnsOutcome>, aaaa: Option<DnsOutcome>| {
        DnsEvidence { mx, a, aaaa }
    };
    let null_mx = DnsOutcome::Records {
        records: vec![
            Record::Mx {
                preference: 10,
                exchange: "mx.example.com.".into(),
            },
            Record::Mx {
                preference: 20,
                exchange: ".".into(),
            },
        ],
        ttl: 1,
    };
    let servfail = DnsOutcome::Transient(Transient::ServFail);
    let table: Vec<(DnsEvidence, &str, &str)> = vec![
        (
            ev(Some(mx("mx.example.com.")), None, None),
            "250 2.1.0 Ok",
            "250 2.1.5 Ok",
        ),
        (
            ev(Some(NXDOMAIN), None, None),
            "550 5.1.8 <Who@Example.COM>: Sender address rejected: Domain not found",
            "550 5.1.2 <Who@Example.COM>: Recipient address rejected: Domain not found",
        ),
        (
            ev(Some(null_mx), None, None),
            "550 5.7.27 <Who@Example.COM>: Sender address rejected: Domain example.com does not accept mail (nullMX)",
            "556 5.1.10 <Who@Example.COM>: Recipient address rejected: Domain example.com does not accept mail (nullMX)",
        ),
        (
            ev(Some(NODATA), Some(a()), None),
            "250 2.1.0 Ok",
            "250 2.1.5 Ok",
        ),
        (
            ev(Some(NODATA), Some(NODATA), Some(NODATA)),
            "550 5.1.8 <Who@Example.COM>: Sender address rejected: Domain not found",
            "550 5.1.2 <Who@Example.COM>: Recipient address rejected: Domain not found",
        ),
        (
            ev(Some(NODATA), Some(NODATA), Some(servfail.clone())),
            "450 4.1.8 <Who@Example.COM>: Sender address rejected: Domain not found",
            "450 4.1.2 <Who@Example.COM>: Recipient address rejected: Domain not found",
        ),
        (
            ev(Some(servfail), Some(a()), Some(NODATA)),
            "250 2.1.0 Ok",
            "250 2.1.5 Ok",
        ),
        (
            ev(Some(NODATA), Some(NODATA), None),
            "450 4.1.8 <Who@Example.COM>: Sender address rejected: Domain not found",
            "450 4.1.2 <Who@Example.COM>: Recipient address rejected: Domain not found",
        ),
        (
            ev(None, None, None),
            "450 4.1.8 <Who@Example.COM>: Sender address rejected: Domain not found",
            "450 4.1.2 <Who@Example.COM>: Recipient address rejected: Domain not found",
        ),
    ];
    for (evidence, want_sender, want_recipient) in table {
        assert_eq!(
            sender(evidence.clone()).to_string(),
            want_sender,
            "{evidence:?}"
        );
        assert_eq!(
            recipient(evidence.clone()).to_string(),
            want_recipient,
            "{evidence:?}"
        );
        let v = sender(evidence);
        assert_eq!(v.rule(), Rule::Dns);
        if v.code() >= 500 {
            assert!(v.is_permanent());
        }
    }
}

#[test]
fn policy_codes_and_opt_ins() {
    let p = Policy::builder()
        .unknown_domain_code(450)
        .non_fqdn_code(450)
        .build()
        .unwrap();
    let path = parse_reverse_path("<u@nx.example>", false).unwrap();
    let v = decide_sender(
        &path,
        &p,
        &DnsEvidence {
            mx: Some(NXDOMAIN),
            ..Default::default()
        },
    );
    assert_eq!(
        v.to_string(),
        "450 4.1.8 <u@nx.example>: Sender address rejected: Domain not found"
    );
    let path = parse_reverse_path("<u@mail>", false).unwrap();
    assert_eq!(
        decide_sender(&path, &p, &DnsEvidence::default()).to_string(),
        "450 4.5.2 <u@mail>: Sender address rejected: need fully-qualified address"
    );
    assert!(Policy::builder().unknown_domain_code(250).build().is_err());

    let p = Policy::builder()
        .reject_public_suffix(true)
        .reject_special_use(true)
        .accept_literals(false)
        .build()
        .unwrap();
    let check = |s: &str| {
        let path = parse_forward_path(s, false).unwrap();
        decide_recipient(&path, &p, &DnsEvidence::default())
    };
    assert_eq!(
        check("<u@co.uk>").reject().unwrap().reason(),
        Reason::PublicSuffix
    );
    assert_eq!(
        check("<u@host.invalid>").reject().unwrap().reason(),
        Reason::SpecialUse
    );
    assert_eq!(
        check("<u@[192.0.2.1]>").to_string(),
        "550 5.1.2 <u@[192.0.2.1]>: Recipient address rejected: Address literals are not accepted"
    );
}

#[test]
fn approved_senders_apply_inbound_only_and_never_to_non_fqdn() {
    use envelope_check::Direction;
    let build = |d| {
        Policy::builder()
            .direction(d)
            .approve_sender("vip@nx.example")
            .approve_subdomains("trusted.example")
            .approve_sender("whole.example")
            .approve_sender("partner@intranet")
            .approve_sender("postmaster@")
            .build()
            .unwrap()
    };
    let nx = DnsEvidence {
        mx: Some(NXDOMAIN),
        ..Default::default()
    };
    let check = |p: &Policy, s: &str| {
        let path = parse_reverse_path(s, false).unwrap();
        decide_sender(&path, p, &nx)
    };
    let inbound = build(Direction::Inbound);
    for ok in [
        "<vip@nx.example>",
        "<\"VIP\"@NX.example.>",
        "<a@b.trusted.example>",
        "<any@whole.example>",
        // A domain key covers its subdomains too, as in a Postfix access map.
        "<a@sub.whole.example>",
        // `user@`: that local part at any domain.
        "<PostMaster@nx.example>",
    ] {
        assert_eq!(check(&inbound, ok).rule(), Rule::SenderAccess, "{ok}");
    }
    for not in [
        "<other@nx.example>",
        "<a@trusted.example>",
        "<a@notwhole.example>",
        "<postmaster.x@nx.example>",
    ] {
        assert_eq!(check(&inbound, not).code(), 550, "{not}");
    }
    assert_eq!(check(&inbound, "<partner@intranet>").code(), 504);
    assert_eq!(
        check(&build(Direction::Outbound), "<vip@nx.example>").code(),
        550
    );
    // Key forms a Postfix map never matches are refused, not silently dead.
    for dead in [".trusted.example", "*.trusted.example", "@whole.example"] {
        assert!(
            matches!(
                Policy::builder().approve_sender(dead).build(),
                Err(envelope_check::PolicyError::UnmatchableKey(_))
            ),
            "{dead}"
        );
    }
    // Recipients are never approved.
    let path = parse_forward_path("<vip@nx.example>", false).unwrap();
    assert_eq!(decide_recipient(&path, &inbound, &nx).code(), 550);
}

/// "No data" has one form: a backend's empty record list is stored, and
/// shown in the evidence, as NODATA.
#[tokio::test]
async fn an_empty_record_list_is_nodata() {
    struct Empty;
    #[envelope_check::async_trait]
    impl Resolver for Empty {
        async fn query(&self, _: &str, _: QueryType) -> DnsOutcome {
            DnsOutcome::Records {
                records: Vec::new(),
                ttl: 30,
            }
        }
    }
    let checker = Checker::new(Empty, Policy::default());
    let v = checker
        .rcpt_to("<a@empty.example>", CheckOptions::default().explain(true))
        .await;
    assert_eq!(v.code(), 550);
    let evidence = v.evidence().unwrap();
    assert!(
        evidence
            .queries
            .iter()
            .all(|q| q.outcome == Some(DnsOutcome::NoData { negative_ttl: None })),
        "{evidence:?}"
    );
}
