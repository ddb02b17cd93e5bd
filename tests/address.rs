//! The address model against the Postfix oracle corpus, without DNS: the
//! 501 rows are syntax errors, the 504 rows are not fully qualified, and
//! every reject line echoes the address exactly as `Mailbox::echo` does.

mod common;

use common::cases;
use envelope_check::{
    AddressError, ForwardPath, Host, Mailbox, ReversePath, parse_forward_path, parse_reverse_path,
    split_command_argument,
};

/// The row's mailbox, or its syntax error; `None` for `<>`.
fn parse(case: &common::Case) -> Result<Option<Mailbox<'static>>, AddressError> {
    if case.is_mail() {
        let text = case.mail_argument();
        let arg = split_command_argument(&text)?;
        Ok(
            match parse_reverse_path(arg.path, arg.smtputf8)?.into_owned() {
                ReversePath::Null => None,
                ReversePath::Mailbox(m) => Some(m),
            },
        )
    } else {
        let arg = split_command_argument(&case.address)?;
        Ok(
            match parse_forward_path(arg.path, case.smtputf8 || arg.smtputf8)?.into_owned() {
                ForwardPath::Postmaster(m) | ForwardPath::Mailbox(m) => Some(m),
            },
        )
    }
}

/// Whether the row's verdict depends on routing through a local destination
/// (`x%-bad.com@localhost`, `a!b@[IPv6:::1]`) or a source route left in the
/// local part: only the Checker, which knows the local domains, can tell;
/// the conformance test covers these rows.
fn routed_through_local(case: &common::Case) -> bool {
    let policy = common::oracle_policy();
    let Ok(Some(m)) = parse(case) else {
        return false;
    };
    m.internal().starts_with('@')
        || match m.host() {
            Some(Host::Domain(d)) => policy.is_local_domain(d.ascii()),
            Some(Host::Literal(l)) => policy.is_local_domain(&format!("[{}]", l.text())),
            _ => false,
        }
}

#[test]
fn syntax_rows_are_errors_and_others_parse() {
    let (mut checked, mut skipped) = (0, 0);
    let deviations = common::deviations();
    for case in cases().iter().filter(|c| c.in_scope()) {
        let parsed = parse(case);
        // These route through a local domain to an invalid one: only the
        // Checker, which knows the local domains, can tell (conformance).
        if routed_through_local(case) {
            skipped += 1;
            continue;
        }
        let want = common::our_reply(case, &deviations);
        let want_error = want.starts_with("501 ");
        assert_eq!(
            parsed.is_err(),
            want_error,
            "{} {:?}: {parsed:?}",
            case.id,
            case.address
        );
        checked += 1;
    }
    assert_eq!(checked + skipped, common::IN_SCOPE);
    assert!(
        skipped * 10 < common::IN_SCOPE,
        "{skipped} rows left to the Checker"
    );
}

#[test]
fn non_fqdn_rows_are_classified() {
    let mut n = 0;
    for case in cases().iter().filter(|c| c.in_scope()) {
        let Ok(Some(mailbox)) = parse(case) else {
            continue;
        };
        let want_504 = case.expected().starts_with("504 ");
        // A bare <postmaster> recipient is exempt before the FQDN rule.
        let exempt = (!case.is_mail() && mailbox.internal().eq_ignore_ascii_case("postmaster"))
            || routed_through_local(case);
        if !exempt {
            assert_eq!(
                !mailbox.is_fully_qualified(),
                want_504,
                "{} {:?}",
                case.id,
                case.address
            );
        }
        n += usize::from(want_504);
    }
    // Every 504 row parses: none of them was skipped above.
    let rows_504 = cases()
        .iter()
        .filter(|c| c.in_scope() && c.expected().starts_with("504 "))
        .count();
    assert_eq!(n, rows_504, "every non-FQDN row parses");
    assert!(n >= 182, "the corpus lost non-FQDN rows: {n}");
}

#[test]
fn every_reject_line_carries_the_echo() {
    let mut n = 0;
    let deviations = common::deviations();
    for case in cases().iter().filter(|c| c.in_scope()) {
        let line = case.expected();
        if !line.contains("rejected:") || deviations.contains_key(&case.id) {
            continue;
        }
        let mailbox = parse(case).unwrap().unwrap();
        let echo = format!(" {}: ", mailbox.echo());
        assert!(
            line.contains(&echo),
            "{}: {echo:?} not in {line:?}",
            case.id
        );
        n += 1;
    }
    assert!(n >= 90, "only {n} reject lines checked");
}

