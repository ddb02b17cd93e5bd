// The README is the crate's documentation. Its examples use the default
// features, so they run as doctests (through `ReadmeDoctests` below) only
// when those are on: `cargo test --no-default-features` still passes.
#![cfg_attr(not(doctest), doc = include_str!("../README.md"))]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod access;
mod address;
mod cache;
mod checker;
pub mod engine;
mod evidence;
mod policy;
mod policy_request;
mod resolver;
mod sanitize;
mod stats;
#[cfg(feature = "proptest")]
pub mod testing;
mod tracking;
mod transaction;
mod verdict;

// The public interface is:
pub use access::{
    AccessAction, AccessMatch, AccessReply, Directive, MapError, MapErrorKind, SenderAccess,
    TableWarning,
};
pub use address::{
    AddressError, AddressLiteral, CommandArgument, Domain, Echo, EsmtpParam, ForwardPath, Host,
    Mailbox, ReversePath, parse_forward_path, parse_internal_forward_path,
    parse_internal_reverse_path, parse_reverse_path, split_command_argument,
    split_command_argument_bytes,
};
/// The attribute macro that [`Resolver`] implementations put on their
/// `impl` block (re-exported from the `async-trait` crate).
pub use async_trait::async_trait;
pub use cache::CacheConfig;
pub use checker::{Argument, CheckOptions, Checker};
pub use engine::{DnsEvidence, DomainStatus};
pub use evidence::{CacheUse, Evidence, QueryEvidence};
/// hickory-resolver, the version [`HickoryResolver`] is built on (feature
/// `hickory`): take `TokioResolver`, `ResolverConfig` and `ResolverOpts`
/// from here for [`HickoryResolver::from_resolver`] and
/// [`HickoryResolver::from_config`], and no version can mismatch.
#[cfg(feature = "hickory")]
pub use hickory_resolver;
pub use policy::{Direction, Policy, PolicyBuilder, PolicyError};
pub use policy_request::{
    MAX_POLICY_ATTRIBUTES, MAX_POLICY_LINE, MAX_POLICY_REQUEST, PolicyRequest, PolicyRequestError,
    PolicyRequestReader,
};
#[cfg(feature = "hickory")]
pub use resolver::hickory::{HickoryError, HickoryOptions, HickoryResolver};
pub use resolver::memory::{Fault, InMemoryResolver, LoadError};
pub use resolver::zone::{Zone, ZoneData, ZoneRecord, parse_zone};
pub use resolver::{DnsOutcome, QueryType, Record, Resolver, Transient};
pub use stats::Stats;
pub use tracking::Tracking;
pub use transaction::{ProtocolReply, Reply, Transaction};
pub use verdict::{Accept, EnhancedStatus, MAX_REPLY_LINE, Reason, Reject, Role, Rule, Verdict};

#[cfg(all(doctest, feature = "hickory"))]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;
