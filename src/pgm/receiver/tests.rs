use std::net::Ipv4Addr;

use super::*;
use crate::pgm::framing::Packer;

const SRC: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
const NLA: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 9));
const GROUP: IpAddr = IpAddr::V4(Ipv4Addr::new(239, 192, 1, 1));

fn tsi(n: u8) -> Tsi {
    Tsi {
        gsi: [n, 1, 2, 3, 4, 5],
        sport: 1000 + u16::from(n),
    }
}

fn cfg() -> ReceiverConfig {
    let mut c = ReceiverConfig::libzmq(5555, GROUP, 64, 1448, -1, 3);
    c.max_peers = 4;
    c
}

/// TSDUs for single-frame messages, one message per TSDU.
fn tsdu(body: &[u8], more: bool) -> Vec<u8> {
    let mut m = Message::from_slice(body);
    m.set_more(more);
    let mut p = Packer::new();
    let mut q = VecDeque::from([m]);
    let mut out = Vec::new();
    assert!(p.fill(&mut out, 1428, || q.pop_front()));
    out
}

fn data(t: Tsi, sqn: u32, trail: u32, tsdu: &[u8], repair: bool) -> Vec<u8> {
    let mut out = Vec::new();
    wire::write_data(&mut out, &t, 5555, repair, sqn, trail, tsdu);
    out
}

fn spm(t: Tsi, spm_sqn: u32, trail: u32, lead: u32, fin: bool) -> Vec<u8> {
    let mut out = Vec::new();
    wire::write_spm(&mut out, &t, 5555, spm_sqn, trail, lead, &NLA, fin);
    out
}

fn ncf(t: Tsi, sqns: &[u32]) -> Vec<u8> {
    let mut out = Vec::new();
    wire::write_nak(&mut out, wire::types::NCF, &t, 5555, sqns, &NLA, &GROUP);
    out
}

fn frames(r: &mut Receiver) -> Vec<String> {
    let mut v = Vec::new();
    while let Some(e) = r.poll_event() {
        v.push(match e {
            Event::Frame(m) => {
                String::from_utf8_lossy(&m).into_owned() + if m.more() { "+" } else { "" }
            }
            Event::Abort => "ABORT".into(),
        });
    }
    v
}

fn naks(r: &mut Receiver) -> Vec<(IpAddr, Vec<u32>)> {
    let mut v = Vec::new();
    while let Some(o) = r.poll_transmit() {
        let p = wire::parse(&o.packet).unwrap();
        if let Body::Nak {
            kind,
            source,
            group,
            ..
        } = p.body
        {
            assert_eq!(kind, wire::types::NAK);
            assert_eq!(group, GROUP);
            assert_eq!(source, o.to);
            // Ports swapped on the way up.
            assert_eq!((p.sport, p.dport), (5555, p.tsi().sport));
            v.push((o.to, p.nak_sqns().collect()));
        }
    }
    v
}

#[test]
fn gap_nak_ncf_repair() {
    let t0 = Instant::now();
    let mut r = Receiver::new(cfg());
    let a = tsi(1);
    r.handle_datagram(&spm(a, 0, 0, u32::MAX, false), SRC, t0);
    r.handle_datagram(&data(a, 0, 0, &tsdu(b"m0", false), false), SRC, t0);
    r.handle_datagram(&data(a, 3, 0, &tsdu(b"m3", false), false), SRC, t0);
    assert_eq!(frames(&mut r), vec!["m0"]);
    // 1 and 2 are NAKed after at most 50 ms, together, to the SPM's NLA.
    let t1 = t0 + Duration::from_millis(50);
    assert!(r.poll_timeout().unwrap() <= t1);
    r.handle_timeout(t1);
    assert_eq!(naks(&mut r), vec![(NLA, vec![1, 2])]);
    // No NCF within 200 ms: NAKed again (after a new back-off).
    r.handle_timeout(t1 + Duration::from_millis(200));
    r.handle_timeout(t1 + Duration::from_millis(250));
    assert_eq!(naks(&mut r), vec![(NLA, vec![1, 2])]);
    // An NCF moves them to waiting for data; no NAK for 200 ms.
    let t2 = t1 + Duration::from_millis(260);
    r.handle_datagram(&ncf(a, &[1, 2]), SRC, t2);
    r.handle_timeout(t2 + Duration::from_millis(199));
    assert!(naks(&mut r).is_empty());
    r.handle_datagram(&data(a, 2, 0, &tsdu(b"m2", false), true), SRC, t2);
    r.handle_datagram(&data(a, 1, 0, &tsdu(b"m1", false), true), SRC, t2);
    assert_eq!(frames(&mut r), vec!["m1", "m2", "m3"]);
    assert_eq!(r.nak_entries(), 0);
    // A duplicate changes nothing.
    r.handle_datagram(&data(a, 1, 0, &tsdu(b"m1", false), true), SRC, t2);
    assert!(frames(&mut r).is_empty());
    assert_eq!(r.stats().duplicates, 1);
}

