//! Real DNS servers on 127.0.0.1 inside the test process.
//!
//! - [`OracleServer`]: an in-process hickory-server, UDP and TCP on one
//!   port, serving the oracle's `zone.txt` (through hickory's authoritative
//!   in-memory zone handler) with the oracle's `faults.txt` applied, and the
//!   recursive-resolver behaviour the oracle's Unbound adds: CNAME chains
//!   are followed and a loop answers SERVFAIL.
//! - [`RawServer`]: a hand-driven UDP/TCP server for faults a zone cannot
//!   express: rcodes, silence, truncation, slowness, malformed packets.
//!
//! Only the tests and benches of `HickoryResolver` use them.
#![cfg(feature = "hickory")]

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use envelope_check::{Fault, ZoneData, parse_zone};
use hickory_server::Server;
use hickory_server::net::runtime::{Time, TokioRuntimeProvider};
use hickory_server::proto::op::{
    Header, HeaderCounts, Message, MessageType, Metadata, OpCode, ResponseCode,
};
use hickory_server::proto::rr::rdata::{CNAME, MX, NS, SOA, TXT};
use hickory_server::proto::rr::{LowerName, Name, RData, Record, RecordSet, RecordType, RrKey};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{AxfrPolicy, Catalog, MessageResponseBuilder, ZoneType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

/// hickory's configuration for one loopback server (UDP with TCP
/// fallback on the same port), through the crate's re-export.
pub fn loopback_config(
    addr: SocketAddr,
) -> envelope_check::hickory_resolver::config::ResolverConfig {
    use envelope_check::hickory_resolver::config::{
        ConnectionConfig, NameServerConfig, ResolverConfig,
    };
    let mut udp = ConnectionConfig::udp();
    udp.port = addr.port();
    let mut tcp = ConnectionConfig::tcp();
    tcp.port = addr.port();
    let mut ns = NameServerConfig::udp_and_tcp(addr.ip());
    ns.connections = vec![udp, tcp];
    ResolverConfig::from_name_servers(vec![ns])
}

/// A bare hickory resolver for `addr` (no hosts file, 2 s timeout, one
/// attempt: as `HickoryOptions::default()`), the baseline the benches
/// compare the crate against.
pub fn bare_resolver(addr: SocketAddr, cache_size: u64) -> hickory_resolver::TokioResolver {
    use hickory_resolver::config::{ResolveHosts, ResolverOpts};
    let mut opts = ResolverOpts::default();
    opts.cache_size = cache_size;
    opts.use_hosts_file = ResolveHosts::Never;
    opts.timeout = Duration::from_secs(2);
    opts.attempts = 1;
    hickory_resolver::TokioResolver::builder_with_config(
        loopback_config(addr),
        hickory_resolver::net::runtime::TokioRuntimeProvider::default(),
    )
    .with_options(opts)
    .build()
    .unwrap()
}

/// Binds UDP and TCP on the same free loopback port.
async fn bind_pair() -> (UdpSocket, TcpListener) {
    for _ in 0..50 {
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let port = udp.local_addr().unwrap().port();
        if let Ok(tcp) = TcpListener::bind(("127.0.0.1", port)).await {
            return (udp, tcp);
        }
    }
    panic!("no free loopback port pair");
}

/// The oracle's DNS on a real hickory-server.
pub struct OracleServer {
    pub addr: SocketAddr,
    _server: Server<OracleHandler>,
}

impl OracleServer {
    pub async fn start() -> Self {
        Self::start_with(super::ZONE, super::FAULTS, None).await
    }

    /// `delay`: every answer waits this long (a slow server).
    pub async fn start_with(zone: &str, faults: &str, delay: Option<Duration>) -> Self {
        let (origin, records) = hickory_records(zone);
        let mut cnames = HashMap::new();
        let mut rrsets: BTreeMap<RrKey, RecordSet> = BTreeMap::new();
        for record in records {
            if let RData::CNAME(c) = &record.data {
                cnames.insert(LowerName::from(&record.name), c.0.clone());
            }
            let key = RrKey::new(LowerName::from(&record.name), record.record_type());
            rrsets
                .entry(key)
                .or_insert_with(|| RecordSet::new(record.name.clone(), record.record_type(), 0))
                .insert(record, 0);
        }
        let zone = InMemoryZoneHandler::<TokioRuntimeProvider>::new(
            origin.clone(),
            rrsets,
            ZoneType::Primary,
            AxfrPolicy::Deny,
        )
        .expect("zone loads into hickory-server");
        let mut catalog = Catalog::new();
        catalog.upsert(LowerName::from(&origin), vec![Arc::new(zone)]);
        let faults = faults
            .lines()
            .map(|l| l.split('#').next().unwrap().trim())
            .filter(|l| !l.is_empty())
            .map(|l| {
                let mut w = l.split_whitespace();
                let name = w.next().unwrap().to_ascii_lowercase();
                let name = if name.ends_with('.') {
                    name
                } else {
                    format!("{name}.")
                };
                (name, Fault::parse(w.next().unwrap()).expect("fault kind"))
            })
            .collect();
        let handler = OracleHandler {
            catalog,
            cnames,
            faults,
            delay,
        };
        let (udp, tcp) = bind_pair().await;
        let addr = udp.local_addr().unwrap();
        let mut server = Server::new(handler);
        server.register_socket(udp);
        server.register_listener(tcp, Duration::from_secs(5), 32);
        Self {
            addr,
            _server: server,
        }
    }
}

/// The zone as hickory records: the same data `InMemoryResolver` serves.
/// DNAME is left out (hickory-server has no DNAME: through a recursive
/// resolver it is that resolver's business); any other type becomes an
/// empty TXT record, whose only role is to make its name exist.
fn hickory_records(text: &str) -> (Name, Vec<Record>) {
    let zone = parse_zone(text).expect("zone parses");
    let name = |n: &str| Name::from_ascii(n).expect("parse_zone gives valid names");
    let records = zone
        .records
        .iter()
        .filter_map(|r| {
            let rdata = match &r.data {
                ZoneData::Mx {
                    preference,
                    exchange,
                } => RData::MX(MX::new(*preference, name(exchange))),
                ZoneData::A(a) => RData::A((*a).into()),
                ZoneData::Aaaa(a) => RData::AAAA((*a).into()),
                ZoneData::Cname(target) => RData::CNAME(CNAME(name(target))),
                ZoneData::Ns(target) => RData::NS(NS(name(target))),
                ZoneData::Soa {
                    mname,
                    rname,
                    serial,
                    refresh,
                    retry,
                    expire,
                    minimum,
                } => RData::SOA(SOA::new(
                    name(mname),
                    name(rname),
                    *serial,
                    *refresh as i32,
                    *retry as i32,
                    *expire as i32,
                    *minimum,
                )),
                ZoneData::Dname(_) => return None,
                _ => RData::TXT(TXT::new(vec![String::new()])),
            };
            Some(Record::from_rdata(name(&r.owner), r.ttl, rdata))
        })
        .collect();
    (name(&zone.origin), records)
}

pub struct OracleHandler {
    catalog: Catalog,
    cnames: HashMap<LowerName, Name>,
    faults: Vec<(String, Fault)>,
    delay: Option<Duration>,
}

impl OracleHandler {
    fn fault_for(&self, name: &str) -> Option<Fault> {
        self.faults
            .iter()
            .find(|(f, _)| name == f || name.ends_with(&format!(".{f}")))
            .map(|(_, k)| *k)
    }

    /// Walks the CNAME chain from `name` as a recursive resolver would:
    /// `Err` for a loop or a chain into a faulted name.
    fn chain_fault(&self, name: &LowerName) -> Option<Fault> {
        let mut current = Name::from(name.clone());
        for _ in 0..=16 {
            if let Some(f) = self.fault_for(&current.to_ascii().to_ascii_lowercase()) {
                return Some(f);
            }
            match self.cnames.get(&LowerName::from(&current)) {
                Some(next) => current = next.clone(),
                None => return None,
            }
        }
        Some(Fault::ServFail)
    }
}

#[async_trait]
impl RequestHandler for OracleHandler {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        if let Some(delay) = self.delay {
            tokio::time::sleep(delay).await;
        }
        let fault = match request.request_info() {
            Ok(info) => self.chain_fault(info.query.name()),
            Err(_) => None,
        };
        let rcode = match fault {
            None => {
                return self
                    .catalog
                    .handle_request::<R, T>(request, response_handle)
                    .await;
            }
            Some(Fault::Timeout | Fault::Hang) => return unanswered(request),
            Some(Fault::Refused) => ResponseCode::Refused,
            Some(Fault::FormErr) => ResponseCode::FormErr,
            Some(_) => ResponseCode::ServFail,
        };
        let response =
            MessageResponseBuilder::new(&request.queries, None).error_msg(&request.metadata, rcode);
        match response_handle.send_response(response).await {
            Ok(info) => info,
            Err(_) => unanswered(request),
        }
    }
}

