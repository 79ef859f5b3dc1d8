//! What the fuzz targets and the seed recorder (fuzz/record) share: the
//! layout of each target's input and the driving of a ZMTP engine. Uses
//! only std and zmqrs, so the recorder can include this file as it is.
//!
//! Engine targets read `[config][chunk seed][peer bytes...]`: the config
//! byte picks the socket type and features, the chunk seed how the peer's
//! bytes are cut into reads and how far the clock moves between them. The
//! peer bytes are a plain byte stream, so a recorded conversation is a
//! valid seed and mutations of it stay meaningful.

#![allow(dead_code)]
// The drivers only need to know that a connection failed, not why.
#![allow(clippy::result_unit_err)]

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use zmqrs::constants::*;
use zmqrs::zmtp::engine::{Engine, EngineConfig, EngineEvent};
use zmqrs::Message;

/// Socket types selectable by four bits of a config byte.
pub const SOCKET_TYPES: [i32; 16] = [
    ZMQ_PAIR,
    ZMQ_PUB,
    ZMQ_SUB,
    ZMQ_REQ,
    ZMQ_REP,
    ZMQ_DEALER,
    ZMQ_ROUTER,
    ZMQ_PULL,
    ZMQ_PUSH,
    ZMQ_XPUB,
    ZMQ_XSUB,
    ZMQ_CLIENT,
    ZMQ_SERVER,
    ZMQ_RADIO,
    ZMQ_DISH,
    ZMQ_SCATTER,
];

/// The socket type that may talk to `t` (for scripted peers).
pub fn peer_type(t: i32) -> i32 {
    match t {
        ZMQ_PUB => ZMQ_SUB,
        ZMQ_SUB => ZMQ_PUB,
        ZMQ_XPUB => ZMQ_XSUB,
        ZMQ_XSUB => ZMQ_XPUB,
        ZMQ_REQ => ZMQ_REP,
        ZMQ_REP => ZMQ_REQ,
        ZMQ_DEALER => ZMQ_ROUTER,
        ZMQ_ROUTER => ZMQ_DEALER,
        ZMQ_PULL => ZMQ_PUSH,
        ZMQ_PUSH => ZMQ_PULL,
        ZMQ_CLIENT => ZMQ_SERVER,
        ZMQ_SERVER => ZMQ_CLIENT,
        ZMQ_RADIO => ZMQ_DISH,
        ZMQ_DISH => ZMQ_RADIO,
        ZMQ_SCATTER => ZMQ_GATHER,
        ZMQ_GATHER => ZMQ_SCATTER,
        _ => ZMQ_PAIR,
    }
}

/// Index of a socket type in [`SOCKET_TYPES`] (0 when absent).
pub fn type_index(t: i32) -> u8 {
    SOCKET_TYPES.iter().position(|&x| x == t).unwrap_or(0) as u8
}

/// Fixed test keys: the fuzzer needs stable keys (and, in fuzz builds,
/// zmqrs's fixed short-term keys) to replay a recorded CURVE handshake.
pub const SERVER_SECRET: [u8; 32] = [0x21; 32];
/// The client's long-term secret key.
pub const CLIENT_SECRET: [u8; 32] = [0x43; 32];

/// The server's long-term public key.
pub fn server_public() -> [u8; 32] {
    static K: OnceLock<[u8; 32]> = OnceLock::new();
    *K.get_or_init(|| zmqrs::security::curve::public_key(&SERVER_SECRET))
}

/// The client's long-term public key.
pub fn client_public() -> [u8; 32] {
    static K: OnceLock<[u8; 32]> = OnceLock::new();
    *K.get_or_init(|| zmqrs::security::curve::public_key(&CLIENT_SECRET))
}

/// The security mechanism of an engine target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mech {
    /// ZMQ_NULL.
    Null,
    /// ZMQ_PLAIN.
    Plain,
    /// ZMQ_CURVE.
    Curve,
}

/// Config byte bits.
pub mod cfgbits {
    /// We are the server (PLAIN/CURVE server; for NULL, the side that
    /// accepted the connection: only ZAP differs).
    pub const SERVER: u8 = 0x01;
    /// Bits 1-4: index in `SOCKET_TYPES`.
    pub const TYPE_SHIFT: u8 = 1;
    /// Keep the peer's routing id, and announce our own.
    pub const ROUTING_ID: u8 = 0x20;
    /// Heartbeats on and a small MAXMSGSIZE.
    pub const HEARTBEAT: u8 = 0x40;
    /// A ZAP domain and handler (answered by the driver).
    pub const ZAP: u8 = 0x80;
}

