//! Engines talking to each other in memory (ws and wss; NULL, PLAIN,
//! CURVE and ZWS2.0), with libzmq's wire bytes checked by hand, and
//! hostile peers.

use std::time::{Duration, Instant};

use super::frame::{opcode, FrameEncoder};
use super::http::{accept_key, MAX_HEADER_BLOCK_SIZE};
use super::tls::{WssClient, WssOptions, WssServer};
use super::*;
use crate::constants::*;
use crate::msg::flags;
use crate::security::Failure;
use crate::zmtp::codec::OutQueue;
use crate::zmtp::engine::{EngineConfig, ErrorReason};

const NONCE: [u8; 16] = *b"the sample nonce";
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

pub(crate) fn cfg(socket_type: i32, id: &[u8], recv_id: bool) -> EngineConfig {
    EngineConfig {
        socket_type,
        routing_id: id.to_vec(),
        recv_routing_id: recv_id,
        ..EngineConfig::default()
    }
}

fn client(c: EngineConfig, now: Instant) -> WsEngine {
    WsEngine::client_with_nonce(c, "127.0.0.1", "/test", &NONCE, now)
}

/// Moves `from`'s output into `to`, through `backlog` when `to` is full,
/// collecting what `to` decodes. Returns whether any byte moved.
fn transfer(
    from: &mut dyn StreamEngine,
    to: &mut dyn StreamEngine,
    backlog: &mut Vec<u8>,
    inbox: &mut Vec<Message>,
    now: Instant,
    bytewise: bool,
) -> bool {
    backlog.extend(from.take_output());
    let mut moved = false;
    while !backlog.is_empty() {
        let step = if bytewise { 1 } else { backlog.len() };
        let buf = to.read_buf();
        let n = buf.len().min(step);
        if n == 0 {
            // Full: let decoded messages out first.
            match to.next_msg(now).unwrap() {
                Some(m) => inbox.push(m),
                None => break,
            }
            continue;
        }
        buf[..n].copy_from_slice(&backlog[..n]);
        to.advance_read(n, now).unwrap();
        backlog.drain(..n);
        moved = true;
    }
    while let Some(m) = to.next_msg(now).unwrap() {
        inbox.push(m);
    }
    moved
}

/// Shuttles bytes both ways until neither side has anything to say.
/// Returns what each side received.
fn pump(
    a: &mut dyn StreamEngine,
    b: &mut dyn StreamEngine,
    now: Instant,
    bytewise: bool,
) -> (Vec<Message>, Vec<Message>) {
    let (mut ab, mut ba) = (Vec::new(), Vec::new());
    let (mut a_in, mut b_in) = (Vec::new(), Vec::new());
    for _ in 0..10_000 {
        let x = transfer(a, b, &mut ab, &mut b_in, now, bytewise);
        let y = transfer(b, a, &mut ba, &mut a_in, now, bytewise);
        if !x && !y && ab.is_empty() && ba.is_empty() {
            return (a_in, b_in);
        }
    }
    panic!("engines never went idle");
}

fn events(e: &mut dyn StreamEngine) -> Vec<EngineEvent> {
    std::iter::from_fn(|| e.poll_event()).collect()
}

/// Answers ZAP requests with 200 (or `status`) for user "admin".
fn serve_zap(e: &mut dyn StreamEngine, now: Instant, status: &str) -> Vec<EngineEvent> {
    let mut rest = Vec::new();
    for ev in events(e) {
        if let EngineEvent::ZapRequest(req) = &ev {
            let parts: [&[u8]; 7] = [
                b"",
                req[1].as_slice(),
                req[2].as_slice(),
                status.as_bytes(),
                b"",
                b"admin",
                b"",
            ];
            let reply: Vec<Message> = parts
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    let mut m = Message::from_slice(p);
                    m.set_more(i < 6);
                    m
                })
                .collect();
            let _ = e.zap_reply(&reply, now);
        } else {
            rest.push(ev);
        }
    }
    rest
}

/// A two-frame message and a large one, each way; checks they arrive.
fn exchange(a: &mut dyn StreamEngine, b: &mut dyn StreamEngine, now: Instant, bytewise: bool) {
    let big: Vec<u8> = (0..70_000u32).map(|i| (i % 251) as u8).collect();
    let mut m = Message::from_slice(b"hello");
    m.set_more(true);
    a.send_msg(m);
    a.send_msg(Message::from_slice(&big));
    b.send_msg(Message::from_slice(b"back"));
    let (a_in, b_in) = pump(a, b, now, bytewise);
    assert_eq!(b_in.len(), 2, "{b_in:?}");
    assert_eq!(&b_in[0][..], b"hello");
    assert!(b_in[0].more());
    assert_eq!(&b_in[1][..], &big[..]);
    assert!(!b_in[1].more());
    assert_eq!(a_in.len(), 1);
    assert_eq!(&a_in[0][..], b"back");
}

