//! The policy daemon alone: requests/s on cached verdicts against the real
//! `envelope-check-policyd`, beside a minimal policy server that answers
//! `DUNNO` to everything on the same Tokio stack (the floor), in one run.
//!
//! Run: `cargo bench --bench policyd --features policyd` (offline; about
//! a minute). Optional arguments: `SECONDS` per measurement (default 2),
//! then the concurrencies to measure (default 1 16 256), e.g. to profile
//! one of them.
//!
//! Both servers are separate processes with Tokio's multi-threaded runtime
//! and the same line reader; the floor is this bench binary run again.
//! Each figure is the median of three measurements, the floor's and the
//! daemon's taken in turn, so that the load of a shared machine falls on
//! both alike. Beside requests/s it prints each server's CPU time per
//! request (user + system, from `/proc/PID/stat`): on a busy machine the
//! wall-clock rates swing with the other load, the CPU cost much less.
//! The load comes from this process: at concurrency 1, 16 and 256, each
//! client connection sends a request shaped like Postfix's (26
//! attributes, about 600 octets) and waits for its answer, as Postfix
//! does. The daemon's verdicts are all cached (a warm-up pass asks every
//! domain first): a third of the requests are rejects (NXDOMAIN), the rest
//! accepted.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader as AsyncBufReader};
use tokio::net::{TcpListener, TcpStream};

const BIN: &str = env!("CARGO_BIN_EXE_envelope-check-policyd");
const FLOOR_ENV: &str = "ENVELOPE_CHECK_BENCH_FLOOR";
/// Good domains in the zone; as many unknown ones are asked.
const DOMAINS: usize = 200;

fn main() {
    if std::env::var_os(FLOOR_ENV).is_some() {
        return floor_server();
    }
    // `cargo bench` adds `--bench`; the numbers are ours.
    let numbers: Vec<u64> = std::env::args().filter_map(|a| a.parse().ok()).collect();
    let seconds = numbers.first().copied().unwrap_or(2);
    let concurrencies: Vec<usize> = match numbers.get(1..) {
        Some(rest) if !rest.is_empty() => rest.iter().map(|&c| c as usize).collect(),
        _ => vec![1, 16, 256],
    };
    let measure = Duration::from_secs(seconds);

    let zone =
        std::env::temp_dir().join(format!("envelope-check-bench-{}.zone", std::process::id()));
    std::fs::write(&zone, zone_text()).unwrap();
    let daemon = Server::start(
        Command::new(BIN)
            .args(["--listen", "127.0.0.1:0", "--zone"])
            .arg(&zone),
        "listening on ",
    );
    let floor = Server::start(
        Command::new(std::env::current_exe().unwrap()).env(FLOOR_ENV, "1"),
        "floor listening on ",
    );
    let requests = Arc::new(requests());

    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    // Every domain once, so that every verdict after is a cache hit.
    let warm = rt.block_on(run(daemon.addr, 1, requests.clone(), Duration::ZERO, true));
    assert_eq!(warm.rejects, (requests.len() / 3) as u64);

    println!("policy requests on cached verdicts, {seconds} s per figure, medians of 3, same run");
    println!(
        "| concurrency | floor req/s | daemon req/s | ratio | floor CPU µs/req | daemon CPU µs/req | CPU ratio (floor/daemon) |"
    );
    println!("| ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for concurrency in concurrencies {
        let (mut f, mut d, mut fc, mut dc) = (vec![], vec![], vec![], vec![]);
        for _ in 0..3 {
            for (server, rate, cpu) in [(&floor, &mut f, &mut fc), (&daemon, &mut d, &mut dc)] {
                let before = server.cpu();
                let count = rt.block_on(run(
                    server.addr,
                    concurrency,
                    requests.clone(),
                    measure,
                    false,
                ));
                let used = server.cpu() - before;
                rate.push(count.per_second(measure));
                cpu.push(used.as_secs_f64() * 1e6 / count.total as f64);
            }
        }
        let (f, d, fc, dc) = (median(f), median(d), median(fc), median(dc));
        println!(
            "| {concurrency} | {f:.0} | {d:.0} | {:.2} | {fc:.1} | {dc:.1} | {:.2} |",
            d / f,
            fc / dc
        );
    }
    drop(daemon);
    drop(floor);
    let _ = std::fs::remove_file(&zone);
}

