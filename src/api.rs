//! The blocking Rust API, in the vocabulary of the `zmq` crate: [`Context`],
//! [`Socket`], [`Message`](crate::Message), [`SocketType`], [`poll`].
//!
//! A [`Socket`] is `Send` but not `Sync`: use it from one thread at a time,
//! as with libzmq. Its methods take `&self` (like the `zmq` crate), so poll
//! items and several borrowed uses can coexist on one thread.

use std::cell::RefCell;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::constants::*;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::msg::Message;
use crate::socket::SocketCore;

/// Socket types (`zmq_socket`'s second argument).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(clippy::upper_case_acronyms)]
pub enum SocketType {
    /// Exclusive pair (RFC 31).
    PAIR,
    /// Publisher (RFC 29).
    PUB,
    /// Subscriber (RFC 29).
    SUB,
    /// Requester (RFC 28).
    REQ,
    /// Replier (RFC 28).
    REP,
    /// Asynchronous requester (RFC 28).
    DEALER,
    /// Asynchronous replier (RFC 28).
    ROUTER,
    /// Pipeline sink (RFC 30).
    PULL,
    /// Pipeline source (RFC 30).
    PUSH,
    /// Publisher that sees subscriptions.
    XPUB,
    /// Subscriber that sends raw subscriptions.
    XSUB,
    /// Raw TCP peer.
    STREAM,
}

impl SocketType {
    /// The `ZMQ_*` number of this type.
    pub fn to_raw(self) -> i32 {
        match self {
            SocketType::PAIR => ZMQ_PAIR,
            SocketType::PUB => ZMQ_PUB,
            SocketType::SUB => ZMQ_SUB,
            SocketType::REQ => ZMQ_REQ,
            SocketType::REP => ZMQ_REP,
            SocketType::DEALER => ZMQ_DEALER,
            SocketType::ROUTER => ZMQ_ROUTER,
            SocketType::PULL => ZMQ_PULL,
            SocketType::PUSH => ZMQ_PUSH,
            SocketType::XPUB => ZMQ_XPUB,
            SocketType::XSUB => ZMQ_XSUB,
            SocketType::STREAM => ZMQ_STREAM,
        }
    }

    /// The type for a `ZMQ_*` number.
    pub fn from_raw(raw: i32) -> Option<SocketType> {
        Some(match raw {
            ZMQ_PAIR => SocketType::PAIR,
            ZMQ_PUB => SocketType::PUB,
            ZMQ_SUB => SocketType::SUB,
            ZMQ_REQ => SocketType::REQ,
            ZMQ_REP => SocketType::REP,
            ZMQ_DEALER => SocketType::DEALER,
            ZMQ_ROUTER => SocketType::ROUTER,
            ZMQ_PULL => SocketType::PULL,
            ZMQ_PUSH => SocketType::PUSH,
            ZMQ_XPUB => SocketType::XPUB,
            ZMQ_XSUB => SocketType::XSUB,
            ZMQ_STREAM => SocketType::STREAM,
            _ => return None,
        })
    }
}

/// Send/receive flag: don't block (`ZMQ_DONTWAIT`).
pub const DONTWAIT: i32 = ZMQ_DONTWAIT;
/// Send flag: more frames follow (`ZMQ_SNDMORE`).
pub const SNDMORE: i32 = ZMQ_SNDMORE;
/// Poll event: readable.
pub const POLLIN: i16 = ZMQ_POLLIN as i16;
/// Poll event: writable.
pub const POLLOUT: i16 = ZMQ_POLLOUT as i16;
/// Poll event: error (raw descriptors only).
pub const POLLERR: i16 = ZMQ_POLLERR as i16;

struct ContextInner {
    ctx: Arc<Ctx>,
    terminated: AtomicBool,
}

impl Drop for ContextInner {
    fn drop(&mut self) {
        if !self.terminated.swap(true, Ordering::AcqRel) {
            let _ = self.ctx.terminate();
        }
    }
}

/// A 0MQ context: the I/O threads and the sockets made from it.
///
/// Cloning shares the context. It is terminated when the last clone and the
/// last socket are dropped, or explicitly with [`Context::destroy`].
#[derive(Clone)]
pub struct Context {
    inner: Arc<ContextInner>,
}

impl Default for Context {
    fn default() -> Self {
        Context::new()
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").finish_non_exhaustive()
    }
}