#[test]
fn null_over_ws_whole_and_bytewise() {
    for bytewise in [false, true] {
        let now = Instant::now();
        let mut d = client(cfg(ZMQ_DEALER, b"dealer-1", false), now);
        let mut r = WsEngine::server(cfg(ZMQ_ROUTER, b"", true), now);
        let (d_in, r_in) = pump(&mut d, &mut r, now, bytewise);
        assert!(d_in.is_empty());
        // The routing id from the peer's READY comes first.
        assert_eq!(r_in.len(), 1);
        assert!(r_in[0].is_routing_id());
        assert_eq!(&r_in[0][..], b"dealer-1");
        assert_eq!(d.protocol(), Some(Protocol::Null));
        assert_eq!(r.protocol(), Some(Protocol::Null));
        for e in [&mut d as &mut dyn StreamEngine, &mut r] {
            assert_eq!(
                events(e),
                vec![EngineEvent::Ready, EngineEvent::HandshakeSucceeded]
            );
            assert!(!e.is_handshaking());
        }
        exchange(&mut d, &mut r, now, bytewise);
        // Metadata from READY.
        r.send_msg(Message::from_slice(b"x"));
        let (d_in, _) = pump(&mut d, &mut r, now, false);
        assert_eq!(d_in[0].property("Socket-Type"), Some("ROUTER"));
    }
}

#[test]
fn libzmq_bytes_for_a_null_dealer() {
    // What a libzmq 4.3.5 server sends and expects, written out by hand.
    let now = Instant::now();
    let mut c = client(cfg(ZMQ_DEALER, b"", false), now);
    c.set_encoder(FrameEncoder::with_fixed_mask([0, 0, 0, 0]));
    let req = c.take_output();
    assert_eq!(
        req,
        format!(
            "GET /test HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\n\
             Sec-WebSocket-Protocol: ZWS2.0/NULL,ZWS2.0\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        )
        .into_bytes()
    );
    let mut reply = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: ZWS2.0/NULL\r\n\r\n",
        accept_key(KEY.as_bytes())
    )
    .into_bytes();
    // The server's READY in the same segment: 0x82, len, flags=COMMAND.
    let mut ready = b"\x05READY".to_vec();
    crate::security::properties::encode(&mut ready, "Socket-Type", b"ROUTER");
    reply.extend_from_slice(&[0x82, (ready.len() + 1) as u8, 0x02]);
    reply.extend_from_slice(&ready);
    c.feed(&reply, now).unwrap();
    assert!(!c.is_handshaking());
    let out = c.take_output();
    // Our READY: masked (all-zero key here), COMMAND flag, Socket-Type
    // and Identity (DEALER).
    assert_eq!(&out[..2], &[0x82, 0x80 | (out.len() - 6) as u8]);
    assert_eq!(&out[2..6], &[0, 0, 0, 0]);
    assert_eq!(out[6], 0x02);
    assert_eq!(&out[7..13], b"\x05READY");
}

