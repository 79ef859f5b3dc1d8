//! Hostile multicast input: anyone on the group can send us anything, so
//! every packet type is mutated byte by byte and fed to the parser, a
//! receiver and a source; forged NAKs are thrown at a source; a source
//! that never stops is fed to a receiver whose pipe never drains. Nothing
//! may panic, and memory stays within the configured bounds:
//!
//! * receiver: at most `max_peers` sources, and per source at most
//!   `rxw_sqns` window positions, NAK entries and TSDUs held;
//! * source: at most `txw_sqns` TSDUs in the window, one repair queued per
//!   window slot, [`MAX_PENDING_NCFS`] NCFs waiting, and repairs paced by
//!   ZMQ_RATE like new data.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use super::receiver::{Receiver, ReceiverConfig};
use super::sender::{Sender, SenderConfig, MAX_PENDING_NCFS};
use super::tests::{Lcg, GROUP, SRC};
use super::wire::{self, opt, opt_bits, types, Tsi};

const RXW: u32 = 64;
const PEERS: usize = 4;

fn tsi() -> Tsi {
    Tsi {
        gsi: [1, 2, 3, 4, 5, 6],
        sport: 4000,
    }
}

fn receiver() -> Receiver {
    let mut c = ReceiverConfig::libzmq(5555, GROUP, RXW, 1448, -1, 7);
    c.max_peers = PEERS;
    Receiver::new(c)
}

fn sender(txw: u32, rate: u64, t0: Instant) -> Sender {
    Sender::new(
        SenderConfig {
            tsi: tsi(),
            dport: 5555,
            nla: SRC,
            group: GROUP,
            max_tsdu: 1428,
            txw_sqns: txw,
            rate,
            overhead: 28,
            initial_sqn: 0,
        },
        t0,
    )
}

fn assert_receiver_bounded(r: &Receiver) {
    assert!(r.peer_count() <= PEERS, "peers {}", r.peer_count());
    assert!(r.held() <= PEERS * RXW as usize, "held {}", r.held());
    assert!(
        r.nak_entries() <= PEERS * RXW as usize,
        "naks {}",
        r.nak_entries()
    );
}

/// One of each packet type we parse, as our writers make them, plus an
/// ODATA with OPT_FRAGMENT and an unknown option (which our writers never
/// produce).
fn samples() -> Vec<Vec<u8>> {
    let t = tsi();
    let src = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let mut v = Vec::new();
    let mut out = Vec::new();
    wire::write_spm(&mut out, &t, 5555, 3, 0, 9, &src, false);
    v.push(out.clone());
    wire::write_spm(&mut out, &t, 5555, 4, 0, 9, &src, true);
    v.push(out.clone());
    let tsdu = [0u8, 0, 3, 1, b'a', b'b', 2, 0, b'c'];
    wire::write_data(&mut out, &t, 5555, false, 7, 0, &tsdu);
    v.push(out.clone());
    wire::write_data(&mut out, &t, 5555, true, 5, 0, &tsdu);
    v.push(out.clone());
    wire::write_nak(&mut out, types::NAK, &t, 5555, &[1], &src, &GROUP);
    v.push(out.clone());
    let many: Vec<u32> = (0..63).collect();
    wire::write_nak(&mut out, types::NAK, &t, 5555, &many, &src, &GROUP);
    v.push(out.clone());
    wire::write_nak(&mut out, types::NCF, &t, 5555, &many, &src, &GROUP);
    v.push(out.clone());
    wire::write_spmr(&mut out, &t, 5555);
    v.push(out.clone());
    // ODATA with OPT_LENGTH, OPT_FRAGMENT and an unknown option (0x21,
    // 8 bytes) ending the list; checksum left at zero.
    let mut frag = Vec::new();
    wire::write_data(&mut frag, &t, 5555, false, 8, 0, &tsdu);
    let payload = frag.split_off(wire::HEADER_LEN + wire::DATA_HEADER_LEN);
    frag[5] = opt_bits::PRESENT;
    frag[6] = 0;
    frag[7] = 0;
    frag.extend_from_slice(&[opt::LENGTH, 4, 0, 4 + 16 + 8]);
    frag.extend_from_slice(&[opt::FRAGMENT, 16, 0, 0]);
    frag.extend_from_slice(&8u32.to_be_bytes());
    frag.extend_from_slice(&0u32.to_be_bytes());
    frag.extend_from_slice(&(tsdu.len() as u32 * 2).to_be_bytes());
    frag.extend_from_slice(&[0x21 | opt::END, 8, 0, 0, 1, 2, 3, 4]);
    frag.extend_from_slice(&payload);
    assert!(wire::parse(&frag).is_ok_and(|p| p.options.fragment.is_some()));
    v.push(frag);
    v
}

