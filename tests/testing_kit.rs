//! The property-testing kit (`envelope_check::testing`, feature
//! `proptest`): its labels agree with the parser and the checker, its
//! samples shrink within their class, a sample of every class agrees with
//! a real Postfix row by row, and the corpus table replays.
#![cfg(feature = "proptest")]

mod common;

use std::cell::RefCell;
use std::collections::BTreeMap;

use envelope_check::testing::{self, Class, Expected, ReplyClass, Sample};
use envelope_check::{
    CheckOptions, Checker, InMemoryResolver, Policy, Role, parse_forward_path, parse_reverse_path,
    split_command_argument,
};
use proptest::strategy::{BoxedStrategy, Strategy, ValueTree};
use proptest::test_runner::{Config, RngAlgorithm, TestCaseError, TestError, TestRng, TestRunner};

type Generator = fn(Class) -> BoxedStrategy<Sample>;

const GENERATORS: [(&str, Generator); 5] = [
    ("reverse_path", testing::reverse_path),
    ("forward_path", testing::forward_path),
    ("mailbox", testing::mailbox),
    ("local_part", testing::local_part),
    ("domain", testing::domain),
];

/// Checks one sample against the crate: the checker's reply on an empty
/// DNS is the sample's, in both roles, and the parser reads the labelled
/// mailbox and domain.
struct Judge {
    runtime: tokio::runtime::Runtime,
    checker: Checker<InMemoryResolver>,
}

impl Judge {
    fn new() -> Self {
        Self {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap(),
            checker: Checker::new(InMemoryResolver::new(), Policy::default()),
        }
    }

    fn reply(&self, sample: &Sample, role: Role) -> String {
        let verdict = match role {
            Role::Sender => self.runtime.block_on(
                self.checker
                    .mail_from(&sample.mail_from_argument(), CheckOptions::default()),
            ),
            Role::Recipient => self.runtime.block_on(self.checker.rcpt_to(
                &sample.path,
                CheckOptions::default().smtputf8(sample.smtputf8),
            )),
        };
        verdict.to_string()
    }

    fn check(&self, sample: &Sample) -> Result<(), String> {
        for role in [Role::Sender, Role::Recipient] {
            let want = sample.reply_on_empty_dns(role);
            let got = self.reply(sample, role);
            if got != want {
                return Err(format!(
                    "{role:?} {sample:?}\n   want {want}\n    got {got}"
                ));
            }
            let Ok(arg) = split_command_argument(&sample.path) else {
                continue;
            };
            let mailbox = match role {
                Role::Sender => parse_reverse_path(arg.path, sample.smtputf8)
                    .ok()
                    .and_then(|p| p.mailbox().cloned()),
                Role::Recipient => parse_forward_path(arg.path, sample.smtputf8)
                    .ok()
                    .map(|p| p.mailbox().clone()),
            };
            let Some(mailbox) = mailbox else { continue };
            if matches!(sample.expected(role), Expected::BadSyntax) {
                continue;
            }
            if Some(mailbox.internal()) != sample.mailbox.as_deref() {
                return Err(format!(
                    "{role:?} {sample:?}: parsed {:?}",
                    mailbox.internal()
                ));
            }
            if let Expected::Lookup { domain } = sample.expected(role) {
                let parsed = mailbox.domain().map(|d| d.ascii());
                if parsed != Some(domain.as_str()) {
                    return Err(format!("{role:?} {sample:?}: parsed domain {parsed:?}"));
                }
            }
        }
        Ok(())
    }
}

fn runner(cases: u32) -> TestRunner {
    seeded_runner(cases, 0)
}

/// A runner whose values are fixed by `seed`.
fn seeded_runner(cases: u32, seed: u8) -> TestRunner {
    let mut seed_bytes = [7u8; 32];
    seed_bytes[0] = seed;
    TestRunner::new_with_rng(
        Config {
            cases,
            max_shrink_iters: 100_000,
            failure_persistence: None,
            ..Config::default()
        },
        TestRng::from_seed(RngAlgorithm::ChaCha, &seed_bytes),
    )
}

