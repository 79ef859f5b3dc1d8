//! PGM (pgm://, epgm://): hostile datagrams to a receiver and a source.
//! The input is a script of steps, each a control byte then (for a
//! datagram) a length byte and that many bytes: datagrams go to a receiver
//! (small window, few sources, its pipe drained or not) and, when they
//! parse, to a source; time moves by the control byte's high bits, running
//! the timers. Besides never panicking, memory must stay within the
//! configured bounds, and what a receiver delivers must be whole frames.
//! Raw-socket framing (the IPv4 header in front) is exercised too.
#![no_main]
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use zmqrs::pgm::receiver::{Event, Receiver, ReceiverConfig};
use zmqrs::pgm::sender::{Sender, SenderConfig, MAX_PENDING_NCFS};
use zmqrs::pgm::wire::{self, Tsi};

const RXW: u32 = 32;
const PEERS: usize = 3;
const TXW: u32 = 8;
const GROUP: IpAddr = IpAddr::V4(Ipv4Addr::new(239, 192, 1, 1));
const SRC: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));

fuzz_target!(|data: &[u8]| {
    let t0 = Instant::now();
    let mut now = t0;
    let mut rc = ReceiverConfig::libzmq(5555, GROUP, RXW, 1448, 1 << 16, 1);
    rc.max_peers = PEERS;
    let mut r = Receiver::new(rc);
    let mut s = Sender::new(
        SenderConfig {
            tsi: Tsi {
                gsi: [1, 2, 3, 4, 5, 6],
                sport: 4000,
            },
            dport: 5555,
            nla: SRC,
            group: GROUP,
            max_tsdu: 1428,
            txw_sqns: TXW,
            rate: 10_000_000,
            overhead: 28,
            initial_sqn: u32::MAX - 3,
        },
        t0,
    );
    let mut out = Vec::new();
    // The source has a window (wrapping) for forged NAKs to hit.
    while s.poll_transmit(now, &mut out) {}
    for i in 0..TXW {
        if s.can_send_data(now) {
            s.push_data(vec![0, 0, 2, 0, i as u8], now);
        }
        while s.poll_transmit(now, &mut out) {}
    }
    let mut rest = data;
    while let Some((&ctl, tail)) = rest.split_first() {
        rest = tail;
        now += Duration::from_millis(u64::from(ctl >> 3) * 8);
        match ctl & 7 {
            0..=4 => {
                let Some((&n, tail)) = rest.split_first() else {
                    break;
                };
                let n = usize::from(n).min(tail.len());
                let (mut d, tail) = tail.split_at(n);
                rest = tail;
                if ctl & 7 == 4 {
                    // As a raw socket hands it over: IP header first.
                    match wire::ipv4_payload(d) {
                        Some((_, _, payload)) => d = payload,
                        None => continue,
                    }
                }
                r.handle_datagram(d, SRC, now);
                if let Ok(p) = wire::parse(d) {
                    let _ = p.tsi();
                    assert!(p.nak_sqns().count() <= 1 + wire::NAK_LIST_MAX);
                    s.handle(&p, SRC, now);
                }
            }
            5 => {
                // The pipe drains: every event, frames no longer than
                // ZMQ_MAXMSGSIZE.
                while let Some(ev) = r.poll_event() {
                    if let Event::Frame(m) = ev {
                        assert!(m.len() <= 1 << 16);
                    }
                }
            }
            _ => {}
        }
        if r.poll_timeout().is_some_and(|t| t <= now) {
            r.handle_timeout(now);
        }
        while r.poll_transmit().is_some() {}
        let mut ncfs = 0;
        while s.poll_transmit(now, &mut out) {
            if out.get(4) == Some(&wire::types::NCF) {
                ncfs += 1;
            }
        }
        assert!(ncfs <= MAX_PENDING_NCFS);
        assert!(s.window_len() <= TXW as usize);
        assert!(r.peer_count() <= PEERS);
        assert!(r.held() <= PEERS * RXW as usize);
        assert!(r.nak_entries() <= PEERS * RXW as usize);
    }
});
