//! Direct write (src/io/direct.rs): a socket that has just received from a
//! connection writes its next message to it itself when the connection's
//! output is idle. These tests mix that path with the pipe's (bursts,
//! large and many-framed messages, full kernel buffers, heartbeats, peers
//! that go away) and check that every message arrives whole and in order.

use std::thread;
use std::time::{Duration, Instant};

use zmqrs::{Context, SocketType};

fn tmp_ipc(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("zmqrs-direct-{}-{name}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    format!("ipc://{}/sock", dir.display())
}

fn endpoints(name: &str) -> [String; 2] {
    ["tcp://127.0.0.1:*".to_string(), tmp_ipc(name)]
}

/// A message body that names its sequence number and has `len` bytes.
fn body(seq: u32, len: usize) -> Vec<u8> {
    let mut b = seq.to_be_bytes().to_vec();
    b.extend(
        (0..len.saturating_sub(4)).map(|i| (i as u32).wrapping_mul(31).wrapping_add(seq) as u8),
    );
    b.truncate(len.max(4));
    b
}

/// The sizes a round cycles through: small ones (direct), one over the
/// 64 KiB direct limit (the pipe), and frame counts over its 8 frames.
fn shape(seq: u32) -> (usize, usize) {
    let len = [1, 64, 1000, 70_000, 5, 300][seq as usize % 6];
    let frames = [1, 2, 3, 1, 10, 1][seq as usize % 6];
    (len, frames)
}

fn message(seq: u32) -> Vec<Vec<u8>> {
    let (len, frames) = shape(seq);
    (0..frames).map(|f| body(seq + f as u32, len)).collect()
}

/// DEALER and ROUTER answer each other in rounds: each side receives, then
/// sends a burst of 1 to 4 messages (the first may go directly, the rest
/// through the pipe), over tcp and ipc.
#[test]
fn request_reply_rounds_keep_order() {
    for ep in endpoints("rounds") {
        let ctx = Context::new();
        let router = ctx.socket(SocketType::ROUTER).unwrap();
        router.bind(&ep).unwrap();
        let ep = router.last_endpoint().unwrap();
        let dealer = ctx.socket(SocketType::DEALER).unwrap();
        dealer.set_identity(b"d").unwrap();
        dealer.connect(&ep).unwrap();

        let rounds = 300u32;
        let server = thread::spawn(move || {
            let mut expect = 0u32;
            let mut sent = 0u32;
            for round in 0..rounds {
                for _ in 0..(round % 4 + 1) {
                    let mut parts = router.recv_multipart(0).unwrap();
                    assert_eq!(parts.remove(0), b"d");
                    assert_eq!(parts, message(expect), "ROUTER got message {expect} wrong");
                    expect += 1;
                }
                for _ in 0..(round % 3 + 1) {
                    let mut parts = vec![b"d".to_vec()];
                    parts.extend(message(sent));
                    router.send_multipart(parts, 0).unwrap();
                    sent += 1;
                }
            }
        });
        let mut sent = 0u32;
        let mut expect = 0u32;
        for round in 0..rounds {
            for _ in 0..(round % 4 + 1) {
                dealer.send_multipart(message(sent), 0).unwrap();
                sent += 1;
            }
            for _ in 0..(round % 3 + 1) {
                let parts = dealer.recv_multipart(0).unwrap();
                assert_eq!(parts, message(expect), "DEALER got message {expect} wrong");
                expect += 1;
            }
        }
        server.join().unwrap();
    }
}

/// REQ and REP in lock step with heartbeats every millisecond: the
/// session's PINGs and PONGs take the output back from the socket's thread
/// between its direct writes, and the stream stays well-formed.
#[test]
fn heartbeats_interleave_with_direct_writes() {
    for ep in endpoints("heartbeats") {
        let ctx = Context::new();
        // PINGs every millisecond; a PONG may take long on a loaded machine
        // (the timeout defaults to the interval, which would drop the
        // connection and with it REQ's request).
        let rep = ctx.socket(SocketType::REP).unwrap();
        rep.set_heartbeat_ivl(1).unwrap();
        rep.set_heartbeat_timeout(30_000).unwrap();
        rep.bind(&ep).unwrap();
        let ep = rep.last_endpoint().unwrap();
        let req = ctx.socket(SocketType::REQ).unwrap();
        req.set_heartbeat_ivl(1).unwrap();
        req.set_heartbeat_timeout(30_000).unwrap();
        req.connect(&ep).unwrap();
        let server = thread::spawn(move || {
            for i in 0..3000u32 {
                assert_eq!(rep.recv_bytes(0).unwrap(), body(i, 16));
                rep.send(body(i, 8), 0).unwrap();
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        for i in 0..3000u32 {
            req.send(body(i, 16), 0).unwrap();
            assert_eq!(req.recv_bytes(0).unwrap(), body(i, 8));
            assert!(Instant::now() < deadline);
        }
        server.join().unwrap();
    }
}

/// A direct write meets full kernel buffers: the peer reads nothing for a
/// while, so the kernel takes part of the message and the session writes
/// the rest, before the messages queued after it.
#[test]
fn direct_write_through_full_buffers() {
    for ep in endpoints("full") {
        let ctx = Context::new();
        let pair_b = ctx.socket(SocketType::PAIR).unwrap();
        pair_b.set_rcvbuf(4096).unwrap();
        pair_b.set_rcvhwm(1).unwrap();
        pair_b.bind(&ep).unwrap();
        let ep = pair_b.last_endpoint().unwrap();
        let pair_a = ctx.socket(SocketType::PAIR).unwrap();
        pair_a.set_sndbuf(4096).unwrap();
        pair_a.connect(&ep).unwrap();

        let n = 200u32;
        // The receiver stays away at first, so the buffers fill up.
        let reader = thread::spawn(move || {
            pair_b.send("go", 0).unwrap();
            thread::sleep(Duration::from_millis(300));
            for i in 0..n {
                let len = 1000 + (i as usize * 997) % 60_000;
                let got = pair_b.recv_bytes(0).unwrap();
                assert_eq!(got.len(), len, "message {i}");
                assert_eq!(got, body(i, len), "message {i}");
                if i % 10 == 9 {
                    pair_b.send("more", 0).unwrap();
                }
            }
        });
        assert_eq!(pair_a.recv_bytes(0).unwrap(), b"go");
        for i in 0..n {
            let len = 1000 + (i as usize * 997) % 60_000;
            pair_a.send(body(i, len), 0).unwrap();
            if i % 10 == 9 {
                // Received: the next send may go directly again.
                assert_eq!(pair_a.recv_bytes(0).unwrap(), b"more");
            }
        }
        reader.join().unwrap();
    }
}

/// The peer goes away in the middle of a ping-pong and comes back: sends
/// never fail or hang, and the conversation resumes on the new connection.
#[test]
fn peer_restarts_during_ping_pong() {
    for ep in endpoints("restart") {
        let ctx = Context::new();
        let first = ctx.socket(SocketType::ROUTER).unwrap();
        first.bind(&ep).unwrap();
        let ep = first.last_endpoint().unwrap();
        let dealer = ctx.socket(SocketType::DEALER).unwrap();
        dealer.set_identity(b"d").unwrap();
        dealer.set_rcvtimeo(100).unwrap();
        dealer.connect(&ep).unwrap();
        for i in 0..50u32 {
            dealer.send(body(i, 32), 0).unwrap();
            let parts = first.recv_multipart(0).unwrap();
            assert_eq!(parts[1], body(i, 32));
            first
                .send_multipart([b"d".to_vec(), body(i, 8)], 0)
                .unwrap();
            assert_eq!(dealer.recv_bytes(0).unwrap(), body(i, 8));
        }
        drop(first);
        // Sends while the peer is gone: no failure, no hang.
        for i in 0..20u32 {
            dealer.send(body(i, 32), zmqrs::DONTWAIT).ok();
            let _ = dealer.recv_bytes(0);
        }
        let second = ctx.socket(SocketType::ROUTER).unwrap();
        second.bind(&ep).unwrap();
        second.set_rcvtimeo(100).unwrap();
        // Whatever was queued may arrive first; then a fresh exchange.
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            assert!(
                Instant::now() < deadline,
                "no exchange on the new connection"
            );
            dealer.send("ping", zmqrs::DONTWAIT).ok();
            match second.recv_multipart(0) {
                Ok(parts) if parts[1] == b"ping" => {
                    second
                        .send_multipart([b"d".to_vec(), b"pong".to_vec()], 0)
                        .unwrap();
                    break;
                }
                _ => {}
            }
        }
        loop {
            assert!(Instant::now() < deadline, "no pong");
            if let Ok(m) = dealer.recv_bytes(0) {
                if m == b"pong" {
                    break;
                }
            }
        }
    }
}
