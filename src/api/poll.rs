//! [`poll`] over sockets and raw descriptors, with the `zmq` crate's
//! [`PollEvents`] and [`PollItem`].

use std::os::fd::RawFd;

use crate::constants::*;
use crate::error::Result;

use super::Socket;

bitflags::bitflags! {
    /// A set of poll events: what a [`PollItem`] waits for, what happened,
    /// and what [`Socket::get_events`] reports.
    ///
    /// ```
    /// let both = zmqrs::POLLIN | zmqrs::POLLOUT;
    /// assert!(both.contains(zmqrs::POLLIN));
    /// assert_eq!(both.bits(), 3);
    /// ```
    #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
    pub struct PollEvents: i16 {
        /// A message can be received (a descriptor: data can be read).
        const POLLIN = ZMQ_POLLIN as i16;
        /// A message can be sent (a descriptor: data can be written).
        const POLLOUT = ZMQ_POLLOUT as i16;
        /// An error condition (raw descriptors only).
        const POLLERR = ZMQ_POLLERR as i16;
        /// Urgent data can be read (raw descriptors only).
        const POLLPRI = ZMQ_POLLPRI as i16;
    }
}

impl PollEvents {
    /// The set for `bits`, unknown bits kept: bitflags 1's name for
    /// [`PollEvents::from_bits_retain`], which code written for the `zmq`
    /// crate may use.
    ///
    /// # Safety
    /// Always safe here; it is `unsafe` only because it was in bitflags 1.
    pub unsafe fn from_bits_unchecked(bits: i16) -> PollEvents {
        PollEvents::from_bits_retain(bits)
    }
}

/// Poll event: a message can be received.
pub const POLLIN: PollEvents = PollEvents::POLLIN;
/// Poll event: a message can be sent.
pub const POLLOUT: PollEvents = PollEvents::POLLOUT;
/// Poll event: an error condition (raw descriptors only).
pub const POLLERR: PollEvents = PollEvents::POLLERR;
/// Poll event: urgent data (raw descriptors only).
pub const POLLPRI: PollEvents = PollEvents::POLLPRI;

/// One entry of a [`poll`] set: a socket or a raw file descriptor, the
/// events to wait for, and after the call the events that occurred.
///
/// It borrows its socket, so it cannot outlive it:
///
/// ```compile_fail,E0597
/// let ctx = zmqrs::Context::new();
/// let item = {
///     let socket = ctx.socket(zmqrs::PAIR).unwrap();
///     socket.as_poll_item(zmqrs::POLLIN)
/// };
/// drop(item);
/// ```
///
/// while the same item used inside the socket's lifetime is fine:
///
/// ```
/// let ctx = zmqrs::Context::new();
/// let item = {
///     let socket = ctx.socket(zmqrs::PAIR).unwrap();
///     let item = socket.as_poll_item(zmqrs::POLLIN);
///     item.get_revents()
/// };
/// assert!(item.is_empty());
/// ```
#[derive(Debug)]
pub struct PollItem<'a> {
    socket: Option<&'a Socket>,
    fd: RawFd,
    events: PollEvents,
    revents: PollEvents,
}

impl<'a> PollItem<'a> {
    pub(crate) fn for_socket(socket: &'a Socket, events: PollEvents) -> PollItem<'a> {
        PollItem {
            socket: Some(socket),
            fd: -1,
            events,
            revents: PollEvents::empty(),
        }
    }

    /// A poll item for a raw descriptor (a pipe, a TCP socket, stdin...).
    pub fn from_fd(fd: RawFd, events: PollEvents) -> PollItem<'a> {
        PollItem {
            socket: None,
            fd,
            events,
            revents: PollEvents::empty(),
        }
    }

    /// Changes the events to wait for.
    pub fn set_events(&mut self, events: PollEvents) {
        self.events = events;
    }

    /// The events that occurred in the last [`poll`].
    pub fn get_revents(&self) -> PollEvents {
        self.revents
    }

    /// Whether a message can be received (POLLIN occurred).
    pub fn is_readable(&self) -> bool {
        self.revents.contains(POLLIN)
    }

    /// Whether a message can be sent (POLLOUT occurred).
    pub fn is_writable(&self) -> bool {
        self.revents.contains(POLLOUT)
    }

    /// Whether a raw descriptor reported an error (POLLERR occurred).
    pub fn is_error(&self) -> bool {
        self.revents.contains(POLLERR)
    }

    /// Whether this item polls `socket`.
    pub fn has_socket(&self, socket: &Socket) -> bool {
        self.socket.is_some_and(|s| std::ptr::eq(s, socket))
    }

    /// Whether this item polls the raw descriptor `fd`.
    pub fn has_fd(&self, fd: RawFd) -> bool {
        self.socket.is_none() && self.fd == fd
    }
}

/// Waits until at least one item has one of its events, `timeout_ms`
/// milliseconds pass (-1: no limit, 0: just look), or a signal arrives
/// (EINTR), as `zmq_poll`. Returns the number of items with events; each
/// item's [`PollItem::get_revents`] says which.
///
/// ```
/// let ctx = zmqrs::Context::new();
/// let a = ctx.socket(zmqrs::PAIR).unwrap();
/// let b = ctx.socket(zmqrs::PAIR).unwrap();
/// a.bind("inproc://poll-doc").unwrap();
/// b.connect("inproc://poll-doc").unwrap();
/// a.send("ping", 0).unwrap();
/// let mut items = [b.as_poll_item(zmqrs::POLLIN)];
/// assert_eq!(zmqrs::poll(&mut items, 1000).unwrap(), 1);
/// assert!(items[0].is_readable());
/// ```
pub fn poll(items: &mut [PollItem<'_>], timeout: i64) -> Result<i32> {
    crate::poll::poll(items, timeout)
}

impl crate::poll::Item for PollItem<'_> {
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
        self.events.bits()
    }
    fn set_revents(&mut self, r: i16) {
        self.revents = PollEvents::from_bits_retain(r);
    }
}
