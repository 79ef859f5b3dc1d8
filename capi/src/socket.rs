//! Sockets: creation, options, endpoints, sending and receiving.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr;

use std::sync::Arc;
use std::time::{Duration, Instant};

use zmqrs::util::sync::{EventCount, Mutex};
use zmqrs::{Error, Message, Socket};

use crate::constants::*;
use crate::context::ctx_of;
use crate::handle::{Pool, SOCKET_TAG};
use crate::message::{live, store, zmq_msg_t};
use crate::{fail, rc};

pub(crate) static SOCKETS: Pool<SockHandle> = Pool::new(SOCKET_TAG);

/// What a socket handle holds. Thread-safe socket types (CLIENT, SERVER,
/// ...) may be used from several threads at once: every call then holds
/// the lock of `shared`, and a blocking call waits with the lock released,
/// so that other threads can send or receive meanwhile.
pub(crate) struct SockHandle {
    socket: Socket,
    shared: Option<Shared>,
}

/// What a thread-safe socket's handle adds.
struct Shared {
    /// Held around every use of the socket.
    lock: Mutex<()>,
    /// Notified whenever commands arrive for the socket (by the mailbox,
    /// see zmqrs's mailbox.rs) and after every call that may have changed
    /// what a blocked thread waits for (`SockHandle::run`). Every blocked
    /// thread sleeps on it, so none depends on a wake-up that another
    /// thread may consume (libzmq's condition variable broadcast).
    waiters: Arc<EventCount>,
}

// SAFETY: a handle is shared between threads only for thread-safe socket
// types, and then every access to `socket` happens while holding the lock
// of `shared` (see `locked`), which orders those accesses; other types are
// used by one thread at a time, as libzmq requires of them.
unsafe impl Sync for SockHandle {}

impl SockHandle {
    fn new(socket: Socket) -> SockHandle {
        let shared = match socket.command_waiters() {
            Some(waiters) if socket.is_thread_safe() => Some(Shared {
                lock: Mutex::new(()),
                waiters,
            }),
            _ => None,
        };
        SockHandle { socket, shared }
    }

    /// Runs `f` on the socket, holding the lock of a thread-safe socket.
    #[inline]
    fn locked<T>(&self, f: impl FnOnce(&Socket) -> T) -> T {
        let _g = self.shared.as_ref().map(|sh| sh.lock.lock());
        f(&self.socket)
    }

    /// Runs `f` on the socket, holding the lock of a thread-safe socket;
    /// then wakes the threads blocked on it, if any: `f` may have processed
    /// commands or changed options, peers or endpoints that they wait for
    /// (an inproc connect attaches its pipe without a command, for one).
    pub(crate) fn run<T>(&self, f: impl FnOnce(&Socket) -> T) -> T {
        let r = self.locked(f);
        if let Some(sh) = &self.shared {
            if sh.waiters.has_waiters() {
                sh.waiters.notify();
            }
        }
        r
    }

    /// A blocking (unless `flags` says otherwise) operation. On a
    /// thread-safe socket it is tried without blocking under the lock, and
    /// the wait for progress happens outside the lock, on the socket's
    /// event count: read its key, try, and on EAGAIN sleep until commands
    /// arrived after that key was read. Every blocked thread is woken by
    /// every arrival and looks again, so none sleeps while another thread
    /// has processed the command it waited for.
    fn blocking<T>(
        &self,
        flags: c_int,
        timeo_opt: c_int,
        mut op: impl FnMut(&Socket, c_int) -> Result<T, Error>,
    ) -> Result<T, Error> {
        let Some(sh) = self.shared.as_ref().filter(|_| flags & ZMQ_DONTWAIT == 0) else {
            return self.locked(|s| op(s, flags));
        };
        let flags = flags | ZMQ_DONTWAIT;
        // Known after the first try that could not go ahead: `Some(None)`
        // is no limit.
        let mut deadline: Option<Option<Instant>> = None;
        loop {
            let key = sh.waiters.key();
            let r = self.locked(|s| {
                let r = match op(s, flags) {
                    // A send looks at commands at most once a millisecond
                    // (zmqrs's core/send): the credit it waits for may be
                    // queued but unprocessed.
                    Err(Error::EAGAIN) => match s.process_commands() {
                        Ok(true) => op(s, flags),
                        Ok(false) => Err(Error::EAGAIN),
                        Err(e) => Err(e),
                    },
                    other => other,
                };
                if matches!(r, Err(Error::EAGAIN)) && deadline.is_none() {
                    let mut b = [0u8; 4];
                    let timeo = s
                        .getsockopt_raw(timeo_opt, &mut b)
                        .map(|_| i32::from_ne_bytes(b))
                        .unwrap_or(-1);
                    deadline = Some(
                        (timeo >= 0).then(|| Instant::now() + Duration::from_millis(timeo as u64)),
                    );
                }
                r
            });
            if !matches!(r, Err(Error::EAGAIN)) {
                return r;
            }
            let limit = deadline.flatten();
            if limit.is_some_and(|d| Instant::now() >= d) {
                return Err(Error::EAGAIN);
            }
            sh.waiters.wait(key, limit);
        }
    }

