//! Stands in for src/sys's eventfd `Signaler` under loom: a counter behind a
//! loom mutex and condition variable, with the semantics of an eventfd in
//! semaphore mode (a write adds one raise, a read takes one back and says
//! whether there was one, a wait blocks while there is none). A wait that
//! can never end is a deadlock loom reports: that is how the models catch a
//! lost wake-up; one that never blocks when it should makes the owner's
//! loop spin, which loom reports as a model that never ends.

use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use loom::sync::{Condvar, Mutex};

/// The mailbox's signal.
#[derive(Debug)]
pub struct Signaler {
    raised: Mutex<u64>,
    cond: Condvar,
    /// How many times it was raised (std's atomic: loom need not see it).
    pub sends: AtomicUsize,
}

impl Signaler {
    /// An unsignalled signaler.
    pub fn new() -> io::Result<Signaler> {
        Ok(Signaler {
            raised: Mutex::new(0),
            cond: Condvar::new(),
            sends: AtomicUsize::new(0),
        })
    }

    /// No descriptor under loom.
    pub fn fd(&self) -> RawFd {
        -1
    }

    /// Raises the signal once more.
    pub fn send(&self) {
        self.sends.fetch_add(1, Ordering::Relaxed);
        *self.raised.lock().unwrap() += 1;
        self.cond.notify_all();
    }

    /// Takes back one raise; returns whether there was one.
    pub fn recv(&self) -> bool {
        let mut raised = self.raised.lock().unwrap();
        if *raised == 0 {
            return false;
        }
        *raised -= 1;
        true
    }

    /// `Some(ZERO)` polls; any other timeout waits until raised (the models
    /// never rely on a timeout to make progress).
    pub fn wait(&self, timeout: Option<Duration>) -> io::Result<bool> {
        let mut raised = self.raised.lock().unwrap();
        if timeout == Some(Duration::ZERO) {
            return Ok(*raised > 0);
        }
        while *raised == 0 {
            raised = self.cond.wait(raised).unwrap();
        }
        Ok(true)
    }
}

/// Stands in for the event count of thread-safe sockets' mailboxes
/// (src/sys/eventcount.rs): the models use plain mailboxes, which have
/// none, so it only has to exist.
#[derive(Debug, Default)]
pub struct EventCount;

impl EventCount {
    /// A new event count.
    pub fn new() -> EventCount {
        EventCount
    }

    /// Nobody waits on it in the models.
    pub fn notify(&self) {}
}
