//! The driver that runs an engine on a stream: one connection's bytes and
//! messages. It moves decoded messages into the socket's pipe (stopping at
//! HWM), bytes from the stream into the engine, messages from the pipe into
//! the engine and bytes out with one vectored write per batch. Owned by its
//! session in an I/O thread; the session decides what a failure means.

use std::io::{self, IoSlice};
use std::os::fd::RawFd;
use std::time::Instant;

use mio::Registry;

use super::stream::ByteStream;
use crate::endpoint::EndpointPair;
use crate::msg::Message;
use crate::pipe::Pipe;
use crate::zmtp::adapter::{Adapter, Inbound};
use crate::zmtp::engine::{Engine, EngineError};

/// A connection ZMTP runs on.
pub(crate) struct Conn {
    pub stream: ByteStream,
    pub engine: Engine,
    /// Its two ends, as monitor events and the pipe name them.
    pub pair: EndpointPair,
    pub fd: RawFd,
    /// The stream may have bytes to read (it said so, and no read has
    /// found it empty since).
    readable: bool,
    /// The stream may take bytes.
    writable: bool,
}

/// What one round of moving data came to.
pub(crate) enum Round {
    Progress,
    Idle,
    Failed(EngineError),
    /// The peer closed the connection (EPIPE) or it failed (errno).
    IoFailed(i32),
}

/// The session's side of a round: its pipe to the socket, a decoded
/// message the pipe had no room for, the socket type's rules, and a hello
/// message still to send.
pub(crate) struct Side<'a> {
    pub pipe: Option<&'a mut Pipe>,
    pub stalled: &'a mut Option<Message>,
    pub adapter: &'a mut Adapter,
    pub hello: &'a mut Option<Message>,
}

impl Conn {
    /// A connection whose engine has just been made.
    pub fn new(stream: ByteStream, engine: Engine, pair: EndpointPair) -> Conn {
        let fd = stream.fd();
        Conn {
            stream,
            engine,
            pair,
            fd,
            readable: true,
            writable: true,
        }
    }

    /// The stream reported readiness (edge-triggered: it stays until a
    /// read or write finds the stream empty or full).
    pub fn ready(&mut self, readable: bool, writable: bool) {
        self.readable |= readable;
        self.writable |= writable;
    }

    /// One round: decoded messages into the pipe, bytes from the peer,
    /// messages from the pipe into the engine, bytes to the peer.
    pub fn move_data(&mut self, side: Side<'_>, now: Instant) -> Round {
        let Side {
            mut pipe,
            stalled,
            adapter,
            hello,
        } = side;
        let mut progress = false;
        // Decoded messages into the pipe, stopping at HWM.
        let mut pushed = false;
        if let Some(m) = stalled.take() {
            match pipe.as_mut() {
                Some(p) => match p.write(m) {
                    Ok(()) => pushed = true,
                    Err(m) => *stalled = Some(m),
                },
                None => *stalled = Some(m),
            }
        }
        while stalled.is_none() {
            let next = self.engine.next_msg(now);
            #[cfg(feature = "fault-injection")]
            if let Ok(Some(m)) = &next {
                crate::fault::on_message(m);
            }
            match next {
                Ok(Some(m)) => match adapter.inbound(m) {
                    Inbound::Deliver(m) => {
                        pushed = true;
                        match pipe.as_mut() {
                            Some(p) => {
                                if let Err(m) = p.write(m) {
                                    *stalled = Some(m);
                                }
                            }
                            None => *stalled = Some(m),
                        }
                    }
                    Inbound::Skip => {}
                    Inbound::Error => return Round::Failed(self.engine.protocol_error()),
                },
                Ok(None) => break,
                Err(e) => return Round::Failed(e),
            }
        }
        if pushed {
            progress = true;
            if let Some(p) = pipe.as_mut() {
                p.flush();
            }
        }
        // More bytes from the peer.
        if stalled.is_none() && self.readable {
            let buf = self.engine.read_buf();
            if !buf.is_empty() {
                match self.stream.read(buf) {
                    Ok(0) => return Round::IoFailed(libc::EPIPE),
                    Ok(n) => {
                        progress = true;
                        if let Err(e) = self.engine.advance_read(n, now) {
                            return Round::Failed(e);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.readable = false,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Round::IoFailed(e.raw_os_error().unwrap_or(libc::ECONNRESET)),
                }
            }
        }
        // Messages from the socket into the engine, after the hello message
        // (ZMQ_HELLO_MSG) that greets every new connection.
        if hello.is_some() && self.engine.can_send() {
            if let Some(m) = hello.take() {
                self.engine.send_msg(m);
            }
            progress = true;
        }
        if let Some(p) = pipe {
            while self.engine.can_send() {
                match p.read() {
                    Some(m) => adapter.outbound(m, |f| self.engine.send_msg(f)),
                    None => break,
                }
            }
        }
        // Bytes to the peer.
        if self.engine.pending_output() > 0 && self.writable {
            match self.write() {
                Ok(n) => progress |= n > 0,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.writable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Round::IoFailed(e.raw_os_error().unwrap_or(libc::ECONNRESET)),
            }
        }
        if progress {
            Round::Progress
        } else {
            Round::Idle
        }
    }

    /// Writes as much of the engine's output as the stream takes, with one
    /// vectored write.
    fn write(&mut self) -> io::Result<usize> {
        let mut slices = [IoSlice::new(&[]); 64];
        let n = self.engine.output(&mut slices);
        let written = self.stream.write_vectored(&slices[..n])?;
        self.engine.advance_write(written);
        Ok(written)
    }

    /// A last, best-effort write of what is already encoded (an ERROR
    /// command, or output that linger still allows), before closing.
    pub fn write_last(&mut self) {
        if self.engine.pending_output() > 0 {
            let _ = self.write();
        }
    }

    /// Closes the connection.
    pub fn close(mut self, registry: &Registry) {
        self.stream.deregister(registry);
    }
}
