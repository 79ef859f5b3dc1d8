//! Corpora for libzmq 4.3.5's own fuzz programs (tests/test_*_fuzzer.cpp),
//! which replay every file of `tests/libzmq-fuzz-corpora/<test>_seed_corpus/`
//! as one input (raw bytes, one case per file):
//!
//! * test_bind_fuzzer / test_connect_fuzzer: an endpoint string for a PUB
//!   socket's bind / connect (kept to loopback, local paths and inproc);
//! * test_bind_null_fuzzer: what a raw TCP client sends to a bound PUB
//!   (64 greeting bytes first, then the rest); test_connect_null_fuzzer:
//!   what a raw TCP server sends to a connecting SUB;
//! * test_bind_curve_fuzzer: a CURVE client's greeting and HELLO for the
//!   fuzzer's fixed server key (INITIATE cannot be valid: the cookie is
//!   random); test_connect_curve_fuzzer: a CURVE server's greeting,
//!   WELCOME, READY and MESSAGEs (boxed for another client key: the
//!   connecting client's short-term key is random);
//! * test_bind_stream_fuzzer / test_connect_stream_fuzzer: raw bytes;
//! * test_socket_options_fuzzer: one value set on every option of an XPUB;
//! * test_z85_decode_fuzzer: Z85 text.
//!
//! The ZMTP conversations are produced by our engines.

use std::time::Instant;

use crate::common::*;
use crate::Out;
use zmqrs::constants::*;
use zmqrs::zmtp::engine::Engine;
use zmqrs::Message;

/// The server public key libzmq's test_bind_curve_fuzzer configures (its
/// server secret is fixed too), in Z85: the data a HELLO must be boxed to.
const LIBZMQ_FUZZER_SERVER_PUBLIC: &[u8] = b"3.9-xXwy{g*w72TP*3iB9IJJRxlBH<ufTAvPd2>C";

fn put(out: &mut Out, test: &str, name: &str, data: &[u8]) {
    out.put(&format!("{test}_seed_corpus"), name, data);
}

/// (client's bytes, server's bytes) of a NULL or CURVE conversation
/// between a client of type `ct` and a server of type `st`, with the
/// server then sending `msgs`.
fn conversation(mech: Mech, ct: i32, st: i32, msgs: &[&[u8]]) -> (Vec<u8>, Vec<u8>) {
    let now = Instant::now();
    let mut c = Engine::new(
        engine_config(mech, config_byte(false, ct, false, false, false)),
        now,
    );
    let mut s = Engine::new(
        engine_config(mech, config_byte(true, st, false, false, false)),
        now,
    );
    let (mut c_sent, mut s_sent) = pump(&mut c, &mut s, now, 64, ZapAnswer::Accept);
    // `service` already sent two messages each way on Ready; add ours.
    for (i, m) in msgs.iter().enumerate() {
        let mut msg = Message::from_slice(m);
        msg.set_more(i + 1 < msgs.len() && m.len() < 4);
        s.send_msg(msg);
    }
    let (a, b) = pump(&mut c, &mut s, now, 64, ZapAnswer::Accept);
    c_sent.extend_from_slice(&a);
    s_sent.extend_from_slice(&b);
    (c_sent, s_sent)
}

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

fn endpoints(out: &mut Out) {
    let ok = [
        "tcp://127.0.0.1:*",
        "tcp://127.0.0.1:0",
        "tcp://127.0.0.1:5560",
        "tcp://[::1]:*",
        "tcp://localhost:5561",
        "tcp://127.0.0.1:5559;127.0.0.1:5558",
        "ipc://*",
        "ipc://@zmqrs-libzmq-fuzz",
        "ipc://zmqrs-fuzz.sock",
        "inproc://fuzz",
        "udp://127.0.0.1:5557",
    ];
    let bad = [
        "tcp://",
        "tcp://127.0.0.1",
        "tcp://127.0.0.1:99999",
        "tcp://256.1.1.1:5555",
        "tcp://[::1:5555",
        "tcp://127.0.0.1:-1",
        "tcp://%:5555",
        "ipc://",
        "inproc://",
        "bogus://x",
        "://",
        "tcp:/127.0.0.1:5555",
        "pgm://127.0.0.1;239.192.1.1:5555",
        "tcp://;:5555",
    ];
    let long_ipc = format!("ipc://{}", "p".repeat(200));
    for e in ok
        .iter()
        .chain(bad.iter())
        .copied()
        .chain([long_ipc.as_str()])
    {
        put(out, "test_bind_fuzzer", "ep", e.as_bytes());
        put(out, "test_connect_fuzzer", "ep", e.as_bytes());
    }
    // A NUL in the middle: the C string ends there.
    put(out, "test_bind_fuzzer", "nul", b"inproc://a\0tcp://x");
}