#[test]
fn zws20_without_mechanism() {
    // A server offered only "ZWS2.0" runs no mechanism: 101, then its
    // routing id as the first message; the client's first message is its
    // routing id.
    let now = Instant::now();
    let mut s = WsEngine::server(cfg(ZMQ_ROUTER, b"srv", true), now);
    let req = format!(
        "GET / HTTP/1.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Protocol: ZWS2.0\r\n\r\n"
    );
    s.feed(req.as_bytes(), now).unwrap();
    assert_eq!(s.protocol(), Some(Protocol::Zws20));
    assert_eq!(
        events(&mut s),
        vec![EngineEvent::Ready, EngineEvent::HandshakeSucceeded]
    );
    let out = s.take_output();
    let head = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: ZWS2.0\r\n\r\n",
        accept_key(KEY.as_bytes())
    );
    assert_eq!(&out[..head.len()], head.as_bytes());
    assert_eq!(&out[head.len()..], &[0x82, 4, 0, b's', b'r', b'v']);
    // The client's routing id, then a two-frame message, masked.
    let mut q = OutQueue::default();
    let mut enc = FrameEncoder::with_fixed_mask([7, 7, 7, 7]);
    enc.encode_message(&mut q, Message::from_slice(b"cli"));
    let mut m = Message::from_slice(b"a");
    m.set_more(true);
    enc.encode_message(&mut q, m);
    enc.encode_message(&mut q, Message::from_slice(b"b"));
    s.feed(&q.take_all(), now).unwrap();
    let id = s.next_msg(now).unwrap().unwrap();
    assert!(id.is_routing_id());
    assert_eq!(&id[..], b"cli");
    let a = s.next_msg(now).unwrap().unwrap();
    assert!(a.more());
    assert_eq!(&s.next_msg(now).unwrap().unwrap()[..], b"b");
    assert!(s.next_msg(now).unwrap().is_none());

    // The client side of the same, against a hand-written reply.
    let mut c = client(cfg(ZMQ_DEALER, b"cli", false), now);
    c.take_output();
    let mut reply = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: ZWS2.0\r\n\r\n",
        accept_key(KEY.as_bytes())
    )
    .into_bytes();
    reply.extend_from_slice(b"\x82\x04\x00srv\x82\x02\x00z");
    c.feed(&reply, now).unwrap();
    assert_eq!(c.protocol(), Some(Protocol::Zws20));
    // Not kept (no recv_routing_id): the data message comes first.
    assert_eq!(&c.next_msg(now).unwrap().unwrap()[..], b"z");
    let out = c.take_output();
    assert_eq!(&out[..2], &[0x82, 0x84]);
}

#[test]
fn plain_over_ws_with_zap() {
    for bytewise in [false, true] {
        let now = Instant::now();
        let mut cc = cfg(ZMQ_REQ, b"", false);
        cc.mechanism = ZMQ_PLAIN;
        cc.plain_username = b"admin".to_vec();
        cc.plain_password = b"secret".to_vec();
        let mut sc = cfg(ZMQ_REP, b"", true);
        sc.mechanism = ZMQ_PLAIN;
        sc.as_server = true;
        sc.zap_handler = true;
        let mut c = client(cc, now);
        let mut s = WsEngine::server(sc, now);
        let mut s_in = Vec::new();
        for _ in 0..10 {
            let (_, got) = pump(&mut c, &mut s, now, bytewise);
            s_in.extend(got);
            serve_zap(&mut s, now, "200");
        }
        assert_eq!(s.protocol(), Some(Protocol::Plain));
        assert!(!c.is_handshaking() && !s.is_handshaking());
        assert!(s_in[0].is_routing_id());
        exchange(&mut c, &mut s, now, bytewise);
        c.send_msg(Message::from_slice(b"who"));
        let (_, got) = pump(&mut c, &mut s, now, false);
        assert_eq!(got[0].property("User-Id"), Some("admin"));
    }
}

#[test]
fn plain_refused_by_zap() {
    let now = Instant::now();
    let mut cc = cfg(ZMQ_REQ, b"", false);
    cc.mechanism = ZMQ_PLAIN;
    cc.plain_username = b"u".to_vec();
    let mut sc = cfg(ZMQ_REP, b"", false);
    sc.mechanism = ZMQ_PLAIN;
    sc.as_server = true;
    sc.zap_handler = true;
    let mut c = client(cc, now);
    let mut s = WsEngine::server(sc, now);
    let (mut ab, mut ba, mut inbox) = (Vec::new(), Vec::new(), Vec::new());
    transfer(&mut c, &mut s, &mut ab, &mut inbox, now, false);
    transfer(&mut s, &mut c, &mut ba, &mut inbox, now, false);
    transfer(&mut c, &mut s, &mut ab, &mut inbox, now, false);
    serve_zap(&mut s, now, "400");
    // The server sends ERROR, and the client fails with the auth event.
    let out = s.take_output();
    assert!(out.windows(6).any(|w| w == b"\x05ERROR"));
    let err = c.feed(&out, now).unwrap_err();
    assert_eq!(err.reason, ErrorReason::Protocol);
    assert!(events(&mut c).contains(&EngineEvent::HandshakeFailed(Failure::Auth(400))));
}

