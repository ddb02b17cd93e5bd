//! Fuzzes the command-argument splitter on raw bytes (see
//! `checks::check_command_argument`).
#![no_main]

#[path = "../checks.rs"]
mod checks;

libfuzzer_sys::fuzz_target!(|data: &[u8]| checks::check_command_argument(data));
