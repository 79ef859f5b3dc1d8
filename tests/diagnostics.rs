//! The diagnostics a Rust user turns on by installing a `log` logger:
//! connect, accept, handshake success and failure with its reason, the
//! cause of a disconnect, reconnect back-off, and drops at the high-water
//! mark (see zmqrs::diag).
//!
//! One test: a process has one logger, and records of parallel tests would
//! mix. Each step looks for records naming its own endpoint.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use log::{Level, LevelFilter, Log, Metadata, Record};
use zmqrs::diag::{CONNECTION, HWM};
use zmqrs::{Context, Socket};

struct Capture(Mutex<Vec<(Level, String, String)>>);

impl Log for Capture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn log(&self, r: &Record<'_>) {
        if let Ok(mut v) = self.0.lock() {
            v.push((r.level(), r.target().to_string(), r.args().to_string()));
        }
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

/// Waits (up to 10 s) for a record of `target` at `level` whose text holds
/// every one of `words`; panics with everything logged otherwise.
fn expect_record(level: Level, target: &str, words: &[&str]) -> String {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        {
            let records = CAPTURE.0.lock().expect("capture lock");
            if let Some((_, _, text)) = records.iter().find(|(l, t, text)| {
                *l == level && t == target && words.iter().all(|w| text.contains(w))
            }) {
                return text.clone();
            }
            if Instant::now() > deadline {
                let all: Vec<String> = records
                    .iter()
                    .map(|(l, t, s)| format!("{l} {t}: {s}"))
                    .collect();
                panic!(
                    "no {level} record of {target} with {words:?}; logged:\n{}",
                    all.join("\n")
                );
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn unused_tcp_endpoint() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a probe");
    let port = l.local_addr().expect("probe address").port();
    format!("tcp://127.0.0.1:{port}")
}

fn bound(ctx: &Context, kind: zmqrs::SocketType, ep: &str) -> (Socket, String) {
    let s = ctx.socket(kind).expect("socket");
    s.set_linger(0).expect("linger");
    s.bind(ep).expect("bind");
    let ep = s.last_endpoint().expect("last endpoint");
    (s, ep)
}

#[test]
fn connection_events_and_hwm_drops_reach_the_log() {
    log::set_logger(&CAPTURE).expect("the only logger");
    // Debug, not Trace: mio traces every registration.
    log::set_max_level(LevelFilter::Debug);
    let ctx = Context::new();

    // Reconnect back-off: nothing listens there.
    let nowhere = unused_tcp_endpoint();
    let lonely = ctx.socket(zmqrs::DEALER).expect("dealer");
    lonely.set_linger(0).expect("linger");
    lonely.set_reconnect_ivl(20).expect("ivl");
    lonely.connect(&nowhere).expect("connect");
    expect_record(Level::Debug, CONNECTION, &[&nowhere, "reconnecting in"]);
    drop(lonely);

    // Connect, accept, handshake, and the cause of a disconnect.
    let (rep, ep) = bound(&ctx, zmqrs::REP, "tcp://127.0.0.1:*");
    let req = ctx.socket(zmqrs::REQ).expect("req");
    req.set_linger(0).expect("linger");
    req.connect(&ep).expect("connect");
    req.send("ping", 0).expect("send");
    assert_eq!(rep.recv_bytes(0).expect("recv"), b"ping");
    expect_record(Level::Info, CONNECTION, &[&ep, "connected (fd "]);
    expect_record(Level::Info, CONNECTION, &[&ep, "accepted (fd "]);
    expect_record(Level::Info, CONNECTION, &[&ep, "handshake succeeded"]);
    drop(rep);
    // The REQ's connection ends: the bound side went away.
    expect_record(
        Level::Info,
        CONNECTION,
        &[&ep, "disconnected: closed by the peer"],
    );
    drop(req);

    // A handshake that fails, and why: a NULL client at a PLAIN server.
    // (Options count at bind time, as in libzmq.)
    let server = ctx.socket(zmqrs::DEALER).expect("dealer");
    server.set_linger(0).expect("linger");
    server.set_plain_server(true).expect("plain server");
    server.bind("tcp://127.0.0.1:*").expect("bind");
    let ep = server.last_endpoint().expect("last endpoint");
    let client = ctx.socket(zmqrs::DEALER).expect("dealer");
    client.set_linger(0).expect("linger");
    client.connect(&ep).expect("connect");
    expect_record(
        Level::Warn,
        CONNECTION,
        &[
            &ep,
            "handshake failed: protocol error ZMTP_MECHANISM_MISMATCH",
        ],
    );
    drop((server, client));

    // Drops at the high-water mark: a subscriber that never reads.
    let (publisher, ep) = bound(&ctx, zmqrs::PUB, "inproc://diagnostics-hwm");
    publisher.set_sndhwm(2).expect("sndhwm");
    let subscriber = ctx.socket(zmqrs::SUB).expect("sub");
    subscriber.set_linger(0).expect("linger");
    subscriber.set_rcvhwm(2).expect("rcvhwm");
    subscriber.set_subscribe(b"").expect("subscribe");
    subscriber.connect(&ep).expect("connect");
    let deadline = Instant::now() + Duration::from_secs(10);
    // The subscription reaches the publisher asynchronously: publish until
    // the pipe fills.
    while Instant::now() < deadline {
        publisher.send("news", 0).expect("publish");
        let records = CAPTURE.0.lock().expect("capture lock");
        if records.iter().any(|(_, t, _)| t == HWM) {
            break;
        }
    }
    let text = expect_record(Level::Debug, HWM, &["dropped at the high-water mark"]);
    assert!(
        text.starts_with(char::is_numeric),
        "the record counts the drops: {text}"
    );
}