fn curve_pair(now: Instant) -> (WsEngine, WsEngine) {
    let (server_public, server_secret) = crate::security::curve::keypair();
    let (client_public, client_secret) = crate::security::curve::keypair();
    let mut cc = cfg(ZMQ_XSUB, b"", false);
    cc.mechanism = ZMQ_CURVE;
    cc.curve_public_key = client_public;
    cc.curve_secret_key = client_secret;
    cc.curve_server_key = server_public;
    let mut sc = cfg(ZMQ_XPUB, b"", false);
    sc.mechanism = ZMQ_CURVE;
    sc.as_server = true;
    sc.curve_secret_key = server_secret;
    sc.curve_public_key = server_public;
    (client(cc, now), WsEngine::server(sc, now))
}

#[test]
fn curve_over_ws() {
    for bytewise in [false, true] {
        let now = Instant::now();
        let (mut c, mut s) = curve_pair(now);
        pump(&mut c, &mut s, now, bytewise);
        assert_eq!(s.protocol(), Some(Protocol::Curve));
        assert!(!c.is_handshaking() && !s.is_handshaking());
        exchange(&mut c, &mut s, now, bytewise);
        // A subscription reaches XPUB as a 0x01-prefixed message, as from
        // a libzmq SUB.
        let mut sub = Message::from_slice(b"A");
        sub.set_flags(flags::SUBSCRIBE);
        c.send_msg(sub);
        let (_, got) = pump(&mut c, &mut s, now, bytewise);
        assert_eq!(&got[0][..], b"\x01A");
    }
}

#[test]
fn subscriptions_on_the_wire() {
    let now = Instant::now();
    let mut c = client(cfg(ZMQ_SUB, b"", false), now);
    let mut s = WsEngine::server(cfg(ZMQ_XPUB, b"", false), now);
    pump(&mut c, &mut s, now, false);
    c.set_encoder(FrameEncoder::with_fixed_mask([0, 0, 0, 0]));
    let mut sub = Message::from_slice(b"A");
    sub.set_flags(flags::SUBSCRIBE);
    c.send_msg(sub);
    let mut cancel = Message::from_slice(b"B");
    cancel.set_flags(flags::CANCEL);
    c.send_msg(cancel);
    let out = c.take_output();
    assert_eq!(
        out,
        [0x82, 0x83, 0, 0, 0, 0, 0, 1, b'A', 0x82, 0x83, 0, 0, 0, 0, 0, 0, b'B']
    );
    s.feed(&out, now).unwrap();
    assert_eq!(&s.next_msg(now).unwrap().unwrap()[..], b"\x01A");
    assert_eq!(&s.next_msg(now).unwrap().unwrap()[..], b"\x00B");
    // A ZMTP SUBSCRIBE command (as libzmq's CURVE boxes them) becomes a
    // subscription; a ZMTP PING command is answered with PONG.
    let mut q = OutQueue::default();
    let mut enc = FrameEncoder::with_fixed_mask([3, 1, 4, 1]);
    let mut cmd = Message::from_slice(b"\x09SUBSCRIBEtopic");
    cmd.set_flags(flags::COMMAND);
    enc.encode_message(&mut q, cmd);
    let mut ping = Message::from_slice(b"\x04PING\x00\x00ctx");
    ping.set_flags(flags::COMMAND);
    enc.encode_message(&mut q, ping);
    s.feed(&q.take_all(), now).unwrap();
    let m = s.next_msg(now).unwrap().unwrap();
    assert_eq!(subscription_kind(&m), Some(true));
    assert_eq!(&m[..], b"topic");
    assert!(s.next_msg(now).unwrap().is_none());
    assert_eq!(s.take_output(), b"\x82\x09\x02\x04PONGctx");
}

use crate::zmtp::codec::subscription_kind;

#[test]
fn heartbeats_are_websocket_pings() {
    let now = Instant::now();
    let mut cc = cfg(ZMQ_DEALER, b"", false);
    cc.heartbeat_ivl = Duration::from_millis(100);
    cc.heartbeat_timeout = Duration::from_millis(300);
    let mut c = client(cc, now);
    let mut s = WsEngine::server(cfg(ZMQ_ROUTER, b"", false), now);
    pump(&mut c, &mut s, now, false);
    c.set_encoder(FrameEncoder::with_fixed_mask([1, 2, 3, 4]));
    assert_eq!(c.next_timeout(), Some(now + Duration::from_millis(100)));
    let t1 = now + Duration::from_millis(100);
    c.on_timer(t1).unwrap();
    let ping = c.take_output();
    assert_eq!(ping, [0x89, 0x80, 1, 2, 3, 4]);
    // Next: the following PING (the PONG timeout, 300 ms, comes later).
    assert_eq!(c.next_timeout(), Some(t1 + Duration::from_millis(100)));
    // The server answers PONG (empty, as libzmq's), unmasked.
    s.feed(&ping, t1).unwrap();
    assert!(s.next_msg(t1).unwrap().is_none());
    let pong = s.take_output();
    assert_eq!(pong, [0x8A, 0x00]);
    c.feed(&pong, t1).unwrap();
    assert!(c.next_msg(t1).unwrap().is_none());
    // The PONG cleared the timeout; then silence expires it.
    let t2 = t1 + Duration::from_millis(100);
    c.on_timer(t2).unwrap();
    let err = c.on_timer(t2 + Duration::from_millis(300)).unwrap_err();
    assert_eq!(err.reason, ErrorReason::Timeout);
    assert!(err.handshaked);
}

