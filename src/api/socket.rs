//! [`Socket`]: endpoints, sending and receiving, monitoring, polling.
//! The typed option accessors are in `sockopt.rs`.

use std::cell::RefCell;
use std::ffi::c_void;
use std::os::fd::{AsRawFd, RawFd};

use crate::constants::*;
use crate::error::{Error, Result};
use crate::msg::Message;
use crate::socket::SocketCore;

use super::{Context, PollEvents, PollItem, SNDMORE};

/// A 0MQ socket.
///
/// Closed when dropped (or with [`Socket::close`]); closing never blocks:
/// pending outgoing messages are delivered in the background within
/// ZMQ_LINGER.
///
/// Its methods take `&self`, as in the `zmq` crate, so that poll items and
/// several uses can coexist on one thread. A socket is `Send`: it can move
/// to another thread,
///
/// ```
/// fn is_send<T: Send>() {}
/// is_send::<zmqrs::Socket>();
/// ```
///
/// but not `Sync`: two threads can never use it at once (libzmq's rule for
/// all but the draft thread-safe types, enforced by the compiler here).
///
/// ```compile_fail,E0277
/// fn is_sync<T: Sync>() {}
/// is_sync::<zmqrs::Socket>();
/// ```
///
/// Request-reply over inproc:
///
/// ```
/// let ctx = zmqrs::Context::new();
/// let server = ctx.socket(zmqrs::REP).unwrap();
/// server.bind("inproc://socket-doc").unwrap();
/// let client = ctx.socket(zmqrs::REQ).unwrap();
/// client.connect("inproc://socket-doc").unwrap();
/// client.send("Hello", 0).unwrap();
/// assert_eq!(server.recv_string(0).unwrap().unwrap(), "Hello");
/// server.send("World", 0).unwrap();
/// assert_eq!(client.recv_bytes(0).unwrap(), b"World");
/// ```
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

impl AsRawFd for Socket {
    /// The descriptor of [`Socket::get_fd`]; -1 if it cannot be had (the
    /// `zmq` crate panics there).
    fn as_raw_fd(&self) -> RawFd {
        self.get_fd().unwrap_or(-1)
    }
}

/// What [`Socket::send`] accepts: anything that converts into a
/// [`Message`] (`&str`, `String`, `&[u8]`, `Vec<u8>`, `&[u8; N]`,
/// `Box<[u8]>`, references to those, and `Message` itself).
///
/// A type can implement it directly where it can be sent better than by
/// converting it into a message first.
pub trait Sendable {
    /// Sends `self` as one frame on `socket`.
    fn send(self, socket: &Socket, flags: i32) -> Result<()>;
}

impl<T> Sendable for T
where
    T: Into<Message>,
{
    fn send(self, socket: &Socket, flags: i32) -> Result<()> {
        socket
            .send_msg_or_return(self.into(), flags)
            .map_err(|(e, _)| e)
    }
}

impl Socket {
    pub(super) fn new(core: SocketCore, ctx: Context) -> Socket {
        Socket {
            core: RefCell::new(Some(Box::new(core))),
            ctx,
        }
    }

    pub(super) fn with<T>(&self, f: impl FnOnce(&mut SocketCore) -> Result<T>) -> Result<T> {
        // A borrow is only ever held for the length of one core call, which
        // never calls back into this Socket; EFAULT is a defensive answer.
        let mut guard = self.core.try_borrow_mut().map_err(|_| Error::EFAULT)?;
        match guard.as_mut() {
            Some(core) => f(core),
            None => Err(Error::ENOTSOCK),
        }
    }

    /// Closes the socket now (`zmq_close`); the same as dropping it.
    pub fn close(self) -> Result<()> {
        drop(self);
        Ok(())
    }

    /// The context this socket belongs to.
    pub fn context(&self) -> &Context {
        &self.ctx
    }

    /// Gives up ownership of the socket as an opaque pointer.
    ///
    /// There is no libzmq handle behind a socket here, so the pointer is
    /// this crate's own: the boxed `Socket` (with its reference to the
    /// context, which therefore stays alive). It is meaningful only to
    /// [`Socket::from_raw`], which must be called exactly once to close the
    /// socket again; otherwise the socket and its context leak. It is NOT a
    /// `void *` for libzmq's C functions (`zmq-sys`).
    ///
    /// ```
    /// let ctx = zmqrs::Context::new();
    /// let raw = ctx.socket(zmqrs::PUSH).unwrap().into_raw();
    /// // SAFETY: `raw` came from into_raw and is used once.
    /// let socket = unsafe { zmqrs::Socket::from_raw(raw) };
    /// assert_eq!(socket.get_socket_type().unwrap(), zmqrs::PUSH);
    /// ```
    pub fn into_raw(self) -> *mut c_void {
        Box::into_raw(Box::new(self)).cast::<c_void>()
    }

