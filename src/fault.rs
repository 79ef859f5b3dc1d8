//! Fault injection for the tests of fault isolation (tests/fault_isolation.rs):
//! a test arms a one-shot trigger, and the I/O thread or the reaper panics
//! where the trigger names, as a bug of ours would. Compiled only with the
//! `fault-injection` cargo feature, which the crate's own tests turn on
//! through a dev-dependency on the crate itself; the shipped library
//! (default features) has none of it. Not an API.
//!
//! Triggers are process-wide (the I/O threads of every context see them),
//! so each names something only its test has: a message body, a bound
//! endpoint, a socket's ZMQ_FD. Each fires once and is gone.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Where to panic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fault {
    /// In the I/O thread, when a session decodes a message with this body
    /// (from its peer, on its way to the socket).
    MessageBody(Vec<u8>),
    /// In the I/O thread, when the listener bound to this endpoint (as
    /// ZMQ_LAST_ENDPOINT names it) is told a connection is waiting.
    Accept(String),
    /// In the reaper, when it next lets the closed socket whose ZMQ_FD is
    /// this descriptor process its commands.
    Reap(i32),
}

/// Armed triggers; `ARMED` counts them so that the hot paths pay one
/// relaxed load when none is armed.
static TRIGGERS: Mutex<Vec<Fault>> = Mutex::new(Vec::new());
static ARMED: AtomicUsize = AtomicUsize::new(0);

/// Arms a one-shot trigger.
pub fn arm(fault: Fault) {
    let mut t = TRIGGERS.lock().unwrap_or_else(|e| e.into_inner());
    t.push(fault);
    ARMED.store(t.len(), Ordering::Release);
}

/// Whether a trigger that has been armed is still waiting to fire.
pub fn is_armed(fault: &Fault) -> bool {
    TRIGGERS
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(fault)
}

/// Takes the first trigger `matches` accepts, if any.
fn take(matches: impl Fn(&Fault) -> bool) -> Option<Fault> {
    if ARMED.load(Ordering::Acquire) == 0 {
        return None;
    }
    let mut t = TRIGGERS.lock().unwrap_or_else(|e| e.into_inner());
    let pos = t.iter().position(matches)?;
    let f = t.remove(pos);
    ARMED.store(t.len(), Ordering::Release);
    Some(f)
}

/// Called by a session for each message it decodes.
#[inline]
pub(crate) fn on_message(body: &[u8]) {
    if take(|f| matches!(f, Fault::MessageBody(b) if b == body)).is_some() {
        panic!(
            "injected fault: message {:?}",
            String::from_utf8_lossy(body)
        );
    }
}

/// Called by a listener when its socket is readable.
#[inline]
pub(crate) fn on_accept(endpoint: &str) {
    if take(|f| matches!(f, Fault::Accept(e) if e == endpoint)).is_some() {
        panic!("injected fault: accepting on {endpoint}");
    }
}

/// Called by the reaper before a closed socket's step.
#[inline]
pub(crate) fn on_reap(fd: i32) {
    if take(|f| *f == Fault::Reap(fd)).is_some() {
        panic!("injected fault: reaping the socket with ZMQ_FD {fd}");
    }
}
