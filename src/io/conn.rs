//! The driver that runs an engine on a stream: one connection's bytes and
//! messages. It moves decoded messages into the socket's pipe (stopping at
//! HWM), bytes from the stream into the engine, messages from the pipe into
//! the engine and bytes out with one vectored write per batch. Owned by its
//! session in an I/O thread; the session decides what a failure means.

use std::io::{self, IoSlice};
use std::os::fd::RawFd;
use std::sync::Arc;
use std::time::Instant;

use mio::Registry;

use super::direct::Direct;
use super::engine::{with_engine, AnyEngine};
use super::stream::ByteStream;
use crate::endpoint::EndpointPair;
use crate::msg::Message;
use crate::pipe::Pipe;
use crate::ws::StreamEngine;
use crate::zmtp::adapter::{Adapter, Check, Inbound};
use crate::zmtp::engine::EngineError;

/// A connection ZMTP runs on.
pub(crate) struct Conn {
    pub stream: ByteStream,
    pub engine: AnyEngine,
    /// Its two ends, as monitor events and the pipe name them.
    pub pair: EndpointPair,
    pub fd: RawFd,
    /// The stream may have bytes to read (it said so, and no read has
    /// found it empty since).
    readable: bool,
    /// The stream may take bytes.
    writable: bool,
    /// The output as offered to the socket's thread (`direct.rs`), once
    /// the connection carries plain frames.
    direct: Option<Arc<Direct>>,
    /// Bytes to write before any of the engine's: what the socket's
    /// thread could not write directly.
    tail: Vec<u8>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        // Before the stream (and its descriptor) goes.
        if let Some(d) = &self.direct {
            d.retire();
        }
    }
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
    pub fn new(stream: ByteStream, engine: AnyEngine, pair: EndpointPair) -> Conn {
        let fd = stream.fd();
        Conn {
            stream,
            engine,
            pair,
            fd,
            readable: true,
            writable: true,
            direct: None,
            tail: Vec::new(),
        }
    }

    /// No direct write from now on (the session is ending).
    pub fn end_direct(&mut self) {
        if let Some(d) = &self.direct {
            d.retire();
        }
    }

    /// Bytes waiting to be written: a direct write's tail and the engine's.
    pub fn pending_output(&self) -> usize {
        self.tail.len() + self.engine.pending_output()
    }

    /// After a round that moved nothing: when the connection carries plain
    /// frames and everything is written, the socket's thread may write to
    /// it directly until the session needs it again (`direct.rs`). `allowed`:
    /// the session runs and its socket type puts messages on the wire as
    /// they are (not RADIO, whose groups the session turns into frames).
    pub fn settle(&mut self, pipe: Option<&mut Pipe>, allowed: bool) {
        let Some(pipe) = pipe else {
            return;
        };
        if !allowed || !self.tail.is_empty() {
            return;
        }
        let AnyEngine::Zmtp(e) = &self.engine else {
            return;
        };
        if !e.direct_framing() || e.pending_output() > 0 {
            return;
        }
        // (An output the socket's thread holds, or handed back with a tail,
        // stays as it is: go_idle changes only one the session holds.)
        let d = self.direct.get_or_insert_with(|| {
            let d = Arc::new(Direct::new(self.fd));
            pipe.offer_direct(Some(d.clone()));
            d
        });
        d.go_idle(pipe.msgs_read());
    }

    /// The stream reported readiness (edge-triggered: it stays until a
    /// read or write finds the stream empty or full).
    pub fn ready(&mut self, readable: bool, writable: bool) {
        self.readable |= readable;
        self.writable |= writable;
    }

    /// One round: decoded messages into the pipe, bytes from the peer,
    /// messages from the pipe into the engine, bytes to the peer. The
    /// engine's kind is matched once, here.
    pub fn move_data(&mut self, side: Side<'_>, now: Instant) -> Round {
        let Conn {
            stream,
            engine,
            readable,
            writable,
            direct,
            tail,
            ..
        } = self;
        let mut io = Io {
            stream,
            readable,
            writable,
            tail,
            direct: direct.as_deref(),
        };
        with_engine!(engine, e => io.round(e, side, now))
    }

    /// A last, best-effort write of what is already encoded (an ERROR
    /// command, or output that linger still allows), before closing.
    pub fn write_last(&mut self) {
        let Conn {
            stream,
            engine,
            direct,
            tail,
            ..
        } = self;
        if let Some(d) = direct {
            // The connection closes next: wait out a direct write under way
            // (its tail then comes with the output), so that the ERROR
            // command or the linger output is not skipped.
            d.retire();
            if !d.acquire(tail, true) {
                return;
            }
        }
        with_engine!(engine, e => {
            if !tail.is_empty() || e.pending_output() > 0 {
                let _ = write(tail, e, stream);
            }
        })
    }

    /// Closes the connection.
    pub fn close(mut self, registry: &Registry) {
        self.stream.deregister(registry);
    }
}

