//! ws:// and wss:// (ZWS 2.0, RFC 45, over RFC 6455), sans I/O: the
//! protocol half of libzmq 4.3.5's ws transport (src/ws_*.cpp,
//! src/wss_*.cpp). No sockets, threads or clock here; an I/O session drives
//! a [`WsEngine`] (ws) or a [`WssEngine`] (wss) exactly as it drives the
//! ZMTP engine, through [`StreamEngine`]. The ZMTP engine is untouched: ws
//! has its own engine rather than a framing layer inside the tcp one, so
//! the tcp path pays nothing for it.
//!
//! | file | what |
//! |---|---|
//! | [`http`] | the upgrade: GET builder, 101 builder, both parsers, limits |
//! | [`frame`] | WebSocket frames carrying ZMTP frames; masking |
//! | [`engine`] | [`WsEngine`]: upgrade, mechanism, traffic, heartbeats |
//! | [`tls`] | [`WssOptions`], rustls configs, [`WssEngine`] |
//! | [`address`] | `ws://host:port/path` parsing, ZMQ_LAST_ENDPOINT text |
//!
//! # What matches libzmq on the wire
//!
//! * Client request, byte for byte: `GET <path> HTTP/1.1`, `Host: <host>`
//!   (no port), `Upgrade: websocket`, `Connection: Upgrade`,
//!   `Sec-WebSocket-Key` (16 random bytes, base64),
//!   `Sec-WebSocket-Protocol`, `Sec-WebSocket-Version: 13`, in that order.
//! * `Sec-WebSocket-Protocol` offered by mechanism: NULL
//!   `ZWS2.0/NULL,ZWS2.0`; PLAIN `ZWS2.0/PLAIN`; CURVE `ZWS2.0/CURVE`
//!   (GSSAPI cannot run over ws: such a connection fails at once). The
//!   server takes the first entry of the client's list it can serve: NULL
//!   serves `ZWS2.0/NULL` and plain `ZWS2.0` (no mechanism, routing ids
//!   first, RFC 45), PLAIN only `ZWS2.0/PLAIN`, CURVE only `ZWS2.0/CURVE`.
//! * Server reply: `HTTP/1.1 101 Switching Protocols`, `Upgrade`,
//!   `Connection`, `Sec-WebSocket-Accept`, `Sec-WebSocket-Protocol`. On a
//!   bad request it sends nothing and closes
//!   (ZMQ_PROTOCOL_ERROR_WS_UNSPECIFIED), as libzmq.
//! * No ZMTP greeting. Every ZMTP frame, mechanism commands included, is
//!   one final binary frame: flags byte (0x01 MORE, 0x02 COMMAND), body.
//!   Subscriptions are data frames with a 0x01/0x00 prefix. Heartbeats are
//!   WebSocket PING/PONG; CLOSE is echoed, then the connection ends.
//! * Masking: the client masks every frame (a fresh random key each), the
//!   server none; either side refuses the other's wrong choice.
//!
//! Where we differ, and why, is listed in [`http`], [`frame`], [`engine`]
//! and [`tls`]: in short, the client checks `Sec-WebSocket-Accept`; headers
//! and frames are bounded (RFC 6455's MUSTs: reserved bits, 125-byte control
//! frames); the handshake is bounded by ZMQ_HANDSHAKE_IVL; one
//! HANDSHAKE_SUCCEEDED event per connection (libzmq raises a second one
//! when the mechanism finishes); a CURVE peer's subscriptions survive (see
//! [`engine`]). `tests/ws_interop.rs` runs all of this against the system's
//! libzmq.
//!
//! # Endpoints ([`address`])
//!
//! * `ws://host:port[/path]`, `wss://...`: `host:port` resolves as for tcp
//!   (`*` and interface names for bind, DNS for connect, `[v6]` with
//!   ZMQ_IPV6); the path defaults to `/` and goes into the GET. A listener
//!   serves every path.
//! * `ws://*:port` binds every IPv4 address (`[::]` with ZMQ_IPV6), and
//!   ZMQ_LAST_ENDPOINT reads `ws://0.0.0.0:PORT/path`; port `*` or `0` is
//!   ephemeral; the actual port shows in ZMQ_LAST_ENDPOINT:
//!   `ws://127.0.0.1:PORT/` (with the `/` when no path was given),
//!   `ws://[::1]:PORT/path`, `wss://...` for wss. Connecting needs a real
//!   port (`*` is EINVAL).
//!
//! # Fuzzing
//!
//! [`fuzz_server_handshake`], [`fuzz_client_handshake`],
//! [`fuzz_frame_decoder`], [`fuzz_server_engine`] (libzmq's
//! test_bind_ws_fuzzer) and [`fuzz_client_engine`] (test_connect_ws_fuzzer)
//! take arbitrary bytes and must never panic; a cargo-fuzz target is one
//! line around each.