#[test]
fn handshake_timeout() {
    let now = Instant::now();
    let mut sc = cfg(ZMQ_REP, b"", false);
    sc.handshake_ivl = Duration::from_millis(100);
    let mut s = WsEngine::server(sc, now);
    // A peer that trickles headers forever is still cut off by the timer.
    s.feed(b"GET / HTTP/1.1\r\nX: 1\r\n", now).unwrap();
    assert_eq!(s.next_timeout(), Some(now + Duration::from_millis(100)));
    s.on_timer(now + Duration::from_millis(99)).unwrap();
    let err = s.on_timer(now + Duration::from_millis(100)).unwrap_err();
    assert_eq!(err.reason, ErrorReason::Timeout);
    assert!(!err.handshaked);
}

#[test]
fn close_is_echoed_then_the_connection_ends() {
    let now = Instant::now();
    let mut c = client(cfg(ZMQ_DEALER, b"", false), now);
    let mut s = WsEngine::server(cfg(ZMQ_ROUTER, b"", false), now);
    pump(&mut c, &mut s, now, false);
    let mut q = OutQueue::default();
    FrameEncoder::with_fixed_mask([9, 9, 9, 9]).encode_control(
        &mut q,
        opcode::CLOSE,
        b"\x03\xe8bye",
    );
    s.feed(&q.take_all(), now).unwrap();
    assert!(s.next_msg(now).unwrap().is_none());
    assert!(!s.can_send());
    assert!(s.read_buf().is_empty());
    assert_eq!(s.take_output(), b"\x88\x05\x03\xe8bye");
    let err = s.next_msg(now).unwrap_err();
    assert_eq!(err.reason, ErrorReason::Connection);
}

