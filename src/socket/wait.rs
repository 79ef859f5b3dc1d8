//! How a socket waits: its mailbox is processed without blocking, or
//! waited on (spinning for a moment when another CPU can answer first)
//! with a deadline from RCVTIMEO/SNDTIMEO.

use std::time::{Duration, Instant};

use super::*;
use crate::error::{Error, Result};

/// How long a socket thread watches its mailbox before it sleeps.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Spin {
    /// About two microseconds: a peer that is actively sending or reading
    /// usually answers within that, and a sleep costs a poll, an eventfd
    /// write on the sender's side and two context switches, several
    /// microseconds each.
    Short,
    /// About twenty microseconds, for a socket whose every pipe leads to
    /// another user thread (inproc): the answer comes from a thread that
    /// does not need this CPU, and the kernel's wake-up is most of an
    /// inproc round trip (inproc_lat 64 B: 29.8 µs sleeping, 1.2 µs
    /// spinning). Never while an I/O thread is to answer: on two CPUs a
    /// spinning user thread takes the core its I/O thread needs (tcp and
    /// ipc throughput fell to 0.5-0.6× when every socket spun this long).
    Long,
}

/// A long spin watches the inbound pipes of sockets with at most this many
/// pipes (each look costs a load per pipe).
const WATCH_MAX: usize = 8;

/// Before a socket thread goes to sleep for a command, it watches for one
/// for a moment (on machines with more than one CPU, see [`Spin`]): spins
/// until `ready` says so or the moment is over. Returns how many looks it
/// took when `ready` did (1: it was there at the first look).
fn spin_until(spin: Spin, ready: impl FnMut() -> bool) -> Option<u32> {
    let limit = match spin {
        Spin::Short => crate::util::TICKS_PER_MS / 500,
        Spin::Long => crate::util::TICKS_PER_MS / 50,
    };
    spin_for(limit, ready)
}

/// Spins for up to `limit` ticks (of [`crate::util::ticks`]), looking at
/// `ready` between short pauses that touch no memory another thread
/// writes; returns how many looks it took when `ready` said so.
fn spin_for(limit: u64, mut ready: impl FnMut() -> bool) -> Option<u32> {
    let start = crate::util::ticks();
    let mut looks = 0;
    loop {
        for _ in 0..16 {
            std::hint::spin_loop();
        }
        looks += 1;
        if ready() {
            return Some(looks);
        }
        let now = crate::util::ticks();
        if now < start || now - start > limit {
            return None;
        }
    }
}

/// The first gathering wait of a watching spin (see
/// [`SocketCore::spin_watching_pipes`]), in ticks: some 20 ns.
const GATHER_MIN: u64 = crate::util::TICKS_PER_MS / 50_000;
/// The longest gathering wait: some 4 µs, a few dozen small messages of a
/// writer that streams, far below any HWM.
const GATHER_MAX: u64 = crate::util::TICKS_PER_MS / 250;
const _: () = assert!(GATHER_MIN > 0 && GATHER_MAX <= crate::util::TICKS_PER_MS / 100);

/// The next gathering wait: longer after a message that was there at the
/// first look (a writer that streams), none after one that took longer
/// (a request answered, an occasional message), so latency never pays.
fn next_gather(gather: u64, looks: Option<u32>) -> u64 {
    match looks {
        Some(1) => (gather * 2).clamp(GATHER_MIN, GATHER_MAX),
        _ => 0,
    }
}

/// Whether there is another CPU to run the peer while this thread spins.
pub(super) fn spinning_pays() -> bool {
    use std::sync::atomic::{AtomicU8, Ordering};
    // 0: unknown, 1: single CPU (never spin), 2: spin.
    static MODE: AtomicU8 = AtomicU8::new(0);
    match MODE.load(Ordering::Relaxed) {
        0 => {
            let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
            let m = if cpus > 1 { 2 } else { 1 };
            MODE.store(m, Ordering::Relaxed);
            m == 2
        }
        m => m == 2,
    }
}

/// How long `process_commands` may wait for a command.
#[derive(Clone, Copy)]
pub(super) enum Wait {
    No,
    For(Duration),
    Forever,
}

