//! Property-testing an MTA's own `MAIL FROM` handler with the crate's
//! strategies (cargo feature `proptest`), then replaying the Postfix corpus
//! through it. Offline: the DNS is in memory.
//!
//! ```text
//! cargo run --example property_test_your_mta --features proptest
//! ```

use envelope_check::testing::{self, Class};
use envelope_check::{CheckOptions, Checker, InMemoryResolver, Policy, Resolver, Role};
use proptest::prelude::*;

/// The MTA's handler: the text after `MAIL FROM:` in, the reply line out.
/// (An MTA's own checks, such as a size limit, would come first.)
async fn handle_mail_from<R: Resolver>(checker: &Checker<R>, argument: &str) -> String {
    let verdict = checker.mail_from(argument, CheckOptions::default()).await;
    verdict.to_string()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a Tokio runtime");

    // 1. Every class, on a DNS with no names: the handler must send the
    //    reply Postfix sends, exactly (a failure shrinks within its class).
    let empty = Checker::new(InMemoryResolver::new(), Policy::default());
    let config = ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    for class in Class::ALL {
        proptest!(config.clone(), |(sample in testing::reverse_path(class))| {
            let reply = runtime.block_on(handle_mail_from(&empty, &sample.mail_from_argument()));
            prop_assert_eq!(reply, sample.reply_on_empty_dns(Role::Sender));
        });
    }

    // 2. The corpus's senders, on the DNS and configuration Postfix had.
    let checker = Checker::new(testing::corpus_resolver(), testing::corpus_policy());
    let senders = testing::corpus().iter().filter(|r| r.role == Role::Sender);
    let mut replayed = 0;
    for row in senders.filter(|r| !r.deviates) {
        let reply = runtime.block_on(handle_mail_from(&checker, &row.mail_from_argument()));
        assert_eq!(reply, row.reply, "corpus row {}", row.id);
        replayed += 1;
    }
    println!("{} classes property-tested", Class::ALL.len());
    println!("{replayed} Postfix replies replayed");
}
