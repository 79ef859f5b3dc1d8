//! RADIO/DISH: UDP datagrams (group length, group, body), DGRAM address
//! frames, and the stream framing between RADIO and DISH sessions (group
//! and body frames to a DISH; JOIN/LEAVE commands to a RADIO) as decoded
//! by a real engine after a scripted NULL handshake.
//! Input: [mode][chunk seed][bytes].
#![no_main]
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::Instant;

use libfuzzer_sys::fuzz_target;
use zmqrs::constants::*;
use zmqrs::fuzzing::{
    group_command, parse_group_command, radio_accepts_from_wire, radio_to_wire, DishWire,
};
use zmqrs::transport::udp;
use zmqrs::zmtp::engine::Engine;
use zmqrs_fuzz::*;

fn datagrams(data: &[u8]) {
    // Several datagrams, each prefixed by a length byte.
    let mut rest = data;
    while let Some((&n, tail)) = rest.split_first() {
        let n = usize::from(n).min(tail.len());
        let d = &tail[..n];
        rest = &tail[n..];
        if let Some(m) = udp::decode(d) {
            // Without a NUL in the group, a datagram re-encodes as it came.
            if !d[1..1 + usize::from(d[0])].contains(&0) {
                assert_eq!(udp::encode(&m).as_deref(), Some(d));
            }
            let [g, body] = radio_to_wire(m);
            assert!(g.more());
            std::hint::black_box(body);
        }
        let from = SocketAddr::V4(SocketAddrV4::new(Ipv4Addr::new(10, 1, 2, 3), 4242));
        if let Some([addr, body]) = udp::dgram_decode(d, &from) {
            assert_eq!(
                udp::parse_dgram_address(addr.as_slice()),
                Some(SocketAddrV4::new(Ipv4Addr::new(10, 1, 2, 3), 4242))
            );
            assert_eq!(body.as_slice(), d);
        }
        std::hint::black_box(udp::parse_dgram_address(d));
    }
}

fn stream(ours: i32, seed: u8, data: &[u8]) {
    let now = Instant::now();
    let mut cfg = engine_config(Mech::Null, config_byte(false, ours, false, false, false));
    cfg.socket_type = ours;
    let mut e = Engine::new(cfg, now);
    let mut bytes = null_peer_prefix(peer_type(ours), 1);
    bytes.extend_from_slice(data);
    let mut chunker = Chunker::new(seed);
    let mut dish = DishWire::new();
    let mut rest = &bytes[..];
    while !rest.is_empty() {
        let n = chunker.next_len(rest.len());
        if feed(&mut e, &rest[..n], now).is_err() {
            return;
        }
        rest = &rest[n..];
        loop {
            let m = match e.next_msg(now) {
                Ok(Some(m)) => m,
                Ok(None) => break,
                Err(_) => return,
            };
            if ours == ZMQ_DISH {
                match dish.push(m) {
                    Ok(Some(msg)) => assert!(msg.group().len() <= ZMQ_GROUP_MAX_LENGTH as usize),
                    Ok(None) => {}
                    Err(()) => {
                        dish.reset();
                        return;
                    }
                }
            } else {
                if radio_accepts_from_wire(&m) {
                    if let Some((join, group)) = parse_group_command(&m) {
                        // A parsed command re-encodes to an equivalent one.
                        let again = group_command(join, &group).expect("group within limits");
                        assert_eq!(parse_group_command(&again), Some((join, group)));
                    }
                }
            }
        }
        let _ = e.take_output();
    }
}

fuzz_target!(|data: &[u8]| {
    let [mode, seed, rest @ ..] = data else {
        return;
    };
    match mode & 3 {
        0 | 1 => datagrams(rest),
        2 => stream(ZMQ_DISH, *seed, rest),
        _ => stream(ZMQ_RADIO, *seed, rest),
    }
});
