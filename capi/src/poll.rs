//! Polling: `zmq_poll`, `zmq_ppoll` and the draft `zmq_poller_*` API.

use std::ffi::{c_int, c_long, c_short, c_void};
#[cfg(feature = "draft")]
use std::ptr;

#[cfg(feature = "draft")]
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use zmqrs::Error;

#[cfg(feature = "draft")]
use zmqrs::util::sync::{Mutex, MutexGuard};

use crate::fail;
#[cfg(feature = "draft")]
use crate::handle::{Pool, POLLER_TAG};
use crate::socket::{sock_of, SockHandle};

/// A file descriptor as zmq.h names it.
pub type zmq_fd_t = c_int;

/// One item of a `zmq_poll` set: a socket, or (when `socket` is NULL) a descriptor.
#[repr(C)]
pub struct zmq_pollitem_t {
    pub socket: *mut c_void,
    pub fd: zmq_fd_t,
    pub events: c_short,
    pub revents: c_short,
}

/// An event reported by `zmq_poller_wait` (DRAFT).
#[cfg(feature = "draft")]
#[repr(C)]
pub struct zmq_poller_event_t {
    pub socket: *mut c_void,
    pub fd: zmq_fd_t,
    pub user_data: *mut c_void,
    pub events: c_short,
}

/// One item being polled: a socket handle (locked around each look at a
/// thread-safe socket) or a raw descriptor.
struct Item<'a> {
    socket: Option<&'a SockHandle>,
    fd: zmq_fd_t,
    events: c_short,
    revents: c_short,
}

impl zmqrs::poll::Item for Item<'_> {
    fn fd(&self) -> zmqrs::Result<zmq_fd_t> {
        match self.socket {
            Some(h) => h.run(|s| s.raw_fd()),
            None => Ok(self.fd),
        }
    }
    fn is_socket(&self) -> bool {
        self.socket.is_some()
    }
    fn socket_events(&self) -> zmqrs::Result<c_short> {
        match self.socket {
            Some(h) => h.run(|s| s.poll_events()),
            None => Ok(0),
        }
    }
    fn events(&self) -> c_short {
        self.events
    }
    fn set_revents(&mut self, r: c_short) {
        self.revents = r;
    }
}

/// Builds poll items for C items; ENOTSOCK for a bad socket handle.
///
/// # Safety
/// No thread closes one of these sockets while the items are in use.
unsafe fn to_items<'a>(items: &[zmq_pollitem_t]) -> Option<Vec<Item<'a>>> {
    let mut out = Vec::with_capacity(items.len());
    for it in items {
        let socket = if it.socket.is_null() {
            None
        } else {
            // SAFETY: any pointer; the pool checks it (handle.rs).
            Some(unsafe { sock_of(it.socket) }?)
        };
        out.push(Item {
            socket,
            fd: it.fd,
            events: it.events,
            revents: 0,
        });
    }
    Some(out)
}

entry! {
    /// Waits for events on sockets and descriptors; returns how many items have
    /// events (0 on timeout), -1 with errno on error.
    fn zmq_poll(items: *mut zmq_pollitem_t, nitems: c_int, timeout: c_long) -> c_int {
        if nitems < 0 {
            return fail(Error::EINVAL, -1);
        }
        if nitems > 0 && items.is_null() {
            return fail(Error::EFAULT, -1);
        }
        let slice: &mut [zmq_pollitem_t] = if nitems == 0 {
            &mut []
        } else {
            // SAFETY: the caller passes nitems items at items.
            unsafe { std::slice::from_raw_parts_mut(items, nitems as usize) }
        };
        // Zeroed first, as libzmq does: a caller that looks at revents
        // after an error (EINTR above all) must not see an earlier call's.
        for item in slice.iter_mut() {
            item.revents = 0;
        }
        // SAFETY: socket fields are any pointers; the pool checks them.
        let Some(mut polled) = (unsafe { to_items(slice) }) else {
            return -1;
        };
        match zmqrs::poll::poll(&mut polled, timeout) {
            Ok(n) => {
                for (c, p) in slice.iter_mut().zip(polled.iter()) {
                    c.revents = p.revents;
                }
                n
            }
            Err(e) => fail(e, -1),
        }
    }
}

