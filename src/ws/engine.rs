//! The ZWS 2.0 engine: one ws:// connection's protocol state machine, sans
//! I/O, with the driver-facing interface of [`crate::zmtp::engine::Engine`]
//! (see [`super::StreamEngine`]), so a session drives either the same way.
//!
//! Phases (libzmq src/ws_engine.cpp):
//! 1. HTTP upgrade ([`super::http`]): the client's GET is queued at once;
//!    the server answers 101 once the request is complete and valid, or
//!    closes without a word (ZMQ_PROTOCOL_ERROR_WS_UNSPECIFIED).
//! 2. No ZMTP greeting: the negotiated `Sec-WebSocket-Protocol` picks the
//!    mechanism, whose handshake commands travel as binary frames with the
//!    COMMAND flag. `ZWS2.0` runs no mechanism: each side's first message
//!    is its routing id (as ZMTP 2.0).
//! 3. Traffic. Heartbeats are WebSocket PING frames every ZMQ_HEARTBEAT_IVL;
//!    without any frame from the peer within ZMQ_HEARTBEAT_TIMEOUT of a
//!    PING the connection times out (WebSocket PINGs carry no TTL, so
//!    ZMQ_HEARTBEAT_TTL is not used). A PING is answered with a PONG
//!    carrying its data (libzmq's PONG is empty, its PINGs are too); a
//!    CLOSE is echoed and, once written, ends the connection.
//!
//! Unlike libzmq, the handshake (HTTP upgrade and mechanism) is bounded by
//! ZMQ_HANDSHAKE_IVL, as on tcp: libzmq's ws engine sets no handshake timer.
//! ZMTP PING commands (which libzmq never sends over ws) are answered with
//! PONG, and SUBSCRIBE/CANCEL commands (which libzmq's CURVE sends over ws,
//! and its own ws engine then drops) become subscriptions. Our CURVE boxes
//! subscriptions as 0x01/0x00-prefixed messages, which libzmq's XPUB reads.

use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::frame::{opcode, Frame, FrameDecoder, FrameEncoder};
use super::http::{ClientHandshake, Parsed, Protocol, ServerHandshake};
use crate::constants::*;
use crate::msg::{flags, Message, Metadata};
use crate::security::curve::Curve;
use crate::security::null::Null;
use crate::security::plain::Plain;
use crate::security::{zap, Failure, Mechanism, Status};
use crate::zmtp::codec::{InBuf, OutQueue};
use crate::zmtp::engine::{EngineConfig, EngineError, EngineEvent, ErrorReason};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// The HTTP upgrade.
    Http,
    /// The mechanism's handshake.
    Handshake,
    /// Traffic.
    Active,
}

enum Http {
    Client(ClientHandshake),
    Server(ServerHandshake),
    Done,
}

/// One ws:// connection's state. A wss:// connection is this engine behind
/// [`super::tls::WssEngine`].
pub struct WsEngine {
    cfg: EngineConfig,
    http: Http,
    inbuf: InBuf,
    out: OutQueue,
    decoder: FrameDecoder,
    encoder: FrameEncoder,
    phase: Phase,
    protocol: Option<Protocol>,
    mechanism: Option<Box<dyn Mechanism>>,
    /// The mechanism wraps traffic frames (CURVE).
    encrypting: bool,
    /// `ZWS2.0`: the next message is the peer's routing id.
    expect_routing_id: bool,
    to_session: VecDeque<Message>,
    events: VecDeque<EngineEvent>,
    metadata: Option<Arc<Metadata>>,
    handshake_deadline: Option<Instant>,
    next_ping: Option<Instant>,
    ping_timeout: Option<Instant>,
    /// The peer sent CLOSE and we echoed it: the connection ends once the
    /// echo is written.
    closing: bool,
    error: Option<EngineError>,
}

impl WsEngine {
    /// The connecting side: queues the GET for `path` on `host` (the
    /// endpoint's host as written, IPv6 in brackets, no port, as libzmq).
    pub fn client(cfg: EngineConfig, host: &str, path: &str, now: Instant) -> WsEngine {
        let mut nonce = [0u8; 16];
        if getrandom::getrandom(&mut nonce).is_err() {
            // The key only defeats caching proxies (libzmq uses a plain
            // PRNG): a key that differs per connection beats failing it.
            static COUNTER: AtomicU64 = AtomicU64::new(0x5DEE_CE66_D1CE_4E5B);
            let c = COUNTER.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
            nonce[..8].copy_from_slice(&c.to_le_bytes());
            nonce[8..].copy_from_slice(&c.rotate_left(29).to_be_bytes());
        }
        Self::client_with_nonce(cfg, host, path, &nonce, now)
    }