/// The bookkeeping value for a request that gets no response.
fn unanswered(request: &Request) -> ResponseInfo {
    let mut metadata = Metadata::new(
        request.metadata.id,
        MessageType::Response,
        request.metadata.op_code,
    );
    metadata.response_code = ResponseCode::ServFail;
    ResponseInfo::from(Header {
        metadata,
        counts: HeaderCounts::default(),
    })
}

/// What the raw server does with a query of one type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behaviour {
    /// A positive answer (MX 10 mx.example., A 192.0.2.1, AAAA 2001:db8::1).
    Positive,
    /// NOERROR, no answer, SOA in authority (negative TTL 42).
    NoData,
    /// NXDOMAIN with SOA (negative TTL 42).
    NxDomain,
    /// An error rcode.
    Rcode(ResponseCode),
    /// No answer at all.
    Silent,
    /// UDP: an empty answer with TC set; TCP: the positive answer.
    Truncated,
    /// A positive answer after this many milliseconds.
    Slow(u64),
    /// Bytes that do not decode as DNS (with the query's ID).
    Malformed,
}

/// A hand-driven DNS server: per query type behaviours, UDP and TCP.
pub struct RawServer {
    pub addr: SocketAddr,
    pub queries: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for RawServer {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl RawServer {
    pub async fn start(mx: Behaviour, a: Behaviour, aaaa: Behaviour) -> Self {
        let plan = Arc::new(HashMap::from([
            (RecordType::MX, mx),
            (RecordType::A, a),
            (RecordType::AAAA, aaaa),
        ]));
        let (udp, tcp) = bind_pair().await;
        let addr = udp.local_addr().unwrap();
        let queries = Arc::new(AtomicU64::new(0));
        let udp = Arc::new(udp);
        let (p, q) = (plan.clone(), queries.clone());
        let udp_task = tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            loop {
                let Ok((n, peer)) = udp.recv_from(&mut buf).await else {
                    return;
                };
                q.fetch_add(1, Ordering::Relaxed);
                let packet = buf[..n].to_vec();
                let (udp, p) = (udp.clone(), p.clone());
                tokio::spawn(async move {
                    if let Some(reply) = answer(&packet, &p, false).await {
                        let _ = udp.send_to(&reply, peer).await;
                    }
                });
            }
        });
        let (p, q) = (plan, queries.clone());
        let tcp_task = tokio::spawn(async move {
            loop {
                let Ok((mut stream, _)) = tcp.accept().await else {
                    return;
                };
                let (p, q) = (p.clone(), q.clone());
                tokio::spawn(async move {
                    loop {
                        let Ok(len) = stream.read_u16().await else {
                            return;
                        };
                        let mut packet = vec![0u8; usize::from(len)];
                        if stream.read_exact(&mut packet).await.is_err() {
                            return;
                        }
                        q.fetch_add(1, Ordering::Relaxed);
                        if let Some(reply) = answer(&packet, &p, true).await {
                            let _ = stream.write_u16(reply.len() as u16).await;
                            let _ = stream.write_all(&reply).await;
                        }
                    }
                });
            }
        });
        Self {
            addr,
            queries,
            tasks: vec![udp_task, tcp_task],
        }
    }
}

