//! The smallest real integration: check one transaction against the
//! system's DNS servers (`/etc/resolv.conf`). Needs network access.
//!
//! ```text
//! cargo run --example hickory_system -- '<sender@example.org>' '<rcpt@example.net>'...
//! ```

use std::sync::Arc;

use envelope_check::CheckOptions;
use envelope_check::{Checker, Direction, HickoryOptions, HickoryResolver, Policy, Verdict};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let sender = args
        .next()
        .ok_or("usage: hickory_system SENDER [RCPT]...")?;

    // 1. One checker per process: it holds the verdict cache. Share it
    //    between SMTP sessions with an Arc.
    let dns = HickoryResolver::from_system_conf(HickoryOptions::default())?;
    let policy = Policy::builder()
        .direction(Direction::Inbound)
        .local_domain("mx.example.net") // your own host names: never looked up
        .build()?;
    let checker = Arc::new(Checker::new(dns, policy));

    // 2. MAIL FROM: the whole argument, ESMTP parameters included.
    let verdict = checker.mail_from(&sender, CheckOptions::default()).await;
    report("MAIL FROM", &verdict);

    // 3. RCPT TO: each recipient; `false` = the transaction has no SMTPUTF8.
    for rcpt in args {
        let verdict = checker.rcpt_to(&rcpt, CheckOptions::default()).await;
        report("RCPT TO", &verdict);
    }
    Ok(())
}

/// What an MTA does with a verdict: send the line, log the reason.
fn report(command: &str, verdict: &Verdict) {
    println!("{command}: {verdict}");
    if let Verdict::Reject(reject) = verdict {
        eprintln!(
            "  log: {} ({})",
            reject.log_reason(),
            if reject.is_permanent() {
                "permanent"
            } else {
                "temporary"
            }
        );
    }
}
