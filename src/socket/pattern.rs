//! What each socket type implements (libzmq's x* virtual methods), and the
//! factory that makes a socket type's pattern from its number.

use super::pipes::{PipeIdx, Pipes};
use super::*;
use crate::constants::*;
use crate::error::{Error, Result};
use crate::msg::Message;
use crate::options::{OptVal, Options};

/// Why a socket type could not take a frame.
pub(crate) enum SendFail {
    /// No pipe can take it now; the frame is handed back for a retry.
    Again(Message),
    /// A multi-part message lost its pipe part-way; the frame is handed back
    /// and the rest of the message will be dropped (libzmq's `-2`).
    Dropped(Message),
    /// Another error; the frame is handed back.
    Fail(Error, Message),
}

/// The per-socket-type hooks (libzmq's x* virtual methods).
pub(crate) trait Pattern: Send {
    /// A new pipe was attached.
    fn attach(
        &mut self,
        pipes: &mut Pipes,
        opts: &mut Options,
        p: PipeIdx,
        locally_initiated: bool,
    );
    /// Sends a frame.
    fn send(
        &mut self,
        pipes: &mut Pipes,
        opts: &Options,
        msg: Message,
    ) -> std::result::Result<(), SendFail> {
        let _ = (pipes, opts);
        Err(SendFail::Fail(Error::ENOTSUP, msg))
    }
    /// Receives a frame; EAGAIN when none is available.
    fn recv(&mut self, pipes: &mut Pipes, opts: &Options) -> Result<Message> {
        let _ = (pipes, opts);
        Err(Error::ENOTSUP)
    }
    /// Whether a frame can be received without blocking.
    fn has_in(&mut self, pipes: &mut Pipes, _opts: &Options) -> bool {
        let _ = pipes;
        false
    }
    /// Whether a frame can be sent without blocking.
    fn has_out(&mut self, pipes: &mut Pipes, _opts: &Options) -> bool {
        let _ = pipes;
        false
    }
    /// A new pipe to a peer that cannot subscribe (udp://): RADIO sends it
    /// every group. Other types attach it as usual.
    fn attach_subscribe_all(&mut self, pipes: &mut Pipes, opts: &mut Options, p: PipeIdx) {
        self.attach(pipes, opts, p, true);
    }
    /// A pipe has messages again.
    fn read_activated(&mut self, pipes: &mut Pipes, p: PipeIdx) {
        let _ = (pipes, p);
    }
    /// A pipe has room again.
    fn write_activated(&mut self, pipes: &mut Pipes, p: PipeIdx) {
        let _ = (pipes, p);
    }
    /// A pipe is gone; forget it.
    fn pipe_terminated(&mut self, pipes: &mut Pipes, p: PipeIdx);
    /// The peer reconnected and dropped what we had queued to it.
    fn hiccuped(&mut self, pipes: &mut Pipes, p: PipeIdx) {
        let _ = (pipes, p);
    }
    /// Joins a RADIO/DISH group (ENOTSUP for other types).
    fn join(&mut self, pipes: &mut Pipes, group: &[u8]) -> Result<()> {
        let _ = (pipes, group);
        Err(Error::ENOTSUP)
    }
    /// Leaves a RADIO/DISH group (ENOTSUP for other types).
    fn leave(&mut self, pipes: &mut Pipes, group: &[u8]) -> Result<()> {
        let _ = (pipes, group);
        Err(Error::ENOTSUP)
    }
    /// `zmq_disconnect_peer` (libzmq after 4.3.5; ENOTSUP but for SERVER
    /// and PEER).
    fn disconnect_peer(&mut self, pipes: &mut Pipes, routing_id: u32) -> Result<()> {
        let _ = (pipes, routing_id);
        Err(Error::ENOTSUP)
    }
    /// `zmq_socket_get_peer_state` (ENOTSUP but for ROUTER).
    fn peer_state(&mut self, pipes: &mut Pipes, routing_id: &[u8]) -> Result<i32> {
        let _ = (pipes, routing_id);
        Err(Error::ENOTSUP)
    }
    /// A socket-type option. `None`: not this type's (or, as libzmq does
    /// with a value its type refuses, one for the common options to judge).
    fn setsockopt(
        &mut self,
        _pipes: &mut Pipes,
        opts: &mut Options,
        option: i32,
        v: OptVal<'_>,
    ) -> Option<Result<()>> {
        let _ = (opts, option, v);
        None
    }
    /// A socket-type option read. `None`: not this type's.
    fn getsockopt(&mut self, opts: &Options, option: i32, buf: &mut [u8]) -> Option<Result<usize>> {
        let _ = (opts, option, buf);
        None
    }
}

/// Creates the hooks for a socket type and sets the type's fixed options.
pub(super) fn make_pattern(socket_type: i32, opts: &mut Options) -> Result<Box<dyn Pattern>> {
    opts.socket_type = socket_type;
    Ok(match socket_type {
        ZMQ_PAIR => Box::new(pair::Pair::default()),
        ZMQ_PUSH => Box::new(push::Push::default()),
        ZMQ_PULL => Box::new(pull::Pull::default()),
        ZMQ_DEALER => {
            opts.can_send_hello_msg = true;
            opts.can_recv_hiccup_msg = true;
            Box::new(dealer::Dealer::default())
        }
        ZMQ_ROUTER => {
            opts.recv_routing_id = true;
            opts.can_send_hello_msg = true;
            opts.can_recv_disconnect_msg = true;
            Box::new(router::Router::new())
        }
        ZMQ_REQ => Box::new(req::Req::new()),
        ZMQ_REP => {
            opts.recv_routing_id = true;
            Box::new(rep::Rep::new())
        }
        ZMQ_STREAM => {
            opts.raw_socket = true;
            Box::new(stream::Stream::new())
        }
        ZMQ_CLIENT => {
            opts.can_send_hello_msg = true;
            opts.can_recv_hiccup_msg = true;
            Box::new(client_server::Client::new_client())
        }
        ZMQ_SERVER => {
            opts.can_send_hello_msg = true;
            opts.can_recv_disconnect_msg = true;
            Box::new(client_server::Server::new())
        }
        ZMQ_PEER => {
            opts.can_send_hello_msg = true;
            opts.can_recv_disconnect_msg = true;
            opts.can_recv_hiccup_msg = true;
            Box::new(client_server::Server::new())
        }
        ZMQ_CHANNEL => Box::new(channel::Channel::default()),
        ZMQ_SCATTER => Box::new(client_server::Client::scatter()),
        ZMQ_GATHER => Box::new(client_server::Client::gather()),
        ZMQ_RADIO => Box::new(radio::Radio::new()),
        ZMQ_DISH => {
            // Joins are not worth waiting for at close (libzmq dish_t).
            opts.linger = 0;
            Box::new(dish::Dish::new())
        }
        ZMQ_DGRAM => {
            opts.raw_socket = true;
            Box::new(dgram::Dgram::new())
        }
        ZMQ_PUB => Box::new(xpub::XPub::new(true)),
        ZMQ_XPUB => Box::new(xpub::XPub::new(false)),
        ZMQ_SUB => {
            opts.filter = true;
            opts.linger = 0;
            Box::new(xsub::XSub::new(true))
        }
        ZMQ_XSUB => {
            opts.linger = 0;
            Box::new(xsub::XSub::new(false))
        }
        _ => return Err(Error::EINVAL),
    })
}
