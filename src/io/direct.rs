//! The connection side of direct write (`pipe/direct.rs`): a socket's
//! thread puts a whole message on its connection itself, with one
//! `sendmsg`, when the connection's session has nothing to write.
//!
//! The session holds the output. When a round leaves nothing to write (the
//! engine's output written, the connection carrying plain ZMTP 2.0/3.x
//! frames: no CURVE, no ZMTP 1.0, not raw), it records how many messages it
//! has read from the pipe and lets the output go idle; the socket's thread
//! may then take it for one message, if it has queued none the session has
//! not read (else the message would overtake them), encode the frame
//! headers itself and write headers and bodies at once. What the kernel does
//! not take goes back to the session as a tail it writes before anything
//! else. Who holds the output, and how it passes, is `direct_state.rs`
//! (model-checked with loom); this file adds the descriptor and the frames.
//! When the connection ends, the session retires the output and waits for
//! a write under way before the descriptor is closed, so the socket's
//! thread never writes to a descriptor that was closed (and maybe reused).

use std::io::IoSlice;
use std::os::fd::{BorrowedFd, RawFd};

use super::direct_state::OutputOwner;
use crate::msg::{flags, Message};
use crate::pipe::direct::DirectOut;
use crate::zmtp::codec::{frame_header, MAX_HEADER};

/// Messages larger than this (or with more frames) always go through the
/// pipe: a partial write copies its unwritten tail, and large messages gain
/// little from skipping a wake-up.
const MAX_BYTES: usize = 64 * 1024;
const MAX_FRAMES: usize = 8;

/// One connection's output, shared by its session and the socket's thread.
pub(crate) struct Direct {
    owner: OutputOwner,
    /// The connection's descriptor: open for as long as the session's
    /// connection lives, which `retire` makes outlast any direct write.
    fd: RawFd,
}

impl Direct {
    /// The output of the connection on `fd`, held by the session.
    pub fn new(fd: RawFd) -> Direct {
        Direct {
            owner: OutputOwner::default(),
            fd,
        }
    }

    /// See [`OutputOwner::acquire`].
    pub fn acquire(&self, tail: &mut Vec<u8>, needed: bool) -> bool {
        self.owner.acquire(tail, needed)
    }

    /// See [`OutputOwner::go_idle`].
    pub fn go_idle(&self, msgs_read: u64) {
        self.owner.go_idle(msgs_read)
    }

    /// See [`OutputOwner::retire`]; the session's descriptor may be closed
    /// once this returns.
    pub fn retire(&self) {
        self.owner.retire()
    }
}

impl DirectOut for Direct {
    fn try_send(
        &self,
        queued: u64,
        partial: &mut Vec<Message>,
        last: Message,
    ) -> Result<bool, Message> {
        if partial.len() >= MAX_FRAMES {
            return Err(last);
        }
        // Plain data frames only: commands and subscriptions are encoded by
        // the engine.
        let plain = |f: &Message| f.flags() & !flags::MORE == 0;
        let size: usize = partial.iter().map(|f| f.len() + MAX_HEADER).sum();
        if size + last.len() > MAX_BYTES || !plain(&last) || !partial.iter().all(plain) {
            return Err(last);
        }
        let frames = || partial.iter().chain(std::iter::once(&last));
        if !self.owner.enter(queued) {
            return Err(last);
        }
        let mut headers = [[0u8; MAX_HEADER]; MAX_FRAMES];
        let mut lens = [0usize; MAX_FRAMES];
        let mut total = 0;
        for (i, f) in frames().enumerate() {
            lens[i] = frame_header(f.more(), false, f.len(), &mut headers[i]);
            total += lens[i] + f.len();
        }
        let mut slices = [IoSlice::new(&[]); 2 * MAX_FRAMES];
        let mut n = 0;
        for (i, f) in frames().enumerate() {
            slices[n] = IoSlice::new(&headers[i][..lens[i]]);
            slices[n + 1] = IoSlice::new(f.as_slice());
            n += 2;
        }
        // SAFETY: `fd` is the session's open connection: the session closes
        // it only after `retire`, which waits while this thread holds USER.
        let fd = unsafe { BorrowedFd::borrow_raw(self.fd) };
        let sock = socket2::SockRef::from(&fd);
        let written = loop {
            // MSG_NOSIGNAL: a peer that hung up is EPIPE, never SIGPIPE.
            match sock.send_vectored_with_flags(&slices[..n], libc::MSG_NOSIGNAL) {
                Ok(w) => break Some(w),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break Some(0),
                // The connection is gone: the message is lost with it, as
                // one the engine had encoded would be; the session's reads
                // find the failure too.
                Err(e)
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EPIPE | libc::ECONNRESET | libc::ENOTCONN)
                    ) =>
                {
                    break None
                }
                // Anything else (ENOBUFS, ENOMEM) may leave the connection
                // up: the whole message goes to the session as a tail, which
                // writes it or meets the error and handles it as its own.
                Err(_) => break Some(0),
            }
        };
        let wake = match written {
            Some(w) if w >= total => self.owner.leave(false),
            Some(w) => self.owner.leave_with_tail(|tail| {
                let mut skip = w;
                for s in &slices[..n] {
                    if skip >= s.len() {
                        skip -= s.len();
                    } else {
                        tail.extend_from_slice(&s[skip..]);
                        skip = 0;
                    }
                }
            }),
            None => self.owner.leave(true),
        };
        partial.clear();
        Ok(wake)
    }
}
