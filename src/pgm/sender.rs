//! The PGM source (RFC 3208 section 5), sans-I/O: a transmit window of the
//! last TSDUs sent, ODATA paced by a token bucket (ZMQ_RATE), NAKs answered
//! with an NCF to the group and RDATA from the window, and SPMs on the
//! schedule libzmq gives OpenPGM (three at start, heartbeats after data,
//! an ambient one every 30 s, one on request, three with OPT_FIN at close).
//!
//! Inputs are [`Sender::push_data`] (a TSDU to send as ODATA),
//! [`Sender::handle`] (a packet from a receiver) and the clock passed to
//! every call; outputs are pulled with [`Sender::poll_transmit`] (every
//! packet goes to the multicast group) and [`Sender::poll_timeout`].
//!
//! Memory is bounded by configuration, never by what receivers send: the
//! window holds at most `txw_sqns` TSDUs (libzmq sizes it from ZMQ_RATE and
//! ZMQ_RECOVERY_IVL), the repair queue at most one entry per window slot,
//! and at most [`MAX_PENDING_NCFS`] NCFs wait. Repairs and new data share
//! the rate, repairs first, so forged NAKs cannot make us send faster than
//! ZMQ_RATE.

use std::collections::{HashSet, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::wire::{self, Body, Packet, Tsi};

/// NCFs waiting to go out; more NAKs than this in one burst get no NCF
/// (their repairs are still queued).
pub const MAX_PENDING_NCFS: usize = 64;

/// Delays between heartbeat SPMs after the last ODATA, in ms: libzmq's
/// PGM_HEARTBEAT_SPM list as OpenPGM applies it (five at 100 ms were seen
/// on the wire, then 1.3 s, 7 s...).
pub const HEARTBEAT_MS: [u64; 10] = [100, 100, 100, 100, 100, 1300, 7000, 16000, 25000, 30000];

/// Ambient SPM interval (libzmq's PGM_AMBIENT_SPM).
pub const AMBIENT_SPM: Duration = Duration::from_secs(30);

/// How a source is set up.
#[derive(Clone, Debug)]
pub struct SenderConfig {
    /// Our GSI and data-source port.
    pub tsi: Tsi,
    /// The destination port (the endpoint's port).
    pub dport: u16,
    /// Our unicast address, announced in SPMs: receivers send NAKs there.
    pub nla: IpAddr,
    /// The multicast group (named in NCFs).
    pub group: IpAddr,
    /// Largest TSDU (offset field included).
    pub max_tsdu: usize,
    /// Transmit window in packets (at least 1).
    pub txw_sqns: u32,
    /// ZMQ_RATE in bytes per second (ODATA and RDATA together).
    pub rate: u64,
    /// Bytes of IP (and UDP) header each packet costs on the wire,
    /// counted against the rate.
    pub overhead: usize,
    /// The first data sequence number (OpenPGM starts at 0; tests start
    /// near the wrap).
    pub initial_sqn: u32,
}

impl SenderConfig {
    /// libzmq's window size (`pgm_socket_t::compute_sqns`): ZMQ_RATE
    /// (kbit/s) times ZMQ_RECOVERY_IVL (ms) in bytes, over the TPDU size,
    /// at least 1. Kept under 2^30 so serial-number order stays sound.
    pub fn window_sqns(rate_kbps: i32, recovery_ivl_ms: i32, max_tpdu: i32) -> u32 {
        let rate = u64::try_from(rate_kbps).unwrap_or(0) / 8;
        let size = u64::try_from(recovery_ivl_ms).unwrap_or(0) * rate;
        let tpdu = u64::try_from(max_tpdu).unwrap_or(1).max(1);
        (size / tpdu).clamp(1, 1 << 30) as u32
    }
}

/// A token bucket in bytes. Tokens may go negative by one packet: a packet
/// may leave whenever the balance is positive.
#[derive(Debug)]
struct Bucket {
    rate: u64,
    cap: i64,
    tokens: i64,
    last: Instant,
}

impl Bucket {
    fn new(rate: u64, max_packet: usize, now: Instant) -> Bucket {
        let rate = rate.max(1);
        // Twenty milliseconds of traffic, at least four packets: bursts the
        // I/O loop's millisecond timers can sustain without idling the link.
        let cap = i64::try_from((rate / 50).max(4 * max_packet as u64)).unwrap_or(i64::MAX);
        Bucket {
            rate,
            cap,
            tokens: cap,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.last);
        if dt.is_zero() {
            return;
        }
        let add = (u128::from(self.rate) * dt.as_nanos() / 1_000_000_000) as i64;
        if add > 0 {
            self.tokens = self.tokens.saturating_add(add).min(self.cap);
            self.last = now;
        }
    }

    fn ready(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens > 0
    }

    fn spend(&mut self, n: usize) {
        self.tokens = self.tokens.saturating_sub(n as i64);
    }

    /// When the balance will be positive again.
    fn ready_at(&self) -> Instant {
        if self.tokens > 0 {
            return self.last;
        }
        let need = (1 - self.tokens) as u128;
        let ns = need * 1_000_000_000 / u128::from(self.rate) + 1;
        self.last + Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }
}

/// Counters for tests and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SenderStats {
    /// ODATA packets sent.
    pub odata: u64,
    /// RDATA packets sent.
    pub rdata: u64,
    /// NAKs accepted.
    pub naks: u64,
    /// NAKs ignored (not ours, or for data out of the window).
    pub naks_ignored: u64,
    /// SPMs sent.
    pub spms: u64,
}

