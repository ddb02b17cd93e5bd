//! Evidence, tracing events, the tracking rule and the counters.

mod common;

use common::block_on;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use envelope_check::{
    CacheUse, Checker, Direction, DnsOutcome, Policy, QueryType, Rule, Tracking, Transient,
    parse_forward_path, parse_reverse_path,
};
use envelope_check::{CheckOptions, Transaction};
use tracing::Level;
use tracing::field::{Field, Visit};
use tracing_subscriber::layer::{Context, SubscriberExt};

#[test]
fn evidence_names_every_question_and_answer() {
    let checker = common::oracle_checker();
    block_on(async {
        let v = checker
            .rcpt_to(
                "<info@globex-nonexistent.com>",
                CheckOptions::default().explain(true),
            )
            .await;
        assert_eq!(
            v.to_string(),
            checker
                .rcpt_to("<x@globex-nonexistent.com>", CheckOptions::default())
                .await
                .to_string()
                .replace("<x@", "<info@")
        );
        let ev = v.evidence().expect("explained");
        assert_eq!(ev.rule, Rule::Dns);
        assert_eq!(ev.domain.as_deref(), Some("globex-nonexistent.com"));
        assert_eq!(ev.cache, CacheUse::Miss);
        assert_eq!(ev.queries.len(), 1, "NXDOMAIN ends the lookup");
        assert_eq!(ev.queries[0].name, "globex-nonexistent.com.");
        assert_eq!(ev.queries[0].qtype, QueryType::Mx);
        assert_eq!(
            ev.queries[0].outcome,
            Some(DnsOutcome::NxDomain {
                negative_ttl: Some(60)
            })
        );
        assert_eq!(
            ev.to_string().split(" · ").next().unwrap(),
            "    MX globex-nonexistent.com. → NXDOMAIN (negative TTL 60 s)"
        );
        assert!(ev.to_string().ends_with(" · decided by DNS"));

        // The second time it comes from the cache, with its remaining life.
        let v = checker
            .rcpt_to(
                "<info@globex-nonexistent.com>",
                CheckOptions::default().explain(true),
            )
            .await;
        let ev = v.evidence().unwrap();
        assert!(ev.queries.is_empty());
        match ev.cache {
            CacheUse::Hit { remaining } => assert!(remaining.as_secs() <= 60),
            other => panic!("{other:?}"),
        }

        let v = checker
            .rcpt_to(
                "<info@webshop-a-only.de>",
                CheckOptions::default().explain(true),
            )
            .await;
        let ev = v.evidence().unwrap();
        let kinds: Vec<_> = ev.queries.iter().map(|q| q.qtype).collect();
        assert_eq!(kinds, [QueryType::Mx, QueryType::A, QueryType::Aaaa]);
        assert!(ev.queries[1].outcome.as_ref().unwrap().is_positive());

        let v = checker
            .rcpt_to(
                "<info@broken-dns.com>",
                CheckOptions::default().explain(true),
            )
            .await;
        let ev = v.evidence().unwrap();
        assert_eq!(
            ev.queries[0].outcome,
            Some(DnsOutcome::Transient(Transient::ServFail))
        );

        for (arg, rule) in [
            ("<user@mail>", Rule::NonFqdn),
            ("<u@[192.0.2.1]>", Rule::Literal),
            ("<postmaster>", Rule::Exemption),
            ("<u@>", Rule::Syntax),
            ("<u@mx.oracle-mta.net>", Rule::LocalDomain),
        ] {
            let v = checker
                .rcpt_to(arg, CheckOptions::default().explain(true))
                .await;
            assert_eq!(v.evidence().unwrap().rule, rule, "{arg}");
            assert!(v.evidence().unwrap().queries.is_empty());
        }
        let v = checker
            .mail_from(
                "<vip@globex-nonexistent.com>",
                CheckOptions::default().explain(true),
            )
            .await;
        assert_eq!(v.evidence().unwrap().rule, Rule::SenderAccess);
        // Plain checks carry no evidence.
        assert!(
            checker
                .rcpt_to("<info@webshop-a-only.de>", CheckOptions::default())
                .await
                .evidence()
                .is_none()
        );
    });
}

/// An event: its level and its fields, rendered.
type Event = (Level, BTreeMap<String, String>);