#[test]
fn spmr_before_first_spm_and_naks_to_ip_source() {
    let t0 = Instant::now();
    let mut r = Receiver::new(cfg());
    let a = tsi(1);
    r.handle_datagram(&data(a, 10, 0, &tsdu(b"x", false), false), SRC, t0);
    r.handle_datagram(&data(a, 12, 0, &tsdu(b"z", false), false), SRC, t0);
    r.handle_timeout(t0 + Duration::from_millis(50));
    let out: Vec<Outgoing> = std::iter::from_fn(|| r.poll_transmit()).collect();
    let kinds: Vec<u8> = out.iter().map(|o| o.packet[4]).collect();
    assert_eq!(kinds, vec![wire::types::SPMR, wire::types::NAK]);
    assert!(out.iter().all(|o| o.to == SRC));
    let spmr = wire::parse(&out[0].packet).unwrap();
    assert_eq!(spmr.tsi(), a);
}

#[test]
fn retries_run_out_then_next_message() {
    let t0 = Instant::now();
    let mut c = cfg();
    c.nak_ncf_retries = 2;
    let mut r = Receiver::new(c);
    let a = tsi(1);
    r.handle_datagram(&spm(a, 0, 0, u32::MAX, false), SRC, t0);
    r.handle_datagram(&data(a, 0, 0, &tsdu(b"p1", true), false), SRC, t0);
    // sqn 1 (the message's last frame) is lost for good.
    r.handle_datagram(&data(a, 2, 0, &tsdu(b"next", false), false), SRC, t0);
    assert_eq!(frames(&mut r), vec!["p1+"]);
    let mut sent = 0;
    while r.nak_entries() > 0 {
        let now = r.poll_timeout().unwrap();
        r.handle_timeout(now);
        sent += naks(&mut r).len();
        assert!(now < t0 + Duration::from_secs(5));
    }
    assert_eq!(sent, 3);
    // The half message is void; the next one arrives.
    assert_eq!(frames(&mut r), vec!["ABORT", "next"]);
    assert_eq!(r.stats().losses, 1);
}

#[test]
fn trail_gives_up_at_once() {
    let t0 = Instant::now();
    let mut r = Receiver::new(cfg());
    let a = tsi(1);
    r.handle_datagram(&data(a, 5, 0, &tsdu(b"five", false), false), SRC, t0);
    r.handle_datagram(&data(a, 8, 0, &tsdu(b"eight", false), false), SRC, t0);
    assert_eq!(frames(&mut r), vec!["five"]);
    // The source no longer has 6 (trail 7): 6 is lost, 7 still NAKable.
    r.handle_datagram(&spm(a, 1, 7, 8, false), SRC, t0);
    assert_eq!(r.nak_entries(), 1);
    r.handle_datagram(&data(a, 7, 7, &tsdu(b"seven", false), true), SRC, t0);
    assert_eq!(frames(&mut r), vec!["seven", "eight"]);
    assert_eq!(r.stats().losses, 1);
}

