//! A source and receivers over a simulated lossy network with a virtual
//! clock: every message arrives once, whole and in order, whatever is lost
//! on the way (data, NAKs, NCFs, repairs, SPMs alike).

use std::collections::{BinaryHeap, VecDeque};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use super::framing::Packer;
use super::receiver::{Event, Receiver, ReceiverConfig};
use super::sender::{Sender, SenderConfig};
use super::wire::{self, Tsi};
use crate::msg::Message;

pub(crate) struct Lcg(pub u64);

impl Lcg {
    pub fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
}

pub(crate) const SRC: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
pub(crate) const GROUP: IpAddr = IpAddr::V4(Ipv4Addr::new(239, 192, 1, 1));

pub(crate) fn sender_cfg(initial_sqn: u32) -> SenderConfig {
    SenderConfig {
        tsi: Tsi {
            gsi: [9, 8, 7, 6, 5, 4],
            sport: 33000,
        },
        dport: 5555,
        nla: SRC,
        group: GROUP,
        max_tsdu: 1428,
        txw_sqns: 200_000,
        rate: 50_000_000,
        overhead: 28,
        initial_sqn,
    }
}

pub(crate) fn receiver_cfg(seed: u64) -> ReceiverConfig {
    ReceiverConfig::libzmq(5555, GROUP, 200_000, 1448, -1, seed)
}

/// A message of one to three frames, sizes spread from 1 byte to `max`.
pub(crate) fn message(i: usize, rng: &mut Lcg, max: usize) -> Vec<Message> {
    let parts = if i % 7 == 3 { 3 } else { 1 };
    (0..parts)
        .map(|p| {
            let bits = (rng.next() % (max.ilog2() as u64 + 1)) as u32;
            let size = ((1usize << bits) + (rng.next() as usize % (1usize << bits))).min(max);
            let size = match i {
                0 => 1,
                1 => max,
                _ => size,
            };
            let mut body = vec![(i % 251) as u8; size];
            body[..size.min(8)].copy_from_slice(&(i as u64).to_be_bytes()[..size.min(8)]);
            let mut m = Message::from_vec(body);
            m.set_more(p + 1 < parts);
            m
        })
        .collect()
}

#[derive(PartialEq, Eq)]
struct InFlight {
    at: Instant,
    seq: u64,
    to_sender: bool,
    receiver: usize,
    data: Vec<u8>,
}

impl Ord for InFlight {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}
impl PartialOrd for InFlight {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}