    /// Sends with libzmq's blocking rules; on failure the message comes back.
    #[inline]
    pub(crate) fn send(&self, m: Message, flags: c_int) -> Result<(), (Error, Message)> {
        if self.shared.is_none() {
            // One thread at a time: the core blocks by itself.
            return self.socket.send_msg_or_return(m, flags);
        }
        let mut slot = Some(m);
        let r = self.blocking(flags, ZMQ_SNDTIMEO, |s, f| {
            let Some(m) = slot.take() else {
                return Err(Error::EFAULT);
            };
            match s.send_msg_or_return(m, f) {
                Ok(()) => Ok(()),
                Err((e, back)) => {
                    slot = Some(back);
                    Err(e)
                }
            }
        });
        match r {
            Ok(()) => Ok(()),
            Err(e) => Err((e, slot.unwrap_or_default())),
        }
    }

    /// Receives with libzmq's blocking rules.
    #[inline]
    pub(crate) fn recv(&self, flags: c_int) -> Result<Message, Error> {
        if self.shared.is_none() {
            return self.socket.recv_msg(flags);
        }
        self.blocking(flags, ZMQ_RCVTIMEO, |s, f| s.recv_msg(f))
    }
}

/// The socket behind a handle, or ENOTSOCK (NULL, closed or not a socket
/// at all). This is the check on the path of every send and receive: a
/// few loads and compares (see handle.rs).
///
/// # Safety
/// No thread closes this socket while the result is in use.
#[inline]
pub(crate) unsafe fn sock_of<'a>(s: *mut c_void) -> Option<&'a SockHandle> {
    // SAFETY: forwarded contract: no concurrent release of this handle.
    let sock = unsafe { SOCKETS.get(s) };
    if sock.is_none() {
        crate::set_errno(Error::ENOTSOCK.to_raw());
    }
    sock
}

/// Whether this build refuses the option as a libzmq built without the
/// draft API does (EINVAL, to set and to read): always false with the
/// `draft` feature.
fn refused_draft_option(option: c_int) -> bool {
    !cfg!(feature = "draft") && zmqrs::options::draft_only(option)
}

/// A C string argument as UTF-8 (EINVAL for NULL; invalid UTF-8 is replaced).
unsafe fn str_arg<'a>(p: *const c_char) -> Option<std::borrow::Cow<'a, str>> {
    if p.is_null() {
        return None;
    }
    // SAFETY: the caller passes a NUL-terminated string.
    Some(unsafe { CStr::from_ptr(p) }.to_string_lossy())
}

entry! {
    /// Creates a socket of `type_` in a context.
    fn zmq_socket(context: *mut c_void, type_: c_int) -> *mut c_void {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(ctx) = (unsafe { ctx_of(context) }) else {
            return ptr::null_mut();
        };
        match ctx.socket_raw(type_) {
            Ok(s) => SOCKETS.alloc(SockHandle::new(s)),
            Err(e) => fail(e, ptr::null_mut()),
        }
    }
}

entry! {
    /// Closes a socket; pending messages are sent in the background (ZMQ_LINGER).
    fn zmq_close(s: *mut c_void) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        match unsafe { SOCKETS.release(s) } {
            Some(sock) => {
                drop(sock);
                0
            }
            None => fail(Error::ENOTSOCK, -1),
        }
    }
}