    /// As [`WsEngine::client`] with a chosen nonce (tests, fuzzing).
    pub fn client_with_nonce(
        cfg: EngineConfig,
        host: &str,
        path: &str,
        nonce: &[u8; 16],
        now: Instant,
    ) -> WsEngine {
        let hs = ClientHandshake::new(cfg.mechanism, nonce);
        let request = hs.request(host, path);
        let mut e = WsEngine::new(cfg, Http::Client(hs), true, now);
        match request {
            Ok(bytes) => e.out.push_bytes(&bytes),
            Err(_) => {
                e.events
                    .push_back(EngineEvent::HandshakeFailed(Failure::Protocol(
                        ZMQ_PROTOCOL_ERROR_WS_UNSPECIFIED,
                    )));
                e.fail(ErrorReason::Protocol);
            }
        }
        e
    }

    /// The accepting side: waits for the client's GET.
    pub fn server(cfg: EngineConfig, now: Instant) -> WsEngine {
        let hs = ServerHandshake::new(cfg.mechanism);
        WsEngine::new(cfg, Http::Server(hs), false, now)
    }

    fn new(cfg: EngineConfig, http: Http, client: bool, now: Instant) -> WsEngine {
        let handshake_deadline = (!cfg.handshake_ivl.is_zero()).then(|| now + cfg.handshake_ivl);
        WsEngine {
            inbuf: InBuf::new(cfg.in_batch_size),
            out: OutQueue::default(),
            // A server must see masked frames, a client unmasked ones.
            decoder: FrameDecoder::new(!client, cfg.maxmsgsize),
            encoder: FrameEncoder::new(client),
            http,
            phase: Phase::Http,
            protocol: None,
            mechanism: None,
            encrypting: false,
            expect_routing_id: false,
            to_session: VecDeque::new(),
            events: VecDeque::new(),
            metadata: None,
            handshake_deadline,
            next_ping: None,
            ping_timeout: None,
            closing: false,
            error: None,
            cfg,
        }
    }

    /// Replaces the frame encoder (tests: a fixed masking key).
    #[cfg(test)]
    pub(crate) fn set_encoder(&mut self, e: FrameEncoder) {
        self.encoder = e;
    }

    /// The negotiated sub-protocol, once the upgrade is done.
    pub fn protocol(&self) -> Option<Protocol> {
        self.protocol
    }

    /// Always false: ZWS has no raw mode (libzmq's ws engine ignores
    /// ZMQ_STREAM's raw framing too).
    pub fn is_raw(&self) -> bool {
        false
    }

    // ---- input ----------------------------------------------------------

    /// Where the next received bytes should be written (empty once the
    /// connection is closing or failed).
    pub fn read_buf(&mut self) -> &mut [u8] {
        if self.error.is_some() || self.closing {
            return &mut [];
        }
        self.decoder.read_buf(&mut self.inbuf)
    }