entry! {
    /// zmq_poll with a signal mask applied while waiting (DRAFT). The mask is
    /// swapped in around the wait; a signal that arrives just before the wait
    /// starts is seen at the next one.
    #[cfg(feature = "draft")]
    fn zmq_ppoll(
        items: *mut zmq_pollitem_t,
        nitems: c_int,
        timeout: c_long,
        sigmask: *const libc::sigset_t,
    ) -> c_int {
        if sigmask.is_null() {
            // SAFETY: same contract as zmq_poll.
            return unsafe { zmq_poll(items, nitems, timeout) };
        }
        // SAFETY: an uninitialised sigset_t is filled by pthread_sigmask.
        let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
        // SAFETY: sigmask points to the caller's sigset_t; old is ours.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, sigmask, &mut old) };
        // SAFETY: same contract as zmq_poll.
        let rc = unsafe { zmq_poll(items, nitems, timeout) };
        let saved = zmqrs_errno();
        // SAFETY: restores the mask saved above.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, ptr::null_mut()) };
        crate::set_errno(saved);
        rc
    }
}

#[cfg(feature = "draft")]
fn zmqrs_errno() -> c_int {
    // SAFETY: __errno_location returns the calling thread's errno slot.
    unsafe { *libc::__errno_location() }
}

// ---- zmq_poller (DRAFT) ---------------------------------------------------

/// The pollers, each behind a lock: a poller is meant for one thread, but
/// two threads that share one anyway must not be able to corrupt it.
#[cfg(feature = "draft")]
pub(crate) static POLLERS: Pool<Mutex<Poller>> = Pool::new(POLLER_TAG);

/// One registered socket (a socket handle, checked through the pool at
/// each use) or descriptor (`socket` NULL).
#[cfg(feature = "draft")]
#[derive(Clone, Copy)]
struct Entry {
    socket: *mut c_void,
    fd: zmq_fd_t,
    user_data: *mut c_void,
    events: c_short,
}

/// What a poller handle holds.
#[cfg(feature = "draft")]
pub(crate) struct Poller {
    entries: Vec<Entry>,
    /// An epoll descriptor over the sockets' signals, made on demand for
    /// zmq_poller_fd.
    epoll: Option<OwnedFd>,
}

// SAFETY: the raw pointers of the entries are values the caller registered:
// socket handles, only ever used after a check through the socket pool, and
// user data, never dereferenced, only handed back. Neither ties the poller
// to a thread.
#[cfg(feature = "draft")]
unsafe impl Send for Poller {}

/// The poller behind a handle, locked, or EFAULT (NULL, destroyed or not a
/// poller at all).
///
/// # Safety
/// No thread destroys this poller while the result is in use.
#[cfg(feature = "draft")]
unsafe fn poller_of<'a>(p: *mut c_void) -> Option<MutexGuard<'a, Poller>> {
    // SAFETY: forwarded contract: no concurrent release of this handle.
    match unsafe { POLLERS.get(p) } {
        Some(m) => Some(m.lock()),
        None => {
            crate::set_errno(Error::EFAULT.to_raw());
            None
        }
    }
}

#[cfg(feature = "draft")]
fn check_events(events: c_short) -> bool {
    let all = (zmqrs::POLLIN | zmqrs::POLLOUT | zmqrs::POLLERR | zmqrs::POLLPRI).bits();
    events & !all == 0
}

entry! {
    /// A new poller (DRAFT).
    #[cfg(feature = "draft")]
    fn zmq_poller_new() -> *mut c_void {
        POLLERS.alloc(Mutex::new(Poller {
            entries: Vec::new(),
            epoll: None,
        }))
    }
}

entry! {
    /// Frees a poller and sets `*poller_p` to NULL (DRAFT).
    #[cfg(feature = "draft")]
    fn zmq_poller_destroy(poller_p: *mut *mut c_void) -> c_int {
        if poller_p.is_null() {
            return fail(Error::EFAULT, -1);
        }
        // SAFETY: poller_p is non-null and points to the caller's pointer.
        let p = unsafe { *poller_p };
        // SAFETY: any pointer; the pool checks it (handle.rs).
        match unsafe { POLLERS.release(p) } {
            Some(poller) => {
                drop(poller);
                // SAFETY: as above.
                unsafe { *poller_p = ptr::null_mut() };
                0
            }
            None => fail(Error::EFAULT, -1),
        }
    }
}

entry! {
    /// Number of registered sockets and descriptors (DRAFT).
    #[cfg(feature = "draft")]
    fn zmq_poller_size(poller: *mut c_void) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        unsafe { poller_of(poller) }.map_or(-1, |p| p.entries.len() as c_int)
    }
}