#[test]
fn echo_examples_from_the_issue() {
    let echo = |s: &str| {
        parse_reverse_path(s, false)
            .unwrap()
            .mailbox()
            .unwrap()
            .echo()
            .to_string()
    };
    assert_eq!(
        echo("<\"john doe\"@globex-nonexistent.com>"),
        "<john doe@globex-nonexistent.com>"
    ); // S074
    assert_eq!(
        echo("<@northwind-traders.com:user@globex-nonexistent.com>"),
        "<user@globex-nonexistent.com>"
    ); // S069
    assert_eq!(
        echo("john@globex-nonexistent.com"),
        "<john@globex-nonexistent.com>"
    ); // S114
    assert_eq!(
        echo("<john@globex-nonexistent.com.>"),
        "<john@globex-nonexistent.com.>"
    ); // S062
}

#[test]
fn classification() {
    let m = |s: &str| {
        parse_reverse_path(s, true)
            .unwrap()
            .mailbox()
            .unwrap()
            .clone()
            .into_owned()
    };
    assert!(m("<a@[192.0.2.1]>").is_literal());
    assert!(m("<a@[192.0.2.1]>").is_fully_qualified());
    assert!(!m("<a@com.>").is_fully_qualified());
    assert!(m("<a@пример.рф>").domain().unwrap().is_idn());
    assert!(m("<a@xn--e1afmkfd.xn--p1ai>").domain().unwrap().is_idn());
    assert!(!m("<a@example.org>").domain().unwrap().is_idn());
    assert_eq!(
        m("<a@пример.рф>").domain().unwrap().ascii(),
        "xn--e1afmkfd.xn--p1ai"
    );
    assert_eq!(m("<a@пример.рф>").domain().unwrap().written(), "пример.рф");
    let long = format!("<u@{}com>", "a.".repeat(126)); // 255 octets
    assert!(
        !m(&long).domain().unwrap().fits_in_dns(),
        "254 octets cannot be asked"
    );
}

/// Postfix's internal form (policy requests, milters): every corpus mailbox,
/// once parsed from SMTP, reads back the same from its internal form.
#[test]
fn internal_forms_read_back() {
    use envelope_check::{parse_internal_forward_path, parse_internal_reverse_path};
    let mut checked = 0;
    for case in cases() {
        let Ok(Some(mailbox)) = parse(&case) else {
            continue;
        };
        let internal = mailbox.internal().to_owned();
        let again = if case.is_mail() {
            parse_internal_reverse_path(&internal, true)
                .map(|p| p.mailbox().cloned().map(Mailbox::into_owned))
        } else {
            parse_internal_forward_path(&internal, true)
                .map(|p| Some(p.mailbox().clone().into_owned()))
        };
        let again = again
            .unwrap_or_else(|e| panic!("{}: {internal:?} does not read back: {e}", case.id))
            .expect("a mailbox");
        assert_eq!(again.internal(), mailbox.internal(), "{}", case.id);
        assert_eq!(
            again.domain().map(|d| d.ascii().to_owned()),
            mailbox.domain().map(|d| d.ascii().to_owned()),
            "{}",
            case.id
        );
        assert_eq!(
            again.echo().to_string(),
            mailbox.echo().to_string(),
            "{}",
            case.id
        );
        checked += 1;
    }
    assert!(checked > 150, "{checked}");

    assert_eq!(
        parse_internal_reverse_path("", false),
        Ok(ReversePath::Null)
    );
    assert_eq!(
        parse_internal_forward_path("", false).unwrap_err(),
        AddressError::NullRecipient
    );
    assert!(matches!(
        parse_internal_forward_path("PostMaster", false),
        Ok(ForwardPath::Postmaster(_))
    ));
    // Quotes are already gone in the internal form.
    let p = parse_internal_reverse_path("john smith@example.com", false).unwrap();
    assert_eq!(p.mailbox().unwrap().local_part(), "john smith");
    assert_eq!(
        p.mailbox().unwrap().echo().to_string(),
        "<john smith@example.com>"
    );
    assert!(
        !parse_internal_reverse_path("john@mail", false)
            .unwrap()
            .mailbox()
            .unwrap()
            .is_fully_qualified()
    );
}