entry! {
    /// Sets a socket option.
    fn zmq_setsockopt(
        s: *mut c_void,
        option: c_int,
        optval: *const c_void,
        optvallen: usize,
    ) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(sock) = (unsafe { sock_of(s) }) else {
            return -1;
        };
        if refused_draft_option(option) {
            return fail(Error::EINVAL, -1);
        }
        // SAFETY: the caller passes optvallen readable bytes at optval.
        let value = unsafe { crate::util::bytes(optval, optvallen) };
        rc(sock.run(|s| s.setsockopt_raw(option, value)))
    }
}

entry! {
    /// Reads a socket option; `*optvallen` is the buffer size in, the value size out.
    fn zmq_getsockopt(
        s: *mut c_void,
        option: c_int,
        optval: *mut c_void,
        optvallen: *mut usize,
    ) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(sock) = (unsafe { sock_of(s) }) else {
            return -1;
        };
        if optvallen.is_null() {
            return fail(Error::EFAULT, -1);
        }
        if refused_draft_option(option) {
            return fail(Error::EINVAL, -1);
        }
        // SAFETY: non-null pointer to the buffer size.
        let len = unsafe { *optvallen };
        // SAFETY: the caller passes len writable bytes at optval.
        let Some(buf) = (unsafe { crate::util::bytes_mut(optval, len) }) else {
            return fail(Error::EFAULT, -1);
        };
        match sock.run(|s| s.getsockopt_raw(option, buf)) {
            Ok(n) => {
                // SAFETY: checked non-null above.
                unsafe { *optvallen = n };
                0
            }
            Err(e) => fail(e, -1),
        }
    }
}

macro_rules! endpoint_fn {
    ($(#[$doc:meta])* $name:ident, $method:ident) => {
        entry! {
            $(#[$doc])*
            fn $name(s: *mut c_void, addr: *const c_char) -> c_int {
                // SAFETY: any pointer; the pool checks it (handle.rs).
                let Some(sock) = (unsafe { sock_of(s) }) else { return -1 };
                // SAFETY: addr is NULL or a NUL-terminated string.
                match unsafe { str_arg(addr) } {
                    Some(a) => rc(sock.run(|s| s.$method(&a))),
                    None => fail(Error::EINVAL, -1),
                }
            }
        }
    };
}

endpoint_fn!(
    /// Accepts connections on an endpoint.
    zmq_bind, bind
);
endpoint_fn!(
    /// Connects to an endpoint.
    zmq_connect, connect
);
endpoint_fn!(
    /// Stops accepting connections on an endpoint.
    zmq_unbind, unbind
);
endpoint_fn!(
    /// Disconnects from an endpoint.
    zmq_disconnect, disconnect
);

/// Clamps a size to the `int` libzmq returns.
fn size_rc(n: usize) -> c_int {
    n.min(c_int::MAX as usize) as c_int
}

fn send_message(sock: &SockHandle, m: Message, flags: c_int) -> c_int {
    let n = m.len();
    match sock.send(m, flags) {
        Ok(()) => size_rc(n),
        Err((e, _)) => fail(e, -1),
    }
}

entry! {
    /// Sends `len` bytes from `buf` as one frame; returns the size.
    fn zmq_send(s: *mut c_void, buf: *const c_void, len: usize, flags: c_int) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(sock) = (unsafe { sock_of(s) }) else {
            return -1;
        };
        if buf.is_null() && len != 0 {
            return fail(Error::EFAULT, -1);
        }
        // SAFETY: the caller passes len readable bytes at buf.
        let data = unsafe { crate::util::bytes(buf, len) }.unwrap_or(&[]);
        send_message(sock, Message::from_slice(data), flags)
    }
}

entry! {
    /// Sends `len` bytes at `buf` without copying; the buffer must stay valid and
    /// unchanged for the life of the library.
    fn zmq_send_const(s: *mut c_void, buf: *const c_void, len: usize, flags: c_int) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(sock) = (unsafe { sock_of(s) }) else {
            return -1;
        };
        if buf.is_null() && len != 0 {
            return fail(Error::EFAULT, -1);
        }
        // SAFETY: zmq_send_const's contract: the buffer is constant and lives
        // as long as any message made from it.
        let m = unsafe { Message::from_raw_parts(buf as *mut u8, len, None) };
        send_message(sock, m, flags)
    }
}

