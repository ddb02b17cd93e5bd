//! Every input a fuzz target ever failed on, replayed on stable `cargo
//! test` through the same checks the targets run (`tests/fuzz_checks/mod.rs`).

#[path = "fuzz_checks/mod.rs"]
mod checks;

/// The seven inputs `cargo fuzz run parse_path` failed on in 3.7 million
/// runs (issue 12): a quoted local part holding U+00A0, U+2004 or U+3000.
/// The renderer wrote it unquoted and the tokenizer split there, so the
/// path parsed back as another mailbox or as two addresses.
#[test]
fn unicode_space_in_a_quoted_local_part_round_trips() {
    for input in [
        "<\"a\u{a0}b\"@example.com>",
        "<\"\u{a0}b\"@example.com>",
        "<\"a\u{a0}\"@example.com>",
        "<\"a\u{2004}b\"@example.com>",
        "<\"\u{2004}\"@example.com>",
        "<\"a\u{3000}b\"@[192.0.2.1]>",
        "<\"x\u{3000}\"@example.com> SMTPUTF8",
    ] {
        checks::check_path(input.as_bytes());
    }
}

/// `parse_path`, 0.77 million runs into its first issue-12 run: a null-MX
/// verdict for a long IDN (A-labels, shown as 3-octet U-label characters)
/// made `Reject::postfix_action` 589 octets; the reply line itself was cut.
#[test]
fn a_long_idn_null_mx_action_stays_within_the_line() {
    checks::check_path(b"\xc2\xa0\xe2\x80\x89@xn--nwoLLLLLLLLLLLLLLLLLLod.xn--LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLod.xn--LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLod.xn--LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLod.xn--LLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLLntse\xef\xbb\xbfOD SMTPUTF8");
}

/// The sender access maps of the corpus go through the map reader's fuzz
/// checks too (the `sender_access` target's seeds).
#[test]
fn the_corpus_maps_pass_the_sender_access_checks() {
    for map in [
        include_str!("data/sender_access.map"),
        include_str!("data/sender_access_b.map"),
        include_str!("data/sender_access_c.map"),
        include_str!("data/approved_senders"),
        include_str!("data/approved.map"),
        "<> DISCARD\n  x\nu@ HOLD a\tb\r\n.x OK\n\0\n",
    ] {
        checks::check_sender_access(map.as_bytes());
    }
}

/// `sender_access`, 4 000 runs into its first run: an unknown action with
/// control characters (`\x04`, CR) went into the error message as it was.
/// The message is now sanitized and cut after 80 characters.
#[test]
fn a_map_error_names_the_value_sanitized_and_short() {
    let mut input = b"jrobe@northwind-traders.com DEFER_IF_IRP".to_vec();
    input.extend([4u8; 46]);
    input.extend([13u8; 5]);
    input.extend([4u8; 98]);
    input.extend(b"EMT\n");
    checks::check_sender_access(&input);
}

/// Requests that repeat an attribute or outgrow the request cap (issue 14:
/// a million `sender=` lines were taken, the last one judged) go through
/// the policy request checks: refused, never a second sender.
#[test]
fn repeated_attributes_and_oversized_requests_are_refused() {
    checks::check_policy_requests(
        b"request=smtpd_access_policy\nprotocol_state=RCPT\nsender=a@b.example\nsender=c@d.example\n\n",
    );
    let mut big = b"request=smtpd_access_policy\n".to_vec();
    for i in 0..20 {
        big.extend(format!("x{i}={}\n", "y".repeat(16_000)).bytes());
    }
    big.extend(b"\n");
    checks::check_policy_requests(&big);
}