#[test]
fn hostile_peers_after_the_upgrade() {
    let now = Instant::now();
    let ready = |s: &mut WsEngine, c: &mut WsEngine| {
        pump(c, s, now, false);
    };
    // Unmasked frame from a client.
    let mut c = client(cfg(ZMQ_DEALER, b"", false), now);
    let mut s = WsEngine::server(cfg(ZMQ_ROUTER, b"", false), now);
    ready(&mut s, &mut c);
    s.feed(&[0x82, 0x02, 0x00, b'x'], now).unwrap();
    assert_eq!(s.next_msg(now).unwrap_err().reason, ErrorReason::Protocol);
    // Masked frame from a server.
    let mut c = client(cfg(ZMQ_DEALER, b"", false), now);
    let mut s = WsEngine::server(cfg(ZMQ_ROUTER, b"", false), now);
    ready(&mut s, &mut c);
    c.feed(&[0x82, 0x82, 1, 2, 3, 4, 1, 2], now).unwrap();
    assert_eq!(c.next_msg(now).unwrap_err().reason, ErrorReason::Protocol);
    // Oversized, refused from its header.
    let mut sc = cfg(ZMQ_ROUTER, b"", false);
    sc.maxmsgsize = 100;
    let mut c = client(cfg(ZMQ_DEALER, b"", false), now);
    let mut s = WsEngine::server(sc, now);
    ready(&mut s, &mut c);
    s.feed(&[0x82, 0xFF, 0, 0, 0, 0, 0, 0, 1, 0], now).unwrap();
    assert_eq!(s.next_msg(now).unwrap_err().reason, ErrorReason::Protocol);
    // A text frame, a fragment.
    for bad in [[0x81u8, 0x80, 0, 0, 0, 0], [0x02, 0x80, 0, 0, 0, 0]] {
        let mut c = client(cfg(ZMQ_DEALER, b"", false), now);
        let mut s = WsEngine::server(cfg(ZMQ_ROUTER, b"", false), now);
        ready(&mut s, &mut c);
        s.feed(&bad, now).unwrap();
        assert!(s.next_msg(now).is_err());
    }
    // Garbage right after the request, in the same segment: the upgrade
    // is answered, then the garbage fails the mechanism handshake.
    let mut s = WsEngine::server(cfg(ZMQ_ROUTER, b"", false), now);
    let mut req = client(cfg(ZMQ_DEALER, b"", false), now).take_output();
    req.extend_from_slice(b"garbage!");
    assert_eq!(s.feed(&req, now).unwrap_err().reason, ErrorReason::Protocol);
    assert!(s
        .take_output()
        .starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"));
}

#[test]
fn refused_upgrades_send_nothing() {
    let now = Instant::now();
    let ws_event =
        || EngineEvent::HandshakeFailed(Failure::Protocol(ZMQ_PROTOCOL_ERROR_WS_UNSPECIFIED));
    // Mechanism mismatch: a PLAIN client, a NULL server.
    let mut cc = cfg(ZMQ_DEALER, b"", false);
    cc.mechanism = ZMQ_PLAIN;
    let mut c = client(cc, now);
    let mut s = WsEngine::server(cfg(ZMQ_ROUTER, b"", false), now);
    let err = s.feed(&c.take_output(), now).unwrap_err();
    assert_eq!(
        err,
        EngineError {
            reason: ErrorReason::Protocol,
            handshaked: false
        }
    );
    assert_eq!(events(&mut s), vec![ws_event()]);
    assert!(s.take_output().is_empty());
    // Later input keeps failing.
    assert!(s.feed(b"x", now).is_err());
    assert!(s.next_msg(now).is_err());
    // Not HTTP at all (a ZMTP greeting).
    let mut s = WsEngine::server(cfg(ZMQ_ROUTER, b"", false), now);
    assert!(s.feed(&[0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F], now).is_err());
    assert_eq!(events(&mut s), vec![ws_event()]);
    // Endless headers: cut off at the block limit.
    let mut s = WsEngine::server(cfg(ZMQ_ROUTER, b"", false), now);
    s.feed(b"GET / HTTP/1.1\r\n", now).unwrap();
    let mut fed = 0;
    let err = loop {
        match s.feed(b"X-Long-Header-Name: some value\r\n", now) {
            Ok(()) => fed += 32,
            Err(e) => break e,
        }
        assert!(fed <= MAX_HEADER_BLOCK_SIZE);
    };
    assert_eq!(err.reason, ErrorReason::Protocol);
    // A wrong Sec-WebSocket-Accept at the client.
    let mut c = client(cfg(ZMQ_DEALER, b"", false), now);
    let reply = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\nSec-WebSocket-Protocol: ZWS2.0/NULL\r\n\r\n",
        accept_key(b"another key")
    );
    assert!(c.feed(reply.as_bytes(), now).is_err());
    assert_eq!(events(&mut c), vec![ws_event()]);
    // A GSSAPI client cannot speak ZWS: it fails at once.
    let mut cc = cfg(ZMQ_DEALER, b"", false);
    cc.mechanism = ZMQ_GSSAPI;
    let mut c = client(cc, now);
    assert!(c.take_output().is_empty());
    assert!(c.next_msg(now).is_err());
    assert_eq!(events(&mut c), vec![ws_event()]);
}

#[test]
fn backpressure_with_small_batches() {
    // A tiny input buffer and many messages: nothing is lost or reordered.
    let now = Instant::now();
    let mut cc = cfg(ZMQ_PUSH, b"", false);
    cc.in_batch_size = 64;
    cc.out_batch_size = 64;
    let mut sc = cfg(ZMQ_PULL, b"", false);
    sc.in_batch_size = 64;
    let mut c = client(cc, now);
    let mut s = WsEngine::server(sc, now);
    pump(&mut c, &mut s, now, false);
    for i in 0..500u32 {
        c.send_msg(Message::from_slice(
            &i.to_be_bytes().repeat((i % 50) as usize),
        ));
    }
    let (_, got) = pump(&mut c, &mut s, now, false);
    assert_eq!(got.len(), 500);
    for (i, m) in got.iter().enumerate() {
        assert_eq!(&m[..], &(i as u32).to_be_bytes().repeat(i % 50)[..]);
    }
}

// ---- wss ---------------------------------------------------------------

struct Pki {
    ca_pem: String,
    server: WssServer,
}

