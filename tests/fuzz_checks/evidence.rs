//! DNS evidence samples for the pure engine, shared by the fuzz checks and
//! the property tests (each test crate uses a subset).
#![allow(dead_code)]

use envelope_check::engine::DnsEvidence;
use envelope_check::{DnsOutcome, Record, Transient};

fn mx_only(outcome: DnsOutcome) -> DnsEvidence {
    DnsEvidence {
        mx: Some(outcome),
        ..Default::default()
    }
}

/// NXDOMAIN on the MX query: a definite negative.
pub(crate) fn nxdomain() -> DnsEvidence {
    mx_only(DnsOutcome::NxDomain { negative_ttl: None })
}

/// A null MX (RFC 7505).
pub(crate) fn null_mx() -> DnsEvidence {
    mx_only(DnsOutcome::Records {
        records: vec![Record::Mx {
            preference: 0,
            exchange: ".".into(),
        }],
        ttl: 1,
    })
}

/// SERVFAIL on the MX query: transient.
pub(crate) fn servfail() -> DnsEvidence {
    mx_only(DnsOutcome::Transient(Transient::ServFail))
}

/// An MX that exists.
pub(crate) fn mx_exists() -> DnsEvidence {
    mx_only(DnsOutcome::Records {
        records: vec![Record::Mx {
            preference: 10,
            exchange: "mx.example.".into(),
        }],
        ttl: 60,
    })
}

/// The DNS situations a verdict is rendered under: nothing asked yet,
/// NXDOMAIN, null MX and SERVFAIL.
pub(crate) fn samples() -> [DnsEvidence; 4] {
    [DnsEvidence::default(), nxdomain(), null_mx(), servfail()]
}