fn median(mut figures: Vec<f64>) -> f64 {
    figures.sort_by(f64::total_cmp);
    figures[figures.len() / 2]
}

/// The zone: `DOMAINS` domains with an MX; `u{i}.bench-unknown.example`
/// are not in it (NXDOMAIN).
fn zone_text() -> String {
    let mut zone = String::from(
        "$TTL 3600\n$ORIGIN .\n@ IN SOA ns.bench. h.bench. 1 3600 600 86400 3600\n@ IN NS ns.bench.\n",
    );
    for i in 0..DOMAINS {
        zone.push_str(&format!(
            "d{i}.bench-good.example. IN MX 10 mx.d{i}.bench-good.example.\n"
        ));
    }
    zone
}

/// Requests as Postfix sends them at RCPT time; one in three rejected.
fn requests() -> Vec<String> {
    (0..DOMAINS * 3 / 2)
        .map(|i| {
            let (sender, recipient, context) = match i % 3 {
                0 => (
                    format!("john@u{i}.bench-unknown.example"),
                    "info@d0.bench-good.example".to_owned(),
                    "sender",
                ),
                1 => (
                    format!("ann@d{}.bench-good.example", i % DOMAINS),
                    "bob@d1.bench-good.example".to_owned(),
                    "sender",
                ),
                _ => (
                    "ann@d2.bench-good.example".to_owned(),
                    format!("info@d{}.bench-good.example", i % DOMAINS),
                    "recipient",
                ),
            };
            format!(
                "request=smtpd_access_policy\nprotocol_state=RCPT\nprotocol_name=ESMTP\n\
                 client_address=192.0.2.10\nclient_name=mail.client.example\n\
                 client_port=41234\nreverse_client_name=mail.client.example\n\
                 server_address=192.0.2.1\nserver_port=25\nhelo_name=mail.client.example\n\
                 sender={sender}\nrecipient={recipient}\nrecipient_count=0\nqueue_id=\n\
                 instance=1a2b.6571c3f0.8e4d2.0\nsize=0\netrn_domain=\nstress=\nsasl_method=\n\
                 sasl_username=\nsasl_sender=\nccert_subject=\nccert_issuer=\n\
                 ccert_fingerprint=\nencryption_protocol=TLSv1.3\n\
                 encryption_cipher=TLS_AES_256_GCM_SHA384\npolicy_context={context}\n\n"
            )
        })
        .collect()
}

#[derive(Default)]
struct Count {
    /// Answers in the measured time, scaled to exactly `measure`.
    answers: u64,
    rejects: u64,
    /// Every answer, warm-up included, for the CPU time per request.
    total: u64,
}

impl Count {
    fn per_second(&self, d: Duration) -> f64 {
        self.answers as f64 / d.as_secs_f64()
    }
}