/// A CA and a leaf for "localhost" (and 127.0.0.1) signed by it.
fn pki() -> Pki {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "zmqrs test CA");
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let leaf_key = rcgen::KeyPair::generate().unwrap();
    let leaf =
        rcgen::CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&leaf_key, &ca_cert, &ca_key)
            .unwrap();
    let opts = WssOptions {
        cert_pem: leaf.pem().into_bytes(),
        key_pem: leaf_key.serialize_pem().into_bytes(),
        ..WssOptions::default()
    };
    Pki {
        ca_pem: ca_cert.pem(),
        server: opts.server().unwrap(),
    }
}

/// A certificate like libzmq's test_wss_transport one: self-signed, CA:TRUE,
/// the name only in its CN, valid from `from` to `until` (years).
fn libzmq_style(cn: &str, from: i32, until: i32) -> (String, String) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut p = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    p.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    p.distinguished_name = rcgen::DistinguishedName::new();
    p.distinguished_name.push(rcgen::DnType::CommonName, cn);
    p.not_before = rcgen::date_time_ymd(from, 1, 1);
    p.not_after = rcgen::date_time_ymd(until, 1, 1);
    let cert = p.self_signed(&key).unwrap();
    (cert.pem(), key.serialize_pem())
}

fn wss_pair(
    server: &WssServer,
    client_opts: &WssOptions,
    cc: EngineConfig,
    sc: EngineConfig,
    now: Instant,
) -> (WssEngine, WssEngine) {
    let wc: WssClient = client_opts.client().unwrap();
    let c = WssEngine::client(&wc, cc, "localhost", "/wss", now).unwrap();
    let s = WssEngine::server(server, sc, now).unwrap();
    (c, s)
}

/// Pumps without unwrapping: the first error either side raised.
fn pump_result(
    a: &mut dyn StreamEngine,
    b: &mut dyn StreamEngine,
    now: Instant,
) -> Result<(), EngineError> {
    for _ in 0..1000 {
        let ab = a.take_output();
        let ba = b.take_output();
        if ab.is_empty() && ba.is_empty() {
            return Ok(());
        }
        b.feed(&ab, now)?;
        a.feed(&ba, now)?;
        while b.next_msg(now)?.is_some() {}
        while a.next_msg(now)?.is_some() {}
    }
    Ok(())
}

#[test]
fn wss_null_plain_curve() {
    let p = pki();
    let opts = WssOptions {
        trust_pem: p.ca_pem.clone().into_bytes(),
        hostname: "localhost".into(),
        ..WssOptions::default()
    };
    for bytewise in [false, true] {
        let now = Instant::now();
        // NULL.
        let (mut c, mut s) = wss_pair(
            &p.server,
            &opts,
            cfg(ZMQ_DEALER, b"d", false),
            cfg(ZMQ_ROUTER, b"", true),
            now,
        );
        let (_, got) = pump(&mut c, &mut s, now, bytewise);
        assert!(got[0].is_routing_id());
        assert!(!c.is_handshaking() && !s.is_handshaking());
        exchange(&mut c, &mut s, now, bytewise);
        // PLAIN, with ZAP.
        let mut cc = cfg(ZMQ_REQ, b"", false);
        cc.mechanism = ZMQ_PLAIN;
        cc.plain_username = b"admin".to_vec();
        let mut sc = cfg(ZMQ_REP, b"", false);
        sc.mechanism = ZMQ_PLAIN;
        sc.as_server = true;
        sc.zap_handler = true;
        let (mut c, mut s) = wss_pair(&p.server, &opts, cc, sc, now);
        for _ in 0..6 {
            pump(&mut c, &mut s, now, bytewise);
            serve_zap(&mut s, now, "200");
        }
        assert_eq!(s.ws().protocol(), Some(Protocol::Plain));
        exchange(&mut c, &mut s, now, bytewise);
        // CURVE.
        let (server_public, server_secret) = crate::security::curve::keypair();
        let (client_public, client_secret) = crate::security::curve::keypair();
        let mut cc = cfg(ZMQ_DEALER, b"", false);
        cc.mechanism = ZMQ_CURVE;
        cc.curve_public_key = client_public;
        cc.curve_secret_key = client_secret;
        cc.curve_server_key = server_public;
        let mut sc = cfg(ZMQ_DEALER, b"", false);
        sc.mechanism = ZMQ_CURVE;
        sc.as_server = true;
        sc.curve_secret_key = server_secret;
        let (mut c, mut s) = wss_pair(&p.server, &opts, cc, sc, now);
        pump(&mut c, &mut s, now, bytewise);
        assert_eq!(s.ws().protocol(), Some(Protocol::Curve));
        exchange(&mut c, &mut s, now, bytewise);
    }
}

