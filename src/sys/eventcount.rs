//! An event count: lets any number of threads sleep until "something
//! happened" since they last looked, without a lost wake-up and without
//! waking anybody when nobody sleeps.
//!
//! A waiter reads [`EventCount::key`] *before* it checks its condition;
//! if the check fails it calls [`EventCount::wait`] with that key, which
//! returns as soon as [`EventCount::notify`] was called at any time after
//! the key was read (also before `wait` started). The notifier's side is
//! one atomic increment and one load while nobody waits.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::Instant;

/// See the module documentation.
#[derive(Debug, Default)]
pub struct EventCount {
    /// Bumped by every notification.
    seq: AtomicU64,
    /// Threads inside `wait` (or about to enter it).
    waiters: AtomicUsize,
    /// Held by a waiter from its last look at `seq` until it sleeps, so a
    /// notifier that takes it cannot slip its wake-up in between.
    lock: Mutex<()>,
    cond: Condvar,
}

impl EventCount {
    /// A new event count, nobody waiting.
    pub fn new() -> EventCount {
        EventCount::default()
    }

    /// The current key: pass it to [`wait`](Self::wait) after a failed
    /// check to sleep until the next notification.
    pub fn key(&self) -> u64 {
        self.seq.load(Ordering::SeqCst)
    }

    /// Wakes every thread waiting with an older key. Cheap when nobody
    /// waits: no lock, no system call.
    pub fn notify(&self) {
        // Dekker's pattern with `wait`: this thread writes `seq` then reads
        // `waiters`; a waiter writes `waiters` then reads `seq`. With
        // sequentially consistent operations at least one of them sees the
        // other's write: either the waiter sees the new `seq` and does not
        // sleep, or this thread sees the waiter and wakes it.
        self.seq.fetch_add(1, Ordering::SeqCst);
        if self.waiters.load(Ordering::SeqCst) > 0 {
            // Taking the lock orders this wake-up after the waiter's last
            // look at `seq` (it holds the lock until the condvar releases it).
            drop(self.lock.lock().unwrap_or_else(PoisonError::into_inner));
            self.cond.notify_all();
        }
    }

    /// Whether any thread is waiting (a hint: it may change at once).
    pub fn has_waiters(&self) -> bool {
        self.waiters.load(Ordering::SeqCst) > 0
    }

    /// Sleeps until a notification after `key` was taken, or until
    /// `deadline` (`None`: no limit). Returns `false` on timeout. Spurious
    /// returns are possible; callers check their condition again anyway.
    pub fn wait(&self, key: u64, deadline: Option<Instant>) -> bool {
        self.waiters.fetch_add(1, Ordering::SeqCst);
        let mut guard = self.lock.lock().unwrap_or_else(PoisonError::into_inner);
        let mut notified = true;
        while self.seq.load(Ordering::SeqCst) == key {
            match deadline {
                None => {
                    guard = self
                        .cond
                        .wait(guard)
                        .unwrap_or_else(PoisonError::into_inner);
                }
                Some(d) => {
                    let left = d.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        notified = false;
                        break;
                    }
                    guard = self
                        .cond
                        .wait_timeout(guard, left)
                        .map(|(g, _)| g)
                        .unwrap_or_else(|e| e.into_inner().0);
                }
            }
        }
        drop(guard);
        self.waiters.fetch_sub(1, Ordering::SeqCst);
        notified
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn notify_before_wait_is_not_lost() {
        let ec = EventCount::new();
        let key = ec.key();
        ec.notify();
        assert!(ec.wait(key, None));
        assert!(!ec.has_waiters());
    }

    #[test]
    fn wait_times_out_without_notify() {
        let ec = EventCount::new();
        let key = ec.key();
        let deadline = Instant::now() + Duration::from_millis(20);
        assert!(!ec.wait(key, Some(deadline)));
        assert!(Instant::now() >= deadline);
    }

    #[test]
    fn notify_wakes_every_waiter() {
        let ec = Arc::new(EventCount::new());
        let key = ec.key();
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let ec = Arc::clone(&ec);
                std::thread::spawn(move || ec.wait(key, None))
            })
            .collect();
        while ec.waiters.load(Ordering::SeqCst) < 4 {
            std::thread::yield_now();
        }
        ec.notify();
        for t in threads {
            assert!(t.join().unwrap());
        }
    }

    /// A ping-pong through two flags, many rounds: a lost wake-up hangs it.
    #[test]
    fn no_lost_wakeup_under_races() {
        let ec = Arc::new(EventCount::new());
        let turn = Arc::new(AtomicU64::new(0));
        const ROUNDS: u64 = 20_000;
        let peer = {
            let (ec, turn) = (Arc::clone(&ec), Arc::clone(&turn));
            std::thread::spawn(move || {
                for i in 0..ROUNDS {
                    loop {
                        let key = ec.key();
                        if turn.load(Ordering::SeqCst) == 2 * i + 1 {
                            break;
                        }
                        ec.wait(key, None);
                    }
                    turn.store(2 * i + 2, Ordering::SeqCst);
                    ec.notify();
                }
            })
        };
        for i in 0..ROUNDS {
            turn.store(2 * i + 1, Ordering::SeqCst);
            ec.notify();
            loop {
                let key = ec.key();
                if turn.load(Ordering::SeqCst) == 2 * i + 2 {
                    break;
                }
                ec.wait(key, None);
            }
        }
        peer.join().unwrap();
    }
}
