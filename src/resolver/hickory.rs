//! `HickoryResolver`: the `Resolver` trait over hickory-resolver (feature
//! `hickory`).

use std::error::Error as StdError;
use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use async_trait::async_trait;
use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::net::{DnsError, NetError};
use hickory_resolver::proto::op::ResponseCode;
use hickory_resolver::proto::rr::{Name, RData, RecordType};

use super::{DnsOutcome, QueryType, Record, Resolver, Transient};

/// Options of the hickory backend. Start from [`Default`] and set fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct HickoryOptions {
    /// Time to wait for one answer. Default: 2 s (hickory's is 5 s).
    pub timeout: Duration,
    /// Retries after the first send (hickory's `attempts`). Default: 1, so
    /// an unanswered query costs about 4 s, inside the checker's 5 s
    /// deadline.
    pub attempts: usize,
    /// Entries in hickory's own answer cache. Default: 0 (off): the
    /// checker's verdict cache holds the result per domain, so a second
    /// cache of the same answers would double the memory for no hits.
    pub cache_size: u64,
}

impl Default for HickoryOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(2),
            attempts: 1,
            cache_size: 0,
        }
    }
}

/// Why a hickory resolver could not be built.
///
/// It carries hickory's message, not hickory's error type, so that a new
/// hickory version does not change this crate's interface.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HickoryError {
    /// The system configuration (`/etc/resolv.conf`) could not be read or
    /// parsed. Fix it, or name the servers with
    /// [`HickoryResolver::with_name_servers`].
    #[error("system resolver configuration: {message}")]
    SystemConf {
        /// hickory's message, with its causes.
        message: String,
        /// The I/O error kind, when reading the configuration failed
        /// (`NotFound` for a missing `/etc/resolv.conf`).
        io: Option<io::ErrorKind>,
    },
    /// No name server was given, or the configuration names none. Give at
    /// least one.
    #[error("no name servers")]
    NoNameServers,
    /// hickory refused the configuration or options. Check them.
    #[error("building the resolver: {message}")]
    Build {
        /// hickory's message, with its causes.
        message: String,
    },
}

