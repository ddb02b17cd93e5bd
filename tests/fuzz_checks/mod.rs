//! The properties every fuzz target asserts, in one place: the targets in
//! `fuzz/fuzz_targets/` call these with the fuzzer's bytes, and
//! `tests/fuzz_regressions.rs` calls them with every input that ever
//! failed, so that stable `cargo test` replays them.
//!
//! Each function panics when a property is broken:
//! - no input panics the library;
//! - every reply line is at most 512 octets with its CRLF
//!   (`MAX_REPLY_LINE` without it) and holds no control character;
//! - a mailbox that parses, rendered and parsed again, is the same mailbox,
//!   and the rendered path is one command token;
//! - the policy request reader gives at most one request, and the server
//!   at most one single-line response, per request read; a request it
//!   gives names each attribute once, in at most `MAX_POLICY_ATTRIBUTES`
//!   lines and `MAX_POLICY_REQUEST` octets;
//! - sender access map text either loads or is refused with a line number
//!   inside the text, and whatever loads gives bounded, printable replies,
//!   warnings and directives.
#![allow(dead_code)]

mod evidence;

use envelope_check::engine::{decide_recipient, decide_sender, syntax_error};
use envelope_check::{
    AccessAction, ForwardPath, MAX_POLICY_ATTRIBUTES, MAX_POLICY_REQUEST, MAX_REPLY_LINE, Mailbox,
    Policy, PolicyRequestReader, ReversePath, Role, SenderAccess, Verdict, parse_forward_path,
    parse_internal_forward_path, parse_internal_reverse_path, parse_reverse_path,
    split_command_argument, split_command_argument_bytes,
};

/// A reply line fits in 512 octets with its CRLF and holds no control
/// character.
pub(crate) fn check_reply_line(line: &str) {
    assert!(
        line.len() <= MAX_REPLY_LINE,
        "reply of {} octets: {line:?}",
        line.len()
    );
    assert!(
        !line.chars().any(char::is_control),
        "control character in reply {line:?}"
    );
}

fn check_verdict(verdict: &Verdict) {
    check_reply_line(&verdict.to_string());
    if let Some(reject) = verdict.reject() {
        check_reply_line(&reject.postfix_action());
    }
}

fn check_sender(path: &ReversePath<'_>, policy: &Policy) {
    for evidence in evidence::samples() {
        check_verdict(&decide_sender(path, policy, &evidence));
    }
}

fn check_recipient(path: &ForwardPath<'_>, policy: &Policy) {
    for evidence in evidence::samples() {
        check_verdict(&decide_recipient(path, policy, &evidence));
    }
}

/// A mailbox, rendered, is one command token that parses back to it.
fn check_round_trip(mailbox: &Mailbox<'_>, smtputf8: bool, recipient: bool) {
    let rendered = mailbox.to_string();
    let arg = split_command_argument(&rendered)
        .unwrap_or_else(|e| panic!("rendered {rendered:?} does not split: {e}"));
    assert_eq!(arg.path, rendered, "rendered path is not one token");
    assert_eq!(
        arg.params().count(),
        0,
        "rendered {rendered:?} has parameters"
    );
    let again = if recipient {
        parse_forward_path(&rendered, smtputf8).map(|p| p.mailbox().clone())
    } else {
        parse_reverse_path(&rendered, smtputf8).map(|p| p.mailbox().cloned().expect("a mailbox"))
    };
    assert_eq!(again.as_ref(), Ok(mailbox), "rendered {rendered:?}");
    assert!(!mailbox.echo().to_string().chars().any(char::is_control));
}

/// `parse_path`: the text after `MAIL FROM:` / `RCPT TO:`, through the
/// splitter, both path parsers, the renderer and every reply.
pub(crate) fn check_path(data: &[u8]) {
    let policy = Policy::default();
    let arg = match split_command_argument_bytes(data) {
        Ok(arg) => arg,
        Err(e) => {
            check_verdict(&syntax_error(Role::Sender, e));
            return check_verdict(&syntax_error(Role::Recipient, e));
        }
    };
    match parse_reverse_path(arg.path, arg.smtputf8) {
        Ok(path) => {
            check_sender(&path, &policy);
            if let Some(mailbox) = path.mailbox() {
                check_round_trip(mailbox, arg.smtputf8, false);
            }
        }
        Err(e) => check_verdict(&syntax_error(Role::Sender, e)),
    }
    match parse_forward_path(arg.path, arg.smtputf8) {
        Ok(path) => {
            check_recipient(&path, &policy);
            check_round_trip(path.mailbox(), arg.smtputf8, true);
        }
        Err(e) => check_verdict(&syntax_error(Role::Recipient, e)),
    }
}

