//! Fuzzes the sender access map reader and the replies built from what it
//! loads (see `checks::check_sender_access`).
#![no_main]

#[path = "../../tests/fuzz_checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_sender_access(data));
