//! Records seed inputs for the fuzz targets from zmqrs itself: real
//! greetings, handshakes and traffic produced by pairs of engines (client
//! and server, NULL, PLAIN and CURVE), frames from our encoder, SOCKS
//! replies in every form RFC 1928/1929 allows, endpoints, option values and
//! socket-call scripts. Each file is laid out as its target reads it (see
//! fuzz/src/common.rs, shared with the targets).
//!
//! Run through `fuzz/record/run` (it sets `--cfg fuzzing`, as cargo-fuzz
//! does, so CURVE's fixed fuzz-build randomness makes the recorded
//! conversations replay); then `cargo fuzz cmin` each target.

#[path = "../../src/common.rs"]
mod common;
mod libzmq;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::*;
use zmqrs::constants::*;
use zmqrs::zmtp::codec::{Framing, OutQueue};
use zmqrs::zmtp::engine::Engine;
use zmqrs::Message;

struct Out {
    root: PathBuf,
    n: usize,
}

impl Out {
    fn put(&mut self, target: &str, name: &str, data: &[u8]) {
        let dir = self.root.join(target);
        fs::create_dir_all(&dir).expect("create seed dir");
        self.n += 1;
        let file = dir.join(format!("{name}-{:04}", self.n));
        fs::write(file, data).expect("write seed");
    }
}

fn with_head(head: &[u8], body: &[u8]) -> Vec<u8> {
    let mut v = head.to_vec();
    v.extend_from_slice(body);
    v
}

/// A conversation between a client engine and a server engine: returns
/// (client's bytes, server's bytes), with traffic and, when heartbeats are
/// on, a PING/PONG round after the handshake.
fn converse(mech: Mech, t: i32, rid: bool, hb: bool, zap: bool) -> (Vec<u8>, Vec<u8>) {
    let now = Instant::now();
    let mut c = Engine::new(
        engine_config(mech, config_byte(false, peer_type(t), rid, hb, false)),
        now,
    );
    let mut s = Engine::new(engine_config(mech, config_byte(true, t, rid, hb, zap)), now);
    let (mut c_sent, mut s_sent) = pump(&mut c, &mut s, now, 64, ZapAnswer::Accept);
    if hb {
        let later = now + Duration::from_millis(150);
        let _ = c.on_timer(later);
        let _ = s.on_timer(later);
        let (a, b) = pump(&mut c, &mut s, later, 64, ZapAnswer::Accept);
        c_sent.extend_from_slice(&a);
        s_sent.extend_from_slice(&b);
    }
    (c_sent, s_sent)
}

fn handshakes(out: &mut Out) {
    for (mech, targets) in [
        (Mech::Null, &["handshake_null"][..]),
        (Mech::Plain, &["handshake_plain"][..]),
        (
            Mech::Curve,
            &["handshake_curve_server", "handshake_curve_client"][..],
        ),
    ] {
        for &t in &SOCKET_TYPES {
            for (rid, hb, zap) in [
                (false, false, false),
                (true, true, false),
                (false, false, true),
            ] {
                let (c_sent, s_sent) = converse(mech, t, rid, hb, zap);
                // The server's seeds are what the client said, and back.
                let s_cfg = config_byte(true, t, rid, hb, zap);
                let c_cfg = config_byte(false, peer_type(t), rid, hb, false);
                for seed in [0u8, 2, 5] {
                    for &target in targets {
                        if target != "handshake_curve_client" {
                            out.put(target, "server", &with_head(&[s_cfg, seed], &c_sent));
                        }
                        if target != "handshake_curve_server" {
                            out.put(target, "client", &with_head(&[c_cfg, seed], &s_sent));
                        }
                    }
                }
            }
        }
    }
    // Older peers: ZMTP 1.0 (identity frame, then a message) and 2.0.
    let v1 = [3, 0, b'i', b'd', 3, 0, b'h', b'i'];
    let mut v2 = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 1, ZMQ_PUSH as u8];
    v2.extend_from_slice(&[0, 0, 0, 2, b'o', b'k']);
    let mut v30 = null_peer_prefix(ZMQ_PUSH, 0);
    v30.extend_from_slice(&frame(0, b"hello"));
    for stream in [&v1[..], &v2[..], &v30[..]] {
        out.put(
            "handshake_null",
            "old",
            &with_head(
                &[config_byte(false, ZMQ_PULL, true, false, false), 0],
                stream,
            ),
        );
    }
}