/// Builds a config byte.
pub fn config_byte(server: bool, socket_type: i32, routing_id: bool, hb: bool, zap: bool) -> u8 {
    let mut b = type_index(socket_type) << cfgbits::TYPE_SHIFT;
    if server {
        b |= cfgbits::SERVER;
    }
    if routing_id {
        b |= cfgbits::ROUTING_ID;
    }
    if hb {
        b |= cfgbits::HEARTBEAT;
    }
    if zap {
        b |= cfgbits::ZAP;
    }
    b
}

/// The engine configuration a config byte stands for.
pub fn engine_config(mech: Mech, config: u8) -> EngineConfig {
    let socket_type = SOCKET_TYPES[usize::from((config >> cfgbits::TYPE_SHIFT) & 0x0f)];
    let server = config & cfgbits::SERVER != 0;
    let mut c = EngineConfig {
        socket_type,
        as_server: server && mech != Mech::Null,
        peer_address: "127.0.0.1".into(),
        fd: 7,
        handshake_ivl: Duration::from_secs(2),
        ..EngineConfig::default()
    };
    if config & cfgbits::ROUTING_ID != 0 {
        c.routing_id = b"fuzz-id".to_vec();
        c.recv_routing_id = true;
        c.app_metadata = vec![("X-Fuzz".into(), "yes".into())];
    }
    if config & cfgbits::HEARTBEAT != 0 {
        c.heartbeat_ivl = Duration::from_millis(100);
        c.heartbeat_ttl = 5;
        c.heartbeat_timeout = Duration::from_millis(300);
        c.maxmsgsize = 1024;
        c.router_notify = ZMQ_NOTIFY_CONNECT | ZMQ_NOTIFY_DISCONNECT;
    }
    if config & cfgbits::ZAP != 0 && server {
        c.zap_domain = b"fuzz".to_vec();
        c.zap_handler = true;
        c.zap_enabled = true;
    }
    match mech {
        Mech::Null => c.mechanism = ZMQ_NULL,
        Mech::Plain => {
            c.mechanism = ZMQ_PLAIN;
            c.zap_enabled = true;
            if !server {
                c.plain_username = b"admin".to_vec();
                c.plain_password = b"password".to_vec();
            }
        }
        Mech::Curve => {
            c.mechanism = ZMQ_CURVE;
            c.zap_enabled = true;
            if server {
                c.curve_secret_key = SERVER_SECRET;
                c.curve_public_key = server_public();
            } else {
                c.curve_secret_key = CLIENT_SECRET;
                c.curve_public_key = client_public();
                c.curve_server_key = server_public();
            }
        }
    }
    c
}

/// A small deterministic generator (xorshift64*).
pub struct Rng(u64);

impl Rng {
    /// Seeded from one input byte.
    pub fn new(seed: u8) -> Rng {
        Rng(0x9E37_79B9_7F4A_7C15 ^ u64::from(seed).wrapping_mul(0x0100_0000_01B3) | 1)
    }

    /// The next value.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A value in `0..n` (0 when n is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next_u64() % n
        }
    }
}

/// How a chunk seed cuts the peer's bytes and moves the clock.
pub struct Chunker {
    rng: Rng,
    mode: u8,
    timed: bool,
}

impl Chunker {
    /// Bits 0-1: whole / one byte / 1..=16 / 1..=512 per read; bit 2: the
    /// clock moves 0..400 ms between reads (timers fire).
    pub fn new(seed: u8) -> Chunker {
        Chunker {
            rng: Rng::new(seed),
            mode: seed & 3,
            timed: seed & 4 != 0,
        }
    }

    /// The size of the next read of at most `left` bytes.
    pub fn next_len(&mut self, left: usize) -> usize {
        let n = match self.mode {
            0 => left,
            1 => 1,
            2 => 1 + self.rng.below(16) as usize,
            _ => 1 + self.rng.below(512) as usize,
        };
        n.min(left)
    }

    /// How far the clock moves after a read.
    pub fn next_step(&mut self) -> Duration {
        if self.timed {
            Duration::from_millis(self.rng.below(400))
        } else {
            Duration::ZERO
        }
    }
}

