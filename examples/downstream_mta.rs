//! How a Rust MTA adopts the crate, using only its public API and no other
//! dependency than Tokio: a DNS backend of its own (here wrapping the
//! MTA's existing hickory resolver, shared with its other lookups), a
//! session struct that owns its transaction next to an `Arc<Checker>`,
//! command arguments taken as raw bytes off the wire, and the typed reject
//! read for logging and metrics.
//!
//! ```text
//! cargo run --example downstream_mta
//! ```
//!
//! It speaks to no network: the MTA's resolver points at a closed port on
//! 127.0.0.1, and the session's domains are answered by the MTA's own
//! table first.

use std::collections::HashMap;
use std::sync::Arc;

use envelope_check::hickory_resolver::TokioResolver;
use envelope_check::hickory_resolver::config::{NameServerConfig, ResolverConfig, ResolverOpts};
use envelope_check::hickory_resolver::net::runtime::TokioRuntimeProvider;
use envelope_check::{
    Checker, DnsOutcome, HickoryResolver, Policy, QueryType, Reason, Record, Resolver, Verdict,
    async_trait,
};

/// The MTA's DNS: answers it already knows (say, from its own cache), and
/// the shared hickory resolver for the rest.
struct MtaDns {
    known: HashMap<(String, QueryType), DnsOutcome>,
    shared: HickoryResolver,
}

#[async_trait]
impl Resolver for MtaDns {
    async fn query(&self, name: &str, qtype: QueryType) -> DnsOutcome {
        match self.known.get(&(name.to_owned(), qtype)) {
            Some(outcome) => outcome.clone(),
            None => self.shared.query(name, qtype).await,
        }
    }
}

/// One SMTP session of the MTA: it owns its transaction, and shares the
/// checker (and so the verdict cache) with every other session.
struct Session {
    checker: Arc<Checker<MtaDns>>,
    transaction: envelope_check::Transaction,
}

impl Session {
    /// `MAIL FROM:` with the argument bytes exactly as they came off the
    /// wire; returns the reply line.
    async fn mail(&mut self, arg: &[u8]) -> String {
        let verdict = self.transaction.mail_from(&self.checker, arg).await;
        log(&verdict);
        verdict.to_string()
    }

    /// `RCPT TO:`, likewise.
    async fn rcpt(&mut self, arg: &[u8]) -> String {
        let verdict = self.transaction.rcpt_to(&self.checker, arg).await;
        log(&verdict);
        verdict.to_string()
    }
}

/// What an MTA logs of a reject: the typed facts, not the reply text.
fn log(verdict: &Verdict) {
    if let Verdict::Reject(reject) = verdict {
        let kind = match reject.reason() {
            Reason::TemporaryFailure(_) => "temporary",
            Reason::BadSyntax(_) => "syntax",
            _ if reject.is_permanent() => "permanent",
            _ => "other",
        };
        eprintln!(
            "reject role={} code={} status={} kind={kind} reason=\"{}\"",
            reject.role().as_str(),
            reject.code(),
            reject.status(),
            reject.log_reason(),
        );
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The MTA's existing resolver (port 9 on loopback: nothing answers, so
    // anything not in the table below fails temporarily, never with a 5xx).
    let config = ResolverConfig::from_name_servers(vec![NameServerConfig::udp_and_tcp(
        "127.0.0.1".parse()?,
    )]);
    let mut options = ResolverOpts::default();
    options.timeout = std::time::Duration::from_millis(200);
    options.attempts = 1;
    let mta_resolver = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
        .with_options(options)
        .build()?;

    let mut known = HashMap::new();
    known.insert(
        ("shop.example.".to_owned(), QueryType::Mx),
        DnsOutcome::Records {
            records: vec![Record::Mx {
                preference: 10,
                exchange: "mx.shop.example.".into(),
            }],
            ttl: 300,
        },
    );
    known.insert(
        ("typo.example.".to_owned(), QueryType::Mx),
        DnsOutcome::NxDomain {
            negative_ttl: Some(60),
        },
    );
    let dns = MtaDns {
        known,
        shared: HickoryResolver::from_resolver(mta_resolver.clone()),
    };
    let checker = Arc::new(Checker::new(dns, Policy::default()));

    let mut session = Session {
        checker: Arc::clone(&checker),
        transaction: Default::default(),
    };
    println!("{}", session.rcpt(b"<early@shop.example>").await);
    println!("{}", session.mail(b"<buyer@shop.example> SIZE=1000").await);
    println!("{}", session.rcpt(b"<info@typo.example>").await);
    println!("{}", session.rcpt(b"<\xff@shop.example>").await);
    println!("{}", session.rcpt(b"<sales@shop.example>").await);
    Ok(())
}