entry! {
    /// Registers a socket (DRAFT).
    #[cfg(feature = "draft")]
    fn zmq_poller_add(
        poller: *mut c_void,
        s: *mut c_void,
        user_data: *mut c_void,
        events: c_short,
    ) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(mut p) = (unsafe { poller_of(poller) }) else {
            return -1;
        };
        // SAFETY: any pointer; the pool checks it (handle.rs).
        if unsafe { sock_of(s) }.is_none() {
            return -1;
        }
        if !check_events(events) {
            return fail(Error::EINVAL, -1);
        }
        if p.entries.iter().any(|e| e.socket == s) {
            return fail(Error::EINVAL, -1);
        }
        p.entries.push(Entry {
            socket: s,
            fd: -1,
            user_data,
            events,
        });
        0
    }
}

entry! {
    /// Changes a registered socket's events (DRAFT).
    #[cfg(feature = "draft")]
    fn zmq_poller_modify(poller: *mut c_void, s: *mut c_void, events: c_short) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(mut p) = (unsafe { poller_of(poller) }) else {
            return -1;
        };
        // SAFETY: any pointer; the pool checks it (handle.rs).
        if unsafe { sock_of(s) }.is_none() {
            return -1;
        }
        if !check_events(events) {
            return fail(Error::EINVAL, -1);
        }
        match p.entries.iter_mut().find(|e| e.socket == s) {
            Some(e) => {
                e.events = events;
                0
            }
            None => fail(Error::EINVAL, -1),
        }
    }
}

entry! {
    /// Unregisters a socket (DRAFT).
    #[cfg(feature = "draft")]
    fn zmq_poller_remove(poller: *mut c_void, s: *mut c_void) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(mut p) = (unsafe { poller_of(poller) }) else {
            return -1;
        };
        // SAFETY: any pointer; the pool checks it (handle.rs).
        if unsafe { sock_of(s) }.is_none() {
            return -1;
        }
        match p.entries.iter().position(|e| e.socket == s) {
            Some(i) => {
                p.entries.remove(i);
                0
            }
            None => fail(Error::EINVAL, -1),
        }
    }
}

entry! {
    /// Registers a file descriptor (DRAFT).
    #[cfg(feature = "draft")]
    fn zmq_poller_add_fd(
        poller: *mut c_void,
        fd: zmq_fd_t,
        user_data: *mut c_void,
        events: c_short,
    ) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(mut p) = (unsafe { poller_of(poller) }) else {
            return -1;
        };
        if fd == -1 {
            return fail(Error::EBADF, -1);
        }
        if !check_events(events) {
            return fail(Error::EINVAL, -1);
        }
        if p.entries.iter().any(|e| e.socket.is_null() && e.fd == fd) {
            return fail(Error::EINVAL, -1);
        }
        p.entries.push(Entry {
            socket: ptr::null_mut(),
            fd,
            user_data,
            events,
        });
        0
    }
}

entry! {
    /// Changes a registered descriptor's events (DRAFT).
    #[cfg(feature = "draft")]
    fn zmq_poller_modify_fd(poller: *mut c_void, fd: zmq_fd_t, events: c_short) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(mut p) = (unsafe { poller_of(poller) }) else {
            return -1;
        };
        if fd == -1 {
            return fail(Error::EBADF, -1);
        }
        if !check_events(events) {
            return fail(Error::EINVAL, -1);
        }
        match p
            .entries
            .iter_mut()
            .find(|e| e.socket.is_null() && e.fd == fd)
        {
            Some(e) => {
                e.events = events;
                0
            }
            None => fail(Error::EINVAL, -1),
        }
    }
}

entry! {
    /// Unregisters a descriptor (DRAFT).
    #[cfg(feature = "draft")]
    fn zmq_poller_remove_fd(poller: *mut c_void, fd: zmq_fd_t) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(mut p) = (unsafe { poller_of(poller) }) else {
            return -1;
        };
        if fd == -1 {
            return fail(Error::EBADF, -1);
        }
        match p
            .entries
            .iter()
            .position(|e| e.socket.is_null() && e.fd == fd)
        {
            Some(i) => {
                p.entries.remove(i);
                0
            }
            None => fail(Error::EINVAL, -1),
        }
    }
}

entry! {
    /// Waits for one event (DRAFT); 0 on success, -1 with EAGAIN on timeout.
    #[cfg(feature = "draft")]
    fn zmq_poller_wait(
        poller: *mut c_void,
        event: *mut zmq_poller_event_t,
        timeout: c_long,
    ) -> c_int {
        // SAFETY: same contract as zmq_poller_wait_all with one event.
        let rc = unsafe { zmq_poller_wait_all(poller, event, 1, timeout) };
        if rc < 0 && !event.is_null() {
            // SAFETY: event is non-null and the caller's.
            unsafe {
                (*event).socket = ptr::null_mut();
                (*event).fd = -1;
                (*event).user_data = ptr::null_mut();
                (*event).events = 0;
            }
        }
        if rc >= 0 {
            0
        } else {
            rc
        }
    }
}

