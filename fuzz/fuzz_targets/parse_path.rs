//! Fuzzes the envelope path parser and the reply renderer with the text
//! after `MAIL FROM:` / `RCPT TO:` (see `checks::check_path`).
#![no_main]

#[path = "../../tests/fuzz_checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_path(data));