/// Every strategy, every class: 300 samples each, each pair from its own
/// seed, and each sample's labels agree with the checker (exact reply in
/// both roles, echo included) and the parser (internal form, looked-up
/// domain).
#[test]
fn labels_agree_with_the_crate() {
    let judge = Judge::new();
    let mut failures = Vec::new();
    let mut checked = 0;
    let mut seed = 0u8;
    for (name, generator) in GENERATORS {
        for class in Class::ALL {
            seed += 1;
            let mut runner = seeded_runner(300, seed);
            for _ in 0..300 {
                let sample = generator(class).new_tree(&mut runner).unwrap().current();
                assert_eq!(sample.class, class);
                checked += 1;
                if let Err(e) = judge.check(&sample) {
                    failures.push(format!("{name}({class}): {e}"));
                }
            }
        }
    }
    failures.truncate(20);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(checked, 5 * 13 * 300);
}

/// The same check on fresh random values, as many as
/// `ENVELOPE_CHECK_SWEEP` says per class (default 20,000): run it by hand
/// after changing a strategy.
#[test]
#[ignore = "a long random sweep, run by hand"]
fn labels_agree_on_a_random_sweep() {
    let judge = Judge::new();
    let per_class: usize = std::env::var("ENVELOPE_CHECK_SWEEP")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(20_000);
    let mut runner = TestRunner::default();
    for class in Class::ALL {
        for _ in 0..per_class {
            let sample = testing::reverse_path(class)
                .new_tree(&mut runner)
                .unwrap()
                .current();
            if let Err(e) = judge.check(&sample) {
                panic!("{class}: {e}");
            }
        }
    }
}

/// Each class of the path strategies reaches every outcome it documents:
/// the strategies are not stuck on one form.
#[test]
fn every_class_reaches_its_outcomes() {
    let mut runner = runner(1);
    let mut seen: BTreeMap<(Class, &str, &str), usize> = BTreeMap::new();
    let kind = |e: &Expected| match e {
        Expected::Accept => "accept",
        Expected::Lookup { .. } => "lookup",
        Expected::DomainNotFound => "not-found",
        Expected::NotFullyQualified => "504",
        Expected::BadSyntax => "501",
        _ => "other",
    };
    for class in Class::ALL {
        for _ in 0..400 {
            let s = testing::reverse_path(class)
                .new_tree(&mut runner)
                .unwrap()
                .current();
            *seen
                .entry((class, kind(&s.sender), kind(&s.recipient)))
                .or_default() += 1;
        }
    }
    let has = |class, sender, recipient| seen.contains_key(&(class, sender, recipient));
    assert!(has(Class::Valid, "lookup", "lookup"));
    assert!(has(Class::BadSyntax, "501", "501"));
    assert!(has(Class::NotFullyQualified, "504", "504"));
    assert!(has(Class::NullSender, "accept", "501"));
    assert!(has(Class::Postmaster, "504", "accept"));
    assert!(has(Class::LiteralValid, "accept", "accept"));
    assert!(has(Class::LiteralInvalid, "501", "501"));
    assert!(has(Class::Idn, "lookup", "lookup"));
    assert!(has(Class::Idn, "501", "501"));
    for outcome in ["lookup", "not-found", "501"] {
        assert!(has(Class::LengthEdge, outcome, outcome), "{outcome}");
    }
    assert!(has(Class::Quoted, "lookup", "lookup"));
    assert!(has(Class::SourceRoute, "lookup", "lookup"));
    assert!(has(Class::SourceRoute, "504", "504"));
    assert!(has(Class::UnicodeSpace, "lookup", "lookup"));
    assert!(has(Class::UnicodeSpace, "501", "501"));
    for outcome in ["lookup", "504", "accept", "501"] {
        assert!(has(Class::Unterminated, outcome, outcome), "{outcome}");
    }
    // Nothing outside what each class documents.
    for (class, sender, recipient) in seen.keys() {
        let ok = match class {
            Class::Valid | Class::Quoted => [*sender, *recipient] == ["lookup", "lookup"],
            Class::NullSender => [*sender, *recipient] == ["accept", "501"],
            Class::Postmaster => [*sender, *recipient] == ["504", "accept"],
            Class::LiteralValid => sender == recipient && *sender == "accept",
            Class::LiteralInvalid | Class::BadSyntax => sender == recipient && *sender == "501",
            Class::NotFullyQualified => sender == recipient && *sender == "504",
            _ => sender == recipient,
        };
        assert!(ok, "{class}: sender {sender}, recipient {recipient}");
    }
}

