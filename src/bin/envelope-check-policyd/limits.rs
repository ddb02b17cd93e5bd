//! The descriptor limit, and the connection cap that follows from it.

use rlimit::Resource;

/// Descriptors kept for everything but client connections: the standard
/// streams, the runtime's, the listeners, DNS sockets, the metrics
/// server, a map being reloaded, and the connections being closed to make
/// room.
fn reserve(limit: u64) -> u64 {
    (limit / 8).clamp(16, 256)
}

/// Raises the soft `RLIMIT_NOFILE` to the hard one, then returns the cap:
/// `wanted`, or what the descriptors left after the reserve allow.
pub(crate) fn max_connections(wanted: Option<usize>) -> Result<usize, String> {
    let (soft, hard) = Resource::NOFILE
        .get()
        .map_err(|e| format!("reading the descriptor limit: {e}"))?;
    let limit = if soft < hard {
        match Resource::NOFILE.set(hard, hard) {
            Ok(()) => hard,
            Err(e) => {
                tracing::warn!(soft, hard, "cannot raise the descriptor limit: {e}");
                soft
            }
        }
    } else {
        soft
    };
    let derived = limit.saturating_sub(reserve(limit)).max(1);
    let cap = match wanted {
        Some(0) => return Err("--max-connections must be at least 1".into()),
        Some(n) => {
            if n as u64 > derived {
                tracing::warn!(
                    max_connections = n,
                    descriptor_limit = limit,
                    "--max-connections is above what the descriptor limit allows"
                );
            }
            n
        }
        None => usize::try_from(derived).unwrap_or(usize::MAX),
    };
    Ok(cap)
}
