//! Fuzzes the envelope path parser and the reply renderer: no input may
//! panic, and every reply line stays within RFC 5321 limits with no
//! control characters.
#![no_main]

use envelope_check::engine::{DnsEvidence, classify, decide_recipient, decide_sender, syntax_error};
use envelope_check::{
    MAX_REPLY_LINE, Policy, Role, parse_forward_path, parse_reverse_path,
    split_command_argument_bytes,
};
use libfuzzer_sys::fuzz_target;

fn check_line(line: &str) {
    assert!(line.len() <= MAX_REPLY_LINE, "reply too long: {}", line.len());
    assert!(!line.chars().any(char::is_control), "control character in reply");
}

fuzz_target!(|data: &[u8]| {
    let policy = Policy::default();
    let evidence = DnsEvidence::default();
    let arg = match split_command_argument_bytes(data) {
        Ok(arg) => arg,
        Err(e) => return check_line(&syntax_error(Role::Sender, e).to_string()),
    };
    match parse_reverse_path(arg.path, arg.smtputf8) {
        Ok(p) => {
            check_line(&decide_sender(&p, &policy, Some(classify(&evidence))).to_string());
            if let Some(m) = p.mailbox() {
                let echo = m.echo().to_string();
                assert!(!echo.chars().any(char::is_control));
                // A rendered mailbox parses back to itself.
                let rendered = m.to_string();
                let again = parse_reverse_path(&rendered, arg.smtputf8);
                assert_eq!(again.as_ref(), Ok(&p), "{rendered:?}");
            }
        }
        Err(e) => check_line(&syntax_error(Role::Sender, e).to_string()),
    }
    match parse_forward_path(arg.path, arg.smtputf8) {
        Ok(p) => check_line(&decide_recipient(&p, &policy, Some(classify(&evidence))).to_string()),
        Err(e) => check_line(&syntax_error(Role::Recipient, e).to_string()),
    }
});