fn null(out: &mut Out) {
    // bind_null: a raw client speaks to a bound PUB; connect_null: a raw
    // server speaks to a connecting SUB.
    let (sub_sent, pub_sent) = conversation(
        Mech::Null,
        ZMQ_SUB,
        ZMQ_PUB,
        &[b"topic", b"hello", &[0x33; 3000]],
    );
    let subscribe = frame(0x04, b"\x09SUBSCRIBE");
    let cancel = frame(0x04, b"\x06CANCELtopic");
    let ping = frame(0x04, b"\x04PING\x00\x0actx");
    let greeting = &sub_sent[..64.min(sub_sent.len())];
    let b = "test_bind_null_fuzzer";
    put(out, b, "sub", &sub_sent);
    put(
        out,
        b,
        "sub-subscribe",
        &cat(&[&sub_sent, &subscribe, &ping, &cancel]),
    );
    put(out, b, "greeting", greeting);
    put(
        out,
        b,
        "greeting-garbage",
        &cat(&[greeting, b"\xff\xff\xff\xff\xff\xff\xff\xff\xff"]),
    );
    let mut v30 = null_peer_prefix(ZMQ_SUB, 0);
    v30.extend_from_slice(&frame(0, b"\x01"));
    put(out, b, "zmtp30", &v30);
    let mut v20 = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 1, ZMQ_SUB as u8];
    v20.extend_from_slice(&[0, 0, 0, 1, 1]);
    put(out, b, "zmtp20", &v20);
    put(out, b, "zmtp10", &[1, 0, 2, 0, 1]);
    let mut plain = greeting.to_vec();
    if plain.len() == 64 {
        plain[12..32].fill(0);
        plain[12..17].copy_from_slice(b"PLAIN");
    }
    put(out, b, "mismatch", &plain);
    let mut huge = null_peer_prefix(ZMQ_SUB, 1);
    huge.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x10, 0, 0, 0]);
    put(out, b, "huge-frame", &huge);
    let mut bad_ready = greeting.to_vec();
    bad_ready.extend_from_slice(&frame(0x04, b"\x05READY\x0bSocket-Type\x00\x00\x00\x09PUB"));
    put(out, b, "bad-ready", &bad_ready);

    let c = "test_connect_null_fuzzer";
    put(out, c, "pub", &pub_sent);
    put(out, c, "greeting", &pub_sent[..64.min(pub_sent.len())]);
    put(out, c, "pub-ping", &cat(&[&pub_sent, &ping]));
    let mut v30 = null_peer_prefix(ZMQ_PUB, 0);
    v30.extend_from_slice(&frame(0, b"news"));
    put(out, c, "zmtp30", &v30);
    let mut v20 = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 1, ZMQ_PUB as u8];
    v20.extend_from_slice(&[0, 0, 0, 4, b'n', b'e', b'w', b's']);
    put(out, c, "zmtp20", &v20);
    let mut huge = null_peer_prefix(ZMQ_PUB, 1);
    huge.extend_from_slice(&[0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
    put(out, c, "huge-frame", &huge);
    let mut err = null_peer_prefix(ZMQ_PUB, 1);
    err.truncate(64);
    err.extend_from_slice(&frame(0x04, b"\x05ERROR\x0bnot allowed"));
    put(out, c, "error", &err);
}

fn curve(out: &mut Out) {
    let now = Instant::now();
    // bind_curve: our CURVE client's greeting and HELLO for the fuzzer's
    // server key, then traffic the server cannot accept without INITIATE.
    let server_key: [u8; 32] = zmqrs::util::z85::decode(LIBZMQ_FUZZER_SERVER_PUBLIC)
        .and_then(|k| k.try_into().ok())
        .expect("the libzmq fuzzer's server key decodes");
    let mut cfg = engine_config(
        Mech::Curve,
        config_byte(false, ZMQ_DEALER, false, false, false),
    );
    cfg.curve_server_key = server_key;
    let mut client = Engine::new(cfg, now);
    let mut server_greeting = vec![0u8; 64];
    server_greeting[0] = 0xFF;
    server_greeting[8] = 1;
    server_greeting[9] = 0x7F;
    server_greeting[10] = 3;
    server_greeting[11] = 1;
    server_greeting[12..17].copy_from_slice(b"CURVE");
    server_greeting[32] = 1;
    let _ = feed(&mut client, &server_greeting, now);
    let hello = client.take_output();
    let b = "test_bind_curve_fuzzer";
    put(out, b, "hello", &hello);
    put(out, b, "greeting", &hello[..64.min(hello.len())]);
    // Then what our client sends after a WELCOME from our own server: an
    // INITIATE with a cookie the fuzzer's server never issued.
    let (c_sent, s_sent) = conversation(Mech::Curve, ZMQ_DEALER, ZMQ_ROUTER, &[b"hi"]);
    let after_hello = c_sent.get(hello.len()..).unwrap_or(&[]);
    put(out, b, "hello-initiate", &cat(&[&hello, after_hello]));
    let mut short = hello.clone();
    short.truncate(64 + 100);
    put(out, b, "short-hello", &short);
    let c = "test_connect_curve_fuzzer";
    put(out, c, "server", &s_sent);
    put(out, c, "greeting", &s_sent[..64.min(s_sent.len())]);
    let mut err = s_sent[..64.min(s_sent.len())].to_vec();
    err.extend_from_slice(&frame(0x04, b"\x05ERROR\x0bbad HELLO"));
    put(out, c, "error", &err);
}

fn stream(out: &mut Out) {
    let (c_sent, s_sent) = conversation(Mech::Null, ZMQ_DEALER, ZMQ_ROUTER, &[b"x"]);
    for (name, data) in [
        ("zmtp-client", &c_sent[..]),
        ("zmtp-server", &s_sent[..]),
        ("http", &b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"[..]),
        ("binary", &[0u8, 1, 2, 3, 255, 254, 0, 0x7f][..]),
        ("text", &b"hello stream socket\n"[..]),
    ] {
        put(out, "test_bind_stream_fuzzer", name, data);
        put(out, "test_connect_stream_fuzzer", name, data);
    }
    put(out, "test_bind_stream_fuzzer", "big", &[0x41; 4096]);
}

fn options(out: &mut Out) {
    let key = server_public();
    let z85 = zmqrs::util::z85::encode(&key).unwrap_or_default();
    let mut z85_nul = z85.clone().into_bytes();
    z85_nul.push(0);
    let values: Vec<(&str, Vec<u8>)> = vec![
        ("int0", 0i32.to_ne_bytes().to_vec()),
        ("int1", 1i32.to_ne_bytes().to_vec()),
        ("int-1", (-1i32).to_ne_bytes().to_vec()),
        ("int1000", 1000i32.to_ne_bytes().to_vec()),
        ("intmax", i32::MAX.to_ne_bytes().to_vec()),
        ("i64", 1_000_000i64.to_ne_bytes().to_vec()),
        ("byte", vec![1]),
        ("text", b"topic".to_vec()),
        ("endpoint", b"127.0.0.1:1080".to_vec()),
        ("key", key.to_vec()),
        ("z85", z85.into_bytes()),
        ("z85nul", z85_nul),
        ("long", vec![b'x'; 300]),
    ];
    for (name, v) in values {
        put(out, "test_socket_options_fuzzer", name, &v);
    }
}

fn z85(out: &mut Out) {
    for key in [server_public(), client_public(), [0; 32], [0xFF; 32]] {
        if let Some(text) = zmqrs::util::z85::encode(&key) {
            put(out, "test_z85_decode_fuzzer", "key", text.as_bytes());
        }
    }
    for t in [
        &b"HelloWorld"[..],
        b"%nSc0",
        b"%nSc1",
        b"Hell\"",
        b"\x7f0000",
        b"abcdefg",
    ] {
        put(out, "test_z85_decode_fuzzer", "text", t);
    }
}

/// Every corpus.
pub fn all(out: &mut Out) {
    endpoints(out);
    null(out);
    curve(out);
    stream(out);
    options(out);
    z85(out);
}
