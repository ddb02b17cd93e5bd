//! `HickoryResolver` against real DNS servers on 127.0.0.1: the oracle
//! corpus through an in-process hickory-server, the mapping of every
//! outcome, and the fault matrix.
#![cfg(feature = "hickory")]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::dns::{Behaviour, OracleServer, RawServer, loopback_config};
use envelope_check::CheckOptions;
use envelope_check::hickory_resolver::config::{ResolveHosts, ResolverConfig, ResolverOpts};
use envelope_check::{
    Checker, DnsOutcome, HickoryError, HickoryOptions, HickoryResolver, Policy, QueryType,
    Resolver, Transient,
};
use hickory_server::proto::op::ResponseCode;

fn options(timeout_ms: u64) -> HickoryOptions {
    let mut o = HickoryOptions::default();
    o.timeout = Duration::from_millis(timeout_ms);
    o.attempts = 0;
    o
}

fn resolver(addr: SocketAddr, timeout_ms: u64) -> HickoryResolver {
    HickoryResolver::with_name_servers(&[addr], options(timeout_ms)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_oracle_row_gives_the_same_reply_as_in_memory() {
    let server = OracleServer::start().await;
    let hickory = Checker::new(resolver(server.addr, 300), common::oracle_policy());
    let memory = common::oracle_checker();
    let deviations = common::deviations();
    let mut failures = Vec::new();
    let mut n = 0;
    for case in common::cases().iter().filter(|c| c.in_scope()) {
        let (got, want) = if case.is_mail() {
            let arg = case.mail_argument();
            (
                hickory.mail_from(&arg, CheckOptions::default()).await,
                memory.mail_from(&arg, CheckOptions::default()).await,
            )
        } else {
            (
                hickory
                    .rcpt_to(
                        &case.address,
                        CheckOptions::default().smtputf8(case.smtputf8),
                    )
                    .await,
                memory
                    .rcpt_to(
                        &case.address,
                        CheckOptions::default().smtputf8(case.smtputf8),
                    )
                    .await,
            )
        };
        let oracle = common::our_reply(case, &deviations);
        if got.to_string() != want.to_string() || got.to_string() != oracle {
            failures.push(format!(
                "{} {}\n  hickory {got}\n  memory  {want}\n  oracle  {oracle}",
                case.id, case.address
            ));
        }
        n += 1;
    }
    assert!(
        failures.is_empty(),
        "{} rows differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(n, common::IN_SCOPE);
}

#[tokio::test]
async fn outcomes_map_to_typed_answers() {
    use Behaviour::*;
    type Expect = fn(&DnsOutcome) -> bool;
    let cases: Vec<(Behaviour, Expect)> = vec![
        (Positive, |o| o.is_positive()),
        (NoData, |o| {
            *o == DnsOutcome::NoData {
                negative_ttl: Some(42),
            }
        }),
        (NxDomain, |o| {
            *o == DnsOutcome::NxDomain {
                negative_ttl: Some(42),
            }
        }),
        (Rcode(ResponseCode::ServFail), |o| {
            o.transient() == Some(Transient::ServFail)
        }),
        (Rcode(ResponseCode::Refused), |o| {
            o.transient() == Some(Transient::Refused)
        }),
        (Rcode(ResponseCode::FormErr), |o| {
            o.transient() == Some(Transient::Rcode(1))
        }),
        (Rcode(ResponseCode::NotImp), |o| {
            o.transient() == Some(Transient::Rcode(4))
        }),
        (Silent, |o| o.transient() == Some(Transient::Timeout)),
        (Truncated, |o| o.is_positive()),
        (Slow(50), |o| o.is_positive()),
        (Slow(1500), |o| o.transient() == Some(Transient::Timeout)),
        (Malformed, |o| o.transient().is_some()),
    ];
    for (behaviour, ok) in cases {
        let server = RawServer::start(behaviour, behaviour, behaviour).await;
        let dns = resolver(server.addr, 400);
        for qtype in [QueryType::Mx, QueryType::A, QueryType::Aaaa] {
            let outcome = dns.query("host.example.", qtype).await;
            assert!(ok(&outcome), "{behaviour:?} {qtype}: {outcome:?}");
            if let DnsOutcome::Records { records, ttl } = &outcome {
                assert_eq!(*ttl, 120);
                assert_eq!(records.len(), 1);
            }
        }
    }
}

#[tokio::test]
async fn a_closed_port_is_transient() {
    // Bind and drop to find a port nothing listens on.
    let addr = std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let outcome = resolver(addr, 200)
        .query("host.example.", QueryType::Mx)
        .await;
    assert!(outcome.transient().is_some(), "{outcome:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fault_matrix_never_gives_a_5xx() {
    use Behaviour::*;
    let faults = [
        Rcode(ResponseCode::ServFail),
        Rcode(ResponseCode::Refused),
        Rcode(ResponseCode::FormErr),
        Silent,
        Slow(2000),
        Malformed,
    ];
    let policy = Policy::builder()
        .deadline(Duration::from_secs(1))
        .build()
        .unwrap();
    for fault in faults {
        for stage in [QueryType::Mx, QueryType::A, QueryType::Aaaa] {
            // Every other stage answers a definite negative: without the
            // fault this domain would get 550.
            let at = |q| if q == stage { fault } else { NoData };
            let server =
                RawServer::start(at(QueryType::Mx), at(QueryType::A), at(QueryType::Aaaa)).await;
            let checker = Checker::new(resolver(server.addr, 300), policy.clone());
            let run = async {
                (
                    checker
                        .mail_from("<u@host.example>", CheckOptions::default())
                        .await,
                    checker
                        .rcpt_to("<u@host.example>", CheckOptions::default())
                        .await,
                )
            };
            let (s, r) = tokio::time::timeout(Duration::from_secs(5), run)
                .await
                .unwrap_or_else(|_| panic!("{fault:?} at {stage}: no verdict"));
            for v in [&s, &r] {
                assert_eq!(v.code(), 450, "{fault:?} at {stage}: {v}");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_server_that_never_answers_gives_450_by_the_deadline() {
    let server = RawServer::start(Behaviour::Silent, Behaviour::Silent, Behaviour::Silent).await;
    // hickory alone would wait 2 s x 2 sends; the check's deadline is 500 ms.
    let dns =
        HickoryResolver::with_name_servers(&[server.addr], HickoryOptions::default()).unwrap();
    let policy = Policy::builder()
        .deadline(Duration::from_millis(500))
        .build()
        .unwrap();
    let checker = Checker::new(dns, policy);
    let v = tokio::time::timeout(
        Duration::from_secs(3),
        checker.rcpt_to("<u@host.example>", CheckOptions::default()),
    )
    .await
    .expect("the check must end at its deadline, long before hickory gives up");
    assert_eq!(
        v.to_string(),
        "450 4.1.2 <u@host.example>: Recipient address rejected: Domain not found"
    );
    assert_eq!(
        v.reject().unwrap().reason(),
        envelope_check::Reason::TemporaryFailure(Transient::Deadline)
    );
}

#[tokio::test]
async fn cname_records_are_filtered_out() {
    let server = OracleServer::start().await;
    let dns = resolver(server.addr, 500);
    match dns.query("alias-to-good.net.", QueryType::Mx).await {
        DnsOutcome::Records { records, .. } => {
            assert_eq!(records.len(), 2, "{records:?}");
            assert!(
                records
                    .iter()
                    .all(|r| matches!(r, envelope_check::Record::Mx { .. }))
            );
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn from_config_answers_with_the_given_options() {
    let mut opts = ResolverOpts::default();
    opts.timeout = Duration::from_millis(300);
    opts.attempts = 0;
    opts.use_hosts_file = ResolveHosts::Never;

    let server = OracleServer::start().await;
    let dns = HickoryResolver::from_config(loopback_config(server.addr), opts.clone()).unwrap();
    assert!(
        dns.query("northwind-traders.com.", QueryType::Mx)
            .await
            .is_positive()
    );
    assert!(matches!(
        dns.query("nowhere-xyz.com.", QueryType::Mx).await,
        DnsOutcome::NxDomain {
            negative_ttl: Some(60)
        }
    ));

    // The 300 ms timeout is ours: hickory's default would wait 5 s a send.
    let silent = RawServer::start(Behaviour::Silent, Behaviour::Silent, Behaviour::Silent).await;
    let dns = HickoryResolver::from_config(loopback_config(silent.addr), opts).unwrap();
    let outcome = tokio::time::timeout(
        Duration::from_secs(3),
        dns.query("host.example.", QueryType::Mx),
    )
    .await
    .expect("the given timeout applies");
    assert_eq!(outcome, DnsOutcome::Transient(Transient::Timeout));
}

#[test]
fn from_config_needs_a_name_server() {
    let err = HickoryResolver::from_config(ResolverConfig::default(), ResolverOpts::default())
        .unwrap_err();
    assert_eq!(err, HickoryError::NoNameServers);
    assert_eq!(err.to_string(), "no name servers");
}

#[tokio::test]
async fn from_resolver_shares_the_mta_resolver_and_its_cache() {
    let server =
        RawServer::start(Behaviour::Positive, Behaviour::Positive, Behaviour::NoData).await;
    // The MTA's own resolver, with hickory's cache on.
    let mta = common::dns::bare_resolver(server.addr, 64);
    let dns = HickoryResolver::from_resolver(mta.clone());
    match dns.query("host.example.", QueryType::Mx).await {
        DnsOutcome::Records { records, ttl } => {
            assert_eq!(ttl, 120);
            assert_eq!(
                records,
                [envelope_check::Record::Mx {
                    preference: 10,
                    exchange: "mx.example.".into()
                }]
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        dns.query("host.example.", QueryType::Aaaa).await,
        DnsOutcome::NoData {
            negative_ttl: Some(42)
        }
    );
    let asked = server.queries.load(std::sync::atomic::Ordering::Relaxed);
    assert_eq!(asked, 2);
    // The MTA's next lookup of the same name comes from the shared cache.
    let lookup = mta.mx_lookup("host.example.").await.expect("cached answer");
    assert_eq!(lookup.answers().len(), 1);
    assert_eq!(
        server.queries.load(std::sync::atomic::Ordering::Relaxed),
        asked
    );
}

#[tokio::test]
#[ignore = "requires live DNS"]
async fn live_system_resolver() {
    let dns = HickoryResolver::from_system_conf(HickoryOptions::default()).unwrap();
    let checker = Checker::new(dns, Policy::default());
    assert!(
        checker
            .rcpt_to("<postmaster@gmail.com>", CheckOptions::default())
            .await
            .is_accept()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_example_asks_a_name_server() {
    let server = OracleServer::start().await;
    let addr = server.addr.to_string();
    let args = [
        "--nameserver",
        addr.as_str(),
        "--sender",
        "<john@globex-nonexistent.com>",
        "--rcpt",
        "<alice@northwind-traders.com>",
        "--rcpt",
        "<info@nullmx-only.org>",
        "--rcpt",
        "<info@broken-dns.com>",
    ];
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        common::run_check(&args, "")
    })
    .await
    .unwrap();
    assert_eq!(code, 1, "a reject exits 1: {stderr}");
    assert_eq!(
        stdout,
        "550 5.1.8 <john@globex-nonexistent.com>: Sender address rejected: Domain not found\n\
         250 2.1.5 Ok\n\
         556 5.1.10 <info@nullmx-only.org>: Recipient address rejected: Domain nullmx-only.org does not accept mail (nullMX)\n\
         450 4.1.2 <info@broken-dns.com>: Recipient address rejected: Domain not found\n"
    );
}