entry! {
    /// Receives one frame into `buf` (truncated to `len`); returns its full size.
    fn zmq_recv(s: *mut c_void, buf: *mut c_void, len: usize, flags: c_int) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(sock) = (unsafe { sock_of(s) }) else {
            return -1;
        };
        match sock.recv(flags) {
            Ok(m) => {
                let n = m.len().min(len);
                if n > 0 {
                    if buf.is_null() {
                        return fail(Error::EFAULT, -1);
                    }
                    // SAFETY: the caller passes len >= n writable bytes at buf.
                    unsafe { ptr::copy_nonoverlapping(m.as_ptr(), buf as *mut u8, n) };
                }
                size_rc(m.len())
            }
            Err(e) => fail(e, -1),
        }
    }
}

entry! {
    /// Sends a message; on success `msg` is left empty, on failure unchanged.
    fn zmq_msg_send(msg: *mut zmq_msg_t, s: *mut c_void, flags: c_int) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(sock) = (unsafe { sock_of(s) }) else {
            return -1;
        };
        // SAFETY: msg is NULL or the caller's zmq_msg_t.
        let Some(m) = (unsafe { crate::message::take(msg) }) else {
            return fail(Error::EFAULT, -1);
        };
        let n = m.len();
        match sock.send(m, flags) {
            Ok(()) => {
                // SAFETY: msg is non-null (take succeeded).
                unsafe { store(msg, Message::new()) };
                size_rc(n)
            }
            Err((e, back)) => {
                // SAFETY: as above; the caller keeps ownership of the message.
                unsafe { store(msg, back) };
                fail(e, -1)
            }
        }
    }
}

entry! {
    /// Receives a frame into `msg` (its old content is released); returns its size.
    fn zmq_msg_recv(msg: *mut zmq_msg_t, s: *mut c_void, flags: c_int) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(sock) = (unsafe { sock_of(s) }) else {
            return -1;
        };
        // SAFETY: msg is NULL or the caller's zmq_msg_t.
        if unsafe { live(msg) }.is_none() {
            return fail(Error::EFAULT, -1);
        }
        match sock.recv(flags) {
            Ok(m) => {
                let n = m.len();
                // SAFETY: msg is live (checked above): release it, store the new one.
                unsafe {
                    drop(crate::message::take(msg));
                    store(msg, m);
                }
                size_rc(n)
            }
            Err(e) => fail(e, -1),
        }
    }
}

entry! {
    /// Deprecated name of zmq_msg_send with the arguments swapped.
    fn zmq_sendmsg(s: *mut c_void, msg: *mut zmq_msg_t, flags: c_int) -> c_int {
        // SAFETY: same contract as zmq_msg_send.
        unsafe { zmq_msg_send(msg, s, flags) }
    }
}

entry! {
    /// Deprecated name of zmq_msg_recv with the arguments swapped.
    fn zmq_recvmsg(s: *mut c_void, msg: *mut zmq_msg_t, flags: c_int) -> c_int {
        // SAFETY: same contract as zmq_msg_recv.
        unsafe { zmq_msg_recv(msg, s, flags) }
    }
}

entry! {
    /// Sends `count` buffers as one multi-part message.
    fn zmq_sendiov(s: *mut c_void, iov: *mut libc::iovec, count: usize, flags: c_int) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(sock) = (unsafe { sock_of(s) }) else {
            return -1;
        };
        if count == 0 || iov.is_null() {
            return fail(Error::EINVAL, -1);
        }
        // SAFETY: the caller passes count iovecs.
        let parts = unsafe { std::slice::from_raw_parts(iov, count) };
        let mut result = 0;
        for (i, part) in parts.iter().enumerate() {
            // SAFETY: each iovec describes iov_len readable bytes.
            let data = unsafe { crate::util::bytes(part.iov_base, part.iov_len) }.unwrap_or(&[]);
            let f = if i == count - 1 {
                flags & !ZMQ_SNDMORE
            } else {
                flags
            };
            result = send_message(sock, Message::from_slice(data), f);
            if result < 0 {
                return -1;
            }
        }
        result
    }
}

