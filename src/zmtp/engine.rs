//! The ZMTP engine: one connection's protocol state machine, sans I/O.
//!
//! The driver (an I/O thread) feeds it received bytes (`read_buf` /
//! `advance_read`), pulls decoded messages (`next_msg`), pushes messages to
//! send (`send_msg`), writes what `output` yields, and calls `on_timer` at
//! `next_timeout`. The engine never touches a socket or the clock: `now` is
//! passed in, so every rule is tested on byte vectors.
//!
//! The greeting follows libzmq byte for byte so that every libzmq version
//! interoperates: we open with a 10-byte signature whose length field also
//! makes it a valid ZMTP 1.0 frame header, add the major version once the
//! peer's signature is in, and the rest once its revision byte is known; a
//! ZMTP 1.0 or 2.0 peer gets the matching framing and an identity message
//! instead of a security handshake (RFC 37 "Version Negotiation").

use std::collections::VecDeque;
use std::io::IoSlice;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::codec::{DecodeError, Decoder, Framing, InBuf, OutQueue};
use crate::constants::*;
use crate::msg::{flags, Message, Metadata};
use crate::security::curve::Curve;
use crate::security::null::Null;
use crate::security::plain::Plain;
use crate::security::{zap, Failure, Mechanism, Status};
use crate::util::arc_batch::ArcBatch;

const SIGNATURE_SIZE: usize = 10;
const V2_GREETING_SIZE: usize = 12;
const V3_GREETING_SIZE: usize = 64;
const REVISION_POS: usize = 10;
const MINOR_POS: usize = 11;

/// What the engine needs to know about its socket.
#[derive(Clone, Debug)]
pub struct EngineConfig {
    /// The socket type number (announced in READY).
    pub socket_type: i32,
    /// The routing id to announce (empty: none).
    pub routing_id: Vec<u8>,
    /// Whether the peer's routing id is delivered upward (ROUTER-like sockets).
    pub recv_routing_id: bool,
    /// ZMQ_NULL, ZMQ_PLAIN or ZMQ_CURVE.
    pub mechanism: i32,
    /// Whether this side is the security server.
    pub as_server: bool,
    /// Largest message accepted (-1: no limit).
    pub maxmsgsize: i64,
    /// Bytes read per batch.
    pub in_batch_size: usize,
    /// Bytes encoded per write.
    pub out_batch_size: usize,
    /// 0: no handshake timeout.
    pub handshake_ivl: Duration,
    /// 0: no heartbeats.
    pub heartbeat_ivl: Duration,
    /// TTL announced in PINGs, in deciseconds.
    pub heartbeat_ttl: u16,
    /// How long a PING may go unanswered.
    pub heartbeat_timeout: Duration,
    /// Application `X-` properties for the handshake.
    pub app_metadata: Vec<(String, String)>,
    /// Peer-Address property ("" for none).
    pub peer_address: String,
    /// The connection's descriptor (the "__fd" property, ZMQ_SRCFD).
    pub fd: i32,
    /// ZMQ_ROUTER_NOTIFY flags.
    pub router_notify: i32,
    /// Security or ZAP is configured: old protocol versions are refused.
    pub zap_enabled: bool,
    /// ZMQ_ZAP_DOMAIN.
    pub zap_domain: Vec<u8>,
    /// ZMQ_ZAP_ENFORCE_DOMAIN.
    pub zap_enforce_domain: bool,
    /// A ZAP handler was bound when the connection started.
    pub zap_handler: bool,
    /// PLAIN user name (client side).
    pub plain_username: Vec<u8>,
    /// PLAIN password (client side).
    pub plain_password: Vec<u8>,
    /// Our long-term CURVE public key.
    pub curve_public_key: [u8; 32],
    /// Our long-term CURVE secret key.
    pub curve_secret_key: [u8; 32],
    /// The server's CURVE public key (client side).
    pub curve_server_key: [u8; 32],
    /// No ZMTP at all: bytes in, bytes out (STREAM, ROUTER_RAW).
    pub raw: bool,
    /// Raw mode: announce connects and disconnects with empty messages.
    pub raw_notify: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            socket_type: ZMQ_PAIR,
            routing_id: Vec::new(),
            recv_routing_id: false,
            mechanism: ZMQ_NULL,
            as_server: false,
            maxmsgsize: -1,
            in_batch_size: 8192,
            out_batch_size: 8192,
            handshake_ivl: Duration::from_secs(30),
            heartbeat_ivl: Duration::ZERO,
            heartbeat_ttl: 0,
            heartbeat_timeout: Duration::ZERO,
            app_metadata: Vec::new(),
            peer_address: String::new(),
            fd: -1,
            router_notify: 0,
            zap_enabled: false,
            zap_domain: Vec::new(),
            zap_enforce_domain: false,
            zap_handler: false,
            plain_username: Vec::new(),
            plain_password: Vec::new(),
            curve_public_key: [0; 32],
            curve_secret_key: [0; 32],
            curve_server_key: [0; 32],
            raw: false,
            raw_notify: true,
        }
    }
}