/// Runs `n` messages from one source to `receivers` receivers losing
/// `loss_pct` percent of packets each way; returns what each got.
pub(crate) fn run(
    n: usize,
    max_size: usize,
    loss_pct: u64,
    receivers: usize,
    initial_sqn: u32,
) -> (Vec<Vec<Message>>, Vec<Message>, Sender, Vec<Receiver>) {
    let t0 = Instant::now();
    let mut now = t0;
    let mut rng = Lcg(42);
    let mut sent: Vec<Message> = Vec::new();
    let mut src: VecDeque<Message> = VecDeque::new();
    for i in 0..n {
        for m in message(i, &mut rng, max_size) {
            sent.push(m.clone());
            src.push_back(m);
        }
    }
    let mut s = Sender::new(sender_cfg(initial_sqn), now);
    let mut packer = Packer::new();
    let mut rs: Vec<Receiver> = (0..receivers)
        .map(|i| Receiver::new(receiver_cfg(i as u64 + 7)))
        .collect();
    let mut got: Vec<Vec<Message>> = vec![Vec::new(); receivers];
    let mut partial: Vec<Vec<Message>> = vec![Vec::new(); receivers];
    let mut net: BinaryHeap<InFlight> = BinaryHeap::new();
    let mut seq = 0u64;
    let mut buf = Vec::new();
    let mut tsdu = Vec::new();
    let latency = Duration::from_millis(1);
    let deadline = t0 + Duration::from_secs(600);
    while now < deadline {
        // The source: what it has to send (its first SPMs before any data,
        // as the I/O loop does), then data as the rate allows.
        while s.poll_transmit(now, &mut buf) {
            for r in 0..receivers {
                if rng.next() % 100 >= loss_pct {
                    seq += 1;
                    net.push(InFlight {
                        at: now + latency,
                        seq,
                        to_sender: false,
                        receiver: r,
                        data: buf.clone(),
                    });
                }
            }
        }
        while s.can_send_data(now) && packer.fill(&mut tsdu, 1428, || src.pop_front()) {
            s.push_data(std::mem::take(&mut tsdu), now);
            while s.poll_transmit(now, &mut buf) {
                for r in 0..receivers {
                    if rng.next() % 100 >= loss_pct {
                        seq += 1;
                        net.push(InFlight {
                            at: now + latency,
                            seq,
                            to_sender: false,
                            receiver: r,
                            data: buf.clone(),
                        });
                    }
                }
            }
        }
        while s.poll_transmit(now, &mut buf) {
            for r in 0..receivers {
                if rng.next() % 100 >= loss_pct {
                    seq += 1;
                    net.push(InFlight {
                        at: now + latency,
                        seq,
                        to_sender: false,
                        receiver: r,
                        data: buf.clone(),
                    });
                }
            }
        }
        // The network.
        while net.peek().is_some_and(|p| p.at <= now) {
            let Some(p) = net.pop() else { break };
            if p.to_sender {
                if let Ok(pkt) = wire::parse(&p.data) {
                    s.handle(&pkt, SRC, now);
                }
            } else {
                rs[p.receiver].handle_datagram(&p.data, SRC, now);
            }
        }
        // The receivers.
        for (i, r) in rs.iter_mut().enumerate() {
            if r.poll_timeout().is_some_and(|t| t <= now) {
                r.handle_timeout(now);
            }
            while let Some(o) = r.poll_transmit() {
                assert_eq!(o.to, SRC);
                if rng.next() % 100 >= loss_pct {
                    seq += 1;
                    net.push(InFlight {
                        at: now + latency,
                        seq,
                        to_sender: true,
                        receiver: i,
                        data: o.packet,
                    });
                }
            }
            while let Some(ev) = r.poll_event() {
                match ev {
                    Event::Frame(m) => {
                        let more = m.more();
                        partial[i].push(m);
                        if !more {
                            got[i].append(&mut partial[i]);
                        }
                    }
                    Event::Abort => partial[i].clear(),
                }
            }
        }
        if got.iter().all(|g| g.len() == sent.len()) {
            break;
        }
        // Next moment anything happens.
        let mut next = [net.peek().map(|p| p.at), s.poll_timeout()]
            .into_iter()
            .flatten()
            .chain(rs.iter().filter_map(|r| r.poll_timeout()))
            .min()
            .unwrap_or(now + Duration::from_millis(1));
        if next <= now {
            next = now + Duration::from_micros(10);
        }
        now = next;
    }
    (got, sent, s, rs)
}

fn assert_same(got: &[Message], sent: &[Message]) {
    assert_eq!(got.len(), sent.len());
    for (i, (a, b)) in got.iter().zip(sent).enumerate() {
        assert_eq!(a.as_slice(), b.as_slice(), "frame {i}");
        assert_eq!(a.more(), b.more(), "frame {i}");
    }
}

#[test]
fn lossless() {
    let (got, sent, s, rs) = run(500, 8192, 0, 1, 0);
    assert_same(&got[0], &sent);
    assert_eq!(s.stats().rdata, 0);
    assert_eq!(rs[0].stats().naks, 0);
}

#[test]
fn ten_percent_loss_both_ways_two_receivers() {
    let (got, sent, s, rs) = run(2000, 16384, 10, 2, 0);
    for g in &got {
        assert_same(g, &sent);
    }
    assert!(s.stats().rdata > 0);
    for r in &rs {
        assert!(r.stats().naks > 0);
        assert_eq!(r.stats().losses, 0);
        assert_eq!(r.held(), 0);
        assert_eq!(r.nak_entries(), 0);
    }
}

#[test]
fn sequence_numbers_wrap_under_loss() {
    let (got, sent, s, _) = run(600, 4096, 5, 1, u32::MAX - 300);
    assert_same(&got[0], &sent);
    // It did go around.
    assert!(wire::sqn_lt(u32::MAX - 300, s.lead()) && s.lead() < 0x1000_0000);
}