    /// Takes back ownership of a socket given up with [`Socket::into_raw`].
    ///
    /// # Safety
    /// `sock` must come from [`Socket::into_raw`] and not have been passed
    /// to `from_raw` before. (Unlike the `zmq` crate, the socket keeps its
    /// context, and so the context is not terminated before it.)
    pub unsafe fn from_raw(sock: *mut c_void) -> Socket {
        // SAFETY: the caller guarantees that `sock` is the pointer of a
        // `Box<Socket>` leaked by into_raw, reclaimed here exactly once.
        unsafe { *Box::from_raw(sock.cast::<Socket>()) }
    }

    /// An opaque pointer that identifies this socket while it is neither
    /// moved nor dropped: the address of the `Socket` itself. It is no
    /// libzmq handle and not a pointer for [`Socket::from_raw`]; it is good
    /// for telling sockets apart or for passing `&mut Socket` through a
    /// `void *` of the caller's own.
    pub fn as_mut_ptr(&mut self) -> *mut c_void {
        (self as *mut Socket).cast::<c_void>()
    }

    /// Accepts connections on an endpoint (`zmq_bind`): `tcp://host:port`
    /// (`*` for any interface or a free port), `ipc://path`, `inproc://name`,
    /// `udp://` (RADIO/DISH/DGRAM).
    pub fn bind(&self, endpoint: &str) -> Result<()> {
        self.with(|s| s.bind(endpoint))
    }

    /// Stops accepting connections on an endpoint (`zmq_unbind`).
    pub fn unbind(&self, endpoint: &str) -> Result<()> {
        self.with(|s| s.term_endpoint(endpoint))
    }

    /// Connects to an endpoint (`zmq_connect`); the connection is made, and
    /// remade after failures, in the background.
    pub fn connect(&self, endpoint: &str) -> Result<()> {
        self.with(|s| s.connect(endpoint))
    }

    /// Disconnects from an endpoint (`zmq_disconnect`).
    pub fn disconnect(&self, endpoint: &str) -> Result<()> {
        self.with(|s| s.term_endpoint(endpoint))
    }

    /// Connects a PEER socket and returns the routing id of the new peer, to
    /// address it with [`Message::set_routing_id`] (`zmq_connect_peer`).
    pub fn connect_peer(&self, endpoint: &str) -> Result<u32> {
        self.with(|s| s.connect_peer(endpoint))
    }

    /// Reports this socket's connection events (`zmq_socket_monitor`): the
    /// events in the mask `events` (see [`SocketEvent`](crate::SocketEvent))
    /// are sent to a PAIR socket bound to the inproc endpoint
    /// `monitor_endpoint`, for the caller to connect a PAIR socket to.
    ///
    /// ```
    /// let ctx = zmqrs::Context::new();
    /// let server = ctx.socket(zmqrs::REP).unwrap();
    /// server.monitor("inproc://monitor-doc", zmqrs::SocketEvent::ALL as i32).unwrap();
    /// let monitor = ctx.socket(zmqrs::PAIR).unwrap();
    /// monitor.connect("inproc://monitor-doc").unwrap();
    /// server.bind("tcp://127.0.0.1:*").unwrap();
    /// let event = monitor.recv_msg(0).unwrap();
    /// let number = u16::from_ne_bytes([event[0], event[1]]);
    /// assert_eq!(zmqrs::SocketEvent::from_raw(number), zmqrs::SocketEvent::LISTENING);
    /// let endpoint = monitor.recv_string(0).unwrap().unwrap();
    /// assert!(endpoint.starts_with("tcp://127.0.0.1:"));
    /// ```
    pub fn monitor(&self, monitor_endpoint: &str, events: i32) -> Result<()> {
        self.monitor_versioned(Some(monitor_endpoint), events as u32 as u64, 1, ZMQ_PAIR)
    }

    /// Stops monitoring (`zmq_socket_monitor` with a NULL endpoint).
    pub fn stop_monitor(&self) -> Result<()> {
        self.monitor_versioned(None, 0, 1, ZMQ_PAIR)
    }

    /// Monitoring with an event format version (1 or 2) and a PAIR, PUB or
    /// PUSH monitor socket; `None` stops it (`zmq_socket_monitor_versioned`).
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

