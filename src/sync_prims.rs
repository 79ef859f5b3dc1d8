//! The atomics, the cell and the command queue that the lock-free pieces
//! (`pipe/ypipe.rs`, `mailbox.rs`, `io/direct_state.rs`) are built from.
//!
//! In the library these are std's atomics and `Arc`, crossbeam's unbounded
//! channel and a zero-cost wrapper of std's `UnsafeCell`. The loom models
//! (`tests/loom`, `tests/sanitize/run loom`) compile those two files again
//! with `--cfg loom`; then the names below are loom's instrumented
//! primitives, and the channel is a model of crossbeam's, so that loom can
//! run every interleaving of a writer and a reader through the real code.
//! Nothing else in the library is built that way.

#[cfg(not(loom))]
pub(crate) use crossbeam_channel::{unbounded, Receiver, Sender};
#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicU8, Ordering};
#[cfg(not(loom))]
pub(crate) use std::sync::Arc;
#[cfg(not(loom))]
pub(crate) use std::thread::yield_now;

#[cfg(loom)]
pub(crate) use self::model::{unbounded, Receiver, Sender};
#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{AtomicPtr, AtomicU64, AtomicU8, Ordering};
#[cfg(loom)]
pub(crate) use loom::sync::Arc;
#[cfg(loom)]
pub(crate) use loom::thread::yield_now;

/// std's `UnsafeCell` behind loom's interface: access goes through a
/// closure, which loom uses to see when a value is touched and by whom.
/// Each method is the bare `get()` once inlined.
#[cfg(not(loom))]
#[derive(Debug, Default)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    /// A cell holding `value`.
    #[inline(always)]
    pub(crate) const fn new(value: T) -> UnsafeCell<T> {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    /// Calls `f` with a pointer for reading the value.
    #[inline(always)]
    pub(crate) fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }

    /// Calls `f` with a pointer for writing the value.
    #[inline(always)]
    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// A model of crossbeam's unbounded (list) channel for loom, with no more
/// synchronisation than crossbeam gives the mailbox: `is_empty` compares the
/// head and tail indices with two atomic loads and nothing else (SeqCst in
/// crossbeam; loom weakens SeqCst to acquire/release, so the model allows
/// more than the real channel, never less). A sender moves the tail and
/// stores the message under one loom mutex, which `try_recv` takes: where
/// crossbeam's receiver spins until a claimed slot is written, the model's
/// blocks on the mutex (a spin would only multiply loom's branches). The
/// mutex orders nothing that crossbeam's per-slot release/acquire does not.
#[cfg(loom)]
mod model {
    use loom::sync::atomic::AtomicUsize;
    use loom::sync::atomic::Ordering::SeqCst;
    use loom::sync::{Arc, Mutex};
    use std::collections::VecDeque;

    struct Chan<C> {
        head: AtomicUsize,
        tail: AtomicUsize,
        items: Mutex<VecDeque<C>>,
    }

    /// The sending half.
    pub(crate) struct Sender<C>(Arc<Chan<C>>);

    /// The receiving half (one receiver).
    pub(crate) struct Receiver<C>(Arc<Chan<C>>);

    /// A new empty channel.
    pub(crate) fn unbounded<C>() -> (Sender<C>, Receiver<C>) {
        let chan = Arc::new(Chan {
            head: AtomicUsize::new(0),
            tail: AtomicUsize::new(0),
            items: Mutex::new(VecDeque::new()),
        });
        (Sender(Arc::clone(&chan)), Receiver(chan))
    }

    impl<C> Sender<C> {
        /// Queues `msg`; never fails (the receiver lives as long).
        pub(crate) fn send(&self, msg: C) -> Result<(), C> {
            let mut items = self.0.items.lock().unwrap();
            self.0.tail.fetch_add(1, SeqCst);
            items.push_back(msg);
            Ok(())
        }
    }

    impl<C> Receiver<C> {
        /// Whether no message is queued (or claimed).
        pub(crate) fn is_empty(&self) -> bool {
            self.0.head.load(SeqCst) == self.0.tail.load(SeqCst)
        }

        /// The next message, if one is queued.
        pub(crate) fn try_recv(&self) -> Result<C, ()> {
            if self.is_empty() {
                return Err(());
            }
            // The message is in by the time the sender lets go of the lock.
            let msg = self.0.items.lock().unwrap().pop_front().ok_or(())?;
            self.0.head.fetch_add(1, SeqCst);
            Ok(msg)
        }
    }
}
