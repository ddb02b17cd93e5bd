//! The listening sockets: TCP, unix (a stale socket replaced, any other
//! file left alone), or those passed by systemd; and the accept loop.

use std::io;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use listenfd::ListenFd;
use tokio::net::{TcpListener, UnixListener};

use crate::args::ListenArgs;
use crate::connections::Refusal;
use crate::sanitize::printable;
use crate::serve::serve;
use crate::server::Server;

pub(crate) enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

/// The sockets to serve: systemd's, then `--listen`, then `--unix`; with
/// none of them, 127.0.0.1:10040.
pub(crate) async fn bind(
    args: &ListenArgs,
    mut activated: ListenFd,
) -> Result<Vec<Listener>, String> {
    let mut listeners = Vec::new();
    for i in 0..activated.len() {
        let listener = match activated.take_tcp_listener(i) {
            Ok(Some(std)) => {
                std.set_nonblocking(true).map_err(|e| e.to_string())?;
                Listener::Tcp(TcpListener::from_std(std).map_err(|e| e.to_string())?)
            }
            Ok(None) => continue,
            Err(_) => match activated.take_unix_listener(i) {
                Ok(Some(std)) => {
                    std.set_nonblocking(true).map_err(|e| e.to_string())?;
                    Listener::Unix(UnixListener::from_std(std).map_err(|e| e.to_string())?)
                }
                Ok(None) => continue,
                Err(e) => return Err(format!("socket {i} passed by systemd: {e}")),
            },
        };
        log_listening(&listener, true);
        listeners.push(listener);
    }
    let tcp = if listeners.is_empty() && args.tcp.is_empty() && args.unix.is_empty() {
        vec![([127, 0, 0, 1], 10040).into()]
    } else {
        args.tcp.clone()
    };
    for addr in tcp {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("{addr}: {e}"))?;
        let listener = Listener::Tcp(listener);
        log_listening(&listener, false);
        listeners.push(listener);
    }
    for path in &args.unix {
        let listener = Listener::Unix(bind_unix(path, args.unix_mode)?);
        log_listening(&listener, false);
        listeners.push(listener);
    }
    Ok(listeners)
}

fn log_listening(listener: &Listener, activated: bool) {
    let at = match listener {
        Listener::Tcp(l) => l.local_addr().map(|a| a.to_string()),
        Listener::Unix(l) => l.local_addr().map(|a| match a.as_pathname() {
            Some(p) => p.display().to_string(),
            None => "(unnamed unix socket)".to_owned(),
        }),
    }
    .unwrap_or_else(|e| format!("(unknown: {e})"));
    tracing::info!(activated, "listening on {}", printable(&at));
}

/// Binds a unix socket at `path`, replacing a stale socket there but no
/// other kind of file, and gives it `mode`.
fn bind_unix(path: &Path, mode: u32) -> Result<UnixListener, String> {
    let shown = || printable(&path.display().to_string()).into_owned();
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            // Only a socket that refuses connections is stale: a server
            // still answering keeps its socket, and so does one we cannot
            // tell (no permission, say).
            match std::os::unix::net::UnixStream::connect(path) {
                Ok(_) => return Err(format!("{}: another server is listening there", shown())),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => {}
                Err(e) => {
                    return Err(format!(
                        "{}: cannot tell whether the socket there is in use ({e}); not removing it",
                        shown()
                    ));
                }
            }
            std::fs::remove_file(path)
                .map_err(|e| format!("{}: removing a stale socket: {e}", shown()))?;
        }
        Ok(_) => {
            return Err(format!(
                "{}: exists and is not a socket; not removing it (give another --unix path)",
                shown()
            ));
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(format!("{}: {e}", shown())),
    }
    let listener = UnixListener::bind(path).map_err(|e| format!("{}: {e}", shown()))?;
    // Until this runs the socket has the umask's mode: clients connecting
    // in that instant are answered as any other.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("{}: setting mode {mode:o}: {e}", shown()))?;
    if let Ok(meta) = std::fs::symlink_metadata(path) {
        OUR_SOCKETS.lock().unwrap_or_else(|e| e.into_inner()).push((
            path.to_owned(),
            meta.dev(),
            meta.ino(),
        ));
    }
    Ok(listener)
}

