//! Who owns a connection's output, the session (in its I/O thread) or the
//! socket's thread writing directly (`direct.rs`): one atomic state word,
//! and the unwritten tail of a direct write that the socket's thread hands
//! back. Nothing here touches a descriptor, so that the loom model at the
//! end (`tests/loom`, `tests/sanitize/run loom`) runs the very code the
//! library does, through every interleaving of the two threads.
//!
//! The states, and who may move between them:
//!
//! * OFF: the session owns the output. Only the session leaves it: to
//!   IDLE (`go_idle`, when it has nothing to write) or CLOSED.
//! * IDLE: nobody writes. The socket's thread may take it (`enter`, to
//!   USER); the session takes it back (`acquire`, to OFF) when it has
//!   something to write.
//! * USER: the socket's thread writes. The session may only add WANT (it
//!   needs the output back) or CLOSED (the connection ends: `retire` then
//!   waits for USER to go). The socket's thread leaves with `leave`: to IDLE,
//!   or to OFF (WANT, or an error) or TAIL (an unwritten tail), the last two
//!   with a wake-up for the session.
//! * TAIL (with OFF, maybe CLOSED): the tail is the session's to take, at
//!   its next `acquire`, before it writes anything else.
//! * CLOSED is final: nothing clears it (only TAIL may still come and go
//!   beside it), so a retired output, and the descriptor number it holds,
//!   is never written through again.

use crate::sync_prims::{yield_now, AtomicU64, AtomicU8, Ordering, UnsafeCell};

const OFF: u8 = 0;
const IDLE: u8 = 1;
const USER: u8 = 2;
const WANT: u8 = 4;
const CLOSED: u8 = 8;
const TAIL: u8 = 16;

/// The ownership of one connection's output.
pub(crate) struct OutputOwner {
    state: AtomicU8,
    /// Messages the session had read from the pipe when it went IDLE: the
    /// socket's thread writes directly only when it has queued no more.
    taken: AtomicU64,
    /// The unwritten bytes of a direct write: written by the socket's
    /// thread while it holds USER, read by the session once it sees TAIL.
    tail: UnsafeCell<Vec<u8>>,
}

// SAFETY: `tail` is touched by one thread at a time, as the state says: the
// socket's thread only between a successful `enter` and its `leave` (USER
// held, which the session never takes away), the session only after it has
// seen TAIL with acquire ordering (set by the release in `leave`, after the
// socket's thread's last touch) and before it clears TAIL, which the socket's
// thread needs to see IDLE again before it can `enter`.
unsafe impl Sync for OutputOwner {}

impl Default for OutputOwner {
    fn default() -> Self {
        OutputOwner {
            state: AtomicU8::new(OFF),
            taken: AtomicU64::new(0),
            tail: UnsafeCell::new(Vec::new()),
        }
    }
}

impl OutputOwner {
    // ---- the session --------------------------------------------------------

