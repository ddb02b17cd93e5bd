//! The verdict cache: per domain, what the DNS said and until when.
//!
//! Keyed by the A-label domain; the value is a [`DomainStatus`] (a couple
//! of bytes) and its expiry. Built on `quick_cache` (bounded, S3-FIFO
//! eviction, lock-striped reads without allocation), whose placeholder
//! guards make concurrent checks of the same uncached domain share one
//! lookup.

use std::time::Duration;

use coarsetime::Instant;

use crate::engine::DomainStatus;

/// Settings of the checker's verdict cache. Start from [`Default`].
///
/// ```
/// use std::time::Duration;
/// use envelope_check::{CacheConfig, Checker, InMemoryResolver, Policy};
///
/// let mut cache = CacheConfig::default();
/// cache.capacity = 10_000;
/// cache.max_negative_ttl = Duration::from_secs(60);
/// let checker = Checker::with_cache(InMemoryResolver::new(), Policy::default(), cache);
/// assert_eq!(checker.cached_domains(), 0);
/// // Or none at all: every check asks the resolver.
/// let _uncached = Checker::with_cache(InMemoryResolver::new(), Policy::default(), CacheConfig::disabled());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheConfig {
    /// Most domains held; the least useful are evicted beyond it. 0 turns
    /// the cache off. Default: 100 000 (about 10 MB).
    pub capacity: usize,
    /// Upper bound on a positive entry's life (it is otherwise the smallest
    /// TTL of the answers used). Default: 1 hour.
    pub max_positive_ttl: Duration,
    /// Upper bound on a negative entry's life (it is otherwise the SOA
    /// negative TTL, RFC 2308). Default: 15 minutes.
    pub max_negative_ttl: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            capacity: 100_000,
            max_positive_ttl: Duration::from_secs(3600),
            max_negative_ttl: Duration::from_secs(900),
        }
    }
}

impl CacheConfig {
    /// No cache: every check asks the resolver.
    pub fn disabled() -> Self {
        Self {
            capacity: 0,
            ..Self::default()
        }
    }
}

/// One cached domain.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Entry {
    pub(crate) status: DomainStatus,
    pub(crate) expires: Instant,
}

pub(crate) type Cache = quick_cache::sync::Cache<String, Entry>;

pub(crate) fn new_cache(config: &CacheConfig) -> Option<Cache> {
    (config.capacity > 0).then(|| Cache::new(config.capacity))
}

impl Entry {
    /// The entry's remaining life, `None` once expired. The clock is the kernel's coarse
    /// monotonic clock (a few ms resolution, a few ns to read): TTLs are
    /// whole seconds, and this read is on every cache hit.
    pub(crate) fn remaining(&self) -> Option<std::time::Duration> {
        let now = Instant::now();
        (now < self.expires).then(|| (self.expires - now).into())
    }
}

/// A freshly looked-up status as a cache entry. It expires at once (usable
/// only by the checks already waiting for it) when it must not be cached.
pub(crate) fn entry(config: &CacheConfig, status: DomainStatus, ttl: Option<u32>) -> Entry {
    let cap = match status {
        DomainStatus::Exists => config.max_positive_ttl,
        DomainStatus::NotFound | DomainStatus::NullMx => config.max_negative_ttl,
        DomainStatus::Unavailable(_) => Duration::ZERO,
    };
    let ttl = ttl.map_or(Duration::ZERO, |t| Duration::from_secs(u64::from(t)));
    Entry {
        status,
        expires: Instant::now() + coarsetime::Duration::from(ttl.min(cap)),
    }
}