/// Feeds `pkt` to the parser, a receiver and a source.
fn feed(pkt: &[u8], r: &mut Receiver, s: &mut Sender, now: Instant) {
    r.handle_datagram(pkt, SRC, now);
    if let Ok(p) = wire::parse(pkt) {
        // What parses must survive a round of the accessors, too.
        let _ = p.tsi();
        let _ = p.nak_sqns().count();
        s.handle(&p, SRC, now);
    }
}

#[test]
fn every_mutation_of_every_packet_type_is_safe() {
    let t0 = Instant::now();
    let mut r = receiver();
    let mut s = sender(32, 1_000_000, t0);
    let mut out = Vec::new();
    let mut now = t0;
    // The source holds sqns 0..=9, which the sample NAKs name.
    while s.poll_transmit(now, &mut out) {}
    for i in 0..10u8 {
        s.push_data(vec![0, 0, 2, 0, i], now);
        while s.poll_transmit(now, &mut out) {}
    }
    // A gap from the samples' source, NAKed before the garbage starts.
    let tsdu = [0u8, 0, 2, 0, b'g'];
    for sqn in [100, 102] {
        wire::write_data(&mut out, &tsi(), 5555, false, sqn, 0, &tsdu);
        r.handle_datagram(&out, SRC, now);
    }
    now += Duration::from_millis(60);
    r.handle_timeout(now);
    for base in samples() {
        // Every truncation and a few extensions.
        for n in 0..=base.len() {
            feed(&base[..n], &mut r, &mut s, now);
        }
        for extra in [1usize, 3, 4, 255] {
            let mut long = base.clone();
            long.resize(base.len() + extra, 0xA5);
            feed(&long, &mut r, &mut s, now);
        }
        // Every byte set to each interesting value, with the checksum
        // zeroed (not verified) so that the mutation reaches the parsers
        // behind it, and once with the checksum left as it was.
        for i in 0..base.len() {
            for v in [
                0x00,
                0x01,
                0x02,
                0x04,
                0x0F,
                0x7F,
                0x80,
                0xFE,
                0xFF,
                base[i] ^ 0x01,
            ] {
                let mut m = base.clone();
                m[i] = v;
                feed(&m, &mut r, &mut s, now);
                if i != 6 && i != 7 {
                    m[6] = 0;
                    m[7] = 0;
                    feed(&m, &mut r, &mut s, now);
                }
            }
            // Time passes: timers, NAKs and SPMRs run on the garbage.
            now += Duration::from_millis(7);
            r.handle_timeout(now);
            while r.poll_transmit().is_some() {}
            while r.poll_event().is_some() {}
            while s.poll_transmit(now, &mut out) {}
            assert_receiver_bounded(&r);
        }
    }
    // The mutations reached past the parser: data was taken, losses
    // NAKed, forged NAKs answered.
    let (rs, ss) = (r.stats(), s.stats());
    assert!(rs.malformed > 0 && rs.data > 0 && rs.naks > 0, "{rs:?}");
    assert!(ss.naks > 0 && ss.rdata > 0 && ss.naks_ignored > 0, "{ss:?}");
    // Random bytes too.
    let mut rng = Lcg(42);
    for _ in 0..20_000 {
        let len = (rng.next() % 120) as usize;
        let mut m: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if m.len() > 8 {
            // Mostly types we parse, checksum off.
            m[4] = [0, 4, 5, 8, 0x0A, 0x0C][(rng.next() % 6) as usize];
            m[6] = 0;
            m[7] = 0;
        }
        feed(&m, &mut r, &mut s, now);
    }
    assert_receiver_bounded(&r);
}