#[derive(Default, Clone)]
struct Recorded(Arc<Mutex<Vec<Event>>>);

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.to_string());
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Recorded {
    fn on_event(&self, event: &tracing::Event<'_>, _: Context<'_, S>) {
        let mut fields = BTreeMap::new();
        event.record(&mut Fields(&mut fields));
        self.0
            .lock()
            .unwrap()
            .push((*event.metadata().level(), fields));
    }
}

fn events_of<F: FnOnce()>(f: F) -> Vec<Event> {
    // With one scoped dispatcher alive, tracing-core lets a test on another
    // thread cache "never" for a callsite it reaches first; a second live
    // dispatcher makes it ask every dispatcher.
    static SECOND: std::sync::OnceLock<tracing::Dispatch> = std::sync::OnceLock::new();
    SECOND.get_or_init(|| tracing::Dispatch::new(tracing_subscriber::registry()));
    let recorded = Recorded::default();
    let subscriber = tracing_subscriber::registry().with(recorded.clone());
    tracing::subscriber::with_default(subscriber, f);
    let events = recorded.0.lock().unwrap().clone();
    events
        .into_iter()
        .filter(|(_, f)| f.contains_key("role"))
        .collect()
}

#[test]
fn one_structured_event_per_check() {
    let checker = common::oracle_checker();
    let events = events_of(|| {
        block_on(async {
            checker
                .rcpt_to("<Info@Globex-NonExistent.COM>", CheckOptions::default())
                .await;
            checker
                .rcpt_to("<info@globex-nonexistent.com>", CheckOptions::default())
                .await;
            checker
                .mail_from("<alice@northwind-traders.com>", CheckOptions::default())
                .await;
        })
    });
    assert_eq!(events.len(), 3, "{events:#?}");
    let (level, reject) = &events[0];
    assert_eq!(*level, Level::INFO);
    let want = [
        ("direction", "inbound"),
        ("role", "recipient"),
        ("address", "<Info@Globex-NonExistent.COM>"),
        ("domain", "globex-nonexistent.com"),
        ("code", "550"),
        ("status", "5.1.2"),
        ("reason", "UnknownDomain"),
        ("log_reason", "unknown recipient domain"),
        ("tracked", "not-tracked"),
        ("cached", "false"),
        ("queries", "1"),
    ];
    for (k, v) in want {
        assert_eq!(
            reject.get(k).map(String::as_str),
            Some(v),
            "field {k} in {reject:?}"
        );
    }
    assert!(reject.contains_key("elapsed_us"));
    assert!(reject["message"].starts_with("550 5.1.2 <Info@"));
    assert_eq!(events[1].1["cached"], "true");
    assert_eq!(events[1].1["queries"], "0");
    let (level, accept) = &events[2];
    assert_eq!(*level, Level::DEBUG);
    assert_eq!(accept["code"], "250");
    assert_eq!(accept["role"], "sender");
    assert!(!accept.contains_key("log_reason"));
}

#[test]
fn tracking_rule_table() {
    let policy = |direction| {
        Policy::builder()
            .direction(direction)
            .managed_domain("customer.example")
            .build()
            .unwrap()
    };
    let ours = parse_reverse_path("<a@customer.example>", false).unwrap();
    let theirs = parse_reverse_path("<b@elsewhere.example>", false).unwrap();
    let rcpt_ours = parse_forward_path("<c@Customer.Example>", false).unwrap();
    let rcpt_theirs = parse_forward_path("<d@other.example>", false).unwrap();
    use Direction::*;
    use Tracking::*;
    use envelope_check::Role::*;
    let table = [
        // direction, role, sender is managed, recipient is managed → tracking
        (Outbound, Sender, true, false, Tracked),
        (Outbound, Sender, false, true, NotTracked),
        (Outbound, Recipient, true, false, Tracked),
        (Outbound, Recipient, false, true, NotTracked),
        (Inbound, Recipient, false, true, Tracked),
        (Inbound, Recipient, true, false, NotTracked),
        (Inbound, Sender, false, true, PerRecipient),
        (Inbound, Sender, true, false, PerRecipient),
    ];
    for (direction, role, s_managed, r_managed, want) in table {
        let p = policy(direction);
        let s = if s_managed { &ours } else { &theirs };
        let r = if r_managed { &rcpt_ours } else { &rcpt_theirs };
        assert_eq!(
            p.tracking(role, s.mailbox(), Some(r.mailbox())),
            want,
            "{direction:?} {role:?} {s_managed} {r_managed}"
        );
    }
}

