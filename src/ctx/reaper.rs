//! The reaper thread: finishes sockets after `zmq_close` returns.
//!
//! A closed socket still has pipes (and, for tcp/ipc, sessions lingering in
//! I/O threads) to terminate. The user's thread hands the socket core over;
//! from then on the reaper owns it, polls its mailbox fd with mio, processes
//! its commands until every pipe and child has acknowledged termination, then
//! drops it and tells the context. The reaper never blocks on anything but
//! its poll and never calls user code.

use std::io;
use std::sync::Arc;
use std::thread::JoinHandle;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};

use super::{Ctx, CtxOptions};
use crate::mailbox::{Mailbox, Signal};
use crate::socket::SocketCore;

/// Commands for the reaper.
pub(crate) enum ReaperCmd {
    /// Finish this closed socket.
    Reap(Box<SocketCore>),
    /// Exit once every socket is finished.
    Stop,
}

const WAKER: Token = Token(usize::MAX);

/// The context's handle on its reaper thread.
pub(crate) struct ReaperHandle {
    mailbox: Arc<Mailbox<ReaperCmd>>,
    thread: Option<JoinHandle<()>>,
}

impl ReaperHandle {
    /// Spawns the reaper thread.
    pub fn start(ctx: Arc<Ctx>, opts: &CtxOptions) -> io::Result<ReaperHandle> {
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
    pub fn reap(&self, core: Box<SocketCore>) {
        self.mailbox.send(ReaperCmd::Reap(core));
    }

    /// Stops the thread once it has nothing left to reap, and joins it.
    pub fn stop(mut self) {
        self.mailbox.send(ReaperCmd::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(ctx: Arc<Ctx>, mut poll: Poll, mailbox: Arc<Mailbox<ReaperCmd>>) {
    let mut sockets: Vec<Option<Box<SocketCore>>> = Vec::new();
    let mut events = Events::with_capacity(64);
    let mut stopping = false;
    loop {
        if let Err(e) = poll.poll(&mut events, None) {
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
                            ReaperCmd::Reap(mut core) => {
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
                                core.start_termination();
                                sockets[idx] = Some(core);
                                ready.push(idx);
                            }
                            ReaperCmd::Stop => stopping = true,
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
            let done = match sockets.get_mut(idx).and_then(Option::as_mut) {
                Some(core) => core.reap_step(),
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