/// The frames our encoder writes for some messages, in one framing.
fn encoded(framing: Framing, msgs: Vec<Message>) -> Vec<u8> {
    let mut q = OutQueue::default();
    for m in msgs {
        q.push_frame(framing, m);
    }
    q.take_all()
}

fn sample_messages() -> Vec<Message> {
    let mut a = Message::from_slice(b"first");
    a.set_more(true);
    vec![
        a,
        Message::from_slice(b""),
        Message::from_slice(&[0x42; 255]),
        Message::from_slice(&[0x43; 256]),
        Message::from_slice(&[0x44; 5000]),
    ]
}

fn frame_decoder(out: &mut Out) {
    for (sel_framing, framing) in [(0u8, Framing::V1), (1, Framing::V2), (2, Framing::V3_1)] {
        let wire = encoded(framing, sample_messages());
        for limit in [0u8, 5, 6] {
            for seed in [0u8, 3] {
                let sel = sel_framing | (limit << 2) | if seed == 3 { 0x20 } else { 0 };
                out.put("frame_decoder", "frames", &with_head(&[sel, seed], &wire));
            }
        }
    }
    // A command frame and a huge announced size.
    let mut cmd = frame(0x04, b"\x04PING\x00\x05ctx");
    cmd.extend_from_slice(&[0x02, 0, 0, 0, 0, 0x10, 0, 0, 0]);
    out.put("frame_decoder", "cmd", &with_head(&[2, 1], &cmd));
}

fn commands(out: &mut Out) {
    let now = Instant::now();
    // Our own PING and PONG, as the engine writes them.
    let mut a = Engine::new(
        engine_config(
            Mech::Null,
            config_byte(false, ZMQ_DEALER, false, true, false),
        ),
        now,
    );
    let mut b = Engine::new(
        engine_config(
            Mech::Null,
            config_byte(false, ZMQ_ROUTER, false, false, false),
        ),
        now,
    );
    pump(&mut a, &mut b, now, 64, ZapAnswer::None);
    let later = now + Duration::from_millis(150);
    let _ = a.on_timer(later);
    let ping = a.take_output();
    let _ = feed(&mut b, &ping, later);
    let mut sink = Vec::new();
    let _ = service(&mut b, later, ZapAnswer::None, &mut sink);
    let pong = b.take_output();
    // JOIN/LEAVE as a DISH writes them, through an engine.
    let mut dish = Engine::new(
        engine_config(
            Mech::Null,
            config_byte(false, ZMQ_DISH, false, false, false),
        ),
        now,
    );
    let mut radio = Engine::new(
        engine_config(
            Mech::Null,
            config_byte(false, ZMQ_RADIO, false, false, false),
        ),
        now,
    );
    pump(&mut dish, &mut radio, now, 64, ZapAnswer::None);
    for (join, g) in [(true, &b"weather"[..]), (false, b"weather"), (true, b"")] {
        if let Some(m) = zmqrs::fuzzing::group_command(join, g) {
            dish.send_msg(m);
        }
    }
    let joins = dish.take_output();
    let hand_made = [
        frame(0x04, b"\x09SUBSCRIBEtopic"),
        frame(0x04, b"\x06CANCELtopic"),
        frame(0x04, b"\x09SUBSCRIBE"),
        frame(0x04, b"\x04PING\x00\x0aabcdefghijklmnopqrstuvwxyz"),
        frame(0x04, b"\x04PONGctx"),
        frame(0x04, b"\x05ERROR\x05Oops!"),
        frame(0x04, b"\x07UNKNOWNxyz"),
        frame(0x01, b"\x01sub"),
        frame(0x00, b"\x00unsub"),
        frame(0x00, &[0x55; 2000]),
    ];
    for &t in &SOCKET_TYPES {
        for hb in [false, true] {
            let cfg = config_byte(false, t, t == ZMQ_ROUTER, hb, false);
            for stream in [&ping[..], &pong[..], &joins[..]] {
                out.put("commands", "engine", &with_head(&[cfg, 0], stream));
            }
            for f in &hand_made {
                out.put("commands", "frame", &with_head(&[cfg, 4], f));
            }
        }
    }
    let v30 = config_byte(false, ZMQ_XPUB, false, false, false) | 0x80;
    out.put(
        "commands",
        "zmtp30",
        &with_head(&[v30, 0], &frame(0x00, b"\x01news")),
    );
}