/// A PGM source.
pub struct Sender {
    cfg: SenderConfig,
    /// TSDUs of sequence numbers `trail ..= trail + len - 1`.
    window: VecDeque<Box<[u8]>>,
    trail: u32,
    next_sqn: u32,
    spm_sqn: u32,
    bucket: Bucket,
    rate_blocked: bool,
    /// ODATA accepted and not yet written out.
    fresh: VecDeque<u32>,
    repairs: VecDeque<u32>,
    repair_set: HashSet<u32>,
    ncfs: VecDeque<Vec<u32>>,
    /// SPMs to send at once (start, SPMR).
    spm_now: u8,
    heartbeat: Option<(usize, Instant)>,
    next_ambient: Instant,
    /// Closing: FIN SPMs still to send.
    fin_left: Option<u8>,
    stats: SenderStats,
}

impl Sender {
    /// A source that starts by announcing itself with three SPMs.
    pub fn new(cfg: SenderConfig, now: Instant) -> Sender {
        let max_packet = cfg.max_tsdu + wire::HEADER_LEN + wire::DATA_HEADER_LEN + cfg.overhead;
        let mut cfg = cfg;
        cfg.txw_sqns = cfg.txw_sqns.clamp(1, 1 << 30);
        cfg.max_tsdu = cfg.max_tsdu.clamp(3, usize::from(u16::MAX));
        Sender {
            bucket: Bucket::new(cfg.rate, max_packet, now),
            trail: cfg.initial_sqn,
            next_sqn: cfg.initial_sqn,
            cfg,
            window: VecDeque::new(),
            spm_sqn: 0,
            rate_blocked: false,
            fresh: VecDeque::new(),
            repairs: VecDeque::new(),
            repair_set: HashSet::new(),
            ncfs: VecDeque::new(),
            spm_now: 3,
            heartbeat: None,
            next_ambient: now + AMBIENT_SPM,
            fin_left: None,
            stats: SenderStats::default(),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &SenderConfig {
        &self.cfg
    }

    /// Counters.
    pub fn stats(&self) -> SenderStats {
        self.stats
    }

    /// The leading edge: the last sequence number sent (trail - 1 before
    /// any).
    pub fn lead(&self) -> u32 {
        self.next_sqn.wrapping_sub(1)
    }

    /// The trailing edge of the window.
    pub fn trail(&self) -> u32 {
        self.trail
    }

    /// TSDUs held for repair.
    pub fn window_len(&self) -> usize {
        self.window.len()
    }

    /// Whether the rate allows another ODATA now. When it does not, the
    /// moment it will is part of [`Sender::poll_timeout`].
    pub fn can_send_data(&mut self, now: Instant) -> bool {
        if self.fin_left.is_some() {
            return false;
        }
        let ok = self.fresh.is_empty() && self.bucket.ready(now);
        self.rate_blocked = !ok;
        ok
    }

    /// Sends a TSDU (as built by [`super::framing::Packer`]) as ODATA: it
    /// enters the window (pushing the oldest out when full) and waits in
    /// [`Sender::poll_transmit`]. Longer TSDUs than `max_tsdu` are cut.
    pub fn push_data(&mut self, mut tsdu: Vec<u8>, _now: Instant) {
        tsdu.truncate(self.cfg.max_tsdu);
        if self.window.len() >= self.cfg.txw_sqns as usize {
            self.window.pop_front();
            let old = self.trail;
            self.trail = self.trail.wrapping_add(1);
            if self.repair_set.remove(&old) {
                self.repairs.retain(|&s| s != old);
            }
        }
        self.window.push_back(tsdu.into_boxed_slice());
        self.fresh.push_back(self.next_sqn);
        self.next_sqn = self.next_sqn.wrapping_add(1);
    }

    fn in_window(&self, sqn: u32) -> Option<usize> {
        let idx = sqn.wrapping_sub(self.trail) as usize;
        (idx < self.window.len()).then_some(idx)
    }

    /// A packet from the network (`from`: its IP source). NAKs for our
    /// session are confirmed and their data queued for repair; SPMRs get
    /// an SPM. Anything else is ignored.
    pub fn handle(&mut self, pkt: &Packet<'_>, _from: IpAddr, _now: Instant) {
        if pkt.tsi() != self.cfg.tsi {
            if matches!(
                pkt.body,
                Body::Nak {
                    kind: wire::types::NAK,
                    ..
                }
            ) {
                self.stats.naks_ignored += 1;
            }
            return;
        }
        match &pkt.body {
            Body::Nak { kind, .. } if *kind == wire::types::NAK => {
                if pkt.sport != self.cfg.dport {
                    self.stats.naks_ignored += 1;
                    return;
                }
                let mut confirmed = Vec::new();
                for sqn in pkt.nak_sqns() {
                    if self.in_window(sqn).is_none() {
                        continue;
                    }
                    confirmed.push(sqn);
                    if self.repair_set.insert(sqn) {
                        self.repairs.push_back(sqn);
                    }
                }
                if confirmed.is_empty() {
                    self.stats.naks_ignored += 1;
                    return;
                }
                self.stats.naks += 1;
                if self.ncfs.len() < MAX_PENDING_NCFS {
                    self.ncfs.push_back(confirmed);
                }
            }
            Body::Spmr if pkt.sport == self.cfg.dport => {
                self.spm_now = self.spm_now.max(1);
            }
            _ => {}
        }
    }

    /// Starts closing: the next packets are three SPMs with OPT_FIN; no
    /// data is taken any more. [`Sender::is_closed`] tells when they are out.
    pub fn close(&mut self) {
        if self.fin_left.is_none() {
            self.fin_left = Some(3);
        }
    }

    /// Whether the FIN SPMs have all been sent.
    pub fn is_closed(&self) -> bool {
        self.fin_left == Some(0)
    }

    /// Whether repairs or fresh data wait for the rate.
    pub fn has_backlog(&self) -> bool {
        !self.fresh.is_empty() || !self.repairs.is_empty()
    }

    fn write_spm(&mut self, out: &mut Vec<u8>, fin: bool, now: Instant) {
        wire::write_spm(
            out,
            &self.cfg.tsi,
            self.cfg.dport,
            self.spm_sqn,
            self.trail,
            self.lead(),
            &self.cfg.nla,
            fin,
        );
        self.spm_sqn = self.spm_sqn.wrapping_add(1);
        self.next_ambient = now + AMBIENT_SPM;
        self.stats.spms += 1;
    }

    /// The next packet to send to the group, written into `out`; false when
    /// there is none now.
    pub fn poll_transmit(&mut self, now: Instant, out: &mut Vec<u8>) -> bool {
        if let Some(n) = self.fin_left.as_mut() {
            // Closing: whatever was accepted goes first, then the FINs.
            if self.fresh.is_empty() && *n > 0 {
                *n -= 1;
                self.write_spm(out, true, now);
                return true;
            }
        }
        if let Some(sqns) = self.ncfs.pop_front() {
            wire::write_nak(
                out,
                wire::types::NCF,
                &self.cfg.tsi,
                self.cfg.dport,
                &sqns,
                &self.cfg.nla,
                &self.cfg.group,
            );
            return true;
        }
        if self.spm_now > 0 {
            self.spm_now -= 1;
            self.write_spm(out, false, now);
            return true;
        }
        // Data already paid for: written as soon as asked.
        if let Some(sqn) = self.fresh.pop_front() {
            if let Some(idx) = self.in_window(sqn) {
                let trail = self.trail;
                wire::write_data(
                    out,
                    &self.cfg.tsi,
                    self.cfg.dport,
                    false,
                    sqn,
                    trail,
                    &self.window[idx],
                );
                self.bucket.spend(out.len() + self.cfg.overhead);
                self.stats.odata += 1;
                if self.fin_left.is_none() {
                    self.heartbeat = Some((0, now + Duration::from_millis(HEARTBEAT_MS[0])));
                }
                return true;
            }
        }
        while !self.repairs.is_empty() && self.bucket.ready(now) {
            let Some(sqn) = self.repairs.pop_front() else {
                break;
            };
            self.repair_set.remove(&sqn);
            if let Some(idx) = self.in_window(sqn) {
                let trail = self.trail;
                wire::write_data(
                    out,
                    &self.cfg.tsi,
                    self.cfg.dport,
                    true,
                    sqn,
                    trail,
                    &self.window[idx],
                );
                self.bucket.spend(out.len() + self.cfg.overhead);
                self.stats.rdata += 1;
                return true;
            }
        }
        if self.fin_left.is_some() {
            return false;
        }
        if let Some((i, at)) = self.heartbeat {
            if at <= now {
                let next = i + 1;
                self.heartbeat = HEARTBEAT_MS
                    .get(next)
                    .map(|ms| (next, now + Duration::from_millis(*ms)));
                self.write_spm(out, false, now);
                return true;
            }
        }
        if self.next_ambient <= now {
            self.write_spm(out, false, now);
            return true;
        }
        false
    }

    /// When [`Sender::poll_transmit`] should next be called, if nothing
    /// else happens first.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.fin_left.is_some() {
            // Closing: only the rate can hold the last data.
            return (!self.fresh.is_empty() || !self.repairs.is_empty())
                .then(|| self.bucket.ready_at());
        }
        let mut t = self.next_ambient;
        if let Some((_, at)) = self.heartbeat {
            t = t.min(at);
        }
        if !self.repairs.is_empty() || self.rate_blocked {
            t = t.min(self.bucket.ready_at());
        }
        Some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn cfg() -> SenderConfig {
        SenderConfig {
            tsi: Tsi {
                gsi: [1, 2, 3, 4, 5, 6],
                sport: 4000,
            },
            dport: 5555,
            nla: IpAddr::V4(Ipv4Addr::LOCALHOST),
            group: IpAddr::V4(Ipv4Addr::new(239, 192, 1, 1)),
            max_tsdu: 100,
            txw_sqns: 4,
            rate: 1_000_000,
            overhead: 28,
            initial_sqn: 0,
        }
    }

    fn drain(s: &mut Sender, now: Instant) -> Vec<Vec<u8>> {
        let mut v = Vec::new();
        let mut out = Vec::new();
        while s.poll_transmit(now, &mut out) {
            v.push(out.clone());
        }
        v
    }

    fn kinds(pkts: &[Vec<u8>]) -> Vec<u8> {
        pkts.iter().map(|p| p[4]).collect()
    }

    #[test]
    fn window_size_like_libzmq() {
        // 100 kbit/s for 10 s in 1500-byte TPDUs (libzmq's integer
        // arithmetic: 12 bytes/ms).
        assert_eq!(SenderConfig::window_sqns(100, 10000, 1500), 80);
        assert_eq!(SenderConfig::window_sqns(100, 0, 1500), 1);
        assert_eq!(SenderConfig::window_sqns(i32::MAX, i32::MAX, 1), 1 << 30);
    }

    #[test]
    fn starts_with_three_spms_then_data_then_heartbeats() {
        let t0 = Instant::now();
        let mut s = Sender::new(cfg(), t0);
        let p = drain(&mut s, t0);
        assert_eq!(kinds(&p), vec![0, 0, 0]);
        let spm = wire::parse(&p[0]).unwrap();
        assert!(matches!(
            spm.body,
            Body::Spm {
                lead: u32::MAX,
                trail: 0,
                ..
            }
        ));
        assert!(s.can_send_data(t0));
        s.push_data(vec![0, 0, 2, 0, 7], t0);
        let p = drain(&mut s, t0);
        assert_eq!(kinds(&p), vec![wire::types::ODATA]);
        // Heartbeats: 100 ms after the data, five times, then 1.3 s.
        assert_eq!(s.poll_timeout(), Some(t0 + Duration::from_millis(100)));
        let mut now = t0;
        let mut gaps = Vec::new();
        for _ in 0..7 {
            let next = s.poll_timeout().unwrap();
            gaps.push((next - now).as_millis());
            now = next;
            let p = drain(&mut s, now);
            assert_eq!(kinds(&p), vec![0]);
            let spm = wire::parse(&p[0]).unwrap();
            assert!(matches!(spm.body, Body::Spm { lead: 0, .. }));
        }
        assert_eq!(gaps, vec![100, 100, 100, 100, 100, 1300, 7000]);
    }

    fn nak(s: &Sender, sqns: &[u32]) -> Vec<u8> {
        let mut out = Vec::new();
        wire::write_nak(
            &mut out,
            wire::types::NAK,
            &s.cfg.tsi,
            5555,
            sqns,
            &s.cfg.nla,
            &s.cfg.group,
        );
        out
    }

    #[test]
    fn nak_gets_ncf_and_rdata() {
        let t0 = Instant::now();
        let mut s = Sender::new(cfg(), t0);
        drain(&mut s, t0);
        for i in 0..6u8 {
            assert!(s.can_send_data(t0));
            s.push_data(vec![0, 0, 2, 0, i], t0);
            drain(&mut s, t0);
        }
        // Window of 4: sqns 2..=5.
        assert_eq!((s.trail(), s.lead()), (2, 5));
        let from = IpAddr::V4(Ipv4Addr::LOCALHOST);
        let n = nak(&s, &[1, 3, 3, 5]);
        s.handle(&wire::parse(&n).unwrap(), from, t0);
        let p = drain(&mut s, t0);
        assert_eq!(kinds(&p), vec![wire::types::NCF, 5, 5]);
        let ncf = wire::parse(&p[0]).unwrap();
        assert_eq!(ncf.nak_sqns().collect::<Vec<_>>(), vec![3, 3, 5]);
        let r = wire::parse(&p[1]).unwrap();
        assert!(
            matches!(r.body, Body::Data { repair: true, sqn: 3, trail: 2, tsdu } if tsdu[4] == 3)
        );
        // Someone else's NAK, or one on the wrong port: ignored.
        let mut other = s.cfg.clone();
        other.tsi.sport = 1;
        let mut out = Vec::new();
        wire::write_nak(
            &mut out,
            wire::types::NAK,
            &other.tsi,
            5555,
            &[3],
            &other.nla,
            &other.group,
        );
        s.handle(&wire::parse(&out).unwrap(), from, t0);
        wire::write_nak(
            &mut out,
            wire::types::NAK,
            &s.cfg.tsi,
            5556,
            &[3],
            &other.nla,
            &other.group,
        );
        s.handle(&wire::parse(&out).unwrap(), from, t0);
        assert!(drain(&mut s, t0).is_empty());
        assert_eq!(s.stats().naks_ignored, 2);
    }

    #[test]
    fn rate_paces_data_and_repairs() {
        let t0 = Instant::now();
        let mut c = cfg();
        // 10 kB/s: the bucket holds 4 packets of 152 bytes.
        c.rate = 10_000;
        c.txw_sqns = 1000;
        let mut s = Sender::new(c, t0);
        drain(&mut s, t0);
        let mut sent = 0;
        while s.can_send_data(t0) {
            s.push_data(vec![0xAA; 100], t0);
            drain(&mut s, t0);
            sent += 1;
        }
        assert_eq!(sent, 4);
        let at = s.poll_timeout().unwrap();
        assert!(
            at > t0 && at <= t0 + Duration::from_millis(70),
            "{:?}",
            at - t0
        );
        // A forged NAK for the whole window waits for the rate too.
        let n = nak(&s, &[0, 1, 2, 3]);
        s.handle(
            &wire::parse(&n).unwrap(),
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            t0,
        );
        assert_eq!(kinds(&drain(&mut s, t0)), vec![wire::types::NCF]);
        let later = t0 + Duration::from_millis(10);
        assert_eq!(kinds(&drain(&mut s, later)), vec![5]);
        assert!(s.has_backlog());
    }

    #[test]
    fn spmr_and_fin() {
        let t0 = Instant::now();
        let mut s = Sender::new(cfg(), t0);
        drain(&mut s, t0);
        let mut out = Vec::new();
        wire::write_spmr(&mut out, &s.cfg.tsi, 5555);
        s.handle(
            &wire::parse(&out).unwrap(),
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            t0,
        );
        assert_eq!(kinds(&drain(&mut s, t0)), vec![0]);
        s.close();
        assert!(!s.can_send_data(t0));
        let p = drain(&mut s, t0);
        assert_eq!(p.len(), 3);
        assert!(p.iter().all(|p| wire::parse(p).unwrap().options.fin));
        assert!(s.is_closed());
        assert_eq!(s.poll_timeout(), None);
    }

    #[test]
    fn wraps_sequence_numbers() {
        let t0 = Instant::now();
        let mut c = cfg();
        c.initial_sqn = u32::MAX - 1;
        let mut s = Sender::new(c, t0);
        drain(&mut s, t0);
        for _ in 0..6 {
            s.push_data(vec![0, 0, 2, 0, 1], t0);
            drain(&mut s, t0);
        }
        assert_eq!((s.trail(), s.lead()), (0, 3));
        let n = nak(&s, &[u32::MAX, 0]);
        s.handle(
            &wire::parse(&n).unwrap(),
            IpAddr::V4(Ipv4Addr::LOCALHOST),
            t0,
        );
        let p = drain(&mut s, t0);
        // u32::MAX slid out of the window; only 0 is repaired.
        assert_eq!(kinds(&p), vec![wire::types::NCF, 5]);
    }
}