    /// Sends one frame; `flags` combines [`DONTWAIT`](crate::DONTWAIT) and
    /// [`SNDMORE`]. `data` is anything [`Sendable`]: a [`Message`], `&str`,
    /// `&[u8]`, `Vec<u8>`, `&String`... Blocks (up to ZMQ_SNDTIMEO) while
    /// the message cannot be queued, unless DONTWAIT asks for EAGAIN.
    pub fn send<T>(&self, data: T, flags: i32) -> Result<()>
    where
        T: Sendable,
    {
        data.send(self, flags)
    }

    /// Sends a message (the `zmq` crate's older name for [`Socket::send`]).
    #[deprecated(since = "0.1.0", note = "use `send`")]
    pub fn send_msg(&self, msg: Message, flags: i32) -> Result<()> {
        self.send(msg, flags)
    }

    /// Sends a string (the `zmq` crate's older name for [`Socket::send`]).
    #[deprecated(since = "0.1.0", note = "use `send`")]
    pub fn send_str(&self, data: &str, flags: i32) -> Result<()> {
        self.send(data, flags)
    }

    /// Sends a message; on failure the message is handed back with the
    /// error, so that nothing is lost on EAGAIN.
    ///
    /// ```
    /// let ctx = zmqrs::Context::new();
    /// let push = ctx.socket(zmqrs::PUSH).unwrap();
    /// let msg = zmqrs::Message::from("kept");
    /// let (err, back) = push.send_msg_or_return(msg, zmqrs::DONTWAIT).unwrap_err();
    /// assert_eq!(err, zmqrs::Error::EAGAIN);
    /// assert_eq!(back.as_str(), Some("kept"));
    /// ```
    pub fn send_msg_or_return(
        &self,
        msg: Message,
        flags: i32,
    ) -> std::result::Result<(), (Error, Message)> {
        let mut guard = match self.core.try_borrow_mut() {
            Ok(g) => g,
            Err(_) => return Err((Error::EFAULT, msg)),
        };
        match guard.as_mut() {
            Some(core) => core.send(msg, flags),
            None => Err((Error::ENOTSOCK, msg)),
        }
    }

    /// Sends the parts as one multi-part message: [`SNDMORE`] is added to
    /// `flags` for all but the last part.
    ///
    /// ```
    /// # let ctx = zmqrs::Context::new();
    /// # let a = ctx.socket(zmqrs::PAIR).unwrap();
    /// # let b = ctx.socket(zmqrs::PAIR).unwrap();
    /// # a.bind("inproc://multipart-doc").unwrap();
    /// # b.connect("inproc://multipart-doc").unwrap();
    /// a.send_multipart(&["key", "value"], 0).unwrap();
    /// assert_eq!(b.recv_multipart(0).unwrap(), vec![b"key".to_vec(), b"value".to_vec()]);
    /// ```
    pub fn send_multipart<I, T>(&self, iter: I, flags: i32) -> Result<()>
    where
        I: IntoIterator<Item = T>,
        T: Into<Message>,
    {
        let mut parts = iter.into_iter().peekable();
        while let Some(part) = parts.next() {
            let more = if parts.peek().is_some() { SNDMORE } else { 0 };
            self.send(part.into(), flags | more)?;
        }
        Ok(())
    }

    /// Receives one frame into `msg`, replacing its contents.
    pub fn recv(&self, msg: &mut Message, flags: i32) -> Result<()> {
        *msg = self.recv_msg(flags)?;
        Ok(())
    }

    /// Receives one frame into `bytes`; returns the frame's full size,
    /// which is larger than `bytes` if it was truncated (as `zmq_recv`).
    pub fn recv_into(&self, bytes: &mut [u8], flags: i32) -> Result<usize> {
        let m = self.recv_msg(flags)?;
        let n = m.len().min(bytes.len());
        bytes[..n].copy_from_slice(&m[..n]);
        Ok(m.len())
    }

    /// Receives one frame as a new [`Message`]. Blocks (up to ZMQ_RCVTIMEO)
    /// unless DONTWAIT asks for EAGAIN.
    pub fn recv_msg(&self, flags: i32) -> Result<Message> {
        self.with(|s| s.recv(flags))
    }

    /// Receives one frame as bytes.
    pub fn recv_bytes(&self, flags: i32) -> Result<Vec<u8>> {
        self.recv_msg(flags).map(|m| m.to_vec())
    }

    /// Receives one frame as a `String`; the inner `Err` holds the bytes of
    /// a frame that is not UTF-8.
    pub fn recv_string(&self, flags: i32) -> Result<std::result::Result<String, Vec<u8>>> {
        self.recv_bytes(flags)
            .map(|b| String::from_utf8(b).map_err(|e| e.into_bytes()))
    }