fn zap(out: &mut Out) {
    let md = one_property("Hello", b"World");
    let good: Vec<(&[u8], bool)> = vec![
        (b"", true),
        (b"1.0", true),
        (b"1", true),
        (b"200", true),
        (b"OK", true),
        (b"admin", true),
        (&md, false),
    ];
    let mut replies = vec![encode_frames(&good)];
    for (i, bad) in [
        (3, &b"400"[..]),
        (3, b"300"),
        (3, b"500"),
        (3, b"999"),
        (1, b"2.0"),
        (2, b"7"),
        (0, b"x"),
        (6, b"\x05Hello"),
    ] {
        let mut f = good.clone();
        f[i].0 = bad;
        replies.push(encode_frames(&f));
    }
    replies.push(encode_frames(&good[..6]));
    for mech in 0u8..3 {
        for t in [ZMQ_REP, ZMQ_ROUTER, ZMQ_PULL] {
            let sel = mech | (type_index(t) << 2);
            for r in &replies {
                out.put("zap_reply", "reply", &with_head(&[sel], r));
            }
        }
    }
}

fn socks(out: &mut Out) {
    let zmtp = null_peer_prefix(ZMQ_PAIR, 1);
    let connect_replies: Vec<Vec<u8>> = vec![
        vec![5, 0, 0, 1, 127, 0, 0, 1, 0x15, 0xb3],
        with_head(
            &[5, 0, 0, 4],
            &[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x15, 0xb3],
        ),
        with_head(&[5, 0, 0, 3, 11], b"example.com\x15\xb3"),
        vec![5, 1, 0, 1, 0, 0, 0, 0, 0, 0],
        vec![5, 5, 0, 1, 0, 0, 0, 0, 0, 0],
    ];
    for config in 0u8..16 {
        let auth = config & 1 != 0;
        let mut base = if auth { vec![5, 2, 1, 0] } else { vec![5, 0] };
        for r in &connect_replies {
            for tail in [&[][..], &zmtp[..]] {
                let mut s = base.clone();
                s.extend_from_slice(r);
                s.extend_from_slice(tail);
                for seed in [0u8, 1, 2] {
                    out.put("socks_reply", "proxy", &with_head(&[config, seed], &s));
                }
            }
        }
        base.truncate(1);
        base.push(0xFF);
        out.put("socks_reply", "refused", &with_head(&[config, 0], &base));
    }
    out.put("socks_reply", "badauth", &with_head(&[1, 0], &[5, 2, 1, 1]));
}