#[test]
fn transactions_carry_the_sender_to_tracking() {
    let dns = common::oracle_dns();
    let outbound = Policy::builder()
        .direction(Direction::Outbound)
        .managed_domain("northwind-traders.com")
        .build()
        .unwrap();
    let checker = Checker::new(dns, outbound);
    let events = events_of(|| {
        block_on(async {
            let mut tx = Transaction::default();
            tx.mail_from(&checker, "<alice@northwind-traders.com>")
                .await;
            tx.rcpt_to(&checker, "<x@globex-nonexistent.com>").await;
            let mut tx = Transaction::default();
            tx.mail_from(&checker, "<bob@acme-widgets.com>").await;
            tx.rcpt_to(&checker, "<x@globex-nonexistent.com>").await;
        })
    });
    let tracked: Vec<&str> = events.iter().map(|(_, f)| f["tracked"].as_str()).collect();
    assert_eq!(
        tracked,
        ["tracked", "tracked", "not-tracked", "not-tracked"]
    );

    // Inbound: a sender reject is per recipient.
    let inbound = Policy::builder()
        .managed_domain("northwind-traders.com")
        .build()
        .unwrap();
    let checker = Checker::new(common::oracle_dns(), inbound);
    block_on(async {
        // Judged at MAIL: a rejected sender opens no transaction.
        let mut tx = Transaction::default();
        let v = tx.mail_from(&checker, "<x@globex-nonexistent.com>").await;
        assert_eq!(v.code(), 550);
        let rcpt = tx.rcpt_to(&checker, "<k@northwind-traders.com>").await;
        assert_eq!(rcpt.to_string(), "503 5.5.1 Error: need MAIL command");
        // Judged at RCPT, as Postfix's default smtpd_delay_reject = yes.
        let mut tx = Transaction::default().delay_reject(true);
        let v = tx
            .mail_from(&checker, "<x@globex-nonexistent.com> SMTPUTF8")
            .await;
        assert_eq!(v.code(), 550);
        assert!(tx.smtputf8());
        let policy = checker.policy();
        assert!(tx.sender_reject_tracked_for(policy, "<alice@northwind-traders.com>"));
        assert!(!tx.sender_reject_tracked_for(policy, "<bob@acme-widgets.com>"));
        assert!(!tx.sender_reject_tracked_for(policy, "<bad@>"));
        // As Postfix with smtpd_delay_reject: each RCPT gets the sender's
        // reject (oracle row S3208).
        let rcpt = tx.rcpt_to(&checker, "<k@northwind-traders.com>").await;
        assert_eq!(rcpt, v);
        // The transaction's SMTPUTF8 lets a U-label recipient through.
        tx.reset();
        tx.mail_from(&checker, "<alice@northwind-traders.com> SMTPUTF8")
            .await;
        assert!(
            tx.rcpt_to(&checker, "<k@müller-bäckerei.de>")
                .await
                .is_accept()
        );
    });
}

#[test]
fn counters() {
    let checker = common::oracle_checker();
    block_on(async {
        checker
            .rcpt_to("<a@northwind-traders.com>", CheckOptions::default())
            .await; // miss, 1 query
        checker
            .rcpt_to("<b@northwind-traders.com>", CheckOptions::default())
            .await; // hit
        checker
            .rcpt_to("<a@globex-nonexistent.com>", CheckOptions::default())
            .await; // miss, 1 query
        checker
            .rcpt_to("<a@broken-dns.com>", CheckOptions::default())
            .await; // miss, 3 failed queries
        checker.rcpt_to("<a@mail>", CheckOptions::default()).await;
        checker.rcpt_to("<a@>", CheckOptions::default()).await;
        checker
            .rcpt_to("<a@nullmx-only.org>", CheckOptions::default())
            .await; // miss, 1 query
    });
    let s = checker.stats();
    assert_eq!(s.checks, 7);
    assert_eq!(s.accepted, 2);
    assert_eq!(
        (
            s.unknown_domain,
            s.temporary_failure,
            s.not_fully_qualified,
            s.bad_syntax,
            s.null_mx
        ),
        (1, 1, 1, 1, 1)
    );
    assert_eq!((s.cache_hits, s.cache_misses), (1, 4));
    assert_eq!(s.dns_queries, 6);
    assert_eq!(s.transient_failures, 3);
    assert_eq!(s.deadline_expiries, 0);
}
