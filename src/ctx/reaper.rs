//! The reaper thread: finishes sockets after `zmq_close` returns.
//!
//! A closed socket still has pipes (and, for tcp/ipc, sessions lingering in
//! I/O threads) to terminate. The user's thread hands the socket over; from
//! then on the reaper owns it, polls its mailbox fd with mio, lets it
//! process its commands until every pipe and child has acknowledged
//! termination, then drops it and tells the context. The reaper never
//! blocks on anything but its poll and never calls user code. It knows a
//! socket only through [`Reapable`], so the socket module can sit above it.

use std::io;
use std::os::fd::RawFd;
use std::panic::{self, AssertUnwindSafe};
use std::sync::Arc;
use std::thread::JoinHandle;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};

use super::Ctx;
use crate::io::ThreadOptions;
use crate::mailbox::{Mailbox, Signal};

/// What the reaper needs of a closed socket.
pub(crate) trait Reapable: Send {
    /// The socket's id in its context.
    fn id(&self) -> u32;
    /// The descriptor that becomes readable when commands arrive.
    fn fd(&self) -> RawFd;
    /// Starts closing (once, when the reaper takes the socket over).
    fn start_termination(&mut self);
    /// Processes the commands that arrived; true once the socket is finished.
    fn reap_step(&mut self) -> bool;
    /// A one-line account of what the socket still waits for (printed by
    /// the reaper for a socket that takes long to finish, when the
    /// `ZMQRS_REAP_DEBUG` environment variable is set).
    fn reap_state(&self) -> String {
        String::new()
    }
}

/// Commands for the reaper.
pub(crate) enum ReaperCommand {
    /// Finish this closed socket.
    Reap(Box<dyn Reapable>),
    /// Exit once every socket is finished.
    Stop,
}

const WAKER: Token = Token(usize::MAX);

/// The context's handle on its reaper thread.
pub(crate) struct ReaperHandle {
    mailbox: Arc<Mailbox<ReaperCommand>>,
    thread: Option<JoinHandle<()>>,
}

impl ReaperHandle {
    /// Spawns the reaper thread.
    pub fn start(ctx: Arc<Ctx>, opts: &ThreadOptions) -> io::Result<ReaperHandle> {
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let mailbox = Arc::new(Mailbox::new(Signal::Waker(waker)));
        let mb = Arc::clone(&mailbox);
        let thread = crate::io::spawn_background(opts, "Reaper", move || run(ctx, poll, mb))?;
        Ok(ReaperHandle {
            mailbox,
            thread: Some(thread),
        })
    }

    /// Hands over a closed socket.
    pub fn reap(&self, core: Box<dyn Reapable>) {
        self.mailbox.send(ReaperCommand::Reap(core));
    }