/// `split_command_argument`: on any bytes, the path is the first token of
/// the input, and splitting it again, alone or with the parameters
/// re-joined, gives the same path and parameters.
pub(crate) fn check_command_argument(data: &[u8]) {
    let Ok(arg) = split_command_argument_bytes(data) else {
        return;
    };
    let text = std::str::from_utf8(data).expect("split only UTF-8");
    assert!(!arg.path.is_empty());
    assert!(text.contains(arg.path));
    let params: Vec<_> = arg.params().map(|p| (p.keyword, p.value)).collect();
    let alone = split_command_argument(arg.path).expect("the path splits alone");
    assert_eq!(alone.path, arg.path);
    assert_eq!(
        alone.params().count(),
        0,
        "{:?} is more than one token",
        arg.path
    );
    let mut joined = arg.path.to_owned();
    for param in arg.params() {
        joined.push(' ');
        joined.push_str(param.keyword);
        if let Some(value) = param.value {
            joined.push('=');
            joined.push_str(value);
        }
    }
    let again = split_command_argument(&joined).expect("re-joined argument splits");
    assert_eq!(again.path, arg.path);
    assert_eq!(again.smtputf8, arg.smtputf8);
    let again_params: Vec<_> = again.params().map(|p| (p.keyword, p.value)).collect();
    assert_eq!(again_params, params);
}

/// The policy request reader and the answers built from its requests, as
/// `envelope-check-policyd` builds them (verdicts without DNS): one
/// request gives at most one response, and a response is one line.
pub(crate) fn check_policy_requests(data: &[u8]) {
    let policy = Policy::default();
    let mut reader = PolicyRequestReader::new();
    let (mut ends, mut requests) = (0, 0);
    // The current request's octets and attribute names, as sent.
    let (mut size, mut names) = (0, std::collections::HashSet::new());
    for line in data.split_inclusive(|&b| b == b'\n') {
        size += line.len();
        let blank = line.iter().all(|&b| b == b'\r' || b == b'\n');
        if blank && line.ends_with(b"\n") {
            ends += 1;
        }
        let fresh = match line.iter().position(|&b| b == b'=') {
            Some(eq) if !blank => names.insert(line[..eq].to_vec()),
            _ => true,
        };
        let request = match reader.push_line(line) {
            Ok(None) => {
                assert!(fresh, "a repeated attribute was taken");
                continue;
            }
            Ok(Some(request)) => request,
            // The server refuses and closes the connection.
            Err(e) => return check_response(&format!("DEFER_IF_PERMIT {e}")),
        };
        requests += 1;
        assert!(requests <= ends, "more requests than empty lines");
        assert!(size <= MAX_POLICY_REQUEST, "a request of {size} octets");
        assert!(request.len() <= MAX_POLICY_ATTRIBUTES);
        (size, names) = (0, std::collections::HashSet::new());
        assert!(request.get("request") == Some("smtpd_access_policy"));
        let get = |k: &str| request.get(k).unwrap_or("");
        match parse_internal_reverse_path(get("sender"), true) {
            Ok(path) => {
                for evidence in evidence::samples() {
                    respond(&decide_sender(&path, &policy, &evidence));
                }
            }
            Err(e) => respond(&syntax_error(Role::Sender, e)),
        }
        match parse_internal_forward_path(get("recipient"), true) {
            Ok(path) => {
                for evidence in evidence::samples() {
                    respond(&decide_recipient(&path, &policy, &evidence));
                }
            }
            Err(e) => respond(&syntax_error(Role::Recipient, e)),
        }
    }
}

/// Every action the server may send for a verdict.
fn respond(verdict: &Verdict) {
    match verdict.reject() {
        Some(reject) => {
            check_response(&reject.postfix_action());
            check_response(&reject.to_string());
        }
        None => check_response("DUNNO"),
    }
}

/// `action=...` is one line: Postfix reads it to the empty line that
/// follows, so a line break inside would be read as a second response.
fn check_response(action: &str) {
    let response = format!("action={action}\n\n");
    assert_eq!(response.matches('\n').count(), 2, "{response:?}");
    assert!(!action.contains('\r'));
    check_reply_line(action);
}

/// Senders that hit the keys a fuzzed map is likely to hold.
const MAP_SENDERS: [&str; 6] = [
    "<>",
    "<a@b.example>",
    "<A@sub.B.example.>",
    "<x@example>",
    "<\"a b\"@[192.0.2.1]>",
    "<u%v.example@w.example>",
];

/// Sender access map text: loads or fails on a line of the text; what
/// loads renders bounded, printable replies for every DNS situation.
pub(crate) fn check_sender_access(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let map = match SenderAccess::parse(text) {
        Ok(map) => map,
        Err(e) => {
            let lines = text.split('\n').count();
            assert!(
                e.line() >= 1 && e.line() <= lines,
                "line {} of {lines}",
                e.line()
            );
            let message = e.to_string();
            assert!(!message.chars().any(char::is_control), "{message:?}");
            assert!(message.len() < 400, "{} octets", message.len());
            return;
        }
    };
    for warning in map.warnings() {
        assert!(
            !warning.to_string().chars().any(char::is_control),
            "{warning:?}"
        );
    }
    let policy = Policy::builder()
        .local_domain("w.example")
        .sender_access(map)
        .build()
        .expect("a loaded map builds a policy");
    for sender in MAP_SENDERS {
        let path = parse_reverse_path(sender, false).expect("the senders parse");
        for dns in evidence::samples() {
            let verdict = decide_sender(&path, &policy, &dns);
            check_verdict(&verdict);
            if let Some(found) = verdict.access_match() {
                assert!(!found.to_string().contains(['\r', '\n']));
                if let AccessAction::Directive(d) = found.action() {
                    assert!(!d.postfix_action().chars().any(char::is_control));
                }
            }
        }
    }
}
