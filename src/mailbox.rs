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
//! The queue and the atomics come from `crate::sync_prims`: crossbeam's and
//! std's here, models when `tests/loom` model-checks this file (see
//! `loom_models` below).
//!
//! A sender queues its command first and disarms the mailbox and raises
//! the signal after, so the
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
use std::sync::Arc;
use std::time::Duration;

use crate::sync_prims::{unbounded, AtomicU8, Ordering, Receiver, Sender};
use crate::sys::{EventCount, Signaler};

/// What wakes the owner.
pub(crate) enum Signal {
    /// An eventfd (sockets; pollable as ZMQ_FD).
    Fd(Signaler),
    /// The waker of an I/O thread's mio poll.
    Waker(mio::Waker),
}

// The order of the values matters: a sender moves the word with
// `fetch_max(SIGNALLED)`, which must turn ARMED into SIGNALLED and leave
// SIGNALLED and QUIET as they are.

/// How many times (1 ms each) `arm` waits for a raise it is owed.
const RAISE_WAITS: u32 = 200;

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
        let (tx, rx) = unbounded();
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
        self.push(cmd);
        if self.disarm() {
            self.raise();
        }
    }

    /// A sender's first step: queues `cmd`. The owner may take it before
    /// the sender disarms the mailbox and raises the signal: the signal is
    /// then raised for a command already processed (see
    /// [`is_armed`](Self::is_armed)).
    pub(crate) fn push(&self, cmd: C) {
        // The receiver lives as long as the mailbox, so sending cannot fail.
        let _ = self.tx.send(cmd);
    }

    /// A sender's second step: disarms the mailbox. Returns `true` when it
    /// found the mailbox armed, and so must [`raise`](Self::raise) the
    /// signal.
    pub(crate) fn disarm(&self) -> bool {
        // ARMED becomes SIGNALLED; SIGNALLED and QUIET stay. fetch_max
        // rather than a compare-and-swap because it always writes: every
        // sender's release then reaches the owner's next `arm`, whose
        // acquire swap reads a later value of the word, so the owner sees
        // the command queued. A failed compare-and-swap writes nothing and
        // releases nothing: the owner could arm, find the queue empty and
        // sleep while this sender, having read QUIET or SIGNALLED, leaves
        // the signal down (a lost wake-up the loom models found; x86's
        // locked instructions happen to hide it, the language does not
        // promise it).
        self.state.fetch_max(SIGNALLED, Ordering::AcqRel) == ARMED
    }

    /// A sender's last step, once it disarmed the mailbox.
    pub(crate) fn raise(&self) {
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
        if self.state.swap(ARMED, Ordering::AcqRel) == SIGNALLED {
            if let Signal::Fd(s) = &self.signal {
                // Exactly one raise is owed for SIGNALLED: take it back,
                // waiting for it if its sender is between its disarm and
                // its eventfd write. Reading too early and going on would
                // leave the eventfd readable, when the write lands, with the
                // mailbox armed and nothing queued: nothing would clear it,
                // and every wait on it (a blocking call, zmq_poll, a poller
                // of ZMQ_FD) would return at once, a busy loop until the
                // next command. The wait is as short as that sender's next
                // step (it holds nothing and waits for nothing in between),
                // but it is bounded all the same: should the raise never
                // come here (a child of fork() shares the eventfd with its
                // parent and may read it), a spurious wake-up later is a
                // far smaller harm than an owner that never returns.
                let mut waits = 0;
                while !s.recv() && waits < RAISE_WAITS {
                    waits += 1;
                    let _ = s.wait(Some(Duration::from_millis(1)));
                }
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

#[cfg(all(test, not(loom)))]
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
        m.push(1);
        assert_eq!(m.try_recv(), Some(1));
        assert!(m.arm());
        assert!(m.is_armed());
        assert!(m.disarm());
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

    /// The owner arms between a sender's disarm and its eventfd write (the
    /// race is forced here by running the sender's halves by hand). The
    /// late write must not leave the eventfd readable once the owner has
    /// drained and armed: it used to, and every later wait returned at
    /// once with nothing to do.
    #[test]
    fn a_late_raise_is_still_taken_back() {
        let m = std::sync::Arc::new(Mailbox::<u32>::with_fd().unwrap());
        assert!(m.arm());
        m.push(1);
        assert!(m.disarm()); // the write is still to come
        let late = {
            let m = std::sync::Arc::clone(&m);
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(20));
                m.raise();
            })
        };
        assert!(!m.arm()); // waits for the raise, then finds the command
        assert_eq!(m.try_recv(), Some(1));
        assert!(m.arm());
        late.join().unwrap();
        assert!(
            !m.wait(Some(Duration::ZERO)).unwrap(),
            "armed, empty and still signalled"
        );
    }
}

