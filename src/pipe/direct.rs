//! Direct write: the way a socket's thread may put a message on its
//! connection itself, skipping the pipe and the I/O thread's wake-up.
//!
//! The session that owns a connection offers a [`DirectOut`] to the socket's
//! end of its pipe once the connection carries plain frames (see
//! `io/direct.rs`, which owns the connection side and its rules). The pipe
//! asks it for each whole message, only when the socket has just read from
//! this pipe (a request answered, a reply to a request): that is where a
//! wake-up of the I/O thread is a round trip's cost. A stream of sends keeps
//! going through the pipe, where the I/O thread writes them in batches.
//!
//! A message written directly never enters the pipe, so HWM does not
//! count it: it is where a message the I/O thread had already taken from
//! the pipe would be. A socket that only sends (PUSH, PUB) never reads from
//! its pipes and so never writes directly; its HWM accounting is libzmq's
//! to the message.
//!
//! The pipe end holds the offer; the session replaces it on every new
//! connection and retires it when the connection ends. A retired offer may
//! stay in the slot until the next connection's replaces it: retiring is
//! final (`io/direct_state.rs`: nothing leaves CLOSED), so it is never
//! written through again.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crate::msg::Message;
use crate::util::sync::Mutex;

/// A connection's output, offered to the socket's thread.
pub(crate) trait DirectOut: Send + Sync {
    /// Puts the frames of one whole message (`partial`, then `last`) on the
    /// connection, when the connection's output is idle and the session has
    /// read every message this end queued (`queued`, the end's count of
    /// messages written into the pipe), so that nothing is overtaken.
    ///
    /// `Err(last)` with `partial` untouched: not now; use the pipe. `Ok(wake)`:
    /// the message is the connection's (written, or its unwritten tail handed
    /// to the session); with `wake` the session must be woken to take the
    /// output back.
    fn try_send(
        &self,
        queued: u64,
        partial: &mut Vec<Message>,
        last: Message,
    ) -> Result<bool, Message>;
}

/// Where a session offers its connection to one pipe end: a generation that
/// changes with every offer, so that the end's hot path reads one atomic,
/// and the offer itself behind a lock taken only when it changed.
#[derive(Default)]
pub(crate) struct Slot {
    generation: AtomicU64,
    offer: Mutex<Option<Arc<dyn DirectOut>>>,
}

impl Slot {
    /// Replaces the offer (None: no direct write any more).
    pub fn offer(&self, out: Option<Arc<dyn DirectOut>>) {
        *self.offer.lock() = out;
        self.generation.fetch_add(1, Ordering::Release);
    }

    /// The current generation.
    #[inline]
    pub fn generation(&self) -> u64 {
        self.generation.load(Ordering::Acquire)
    }

    /// The current offer.
    pub fn get(&self) -> Option<Arc<dyn DirectOut>> {
        self.offer.lock().clone()
    }
}

/// What the pipe end that writes keeps of the offer.
#[derive(Default)]
pub(crate) struct Cached {
    /// The slot's generation `out` was taken at.
    generation: u64,
    out: Option<Arc<dyn DirectOut>>,
    /// The socket read from this pipe since its last direct attempt.
    pub armed: bool,
}

impl Cached {
    /// The offer, refreshed from `slot` when it changed.
    #[inline]
    pub fn current(&mut self, slot: &Slot) -> Option<&Arc<dyn DirectOut>> {
        let g = slot.generation();
        if g != self.generation {
            self.out = slot.get();
            self.generation = g;
        }
        self.out.as_ref()
    }
}