pub mod address;
pub mod engine;
pub mod frame;
pub mod http;
pub mod tls;
mod x509;

use std::io::IoSlice;
use std::sync::Arc;
use std::time::Instant;

use crate::msg::{Message, Metadata};
use crate::zmtp::engine::{Engine, EngineError, EngineEvent};

pub use address::WsEndpoint;
pub use engine::WsEngine;
pub use http::Protocol;
pub use tls::{WssEngine, WssOptions};

/// The driver-facing interface shared by the ZMTP engine (tcp, ipc), the ws
/// engine and the wss engine: what an I/O session calls, and nothing else.
/// Each method means exactly what it means on [`Engine`].
pub trait StreamEngine: Send {
    /// Where the next received bytes should be written (empty: pull
    /// messages with `next_msg` first, or the connection is ending).
    fn read_buf(&mut self) -> &mut [u8];
    /// Records `n` bytes read into `read_buf` and runs the handshakes.
    fn advance_read(&mut self, n: usize, now: Instant) -> Result<(), EngineError>;
    /// Feeds bytes already in hand.
    fn feed(&mut self, data: &[u8], now: Instant) -> Result<(), EngineError>;
    /// Whether the engine takes more bytes now.
    fn wants_input(&mut self) -> bool;
    /// The next message for the session; `Ok(None)`: more bytes needed.
    fn next_msg(&mut self, now: Instant) -> Result<Option<Message>, EngineError>;
    /// The next event for the session.
    fn poll_event(&mut self) -> Option<EngineEvent>;
    /// Whether the session may hand over messages now.
    fn can_send(&self) -> bool;
    /// Encodes a message from the session.
    fn send_msg(&mut self, msg: Message);
    /// Bytes waiting to be written.
    fn pending_output(&self) -> usize;
    /// The bytes to write next, as slices for one vectored write.
    fn output<'a>(&'a self, slices: &mut [IoSlice<'a>]) -> usize;
    /// Records that `n` bytes were written.
    fn advance_write(&mut self, n: usize);
    /// All pending output as one vector (tests).
    fn take_output(&mut self) -> Vec<u8>;
    /// The next deadline for `on_timer`.
    fn next_timeout(&self) -> Option<Instant>;
    /// Handles deadlines that have passed.
    fn on_timer(&mut self, now: Instant) -> Result<(), EngineError>;
    /// The ZAP handler's reply.
    fn zap_reply(&mut self, frames: &[Message], now: Instant) -> Result<(), EngineError>;
    /// No ZAP handler could take the request.
    fn zap_unavailable(&mut self) -> EngineError;
    /// Fails the connection for a protocol error found above the engine.
    fn protocol_error(&mut self) -> EngineError;
    /// Whether a handshake is still under way.
    fn is_handshaking(&self) -> bool;
    /// Whether the engine speaks no ZMTP (STREAM, ROUTER_RAW over tcp).
    fn is_raw(&self) -> bool;
    /// The metadata attached to received messages.
    fn metadata(&self) -> Option<&Arc<Metadata>>;
}

/// A boxed engine is driven like the engine inside (the I/O layer boxes the
/// large ws and wss engines).
impl<T: StreamEngine + ?Sized> StreamEngine for Box<T> {
    fn read_buf(&mut self) -> &mut [u8] {
        (**self).read_buf()
    }
    fn advance_read(&mut self, n: usize, now: Instant) -> Result<(), EngineError> {
        (**self).advance_read(n, now)
    }
    fn feed(&mut self, data: &[u8], now: Instant) -> Result<(), EngineError> {
        (**self).feed(data, now)
    }
    fn wants_input(&mut self) -> bool {
        (**self).wants_input()
    }
    fn next_msg(&mut self, now: Instant) -> Result<Option<Message>, EngineError> {
        (**self).next_msg(now)
    }
    fn poll_event(&mut self) -> Option<EngineEvent> {
        (**self).poll_event()
    }
    fn can_send(&self) -> bool {
        (**self).can_send()
    }
    fn send_msg(&mut self, msg: Message) {
        (**self).send_msg(msg)
    }
    fn pending_output(&self) -> usize {
        (**self).pending_output()
    }
    fn output<'a>(&'a self, slices: &mut [IoSlice<'a>]) -> usize {
        (**self).output(slices)
    }
    fn advance_write(&mut self, n: usize) {
        (**self).advance_write(n)
    }
    fn take_output(&mut self) -> Vec<u8> {
        (**self).take_output()
    }
    fn next_timeout(&self) -> Option<Instant> {
        (**self).next_timeout()
    }
    fn on_timer(&mut self, now: Instant) -> Result<(), EngineError> {
        (**self).on_timer(now)
    }
    fn zap_reply(&mut self, frames: &[Message], now: Instant) -> Result<(), EngineError> {
        (**self).zap_reply(frames, now)
    }
    fn zap_unavailable(&mut self) -> EngineError {
        (**self).zap_unavailable()
    }
    fn protocol_error(&mut self) -> EngineError {
        (**self).protocol_error()
    }
    fn is_handshaking(&self) -> bool {
        (**self).is_handshaking()
    }
    fn is_raw(&self) -> bool {
        (**self).is_raw()
    }
    fn metadata(&self) -> Option<&Arc<Metadata>> {
        (**self).metadata()
    }
}

/// Implements [`StreamEngine`] by calling the type's inherent methods.
macro_rules! delegate_stream_engine {
    ($t:ty) => {
        impl StreamEngine for $t {
            fn read_buf(&mut self) -> &mut [u8] {
                <$t>::read_buf(self)
            }
            fn advance_read(&mut self, n: usize, now: Instant) -> Result<(), EngineError> {
                <$t>::advance_read(self, n, now)
            }
            fn feed(&mut self, data: &[u8], now: Instant) -> Result<(), EngineError> {
                <$t>::feed(self, data, now)
            }
            fn wants_input(&mut self) -> bool {
                <$t>::wants_input(self)
            }
            fn next_msg(&mut self, now: Instant) -> Result<Option<Message>, EngineError> {
                <$t>::next_msg(self, now)
            }
            fn poll_event(&mut self) -> Option<EngineEvent> {
                <$t>::poll_event(self)
            }
            fn can_send(&self) -> bool {
                <$t>::can_send(self)
            }
            fn send_msg(&mut self, msg: Message) {
                <$t>::send_msg(self, msg)
            }
            fn pending_output(&self) -> usize {
                <$t>::pending_output(self)
            }
            fn output<'a>(&'a self, slices: &mut [IoSlice<'a>]) -> usize {
                <$t>::output(self, slices)
            }
            fn advance_write(&mut self, n: usize) {
                <$t>::advance_write(self, n)
            }
            fn take_output(&mut self) -> Vec<u8> {
                <$t>::take_output(self)
            }
            fn next_timeout(&self) -> Option<Instant> {
                <$t>::next_timeout(self)
            }
            fn on_timer(&mut self, now: Instant) -> Result<(), EngineError> {
                <$t>::on_timer(self, now)
            }
            fn zap_reply(&mut self, frames: &[Message], now: Instant) -> Result<(), EngineError> {
                <$t>::zap_reply(self, frames, now)
            }
            fn zap_unavailable(&mut self) -> EngineError {
                <$t>::zap_unavailable(self)
            }
            fn protocol_error(&mut self) -> EngineError {
                <$t>::protocol_error(self)
            }
            fn is_handshaking(&self) -> bool {
                <$t>::is_handshaking(self)
            }
            fn is_raw(&self) -> bool {
                <$t>::is_raw(self)
            }
            fn metadata(&self) -> Option<&Arc<Metadata>> {
                <$t>::metadata(self)
            }
        }
    };
}

delegate_stream_engine!(Engine);
delegate_stream_engine!(WsEngine);
delegate_stream_engine!(WssEngine);

// ---- fuzzing ---------------------------------------------------------------

/// The most a fuzzed peer may announce, as libzmq's ws fuzz tests set
/// ZMQ_MAXMSGSIZE (sanitizers balk at larger allocations).
pub const FUZZ_MAX_MSG_SIZE: i64 = 64 * 1024 * 1024;

/// Fuzz target: arbitrary bytes as a client's upgrade request, fed to the
/// server-side parser whole and again one byte at a time. Never panics;
/// memory stays within the parser's limits.
pub fn fuzz_server_handshake(data: &[u8]) {
    for mech in [crate::constants::ZMQ_NULL, crate::constants::ZMQ_CURVE] {
        let _ = http::ServerHandshake::new(mech).feed(data);
        let mut s = http::ServerHandshake::new(mech);
        for b in data {
            if !matches!(
                s.feed(std::slice::from_ref(b)),
                Ok(http::Parsed::Incomplete)
            ) {
                break;
            }
        }
    }
}

/// Fuzz target: arbitrary bytes as a server's reply to our GET.
pub fn fuzz_client_handshake(data: &[u8]) {
    let _ = http::ClientHandshake::new(crate::constants::ZMQ_NULL, &[0; 16]).feed(data);
}

/// Fuzz target: arbitrary bytes through the frame decoder, as a server
/// (masked input) and as a client (unmasked), in uneven chunks.
pub fn fuzz_frame_decoder(data: &[u8]) {
    for must_mask in [true, false] {
        let mut d = frame::FrameDecoder::new(must_mask, FUZZ_MAX_MSG_SIZE);
        let mut inbuf = crate::zmtp::codec::InBuf::new(256);
        let mut rest = data;
        'feed: loop {
            loop {
                match d.decode(&mut inbuf) {
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(_) => break 'feed,
                }
            }
            if rest.is_empty() {
                break;
            }
            let buf = d.read_buf(&mut inbuf);
            let n = buf.len().min(rest.len()).min(1 + rest.len() % 97);
            buf[..n].copy_from_slice(&rest[..n]);
            d.filled(&mut inbuf, n);
            rest = &rest[n..];
        }
    }
}

