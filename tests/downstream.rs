//! `examples/downstream_mta.rs` is a downstream MTA using only the public
//! API: its own `Resolver`, a session struct owning its `Transaction` next
//! to an `Arc<Checker>`, a shared hickory resolver, raw bytes, the typed
//! reject. It compiles in CI with the tests; this runs it.
#![cfg(feature = "hickory")]

mod common;

use std::process::Command;

#[test]
fn the_downstream_mta_example_runs_as_documented() {
    let out = Command::new(common::example_binary("downstream_mta"))
        .output()
        .expect("the example runs");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(out.status.success(), "{stderr}");
    assert_eq!(
        stdout.lines().collect::<Vec<_>>(),
        [
            "503 5.5.1 Error: need MAIL command",
            "250 2.1.0 Ok",
            "550 5.1.2 <info@typo.example>: Recipient address rejected: Domain not found",
            "500 5.5.2 Error: bad UTF-8 syntax",
            "250 2.1.5 Ok",
        ]
    );
    assert!(
        stderr.contains(
            "reject role=recipient code=550 status=5.1.2 kind=permanent reason=\"unknown recipient domain\""
        ),
        "{stderr}"
    );
}