impl EngineConfig {
    /// The engine configuration for a socket's options.
    pub fn from_options(
        o: &crate::options::Options,
        peer_address: String,
        fd: i32,
    ) -> EngineConfig {
        let hb_ivl = o.heartbeat_interval.max(0) as u64;
        let hb_timeout = if o.heartbeat_timeout < 0 {
            hb_ivl
        } else {
            o.heartbeat_timeout as u64
        };
        EngineConfig {
            socket_type: o.socket_type,
            routing_id: o.routing_id.clone(),
            recv_routing_id: o.recv_routing_id,
            mechanism: o.mechanism,
            as_server: o.as_server != 0,
            maxmsgsize: o.maxmsgsize,
            in_batch_size: o.in_batch_size.max(1) as usize,
            out_batch_size: o.out_batch_size.max(1) as usize,
            handshake_ivl: Duration::from_millis(o.handshake_ivl.max(0) as u64),
            heartbeat_ivl: Duration::from_millis(hb_ivl),
            heartbeat_ttl: o.heartbeat_ttl,
            heartbeat_timeout: Duration::from_millis(hb_timeout),
            app_metadata: o
                .app_metadata
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            peer_address,
            fd,
            router_notify: o.router_notify,
            zap_enabled: o.mechanism != ZMQ_NULL || !o.zap_domain.is_empty(),
            zap_domain: o.zap_domain.as_bytes().to_vec(),
            zap_enforce_domain: o.zap_enforce_domain,
            zap_handler: false,
            plain_username: o.plain_username.as_bytes().to_vec(),
            plain_password: o.plain_password.as_bytes().to_vec(),
            curve_public_key: o.curve_public_key,
            curve_secret_key: o.curve_secret_key,
            curve_server_key: o.curve_server_key,
            raw: o.raw_socket,
            raw_notify: o.raw_notify,
        }
    }

    /// What the security mechanism needs of this configuration.
    pub fn security(&self) -> crate::security::Config {
        crate::security::Config {
            socket_type: self.socket_type,
            routing_id: self.routing_id.clone(),
            app_metadata: self.app_metadata.clone(),
            recv_routing_id: self.recv_routing_id,
            as_server: self.as_server,
            zap_domain: self.zap_domain.clone(),
            zap_enforce_domain: self.zap_enforce_domain,
            zap_handler: self.zap_handler,
            peer_address: self.peer_address.clone(),
            plain_username: self.plain_username.clone(),
            plain_password: self.plain_password.clone(),
            curve_public_key: self.curve_public_key,
            curve_secret_key: self.curve_secret_key,
            curve_server_key: self.curve_server_key,
        }
    }
}

/// Why a connection ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorReason {
    /// The peer closed it or the network failed.
    Connection,
    /// The peer broke the protocol.
    Protocol,
    /// A handshake or heartbeat deadline passed.
    Timeout,
}

/// A fatal engine error; the connection must be closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineError {
    /// Why the engine stopped.
    pub reason: ErrorReason,
    /// Whether the handshake had completed.
    pub handshaked: bool,
}

impl EngineError {
    /// The connection itself failed or was closed by the peer (an I/O
    /// error, outside the engine).
    pub fn connection() -> EngineError {
        EngineError {
            reason: ErrorReason::Connection,
            handshaked: false,
        }
    }
}

/// Things the session must act on.
#[derive(Debug, PartialEq)]
pub enum EngineEvent {
    /// The peer is identified: attach the pipe (libzmq's engine_ready).
    Ready,
    /// The security handshake completed (ZMQ_EVENT_HANDSHAKE_SUCCEEDED).
    HandshakeSucceeded,
    /// The handshake failed (protocol or auth event).
    HandshakeFailed(Failure),
    /// The mechanism asks the ZAP handler: send these frames to it and
    /// bring its reply to `zap_reply`.
    ZapRequest(Vec<Message>),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    Greeting,
    Handshake,
    Active,
}

/// What the next received message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rx {
    /// ZMTP 1.0/2.0: the peer's identity message.
    RoutingId,
    /// Ordinary traffic.
    Data,
}