pub(super) fn deadline(timeo_ms: i32) -> Option<Instant> {
    if timeo_ms < 0 {
        None
    } else {
        Some(Instant::now() + Duration::from_millis(timeo_ms as u64))
    }
}

pub(super) fn wait_until(deadline: Option<Instant>) -> Wait {
    match deadline {
        None => Wait::Forever,
        Some(d) => Wait::For(d.saturating_duration_since(Instant::now())),
    }
}

impl SocketCore {
    /// Processes queued commands, first waiting up to `wait` for one if the
    /// mailbox is empty. Returns ETERM once the context is terminating and
    /// EINTR if a signal interrupted the wait.
    pub(super) fn process_commands(&mut self, wait: Wait) -> Result<()> {
        let timeout = match wait {
            Wait::No => None,
            Wait::For(d) => Some(Some(d)),
            Wait::Forever => Some(None),
        };
        if let Some(t) = timeout {
            if self.shared.mailbox.is_empty() && !self.spin_for_command() && self.arm() {
                match self.shared.mailbox.wait(t) {
                    Ok(_) => {}
                    Err(e) if e.raw_os_error() == Some(libc::EINTR) => return Err(Error::EINTR),
                    Err(e) => return Err(Error::from_io(&e)),
                }
                // The signal may be raised now; the next arm clears it.
                self.idle = false;
            }
        } else if self.idle && self.shared.mailbox.is_armed() && self.shared.mailbox.is_empty() {
            return self.term_check();
        }
        self.drain_mailbox();
        self.term_check()
    }

    /// Processes the commands queued now, without waiting (and without the
    /// throttle of `send`); returns whether there were any. A thread
    /// blocked on a thread-safe socket calls it before each new try.
    pub(crate) fn process_pending(&mut self) -> Result<bool> {
        let pending = !self.shared.mailbox.is_empty();
        self.process_commands(Wait::No)?;
        Ok(pending)
    }

    /// The event count that wakes the threads blocked on a thread-safe
    /// socket whenever commands arrive (`None` for the other types).
    pub(crate) fn waiters(&self) -> Option<&std::sync::Arc<crate::sys::EventCount>> {
        self.shared.mailbox.waiters()
    }

    /// Watches the mailbox for a moment before sleeping (see
    /// [`spin_until`]), with senders told not to signal meanwhile:
    /// waking a sleeper nobody has yet is a wasted eventfd write and read.
    pub(super) fn spin_for_command(&mut self) -> bool {
        if !spinning_pays() {
            return false;
        }
        self.shared.mailbox.quiet();
        self.idle = false;
        let spin = self.spin();
        if spin == Spin::Long && self.pipes.len() <= WATCH_MAX {
            return self.spin_watching_pipes();
        }
        let mailbox = &self.shared.mailbox;
        spin_until(spin, || !mailbox.is_empty()).is_some()
    }

    /// A long spin that also watches the socket's empty inbound pipes, so
    /// that a message written meanwhile is found without its writer sending
    /// `ActivateRead` (a command through this mailbox per message, when a
    /// reader keeps up with its writer: 12% of inproc_thr's profile).
    /// Returns whether a command arrived or a pipe became readable.
    ///
    /// A reader that keeps up with a streaming writer finds one message per
    /// spin, at its first look, and every message then moves three cache
    /// lines between the two CPUs one at a time (the message, and the
    /// pipe's shared word both ways): inproc_thr spent 650 ns of CPU per
    /// 1-byte message. So a message found at the first look is left to
    /// gather company for a moment before the spin returns, a moment that
    /// doubles while messages keep coming that fast (up to [`GATHER_MAX`])
    /// and vanishes as soon as one does not (see [`next_gather`]).
    fn spin_watching_pipes(&mut self) -> bool {
        let mut watched = [0; WATCH_MAX];
        let mut n = 0;
        for idx in 0..self.pipes.index_bound() {
            if n < WATCH_MAX && self.pipes.by_idx_live(idx) && self.pipes.get(idx).watch_inbound() {
                watched[n] = idx;
                n += 1;
            }
        }
        let watched = &watched[..n];
        let (mailbox, pipes) = (&self.shared.mailbox, &mut self.pipes);
        let looks = spin_until(Spin::Long, || {
            !mailbox.is_empty() || watched.iter().any(|&i| pipes.get(i).watched_ready())
        });
        self.gather = next_gather(self.gather, looks);
        if looks == Some(1) {
            spin_for(self.gather, || false);
        }
        let mut arrived = looks.is_some();
        // Every watch ends here: a pipe that received something is readable
        // now (no command will say so), an empty one sleeps again and its
        // writer's next flush sends the command.
        for &idx in watched {
            if self.pipes.get(idx).unwatch_inbound() {
                self.pattern.read_activated(&mut self.pipes, idx);
                arrived = true;
            }
        }
        arrived
    }