/// The ZAP reply frames a handler sends: empty delimiter, version,
/// request id, status, status text, user id, metadata.
pub fn zap_reply_frames(status: &[u8], user_id: &[u8], metadata: &[u8]) -> Vec<Message> {
    let parts: [&[u8]; 7] = [b"", b"1.0", b"1", status, b"OK", user_id, metadata];
    parts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let mut m = Message::from_slice(p);
            m.set_more(i + 1 < parts.len());
            m
        })
        .collect()
}

/// A metadata blob (ZMTP property list) with one property.
pub fn one_property(name: &str, value: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    zmqrs::zmtp::properties::encode(&mut v, name, value);
    v
}

/// What the driver does when a ZAP request comes up.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ZapAnswer {
    /// Never answer.
    None,
    /// Accept with user id and metadata.
    Accept,
    /// Refuse (400).
    Refuse,
}

/// Writes `data` into the engine, pulling decoded traffic whenever its
/// buffer is full. `Err` when the engine failed the connection.
pub fn feed(e: &mut Engine, mut data: &[u8], now: Instant) -> Result<(), ()> {
    while !data.is_empty() {
        let buf = e.read_buf();
        if buf.is_empty() {
            match e.next_msg(now) {
                Ok(Some(m)) => {
                    observe(&m);
                    continue;
                }
                // Nothing to decode and no room: a stuck engine would be a
                // bug, but do not spin on it.
                Ok(None) => return Ok(()),
                Err(_) => return Err(()),
            }
        }
        let n = buf.len().min(data.len());
        buf[..n].copy_from_slice(&data[..n]);
        e.advance_read(n, now).map_err(|_| ())?;
        data = &data[n..];
    }
    Ok(())
}

/// Touches what a session would read of a message.
pub fn observe(m: &Message) {
    std::hint::black_box((
        m.len(),
        m.more(),
        m.property("Socket-Type"),
        m.property("User-Id"),
    ));
}

/// Handles events (answering ZAP as asked, sending a message once ready),
/// pulls decoded traffic and returns the output. `Err` on a failure.
pub fn service(e: &mut Engine, now: Instant, zap: ZapAnswer, out: &mut Vec<u8>) -> Result<(), ()> {
    while let Some(ev) = e.poll_event() {
        match ev {
            EngineEvent::ZapRequest(req) => {
                std::hint::black_box(req.len());
                let frames = match zap {
                    ZapAnswer::None => continue,
                    ZapAnswer::Accept => {
                        zap_reply_frames(b"200", b"fuzzer", &one_property("Hello", b"World"))
                    }
                    ZapAnswer::Refuse => zap_reply_frames(b"400", b"", b""),
                };
                e.zap_reply(&frames, now).map_err(|_| ())?;
            }
            EngineEvent::Ready => {
                let mut m = Message::from_slice(b"part one");
                m.set_more(true);
                e.send_msg(m);
                e.send_msg(Message::from_slice(&[7u8; 300]));
            }
            EngineEvent::HandshakeSucceeded | EngineEvent::HandshakeFailed(_) => {}
        }
    }
    loop {
        match e.next_msg(now) {
            Ok(Some(m)) => observe(&m),
            Ok(None) => break,
            Err(_) => return Err(()),
        }
    }
    out.extend_from_slice(&e.take_output());
    Ok(())
}

/// Runs one engine against a peer byte stream cut by `seed`; returns what
/// the engine wrote.
pub fn drive(cfg: EngineConfig, stream: &[u8], seed: u8, zap: ZapAnswer) -> Vec<u8> {
    let mut now = Instant::now();
    let mut e = Engine::new(cfg, now);
    let mut chunker = Chunker::new(seed);
    let mut out = Vec::new();
    let mut rest = stream;
    loop {
        if service(&mut e, now, zap, &mut out).is_err() {
            break;
        }
        if rest.is_empty() {
            break;
        }
        let n = chunker.next_len(rest.len());
        if feed(&mut e, &rest[..n], now).is_err() {
            let _ = service(&mut e, now, zap, &mut out);
            break;
        }
        rest = &rest[n..];
        let step = chunker.next_step();
        if !step.is_zero() {
            now += step;
            if e.on_timer(now).is_err() {
                break;
            }
        }
    }
    std::hint::black_box(e.next_timeout());
    out
}

