//! The open client connections, capped. At the cap a new connection
//! closes the longest-idle one: an idle policy connection costs Postfix
//! nothing to lose, since it reconnects when it next needs the server.
//! When every connection is in the middle of a request, the new one is
//! refused instead, so that its client falls back to its default at once.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::Notify;

/// One connection as the registry sees it.
#[derive(Debug)]
pub(crate) struct Slot {
    /// In the middle of a request: its first line is read, its answer
    /// not yet written.
    busy: AtomicBool,
    /// When the connection last finished an answer (or opened), on the
    /// kernel's coarse clock (a few milliseconds' resolution, read without
    /// a system call); only compared, never converted.
    last_active: AtomicU64,
    /// Asks the connection to close as soon as it is between requests.
    close: Notify,
}

impl Slot {
    pub(crate) fn set_busy(&self) {
        self.busy.store(true, Ordering::Relaxed);
    }

    /// An answer went out: idle again, from now.
    pub(crate) fn set_idle(&self, now_ticks: u64) {
        self.last_active.store(now_ticks, Ordering::Relaxed);
        self.busy.store(false, Ordering::Release);
    }

    /// Resolves when the connection is asked to close.
    pub(crate) async fn close_requested(&self) {
        self.close.notified().await;
    }
}

#[derive(Debug)]
pub(crate) struct Connections {
    max: usize,
    open: Mutex<Open>,
    /// Woken when the last connection goes, for the drain at shutdown.
    empty: Notify,
}

#[derive(Debug, Default)]
struct Open {
    next_id: u64,
    slots: HashMap<u64, Arc<Slot>>,
    /// Set at shutdown: no connection is admitted any more.
    closing: bool,
}

/// A connection's place in the registry; leaves it when dropped.
#[derive(Debug)]
pub(crate) struct Admission {
    id: u64,
    slot: Arc<Slot>,
    connections: Arc<Connections>,
}

impl Admission {
    pub(crate) fn slot(&self) -> &Slot {
        &self.slot
    }

    pub(crate) fn now_ticks(&self) -> u64 {
        self.connections.now_ticks()
    }
}

impl Drop for Admission {
    fn drop(&mut self) {
        let mut open = self.connections.lock();
        open.slots.remove(&self.id);
        if open.slots.is_empty() {
            self.connections.empty.notify_waiters();
        }
    }
}

/// Why a connection was not admitted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// At the cap, and every connection is in the middle of a request.
    AllBusy,
    /// The server is shutting down.
    Closing,
}

impl Connections {
    pub(crate) fn new(max: usize) -> Self {
        Self {
            max,
            open: Mutex::default(),
            empty: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Open> {
        // A panic while holding the lock leaves a consistent map.
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn now_ticks(&self) -> u64 {
        coarsetime::Instant::now_without_cache_update().as_ticks()
    }

    /// Open connections.
    pub(crate) fn len(&self) -> usize {
        self.lock().slots.len()
    }

    /// Takes a place for a new connection, closing the longest-idle one
    /// when at the cap.
    pub(crate) fn admit(self: &Arc<Self>) -> Result<Admission, Refusal> {
        let mut open = self.lock();
        if open.closing {
            return Err(Refusal::Closing);
        }
        if open.slots.len() >= self.max && !evict_longest_idle(&mut open) {
            return Err(Refusal::AllBusy);
        }
        let id = open.next_id;
        open.next_id += 1;
        let slot = Arc::new(Slot {
            busy: AtomicBool::new(false),
            last_active: AtomicU64::new(self.now_ticks()),
            close: Notify::new(),
        });
        open.slots.insert(id, slot.clone());
        Ok(Admission {
            id,
            slot,
            connections: self.clone(),
        })
    }

    /// Closes the longest-idle connection, to free a descriptor; false
    /// when none is idle.
    pub(crate) fn evict_idle(&self) -> bool {
        evict_longest_idle(&mut self.lock())
    }

    /// Admits no more connections and asks every open one to close once
    /// its request under way is answered; returns when all are gone or
    /// `timeout` has passed, with how many were left.
    pub(crate) async fn drain(&self, timeout: Duration) -> usize {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let empty = self.empty.notified();
            {
                let mut open = self.lock();
                open.closing = true;
                if open.slots.is_empty() {
                    return 0;
                }
                for slot in open.slots.values() {
                    slot.close.notify_one();
                }
            }
            if tokio::time::timeout_at(deadline, empty).await.is_err() {
                return self.len();
            }
        }
    }
}

/// Removes the idle connection that finished its last answer first and
/// asks it to close.
fn evict_longest_idle(open: &mut Open) -> bool {
    let victim = open
        .slots
        .iter()
        .filter(|(_, s)| !s.busy.load(Ordering::Acquire))
        .min_by_key(|(_, s)| s.last_active.load(Ordering::Relaxed))
        .map(|(id, _)| *id);
    match victim.and_then(|id| open.slots.remove(&id)) {
        Some(slot) => {
            slot.close.notify_one();
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_the_cap_the_longest_idle_goes_and_busy_ones_stay() {
        let c = Arc::new(Connections::new(2));
        let a = c.admit().unwrap();
        let b = c.admit().unwrap();
        a.slot().set_idle(5);
        b.slot().set_idle(1);
        // b has been idle longest.
        let third = c.admit().unwrap();
        assert_eq!(c.len(), 2);
        assert!(c.lock().slots.contains_key(&a.id));
        assert!(!c.lock().slots.contains_key(&b.id));
        // Everyone busy: the newcomer is refused.
        a.slot().set_busy();
        third.slot().set_busy();
        assert_eq!(c.admit().unwrap_err(), Refusal::AllBusy);
        drop(b); // already evicted: dropping it changes nothing
        assert_eq!(c.len(), 2);
        drop(a);
        assert_eq!(c.len(), 1);
        assert!(c.admit().is_ok());
    }
}