    /// Receives every frame of a multi-part message.
    pub fn recv_multipart(&self, flags: i32) -> Result<Vec<Vec<u8>>> {
        let mut parts = vec![self.recv_bytes(flags)?];
        while self.get_rcvmore()? {
            parts.push(self.recv_bytes(flags)?);
        }
        Ok(parts)
    }

    /// A poll item for this socket, for [`poll`](crate::poll()).
    pub fn as_poll_item(&self, events: PollEvents) -> PollItem<'_> {
        PollItem::for_socket(self, events)
    }

    /// Polls this socket alone: waits up to `timeout_ms` milliseconds (-1:
    /// no limit) for one of `events`; returns 1 if one occurred, else 0.
    pub fn poll(&self, events: PollEvents, timeout_ms: i64) -> Result<i32> {
        super::poll(&mut [self.as_poll_item(events)], timeout_ms)
    }

    /// Sets an option from raw bytes as `zmq_setsockopt` does (`None`: a
    /// NULL value).
    pub fn setsockopt_raw(&self, option: i32, value: Option<&[u8]>) -> Result<()> {
        self.with(|s| s.setsockopt(option, value))
    }

    /// Reads an option into `buf` as `zmq_getsockopt` does; returns the
    /// value's length (EINVAL if `buf` is too small for it).
    pub fn getsockopt_raw(&self, option: i32, buf: &mut [u8]) -> Result<usize> {
        self.with(|s| s.getsockopt(option, buf))
    }

    /// Joins a group (DISH sockets; ENOTSUP otherwise).
    pub fn join(&self, group: &[u8]) -> Result<()> {
        self.with(|s| s.join(group))
    }

    /// Leaves a group (DISH sockets; ENOTSUP otherwise).
    pub fn leave(&self, group: &[u8]) -> Result<()> {
        self.with(|s| s.leave(group))
    }

    /// Disconnects the peer with this routing id from a SERVER or PEER
    /// socket (`zmq_disconnect_peer`, added to libzmq after 4.3.5):
    /// EHOSTUNREACH for an unknown id, ENOTSUP for other socket types.
    pub fn disconnect_peer(&self, routing_id: u32) -> Result<()> {
        self.with(|s| s.disconnect_peer(routing_id))
    }

    /// Whether the ROUTER peer with this routing id can take a message
    /// now: `ZMQ_POLLOUT` or 0 (EHOSTUNREACH for an unknown peer).
    pub fn peer_state(&self, routing_id: &[u8]) -> Result<i32> {
        self.with(|s| s.peer_state(routing_id))
    }

    /// Readiness as raw `ZMQ_POLLIN | ZMQ_POLLOUT` bits, after processing
    /// pending commands (what ZMQ_EVENTS reports).
    pub fn poll_events(&self) -> Result<i16> {
        self.with(|s| s.poll_events()).map(|e| e as i16)
    }

    /// The descriptor that becomes readable when the socket's state may have
    /// changed (ZMQ_FD), also for the thread-safe socket types.
    pub fn raw_fd(&self) -> Result<RawFd> {
        self.with(|s| Ok(s.fd()))
    }

    /// Processes the commands that other threads queued for this socket
    /// (pipe activations, new peers, the context's termination) without
    /// waiting; returns whether there were any. ETERM once the context is
    /// terminating.
    ///
    /// Blocking calls do this themselves; it is for a caller that waits on
    /// its own, as the C API does for the thread-safe types.
    pub fn process_commands(&self) -> Result<bool> {
        self.with(|s| s.process_pending())
    }

    /// For the thread-safe (draft) socket types: the event count that is
    /// notified whenever commands arrive for this socket, so that several
    /// threads can wait for them at once without one thread consuming the
    /// others' wake-up. Read its key, try the operation with
    /// [`DONTWAIT`](crate::DONTWAIT) (after [`Socket::process_commands`]),
    /// and on EAGAIN wait with that key. `None` for the other types.
    pub fn command_waiters(&self) -> Option<std::sync::Arc<crate::util::sync::EventCount>> {
        self.with(|s| Ok(s.waiters().cloned())).ok().flatten()
    }

    /// Whether this is one of the thread-safe (draft) socket types.
    pub fn is_thread_safe(&self) -> bool {
        self.with(|s| Ok(crate::socket::is_thread_safe(s.options.socket_type)))
            .unwrap_or(false)
    }
}