    /// Stops the thread once it has nothing left to reap, and joins it.
    pub fn stop(mut self) {
        self.mailbox.send(ReaperCommand::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(ctx: Arc<Ctx>, mut poll: Poll, mailbox: Arc<Mailbox<ReaperCommand>>) {
    let mut sockets: Vec<Option<Box<dyn Reapable>>> = Vec::new();
    let mut events = Events::with_capacity(64);
    let mut stopping = false;
    // Diagnostics only (ZMQRS_REAP_DEBUG): how many scans each slot's
    // socket has survived; one scan a second.
    let debug = std::env::var_os("ZMQRS_REAP_DEBUG").is_some();
    let mut ages: Vec<u32> = Vec::new();
    let mut last_scan = std::time::Instant::now();
    loop {
        let timeout = debug.then(|| std::time::Duration::from_secs(1));
        if debug && last_scan.elapsed() >= std::time::Duration::from_secs(1) {
            last_scan = std::time::Instant::now();
            ages.resize(sockets.len(), 0);
            for (i, s) in sockets.iter().enumerate() {
                match s {
                    Some(core) => {
                        ages[i] += 1;
                        if ages[i] == 5 || ages[i] % 30 == 0 {
                            eprintln!(
                                "reaper: socket {} (slot {i}) not finished after {} s: {}",
                                core.id(),
                                ages[i],
                                core.reap_state()
                            );
                        }
                    }
                    None => ages[i] = 0,
                }
            }
        }
        if let Err(e) = poll.poll(&mut events, timeout) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            panic!("reaper poll failed: {e}");
        }
        let mut ready: Vec<usize> = Vec::new();
        for ev in events.iter() {
            if ev.token() == WAKER {
                loop {
                    while let Some(cmd) = mailbox.try_recv() {
                        match cmd {
                            ReaperCommand::Reap(mut core) => {
                                let idx = match sockets.iter().position(Option::is_none) {
                                    Some(i) => i,
                                    None => {
                                        sockets.push(None);
                                        sockets.len() - 1
                                    }
                                };
                                let fd = core.fd();
                                poll.registry()
                                    .register(&mut SourceFd(&fd), Token(idx), Interest::READABLE)
                                    .expect("reaper cannot watch a socket mailbox");
                                // A panic closing it drops it (see `step`).
                                let started = panic::catch_unwind(AssertUnwindSafe(|| {
                                    core.start_termination()
                                }));
                                sockets[idx] = Some(core);
                                if let Some(a) = ages.get_mut(idx) {
                                    *a = 0;
                                }
                                match started {
                                    Ok(()) => ready.push(idx),
                                    Err(payload) => {
                                        drop_broken(&ctx, &poll, &mut sockets[idx], payload)
                                    }
                                }
                            }
                            ReaperCommand::Stop => stopping = true,
                        }
                    }
                    if mailbox.arm() {
                        break;
                    }
                }
            } else {
                ready.push(ev.token().0);
            }
        }
        for idx in ready {
            let Some(slot) = sockets.get_mut(idx) else {
                continue;
            };
            let done = match slot.as_mut() {
                Some(core) => match panic::catch_unwind(AssertUnwindSafe(|| step(core))) {
                    Ok(done) => done,
                    Err(payload) => {
                        drop_broken(&ctx, &poll, slot, payload);
                        false
                    }
                },
                None => false,
            };
            if done {
                if let Some(core) = sockets[idx].take() {
                    let fd = core.fd();
                    let _ = poll.registry().deregister(&mut SourceFd(&fd));
                    let id = core.id();
                    drop(core);
                    ctx.socket_reaped(id);
                }
            }
        }
        if stopping && sockets.iter().all(Option::is_none) {
            return;
        }
    }
}

/// One step of a closed socket: process what arrived; true once finished.
fn step(core: &mut Box<dyn Reapable>) -> bool {
    #[cfg(feature = "fault-injection")]
    crate::fault::on_reap(core.fd());
    core.reap_step()
}

/// Closing the socket in `slot` panicked (a bug of ours): drop it and tell
/// the context it is reaped, so that zmq_ctx_term does not wait for it
/// forever. Its sessions may be left waiting for its pipes; the I/O threads
/// stop with the context all the same. One line goes to stderr.
fn drop_broken(
    ctx: &Ctx,
    poll: &Poll,
    slot: &mut Option<Box<dyn Reapable>>,
    payload: Box<dyn std::any::Any + Send>,
) {
    let Some(core) = slot.take() else {
        return;
    };
    let id = core.id();
    let fd = core.fd();
    let _ = poll.registry().deregister(&mut SourceFd(&fd));
    crate::io::report(&format!(
        "internal error in the reaper closing socket {id}: {}; socket dropped",
        crate::io::panic_text(&*payload)
    ));
    // Its Drop code, or the payload's, might panic too.
    for dropped in [
        panic::catch_unwind(AssertUnwindSafe(move || drop(payload))),
        panic::catch_unwind(AssertUnwindSafe(move || drop(core))),
    ] {
        if let Err(again) = dropped {
            std::mem::forget(again);
        }
    }
    ctx.socket_reaped(id);
}