impl Context {
    /// A new context (`zmq_ctx_new`).
    pub fn new() -> Context {
        Context {
            inner: Arc::new(ContextInner {
                ctx: Ctx::new(),
                terminated: AtomicBool::new(false),
            }),
        }
    }

    /// Creates a socket (`zmq_socket`).
    pub fn socket(&self, socket_type: SocketType) -> Result<Socket> {
        self.socket_raw(socket_type.to_raw())
    }

    /// Creates a socket from a `ZMQ_*` type number (EINVAL if unknown).
    pub fn socket_raw(&self, socket_type: i32) -> Result<Socket> {
        let core = crate::socket::create(&self.inner.ctx, socket_type)?;
        Ok(Socket {
            core: RefCell::new(Some(Box::new(core))),
            ctx: self.clone(),
        })
    }

    /// Sets an integer context option (`zmq_ctx_set`).
    pub fn set(&self, option: i32, value: i32) -> Result<()> {
        self.inner.ctx.set(option, &value.to_ne_bytes())
    }

    /// Sets a context option from raw bytes (`zmq_ctx_set_ext`).
    pub fn set_raw(&self, option: i32, value: &[u8]) -> Result<()> {
        self.inner.ctx.set(option, value)
    }

    /// Reads an integer context option (`zmq_ctx_get`).
    pub fn get(&self, option: i32) -> Result<i32> {
        self.inner.ctx.get_int(option)
    }

    /// Reads a context option into `buf` (`zmq_ctx_get_ext`); returns its length.
    pub fn get_raw(&self, option: i32, buf: &mut [u8]) -> Result<usize> {
        self.inner.ctx.get(option, buf)
    }

    /// The number of I/O threads.
    pub fn get_io_threads(&self) -> Result<i32> {
        self.get(ZMQ_IO_THREADS)
    }

    /// Sets the number of I/O threads (before the first socket).
    pub fn set_io_threads(&self, n: i32) -> Result<()> {
        self.set(ZMQ_IO_THREADS, n)
    }

    /// Makes blocked and future calls on every socket fail with ETERM, and
    /// refuses new sockets (`zmq_ctx_shutdown`).
    pub fn shutdown(&self) {
        self.inner.ctx.shutdown();
    }

    /// Terminates the context (`zmq_ctx_term`): waits until every socket is
    /// closed and its linger has passed.
    pub fn destroy(&mut self) -> Result<()> {
        if !self.inner.terminated.swap(true, Ordering::AcqRel) {
            self.inner.ctx.terminate()?;
        }
        Ok(())
    }
}

/// A 0MQ socket. Closed when dropped (or with [`Socket::close`]); closing
/// never blocks: pending messages are delivered in the background within
/// ZMQ_LINGER.
pub struct Socket {
    core: RefCell<Option<Box<SocketCore>>>,
    ctx: Context,
}

impl std::fmt::Debug for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Socket").finish_non_exhaustive()
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        if let Some(core) = self.core.get_mut().take() {
            self.ctx.inner.ctx.reap(core);
        }
    }
}

/// Encodes an int option value.
fn int_bytes(v: i32) -> [u8; 4] {
    v.to_ne_bytes()
}