entry! {
    /// Receives up to `*count` frames of a message into malloc'ed buffers.
    fn zmq_recviov(
        s: *mut c_void,
        iov: *mut libc::iovec,
        count: *mut usize,
        flags: c_int,
    ) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(sock) = (unsafe { sock_of(s) }) else {
            return -1;
        };
        // SAFETY: count is checked for NULL before the read.
        if count.is_null() || unsafe { *count } == 0 || iov.is_null() {
            return fail(Error::EINVAL, -1);
        }
        // SAFETY: non-null.
        let max = unsafe { *count };
        // SAFETY: the caller passes *count iovecs.
        let slots = unsafe { std::slice::from_raw_parts_mut(iov, max) };
        // SAFETY: non-null.
        unsafe { *count = 0 };
        let mut nread = 0;
        let mut more = true;
        for slot in slots.iter_mut() {
            if !more {
                break;
            }
            let m = match sock.recv(flags) {
                Ok(m) => m,
                Err(e) => return fail(e, -1),
            };
            // SAFETY: plain malloc; freed by the caller, as libzmq documents.
            let p = unsafe { libc::malloc(m.len().max(1)) } as *mut u8;
            if p.is_null() {
                return fail(Error::ENOMEM, -1);
            }
            // SAFETY: p has room for m.len() bytes.
            unsafe { ptr::copy_nonoverlapping(m.as_ptr(), p, m.len()) };
            slot.iov_base = p as *mut c_void;
            slot.iov_len = m.len();
            more = m.more();
            // SAFETY: non-null.
            unsafe { *count += 1 };
            nread += 1;
        }
        nread
    }
}

entry! {
    /// Reports this socket's connection events to a PAIR socket bound at the
    /// inproc endpoint `addr` (NULL stops monitoring).
    fn zmq_socket_monitor(s: *mut c_void, addr: *const c_char, events: c_int) -> c_int {
        // SAFETY: forwarded contract.
        unsafe { monitor(s, addr, events as u32 as u64, 1, ZMQ_PAIR) }
    }
}

/// zmq_socket_monitor and its draft variant: `s` is any pointer (the pool
/// checks it), `addr` NULL or a NUL-terminated string.
unsafe fn monitor(
    s: *mut c_void,
    addr: *const c_char,
    events: u64,
    event_version: c_int,
    type_: c_int,
) -> c_int {
    // SAFETY: any pointer; the pool checks it (handle.rs).
    let Some(sock) = (unsafe { sock_of(s) }) else {
        return -1;
    };
    // SAFETY: addr is NULL or a NUL-terminated string.
    let a = unsafe { str_arg(addr) };
    rc(sock.run(|s| s.monitor_versioned(a.as_deref(), events, event_version, type_)))
}

entry! {
    /// Monitoring with an event format version (1 or 2) and a PAIR, PUB or
    /// PUSH monitor socket (DRAFT).
    #[cfg(feature = "draft")]
    fn zmq_socket_monitor_versioned(
        s: *mut c_void,
        addr: *const c_char,
        events: u64,
        event_version: c_int,
        type_: c_int,
    ) -> c_int {
        // SAFETY: forwarded contract.
        unsafe { monitor(s, addr, events, event_version, type_) }
    }
}

entry! {
    /// Asks every pipe for a ZMQ_EVENT_PIPES_STATS monitor event (DRAFT):
    /// EINVAL unless the monitor asked for those events, EAGAIN without pipes.
    #[cfg(feature = "draft")]
    fn zmq_socket_monitor_pipes_stats(s: *mut c_void) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(sock) = (unsafe { sock_of(s) }) else {
            return -1;
        };
        rc(sock.run(|s| s.monitor_pipes_stats()))
    }
}

#[cfg(feature = "draft")]
unsafe fn group_fn(s: *mut c_void, group: *const c_char, join: bool) -> c_int {
    // SAFETY: any pointer; the pool checks it (handle.rs).
    let Some(sock) = (unsafe { sock_of(s) }) else {
        return -1;
    };
    if group.is_null() {
        return fail(Error::EINVAL, -1);
    }
    // SAFETY: group is a NUL-terminated string.
    let g = unsafe { CStr::from_ptr(group) }.to_bytes();
    rc(sock.run(|s| if join { s.join(g) } else { s.leave(g) }))
}

entry! {
    /// Joins a group (DISH sockets, DRAFT).
    #[cfg(feature = "draft")]
    fn zmq_join(s: *mut c_void, group: *const c_char) -> c_int {
        // SAFETY: forwarded contract.
        unsafe { group_fn(s, group, true) }
    }
}