/// A failing case shrinks within its class: every value the shrinker
/// tries, down to the minimal one, has the class's outcome and agrees with
/// the crate. The property fails on every path longer than 1 octet, so the
/// shrinker goes as far as it can.
#[test]
fn shrinking_stays_in_class() {
    let judge = Judge::new();
    let mut minimal = BTreeMap::new();
    for class in Class::ALL {
        for (name, generator) in &GENERATORS[..3] {
            let first = generator(class).new_tree(&mut runner(1)).unwrap().current();
            let (tried, min) = shrink_trail(*generator, class);
            assert!(
                tried.len() > 1 || class == Class::NullSender,
                "{name}({class}) never shrank"
            );
            for sample in tried.iter().chain([&min]) {
                assert_eq!(sample.class, class);
                // The kind of outcome stays: a 504 never becomes a 501.
                let same_kind = |a: &Expected, b: &Expected| {
                    std::mem::discriminant(a) == std::mem::discriminant(b)
                        || class_has_several_outcomes(class)
                };
                if !class_has_several_outcomes(class) {
                    assert!(
                        same_kind(&sample.sender, &first.sender),
                        "{name}({class}): {sample:?}"
                    );
                }
                if let Err(e) = judge.check(sample) {
                    panic!("{name}({class}) shrank to a mislabelled value: {e}");
                }
            }
            if *name == "reverse_path" {
                minimal.insert(class, min.path.clone());
            }
        }
    }
    // The minimal paths are small; the 504 one is `<a@a>`.
    assert_eq!(minimal[&Class::NotFullyQualified], "<a@a>");
    assert_eq!(minimal[&Class::NullSender], "<>");
    for (class, path) in &minimal {
        assert!(
            path.chars().count() <= 40 || *class == Class::LengthEdge,
            "{class}: {path}"
        );
    }
}

/// Runs a property that fails on every path longer than 1 octet: returns
/// every value the shrinker tried, and the minimal failing one.
fn shrink_trail(generator: Generator, class: Class) -> (Vec<Sample>, Sample) {
    let tried = RefCell::new(Vec::new());
    let mut runner = runner(1);
    let result = runner.run(&generator(class), |sample| {
        tried.borrow_mut().push(sample.clone());
        if sample.path.len() > 1 {
            Err(TestCaseError::fail("too long"))
        } else {
            Ok(())
        }
    });
    let Err(TestError::Fail(_, min)) = result else {
        panic!("({class}) did not fail: {result:?}");
    };
    (tried.into_inner(), min)
}

/// Classes whose strategy mixes forms with different outcomes (a shrink
/// may move from one form to another of the same class, each labelled).
fn class_has_several_outcomes(class: Class) -> bool {
    matches!(
        class,
        Class::Idn
            | Class::LengthEdge
            | Class::SourceRoute
            | Class::UnicodeSpace
            | Class::Unterminated
    )
}

