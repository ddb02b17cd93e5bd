//! Every in-scope row of the Postfix oracle corpus, through the `Checker`
//! on `InMemoryResolver` loaded with the oracle's own DNS data: the reply
//! must match Postfix byte for byte, or be a documented deviation.

mod common;

use common::{cases, deviations, oracle_checker};
use envelope_check::CheckOptions;
use envelope_check::{Checker, Policy};

#[tokio::test]
async fn every_oracle_row_matches_postfix() {
    let checker = oracle_checker();
    let deviations = deviations();
    let mut failures = Vec::new();
    let mut checked = 0;
    for case in cases().iter().filter(|c| c.in_scope()) {
        let got = common::verdict(&checker, case).await.to_string();
        let want = common::our_reply(case, &deviations);
        if got != want {
            failures.push(format!(
                "{} {:?}\n   want {want}\n    got {got}",
                case.id, case.address
            ));
        }
        checked += 1;
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} rows differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(
        checked,
        common::IN_SCOPE,
        "the corpus has {} rows, {} of them out of scope",
        common::ROWS,
        common::ROWS - common::IN_SCOPE
    );
}

/// The DNS situations added later (`dns.zone`, rows S951-S978 and
/// R951-R978): DNAME, lame delegations (450, never 5xx), wildcards beside
/// explicit names and empty non-terminals, wildcard CNAMEs, a 14-hop CNAME
/// chain, a 40-record MX set, TTL 0, mixed-case owners.
#[tokio::test]
async fn every_added_dns_row_matches_postfix() {
    let mut dns = common::oracle_dns();
    dns.load_zone(common::ZONE_EXTRA).expect("dns.zone loads");
    let checker = Checker::new(dns, common::oracle_policy());
    let mut failures = Vec::new();
    let cases = common::dns_cases();
    for case in &cases {
        let got = common::verdict(&checker, case).await.to_string();
        if got != case.expected() {
            failures.push(format!(
                "{} {:?}\n   want {}\n    got {got}",
                case.id,
                case.address,
                case.expected()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(cases.len(), 56);
    // The lame delegations are temporary failures, never a 5xx.
    assert_eq!(
        cases
            .iter()
            .filter(|c| c.expected().starts_with("450 "))
            .count(),
        6
    );
}

/// Approved-sender keys as a Postfix access map has them (`approved.map`,
/// rows S1401-S1410): `domain` covers its subdomains, `user@` a local part
/// at any domain; `.domain` and `@domain` keys never match, and are
/// reported as warnings.
#[tokio::test]
async fn every_approved_sender_row_matches_postfix() {
    let text = format!("{}\n{}", common::APPROVED, common::APPROVED_EXTRA);
    let map = envelope_check::SenderAccess::parse(&text).unwrap();
    let never: Vec<_> = map
        .warnings()
        .iter()
        .filter(|w| matches!(w, envelope_check::TableWarning::NeverMatches { .. }))
        .collect();
    assert_eq!(never.len(), 2, "{never:?}");
    let mut policy = Policy::builder().sender_access(map);
    for d in common::LOCAL_DOMAINS {
        policy = policy.local_domain(d);
    }
    let checker = Checker::new(common::oracle_dns(), policy.build().unwrap());
    let deviations = deviations();
    let cases = common::approved_cases();
    for case in &cases {
        let got = common::verdict(&checker, case).await.to_string();
        let want = common::our_reply(case, &deviations);
        assert_eq!(got, want, "{} {}", case.id, case.address);
    }
    assert_eq!(cases.len(), common::APPROVED_CASES.lines().count() - 1);
}

#[tokio::test]
async fn every_deviation_names_a_real_row() {
    let ids: Vec<String> = cases()
        .into_iter()
        .chain(common::approved_cases())
        .map(|c| c.id)
        .collect();
    let deviations = deviations();
    assert!(deviations.contains_key("S095"));
    for id in deviations.keys() {
        assert!(ids.contains(id), "DEVIATIONS.md names unknown row {id}");
    }
}

#[tokio::test]
async fn log_reasons_match_the_seed() {
    let checker = oracle_checker();
    let v = checker
        .mail_from("<john@globex-nonexistent.com>", CheckOptions::default())
        .await;
    assert_eq!(v.log_reason(), Some("unknown sender domain"));
    let v = checker
        .rcpt_to("<info@typo-domain-nx.com>", CheckOptions::default())
        .await;
    assert_eq!(v.log_reason(), Some("unknown recipient domain"));
}

/// `postfix_action()` is what an access map or policy server must answer for
/// Postfix to send the reply line: Postfix writes `<address>: Sender address
/// rejected: ` itself, so the action is the line with that part cut out.
#[tokio::test]
async fn postfix_actions_rebuild_every_reject_line() {
    let checker = oracle_checker();
    let mut prefixed = 0;
    for case in cases().iter().filter(|c| c.in_scope()) {
        let verdict = common::verdict(&checker, case).await;
        let Some(reject) = verdict.reject() else {
            continue;
        };
        let line = reject.to_string();
        let action = reject.postfix_action();
        let code_status = format!("{} {} ", reject.code(), reject.status());
        match line.split_once(" address rejected: ") {
            Some((head, detail)) => {
                prefixed += 1;
                assert!(head.starts_with(&code_status), "{}", case.id);
                assert_eq!(action, format!("{code_status}{detail}"), "{}", case.id);
            }
            // 501 syntax replies have no address part; they come whole.
            None => assert_eq!(action, line, "{}", case.id),
        }
    }
    assert!(prefixed >= 90, "only {prefixed} prefixed rejects");
}
