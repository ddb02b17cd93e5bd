//! Fuzzes the command-argument splitter on raw bytes (see
//! `checks::check_command_argument`).
#![no_main]

#[path = "../../tests/fuzz_checks/mod.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_command_argument(data));