#[test]
fn forged_naks_cannot_grow_or_speed_up_the_source() {
    let t0 = Instant::now();
    // 1 MB/s, a window of 16.
    let rate = 1_000_000u64;
    let mut s = sender(16, rate, t0);
    let mut out = Vec::new();
    while s.poll_transmit(t0, &mut out) {}
    let mut now = t0;
    for i in 0..40u32 {
        while !s.can_send_data(now) {
            now += Duration::from_millis(1);
            while s.poll_transmit(now, &mut out) {}
        }
        let mut tsdu = vec![0u8, 0, 0xFF, 0];
        tsdu.resize(1000, i as u8);
        s.push_data(tsdu, now);
        while s.poll_transmit(now, &mut out) {}
    }
    assert_eq!(s.window_len(), 16);
    let (trail, lead) = (s.trail(), s.lead());
    assert_eq!(lead.wrapping_sub(trail), 15);
    let before = s.stats();

    // A flood: NAKs for everything (in the window, before it, after it,
    // far away), for other sessions and on other ports.
    let mut rng = Lcg(9);
    let src = IpAddr::V4(Ipv4Addr::LOCALHOST);
    let other = Tsi {
        gsi: [6, 5, 4, 3, 2, 1],
        sport: 4000,
    };
    for _ in 0..10_000 {
        let sqns: Vec<u32> = (0..63)
            .map(|_| {
                trail
                    .wrapping_add((rng.next() % 64) as u32)
                    .wrapping_sub(24)
            })
            .collect();
        let (t, port) = match rng.next() % 4 {
            0 => (other, 5555),
            1 => (tsi(), 5556),
            _ => (tsi(), 5555),
        };
        wire::write_nak(&mut out, types::NAK, &t, port, &sqns, &src, &GROUP);
        let p = wire::parse(&out).expect("our own NAK");
        s.handle(&p, src, now);
    }
    // No time passes: NCFs (at most MAX_PENDING_NCFS) and as many repairs
    // as the bucket holds (20 ms of the rate), never more than one per
    // window slot.
    let mut ncf = 0;
    let mut rdata_bytes = 0;
    let mut repaired = std::collections::HashSet::new();
    while s.poll_transmit(now, &mut out) {
        match out[4] {
            types::NCF => ncf += 1,
            types::RDATA => {
                rdata_bytes += out.len() + 28;
                let Ok(wire::Packet {
                    body: wire::Body::Data { sqn, .. },
                    ..
                }) = wire::parse(&out)
                else {
                    panic!("bad RDATA");
                };
                assert!(wire::sqn_lte(trail, sqn) && wire::sqn_lte(sqn, lead));
                assert!(repaired.insert(sqn), "sqn {sqn} repaired twice at once");
            }
            _ => {}
        }
    }
    assert!(ncf > 0 && ncf <= MAX_PENDING_NCFS, "{ncf} NCFs");
    assert!(
        rdata_bytes as u64 <= rate / 50 + 1100,
        "{rdata_bytes} bytes at once"
    );
    // Over one second, repairs stay within the rate.
    let mut sent = rdata_bytes as u64;
    let end = now + Duration::from_secs(1);
    while now < end {
        now += Duration::from_millis(1);
        while s.poll_transmit(now, &mut out) {
            if out[4] == types::RDATA {
                sent += (out.len() + 28) as u64;
                if let Ok(wire::Packet {
                    body: wire::Body::Data { sqn, .. },
                    ..
                }) = wire::parse(&out)
                {
                    repaired.insert(sqn);
                }
            }
        }
    }
    assert!(
        sent <= rate + rate / 50 + 1100,
        "{sent} bytes of repairs in 1 s"
    );
    let after = s.stats();
    assert!(after.rdata - before.rdata <= 16);
    assert!(after.naks_ignored > before.naks_ignored);
    assert_eq!(s.window_len(), 16);
}

