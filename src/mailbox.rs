//! A mailbox: a queue of commands plus a pollable signal, owned by one
//! receiving thread (a socket's user thread or the reaper, or an I/O thread)
//! and written by any number of threads.
//!
//! Wake-ups are per batch, not per command: the owner *arms* the mailbox when
//! it has drained it and is about to go idle; the first sender after that
//! disarms it and raises the signal; later senders see it disarmed and only
//! queue. For sockets the signal is an eventfd, which is also `ZMQ_FD`: it is
//! readable exactly when commands arrived after the owner last drained the
//! mailbox (libzmq's edge-triggered contract). For I/O threads the signal is
//! the `mio::Waker` of their poll loop.
//!
//! A sender queues its command first and raises the signal after, so the
//! owner may take the command in between: the signal then comes up for
//! nothing, and stays up (later senders see it raised) until the owner
//! arms again. An owner must not skip arming on such a wake-up, however
//! idle it thinks it is: the reaper watches the eventfd edge-triggered and
//! would never see the next command's (see [`Mailbox::is_armed`]).
//!
//! A thread-safe socket (CLIENT, SERVER, ...) may have several threads
//! blocked on it at once, and whichever of them processes the commands
//! clears the signal: the others would sleep through it. So its mailbox
//! also carries an [`EventCount`] that every raised signal notifies: the
//! blocked threads wait on that, each wakes, and each looks again (libzmq's
//! condition-variable broadcast of its `mailbox_safe_t`).

use std::io;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender};

use crate::sys::{EventCount, Signaler};

/// What wakes the owner.
pub(crate) enum Signal {
    /// An eventfd (sockets; pollable as ZMQ_FD).
    Fd(Signaler),
    /// The waker of an I/O thread's mio poll.
    Waker(mio::Waker),
}

/// The owner is idle: the next sender raises the signal.
const ARMED: u8 = 0;
/// A sender raised the signal; the owner has not cleared it yet.
const SIGNALLED: u8 = 1;
/// The owner is awake (or watching the queue): senders only queue.
const QUIET: u8 = 2;

/// A multi-producer, single-consumer command queue with a batched wake-up.
pub(crate) struct Mailbox<C> {
    tx: Sender<C>,
    rx: Receiver<C>,
    /// [`ARMED`], [`SIGNALLED`] or [`QUIET`]. Knowing whether the signal
    /// was raised spares the owner a read of the eventfd each time it arms.
    state: AtomicU8,
    signal: Signal,
    /// Thread-safe sockets: notified whenever the signal is raised.
    waiters: Option<Arc<EventCount>>,
}

impl<C> Mailbox<C> {
    /// A new mailbox. It starts armed, so that the very first command raises
    /// the signal even if the owner never looked at the mailbox.
    pub fn new(signal: Signal) -> Mailbox<C> {
        let (tx, rx) = crossbeam_channel::unbounded();
        Mailbox {
            tx,
            rx,
            state: AtomicU8::new(ARMED),
            signal,
            waiters: None,
        }
    }

    /// A socket mailbox with an eventfd signal.
    pub fn with_fd() -> io::Result<Mailbox<C>> {
        Ok(Mailbox::new(Signal::Fd(Signaler::new()?)))
    }

    /// The mailbox of a thread-safe socket: an eventfd signal, and an event
    /// count notified with it for the threads blocked on the socket.
    pub fn with_fd_and_waiters() -> io::Result<Mailbox<C>> {
        let mut m = Mailbox::with_fd()?;
        m.waiters = Some(Arc::new(EventCount::new()));
        Ok(m)
    }

    /// The event count of a thread-safe socket's mailbox.
    pub fn waiters(&self) -> Option<&Arc<EventCount>> {
        self.waiters.as_ref()
    }

    /// Queues a command; raises the signal if the owner is idle.
    pub fn send(&self, cmd: C) {
        self.queue(cmd);
        self.raise();
    }

    /// The first half of [`send`](Self::send). The owner may take the
    /// command before the second half runs: the signal is then raised for
    /// a command already processed (see [`is_armed`](Self::is_armed)).
    pub(crate) fn queue(&self, cmd: C) {
        // The receiver lives as long as the mailbox, so sending cannot fail.
        let _ = self.tx.send(cmd);
    }

    /// The second half of [`send`](Self::send): raises the signal if the
    /// owner is idle.
    pub(crate) fn raise(&self) {
        if self
            .state
            .compare_exchange(ARMED, SIGNALLED, Ordering::AcqRel, Ordering::Acquire)
            .is_ok()
        {
            match &self.signal {
                Signal::Fd(s) => s.send(),
                Signal::Waker(w) => {
                    let _ = w.wake();
                }
            }
            if let Some(w) = &self.waiters {
                w.notify();
            }
        }
    }

    /// Takes the next command without waiting (owner only).
    #[inline]
    pub fn try_recv(&self) -> Option<C> {
        self.rx.try_recv().ok()
    }

