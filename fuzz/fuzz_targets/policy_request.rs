//! Fuzzes the Postfix policy request reader and the responses built from
//! its requests (see `checks::check_policy_requests`).
#![no_main]

#[path = "../../tests/fuzz_checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_policy_requests(data));