fn soa(zone: &Name) -> Record {
    let soa = SOA::new(
        Name::from_ascii("ns.example.").unwrap(),
        Name::from_ascii("host.example.").unwrap(),
        1,
        3600,
        600,
        86400,
        42,
    );
    Record::from_rdata(zone.clone(), 300, RData::SOA(soa))
}

async fn answer(
    packet: &[u8],
    plan: &HashMap<RecordType, Behaviour>,
    tcp: bool,
) -> Option<Vec<u8>> {
    let request = Message::from_vec(packet).ok()?;
    let query = request.queries.first()?.clone();
    let mut response = Message::new(request.metadata.id, MessageType::Response, OpCode::Query);
    response.metadata.recursion_desired = request.metadata.recursion_desired;
    response.metadata.recursion_available = true;
    response.add_query(query.clone());
    let name = query.name().clone();
    let behaviour = plan
        .get(&query.query_type())
        .copied()
        .unwrap_or(Behaviour::NoData);
    let positive = |response: &mut Message| {
        let rdata = match query.query_type() {
            RecordType::MX => RData::MX(MX::new(10, Name::from_ascii("mx.example.").unwrap())),
            RecordType::AAAA => {
                RData::AAAA("2001:db8::1".parse::<std::net::Ipv6Addr>().unwrap().into())
            }
            _ => RData::A("192.0.2.1".parse::<std::net::Ipv4Addr>().unwrap().into()),
        };
        response.add_answer(Record::from_rdata(name.clone(), 120, rdata));
    };
    match behaviour {
        Behaviour::Positive => positive(&mut response),
        Behaviour::NoData => {
            response.add_authority(soa(&name));
        }
        Behaviour::NxDomain => {
            response.metadata.response_code = ResponseCode::NXDomain;
            response.add_authority(soa(&name));
        }
        Behaviour::Rcode(rc) => response.metadata.response_code = rc,
        Behaviour::Silent => return None,
        Behaviour::Truncated => {
            if tcp {
                positive(&mut response);
            } else {
                response.metadata.truncation = true;
            }
        }
        Behaviour::Slow(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            positive(&mut response);
        }
        Behaviour::Malformed => {
            let mut junk = packet[..2].to_vec();
            junk.extend_from_slice(&[0x81, 0x80, 0, 1, 0, 5, 0, 0, 0, 0, 0xff, 0xff, 0xff]);
            return Some(junk);
        }
    }
    response.to_vec().ok()
}