impl HickoryError {
    fn system_conf(error: &(dyn StdError + 'static)) -> Self {
        Self::SystemConf {
            message: message(error),
            io: io_kind(error),
        }
    }

    fn build(error: &(dyn StdError + 'static)) -> Self {
        Self::Build {
            message: message(error),
        }
    }
}

/// An upstream error's message and those of its causes that it does not
/// already include.
fn message(error: &(dyn StdError + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

/// The kind of the first I/O error in an upstream error's chain.
fn io_kind(error: &(dyn StdError + 'static)) -> Option<io::ErrorKind> {
    let mut current = Some(error);
    while let Some(e) = current {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        if let Some(NetError::Io(io)) = e.downcast_ref::<NetError>() {
            return Some(io.kind());
        }
        current = e.source();
    }
    None
}

/// DNS over the network through hickory-resolver.
///
/// Four ways to build one: the servers of `/etc/resolv.conf`
/// ([`from_system_conf`]), explicit `IP:port` servers
/// ([`with_name_servers`]), both over UDP with TCP fallback and tuned by
/// [`HickoryOptions`]; hickory's own configuration and options
/// ([`from_config`]); or a `TokioResolver` the MTA already has
/// ([`from_resolver`]).
///
/// Names are always asked as absolute names, so a search list and `ndots`
/// never apply. The presets also skip `/etc/hosts`. Needs a Tokio runtime.
///
/// ```no_run
/// use envelope_check::{HickoryOptions, HickoryResolver};
/// # #[tokio::main] async fn main() {
/// let dns = HickoryResolver::from_system_conf(HickoryOptions::default()).unwrap();
/// let local = HickoryResolver::with_name_servers(&["127.0.0.1:53".parse().unwrap()], HickoryOptions::default());
/// # }
/// ```
///
/// [`from_system_conf`]: Self::from_system_conf
/// [`with_name_servers`]: Self::with_name_servers
/// [`from_config`]: Self::from_config
/// [`from_resolver`]: Self::from_resolver
#[derive(Debug, Clone)]
pub struct HickoryResolver {
    inner: TokioResolver,
}

impl HickoryResolver {
    /// The name servers of `/etc/resolv.conf` (search list and options
    /// ignored).
    ///
    /// # Errors
    ///
    /// [`HickoryError::SystemConf`] when the file cannot be read or parsed,
    /// [`HickoryError::NoNameServers`] when it names none.
    pub fn from_system_conf(options: HickoryOptions) -> Result<Self, HickoryError> {
        let (config, _) = hickory_resolver::system_conf::read_system_conf()
            .map_err(|e| HickoryError::system_conf(&e))?;
        let (_, _, servers) = config.into_parts();
        Self::build(servers, &options)
    }

    /// Explicit name servers, `IP:port`, each over UDP with TCP fallback.
    ///
    /// # Errors
    ///
    /// [`HickoryError::NoNameServers`] for an empty list.
    pub fn with_name_servers(
        servers: &[SocketAddr],
        options: HickoryOptions,
    ) -> Result<Self, HickoryError> {
        let servers = servers
            .iter()
            .map(|addr| {
                let mut udp = ConnectionConfig::udp();
                udp.port = addr.port();
                let mut tcp = ConnectionConfig::tcp();
                tcp.port = addr.port();
                let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
                ns.connections = vec![udp, tcp];
                ns
            })
            .collect();
        Self::build(servers, &options)
    }

    /// hickory's own configuration and options, used as given: set
    /// `timeout` and `attempts` to end within the policy's deadline
    /// (hickory's defaults wait about 15 s for an unanswered query), and
    /// `use_hosts_file` to [`ResolveHosts::Never`] unless `/etc/hosts`
    /// should answer. The configuration's search list and domain never
    /// apply (names are absolute).
    ///
    /// ```
    /// use envelope_check::HickoryResolver;
    /// use envelope_check::hickory_resolver::config::{
    ///     NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
    /// };
    /// use std::time::Duration;
    ///
    /// let config = ResolverConfig::from_name_servers(vec![NameServerConfig::udp_and_tcp(
    ///     "192.0.2.53".parse().unwrap(),
    /// )]);
    /// let mut opts = ResolverOpts::default();
    /// opts.timeout = Duration::from_secs(2);
    /// opts.attempts = 1;
    /// opts.use_hosts_file = ResolveHosts::Never;
    /// let dns = HickoryResolver::from_config(config, opts)?;
    /// # Ok::<(), envelope_check::HickoryError>(())
    /// ```
    ///
    /// # Errors
    ///
    /// [`HickoryError::NoNameServers`] when the configuration names none,
    /// [`HickoryError::Build`] when hickory refuses it.
    pub fn from_config(
        config: ResolverConfig,
        options: ResolverOpts,
    ) -> Result<Self, HickoryError> {
        if config.name_servers().is_empty() {
            return Err(HickoryError::NoNameServers);
        }
        let inner = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(options)
            .build()
            .map_err(|e| HickoryError::build(&e))?;
        Ok(Self { inner })
    }

    /// Shares a resolver the MTA already has (a clone shares its
    /// connections and cache). Its options apply as they are: see
    /// [`from_config`](Self::from_config) for the ones that matter here.
    ///
    /// ```
    /// use envelope_check::HickoryResolver;
    /// use envelope_check::hickory_resolver::TokioResolver;
    /// use envelope_check::hickory_resolver::config::{NameServerConfig, ResolverConfig};
    /// use envelope_check::hickory_resolver::net::runtime::TokioRuntimeProvider;
    ///
    /// // The MTA's own resolver, also used for its other lookups.
    /// let config = ResolverConfig::from_name_servers(vec![NameServerConfig::udp_and_tcp(
    ///     "192.0.2.53".parse().unwrap(),
    /// )]);
    /// let mta_resolver =
    ///     TokioResolver::builder_with_config(config, TokioRuntimeProvider::default()).build()?;
    /// let dns = HickoryResolver::from_resolver(mta_resolver.clone());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_resolver(resolver: TokioResolver) -> Self {
        Self { inner: resolver }
    }

    fn build(
        servers: Vec<NameServerConfig>,
        options: &HickoryOptions,
    ) -> Result<Self, HickoryError> {
        if servers.is_empty() {
            return Err(HickoryError::NoNameServers);
        }
        let config = ResolverConfig::from_parts(None, vec![], servers);
        let mut opts = ResolverOpts::default();
        opts.timeout = options.timeout;
        opts.attempts = options.attempts;
        opts.cache_size = options.cache_size;
        opts.use_hosts_file = ResolveHosts::Never;
        opts.ndots = 0;
        opts.try_tcp_on_error = true;
        Self::from_config(config, opts)
    }
}

#[async_trait]
impl Resolver for HickoryResolver {
    async fn query(&self, name: &str, qtype: QueryType) -> DnsOutcome {
        let Ok(mut name) = Name::from_ascii(name) else {
            // Not representable as a DNS name: nothing could answer it.
            return DnsOutcome::Transient(Transient::Malformed);
        };
        name.set_fqdn(true);
        let rtype = match qtype {
            QueryType::Mx => RecordType::MX,
            QueryType::A => RecordType::A,
            QueryType::Aaaa => RecordType::AAAA,
        };
        match self.inner.lookup(name, rtype).await {
            Ok(lookup) => {
                let mut ttl = u32::MAX;
                // A CNAME'd name also returns the CNAME records: keep the
                // asked type only.
                let records: Vec<Record> = lookup
                    .answers()
                    .iter()
                    .filter_map(|r| {
                        let record = match &r.data {
                            RData::MX(mx) if qtype == QueryType::Mx => Record::Mx {
                                preference: mx.preference,
                                exchange: mx.exchange.to_ascii(),
                            },
                            RData::A(a) if qtype == QueryType::A => Record::A(a.0),
                            RData::AAAA(a) if qtype == QueryType::Aaaa => Record::Aaaa(a.0),
                            _ => return None,
                        };
                        ttl = ttl.min(r.ttl);
                        Some(record)
                    })
                    .collect();
                if records.is_empty() {
                    DnsOutcome::NoData { negative_ttl: None }
                } else {
                    DnsOutcome::Records { records, ttl }
                }
            }
            Err(e) => map_error(e),
        }
    }
}

/// Every hickory failure keeps its kind; only NXDOMAIN and NODATA are
/// definite.
fn map_error(error: NetError) -> DnsOutcome {
    match error {
        NetError::Dns(DnsError::NoRecordsFound(no)) => {
            if no.response_code == ResponseCode::NXDomain {
                DnsOutcome::NxDomain {
                    negative_ttl: no.negative_ttl,
                }
            } else if no.response_code == ResponseCode::NoError {
                DnsOutcome::NoData {
                    negative_ttl: no.negative_ttl,
                }
            } else {
                DnsOutcome::Transient(rcode(no.response_code))
            }
        }
        NetError::Dns(DnsError::ResponseCode(rc)) => DnsOutcome::Transient(rcode(rc)),
        NetError::Timeout => DnsOutcome::Transient(Transient::Timeout),
        NetError::Io(e) => DnsOutcome::Transient(Transient::Network(e.kind())),
        NetError::NoConnections | NetError::Busy => {
            DnsOutcome::Transient(Transient::Network(std::io::ErrorKind::NotConnected))
        }
        NetError::Proto(_) | NetError::ParseInt(_) => DnsOutcome::Transient(Transient::Malformed),
        _ => DnsOutcome::Transient(Transient::Malformed),
    }
}

fn rcode(rc: ResponseCode) -> Transient {
    match rc {
        ResponseCode::ServFail => Transient::ServFail,
        ResponseCode::Refused => Transient::Refused,
        other => Transient::Rcode(u16::from(other)),
    }
}