    /// Records `n` bytes written into `read_buf` and runs the upgrade and
    /// the mechanism handshake as far as they go.
    pub fn advance_read(&mut self, n: usize, now: Instant) -> Result<(), EngineError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        self.decoder.filled(&mut self.inbuf, n);
        self.progress(now)
    }

    /// Feeds bytes (tests and callers that already hold them).
    pub fn feed(&mut self, mut data: &[u8], now: Instant) -> Result<(), EngineError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        while !data.is_empty() {
            let buf = self.read_buf();
            let n = buf.len().min(data.len());
            if n == 0 {
                return Ok(());
            }
            buf[..n].copy_from_slice(&data[..n]);
            self.advance_read(n, now)?;
            data = &data[n..];
        }
        Ok(())
    }

    /// Whether the engine can take more bytes now.
    pub fn wants_input(&mut self) -> bool {
        self.error.is_none() && !self.read_buf().is_empty()
    }

    /// Fails the connection for a protocol error found above the engine.
    pub fn protocol_error(&mut self) -> EngineError {
        self.fail(ErrorReason::Protocol)
    }

    fn fail(&mut self, reason: ErrorReason) -> EngineError {
        let e = EngineError {
            reason,
            handshaked: self.phase == Phase::Active,
        };
        self.error = Some(e);
        e
    }

    fn ws_failed(&mut self) -> EngineError {
        self.events
            .push_back(EngineEvent::HandshakeFailed(Failure::Protocol(
                ZMQ_PROTOCOL_ERROR_WS_UNSPECIFIED,
            )));
        self.fail(ErrorReason::Protocol)
    }

    fn progress(&mut self, now: Instant) -> Result<(), EngineError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.phase == Phase::Http {
            self.run_http(now)?;
        }
        if self.phase == Phase::Handshake {
            self.run_handshake(now)?;
        }
        Ok(())
    }

    fn run_http(&mut self, now: Instant) -> Result<(), EngineError> {
        let data = self.inbuf.data();
        if data.is_empty() {
            return Ok(());
        }
        let (consumed, protocol, reply) = match &mut self.http {
            Http::Client(c) => match c.feed(data) {
                Ok(Parsed::Incomplete) => (data.len(), None, None),
                Ok(Parsed::Done { consumed, value }) => (consumed, Some(value), None),
                Err(_) => return Err(self.ws_failed()),
            },
            Http::Server(s) => match s.feed(data) {
                Ok(Parsed::Incomplete) => (data.len(), None, None),
                Ok(Parsed::Done { consumed, value }) => {
                    (consumed, Some(value.protocol), Some(value.response()))
                }
                Err(_) => return Err(self.ws_failed()),
            },
            Http::Done => return Ok(()),
        };
        self.inbuf.consume(consumed);
        let Some(protocol) = protocol else {
            return Ok(());
        };
        self.http = Http::Done;
        if let Some(reply) = reply {
            self.out.push_bytes(&reply);
        }
        self.select_protocol(protocol, now)
    }

    fn select_protocol(&mut self, protocol: Protocol, now: Instant) -> Result<(), EngineError> {
        self.protocol = Some(protocol);
        let sec = self.cfg.security();
        let mech: Box<dyn Mechanism> = match protocol {
            Protocol::Zws20 => {
                // No mechanism: routing ids first, then traffic (RFC 45).
                let id = Message::from_slice(&self.cfg.routing_id);
                self.encoder.encode_message(&mut self.out, id);
                self.expect_routing_id = true;
                self.phase = Phase::Active;
                self.handshake_deadline = None;
                self.arm_heartbeat(now);
                self.events.push_back(EngineEvent::Ready);
                self.events.push_back(EngineEvent::HandshakeSucceeded);
                return Ok(());
            }
            Protocol::Null => Box::new(Null::new(sec)),
            Protocol::Plain => Box::new(Plain::new(sec)),
            Protocol::Curve => {
                let mut c = Curve::new(sec);
                // Subscriptions as 0x01/0x00-prefixed messages: what ZWS
                // specifies and what libzmq's ws engine passes to XPUB.
                c.set_downgrade_sub(true);
                Box::new(c)
            }
        };
        self.mechanism = Some(mech);
        self.phase = Phase::Handshake;
        Ok(())
    }

    fn arm_heartbeat(&mut self, now: Instant) {
        if !self.cfg.heartbeat_ivl.is_zero() {
            self.next_ping = Some(now + self.cfg.heartbeat_ivl);
        }
    }

    fn run_handshake(&mut self, now: Instant) -> Result<(), EngineError> {
        loop {
            let Some(mech) = self.mechanism.as_mut() else {
                return Ok(());
            };
            match mech.next_handshake_command() {
                Ok(Some(mut cmd)) => {
                    cmd.set_flags(flags::COMMAND);
                    self.encoder.encode_message(&mut self.out, cmd);
                }
                Ok(None) => {}
                Err(f) => return Err(self.handshake_failed(f)),
            }
            if let Some(ev) = mech.take_failure_event() {
                self.events.push_back(EngineEvent::HandshakeFailed(ev));
            }
            if let Some(req) = mech.take_zap_request() {
                self.events.push_back(EngineEvent::ZapRequest(req));
            }
            match mech.status() {
                Status::Ready => {
                    self.mechanism_ready(now);
                    return Ok(());
                }
                Status::Error => return Err(self.fail(ErrorReason::Protocol)),
                Status::Handshaking => {}
            }
            if self.closing {
                return Ok(());
            }
            let cmd = match self.decoder.decode(&mut self.inbuf) {
                Ok(Some(Frame::Message(m))) => m,
                Ok(Some(control)) => {
                    self.control(control);
                    continue;
                }
                Ok(None) => return Ok(()),
                Err(_) => return Err(self.fail(ErrorReason::Protocol)),
            };
            let Some(mech) = self.mechanism.as_mut() else {
                return Ok(());
            };
            if let Err(f) = mech.process_handshake_command(cmd) {
                return Err(self.handshake_failed(f));
            }
            if let Some(ev) = mech.take_failure_event() {
                self.events.push_back(EngineEvent::HandshakeFailed(ev));
            }
        }
    }

    /// A control frame: answer PING, note liveness, echo CLOSE.
    fn control(&mut self, f: Frame) {
        self.ping_timeout = None;
        match f {
            Frame::Ping(data) => self
                .encoder
                .encode_control(&mut self.out, opcode::PONG, &data),
            Frame::Pong(_) => {}
            Frame::Close(data) => {
                self.encoder
                    .encode_control(&mut self.out, opcode::CLOSE, &data);
                self.closing = true;
            }
            Frame::Message(_) => {}
        }
    }

    /// The ZAP handler's reply to the request of a `ZapRequest` event.
    pub fn zap_reply(&mut self, frames: &[Message], now: Instant) -> Result<(), EngineError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let Some(mech) = self.mechanism.as_mut() else {
            return Err(self.fail(ErrorReason::Protocol));
        };
        let result = zap::parse_reply(frames).and_then(|r| mech.zap_reply(r));
        if let Some(ev) = mech.take_failure_event() {
            self.events.push_back(EngineEvent::HandshakeFailed(ev));
        }
        if let Err(f) = result {
            return Err(self.handshake_failed(f));
        }
        self.run_handshake(now)
    }

    /// No ZAP handler could take the request.
    pub fn zap_unavailable(&mut self) -> EngineError {
        self.handshake_failed(Failure::NoDetail(libc::EFAULT))
    }

    fn handshake_failed(&mut self, f: Failure) -> EngineError {
        if f != Failure::Other {
            self.events.push_back(EngineEvent::HandshakeFailed(f));
        }
        self.fail(ErrorReason::Protocol)
    }

    fn mechanism_ready(&mut self, now: Instant) {
        self.phase = Phase::Active;
        self.handshake_deadline = None;
        self.arm_heartbeat(now);
        self.events.push_back(EngineEvent::Ready);
        let Some(mech) = self.mechanism.as_ref() else {
            return;
        };
        if self.cfg.recv_routing_id {
            let mut id = Message::from_slice(&mech.peer_routing_id());
            id.set_flags(flags::ROUTING_ID);
            self.to_session.push_back(id);
        }
        if self.cfg.router_notify & ZMQ_NOTIFY_CONNECT != 0 {
            self.to_session.push_back(Message::new());
        }
        // Precedence as in libzmq: the connection's own properties, then
        // what ZAP said, then what the peer claimed.
        let mut md = Metadata::new();
        for (k, v) in mech.properties() {
            md.set(k, v);
        }
        for (k, v) in mech.zap_properties() {
            md.set(k, v);
        }
        if !self.cfg.peer_address.is_empty() {
            md.set("Peer-Address", self.cfg.peer_address.as_bytes());
            md.set("__fd", self.cfg.fd.to_string().as_bytes());
        }
        self.encrypting = mech.encrypts();
        if !md.is_empty() {
            self.metadata = Some(Arc::new(md));
        }
        self.events.push_back(EngineEvent::HandshakeSucceeded);
    }

    /// The next event for the session.
    pub fn poll_event(&mut self) -> Option<EngineEvent> {
        self.events.pop_front()
    }

    /// Whether the upgrade or the mechanism handshake is still under way.
    pub fn is_handshaking(&self) -> bool {
        self.phase != Phase::Active
    }

    /// The next message for the session. `Ok(None)` means more bytes are
    /// needed. After the peer's CLOSE, the connection ends (`Connection`)
    /// once our echo has been written.
    pub fn next_msg(&mut self, _now: Instant) -> Result<Option<Message>, EngineError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if let Some(m) = self.to_session.pop_front() {
            return Ok(Some(m));
        }
        loop {
            if self.closing {
                if self.out.is_empty() {
                    return Err(self.fail(ErrorReason::Connection));
                }
                return Ok(None);
            }
            if self.phase != Phase::Active {
                return Ok(None);
            }
            let mut m = match self.decoder.decode(&mut self.inbuf) {
                Ok(Some(Frame::Message(m))) => m,
                Ok(Some(control)) => {
                    self.control(control);
                    continue;
                }
                Ok(None) => return Ok(None),
                Err(_) => return Err(self.fail(ErrorReason::Protocol)),
            };
            // Any traffic proves the peer alive.
            self.ping_timeout = None;
            if self.encrypting {
                let Some(mech) = self.mechanism.as_mut() else {
                    return Err(self.fail(ErrorReason::Protocol));
                };
                m = match mech.decode(m) {
                    Ok(m) => m,
                    Err(f) => return Err(self.handshake_failed(f)),
                };
            }
            if self.expect_routing_id {
                self.expect_routing_id = false;
                if self.cfg.recv_routing_id {
                    m.reset_flags(flags::MORE | flags::COMMAND);
                    m.set_flags(flags::ROUTING_ID);
                    return Ok(Some(m));
                }
                continue;
            }
            if m.flags() & flags::COMMAND != 0 {
                match self.process_command(m) {
                    Some(passed) => m = passed,
                    None => continue,
                }
            }
            if let Some(md) = &self.metadata {
                m.set_metadata(Some(Arc::clone(md)));
            }
            return Ok(Some(m));
        }
    }

    /// A ZMTP command in traffic; returns what the session gets.
    fn process_command(&mut self, m: Message) -> Option<Message> {
        let data = m.as_slice();
        let name_len = usize::from(*data.first()?);
        let name = data.get(1..1 + name_len)?;
        let body = &data[1 + name_len..];
        match name {
            b"PING" => {
                let context = body.get(2..).unwrap_or(&[]);
                let context = &context[..context.len().min(16)];
                let mut pong = Vec::with_capacity(5 + context.len());
                pong.extend_from_slice(b"\x04PONG");
                pong.extend_from_slice(context);
                let mut pm = Message::from_vec(pong);
                pm.set_flags(flags::COMMAND);
                self.push_out(pm);
                None
            }
            b"SUBSCRIBE" | b"CANCEL" => {
                let mut sub = Message::from_slice(body);
                sub.set_flags(if name == b"SUBSCRIBE" {
                    flags::SUBSCRIBE
                } else {
                    flags::CANCEL
                });
                Some(sub)
            }
            // RADIO/DISH group membership: the session reads the command.
            b"JOIN" | b"LEAVE" => Some(m.clone()),
            _ => None,
        }
    }

    // ---- output ---------------------------------------------------------

    /// Whether the session may hand over messages now.
    pub fn can_send(&self) -> bool {
        self.error.is_none()
            && !self.closing
            && self.phase == Phase::Active
            && self.out.len() < self.cfg.out_batch_size
    }

    /// Encodes a message from the session.
    pub fn send_msg(&mut self, msg: Message) {
        self.push_out(msg);
    }

    fn push_out(&mut self, msg: Message) {
        if !self.encrypting {
            self.encoder.encode_message(&mut self.out, msg);
            return;
        }
        let encoded = match self.mechanism.as_mut() {
            Some(mech) => mech.encode(msg),
            None => Err(Failure::Other),
        };
        match encoded {
            Ok(m) => self.encoder.encode_message(&mut self.out, m),
            Err(f) => {
                let _ = self.handshake_failed(f);
            }
        }
    }

    /// Bytes waiting to be written.
    pub fn pending_output(&self) -> usize {
        self.out.len()
    }

    /// The bytes to write next, as slices for one vectored write.
    pub fn output<'a>(&'a self, slices: &mut [IoSlice<'a>]) -> usize {
        self.out.slices(slices)
    }

    /// Records that `n` bytes were written.
    pub fn advance_write(&mut self, n: usize) {
        self.out.advance(n);
    }

    /// All pending output as one vector (tests).
    pub fn take_output(&mut self) -> Vec<u8> {
        self.out.take_all()
    }

    // ---- time -----------------------------------------------------------

    /// The next deadline the driver must call `on_timer` at.
    pub fn next_timeout(&self) -> Option<Instant> {
        [self.handshake_deadline, self.next_ping, self.ping_timeout]
            .into_iter()
            .flatten()
            .min()
    }

    /// Handles deadlines that have passed.
    pub fn on_timer(&mut self, now: Instant) -> Result<(), EngineError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
        if due(self.handshake_deadline) {
            self.handshake_deadline = None;
            return Err(self.fail(ErrorReason::Timeout));
        }
        if due(self.ping_timeout) {
            return Err(self.fail(ErrorReason::Timeout));
        }
        if due(self.next_ping) {
            if !self.closing {
                self.encoder
                    .encode_control(&mut self.out, opcode::PING, &[]);
            }
            self.next_ping = Some(now + self.cfg.heartbeat_ivl.max(Duration::from_millis(1)));
            if self.ping_timeout.is_none() && !self.cfg.heartbeat_timeout.is_zero() {
                self.ping_timeout = Some(now + self.cfg.heartbeat_timeout);
            }
        }
        Ok(())
    }

    /// The metadata attached to received messages.
    pub fn metadata(&self) -> Option<&Arc<Metadata>> {
        self.metadata.as_ref()
    }
}