#[test]
fn wss_verification_as_gnutls() {
    let now = Instant::now();
    let p = pki();
    let with = |trust: &str, hostname: &str| WssOptions {
        trust_pem: trust.as_bytes().to_vec(),
        hostname: hostname.into(),
        ..WssOptions::default()
    };
    let run = |server: &WssServer, opts: &WssOptions| {
        let (mut c, mut s) = wss_pair(
            server,
            opts,
            cfg(ZMQ_PAIR, b"", false),
            cfg(ZMQ_PAIR, b"", false),
            now,
        );
        let r = pump_result(&mut c, &mut s, now);
        r.map(|()| !c.is_handshaking() && !s.is_handshaking())
    };
    // A CA-issued leaf: by SAN name, by IP SAN, and with no name at all.
    assert_eq!(run(&p.server, &with(&p.ca_pem, "localhost")), Ok(true));
    assert_eq!(run(&p.server, &with(&p.ca_pem, "127.0.0.1")), Ok(true));
    assert_eq!(run(&p.server, &with(&p.ca_pem, "")), Ok(true));
    // Wrong name, unknown CA, no trust at all: the client refuses.
    assert_eq!(
        run(&p.server, &with(&p.ca_pem, "zeromq.org"))
            .unwrap_err()
            .reason,
        ErrorReason::Connection
    );
    let other = pki();
    assert!(run(&p.server, &with(&other.ca_pem, "localhost")).is_err());
    assert!(run(&p.server, &with("", "")).is_err());
    // libzmq's test setup: a self-signed CA:TRUE certificate named only in
    // its CN, trusted as itself, checked against ZMQ_WSS_HOSTNAME.
    let (cert, key) = libzmq_style("zeromq.org", 2019, 2119);
    let server = WssOptions {
        cert_pem: cert.clone().into_bytes(),
        key_pem: key.into_bytes(),
        ..WssOptions::default()
    }
    .server()
    .unwrap();
    assert_eq!(run(&server, &with(&cert, "zeromq.org")), Ok(true));
    assert_eq!(run(&server, &with(&cert, "")), Ok(true));
    assert!(run(&server, &with(&cert, "example.org")).is_err());
    // Expired or not yet valid.
    for (from, until) in [(2000, 2001), (2200, 2300)] {
        let (cert, key) = libzmq_style("zeromq.org", from, until);
        let server = WssOptions {
            cert_pem: cert.clone().into_bytes(),
            key_pem: key.into_bytes(),
            ..WssOptions::default()
        }
        .server()
        .unwrap();
        assert!(run(&server, &with(&cert, "zeromq.org")).is_err());
    }
}

#[test]
fn wss_option_errors() {
    let empty = WssOptions::default();
    assert!(matches!(empty.server(), Err(tls::TlsError::NoCertificate)));
    let (cert, _) = libzmq_style("x", 2020, 2100);
    let opts = WssOptions {
        cert_pem: cert.into_bytes(),
        key_pem: b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n".to_vec(),
        ..WssOptions::default()
    };
    assert!(opts.server().is_err());
    let bad_name = WssOptions {
        hostname: "bad name!".into(),
        ..WssOptions::default()
    };
    assert!(matches!(bad_name.client(), Err(tls::TlsError::BadHostname)));
    assert!(WssOptions::default().client().is_ok());
}

#[test]
fn wss_garbage_instead_of_tls() {
    let now = Instant::now();
    let p = pki();
    let mut s = WssEngine::server(&p.server, cfg(ZMQ_PAIR, b"", false), now).unwrap();
    let err = s
        .feed(b"GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", now)
        .unwrap_err();
    assert_eq!(err.reason, ErrorReason::Connection);
    assert!(s.read_buf().is_empty());
}

#[test]
fn fuzz_hooks_take_anything() {
    let mut x: u64 = 7;
    for len in [0usize, 1, 2, 15, 100, 300, 2000] {
        let data: Vec<u8> = (0..len)
            .map(|_| {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                (x >> 33) as u8
            })
            .collect();
        fuzz_server_handshake(&data);
        fuzz_client_handshake(&data);
        fuzz_frame_decoder(&data);
        fuzz_server_engine(&data);
        fuzz_client_engine(&data);
    }
    // Valid starts with hostile tails.
    let mut req = client(cfg(ZMQ_DEALER, b"", false), Instant::now()).take_output();
    req.extend_from_slice(&[0x82, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]);
    fuzz_server_engine(&req);
}