    /// The session takes the output before touching the pipe or the
    /// stream's write side; a tail the socket's thread left is appended to
    /// `tail`, to be written first. An IDLE output is taken only when
    /// `needed` (the session has something to write). False: the output is
    /// not the session's now; if it was needed while the socket's thread
    /// writes, that thread has been asked to hand it back and will wake the
    /// session.
    pub fn acquire(&self, tail: &mut Vec<u8>, needed: bool) -> bool {
        loop {
            let s = self.state.load(Ordering::Acquire);
            if s & USER != 0 {
                if s & WANT != 0 || !needed {
                    return false;
                }
                if self
                    .state
                    .compare_exchange(s, s | WANT, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
                {
                    return false;
                }
                continue;
            }
            if s == IDLE {
                if !needed {
                    return false;
                }
                if self
                    .state
                    .compare_exchange(IDLE, OFF, Ordering::Acquire, Ordering::Relaxed)
                    .is_ok()
                {
                    return true;
                }
                continue;
            }
            if s & TAIL != 0 {
                // SAFETY: TAIL was seen with acquire ordering and the
                // socket's thread cannot enter again before it is cleared
                // (see the `Sync` impl).
                self.tail.with_mut(|t| tail.append(unsafe { &mut *t }));
                // Neither IDLE nor USER: the word is the session's alone.
                self.state.store(s & !TAIL, Ordering::Release);
            }
            return true;
        }
    }

    /// The session has nothing to write and has read `msgs_read` messages
    /// from the pipe: the socket's thread may write from now on. Only an
    /// output the session holds (OFF) changes.
    pub fn go_idle(&self, msgs_read: u64) {
        if self.state.load(Ordering::Acquire) == OFF {
            self.taken.store(msgs_read, Ordering::Relaxed);
            self.state.store(IDLE, Ordering::Release);
        }
    }

    /// The connection ends, or its session stops running: no direct write
    /// from now on, and none under way when this returns.
    pub fn retire(&self) {
        let before = self.state.fetch_or(CLOSED, Ordering::AcqRel);
        if before & USER != 0 {
            // One non-blocking sendmsg is under way: this waits microseconds
            // (or yields to that thread if it was descheduled).
            while self.state.load(Ordering::Acquire) & USER != 0 {
                yield_now();
            }
        }
    }

    // ---- the socket's thread -------------------------------------------------

    /// Takes an IDLE output, unless the session has not read every message
    /// this end queued (`queued`): a direct write would overtake them.
    pub fn enter(&self, queued: u64) -> bool {
        self.state.load(Ordering::Acquire) == IDLE
            && self.taken.load(Ordering::Relaxed) == queued
            && self
                .state
                .compare_exchange(IDLE, USER, Ordering::Acquire, Ordering::Relaxed)
                .is_ok()
    }

    /// Leaves after writing everything (`hand_back`: the connection failed,
    /// the session must look). True when the session must be woken.
    pub fn leave(&self, hand_back: bool) -> bool {
        self.release(false, hand_back)
    }

    /// Leaves a tail for the session to write: `fill` appends it. Always
    /// wakes the session.
    pub fn leave_with_tail(&self, fill: impl FnOnce(&mut Vec<u8>)) -> bool {
        // SAFETY: USER is held (see the `Sync` impl).
        self.tail.with_mut(|t| fill(unsafe { &mut *t }));
        self.release(true, true)
    }

    fn release(&self, tail: bool, hand_back: bool) -> bool {
        let mut s = self.state.load(Ordering::Acquire);
        loop {
            let next = if tail {
                // Even when closed: a lingering connection still writes the
                // rest of the frame before anything else.
                (s & CLOSED) | TAIL
            } else if s & CLOSED != 0 {
                CLOSED
            } else if hand_back || s & WANT != 0 {
                OFF
            } else {
                IDLE
            };
            match self
                .state
                .compare_exchange(s, next, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return next & TAIL != 0 || next == OFF,
                Err(now) => s = now,
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn idle_output_goes_to_the_socket_thread_and_back() {
        let o = OutputOwner::default();
        let mut tail = Vec::new();
        assert!(!o.enter(0), "the session holds it");
        o.go_idle(3);
        assert!(!o.enter(2), "a queued message the session has not read");
        assert!(o.enter(3));
        assert!(!o.leave(false), "IDLE again: no wake-up");
        assert!(o.enter(3));
        assert!(!o.acquire(&mut tail, true), "the socket's thread writes");
        assert!(o.leave(false), "asked to hand back: wake the session");
        assert!(o.acquire(&mut tail, false));
        assert!(!o.enter(3));
    }

    #[test]
    fn an_idle_output_stays_idle_until_needed() {
        let o = OutputOwner::default();
        let mut tail = Vec::new();
        o.go_idle(0);
        assert!(!o.acquire(&mut tail, false));
        assert!(o.enter(0));
        assert!(!o.leave(false));
        assert!(o.acquire(&mut tail, true));
        o.go_idle(0);
        assert!(o.enter(0));
    }

    #[test]
    fn a_tail_goes_to_the_session_first() {
        let o = OutputOwner::default();
        let mut tail = b"x".to_vec();
        o.go_idle(0);
        assert!(o.enter(0));
        assert!(o.leave_with_tail(|t| t.extend_from_slice(b"rest")));
        assert!(!o.enter(0));
        o.go_idle(0);
        assert!(!o.enter(0), "go_idle leaves a handed-back tail alone");
        assert!(o.acquire(&mut tail, false));
        assert_eq!(tail, b"xrest");
        assert!(o.acquire(&mut tail, false));
        assert_eq!(tail, b"xrest", "taken once");
    }

    #[test]
    fn a_retired_output_is_never_entered_but_its_tail_still_goes_out() {
        let o = OutputOwner::default();
        let mut tail = Vec::new();
        o.go_idle(0);
        assert!(o.enter(0));
        // The session ends while the socket's thread writes; retire would
        // wait, so the tail is left first here (one thread).
        assert!(o.leave_with_tail(|t| t.push(7)));
        o.retire();
        assert!(!o.enter(0));
        assert!(o.acquire(&mut tail, false));
        assert_eq!(tail, [7]);
        o.go_idle(0);
        assert!(!o.enter(0));
        let o = OutputOwner::default();
        o.go_idle(0);
        o.retire();
        assert!(!o.enter(0));
        assert!(o.acquire(&mut tail, true));
    }
}

/// Loom models (`tests/loom`): the session and the socket's thread racing
/// for the output.
#[cfg(all(test, loom))]
mod loom_models {
    use super::OutputOwner;
    use loom::sync::atomic::{AtomicBool, Ordering};
    use loom::sync::Arc;
    use loom::thread;

    /// The socket's thread writes a whole message while the session needs
    /// the output (a heartbeat): the session either gets it or is woken by
    /// the socket's thread, and then gets it.
    #[test]
    fn loom_output_wanted_while_writing() {
        crate::explore("output_wanted_while_writing", || {
            let o = Arc::new(OutputOwner::default());
            o.go_idle(0);
            let user = {
                let o = Arc::clone(&o);
                thread::spawn(move || if o.enter(0) { o.leave(false) } else { false })
            };
            let mut tail = Vec::new();
            let got = o.acquire(&mut tail, true);
            let woken = user.join().unwrap();
            if !got {
                assert!(woken, "the session neither got the output nor a wake-up");
                assert!(o.acquire(&mut tail, true));
            }
            assert!(tail.is_empty());
        });
    }

    /// A partial write hands its tail back while the session needs the
    /// output: the session gets the tail before it writes anything, and
    /// gets it once.
    #[test]
    fn loom_tail_while_wanted() {
        crate::explore("tail_while_wanted", || {
            let o = Arc::new(OutputOwner::default());
            o.go_idle(0);
            let user = {
                let o = Arc::clone(&o);
                thread::spawn(move || {
                    if o.enter(0) {
                        assert!(o.leave_with_tail(|t| t.push(1)), "a tail always wakes");
                        true
                    } else {
                        false
                    }
                })
            };
            let mut tail = Vec::new();
            let got = o.acquire(&mut tail, true);
            let entered = user.join().unwrap();
            if !got {
                assert!(entered);
                assert!(o.acquire(&mut tail, true));
            } else if entered {
                // The session took the output after the write: the tail came
                // with it.
                assert_eq!(tail, [1]);
            }
            if !entered {
                assert!(tail.is_empty());
            } else if tail.is_empty() {
                assert!(o.acquire(&mut tail, true));
            }
            assert_eq!(tail, if entered { vec![1] } else { vec![] });
            assert!(o.acquire(&mut tail, true));
            assert_eq!(tail.len(), entered as usize, "the tail came twice");
        });
    }

    /// A partial write hands its tail back while the connection is retired:
    /// the tail reaches the session exactly once, and no write is under way
    /// once retire returns.
    #[test]
    fn loom_tail_and_retire() {
        crate::explore("tail_and_retire", || {
            let o = Arc::new(OutputOwner::default());
            let writing = Arc::new(AtomicBool::new(false));
            o.go_idle(0);
            let user = {
                let o = Arc::clone(&o);
                let writing = Arc::clone(&writing);
                thread::spawn(move || {
                    if o.enter(0) {
                        writing.store(true, Ordering::Relaxed);
                        writing.store(false, Ordering::Relaxed);
                        o.leave_with_tail(|t| t.extend_from_slice(b"ab"));
                        true
                    } else {
                        false
                    }
                })
            };
            o.retire();
            assert!(!writing.load(Ordering::Relaxed), "a write outlived retire");
            let entered = user.join().unwrap();
            let mut tail = Vec::new();
            assert!(o.acquire(&mut tail, false));
            assert!(o.acquire(&mut tail, true));
            let expected: &[u8] = if entered { b"ab" } else { b"" };
            assert_eq!(tail, expected);
            assert!(!o.enter(0));
        });
    }

    /// The session takes an idle output back and idles it again while the
    /// socket's thread tries twice: the two never hold it at once.
    #[test]
    fn loom_never_both() {
        crate::explore("never_both", || {
            let o = Arc::new(OutputOwner::default());
            let user_in = Arc::new(AtomicBool::new(false));
            o.go_idle(0);
            let user = {
                let o = Arc::clone(&o);
                let user_in = Arc::clone(&user_in);
                thread::spawn(move || {
                    for _ in 0..2 {
                        if o.enter(0) {
                            user_in.store(true, Ordering::SeqCst);
                            user_in.store(false, Ordering::SeqCst);
                            o.leave(false);
                        }
                    }
                })
            };
            let mut tail = Vec::new();
            if o.acquire(&mut tail, true) {
                assert!(!user_in.load(Ordering::SeqCst), "both hold the output");
                o.go_idle(0);
            }
            user.join().unwrap();
        });
    }
}