entry! {
    /// Leaves a group (DISH sockets, DRAFT).
    #[cfg(feature = "draft")]
    fn zmq_leave(s: *mut c_void, group: *const c_char) -> c_int {
        // SAFETY: forwarded contract.
        unsafe { group_fn(s, group, false) }
    }
}

entry! {
    /// Connects a PEER socket and returns the routing id of the new peer, 0 on
    /// error (DRAFT; ENOTSUP for other socket types).
    #[cfg(feature = "draft")]
    fn zmq_connect_peer(s: *mut c_void, addr: *const c_char) -> u32 {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(sock) = (unsafe { sock_of(s) }) else {
            return 0;
        };
        // SAFETY: addr is NULL or a NUL-terminated string.
        let Some(a) = (unsafe { str_arg(addr) }) else {
            return fail(Error::EINVAL, 0);
        };
        match sock.run(|s| s.connect_peer(&a)) {
            Ok(id) => id,
            Err(e) => fail(e, 0),
        }
    }
}

entry! {
    /// Disconnects the peer with this routing id from a SERVER or PEER socket
    /// (DRAFT, from libzmq after 4.3.5); -1 with EHOSTUNREACH for an unknown
    /// id, ENOTSUP for other socket types.
    #[cfg(feature = "draft")]
    fn zmq_disconnect_peer(s: *mut c_void, routing_id: u32) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(sock) = (unsafe { sock_of(s) }) else {
            return -1;
        };
        rc(sock.run(|s| s.disconnect_peer(routing_id)))
    }
}

entry! {
    /// ZMQ_POLLOUT if the ROUTER peer with this routing id can take a message,
    /// else 0; -1 with EHOSTUNREACH for an unknown peer (DRAFT).
    #[cfg(feature = "draft")]
    fn zmq_socket_get_peer_state(
        s: *mut c_void,
        routing_id: *const c_void,
        routing_id_size: usize,
    ) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(sock) = (unsafe { sock_of(s) }) else {
            return -1;
        };
        // SAFETY: the caller passes routing_id_size bytes at routing_id.
        let id = unsafe { crate::util::bytes(routing_id, routing_id_size) }.unwrap_or(&[]);
        sock.run(|s| s.peer_state(id))
            .unwrap_or_else(|e| fail(e, -1))
    }
}

entry! {
    /// Forwards messages between two sockets until the context terminates.
    fn zmq_proxy(frontend: *mut c_void, backend: *mut c_void, capture: *mut c_void) -> c_int {
        // SAFETY: same contract as zmq_proxy_steerable.
        unsafe { zmq_proxy_steerable(frontend, backend, capture, ptr::null_mut()) }
    }
}

entry! {
    /// zmq_proxy with a control socket taking PAUSE, RESUME, TERMINATE and STATISTICS.
    fn zmq_proxy_steerable(
        frontend: *mut c_void,
        backend: *mut c_void,
        capture: *mut c_void,
        control: *mut c_void,
    ) -> c_int {
        // SAFETY: any pointers; the pool checks them (handle.rs).
        let (Some(f), Some(b)) = (unsafe { sock_of(frontend) }, unsafe { sock_of(backend) }) else {
            return fail(Error::EFAULT, -1);
        };
        let optional = |p: *mut c_void| -> Result<Option<&SockHandle>, ()> {
            if p.is_null() {
                return Ok(None);
            }
            // SAFETY: any pointer; the pool checks it (handle.rs).
            unsafe { sock_of(p) }.map(Some).ok_or(())
        };
        let (Ok(cap), Ok(ctl)) = (optional(capture), optional(control)) else {
            return -1;
        };
        // The proxy owns these sockets while it runs (as in libzmq, nobody
        // else may use them meanwhile), so it works on them directly.
        rc(zmqrs::proxy_with(
            &f.socket,
            &b.socket,
            cap.map(|c| &c.socket),
            ctl.map(|c| &c.socket),
        ))
    }
}

entry! {
    /// Deprecated: zmq_proxy without capture.
    fn zmq_device(_type_: c_int, frontend: *mut c_void, backend: *mut c_void) -> c_int {
        // SAFETY: same contract as zmq_proxy.
        unsafe { zmq_proxy(frontend, backend, ptr::null_mut()) }
    }
}
