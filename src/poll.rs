//! `zmq_poll`: waits on sockets and raw descriptors together.
//!
//! A socket is watched through its mailbox descriptor (ZMQ_FD), which is
//! readable when commands arrived; after every wake-up the socket's own
//! readiness (ZMQ_EVENTS) decides. The first pass never blocks, so events
//! already pending are reported at once (libzmq's algorithm).

use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use crate::constants::*;
use crate::error::{Error, Result};

/// What `poll` needs from an item (socket or raw descriptor). The C ABI
/// implements it for its own items so that it can lock thread-safe sockets.
pub trait Item {
    /// The descriptor to wait on.
    fn fd(&self) -> Result<RawFd>;
    /// Whether the item is a socket.
    fn is_socket(&self) -> bool;
    /// The socket's readiness, after processing its commands.
    fn socket_events(&self) -> Result<i16>;
    /// The events asked for.
    fn events(&self) -> i16;
    /// Stores the events that occurred.
    fn set_revents(&mut self, revents: i16);
}

/// Polls `items` for up to `timeout_ms` (-1 forever); returns how many have events.
pub fn poll<I: Item>(items: &mut [I], timeout_ms: i64) -> Result<i32> {
    // Nothing from an earlier call survives, whatever this one returns.
    for item in items.iter_mut() {
        item.set_revents(0);
    }
    if items.is_empty() {
        if timeout_ms == 0 {
            return Ok(0);
        }
        if timeout_ms < 0 {
            // libzmq sleeps forever here too; a signal is the only way out.
            loop {
                std::thread::sleep(Duration::from_secs(3600));
            }
        }
        std::thread::sleep(Duration::from_millis(timeout_ms as u64));
        return Ok(0);
    }
    let mut pollfds = Vec::with_capacity(items.len());
    for item in items.iter() {
        let fd = item.fd()?;
        let events = if item.is_socket() {
            libc::POLLIN
        } else {
            let e = item.events();
            let mut pe = 0;
            if e & ZMQ_POLLIN as i16 != 0 {
                pe |= libc::POLLIN;
            }
            if e & ZMQ_POLLOUT as i16 != 0 {
                pe |= libc::POLLOUT;
            }
            if e & ZMQ_POLLPRI as i16 != 0 {
                pe |= libc::POLLPRI;
            }
            pe
        };
        pollfds.push(libc::pollfd {
            fd,
            events,
            revents: 0,
        });
    }
    let mut first_pass = true;
    let mut end: Option<Instant> = None;
    loop {
        let wait = if first_pass {
            Some(Duration::ZERO)
        } else if timeout_ms < 0 {
            None
        } else {
            Some(end.map_or(Duration::ZERO, |e| {
                e.saturating_duration_since(Instant::now())
            }))
        };
        match crate::sys::poll(&mut pollfds, wait) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::EINTR) => return Err(Error::EINTR),
            Err(e) => return Err(Error::from_io(&e)),
        }
        let mut nevents = 0;
        for (item, pfd) in items.iter_mut().zip(pollfds.iter()) {
            let mut revents: i16 = 0;
            let want = item.events();
            if item.is_socket() {
                let ev = item.socket_events()?;
                if want & ZMQ_POLLOUT as i16 != 0 && ev & ZMQ_POLLOUT as i16 != 0 {
                    revents |= ZMQ_POLLOUT as i16;
                }
                if want & ZMQ_POLLIN as i16 != 0 && ev & ZMQ_POLLIN as i16 != 0 {
                    revents |= ZMQ_POLLIN as i16;
                }
            } else {
                if pfd.revents & libc::POLLIN != 0 {
                    revents |= ZMQ_POLLIN as i16;
                }
                if pfd.revents & libc::POLLOUT != 0 {
                    revents |= ZMQ_POLLOUT as i16;
                }
                if pfd.revents & libc::POLLPRI != 0 {
                    revents |= ZMQ_POLLPRI as i16;
                }
                if pfd.revents & !(libc::POLLIN | libc::POLLOUT | libc::POLLPRI) != 0 {
                    revents |= ZMQ_POLLERR as i16;
                }
            }
            item.set_revents(revents);
            if revents != 0 {
                nevents += 1;
            }
        }
        if timeout_ms == 0 || nevents > 0 {
            return Ok(nevents);
        }
        if timeout_ms < 0 {
            first_pass = false;
            continue;
        }
        if first_pass {
            end = Some(Instant::now() + Duration::from_millis(timeout_ms as u64));
            first_pass = false;
            continue;
        }
        if end.is_some_and(|e| Instant::now() >= e) {
            return Ok(0);
        }
    }
}