/// One connection's ZMTP state.
pub struct Engine {
    cfg: EngineConfig,
    inbuf: InBuf,
    out: OutQueue,
    phase: Phase,
    greeting_recv: [u8; V3_GREETING_SIZE],
    greeting_size: usize,
    /// 0: signature sent; 1: major version sent; 2: rest sent.
    greeting_sent: u8,
    framing: Framing,
    decoder: Option<Decoder>,
    mechanism: Option<Box<dyn Mechanism>>,
    /// The mechanism wraps traffic frames (CURVE).
    encrypting: bool,
    rx: Rx,
    subscription_required: bool,
    to_session: VecDeque<Message>,
    events: VecDeque<EngineEvent>,
    /// Attached to every received message, without an atomic operation
    /// per message (util/arc_batch.rs).
    metadata: Option<ArcBatch<Metadata>>,
    handshake_deadline: Option<Instant>,
    next_ping: Option<Instant>,
    ping_timeout: Option<Instant>,
    ttl_deadline: Option<Instant>,
    error: Option<EngineError>,
}

impl Engine {
    /// A new engine for a fresh connection; the signature is queued at once.
    pub fn new(cfg: EngineConfig, now: Instant) -> Engine {
        if cfg.raw {
            return Engine::new_raw(cfg);
        }
        let mut out = OutQueue::default();
        let mut sig = [0u8; SIGNATURE_SIZE];
        sig[0] = 0xFF;
        sig[1..9].copy_from_slice(&(cfg.routing_id.len() as u64 + 1).to_be_bytes());
        sig[9] = 0x7F;
        out.push_bytes(&sig);
        let handshake_deadline = if cfg.handshake_ivl.is_zero() {
            None
        } else {
            Some(now + cfg.handshake_ivl)
        };
        Engine {
            inbuf: InBuf::new(cfg.in_batch_size),
            out,
            phase: Phase::Greeting,
            greeting_recv: [0; V3_GREETING_SIZE],
            greeting_size: V2_GREETING_SIZE,
            greeting_sent: 0,
            framing: Framing::V3_1,
            decoder: None,
            mechanism: None,
            encrypting: false,
            rx: Rx::Data,
            subscription_required: false,
            to_session: VecDeque::new(),
            events: VecDeque::new(),
            metadata: None,
            handshake_deadline,
            next_ping: None,
            ping_timeout: None,
            ttl_deadline: None,
            error: None,
            cfg,
        }
    }

    /// A raw engine: no greeting, no framing; every read is one message.
    fn new_raw(cfg: EngineConfig) -> Engine {
        let mut md = Metadata::new();
        if !cfg.peer_address.is_empty() {
            md.set("Peer-Address", cfg.peer_address.as_bytes());
            md.set("__fd", cfg.fd.to_string().as_bytes());
        }
        let metadata = (!md.is_empty()).then(|| ArcBatch::new(Arc::new(md)));
        let mut to_session = VecDeque::new();
        if cfg.raw_notify {
            let mut hello = Message::new();
            hello.set_metadata(metadata.as_ref().map(|md| Arc::clone(md.arc())));
            to_session.push_back(hello);
        }
        Engine {
            inbuf: InBuf::new(cfg.in_batch_size),
            out: OutQueue::default(),
            phase: Phase::Active,
            greeting_recv: [0; V3_GREETING_SIZE],
            greeting_size: V2_GREETING_SIZE,
            greeting_sent: 2,
            framing: Framing::V2,
            decoder: None,
            mechanism: None,
            encrypting: false,
            rx: Rx::Data,
            subscription_required: false,
            to_session,
            events: VecDeque::from([EngineEvent::Ready]),
            metadata,
            handshake_deadline: None,
            next_ping: None,
            ping_timeout: None,
            ttl_deadline: None,
            error: None,
            cfg,
        }
    }

    /// Whether this engine speaks no ZMTP (STREAM, ROUTER_RAW).
    pub fn is_raw(&self) -> bool {
        self.cfg.raw
    }

    // ---- input ----------------------------------------------------------

    /// Where the next received bytes should be written.
    pub fn read_buf(&mut self) -> &mut [u8] {
        match self.decoder.as_mut() {
            Some(d) => d.read_buf(&mut self.inbuf),
            None => self.inbuf.spare(),
        }
    }

    /// Records `n` bytes written into `read_buf` and runs the greeting and
    /// handshake as far as they go. Traffic is decoded later, by `next_msg`.
    pub fn advance_read(&mut self, n: usize, now: Instant) -> Result<(), EngineError> {
        match self.decoder.as_mut() {
            Some(d) => d.filled(&mut self.inbuf, n),
            None => self.inbuf.filled(n),
        }
        self.progress(now)
    }