/// Loom models (`tests/sanitize/run loom`) of the ARMED/SIGNALLED/QUIET
/// word, over a model of crossbeam's channel and of the eventfd
/// (`tests/loom/sys.rs`, whose wait blocks until the signal is raised).
/// The owner sleeps only when `arm` allows it, so a command left queued
/// with the signal down is a deadlock loom reports, and a signal left up
/// with nothing queued makes the owner spin, which loom reports as a model
/// that never ends; the signal is raised at most once per arming, and is
/// down once the owner has drained and armed.
#[cfg(all(test, loom))]
mod loom_models {
    use super::*;
    use crate::sync_prims::Arc;
    use loom::thread;

    fn sends(m: &Mailbox<u32>) -> usize {
        match &m.signal {
            Signal::Fd(s) => s.sends.load(std::sync::atomic::Ordering::Relaxed),
            Signal::Waker(_) => 0,
        }
    }

    /// `senders` threads send `each` commands; the owner drains, arms and
    /// sleeps until it has them all, watching the queue with `quiet` first
    /// when `spin` is set (as a socket does before it sleeps).
    fn owner_and_senders(senders: u32, each: u32, spin: bool) {
        let m: Arc<Mailbox<u32>> = Arc::new(Mailbox::with_fd().unwrap());
        let threads: Vec<_> = (0..senders)
            .map(|s| {
                let m = Arc::clone(&m);
                thread::spawn(move || {
                    for i in 0..each {
                        m.send(s * 100 + i);
                    }
                })
            })
            .collect();
        let want = (senders * each) as usize;
        let mut got = Vec::new();
        let mut armings = 1; // a new mailbox starts armed
        while got.len() < want {
            while let Some(c) = m.try_recv() {
                got.push(c);
            }
            if got.len() == want {
                break;
            }
            if spin {
                m.quiet();
                if !m.is_empty() {
                    continue;
                }
            }
            armings += 1;
            if m.arm() {
                // Sleeping: only a sender's signal can end this.
                assert!(m.wait(None).unwrap());
            }
        }
        for t in threads {
            t.join().unwrap();
        }
        got.sort_unstable();
        let mut expect: Vec<u32> = (0..senders)
            .flat_map(|s| (0..each).map(move |i| s * 100 + i))
            .collect();
        expect.sort_unstable();
        assert_eq!(got, expect, "a command lost or delivered twice");
        assert!(m.try_recv().is_none());
        assert!(sends(&m) <= armings, "signalled more than once per arming");
        // Drained and armed: the signal is down (ZMQ_FD not readable).
        assert!(m.arm());
        assert!(
            !m.wait(Some(Duration::ZERO)).unwrap(),
            "armed, empty, signalled"
        );
    }

    #[test]
    fn loom_mailbox_one_sender() {
        crate::explore("mailbox_one_sender", || owner_and_senders(1, 2, false));
    }

    #[test]
    fn loom_mailbox_two_senders() {
        crate::explore("mailbox_two_senders", || owner_and_senders(2, 1, false));
    }

    #[test]
    fn loom_mailbox_quiet_then_arm() {
        crate::explore("mailbox_quiet_then_arm", || owner_and_senders(1, 2, true));
    }

    #[test]
    fn loom_mailbox_signal_before_the_owner_looks() {
        // A new mailbox is armed: the first command raises the signal even
        // if the owner never drained it.
        crate::explore("mailbox_signal_before_the_owner_looks", || {
            let m: Arc<Mailbox<u32>> = Arc::new(Mailbox::with_fd().unwrap());
            let sender = {
                let m = Arc::clone(&m);
                thread::spawn(move || m.send(1))
            };
            assert!(m.wait(None).unwrap());
            assert_eq!(m.try_recv(), Some(1));
            sender.join().unwrap();
            assert!(m.arm(), "nothing more is queued");
            assert!(
                !m.wait(Some(Duration::ZERO)).unwrap(),
                "arm cleared the signal"
            );
        });
    }
}