fn fuzz_engine(mut e: WsEngine, data: &[u8]) {
    let now = Instant::now();
    let mut rest = data;
    while !rest.is_empty() {
        let buf = e.read_buf();
        let n = buf.len().min(rest.len());
        if n == 0 {
            match e.next_msg(now) {
                Ok(Some(_)) => continue,
                _ => break,
            }
        }
        buf[..n].copy_from_slice(&rest[..n]);
        if e.advance_read(n, now).is_err() {
            break;
        }
        rest = &rest[n..];
    }
    while let Ok(Some(_)) = e.next_msg(now) {}
    let _ = e.take_output();
    let _ = e.on_timer(now + std::time::Duration::from_secs(3600));
}

fn fuzz_config() -> crate::zmtp::engine::EngineConfig {
    crate::zmtp::engine::EngineConfig {
        socket_type: crate::constants::ZMQ_DEALER,
        maxmsgsize: FUZZ_MAX_MSG_SIZE,
        ..Default::default()
    }
}

/// Fuzz target (libzmq's test_bind_ws_fuzzer): arbitrary bytes from a
/// client to a NULL DEALER server engine, upgrade request included.
pub fn fuzz_server_engine(data: &[u8]) {
    fuzz_engine(WsEngine::server(fuzz_config(), Instant::now()), data);
}

/// Fuzz target (libzmq's test_connect_ws_fuzzer): arbitrary bytes from a
/// server to a NULL client engine that sent its GET. The key is fixed
/// (`dGhlIHNhbXBsZSBub25jZQ==`, RFC 6455's example, whose accept value is
/// `s3pPLMBiTxaQ9kYGzzhZRbK+xOo=`) so a corpus can hold valid replies.
pub fn fuzz_client_engine(data: &[u8]) {
    let e = WsEngine::client_with_nonce(
        fuzz_config(),
        "127.0.0.1",
        "/",
        b"the sample nonce",
        Instant::now(),
    );
    fuzz_engine(e, data);
}

#[cfg(test)]
mod tests;