fn radio_dish(out: &mut Out) {
    let mut dgrams = Vec::new();
    for (g, body) in [
        (&b"weather"[..], &b"sunny"[..]),
        (b"", b"x"),
        (&[b'g'; 255][..], b"long group"),
    ] {
        if let Some(d) = zmqrs::transport::udp::encode_parts(g, body) {
            dgrams.push(d.len().min(255) as u8);
            dgrams.extend_from_slice(&d[..d.len().min(255)]);
        }
    }
    dgrams.push(15);
    dgrams.extend_from_slice(b"127.0.0.1:5555\0");
    out.put("radio_dish", "udp", &with_head(&[0, 0], &dgrams));
    // RADIO -> DISH traffic and DISH -> RADIO commands, through engines.
    let now = Instant::now();
    let mut radio = Engine::new(
        engine_config(
            Mech::Null,
            config_byte(false, ZMQ_RADIO, false, false, false),
        ),
        now,
    );
    let mut dish = Engine::new(
        engine_config(
            Mech::Null,
            config_byte(false, ZMQ_DISH, false, false, false),
        ),
        now,
    );
    pump(&mut radio, &mut dish, now, 64, ZapAnswer::None);
    for (g, body) in [(&b"weather"[..], &b"sunny"[..]), (b"", b"empty group")] {
        let mut m = Message::from_slice(body);
        let _ = m.set_group(g);
        for f in zmqrs::fuzzing::radio_to_wire(m) {
            radio.send_msg(f);
        }
    }
    let to_dish = radio.take_output();
    for seed in [0u8, 1, 2] {
        out.put("radio_dish", "to-dish", &with_head(&[2, seed], &to_dish));
    }
    for (join, g) in [
        (true, &b"weather"[..]),
        (false, b"weather"),
        (true, &[b'x'; 255][..]),
    ] {
        if let Some(m) = zmqrs::fuzzing::group_command(join, g) {
            dish.send_msg(m);
        }
    }
    dish.send_msg(Message::from_slice(b"data from a dish"));
    let to_radio = dish.take_output();
    for seed in [0u8, 1, 2] {
        out.put("radio_dish", "to-radio", &with_head(&[3, seed], &to_radio));
    }
}

fn z85(out: &mut Out) {
    for key in [
        server_public(),
        client_public(),
        SERVER_SECRET,
        [0; 32],
        [0xFF; 32],
    ] {
        if let Some(text) = zmqrs::util::z85::encode(&key) {
            out.put("z85_decode", "key", text.as_bytes());
        }
    }
    out.put("z85_decode", "rfc", b"HelloWorld");
    out.put("z85_decode", "max", b"%nSc0");
}

fn endpoints(out: &mut Out) {
    for e in [
        "tcp://127.0.0.1:5555",
        "tcp://*:*",
        "tcp://*:5555",
        "tcp://[::1]:5555",
        "tcp://[fe80::1%lo]:5555",
        "tcp://lo:5555",
        "tcp://127.0.0.1:5555;127.0.0.1:6666",
        "tcp://localhost:5555",
        "tcp://0.0.0.0:65535",
        "tcp://1.2.3.4:0",
        "ipc:///tmp/zmqrs-fuzz.sock",
        "ipc://@abstract-name",
        "ipc://*",
        "inproc://name",
        "udp://239.0.0.1:5555",
        "udp://lo;239.0.0.1:5555",
        "udp://127.0.0.1;239.0.0.1:5555",
        "udp://*:5555",
        "udp://[ff02::1]:5555",
        "pgm://eth0;239.192.1.1:5555",
        "127.0.0.1:1080",
        "[::1]:1080",
        "10.0.0.0/8",
        "::1/128",
        "192.168.1.1",
    ] {
        out.put("endpoint", "ep", e.as_bytes());
    }
}

/// One option op in the options targets' format.
fn set_op(option: i32, value: &[u8]) -> Vec<u8> {
    let (kind, opt) = if (0..256).contains(&option) {
        (0u8, option as u8)
    } else {
        (0x80, (option + 128) as u8)
    };
    with_head(&[kind, opt, value.len() as u8], value)
}

fn get_op(option: i32, len: u8) -> Vec<u8> {
    vec![1, option as u8, len]
}