#[test]
fn naks_across_the_sequence_wrap() {
    let t0 = Instant::now();
    let mut s = Sender::new(
        SenderConfig {
            initial_sqn: u32::MAX - 2,
            ..sender(8, 100_000_000, t0).config().clone()
        },
        t0,
    );
    let mut out = Vec::new();
    while s.poll_transmit(t0, &mut out) {}
    for i in 0..6u8 {
        assert!(s.can_send_data(t0));
        s.push_data(vec![0, 0, 2, 0, i], t0);
        while s.poll_transmit(t0, &mut out) {}
    }
    assert_eq!((s.trail(), s.lead()), (u32::MAX - 2, 2));
    let src = IpAddr::V4(Ipv4Addr::LOCALHOST);
    wire::write_nak(
        &mut out,
        types::NAK,
        &tsi(),
        5555,
        &[u32::MAX - 3, u32::MAX, 0, 2, 3],
        &src,
        &GROUP,
    );
    let p = wire::parse(&out).expect("NAK");
    s.handle(&p, src, t0);
    let mut got = Vec::new();
    while s.poll_transmit(t0, &mut out) {
        if let Ok(wire::Packet {
            body:
                wire::Body::Data {
                    repair: true,
                    sqn,
                    tsdu,
                    ..
                },
            ..
        }) = wire::parse(&out)
        {
            got.push((sqn, tsdu[4]));
        }
    }
    // Before the trail and after the lead: not repaired.
    assert_eq!(got, vec![(u32::MAX, 2), (0, 3), (2, 5)]);
}

#[test]
fn a_source_that_never_stops_keeps_our_window_bounded() {
    // Our own source fed forever: the transmit window stays at txw_sqns.
    let t0 = Instant::now();
    let mut s = sender(32, u64::MAX / 2, t0);
    let mut out = Vec::new();
    for i in 0..100_000u32 {
        if s.can_send_data(t0) {
            s.push_data(vec![0, 0, 2, 0, i as u8], t0);
        }
        while s.poll_transmit(t0, &mut out) {}
        assert!(s.window_len() <= 32);
    }
    assert_eq!(s.lead().wrapping_sub(s.trail()), 31);

    // A forged source at full speed, half of its packets lost, the
    // receiver's pipe never drained: held TSDUs, window and NAK entries
    // stay at rxw_sqns; and many forged sources at once stay at max_peers.
    let mut r = receiver();
    let mut rng = Lcg(5);
    let mut now = t0;
    let tsdu = [0u8, 0, 2, 0, b'x'];
    for sqn in 0..50_000u32 {
        let t = Tsi {
            gsi: [0, 0, 0, 0, 0, (rng.next() % 16) as u8],
            sport: 1,
        };
        if rng.next() % 2 == 0 {
            wire::write_data(
                &mut out,
                &t,
                5555,
                false,
                sqn,
                sqn.saturating_sub(1000),
                &tsdu,
            );
            r.handle_datagram(&out, SRC, now);
        }
        if sqn % 100 == 0 {
            now += Duration::from_millis(10);
            r.handle_timeout(now);
            while r.poll_transmit().is_some() {}
        }
        assert_receiver_bounded(&r);
    }
    assert!(r.stats().peers_refused > 0);
    assert!(r.stats().dropped_full > 0);
}