#[test]
fn spm_lead_reveals_tail_loss() {
    let t0 = Instant::now();
    let mut r = Receiver::new(cfg());
    let a = tsi(1);
    r.handle_datagram(&spm(a, 0, 0, u32::MAX, false), SRC, t0);
    r.handle_datagram(&data(a, 0, 0, &tsdu(b"a", false), false), SRC, t0);
    // Heartbeat: the source sent up to 2.
    r.handle_datagram(&spm(a, 1, 0, 2, false), SRC, t0);
    // An older SPM (by its own sequence) is ignored.
    r.handle_datagram(&spm(a, 0, 0, 9, false), SRC, t0);
    r.handle_timeout(t0 + Duration::from_millis(50));
    assert_eq!(naks(&mut r), vec![(NLA, vec![1, 2])]);
}

#[test]
fn sources_do_not_interleave_messages() {
    let t0 = Instant::now();
    let mut r = Receiver::new(cfg());
    let (a, b) = (tsi(1), tsi(2));
    r.handle_datagram(&data(a, 0, 0, &tsdu(b"a1", true), false), SRC, t0);
    r.handle_datagram(&data(b, 0, 0, &tsdu(b"b1", true), false), SRC, t0);
    r.handle_datagram(&data(b, 1, 0, &tsdu(b"b2", false), false), SRC, t0);
    // a's message is stuck at its first frame: b waits behind it.
    assert_eq!(frames(&mut r), vec!["a1+"]);
    r.handle_datagram(&data(a, 1, 0, &tsdu(b"a2", false), false), SRC, t0);
    assert_eq!(frames(&mut r), vec!["a2", "b1+", "b2"]);
    // A source expiring mid-message aborts it.
    r.handle_datagram(&data(a, 2, 0, &tsdu(b"a3", true), false), SRC, t0);
    assert_eq!(frames(&mut r), vec!["a3+"]);
    let later = t0 + Duration::from_secs(301);
    r.handle_timeout(later);
    assert_eq!(frames(&mut r), vec!["ABORT"]);
    assert_eq!(r.peer_count(), 0);
}

#[test]
fn sequence_wrap() {
    let t0 = Instant::now();
    let mut r = Receiver::new(cfg());
    let a = tsi(1);
    let start = u32::MAX - 2;
    for (i, sqn) in (0..6).map(|i| (i, start.wrapping_add(i))) {
        if i == 3 {
            continue; // sqn 0 lost
        }
        r.handle_datagram(
            &data(a, sqn, start, &tsdu(&[b'0' + i as u8], false), false),
            SRC,
            t0,
        );
    }
    assert_eq!(frames(&mut r), vec!["0", "1", "2"]);
    r.handle_timeout(t0 + Duration::from_millis(50));
    assert_eq!(naks(&mut r), vec![(SRC, vec![0])]);
    r.handle_datagram(&data(a, 0, start, &tsdu(b"3", false), true), SRC, t0);
    assert_eq!(frames(&mut r), vec!["3", "4", "5"]);
}

// ---- hostile input ---------------------------------------------------------

#[test]
fn forged_far_sequence_numbers_stay_bounded() {
    let t0 = Instant::now();
    let mut r = Receiver::new(cfg());
    let a = tsi(1);
    r.handle_datagram(&data(a, 0, 0, &tsdu(b"ok", false), false), SRC, t0);
    for sqn in [1u32 << 20, 1 << 31, u32::MAX, 0x7FFF_FFFF, 12345] {
        r.handle_datagram(&data(a, sqn, 0, &tsdu(b"forged", false), false), SRC, t0);
        assert!(r.nak_entries() <= 64);
        assert!(r.held() <= 64);
    }
    // Forged trail and lead far ahead: bounded too.
    r.handle_datagram(&spm(a, 5, 0x4000_0000, 0x7000_0000, false), SRC, t0);
    assert!(r.nak_entries() <= 64);
    let _ = frames(&mut r);
    r.handle_timeout(t0 + Duration::from_millis(60));
    // At most one NAK packet per 63 entries.
    assert!(naks(&mut r).len() <= 2);
}