/// `concurrency` connections send requests in turn, each waiting for its
/// answer. With `once`: each request once, in order. Otherwise half a
/// second of warm-up, then answers counted for `measure`.
async fn run(
    addr: SocketAddr,
    concurrency: usize,
    requests: Arc<Vec<String>>,
    measure: Duration,
    once: bool,
) -> Count {
    let counting = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(false));
    let answers = Arc::new(AtomicU64::new(0));
    let rejects = Arc::new(AtomicU64::new(0));
    let total = Arc::new(AtomicU64::new(0));
    let mut clients = Vec::new();
    for c in 0..concurrency {
        let (requests, counting, stop, answers, rejects, total) = (
            requests.clone(),
            counting.clone(),
            stop.clone(),
            answers.clone(),
            rejects.clone(),
            total.clone(),
        );
        clients.push(tokio::spawn(async move {
            let stream = TcpStream::connect(addr).await.unwrap();
            stream.set_nodelay(true).unwrap();
            let (reader, mut writer) = stream.into_split();
            let mut reader = AsyncBufReader::new(reader);
            let mut line = Vec::new();
            let mut i = c * 7;
            loop {
                if stop.load(Ordering::Relaxed) || (once && i >= requests.len()) {
                    return;
                }
                writer
                    .write_all(requests[i % requests.len()].as_bytes())
                    .await
                    .unwrap();
                line.clear();
                reader.read_until(b'\n', &mut line).await.unwrap();
                let reject = line.starts_with(b"action=5");
                line.clear();
                reader.read_until(b'\n', &mut line).await.unwrap();
                assert_eq!(line, b"\n");
                total.fetch_add(1, Ordering::Relaxed);
                if once || counting.load(Ordering::Relaxed) {
                    answers.fetch_add(1, Ordering::Relaxed);
                    rejects.fetch_add(u64::from(reject), Ordering::Relaxed);
                }
                i += 1;
            }
        }));
    }
    if !once {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let start = Instant::now();
        counting.store(true, Ordering::Relaxed);
        tokio::time::sleep(measure).await;
        counting.store(false, Ordering::Relaxed);
        let elapsed = start.elapsed();
        stop.store(true, Ordering::Relaxed);
        // Scale to the nominal time, for the per-second figure.
        let scale = measure.as_secs_f64() / elapsed.as_secs_f64();
        for c in clients {
            c.await.unwrap();
        }
        return Count {
            answers: (answers.load(Ordering::Relaxed) as f64 * scale) as u64,
            rejects: 0,
            total: total.load(Ordering::Relaxed),
        };
    }
    for c in clients {
        c.await.unwrap();
    }
    Count {
        answers: answers.load(Ordering::Relaxed),
        rejects: rejects.load(Ordering::Relaxed),
        total: total.load(Ordering::Relaxed),
    }
}

/// A server process, killed on drop.
struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    fn start(command: &mut Command, marker: &str) -> Self {
        let mut child = command
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stderr = BufReader::new(child.stderr.take().unwrap());
        let addr = loop {
            let mut line = String::new();
            assert!(stderr.read_line(&mut line).unwrap() > 0, "server exited");
            if let Some(at) = line.find(marker) {
                let rest = &line[at + marker.len()..];
                break rest.split_whitespace().next().unwrap().parse().unwrap();
            }
        };
        // Keep reading, so that the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in stderr.lines() {});
        Self { child, addr }
    }
}

impl Server {
    /// The process's CPU time so far, user and system.
    fn cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        // The fields after the command name, which is in parentheses.
        let fields: Vec<&str> = stat[stat.rfind(')').unwrap() + 2..].split(' ').collect();
        // utime and stime are fields 14 and 15 of the line, 12 and 13 here.
        let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
        Duration::from_secs_f64(ticks as f64 / clock_ticks_per_second())
    }
}

/// `getconf CLK_TCK`: the unit of /proc's CPU times (100 on Linux).
fn clock_ticks_per_second() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The floor: reads each request to its empty line as the daemon does
/// (owned halves of the stream, a buffered reader), and answers `DUNNO`.
fn floor_server() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        eprintln!("floor listening on {}", listener.local_addr().unwrap());
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            stream.set_nodelay(true).unwrap();
            tokio::spawn(async move {
                let (reader, mut writer) = stream.into_split();
                let mut reader = AsyncBufReader::new(reader);
                let mut line = Vec::new();
                loop {
                    line.clear();
                    match reader.read_until(b'\n', &mut line).await {
                        Ok(0) | Err(_) => return,
                        Ok(_) => {}
                    }
                    if line == b"\n" && writer.write_all(b"action=DUNNO\n\n").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
}
