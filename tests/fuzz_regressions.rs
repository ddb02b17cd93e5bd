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
