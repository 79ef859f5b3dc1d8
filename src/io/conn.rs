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

/// Output larger than this goes out as a short lead and then the rest
/// ([`write_with_lead`]).
const LEAD_AFTER: usize = 128 * 1024;
/// The lead: libzmq's batch size, which is what its first write of a large
/// message carries (the frame header and the start of the body).
const LEAD: usize = 8 * 1024;

/// Writes `slices` as a write of their first [`LEAD`] bytes and then one of
/// the rest. One write of a whole 1 MiB message made tcp_lat at 1 MiB 1.4
/// to 1.5 times libzmq's (413 µs against 287 µs a round trip); with the
/// lead first, as libzmq's encoder happens to do, it is 230-270 µs, at
/// libzmq's (`benches/perf/compare --tests lat --sizes 1048576`). After
/// one large write the peer's first read of the body took all of it (so
/// the copy in and the copy out ran one after the other); after the lead
/// its reads take the body in pieces, as with libzmq: our reading is that
/// the peer, woken by the lead, copies out while the rest is written. A
/// failed second write reports only the lead: whatever stopped it (a full
/// socket, a reset) is met again by the next write.
fn write_with_lead(stream: &mut ByteStream, slices: &[IoSlice<'_>]) -> io::Result<usize> {
    let mut part = [IoSlice::new(&[]); 64];
    let n = cut(slices, 0, LEAD, &mut part);
    let lead = stream.write_vectored(&part[..n])?;
    if lead < LEAD {
        return Ok(lead);
    }
    let n = cut(slices, LEAD, usize::MAX, &mut part);
    Ok(lead + stream.write_vectored(&part[..n]).unwrap_or(0))
}

/// Fills `out` with the slices of `slices` that cover their bytes from
/// `from` up to `to` (or their end); returns how many.
fn cut<'b>(slices: &'b [IoSlice<'_>], from: usize, to: usize, out: &mut [IoSlice<'b>]) -> usize {
    let mut n = 0;
    let mut at = 0;
    for s in slices {
        let (start, end) = (at, at + s.len());
        at = end;
        if end <= from || n == out.len() {
            continue;
        }
        if start >= to {
            break;
        }
        let a = from.saturating_sub(start);
        let b = s.len().min(to - start);
        if a < b {
            out[n] = IoSlice::new(&s[a..b]);
            n += 1;
        }
    }
    n
}

/// Writes as much as the stream takes of a direct write's tail and then the
/// engine's output, with one vectored write (two for a large output, see
/// [`write_with_lead`]).
fn write<E: StreamEngine>(
    tail: &mut Vec<u8>,
    engine: &mut E,
    stream: &mut ByteStream,
) -> io::Result<usize> {
    let mut slices = [IoSlice::new(&[]); 64];
    let first = usize::from(!tail.is_empty());
    slices[0] = IoSlice::new(tail);
    let n = first + engine.output(&mut slices[first..]);
    let total: usize = slices[..n].iter().map(|s| s.len()).sum();
    let written = if total > LEAD_AFTER {
        write_with_lead(stream, &slices[..n])?
    } else {
        stream.write_vectored(&slices[..n])?
    };
    let from_tail = written.min(tail.len());
    tail.drain(..from_tail);
    engine.advance_write(written - from_tail);
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Cutting the output at any two points gives exactly those bytes, in
    /// order, whatever the slice boundaries (a lead that ends inside a
    /// header, on a boundary, or past the end).
    #[test]
    fn cut_covers_exactly_the_bytes_asked_for() {
        let parts: [Vec<u8>; 4] = [
            (0..11).collect(),
            Vec::new(),
            (11..200).map(|b| b as u8).collect(),
            (200..230).map(|b| b as u8).collect(),
        ];
        let slices: Vec<IoSlice<'_>> = parts.iter().map(|p| IoSlice::new(p)).collect();
        let all: Vec<u8> = parts.concat();
        let points = [0, 1, 10, 11, 12, 100, 199, 200, 229, 230, 500, usize::MAX];
        for &from in &points {
            for &to in &points {
                let mut out = [IoSlice::new(&[]); 64];
                let n = cut(&slices, from, to, &mut out);
                let got: Vec<u8> = out[..n].iter().flat_map(|s| s.iter().copied()).collect();
                let (a, b) = (from.min(all.len()), to.min(all.len()));
                let want = if a < b { &all[a..b] } else { &[][..] };
                assert_eq!(got, want, "from {from} to {to}");
                assert!(out[..n].iter().all(|s| !s.is_empty()), "no empty slice");
            }
        }
    }

    /// A large output reaches the peer whole, through the lead and the
    /// rest.
    #[test]
    fn a_large_output_is_written_whole() {
        let (a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
        let mut stream =
            ByteStream::from_socket(socket2::Socket::from(std::os::fd::OwnedFd::from(a)), true);
        let header = [7u8; 11];
        let body: Vec<u8> = (0..LEAD_AFTER + 5000).map(|i| i as u8).collect();
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            std::io::Read::read_to_end(&mut b, &mut got).unwrap();
            got
        });
        let mut off = 0;
        while off < header.len() + body.len() {
            let slices = [IoSlice::new(&header), IoSlice::new(&body)];
            let mut rest = [IoSlice::new(&[]); 64];
            let n = cut(&slices, off, usize::MAX, &mut rest);
            match write_with_lead(&mut stream, &rest[..n]) {
                Ok(k) => off += k,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => std::thread::yield_now(),
                Err(e) => panic!("{e}"),
            }
        }
        drop(stream);
        let got = reader.join().unwrap();
        assert_eq!(&got[..11], &header);
        assert_eq!(&got[11..], &body[..]);
    }
}