    /// Whether no command is queued.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.rx.is_empty()
    }

    /// Called by the owner after draining the queue: clears a raised signal
    /// and arms the mailbox. Returns `true` if the queue is still empty (the
    /// owner may sleep), `false` if a command slipped in (drain again).
    pub fn arm(&self) -> bool {
        // A sender that raises the signal after the swap sees ARMED and
        // leaves SIGNALLED behind, so the next arm clears it; its command is
        // queued before, so the emptiness check below catches it.
        if self.state.swap(ARMED, Ordering::SeqCst) == SIGNALLED {
            if let Signal::Fd(s) = &self.signal {
                s.recv();
            }
        }
        self.rx.is_empty()
    }

    /// The wake-up word (`ARMED` 0, `SIGNALLED` 1, `QUIET` 2), for
    /// diagnostics.
    pub fn debug_state(&self) -> u8 {
        self.state.load(Ordering::Acquire)
    }

    /// Whether the mailbox is armed with its signal clear. An owner that
    /// armed it and has processed nothing since may skip arming again only
    /// while this holds: a sender whose command the owner took before the
    /// sender raised the signal (between the two halves of `send`) leaves
    /// it raised for nothing. Left so, the signal stays up and later
    /// senders see it raised and do not raise it again, which an owner
    /// waiting for the signal's edge (the reaper's edge-triggered poll, a
    /// ZMQ_FD poller) never notices: a fresh arm clears it.
    pub fn is_armed(&self) -> bool {
        self.state.load(Ordering::Acquire) == ARMED
    }

    /// Tells senders not to raise the signal: the owner is watching the
    /// queue itself for a moment. It must [`arm`](Self::arm) before it
    /// sleeps or hands control back to a poller of the signal.
    pub fn quiet(&self) {
        let _ = self
            .state
            .compare_exchange(ARMED, QUIET, Ordering::AcqRel, Ordering::Acquire);
    }

    /// Blocks until the signal is raised or the timeout passes (`None`:
    /// forever). Returns whether it was raised; EINTR comes back as an error.
    pub fn wait(&self, timeout: Option<Duration>) -> io::Result<bool> {
        match &self.signal {
            Signal::Fd(s) => s.wait(timeout),
            Signal::Waker(_) => Ok(true),
        }
    }

    /// The pollable descriptor of a socket mailbox (ZMQ_FD).
    pub fn fd(&self) -> Option<std::os::fd::RawFd> {
        match &self.signal {
            Signal::Fd(s) => Some(s.fd()),
            Signal::Waker(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_signal_per_batch() {
        let m: Mailbox<u32> = Mailbox::with_fd().unwrap();
        assert!(!m.wait(Some(Duration::ZERO)).unwrap());
        m.send(1);
        m.send(2);
        assert!(m.wait(Some(Duration::ZERO)).unwrap());
        assert_eq!(m.try_recv(), Some(1));
        assert_eq!(m.try_recv(), Some(2));
        assert_eq!(m.try_recv(), None);
        assert!(m.arm());
        assert!(!m.wait(Some(Duration::ZERO)).unwrap()); // signal cleared
        m.send(3);
        assert!(m.wait(Some(Duration::ZERO)).unwrap());
        assert!(!m.arm()); // command pending: do not sleep
        assert_eq!(m.try_recv(), Some(3));
        assert!(m.arm());
        assert!(!m.wait(Some(Duration::ZERO)).unwrap());
        // Quiet: commands queue without a signal; arming finds them.
        m.quiet();
        m.send(4);
        assert!(!m.wait(Some(Duration::ZERO)).unwrap());
        assert!(!m.arm());
        assert_eq!(m.try_recv(), Some(4));
        assert!(m.arm());
        m.send(5);
        assert!(m.wait(Some(Duration::ZERO)).unwrap());
    }

    #[test]
    fn a_signal_raised_late_needs_a_fresh_arm() {
        let m: Mailbox<u32> = Mailbox::with_fd().unwrap();
        // A sender queues; the owner takes the command and arms before
        // the sender gets to raise the signal.
        m.queue(1);
        assert_eq!(m.try_recv(), Some(1));
        assert!(m.arm());
        assert!(m.is_armed());
        m.raise();
        // The signal is up for a command already processed...
        assert!(!m.is_armed());
        assert!(m.wait(Some(Duration::ZERO)).unwrap());
        // ...and the next sender leaves it at that: no new edge.
        m.send(2);
        assert!(!m.is_armed());
        // A fresh arm clears it and finds the command.
        assert!(!m.arm());
        assert_eq!(m.try_recv(), Some(2));
        assert!(m.arm());
        assert!(m.is_armed());
        assert!(!m.wait(Some(Duration::ZERO)).unwrap());
        m.send(3);
        assert!(m.wait(Some(Duration::ZERO)).unwrap());
    }

    #[test]
    fn raised_signal_notifies_the_waiters() {
        let m: Mailbox<u32> = Mailbox::with_fd_and_waiters().unwrap();
        let ec = Arc::clone(m.waiters().unwrap());
        let key = ec.key();
        m.send(1);
        assert_ne!(ec.key(), key);
        // Signalled already: a second command neither signals nor notifies.
        let key = ec.key();
        m.send(2);
        assert_eq!(ec.key(), key);
        while m.try_recv().is_some() {}
        assert!(m.arm());
        m.send(3);
        assert_ne!(ec.key(), key);
        assert!(Mailbox::<u32>::with_fd().unwrap().waiters().is_none());
    }
}