/// The corpus table holds every in-scope row of the corpus, with Postfix's
/// reply and its class, and replays through the crate's checker on the
/// same DNS and configuration (the deviating rows differ, and only they).
#[test]
fn the_corpus_table_replays() {
    let rows = testing::corpus();
    let cases: Vec<_> = common::cases()
        .into_iter()
        .filter(|c| c.in_scope())
        .chain(common::parse_cases(GENERATED_CASES))
        .collect();
    assert_eq!(rows.len(), cases.len());
    let deviations = common::deviations();
    assert_eq!(rows.iter().filter(|r| r.deviates).count(), deviations.len());
    let mut by_class: BTreeMap<String, usize> = BTreeMap::new();
    for row in rows {
        *by_class.entry(format!("{:?}", row.class)).or_default() += 1;
        match row.class {
            ReplyClass::Accept => assert!(row.reply.starts_with("250 ")),
            ReplyClass::BadSyntax => assert!(row.reply.starts_with("501 ")),
            ReplyClass::NotFullyQualified => assert!(row.reply.starts_with("504 ")),
            ReplyClass::TempFail => assert!(row.reply.starts_with("450 ")),
            _ => assert!(row.reply.starts_with("55")),
        }
    }
    assert_eq!(by_class.len(), 6, "{by_class:?}");
    let checker = Checker::new(testing::corpus_resolver(), testing::corpus_policy());
    common::block_on(async {
        for (row, case) in rows.iter().zip(&cases) {
            let verdict = match row.role {
                Role::Sender => {
                    checker
                        .mail_from(&row.mail_from_argument(), CheckOptions::default())
                        .await
                }
                Role::Recipient => {
                    checker
                        .rcpt_to(row.path, CheckOptions::default().smtputf8(row.smtputf8))
                        .await
                }
            };
            assert_eq!(
                (row.id, row.path),
                (case.id.as_str(), case.address.as_str())
            );
            assert_eq!(row.smtputf8, case.smtputf8, "{}", row.id);
            assert_eq!(row.role == Role::Sender, case.is_mail(), "{}", row.id);
            assert_eq!(row.reply, case.expected(), "{}", row.id);
            let want = common::our_reply(case, &deviations);
            assert_eq!(verdict.to_string(), want, "{}", row.id);
            assert_eq!(row.deviates, want != row.reply, "{}", row.id);
        }
    });
}

/// The oracle sample: 624 paths drawn from every class (rows 4001-4624)
/// and 256 that shrinking visits on its way to each class's minimal path
/// (rows 5001-5256), answered by a real Postfix 3.7 on the corpus's DNS
/// (`generated_case_defs.tsv` → `generated_cases.tsv`). Each row's note holds the class and the reply
/// the labels predict on an empty DNS; none of the drawn domains exists in
/// the corpus's DNS, so Postfix's reply must be that prediction, and the
/// crate's checker must give the same reply.
const GENERATED_CASES: &str = include_str!("data/generated_cases.tsv");

