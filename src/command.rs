//! The commands a socket receives, and the part of a socket that other
//! threads may hold ([`SocketShared`]): its mailbox and its count of binds
//! in flight. Below everything that sends a socket a command (inproc
//! connects, sessions, listeners, the context), so none of them needs the
//! socket module itself.

use std::sync::atomic::{AtomicBool, AtomicU64};

use crate::mailbox::Mailbox;
use crate::pipe::{Pipe, PipeCommand, PipeSink};

/// Commands a socket receives in its mailbox.
pub(crate) enum SocketCommand {
    /// A command for one of the socket's pipe ends (key from `Pipes::insert`).
    Pipe(u64, PipeCommand),
    /// Attach a new pipe end: an inproc peer connected to us.
    Bind(Box<Pipe>),
    /// The context is terminating: blocking calls return ETERM from now on.
    Stop,
    /// A listener or connecting session of ours has finished.
    ChildGone(u64),
    /// A connecting session gave up (reconnect disabled or refused): forget
    /// the endpoint, as zmq_disconnect would.
    TermEndpoint(String),
    /// A listener or session was launched for us. Nothing to do but wake
    /// up: like libzmq's "own" command, it makes ZMQ_FD readable after a
    /// bind or connect, which pollers of ZMQ_FD rely on.
    Launched,
}

// Every slot of a socket's mailbox is as large as its largest command.
const _: () = assert!(std::mem::size_of::<SocketCommand>() <= 32);

/// The part of a socket that other threads may hold.
pub(crate) struct SocketShared {
    pub mailbox: Mailbox<SocketCommand>,
    /// Binds sent to this socket (incremented by the sender before sending).
    pub sent_seqnum: AtomicU64,
    pub id: u32,
    /// zmq_disconnect was called and ZMQ_RECONNECT_STOP has
    /// ZMQ_RECONNECT_STOP_AFTER_DISCONNECT: the socket's ipc connecters
    /// stop at their next refused attempt (libzmq's _disconnected flag).
    pub disconnected: AtomicBool,
}

impl PipeSink for SocketShared {
    fn deliver(&self, target: u64, cmd: PipeCommand) {
        self.mailbox.send(SocketCommand::Pipe(target, cmd));
    }
}