entry! {
    /// Waits for up to `n_events` events (DRAFT); returns how many, -1 with
    /// EAGAIN on timeout.
    #[cfg(feature = "draft")]
    fn zmq_poller_wait_all(
        poller: *mut c_void,
        events: *mut zmq_poller_event_t,
        n_events: c_int,
        timeout: c_long,
    ) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(p) = (unsafe { poller_of(poller) }) else {
            return -1;
        };
        if events.is_null() {
            return fail(Error::EFAULT, -1);
        }
        if n_events < 0 {
            return fail(Error::EINVAL, -1);
        }
        // Items registered without events take no part (libzmq's pollset).
        // A copy: the poller is not locked during the wait.
        let live: Vec<Entry> = p
            .entries
            .iter()
            .filter(|e| e.events != 0)
            .copied()
            .collect();
        drop(p);
        if live.is_empty() {
            if timeout < 0 {
                return fail(Error::EFAULT, -1);
            }
            if timeout > 0 {
                std::thread::sleep(std::time::Duration::from_millis(timeout as u64));
            }
            return fail(Error::EAGAIN, -1);
        }
        let mut items = Vec::with_capacity(live.len());
        for e in &live {
            let socket = if e.socket.is_null() {
                None
            } else {
                // SAFETY: any pointer; the pool checks it (a socket closed
                // since it was added gives ENOTSOCK here).
                let Some(s) = (unsafe { sock_of(e.socket) }) else {
                    return -1;
                };
                Some(s)
            };
            items.push(Item {
                socket,
                fd: e.fd,
                events: e.events,
                revents: 0,
            });
        }
        // SAFETY: the caller passes n_events writable events.
        let out = unsafe { std::slice::from_raw_parts_mut(events, n_events as usize) };
        match zmqrs::poll::poll(&mut items, timeout) {
            Ok(0) => fail(Error::EAGAIN, -1),
            Ok(_) => {
                let mut found = 0usize;
                for (e, it) in live.iter().zip(items.iter()) {
                    if found == out.len() {
                        break;
                    }
                    if it.revents != 0 {
                        out[found] = zmq_poller_event_t {
                            socket: e.socket,
                            fd: if e.socket.is_null() { e.fd } else { -1 },
                            user_data: e.user_data,
                            events: it.revents,
                        };
                        found += 1;
                    }
                }
                for slot in out.iter_mut().skip(found) {
                    *slot = zmq_poller_event_t {
                        socket: ptr::null_mut(),
                        fd: -1,
                        user_data: ptr::null_mut(),
                        events: 0,
                    };
                }
                found as c_int
            }
            Err(e) => fail(e, -1),
        }
    }
}

entry! {
    /// A descriptor that becomes readable when a thread-safe socket in the
    /// poller may have events (DRAFT). As in libzmq, only pollers holding a
    /// thread-safe socket have one; otherwise EINVAL.
    #[cfg(feature = "draft")]
    fn zmq_poller_fd(poller: *mut c_void, fd: *mut zmq_fd_t) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(mut p) = (unsafe { poller_of(poller) }) else {
            return -1;
        };
        let mut fds = Vec::new();
        for e in &p.entries {
            if e.socket.is_null() {
                continue;
            }
            // SAFETY: any pointer; the pool checks it (handle.rs).
            if let Some(h) = unsafe { sock_of(e.socket) } {
                if h.run(|s| s.is_thread_safe()) {
                    if let Ok(sfd) = h.run(|s| s.raw_fd()) {
                        fds.push(sfd);
                    }
                }
            }
        }
        if fds.is_empty() || fd.is_null() {
            return fail(Error::EINVAL, -1);
        }
        if p.epoll.is_none() {
            // SAFETY: epoll_create1 takes flags only.
            let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
            if ep < 0 {
                return fail(Error::EMFILE, -1);
            }
            // SAFETY: ep is a fresh descriptor we own from now on.
            p.epoll = Some(unsafe { OwnedFd::from_raw_fd(ep) });
        }
        let ep = p.epoll.as_ref().map_or(-1, |e| e.as_raw_fd());
        for sfd in fds {
            let mut ev = libc::epoll_event {
                events: libc::EPOLLIN as u32,
                u64: sfd as u64,
            };
            // SAFETY: ep and sfd are live descriptors; ev is a live struct.
            // EEXIST for a socket already added is fine.
            unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, sfd, &mut ev) };
        }
        // SAFETY: fd is non-null (checked above) and the caller's.
        unsafe { *fd = ep };
        0
    }
}