#[test]
fn the_oracle_sample_agrees_with_postfix_row_by_row() {
    let cases = common::parse_cases(GENERATED_CASES);
    let checker = common::oracle_checker();
    let mut per_class: BTreeMap<&str, usize> = BTreeMap::new();
    let mut shrunk_per_class: BTreeMap<&str, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for case in &cases {
        let (class, predicted) = case.note.split_once(": ").expect("class: reply");
        *per_class.entry(class).or_default() += 1;
        if case.id[1..].parse::<u32>().unwrap() > 5000 {
            *shrunk_per_class.entry(class).or_default() += 1;
        }
        if case.expected() != predicted {
            failures.push(format!(
                "{} {:?} ({class}): the label predicts\n    {predicted}\n  Postfix said\n    {}",
                case.id,
                case.address,
                case.expected()
            ));
        }
        let ours = common::block_on(common::verdict(&checker, case));
        if ours.to_string() != case.expected() {
            failures.push(format!(
                "{} {:?}: the crate says\n    {ours}\n  Postfix said\n    {}",
                case.id,
                case.address,
                case.expected()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // The floor for the oracle sample: at least 500 paths.
    assert!(cases.len() >= 500, "{} rows", cases.len());
    for class in Class::ALL {
        assert!(per_class[class.as_str()] >= 26, "{class}: {per_class:?}");
        // The shrinker's trail, minimal path included, as Postfix saw it
        // (the null sender's, `<>`, is among the drawn rows).
        assert!(
            shrunk_per_class.contains_key(class.as_str()) || class == Class::NullSender,
            "{class}"
        );
    }
    assert_eq!(per_class.len(), Class::ALL.len(), "{per_class:?}");
}

/// One row of the oracle's input: id, command, path, SMTPUTF8 and, as the
/// note, the class and the reply its labels predict when no domain exists.
fn case_def_row(
    prefix: char,
    n: u32,
    command: &str,
    s: &Sample,
    role: Role,
    class: Class,
) -> String {
    let utf8 = if s.smtputf8 { "yes" } else { "no" };
    format!(
        "{prefix}{n}\t{command}\t{}\t{utf8}\t{class}: {}\n",
        s.path,
        s.reply_on_empty_dns(role)
    )
}

/// Writes the oracle's input for the sample above: 24 paths per class and
/// role (fewer where a class has fewer distinct forms), drawn with a fixed
/// seed. Run it by hand, give the file to the oracle, and keep its answer
/// as `generated_cases.tsv`.
#[test]
#[ignore = "writes tests/data/generated_case_defs.tsv for an oracle round"]
fn write_the_oracle_sample() {
    let mut out = String::from(
        "# generated_case_defs.tsv -- paths drawn from envelope_check::testing,\n\
         # 24 per class and role with a fixed seed (tests/testing_kit.rs,\n\
         # write_the_oracle_sample), then from 5001 the values shrinking\n\
         # visits down to each class's minimal path. The note is the class and\n\
         # the reply its labels predict when no domain exists.\n\
         id\tcommand\taddress\tsmtputf8\tnote\n",
    );
    let mut runner = runner(1);
    let mut seen = std::collections::HashSet::new();
    let mut n = 4000;
    for class in Class::ALL {
        for (role, prefix, command) in [(Role::Sender, 'S', "MAIL"), (Role::Recipient, 'R', "RCPT")]
        {
            let mut drawn = 0;
            for _ in 0..500 {
                if drawn == 24 {
                    break;
                }
                let s = testing::reverse_path(class)
                    .new_tree(&mut runner)
                    .unwrap()
                    .current();
                if !seen.insert((role, s.path.clone(), s.smtputf8)) {
                    continue;
                }
                assert!(!s.path.contains(['\t', '\n', '\r']));
                n += 1;
                drawn += 1;
                out.push_str(&case_def_row(prefix, n, command, &s, role, class));
            }
        }
    }
    // What shrinking visits: the minimal path of each class and up to 11
    // values on the way to it, as a sender and as a recipient.
    let mut n = 5000;
    for class in Class::ALL {
        for (role, prefix, command, generator) in [
            (
                Role::Sender,
                'S',
                "MAIL",
                testing::reverse_path as Generator,
            ),
            (
                Role::Recipient,
                'R',
                "RCPT",
                testing::forward_path as Generator,
            ),
        ] {
            let (tried, min) = shrink_trail(generator, class);
            let step = tried.len().div_ceil(11).max(1);
            for s in tried.iter().step_by(step).chain([&min]) {
                if !seen.insert((role, s.path.clone(), s.smtputf8)) {
                    continue;
                }
                n += 1;
                out.push_str(&case_def_row(prefix, n, command, s, role, class));
            }
        }
    }
    std::fs::write(common::data("generated_case_defs.tsv"), out).unwrap();
}

/// `examples/property_test_your_mta.rs`, the worked example of the README:
/// it property-tests a `MAIL FROM` handler in every class and replays every
/// sender row of the corpus where the crate does not deviate.
#[test]
fn the_worked_example_runs() {
    let out = std::process::Command::new(common::example_binary("property_test_your_mta"))
        .output()
        .expect("the example runs");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stderr}");
    let senders = testing::corpus()
        .iter()
        .filter(|r| r.role == Role::Sender && !r.deviates)
        .count();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("13 classes property-tested\n{senders} Postfix replies replayed\n")
    );
    assert!(senders > 1_800, "{senders}");
}
