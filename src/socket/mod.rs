//! The blocking socket core (libzmq's socket_base_t) and the hooks each
//! socket type implements.
//!
//! A [`SocketCore`] is owned by one thread at a time: the user's thread while
//! the socket is open, then the reaper after `zmq_close`. It owns the
//! socket-type logic (a [`Pattern`]), its pipes, and the receiving side of its
//! mailbox. Other threads reach it only through [`SocketShared`]: its mailbox
//! (pipe commands, inproc binds, the context's stop) and the sequence counter
//! that keeps it alive while a bind is in flight.
//!
//! A blocking call tries; on EAGAIN it sleeps on the mailbox (bounded by
//! RCVTIMEO/SNDTIMEO), processes the commands that arrived, and retries.

pub(crate) mod channel;
pub(crate) mod client_server;
mod core;
pub(crate) mod dealer;
pub(crate) mod dgram;
pub(crate) mod dish;
pub(crate) mod dist;
mod endpoints;
pub(crate) mod fq;
pub(crate) mod lb;
mod monitor;
pub(crate) mod pair;
mod pattern;
pub(crate) mod pipes;
pub(crate) mod pull;
pub(crate) mod push;
pub(crate) mod radio;
pub(crate) mod rep;
pub(crate) mod req;
pub(crate) mod router;
mod sockopt;
pub(crate) mod stream;
#[cfg(test)]
mod test_util;
pub(crate) mod trie;
mod wait;
pub(crate) mod xpub;
pub(crate) mod xsub;

use std::collections::HashSet;
use std::sync::Arc;

use crate::command::SocketShared;
use crate::constants::*;
use crate::ctx::{Ctx, Reapable};
use crate::error::Result;
use crate::monitor::Monitor;
use crate::options::Options;
use crate::pipe::Pipe;

pub(crate) use pattern::{Pattern, SendFail};
use pipes::{PipeIdx, Pipes};

/// A tcp or ipc endpoint: the listener or connecting session serving it.
struct Endpoint {
    uri: String,
    child: u64,
    io: usize,
    /// Our end of a connect's pipe, while it lives.
    pipe: Option<PipeIdx>,
}

/// The socket itself, owned by one thread at a time.
pub(crate) struct SocketCore {
    ctx: Arc<Ctx>,
    shared: Arc<SocketShared>,
    pub(crate) options: Options,
    pattern: Box<dyn Pattern>,
    pipes: Pipes,
    rcvmore: bool,
    ctx_terminated: bool,
    /// The mailbox is armed and its signal cleared; nothing processed since.
    /// Arming again may be skipped only while the mailbox still says it is
    /// armed (a sender can raise the signal late, see `Mailbox::is_armed`).
    idle: bool,
    /// When `send` last looked at the mailbox, in [`crate::util::ticks`].
    send_cmd_tick: u64,
    /// Receives since `recv` last looked at the mailbox (libzmq's `_ticks`).
    recv_ticks: u32,
    /// How long a watching spin that found a message at its first look
    /// waits before returning, in [`crate::util::ticks`] (see
    /// `SocketCore::spin_watching_pipes`).
    gather: u64,
    last_endpoint: String,
    /// The pipe attached last (PEER's zmq_connect_peer reports its id).
    last_attached: Option<PipeIdx>,
    /// The pipe being attached leads to a udp://, pgm:// or epgm:// endpoint
    /// (libzmq's `subscribe_to_all`).
    udp_attach: bool,
    /// Pipes created by inproc connects, by endpoint (for zmq_disconnect).
    inprocs: Vec<(String, PipeIdx)>,
    terminating: bool,
    term_acks: usize,
    processed_seqnum: u64,
    monitor: Arc<Monitor>,
    endpoints: Vec<Endpoint>,
    /// Children asked to terminate that have not finished yet.
    awaiting: HashSet<u64>,
    /// A monitor socket's feed: the events its [`Monitor`] posts.
    feed: Option<Pipe>,
    /// Frames taken from the feed that the readers could not take yet (a
    /// PAIR or PUSH with no reader, or with its reader at the HWM). They go
    /// out, in order, once a reader connects or makes room; meanwhile the
    /// feed is not read, so it fills and the [`Monitor`] drops new events.
    feed_held: std::collections::VecDeque<crate::msg::Message>,
    /// The last frame forwarded had MORE: the next one must follow it.
    feed_mid: bool,
    /// The rest of a fed event that lost its reader part-way is skipped.
    feed_dropping: bool,
    /// The feed has ended; the monitor socket closes once it has sent
    /// what it took from the feed.
    feed_ended: bool,
}

/// Creates a socket of `socket_type` in `ctx` (`zmq_socket`).
pub(crate) fn create(ctx: &Arc<Ctx>, socket_type: i32) -> Result<SocketCore> {
    ctx.add_socket(|id, options| {
        let core = SocketCore::new(Arc::clone(ctx), socket_type, id, options)?;
        let shared = Arc::clone(core.shared());
        Ok((core, shared))
    })
}

impl Reapable for SocketCore {
    fn id(&self) -> u32 {
        SocketCore::id(self)
    }
    fn fd(&self) -> std::os::fd::RawFd {
        SocketCore::fd(self)
    }
    fn start_termination(&mut self) {
        // A monitor socket is handed over at birth; it closes itself when
        // its feed ends.
        if !self.is_forwarding() {
            SocketCore::start_termination(self);
        }
    }
    fn reap_step(&mut self) -> bool {
        SocketCore::reap_step(self)
    }
    fn reap_state(&self) -> String {
        SocketCore::reap_state(self)
    }
}

impl Drop for SocketCore {
    fn drop(&mut self) {
        // Last of all, as libzmq: events raised while closing (CLOSED,
        // DISCONNECTED) reach the monitor before MONITOR_STOPPED.
        self.monitor.stop(true);
    }
}

/// The draft socket types libzmq makes thread-safe.
pub(crate) fn is_thread_safe(socket_type: i32) -> bool {
    matches!(
        socket_type,
        ZMQ_CLIENT
            | ZMQ_SERVER
            | ZMQ_SCATTER
            | ZMQ_GATHER
            | ZMQ_RADIO
            | ZMQ_DISH
            | ZMQ_PEER
            | ZMQ_CHANNEL
            | ZMQ_DGRAM
    )
}