/// The socket files this process made: path, device and inode.
static OUR_SOCKETS: Mutex<Vec<(PathBuf, u64, u64)>> = Mutex::new(Vec::new());

/// Removes the socket files `--unix` made, at exit: only the very files
/// this process bound. A new instance that already replaced one (its own
/// socket at the same path) keeps it.
pub(crate) fn remove_sockets() {
    let ours = std::mem::take(&mut *OUR_SOCKETS.lock().unwrap_or_else(|e| e.into_inner()));
    for (path, dev, ino) in ours {
        let same = std::fs::symlink_metadata(&path)
            .is_ok_and(|m| m.file_type().is_socket() && m.dev() == dev && m.ino() == ino);
        if same {
            let _ = std::fs::remove_file(&path);
        }
    }
}

/// How often running out of descriptors is logged, at most.
const ACCEPT_ERROR_LOG_INTERVAL: Duration = Duration::from_secs(10);

impl Listener {
    /// Accepts until aborted; each connection is served by a task of its
    /// own, so a slow or stalled client never holds up another.
    pub(crate) async fn accept_loop(self, server: Arc<Server>) {
        let mut errors = AcceptErrors::default();
        loop {
            let accepted = match &self {
                Self::Tcp(l) => l.accept().await.map(|(s, _)| {
                    // Answers are small and must go out at once.
                    let _ = s.set_nodelay(true);
                    let (r, w) = s.into_split();
                    admit(&server, r, w)
                }),
                Self::Unix(l) => l.accept().await.map(|(s, _)| {
                    let (r, w) = s.into_split();
                    admit(&server, r, w)
                }),
            };
            match accepted {
                Ok(()) => errors.reset(),
                Err(e) => {
                    // Out of descriptors (EMFILE, ENFILE) and the like: an
                    // idle connection makes room, and the loop backs off
                    // instead of spinning.
                    if is_out_of_descriptors(&e) {
                        server.connections.evict_idle();
                    }
                    errors.log(&e);
                    tokio::time::sleep(errors.backoff()).await;
                }
            }
        }
    }
}

fn admit<R, W>(server: &Arc<Server>, reader: R, writer: W)
where
    R: tokio::io::AsyncRead + Unpin + Send + 'static,
    W: tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    match server.connections.admit() {
        Ok(admission) => {
            let server = server.clone();
            tokio::spawn(async move { serve(reader, writer, &server, admission).await });
        }
        // Closing the new connection at once lets its client fall back to
        // its default without waiting.
        Err(Refusal::AllBusy) => server.metrics.count_refused(),
        Err(Refusal::Closing) => {}
    }
}

fn is_out_of_descriptors(e: &io::Error) -> bool {
    // EMFILE (24) and ENFILE (23) on Linux and the BSDs.
    matches!(e.raw_os_error(), Some(23 | 24))
}

/// Accept failures: logged once per interval, with a growing pause.
#[derive(Default)]
struct AcceptErrors {
    consecutive: u32,
    last_logged: Option<Instant>,
    since_logged: u64,
}

impl AcceptErrors {
    fn reset(&mut self) {
        self.consecutive = 0;
    }

    fn log(&mut self, e: &io::Error) {
        self.consecutive = self.consecutive.saturating_add(1);
        self.since_logged += 1;
        if self
            .last_logged
            .is_none_or(|t| t.elapsed() >= ACCEPT_ERROR_LOG_INTERVAL)
        {
            tracing::warn!(
                failures = self.since_logged,
                "accept: {e} (logged at most every {} s)",
                ACCEPT_ERROR_LOG_INTERVAL.as_secs()
            );
            self.last_logged = Some(Instant::now());
            self.since_logged = 0;
        }
    }

    /// 5 ms, doubling up to 1 s.
    fn backoff(&self) -> Duration {
        let exp = self.consecutive.saturating_sub(1).min(8);
        Duration::from_millis(5 << exp).min(Duration::from_secs(1))
    }
}