/// Two engines talking until both are idle (at most `rounds` exchanges);
/// returns the bytes each one sent, (a's, b's).
pub fn pump(
    a: &mut Engine,
    b: &mut Engine,
    now: Instant,
    rounds: usize,
    zap: ZapAnswer,
) -> (Vec<u8>, Vec<u8>) {
    let (mut a_sent, mut b_sent) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let mut ab = Vec::new();
        let mut ba = Vec::new();
        let ra = service(a, now, zap, &mut ab);
        let rb = service(b, now, zap, &mut ba);
        if ab.is_empty() && ba.is_empty() {
            break;
        }
        a_sent.extend_from_slice(&ab);
        b_sent.extend_from_slice(&ba);
        let fa = ra.and_then(|_| feed(b, &ab, now));
        let fb = rb.and_then(|_| feed(a, &ba, now));
        if fa.is_err() && fb.is_err() {
            break;
        }
    }
    (a_sent, b_sent)
}

/// The bytes a ZMTP 3.x NULL peer of type `peer_type` sends first: its
/// greeting (minor version `minor`) and READY.
pub fn null_peer_prefix(peer_type: i32, minor: u8) -> Vec<u8> {
    let mut g = vec![0u8; 64];
    g[0] = 0xFF;
    g[8] = 1;
    g[9] = 0x7F;
    g[10] = 3;
    g[11] = minor;
    g[12..16].copy_from_slice(b"NULL");
    let mut body = b"\x05READY".to_vec();
    zmqrs::zmtp::properties::encode(&mut body, "Socket-Type", socket_type_name(peer_type));
    zmqrs::zmtp::properties::encode(&mut body, "Identity", b"peer");
    g.push(0x04); // COMMAND, short
    g.push(body.len() as u8);
    g.extend_from_slice(&body);
    g
}

/// A ZMTP 3.x short or long frame.
pub fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(body.len() + 9);
    if body.len() < 256 {
        v.push(flags);
        v.push(body.len() as u8);
    } else {
        v.push(flags | 0x02);
        v.extend_from_slice(&(body.len() as u64).to_be_bytes());
    }
    v.extend_from_slice(body);
    v
}

/// The Socket-Type property value of a socket type.
pub fn socket_type_name(t: i32) -> &'static [u8] {
    match t {
        ZMQ_PAIR => b"PAIR",
        ZMQ_PUB => b"PUB",
        ZMQ_SUB => b"SUB",
        ZMQ_REQ => b"REQ",
        ZMQ_REP => b"REP",
        ZMQ_DEALER => b"DEALER",
        ZMQ_ROUTER => b"ROUTER",
        ZMQ_PULL => b"PULL",
        ZMQ_PUSH => b"PUSH",
        ZMQ_XPUB => b"XPUB",
        ZMQ_XSUB => b"XSUB",
        ZMQ_CLIENT => b"CLIENT",
        ZMQ_SERVER => b"SERVER",
        ZMQ_RADIO => b"RADIO",
        ZMQ_DISH => b"DISH",
        ZMQ_SCATTER => b"SCATTER",
        ZMQ_GATHER => b"GATHER",
        _ => b"PAIR",
    }
}

/// The ZAP target's mechanisms, by the low two bits of its first byte.
pub fn zap_mech(b: u8) -> Mech {
    match b & 3 {
        0 => Mech::Null,
        1 => Mech::Plain,
        _ => Mech::Curve,
    }
}

/// Reads the ZAP target's reply frames: each is `[hdr][len bytes]` where
/// hdr bit 7 is MORE and bits 0-6 the length; at most 12 frames.
pub fn parse_frames(mut data: &[u8]) -> Vec<Message> {
    let mut frames = Vec::new();
    while let Some((&hdr, rest)) = data.split_first() {
        if frames.len() == 12 {
            break;
        }
        let n = usize::from(hdr & 0x7f).min(rest.len());
        let mut m = Message::from_slice(&rest[..n]);
        m.set_more(hdr & 0x80 != 0);
        frames.push(m);
        data = &rest[n..];
    }
    frames
}

/// The inverse of [`parse_frames`] (frames longer than 127 bytes are cut).
pub fn encode_frames(frames: &[(&[u8], bool)]) -> Vec<u8> {
    let mut v = Vec::new();
    for (body, more) in frames {
        let n = body.len().min(127);
        v.push(n as u8 | if *more { 0x80 } else { 0 });
        v.extend_from_slice(&body[..n]);
    }
    v
}