fn options(out: &mut Out) {
    let key = server_public();
    let z85key = zmqrs::util::z85::encode(&key).unwrap_or_default();
    for option in 0..=130 {
        let values: [&[u8]; 6] = [
            &1i32.to_ne_bytes(),
            &0i32.to_ne_bytes(),
            &(-1i32).to_ne_bytes(),
            b"topic",
            &key,
            z85key.as_bytes(),
        ];
        for (i, v) in values.iter().enumerate() {
            let t = (option as u8 + i as u8) % 21;
            let mut ops = set_op(option, v);
            ops.extend_from_slice(&get_op(option, 4));
            ops.extend_from_slice(&get_op(option, 255));
            let input = with_head(&[t], &ops);
            out.put("options", "opt", &input);
            out.put("socket_options", "opt", &input);
        }
    }
    let mut null_op = vec![2u8, ZMQ_ZAP_DOMAIN as u8, 0];
    null_op.extend_from_slice(&get_op(ZMQ_ZAP_DOMAIN, 255));
    out.put("options", "null", &with_head(&[5], &null_op));
}

fn socket_ops(out: &mut Out) {
    // op codes: 0 create [slot][type], 2 bind [slot][ep], 3 connect
    // [slot][ep], 4 send [slot][flags][len][bytes], 6 recv [slot],
    // 8 setsockopt [slot][opt idx][len][bytes], 9 close [slot],
    // 10 unbind/disconnect [slot|0x80][ep], 11 join/leave [slot|0x80][len][group], 12 shutdown.
    let pair = |a: i32, b: i32| -> Vec<u8> {
        vec![
            0, 0, a as u8, 0, 1, b as u8, 2, 0, 0, 3, 1, 0, 4, 0, 0, 5, b'h', b'e', b'l', b'l',
            b'o', 6, 1, 4, 1, 0, 2, b'h', b'i', 6, 0, 9, 0, 9, 1,
        ]
    };
    for (a, b) in [
        (ZMQ_PUSH, ZMQ_PULL),
        (ZMQ_PAIR, ZMQ_PAIR),
        (ZMQ_REQ, ZMQ_REP),
        (ZMQ_DEALER, ZMQ_ROUTER),
        (ZMQ_PUB, ZMQ_SUB),
        (ZMQ_XPUB, ZMQ_XSUB),
        (ZMQ_CLIENT, ZMQ_SERVER),
        (ZMQ_RADIO, ZMQ_DISH),
        (ZMQ_SCATTER, ZMQ_GATHER),
        (ZMQ_PEER, ZMQ_PEER),
        (ZMQ_CHANNEL, ZMQ_CHANNEL),
    ] {
        out.put("socket_ops", "pair", &pair(a, b));
    }
    // SUB subscribes (option index 0 is SUBSCRIBE), DISH joins, shutdown.
    let sub = vec![
        0,
        0,
        ZMQ_PUB as u8,
        0,
        1,
        ZMQ_SUB as u8,
        8,
        1,
        0,
        0,
        2,
        0,
        0,
        3,
        1,
        0,
        4,
        0,
        0,
        3,
        b'a',
        b'b',
        b'c',
        6,
        1,
        12,
        0,
        4,
        0,
        0,
        1,
        b'x',
    ];
    out.put("socket_ops", "sub", &sub);
    let dish = vec![
        0,
        0,
        ZMQ_RADIO as u8,
        0,
        1,
        ZMQ_DISH as u8,
        11,
        0x81,
        3,
        b'g',
        b'r',
        b'p',
        2,
        1,
        1,
        3,
        0,
        1,
        4,
        0,
        2,
        2,
        b'h',
        b'i',
        6,
        1,
        10,
        0x80,
        1,
    ];
    out.put("socket_ops", "dish", &dish);
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--libzmq") {
        let root = PathBuf::from(args.get(1).map_or("libzmq-fuzz-corpora", String::as_str));
        let mut out = Out { root, n: 0 };
        libzmq::all(&mut out);
        println!("{} corpus files in {}", out.n, out.root.display());
        return;
    }
    let root = args
        .first()
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new("seeds").to_path_buf());
    let mut out = Out { root, n: 0 };
    handshakes(&mut out);
    frame_decoder(&mut out);
    commands(&mut out);
    zap(&mut out);
    socks(&mut out);
    radio_dish(&mut out);
    z85(&mut out);
    endpoints(&mut out);
    options(&mut out);
    socket_ops(&mut out);
    println!("{} seed files in {}", out.n, out.root.display());
}