    /// Feeds bytes (convenience for tests and callers that already hold them).
    pub fn feed(&mut self, mut data: &[u8], now: Instant) -> Result<(), EngineError> {
        while !data.is_empty() {
            let buf = self.read_buf();
            let n = buf.len().min(data.len());
            if n == 0 {
                // Input is full: let traffic be drained by next_msg first.
                return Ok(());
            }
            buf[..n].copy_from_slice(&data[..n]);
            self.advance_read(n, now)?;
            data = &data[n..];
        }
        Ok(())
    }

    /// Whether the engine can take more bytes now (decoded traffic must be
    /// pulled with `next_msg` first when the buffer is full).
    pub fn wants_input(&mut self) -> bool {
        self.error.is_none() && !self.read_buf().is_empty()
    }

    /// Fails the connection for a protocol error found above the engine
    /// (e.g. a session's framing rule).
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

    fn progress(&mut self, now: Instant) -> Result<(), EngineError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if self.phase == Phase::Greeting {
            self.receive_greeting(now)?;
        }
        if self.phase == Phase::Handshake {
            self.run_handshake(now)?;
        }
        Ok(())
    }

    fn receive_greeting(&mut self, now: Instant) -> Result<(), EngineError> {
        loop {
            let avail = self.inbuf.data();
            if avail.is_empty() {
                return Ok(());
            }
            let n = avail.len().min(self.greeting_size);
            self.greeting_recv[..n].copy_from_slice(&avail[..n]);
            if self.greeting_recv[0] != 0xFF {
                return self.select_handshake(true, now);
            }
            if n < SIGNATURE_SIZE {
                return Ok(());
            }
            if self.greeting_recv[9] & 0x01 == 0 {
                return self.select_handshake(true, now);
            }
            // A versioned peer: answer its signature with our major version,
            // and once its revision is known, with the rest of our greeting.
            if self.greeting_sent == 0 {
                self.out.push_bytes(&[3]);
                self.greeting_sent = 1;
            }
            if n > SIGNATURE_SIZE && self.greeting_sent == 1 {
                let rev = self.greeting_recv[REVISION_POS];
                if rev == 0 || rev == 1 {
                    self.out.push_bytes(&[self.cfg.socket_type as u8]);
                } else {
                    let mut rest = [0u8; 1 + 20 + 32];
                    rest[0] = 1;
                    let mech: &[u8] = match self.cfg.mechanism {
                        ZMQ_PLAIN => b"PLAIN",
                        ZMQ_CURVE => b"CURVE",
                        ZMQ_GSSAPI => b"GSSAPI",
                        _ => b"NULL",
                    };
                    rest[1..1 + mech.len()].copy_from_slice(mech);
                    self.out.push_bytes(&rest);
                    self.greeting_size = V3_GREETING_SIZE;
                }
                self.greeting_sent = 2;
                continue;
            }
            if n < self.greeting_size {
                return Ok(());
            }
            self.inbuf.consume(self.greeting_size);
            return self.select_handshake(false, now);
        }
    }

    fn select_handshake(&mut self, unversioned: bool, now: Instant) -> Result<(), EngineError> {
        let rev = self.greeting_recv[REVISION_POS];
        let minor = self.greeting_recv[MINOR_POS];
        if unversioned || rev == 0 || rev == 1 {
            if self.cfg.zap_enabled {
                return Err(self.fail(ErrorReason::Protocol));
            }
            self.framing = if !unversioned && rev == 1 {
                Framing::V2
            } else {
                Framing::V1
            };
            self.decoder = Some(Decoder::new(self.framing, self.cfg.maxmsgsize));
            if unversioned {
                // Our signature already was the identity frame's header:
                // only its body is left to send.
                let id = self.cfg.routing_id.clone();
                self.out.push_bytes(&id);
                if matches!(self.cfg.socket_type, ZMQ_PUB | ZMQ_XPUB) {
                    self.subscription_required = true;
                }
            } else {
                let id = Message::from_slice(&self.cfg.routing_id);
                self.out.push_frame(self.framing, id);
            }
            self.rx = Rx::RoutingId;
            self.phase = Phase::Active;
            self.handshake_deadline = None;
            self.events.push_back(EngineEvent::Ready);
            return Ok(());
        }
        // ZMTP 3.x: the mechanisms must match.
        self.framing = if rev == 3 && minor == 0 {
            Framing::V2
        } else {
            Framing::V3_1
        };
        self.decoder = Some(Decoder::new(self.framing, self.cfg.maxmsgsize));
        let peer_mech = &self.greeting_recv[12..32];
        let ours: &[u8] = match self.cfg.mechanism {
            ZMQ_NULL => b"NULL",
            ZMQ_PLAIN => b"PLAIN",
            ZMQ_CURVE => b"CURVE",
            _ => b"GSSAPI",
        };
        let matches =
            peer_mech.starts_with(ours) && peer_mech[ours.len()..].iter().all(|&b| b == 0);
        let mech: Option<Box<dyn Mechanism>> = match self.cfg.mechanism {
            _ if !matches => None,
            ZMQ_NULL => Some(Box::new(Null::new(self.cfg.security()))),
            ZMQ_PLAIN => Some(Box::new(Plain::new(self.cfg.security()))),
            ZMQ_CURVE => {
                let mut curve = Curve::new(self.cfg.security());
                // ZMTP 3.0 peers take subscriptions as 1/0-prefixed data.
                curve.set_downgrade_sub(self.framing != Framing::V3_1);
                Some(Box::new(curve))
            }
            _ => None,
        };
        let Some(mech) = mech else {
            self.events
                .push_back(EngineEvent::HandshakeFailed(Failure::Protocol(
                    ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH,
                )));
            return Err(self.fail(ErrorReason::Protocol));
        };
        self.mechanism = Some(mech);
        self.phase = Phase::Handshake;
        self.run_handshake(now)
    }

    fn run_handshake(&mut self, now: Instant) -> Result<(), EngineError> {
        loop {
            let Some(mech) = self.mechanism.as_mut() else {
                return Ok(());
            };
            match mech.next_handshake_command() {
                Ok(Some(cmd)) => self.out.push_frame(self.framing, cmd),
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
            let decoded = match self.decoder.as_mut() {
                Some(d) => d.decode(&mut self.inbuf),
                None => return Ok(()),
            };
            let cmd = match decoded {
                Ok(Some(m)) => m,
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

    /// No ZAP handler could take the request (it went away): libzmq fails
    /// such a handshake without detail.
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
        if !self.cfg.heartbeat_ivl.is_zero() {
            self.next_ping = Some(now + self.cfg.heartbeat_ivl);
        }
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
            self.metadata = Some(ArcBatch::new(Arc::new(md)));
        }
        self.events.push_back(EngineEvent::HandshakeSucceeded);
    }

    /// The next event for the session.
    pub fn poll_event(&mut self) -> Option<EngineEvent> {
        self.events.pop_front()
    }

    /// Whether the handshake (greeting and security) is still under way.
    pub fn is_handshaking(&self) -> bool {
        self.phase != Phase::Active
    }

    /// The next message for the session, decoding buffered bytes as needed.
    /// `Ok(None)` means more bytes are needed.
    pub fn next_msg(&mut self, now: Instant) -> Result<Option<Message>, EngineError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        if let Some(m) = self.to_session.pop_front() {
            return Ok(Some(m));
        }
        if self.phase != Phase::Active {
            return Ok(None);
        }
        if self.cfg.raw {
            let data = self.inbuf.data();
            if data.is_empty() {
                return Ok(None);
            }
            let mut m = Message::from_slice(data);
            let n = data.len();
            self.inbuf.consume(n);
            m.set_metadata(self.metadata.as_mut().map(ArcBatch::clone_arc));
            return Ok(Some(m));
        }
        loop {
            let decoded = match self.decoder.as_mut() {
                Some(d) => d.decode(&mut self.inbuf),
                None => return Ok(None),
            };
            let mut m = match decoded {
                Ok(Some(m)) => m,
                Ok(None) => return Ok(None),
                Err(DecodeError::TooLarge) | Err(DecodeError::Malformed) => {
                    return Err(self.fail(ErrorReason::Protocol));
                }
            };
            if self.encrypting {
                let Some(mech) = self.mechanism.as_mut() else {
                    return Err(self.fail(ErrorReason::Protocol));
                };
                m = match mech.decode(m) {
                    Ok(m) => m,
                    Err(f) => return Err(self.handshake_failed(f)),
                };
            }
            if self.rx == Rx::RoutingId {
                self.rx = Rx::Data;
                if self.cfg.recv_routing_id {
                    m.reset_flags(flags::MORE);
                    m.set_flags(flags::ROUTING_ID);
                    self.to_session.push_back(m);
                }
                if self.subscription_required {
                    let mut sub = Message::new();
                    sub.set_flags(flags::SUBSCRIBE);
                    self.to_session.push_back(sub);
                }
                if let Some(m) = self.to_session.pop_front() {
                    return Ok(Some(m));
                }
                continue;
            }
            // Any traffic proves the peer alive.
            self.ping_timeout = None;
            self.ttl_deadline = None;
            if m.flags() & flags::COMMAND != 0 {
                match self.process_command(m, now) {
                    Some(passed) => m = passed,
                    None => continue,
                }
            } else if self.framing != Framing::V3_1 || self.mechanism.is_none() {
                // Before ZMTP 3.1 subscriptions travel as 1/0-prefixed messages;
                // XPUB and PUB recognise them, so leave them as they are.
            }
            if let Some(md) = &mut self.metadata {
                m.set_metadata(Some(md.clone_arc()));
            }
            return Ok(Some(m));
        }
    }

    /// Handles a command received in traffic; returns what the session gets.
    fn process_command(&mut self, m: Message, now: Instant) -> Option<Message> {
        let data = m.as_slice();
        let name_len = *data.first()? as usize;
        if data.len() < name_len + 1 {
            return None;
        }
        let name = &data[1..1 + name_len];
        let body = &data[1 + name_len..];
        match name {
            b"PING" => {
                if body.len() < 2 {
                    return None;
                }
                let ttl_ms = u64::from(u16::from_be_bytes([body[0], body[1]])) * 100;
                if self.ttl_deadline.is_none() && ttl_ms > 0 {
                    self.ttl_deadline = Some(now + Duration::from_millis(ttl_ms));
                }
                let context = &body[2..body.len().min(2 + 16)];
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
            // RADIO/DISH group membership: the session's framing reads the
            // whole command.
            b"JOIN" | b"LEAVE" => Some(m.clone()),
            _ => None,
        }
    }

    // ---- output ---------------------------------------------------------

    /// Whether traffic leaves as plain ZMTP 2.0/3.x frames that anyone may
    /// encode (handshake done; no CURVE, no ZMTP 1.0, not raw): the
    /// condition for the socket's thread to write directly (io/direct.rs).
    pub fn direct_framing(&self) -> bool {
        self.error.is_none()
            && self.phase == Phase::Active
            && !self.encrypting
            && !self.cfg.raw
            && self.framing != Framing::V1
    }

    /// Whether the session may hand over messages now (handshake done and
    /// the output batch not full).
    pub fn can_send(&self) -> bool {
        self.error.is_none()
            && self.phase == Phase::Active
            && self.out.len() < self.cfg.out_batch_size
    }

    /// Encodes a message from the session.
    pub fn send_msg(&mut self, msg: Message) {
        if self.cfg.raw {
            self.out.push_raw(msg);
        } else {
            self.push_out(msg);
        }
    }

    /// Queues one traffic frame, through the mechanism when it encrypts.
    fn push_out(&mut self, msg: Message) {
        if !self.encrypting {
            self.out.push_frame(self.framing, msg);
            return;
        }
        let encoded = match self.mechanism.as_mut() {
            Some(mech) => mech.encode(msg),
            None => Err(Failure::Other),
        };
        match encoded {
            Ok(m) => self.out.push_frame(self.framing, m),
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
        [
            self.handshake_deadline,
            self.next_ping,
            self.ping_timeout,
            self.ttl_deadline,
        ]
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
        if due(self.ttl_deadline) || due(self.ping_timeout) {
            return Err(self.fail(ErrorReason::Timeout));
        }
        if due(self.next_ping) {
            let mut ping = Vec::with_capacity(7);
            ping.extend_from_slice(b"\x04PING");
            ping.extend_from_slice(&self.cfg.heartbeat_ttl.to_be_bytes());
            let mut m = Message::from_vec(ping);
            m.set_flags(flags::COMMAND);
            self.push_out(m);
            self.next_ping = Some(now + self.cfg.heartbeat_ivl);
            if self.ping_timeout.is_none() && !self.cfg.heartbeat_timeout.is_zero() {
                self.ping_timeout = Some(now + self.cfg.heartbeat_timeout);
            }
        }
        Ok(())
    }

    /// The metadata attached to received messages.
    pub fn metadata(&self) -> Option<&Arc<Metadata>> {
        self.metadata.as_ref().map(ArcBatch::arc)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(t: i32, id: &[u8], recv_id: bool) -> EngineConfig {
        EngineConfig {
            socket_type: t,
            routing_id: id.to_vec(),
            recv_routing_id: recv_id,
            ..EngineConfig::default()
        }
    }

    /// Shuttles bytes between two engines until both are idle, optionally
    /// one byte at a time.
    fn pump(a: &mut Engine, b: &mut Engine, now: Instant, bytewise: bool) {
        for _ in 0..10_000 {
            let ab = a.take_output();
            let ba = b.take_output();
            if ab.is_empty() && ba.is_empty() {
                return;
            }
            if bytewise {
                for byte in ab {
                    b.feed(&[byte], now).unwrap();
                }
                for byte in ba {
                    a.feed(&[byte], now).unwrap();
                }
            } else {
                b.feed(&ab, now).unwrap();
                a.feed(&ba, now).unwrap();
            }
        }
        panic!("engines never went idle");
    }

    fn events(e: &mut Engine) -> Vec<EngineEvent> {
        std::iter::from_fn(|| e.poll_event()).collect()
    }

    #[test]
    fn null_handshake_and_traffic() {
        for bytewise in [false, true] {
            let now = Instant::now();
            let mut d = Engine::new(cfg(ZMQ_DEALER, b"dealer-1", false), now);
            let mut r = Engine::new(cfg(ZMQ_ROUTER, b"", true), now);
            pump(&mut d, &mut r, now, bytewise);
            assert_eq!(
                events(&mut d),
                vec![EngineEvent::Ready, EngineEvent::HandshakeSucceeded]
            );
            assert_eq!(
                events(&mut r),
                vec![EngineEvent::Ready, EngineEvent::HandshakeSucceeded]
            );
            let id = r.next_msg(now).unwrap().unwrap();
            assert!(id.is_routing_id());
            assert_eq!(&id[..], b"dealer-1");
            let mut m = Message::from_slice(b"hello");
            m.set_more(true);
            d.send_msg(m);
            d.send_msg(Message::from_slice(&[5u8; 5000]));
            pump(&mut d, &mut r, now, bytewise);
            let m1 = r.next_msg(now).unwrap().unwrap();
            assert_eq!(&m1[..], b"hello");
            assert!(m1.more());
            assert_eq!(m1.property("Socket-Type"), Some("DEALER"));
            let m2 = r.next_msg(now).unwrap().unwrap();
            assert_eq!(m2.len(), 5000);
            assert!(r.next_msg(now).unwrap().is_none());
        }
    }

    #[test]
    fn greeting_bytes_are_libzmq_compatible() {
        let now = Instant::now();
        let mut e = Engine::new(cfg(ZMQ_SUB, b"", false), now);
        assert_eq!(e.take_output(), [0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F]);
        // A libzmq 4.x peer's full greeting.
        let mut g = [0u8; 64];
        g[0] = 0xFF;
        g[9] = 0x7F;
        g[10] = 3;
        g[11] = 1;
        g[12..16].copy_from_slice(b"NULL");
        e.feed(&g, now).unwrap();
        let out = e.take_output();
        assert_eq!(out[0], 3);
        assert_eq!(out[1], 1);
        assert_eq!(&out[2..6], b"NULL");
        // Then the READY command with Socket-Type SUB.
        assert_eq!(out[54], crate::zmtp::codec::wire::COMMAND);
        assert_eq!(&out[56..62], b"\x05READY");
    }

    #[test]
    fn mechanism_mismatch_fails() {
        let now = Instant::now();
        let mut e = Engine::new(cfg(ZMQ_PULL, b"", false), now);
        let mut g = [0u8; 64];
        g[0] = 0xFF;
        g[9] = 0x7F;
        g[10] = 3;
        g[11] = 1;
        g[12..17].copy_from_slice(b"CURVE");
        let err = e.feed(&g, now).unwrap_err();
        assert_eq!(err.reason, ErrorReason::Protocol);
        assert_eq!(
            events(&mut e),
            vec![EngineEvent::HandshakeFailed(Failure::Protocol(
                ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH
            ))]
        );
    }

    #[test]
    fn zmtp_1_0_peer() {
        let now = Instant::now();
        let mut e = Engine::new(cfg(ZMQ_PULL, b"me", true), now);
        e.take_output();
        // A ZMTP 1.0 peer: identity frame "id" (length 3, flags 0), then "hi".
        e.feed(&[3, 0, b'i', b'd', 3, 0, b'h', b'i'], now).unwrap();
        assert_eq!(events(&mut e), vec![EngineEvent::Ready]);
        assert_eq!(e.take_output(), b"me");
        let id = e.next_msg(now).unwrap().unwrap();
        assert!(id.is_routing_id());
        assert_eq!(&id[..], b"id");
        assert_eq!(&e.next_msg(now).unwrap().unwrap()[..], b"hi");
    }

    #[test]
    fn zmtp_2_0_peer() {
        let now = Instant::now();
        let mut e = Engine::new(cfg(ZMQ_PULL, b"", false), now);
        e.take_output();
        let mut g = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 1, ZMQ_PUSH as u8];
        g.extend_from_slice(&[0, 0]); // empty identity frame
        g.extend_from_slice(&[0, 2, b'o', b'k']);
        e.feed(&g, now).unwrap();
        let out = e.take_output();
        assert_eq!(out, [3, ZMQ_PULL as u8, 0, 0]);
        assert_eq!(&e.next_msg(now).unwrap().unwrap()[..], b"ok");
    }

    #[test]
    fn zmtp_3_0_peer_uses_prefixed_subscriptions() {
        let now = Instant::now();
        let mut sub = Engine::new(cfg(ZMQ_SUB, b"", false), now);
        sub.take_output();
        let mut g = [0u8; 64];
        g[0] = 0xFF;
        g[9] = 0x7F;
        g[10] = 3;
        g[11] = 0;
        g[12..16].copy_from_slice(b"NULL");
        sub.feed(&g, now).unwrap();
        let mut ready = Vec::new();
        ready.extend_from_slice(b"\x05READY");
        crate::security::properties::encode(&mut ready, "Socket-Type", b"PUB");
        let mut q = OutQueue::default();
        let mut m = Message::from_vec(ready);
        m.set_flags(flags::COMMAND);
        q.push_frame(Framing::V2, m);
        sub.feed(&q.take_all(), now).unwrap();
        assert!(!sub.is_handshaking());
        sub.take_output();
        let mut s = Message::from_slice(b"topic");
        s.set_flags(flags::SUBSCRIBE);
        sub.send_msg(s);
        assert_eq!(sub.take_output(), [0, 6, 1, b't', b'o', b'p', b'i', b'c']);
    }

    #[test]
    fn handshake_timeout() {
        let now = Instant::now();
        let mut c = cfg(ZMQ_REQ, b"", false);
        c.handshake_ivl = Duration::from_millis(100);
        let mut e = Engine::new(c, now);
        assert_eq!(e.next_timeout(), Some(now + Duration::from_millis(100)));
        assert!(e.on_timer(now + Duration::from_millis(50)).is_ok());
        let err = e.on_timer(now + Duration::from_millis(100)).unwrap_err();
        assert_eq!(
            err,
            EngineError {
                reason: ErrorReason::Timeout,
                handshaked: false
            }
        );
    }

    #[test]
    fn heartbeats_ping_pong_and_timeout() {
        let now = Instant::now();
        let mut ca = cfg(ZMQ_DEALER, b"", false);
        ca.heartbeat_ivl = Duration::from_millis(100);
        ca.heartbeat_timeout = Duration::from_millis(300);
        ca.heartbeat_ttl = 5;
        let mut a = Engine::new(ca, now);
        let mut b = Engine::new(cfg(ZMQ_ROUTER, b"", false), now);
        pump(&mut a, &mut b, now, false);
        assert_eq!(a.next_timeout(), Some(now + Duration::from_millis(100)));
        let t1 = now + Duration::from_millis(100);
        a.on_timer(t1).unwrap();
        // The PING reaches b, which answers PONG and arms a 500 ms TTL.
        b.feed(&a.take_output(), t1).unwrap();
        assert!(b.next_msg(t1).unwrap().is_none());
        assert_eq!(b.next_timeout(), Some(t1 + Duration::from_millis(500)));
        a.feed(&b.take_output(), t1).unwrap();
        assert!(a.next_msg(t1).unwrap().is_none());
        // The PONG cleared a's timeout; silence from now on makes it expire.
        let t2 = t1 + Duration::from_millis(100);
        a.on_timer(t2).unwrap();
        let err = a.on_timer(t2 + Duration::from_millis(300)).unwrap_err();
        assert_eq!(err.reason, ErrorReason::Timeout);
        assert!(err.handshaked);
    }

    #[test]
    fn oversized_frame_closes() {
        let now = Instant::now();
        let mut c = cfg(ZMQ_PULL, b"", false);
        c.maxmsgsize = 100;
        let mut a = Engine::new(c, now);
        let mut b = Engine::new(cfg(ZMQ_PUSH, b"", false), now);
        pump(&mut a, &mut b, now, false);
        b.send_msg(Message::from_slice(&[0u8; 101]));
        a.feed(&b.take_output(), now).unwrap();
        assert_eq!(a.next_msg(now).unwrap_err().reason, ErrorReason::Protocol);
    }

    #[test]
    fn garbage_greeting_is_treated_as_zmtp_1_and_bad_frames_close() {
        let now = Instant::now();
        let mut e = Engine::new(cfg(ZMQ_PULL, b"", false), now);
        e.feed(&[0u8; 4], now).unwrap();
        assert!(e.next_msg(now).is_err());
    }
}