macro_rules! int_options {
    ($( $(#[$doc:meta])* $get:ident, $set:ident => $opt:ident; )*) => {
        $(
            $(#[$doc])*
            pub fn $get(&self) -> Result<i32> {
                self.get_int($opt)
            }
            $(#[$doc])*
            pub fn $set(&self, value: i32) -> Result<()> {
                self.setsockopt_raw($opt, Some(&int_bytes(value)))
            }
        )*
    };
}

macro_rules! bool_options {
    ($( $(#[$doc:meta])* $get:ident, $set:ident => $opt:ident; )*) => {
        $(
            $(#[$doc])*
            pub fn $get(&self) -> Result<bool> {
                self.get_int($opt).map(|v| v != 0)
            }
            $(#[$doc])*
            pub fn $set(&self, value: bool) -> Result<()> {
                self.setsockopt_raw($opt, Some(&int_bytes(value as i32)))
            }
        )*
    };
}

impl Socket {
    fn with<T>(&self, f: impl FnOnce(&mut SocketCore) -> Result<T>) -> Result<T> {
        let mut guard = self.core.try_borrow_mut().map_err(|_| Error::EFAULT)?;
        match guard.as_mut() {
            Some(core) => f(core),
            None => Err(Error::ENOTSOCK),
        }
    }

    /// Closes the socket now (`zmq_close`).
    pub fn close(self) -> Result<()> {
        drop(self);
        Ok(())
    }

    /// The context this socket belongs to.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// Accepts connections on an endpoint (`zmq_bind`).
    pub fn bind(&self, endpoint: &str) -> Result<()> {
        self.with(|s| s.bind(endpoint))
    }

    /// Connects to an endpoint (`zmq_connect`).
    pub fn connect(&self, endpoint: &str) -> Result<()> {
        self.with(|s| s.connect(endpoint))
    }

    /// Connects a PEER socket and returns the routing id of the new peer, to
    /// address it with [`Message::set_routing_id`] (`zmq_connect_peer`).
    pub fn connect_peer(&self, endpoint: &str) -> Result<u32> {
        self.with(|s| s.connect_peer(endpoint))
    }

    /// Stops accepting on an endpoint (`zmq_unbind`).
    pub fn unbind(&self, endpoint: &str) -> Result<()> {
        self.with(|s| s.term_endpoint(endpoint))
    }

    /// Disconnects from an endpoint (`zmq_disconnect`).
    pub fn disconnect(&self, endpoint: &str) -> Result<()> {
        self.with(|s| s.term_endpoint(endpoint))
    }

    /// Sends one frame; `flags` is a combination of [`DONTWAIT`] and [`SNDMORE`].
    pub fn send<T: Into<Message>>(&self, data: T, flags: i32) -> Result<()> {
        self.send_msg(data.into(), flags).map_err(|(e, _)| e)
    }

    /// Sends a message; on failure the message is handed back with the error.
    pub fn send_msg(&self, msg: Message, flags: i32) -> std::result::Result<(), (Error, Message)> {
        let mut guard = match self.core.try_borrow_mut() {
            Ok(g) => g,
            Err(_) => return Err((Error::EFAULT, msg)),
        };
        match guard.as_mut() {
            Some(core) => core.send(msg, flags),
            None => Err((Error::ENOTSOCK, msg)),
        }
    }

    /// Sends all frames of a multi-part message.
    pub fn send_multipart<I, T>(&self, parts: I, flags: i32) -> Result<()>
    where
        I: IntoIterator<Item = T>,
        T: Into<Message>,
    {
        let mut iter = parts.into_iter().peekable();
        while let Some(part) = iter.next() {
            let f = if iter.peek().is_some() {
                flags | SNDMORE
            } else {
                flags
            };
            self.send(part, f)?;
        }
        Ok(())
    }

    /// Receives one frame.
    pub fn recv_msg(&self, flags: i32) -> Result<Message> {
        self.with(|s| s.recv(flags))
    }

    /// Receives one frame into `msg`.
    pub fn recv(&self, msg: &mut Message, flags: i32) -> Result<()> {
        *msg = self.recv_msg(flags)?;
        Ok(())
    }

    /// Receives one frame as bytes.
    pub fn recv_bytes(&self, flags: i32) -> Result<Vec<u8>> {
        self.recv_msg(flags).map(|m| m.to_vec())
    }

    /// Receives one frame as UTF-8; `Err(bytes)` inside if it is not UTF-8.
    pub fn recv_string(&self, flags: i32) -> Result<std::result::Result<String, Vec<u8>>> {
        self.recv_bytes(flags)
            .map(|b| String::from_utf8(b).map_err(|e| e.into_bytes()))
    }

    /// Receives into `buf`; returns the frame's full size (it is truncated
    /// if larger than `buf`, as `zmq_recv`).
    pub fn recv_into(&self, buf: &mut [u8], flags: i32) -> Result<usize> {
        let m = self.recv_msg(flags)?;
        let n = m.len().min(buf.len());
        buf[..n].copy_from_slice(&m[..n]);
        Ok(m.len())
    }

    /// Receives all frames of a multi-part message.
    pub fn recv_multipart(&self, flags: i32) -> Result<Vec<Vec<u8>>> {
        let mut parts = vec![self.recv_bytes(flags)?];
        while self.get_rcvmore()? {
            parts.push(self.recv_bytes(flags)?);
        }
        Ok(parts)
    }

    /// Sets an option from raw bytes as `zmq_setsockopt` does (`None`: a NULL value).
    pub fn setsockopt_raw(&self, option: i32, value: Option<&[u8]>) -> Result<()> {
        self.with(|s| s.setsockopt(option, value))
    }

    /// Reads an option into `buf` as `zmq_getsockopt` does; returns its length.
    pub fn getsockopt_raw(&self, option: i32, buf: &mut [u8]) -> Result<usize> {
        self.with(|s| s.getsockopt(option, buf))
    }

    fn get_int(&self, option: i32) -> Result<i32> {
        let mut b = [0u8; 4];
        self.getsockopt_raw(option, &mut b)?;
        Ok(i32::from_ne_bytes(b))
    }

    fn get_bytes(&self, option: i32, max: usize) -> Result<Vec<u8>> {
        let mut b = vec![0u8; max];
        let n = self.getsockopt_raw(option, &mut b)?;
        b.truncate(n);
        Ok(b)
    }

    fn get_string(&self, option: i32) -> Result<String> {
        let mut b = self.get_bytes(option, 1024)?;
        while b.last() == Some(&0) {
            b.pop();
        }
        Ok(String::from_utf8_lossy(&b).into_owned())
    }

    /// The socket's type.
    pub fn get_socket_type(&self) -> Result<SocketType> {
        SocketType::from_raw(self.get_int(ZMQ_TYPE)?).ok_or(Error::EINVAL)
    }

    /// Whether more frames of the current message are waiting (ZMQ_RCVMORE).
    pub fn get_rcvmore(&self) -> Result<bool> {
        self.get_int(ZMQ_RCVMORE).map(|v| v != 0)
    }

    /// The descriptor that signals socket events (ZMQ_FD).
    pub fn get_fd(&self) -> Result<RawFd> {
        self.get_int(ZMQ_FD)
    }

    /// Pending events: a combination of [`POLLIN`] and [`POLLOUT`] (ZMQ_EVENTS).
    pub fn get_events(&self) -> Result<i16> {
        self.get_int(ZMQ_EVENTS).map(|v| v as i16)
    }

    /// The last endpoint bound or connected (ZMQ_LAST_ENDPOINT).
    pub fn get_last_endpoint(&self) -> Result<String> {
        self.get_string(ZMQ_LAST_ENDPOINT)
    }

    /// The routing id (ZMQ_ROUTING_ID / ZMQ_IDENTITY).
    pub fn get_identity(&self) -> Result<Vec<u8>> {
        self.get_bytes(ZMQ_ROUTING_ID, 255)
    }

    /// Sets the routing id (1 to 255 bytes).
    pub fn set_identity(&self, id: &[u8]) -> Result<()> {
        self.setsockopt_raw(ZMQ_ROUTING_ID, Some(id))
    }

    /// Subscribes to messages starting with `prefix` (SUB).
    pub fn set_subscribe(&self, prefix: &[u8]) -> Result<()> {
        self.setsockopt_raw(ZMQ_SUBSCRIBE, Some(prefix))
    }

    /// Removes a subscription (SUB).
    pub fn set_unsubscribe(&self, prefix: &[u8]) -> Result<()> {
        self.setsockopt_raw(ZMQ_UNSUBSCRIBE, Some(prefix))
    }

    /// The largest message accepted from peers, -1 for no limit.
    pub fn get_maxmsgsize(&self) -> Result<i64> {
        let mut b = [0u8; 8];
        self.getsockopt_raw(ZMQ_MAXMSGSIZE, &mut b)?;
        Ok(i64::from_ne_bytes(b))
    }

    /// Sets the largest message accepted from peers.
    pub fn set_maxmsgsize(&self, value: i64) -> Result<()> {
        self.setsockopt_raw(ZMQ_MAXMSGSIZE, Some(&value.to_ne_bytes()))
    }

    int_options! {
        /// High-water mark for outgoing messages (ZMQ_SNDHWM).
        get_sndhwm, set_sndhwm => ZMQ_SNDHWM;
        /// High-water mark for incoming messages (ZMQ_RCVHWM).
        get_rcvhwm, set_rcvhwm => ZMQ_RCVHWM;
        /// Linger period in milliseconds, -1 forever (ZMQ_LINGER).
        get_linger, set_linger => ZMQ_LINGER;
        /// Receive timeout in milliseconds, -1 forever (ZMQ_RCVTIMEO).
        get_rcvtimeo, set_rcvtimeo => ZMQ_RCVTIMEO;
        /// Send timeout in milliseconds, -1 forever (ZMQ_SNDTIMEO).
        get_sndtimeo, set_sndtimeo => ZMQ_SNDTIMEO;
        /// Reconnect interval in milliseconds (ZMQ_RECONNECT_IVL).
        get_reconnect_ivl, set_reconnect_ivl => ZMQ_RECONNECT_IVL;
        /// Maximum reconnect interval in milliseconds (ZMQ_RECONNECT_IVL_MAX).
        get_reconnect_ivl_max, set_reconnect_ivl_max => ZMQ_RECONNECT_IVL_MAX;
        /// Listen backlog (ZMQ_BACKLOG).
        get_backlog, set_backlog => ZMQ_BACKLOG;
        /// Kernel send buffer size (ZMQ_SNDBUF).
        get_sndbuf, set_sndbuf => ZMQ_SNDBUF;
        /// Kernel receive buffer size (ZMQ_RCVBUF).
        get_rcvbuf, set_rcvbuf => ZMQ_RCVBUF;
        /// Handshake timeout in milliseconds (ZMQ_HANDSHAKE_IVL).
        get_handshake_ivl, set_handshake_ivl => ZMQ_HANDSHAKE_IVL;
        /// Heartbeat interval in milliseconds (ZMQ_HEARTBEAT_IVL).
        get_heartbeat_ivl, set_heartbeat_ivl => ZMQ_HEARTBEAT_IVL;
        /// Heartbeat timeout in milliseconds (ZMQ_HEARTBEAT_TIMEOUT).
        get_heartbeat_timeout, set_heartbeat_timeout => ZMQ_HEARTBEAT_TIMEOUT;
        /// Heartbeat TTL in milliseconds (ZMQ_HEARTBEAT_TTL).
        get_heartbeat_ttl, set_heartbeat_ttl => ZMQ_HEARTBEAT_TTL;
        /// IP type of service (ZMQ_TOS).
        get_tos, set_tos => ZMQ_TOS;
        /// TCP keepalive: -1 system default, 0 off, 1 on (ZMQ_TCP_KEEPALIVE).
        get_tcp_keepalive, set_tcp_keepalive => ZMQ_TCP_KEEPALIVE;
    }

    bool_options! {
        /// Use IPv6 as well as IPv4 (ZMQ_IPV6).
        is_ipv6, set_ipv6 => ZMQ_IPV6;
        /// Queue only to completed connections (ZMQ_IMMEDIATE).
        is_immediate, set_immediate => ZMQ_IMMEDIATE;
        /// Keep only the last message (ZMQ_CONFLATE).
        is_conflate, set_conflate => ZMQ_CONFLATE;
        /// ROUTER: fail on unroutable messages (ZMQ_ROUTER_MANDATORY).
        is_router_mandatory, set_router_mandatory => ZMQ_ROUTER_MANDATORY;
        /// ROUTER: hand a taken routing id over to the new peer (ZMQ_ROUTER_HANDOVER).
        is_router_handover, set_router_handover => ZMQ_ROUTER_HANDOVER;
        /// DEALER/ROUTER: announce ourselves with an empty message (ZMQ_PROBE_ROUTER).
        is_probe_router, set_probe_router => ZMQ_PROBE_ROUTER;
        /// REQ: match replies to requests (ZMQ_REQ_CORRELATE).
        is_req_correlate, set_req_correlate => ZMQ_REQ_CORRELATE;
        /// REQ: allow a new request before the reply (ZMQ_REQ_RELAXED).
        is_req_relaxed, set_req_relaxed => ZMQ_REQ_RELAXED;
    }

    /// Starts monitoring this socket's connection events (`zmq_socket_monitor`):
    /// events in `events` (ZMQ_EVENT_*) are posted in the version-1 format to
    /// a PAIR socket bound to the inproc `endpoint`. `None` stops monitoring.
    pub fn monitor(&self, endpoint: Option<&str>, events: i32) -> Result<()> {
        self.monitor_versioned(endpoint, events as u32 as u64, 1, ZMQ_PAIR)
    }

    /// Monitoring with a format version (1 or 2) and a PAIR, PUB or PUSH
    /// monitor socket (`zmq_socket_monitor_versioned`).
    pub fn monitor_versioned(
        &self,
        endpoint: Option<&str>,
        events: u64,
        version: i32,
        socket_type: i32,
    ) -> Result<()> {
        self.with(|s| s.monitor(endpoint, events, version, socket_type))
    }

    /// Asks every pipe for its queue lengths, reported as
    /// ZMQ_EVENT_PIPES_STATS monitor events (EINVAL unless the monitor
    /// asked for them, EAGAIN without pipes).
    pub fn monitor_pipes_stats(&self) -> Result<()> {
        self.with(|s| s.pipes_stats())
    }

    /// Joins a group (DISH sockets; ENOTSUP otherwise).
    pub fn join(&self, group: &[u8]) -> Result<()> {
        self.with(|s| s.join(group))
    }

    /// Leaves a group (DISH sockets; ENOTSUP otherwise).
    pub fn leave(&self, group: &[u8]) -> Result<()> {
        self.with(|s| s.leave(group))
    }

    /// Whether the peer with this routing id can take a message now:
    /// [`POLLOUT`] or 0 (ROUTER only; EHOSTUNREACH for an unknown peer).
    pub fn peer_state(&self, routing_id: &[u8]) -> Result<i32> {
        self.with(|s| s.peer_state(routing_id))
    }

    /// A poll item for this socket.
    pub fn as_poll_item(&self, events: i16) -> PollItem<'_> {
        PollItem {
            socket: Some(self),
            fd: -1,
            events,
            revents: 0,
        }
    }

    /// Readiness for polling ([`POLLIN`] | [`POLLOUT`]), after processing
    /// pending commands (what ZMQ_EVENTS reports).
    pub fn poll_events(&self) -> Result<i16> {
        self.with(|s| s.poll_events()).map(|e| e as i16)
    }

    /// The descriptor that becomes readable when the socket's state may have
    /// changed (ZMQ_FD), even for thread-safe socket types.
    pub fn raw_fd(&self) -> Result<RawFd> {
        self.with(|s| Ok(s.fd()))
    }

    /// Whether this is one of the thread-safe (draft) socket types.
    pub fn is_thread_safe(&self) -> bool {
        self.with(|s| Ok(crate::socket::is_thread_safe(s.options.socket_type)))
            .unwrap_or(false)
    }
}

/// One entry of a [`poll`] set: a socket or a raw file descriptor.
#[derive(Debug)]
pub struct PollItem<'a> {
    socket: Option<&'a Socket>,
    fd: RawFd,
    events: i16,
    revents: i16,
}

impl<'a> PollItem<'a> {
    /// A poll item for a raw descriptor.
    pub fn from_fd(fd: RawFd, events: i16) -> PollItem<'a> {
        PollItem {
            socket: None,
            fd,
            events,
            revents: 0,
        }
    }

    /// The events that occurred.
    pub fn get_revents(&self) -> i16 {
        self.revents
    }

    /// Whether the item is readable.
    pub fn is_readable(&self) -> bool {
        self.revents & POLLIN != 0
    }

    /// Whether the item is writable.
    pub fn is_writable(&self) -> bool {
        self.revents & POLLOUT != 0
    }

    /// Whether a raw descriptor reported an error.
    pub fn is_error(&self) -> bool {
        self.revents & POLLERR != 0
    }

    /// Changes the events asked for.
    pub fn set_events(&mut self, events: i16) {
        self.events = events;
    }

    /// Whether this item refers to `socket`.
    pub fn has_socket(&self, socket: &Socket) -> bool {
        self.socket.is_some_and(|s| std::ptr::eq(s, socket))
    }
}

/// Waits for events on sockets and descriptors (`zmq_poll`): at most
/// `timeout_ms` milliseconds, -1 forever, 0 not at all. Returns the number
/// of items with events.
pub fn poll(items: &mut [PollItem<'_>], timeout_ms: i64) -> Result<i32> {
    crate::poll::poll(items, timeout_ms)
}

impl<'a> crate::poll::Item for PollItem<'a> {
    fn fd(&self) -> Result<RawFd> {
        match self.socket {
            Some(s) => s.raw_fd(),
            None => Ok(self.fd),
        }
    }
    fn is_socket(&self) -> bool {
        self.socket.is_some()
    }
    fn socket_events(&self) -> Result<i16> {
        match self.socket {
            Some(s) => s.poll_events(),
            None => Ok(0),
        }
    }
    fn events(&self) -> i16 {
        self.events
    }
    fn set_revents(&mut self, r: i16) {
        self.revents = r;
    }
}