/// The stream's side of a round.
struct Io<'a> {
    stream: &'a mut ByteStream,
    readable: &'a mut bool,
    writable: &'a mut bool,
    /// A direct write's unwritten bytes, to go before the engine's.
    tail: &'a mut Vec<u8>,
    /// The output, when the socket's thread may write to it too.
    direct: Option<&'a Direct>,
}

impl Io<'_> {
    /// [`Conn::move_data`] with one kind of engine.
    #[inline]
    fn round<E: StreamEngine>(&mut self, engine: &mut E, side: Side<'_>, now: Instant) -> Round {
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
            let next = engine.next_msg(now);
            #[cfg(feature = "fault-injection")]
            if let Ok(Some(m)) = &next {
                crate::fault::on_message(m);
            }
            match next {
                Ok(Some(m)) => {
                    let m = match adapter.check(&m) {
                        Check::Deliver => m,
                        Check::Skip => continue,
                        Check::Transform => match adapter.inbound(m) {
                            Inbound::Deliver(m) => m,
                            Inbound::Skip => continue,
                            Inbound::Error => return Round::Failed(engine.protocol_error()),
                        },
                    };
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
                Ok(None) => break,
                Err(e) => return Round::Failed(e),
            }
        }
        if pushed {
            progress = true;
            if let Some(p) = pipe.as_mut() {
                if let Some(d) = self.direct {
                    // The socket's thread wakes to these messages: a reply it
                    // sends may go out directly if the output is idle by then.
                    if self.tail.is_empty() && engine.pending_output() == 0 {
                        d.go_idle(p.msgs_read());
                    }
                }
                p.flush();
            }
        }
        // More bytes from the peer.
        if stalled.is_none() && *self.readable {
            let buf = engine.read_buf();
            if !buf.is_empty() {
                match self.stream.read(buf) {
                    Ok(0) => return Round::IoFailed(libc::EPIPE),
                    Ok(n) => {
                        progress = true;
                        if let Err(e) = engine.advance_read(n, now) {
                            return Round::Failed(e);
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => *self.readable = false,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Round::IoFailed(e.raw_os_error().unwrap_or(libc::ECONNRESET)),
                }
            }
        }
        // The pipe and the stream's write side need the output, which the
        // socket's thread may hold; an idle one is left alone unless there
        // is something to write.
        if let Some(d) = self.direct {
            let needed = engine.pending_output() > 0
                || !self.tail.is_empty()
                || hello.is_some()
                || pipe.as_mut().is_some_and(|p| p.check_read());
            if !d.acquire(self.tail, needed) {
                return if progress {
                    Round::Progress
                } else {
                    Round::Idle
                };
            }
        }
        // Messages from the socket into the engine, after the hello message
        // (ZMQ_HELLO_MSG) that greets every new connection.
        if hello.is_some() && engine.can_send() {
            if let Some(m) = hello.take() {
                engine.send_msg(m);
            }
            progress = true;
        }
        if let Some(p) = pipe {
            while engine.can_send() {
                match p.read() {
                    Some(m) => adapter.outbound(m, |f| engine.send_msg(f)),
                    None => break,
                }
            }
        }
        // Bytes to the peer: a direct write's tail first.
        if (!self.tail.is_empty() || engine.pending_output() > 0) && *self.writable {
            match write(self.tail, engine, self.stream) {
                Ok(n) => progress |= n > 0,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => *self.writable = false,
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
}

/// Writes as much as the stream takes of a direct write's tail and then the
/// engine's output, with one vectored write.
fn write<E: StreamEngine>(
    tail: &mut Vec<u8>,
    engine: &mut E,
    stream: &mut ByteStream,
) -> io::Result<usize> {
    let mut slices = [IoSlice::new(&[]); 64];
    let first = usize::from(!tail.is_empty());
    slices[0] = IoSlice::new(tail);
    let n = first + engine.output(&mut slices[first..]);
    let written = stream.write_vectored(&slices[..n])?;
    let from_tail = written.min(tail.len());
    tail.drain(..from_tail);
    engine.advance_write(written - from_tail);
    Ok(written)
}
