//! The descriptor limit, and the connection cap that follows from it.

use rlimit::Resource;

/// Descriptors kept for everything but client connections: the standard
/// streams, the runtime's, the listeners, DNS sockets, the metrics
/// server, a map being reloaded, and the connections being closed to make
/// room.
fn reserve(limit: u64) -> u64 {
    (limit / 8).clamp(16, 256)
}

/// The most connections the default allows, whatever the descriptor limit:
/// each connection may hold a request's buffers (up to about 90 KiB), and
/// hard limits of a million descriptors are common. Postfix opens one
/// policy connection per smtpd process (100 by default).
const DEFAULT_CEILING: u64 = 16_384;

/// The default cap for what the descriptors allow.
fn default_cap(derived: u64) -> u64 {
    derived.min(DEFAULT_CEILING)
}

/// Raises the soft `RLIMIT_NOFILE` to the hard one, then returns the cap:
/// `wanted`, or what the descriptors left after the reserve allow, at most
/// [`DEFAULT_CEILING`].
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
        None => usize::try_from(default_cap(derived)).unwrap_or(usize::MAX),
    };
    Ok(cap)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_cap_follows_the_descriptors_up_to_a_ceiling() {
        let derived = |limit: u64| limit - reserve(limit);
        assert_eq!(default_cap(derived(64)), 48);
        assert_eq!(default_cap(derived(1024)), 896);
        assert_eq!(default_cap(derived(1 << 20)), DEFAULT_CEILING);
    }
}