    /// [`Spin::Long`] when every pipe leads to another user thread: the
    /// socket has pipes and no tcp, ipc or other I/O-thread endpoint.
    fn spin(&self) -> Spin {
        if self.endpoints.is_empty() && self.pipes.len() > 0 {
            Spin::Long
        } else {
            Spin::Short
        }
    }

    /// Makes the mailbox signal the next command; `false` if one is pending.
    pub(super) fn arm(&mut self) -> bool {
        // A signal raised late for a command already processed must be
        // cleared all the same (see `Mailbox::is_armed`).
        if self.idle && self.shared.mailbox.is_armed() {
            return self.shared.mailbox.is_empty();
        }
        if self.shared.mailbox.arm() {
            self.idle = true;
            true
        } else {
            false
        }
    }

    pub(super) fn drain_mailbox(&mut self) {
        loop {
            while let Some(cmd) = self.shared.mailbox.try_recv() {
                self.idle = false;
                self.process_command(cmd);
            }
            if self.arm() {
                break;
            }
        }
    }

    pub(super) fn term_check(&self) -> Result<()> {
        if self.ctx_terminated {
            Err(Error::ETERM)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::command::SocketCommand;
    use crate::ctx::Ctx;

    /// The soak's stuck close: the reaper took a command (most likely a pipe's
    /// termination acknowledgement) before its sender raised the signal,
    /// woke on that late signal and found nothing to do. The look must
    /// clear the signal, or the next command (the session's ChildGone)
    /// finds it still raised, raises no new edge, and the reaper, which
    /// polls the eventfd edge-triggered, never comes back to the socket.
    #[test]
    fn a_look_after_a_late_signal_clears_it() {
        let ctx = Ctx::new();
        let mut s = crate::socket::create(&ctx, crate::constants::ZMQ_DEALER).unwrap();
        let shared = Arc::clone(s.shared());
        let mb = &shared.mailbox;
        let readable = || mb.wait(Some(Duration::ZERO)).unwrap();
        mb.push(SocketCommand::Launched);
        s.drain_mailbox();
        assert!(mb.disarm());
        mb.raise();
        assert!(readable());
        // The reaper's step on that edge; a user's ZMQ_EVENTS likewise.
        s.drain_mailbox();
        assert!(!readable());
        mb.send(SocketCommand::Launched);
        assert!(readable());
        assert!(s.process_commands(Wait::No).is_ok());
        assert!(!readable());
        mb.push(SocketCommand::Launched);
        assert!(s.process_commands(Wait::No).is_ok());
        assert!(mb.disarm());
        mb.raise();
        assert!(s.process_commands(Wait::No).is_ok());
        assert!(!readable());
        mb.send(SocketCommand::Launched);
        assert!(readable());
        ctx.reap(Box::new(s));
        assert!(ctx.terminate().is_ok());
    }

    /// A socket spinning long watches its empty inbound pipes: a message
    /// written meanwhile is found without the writer's ActivateRead, so the
    /// spin ends with the mailbox still empty and the message readable. (A
    /// spin that only watched the mailbox could end early only with a
    /// command in it.) The writer's timing is up to the scheduler, so this
    /// tries until one message lands inside a spin.
    #[test]
    fn a_long_spin_finds_a_message_without_a_wake_up() {
        use crate::constants::{ZMQ_DONTWAIT, ZMQ_PAIR};
        if !spinning_pays() {
            return;
        }
        let ctx = Ctx::new();
        let mut a = crate::socket::create(&ctx, ZMQ_PAIR).unwrap();
        a.bind("inproc://spin-watch").unwrap();
        let mut b = crate::socket::create(&ctx, ZMQ_PAIR).unwrap();
        b.connect("inproc://spin-watch").unwrap();
        a.drain_mailbox();
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let writer = {
            let stop = Arc::clone(&stop);
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let _ = b.send(crate::msg::Message::from("x"), ZMQ_DONTWAIT);
                    b.process_commands(Wait::No).unwrap();
                    std::thread::sleep(Duration::from_micros(5));
                }
                b
            })
        };
        let mut found_by_watching = false;
        for _ in 0..20_000 {
            while a.recv(ZMQ_DONTWAIT).is_ok() {}
            // The pipe is asleep now: the writer's next flush would send a
            // command, unless this spin takes the sleep back first.
            if a.shared.mailbox.is_empty() && a.spin_for_command() && a.shared.mailbox.is_empty() {
                assert!(
                    a.recv(ZMQ_DONTWAIT).is_ok(),
                    "the spin said the pipe was readable"
                );
                found_by_watching = true;
                break;
            }
            a.drain_mailbox();
        }
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let b = writer.join().unwrap();
        assert!(found_by_watching, "no message was found by a spin's watch");
        for s in [a, b] {
            ctx.reap(Box::new(s));
        }
        assert!(ctx.terminate().is_ok());
    }

    /// A spin reports how many looks it took, so that a watching spin can
    /// tell a message that was already there (a streaming writer) from one
    /// that came while it watched.
    #[test]
    fn a_spin_counts_its_looks() {
        assert_eq!(spin_until(Spin::Long, || true), Some(1));
        let mut looks = 0;
        let third = spin_until(Spin::Long, || {
            looks += 1;
            looks == 3
        });
        assert_eq!(third, Some(3));
        assert_eq!(spin_until(Spin::Short, || false), None);
    }

    /// The gathering wait grows while messages are there at the first look,
    /// up to its bound, and is gone at the first message that was not: a
    /// request-reply exchange never waits.
    #[test]
    fn the_gathering_wait_grows_with_a_stream_and_ends_with_it() {
        let mut g = 0;
        let mut steps = 0;
        while g < GATHER_MAX {
            let next = next_gather(g, Some(1));
            assert!(next > g, "the wait grows: {g} -> {next}");
            g = next;
            steps += 1;
        }
        assert_eq!(g, GATHER_MAX);
        assert!(steps <= 10, "{steps} messages before the wait is full");
        assert_eq!(next_gather(g, Some(1)), GATHER_MAX, "bounded");
        assert_eq!(next_gather(g, Some(2)), 0, "a message that came later");
        assert_eq!(next_gather(g, None), 0, "no message at all");
        assert_eq!(next_gather(0, Some(2)), 0);
    }

    /// The long spin is for sockets whose every pipe leads to another user
    /// thread; a socket with an I/O-thread endpoint, or with no pipe at all,
    /// keeps the short one.
    #[test]
    fn only_inproc_only_sockets_spin_long() {
        let ctx = Ctx::new();
        let mut a = crate::socket::create(&ctx, crate::constants::ZMQ_PAIR).unwrap();
        assert_eq!(a.spin(), Spin::Short, "no pipe yet");
        a.bind("inproc://spin-choice").unwrap();
        let mut b = crate::socket::create(&ctx, crate::constants::ZMQ_PAIR).unwrap();
        b.connect("inproc://spin-choice").unwrap();
        a.drain_mailbox();
        assert_eq!(a.spin(), Spin::Long);
        assert_eq!(b.spin(), Spin::Long);
        b.bind("tcp://127.0.0.1:*").unwrap();
        assert_eq!(b.spin(), Spin::Short, "a tcp listener");
        for s in [a, b] {
            ctx.reap(Box::new(s));
        }
        assert!(ctx.terminate().is_ok());
    }
}
