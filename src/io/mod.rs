//! I/O threads: each runs one mio poll loop that owns listeners, connecters,
//! sessions and their engines, and the timers they need. Commands reach a
//! thread through its mailbox (a crossbeam queue plus the poll's waker). An
//! I/O thread never blocks except in its poll and never calls user code.

use std::io;
use std::sync::Arc;
use std::thread::JoinHandle;

use mio::{Events, Poll, Token, Waker};

use crate::ctx::{Ctx, CtxOptions};
use crate::mailbox::{Mailbox, Signal};

/// Commands for an I/O thread.
pub(crate) enum IoCommand {
    /// Exit the loop.
    Stop,
}

const WAKER: Token = Token(usize::MAX);

/// The context's handle on one I/O thread.
pub(crate) struct IoThread {
    mailbox: Arc<Mailbox<IoCommand>>,
    thread: Option<JoinHandle<()>>,
}

impl IoThread {
    /// Spawns I/O thread number `index`.
    pub fn start(ctx: Arc<Ctx>, index: usize, opts: &CtxOptions) -> io::Result<IoThread> {
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let mailbox = Arc::new(Mailbox::new(Signal::Waker(waker)));
        let mb = Arc::clone(&mailbox);
        let name = format!("IO/{index}");
        let thread = spawn_background(opts, &name, move || run(ctx, poll, mb))?;
        Ok(IoThread { mailbox, thread: Some(thread) })
    }

    /// The thread's mailbox.
    pub fn mailbox(&self) -> &Arc<Mailbox<IoCommand>> {
        &self.mailbox
    }

    /// Stops the loop and joins the thread.
    pub fn stop(mut self) {
        self.mailbox.send(IoCommand::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(_ctx: Arc<Ctx>, mut poll: Poll, mailbox: Arc<Mailbox<IoCommand>>) {
    let mut events = Events::with_capacity(256);
    loop {
        if let Err(e) = poll.poll(&mut events, None) {
            if e.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            panic!("I/O thread poll failed: {e}");
        }
        for ev in events.iter() {
            if ev.token() == WAKER {
                loop {
                    while let Some(cmd) = mailbox.try_recv() {
                        match cmd {
                            IoCommand::Stop => return,
                        }
                    }
                    if mailbox.arm() {
                        break;
                    }
                }
            }
        }
    }
}

/// Spawns a background thread named like libzmq's (`ZMQbg/<name>`, with the
/// context's prefix), applying the context's scheduling options. A panic in
/// a background thread aborts the process: a dead I/O thread or reaper would
/// otherwise hang `zmq_ctx_term` forever.
pub(crate) fn spawn_background<F>(opts: &CtxOptions, name: &str, f: F) -> io::Result<JoinHandle<()>>
where
    F: FnOnce() + Send + 'static,
{
    let full = if opts.thread_name_prefix.is_empty() {
        format!("ZMQbg/{name}")
    } else {
        format!("{}/ZMQbg/{name}", opts.thread_name_prefix)
    };
    // Linux limits thread names to 15 bytes.
    let mut short = full.clone();
    short.truncate(15);
    let sched = (opts.thread_sched_policy, opts.thread_priority, opts.thread_affinity.clone());
    std::thread::Builder::new().name(short).spawn(move || {
        crate::sys::apply_thread_scheduling(sched.0, sched.1, &sched.2);
        let guard = AbortOnPanic;
        f();
        std::mem::forget(guard);
    })
}

struct AbortOnPanic;

impl Drop for AbortOnPanic {
    fn drop(&mut self) {
        eprintln!("zmqrs: a background thread panicked; aborting");
        std::process::abort();
    }
}