#[test]
fn many_forged_sources_are_refused() {
    let t0 = Instant::now();
    let mut r = Receiver::new(cfg());
    for n in 0..100u8 {
        r.handle_datagram(&data(tsi(n), 0, 0, &tsdu(b"x", false), false), SRC, t0);
    }
    assert_eq!(r.peer_count(), 4);
    assert_eq!(r.stats().peers_refused, 96);
    // One that said goodbye and has delivered everything makes room.
    let _ = frames(&mut r);
    r.handle_datagram(&spm(tsi(0), 1, 0, 0, true), SRC, t0);
    r.handle_datagram(&data(tsi(200), 0, 0, &tsdu(b"y", false), false), SRC, t0);
    assert_eq!(r.peer_count(), 4);
    assert_eq!(frames(&mut r), vec!["y"]);
}

#[test]
fn source_that_never_stops_with_a_full_pipe() {
    // Nobody polls events (the pipe is full): held data stops at rxw_sqns.
    let t0 = Instant::now();
    let mut r = Receiver::new(cfg());
    let a = tsi(1);
    for sqn in 0..10_000u32 {
        r.handle_datagram(
            &data(a, sqn, sqn.saturating_sub(50), &tsdu(b"spam", false), false),
            SRC,
            t0,
        );
        assert!(r.held() <= 64);
    }
    assert!(r.stats().dropped_full > 9000);
    // Once the pipe drains, delivery resumes in order with what was kept.
    let got = frames(&mut r);
    assert_eq!(got.len(), 64);
}

#[test]
fn forged_ncfs_and_malformed_packets() {
    let t0 = Instant::now();
    let mut r = Receiver::new(cfg());
    let a = tsi(1);
    // NCFs for unknown sources or unknown gaps are ignored.
    r.handle_datagram(&ncf(a, &[1, 2, 3]), SRC, t0);
    assert_eq!(r.peer_count(), 0);
    r.handle_datagram(&data(a, 0, 0, &tsdu(b"x", false), false), SRC, t0);
    r.handle_datagram(&ncf(a, &[u32::MAX, 5000]), SRC, t0);
    assert_eq!(r.nak_entries(), 0);
    // Garbage of every length: counted, nothing else.
    let good = data(a, 1, 0, &tsdu(b"y", false), false);
    for n in 0..good.len() {
        r.handle_datagram(&good[..n], SRC, t0);
    }
    assert_eq!(r.stats().malformed as usize, good.len());
    assert_eq!(frames(&mut r), vec!["x"]);
    // A joining TSDU whose offset lies: nothing until the next start.
    let b = tsi(2);
    let mut bad = tsdu(b"zz", false);
    bad[1] = 200;
    r.handle_datagram(&data(b, 7, 0, &bad, false), SRC, t0);
    r.handle_datagram(&data(b, 8, 0, &tsdu(b"after", false), false), SRC, t0);
    assert_eq!(frames(&mut r), vec!["after"]);
    // A frame that breaks ZMTP/1.0 mid-message: the message is void.
    r.handle_datagram(&data(b, 9, 0, &tsdu(b"half", true), false), SRC, t0);
    r.handle_datagram(&data(b, 10, 0, &[0xFF, 0xFF, 0], false), SRC, t0);
    r.handle_datagram(&data(b, 11, 0, &tsdu(b"whole", false), false), SRC, t0);
    assert_eq!(frames(&mut r), vec!["half+", "ABORT", "whole"]);
    // Too long for the TPDU, or parity: dropped.
    let long = vec![0u8; 1449];
    r.handle_datagram(&data(a, 3, 0, &long, false), SRC, t0);
    assert_eq!(r.stats().data, 6);
    // Another port's data is not ours.
    let mut other = Vec::new();
    wire::write_data(&mut other, &tsi(3), 5556, false, 0, 0, &tsdu(b"q", false));
    r.handle_datagram(&other, SRC, t0);
    assert_eq!(r.peer_count(), 2);
}
