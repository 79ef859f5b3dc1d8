//! The PGM receiver (RFC 3208 section 6), sans-I/O: one state per source
//! (TSI), each with a receive window, NAK state machines for the gaps in it,
//! and libzmq's framing on top ([`super::framing::Unpacker`]).
//!
//! **Window.** A source is joined where we first hear it: at the first
//! ODATA/RDATA's sequence number, or after the lead of its first SPM
//! (OpenPGM's default, no late-join repair). Sequence numbers are widened
//! to 64 bits against the window's edge, so wrap-around is ordinary
//! arithmetic. A packet beyond the lead opens the numbers in between as
//! gaps; a gap is NAKed after a random back-off (`nak_bo_ivl`), then waits
//! for an NCF (`nak_rpt_ivl`) and for the repair (`nak_rdata_ivl`), going
//! back to back-off when either does not come, until `nak_ncf_retries` or
//! `nak_data_retries` run out: then the data is lost. Data the source says
//! it no longer holds (the trail of its ODATA, RDATA and SPMs) is lost at
//! once. SPMs also reveal data lost at the end of a burst (their lead) and
//! give the source's address for NAKs; before the first SPM a receiver asks
//! for one with an SPMR and NAKs the packets' IP source. The timings are
//! libzmq's (`pgm_socket_t::init`): back-off 50 ms, repeat 200 ms, repair
//! 200 ms, 50 retries each, peers expire after 300 s of silence.
//!
//! **Delivery.** Completed TSDUs leave the window in order, with one loss
//! marker standing for any run of lost ones. Decoding is pulled by
//! [`Receiver::poll_event`], so a full pipe stops it; the frames of one
//! source's multi-part message are delivered together (another source waits
//! until the last frame), and a loss in the middle of one yields
//! [`Event::Abort`]: the frames since the last complete message are void.
//!
//! **Bounds.** At most `max_peers` sources; per source at most `rxw_sqns`
//! window positions, NAK entries and TSDUs held (when that many wait for a
//! full pipe, new data is dropped and repaired later), TSDUs no longer than
//! the TPDU allows, decoded frames of at most one TSDU waiting. A forged
//! packet can make us give up data, as in any unauthenticated PGM, but never
//! grow memory beyond these bounds.

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::framing::Unpacker;
use super::wire::{self, opt_bits, Body, Packet, Tsi};
use crate::msg::Message;

/// Where widened sequence numbers start (so the ones before the window
/// never go below zero).
const EXT_BASE: u64 = 1 << 32;

/// How a receiver is set up.
#[derive(Clone, Debug)]
pub struct ReceiverConfig {
    /// The endpoint's port: data must be sent to it.
    pub dport: u16,
    /// The multicast group (named in NAKs).
    pub group: IpAddr,
    /// Receive window in packets per source (libzmq: like the sender's).
    pub rxw_sqns: u32,
    /// Largest TSDU accepted; longer data packets are dropped.
    pub max_tsdu: usize,
    /// ZMQ_MAXMSGSIZE (-1: none).
    pub max_msg_size: i64,
    /// NAK back-off interval (the random delay before a NAK).
    pub nak_bo_ivl: Duration,
    /// How long to wait for an NCF after a NAK.
    pub nak_rpt_ivl: Duration,
    /// How long to wait for the repair after an NCF.
    pub nak_rdata_ivl: Duration,
    /// NAKs without repair before the data is lost.
    pub nak_data_retries: u32,
    /// NAKs without NCF before the data is lost.
    pub nak_ncf_retries: u32,
    /// Silence after which a source is forgotten.
    pub peer_expiry: Duration,
    /// The random delay before an SPMR.
    pub spmr_expiry: Duration,
    /// Most sources heard at once; packets from more are dropped.
    pub max_peers: usize,
    /// Seed of the back-off randomness.
    pub seed: u64,
}

impl ReceiverConfig {
    /// libzmq's receiver settings (`pgm_socket_t::init`).
    pub fn libzmq(
        dport: u16,
        group: IpAddr,
        rxw_sqns: u32,
        max_tsdu: usize,
        max_msg_size: i64,
        seed: u64,
    ) -> ReceiverConfig {
        ReceiverConfig {
            dport,
            group,
            rxw_sqns,
            max_tsdu,
            max_msg_size,
            nak_bo_ivl: Duration::from_millis(50),
            nak_rpt_ivl: Duration::from_millis(200),
            nak_rdata_ivl: Duration::from_millis(200),
            nak_data_retries: 50,
            nak_ncf_retries: 50,
            peer_expiry: Duration::from_secs(300),
            spmr_expiry: Duration::from_millis(25),
            max_peers: 64,
            seed,
        }
    }
}

/// What the receiver hands up.
#[derive(Debug)]
pub enum Event {
    /// The next frame (messages of one source arrive whole and in order).
    Frame(Message),
    /// The frames since the last complete message are void (their source
    /// lost data in the middle of the message, or went away).
    Abort,
}

/// A packet the receiver wants sent (NAK or SPMR), unicast.
#[derive(Debug)]
pub struct Outgoing {
    /// The source's address.
    pub to: IpAddr,
    /// The PGM packet.
    pub packet: Vec<u8>,
}

/// Counters for tests and benchmarks.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReceiverStats {
    /// Data packets placed in a window.
    pub data: u64,
    /// Data packets we already had, or from before the window.
    pub duplicates: u64,
    /// NAK packets sent.
    pub naks: u64,
    /// SPMRs sent.
    pub spmrs: u64,
    /// Runs of data given up (each a loss marker).
    pub losses: u64,
    /// Data dropped because a source had `rxw_sqns` TSDUs waiting.
    pub dropped_full: u64,
    /// Packets from sources beyond `max_peers`.
    pub peers_refused: u64,
    /// Packets or TSDUs that broke the rules.
    pub malformed: u64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum NakState {
    BackOff,
    WaitNcf,
    WaitData,
}

#[derive(Debug)]
struct Nak {
    state: NakState,
    deadline: Instant,
    ncf_retries: u32,
    data_retries: u32,
}

#[derive(Debug)]
enum Slot {
    Missing,
    Have(Box<[u8]>),
    /// Given up (retries ran out).
    Lost,
}

#[derive(Debug)]
enum Deliverable {
    Tsdu(Box<[u8]>),
    Loss,
}

struct Peer {
    addr: IpAddr,
    nla: Option<IpAddr>,
    last_heard: Instant,
    spm_sqn: Option<u32>,
    /// The first window position and its sequence number.
    win_ext: u64,
    win_sqn: u32,
    window: VecDeque<Slot>,
    naks: HashMap<u64, Nak>,
    timers: BTreeSet<(Instant, u64)>,
    spmr_at: Option<Instant>,
    deliverable: VecDeque<Deliverable>,
    /// TSDUs held: in the window and waiting for delivery.
    held: usize,
    unpacker: Unpacker,
    ready: VecDeque<Message>,
    /// Frames with MORE went up and the message's last has not.
    mid_message: bool,
    /// The stream broke: after `ready`, an abort if mid-message.
    broken: bool,
    fin: bool,
}

impl Peer {
    fn new(addr: IpAddr, first_sqn: u32, max_msg_size: i64, now: Instant) -> Peer {
        Peer {
            addr,
            nla: None,
            last_heard: now,
            spm_sqn: None,
            win_ext: EXT_BASE,
            win_sqn: first_sqn,
            window: VecDeque::new(),
            naks: HashMap::new(),
            timers: BTreeSet::new(),
            spmr_at: None,
            deliverable: VecDeque::new(),
            held: 0,
            unpacker: Unpacker::new(max_msg_size),
            ready: VecDeque::new(),
            mid_message: false,
            broken: false,
            fin: false,
        }
    }

    fn ext(&self, sqn: u32) -> u64 {
        let delta = i64::from(sqn.wrapping_sub(self.win_sqn) as i32);
        self.win_ext.wrapping_add_signed(delta)
    }

    fn end_ext(&self) -> u64 {
        self.win_ext + self.window.len() as u64
    }

    fn drained(&self) -> bool {
        self.window.is_empty()
            && self.deliverable.is_empty()
            && self.ready.is_empty()
            && !self.mid_message
    }

    fn cancel_nak(&mut self, ext: u64) {
        if let Some(n) = self.naks.remove(&ext) {
            self.timers.remove(&(n.deadline, ext));
        }
    }

    fn set_nak(&mut self, ext: u64, state: NakState, deadline: Instant) {
        if let Some(n) = self.naks.get_mut(&ext) {
            self.timers.remove(&(n.deadline, ext));
            n.state = state;
            n.deadline = deadline;
            self.timers.insert((deadline, ext));
        }
    }

    fn push_loss(&mut self, stats: &mut ReceiverStats) {
        if !matches!(self.deliverable.back(), Some(Deliverable::Loss)) {
            self.deliverable.push_back(Deliverable::Loss);
            stats.losses += 1;
        }
    }

    /// Moves the front of the window to `to` (if ahead): what is there goes
    /// to delivery, gaps as losses.
    fn advance_to(&mut self, to: u64, stats: &mut ReceiverStats) {
        while self.win_ext < to {
            let ext = self.win_ext;
            match self.window.pop_front() {
                Some(Slot::Have(t)) => self.deliverable.push_back(Deliverable::Tsdu(t)),
                Some(Slot::Missing) => {
                    self.cancel_nak(ext);
                    self.push_loss(stats);
                }
                Some(Slot::Lost) => self.push_loss(stats),
                None => {
                    // Positions never seen: one loss for them all.
                    self.push_loss(stats);
                    self.win_sqn = self
                        .win_sqn
                        .wrapping_add(u32::try_from(to - self.win_ext).unwrap_or(0));
                    self.win_ext = to;
                    break;
                }
            }
            self.win_ext += 1;
            self.win_sqn = self.win_sqn.wrapping_add(1);
        }
        self.commit(stats);
    }

    /// Completed positions at the front of the window go to delivery.
    fn commit(&mut self, stats: &mut ReceiverStats) {
        loop {
            match self.window.front() {
                Some(Slot::Have(_)) | Some(Slot::Lost) => {}
                _ => return,
            }
            match self.window.pop_front() {
                Some(Slot::Have(t)) => self.deliverable.push_back(Deliverable::Tsdu(t)),
                Some(_) => self.push_loss(stats),
                None => return,
            }
            self.win_ext += 1;
            self.win_sqn = self.win_sqn.wrapping_add(1);
        }
    }
}

/// Xorshift64*: enough randomness for back-off, reproducible from a seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A duration in `[0, max]`.
    fn upto(&mut self, max: Duration) -> Duration {
        let n = max.as_nanos().min(u128::from(u64::MAX)) as u64;
        Duration::from_nanos(self.next() % (n + 1))
    }
}

/// A PGM receiver for one endpoint: every source sending to its group and
/// port.
pub struct Receiver {
    cfg: ReceiverConfig,
    rng: Rng,
    peers: HashMap<Tsi, Peer>,
    /// Round-robin order of delivery.
    order: VecDeque<Tsi>,
    /// The source whose multi-part message is being delivered.
    current: Option<Tsi>,
    /// A source went away in the middle of a message.
    pending_abort: bool,
    out: VecDeque<Outgoing>,
    stats: ReceiverStats,
}

impl Receiver {
    /// A receiver that has heard nobody yet.
    pub fn new(cfg: ReceiverConfig) -> Receiver {
        let mut cfg = cfg;
        cfg.rxw_sqns = cfg.rxw_sqns.clamp(1, 1 << 30);
        cfg.max_peers = cfg.max_peers.max(1);
        Receiver {
            rng: Rng(cfg.seed | 1),
            cfg,
            peers: HashMap::new(),
            order: VecDeque::new(),
            current: None,
            pending_abort: false,
            out: VecDeque::new(),
            stats: ReceiverStats::default(),
        }
    }

    /// Counters.
    pub fn stats(&self) -> ReceiverStats {
        self.stats
    }

    /// Sources currently known.
    pub fn peer_count(&self) -> usize {
        self.peers.len()
    }

    /// TSDUs held over all sources (for memory checks).
    pub fn held(&self) -> usize {
        self.peers.values().map(|p| p.held).sum()
    }

    /// NAK entries over all sources (for memory checks).
    pub fn nak_entries(&self) -> usize {
        self.peers.values().map(|p| p.naks.len()).sum()
    }

    /// A datagram's PGM bytes from IP source `from`.
    pub fn handle_datagram(&mut self, data: &[u8], from: IpAddr, now: Instant) {
        match wire::parse(data) {
            Ok(p) => self.handle(&p, from, now),
            Err(_) => self.stats.malformed += 1,
        }
    }

    /// A parsed packet from IP source `from`.
    pub fn handle(&mut self, pkt: &Packet<'_>, from: IpAddr, now: Instant) {
        let tsi = pkt.tsi();
        match &pkt.body {
            Body::Spm {
                spm_sqn,
                trail,
                lead,
                nla,
            } => {
                if pkt.dport != self.cfg.dport {
                    return;
                }
                if !self.ensure_peer(tsi, from, lead.wrapping_add(1), now) {
                    return;
                }
                let Some(peer) = self.peers.get_mut(&tsi) else {
                    return;
                };
                if let Some(last) = peer.spm_sqn {
                    if !wire::sqn_lt(last, *spm_sqn) {
                        return; // an old or repeated SPM
                    }
                }
                peer.spm_sqn = Some(*spm_sqn);
                peer.nla = Some(*nla);
                peer.spmr_at = None;
                peer.last_heard = now;
                if pkt.options.fin {
                    peer.fin = true;
                }
                Self::apply_trail(peer, *trail, &mut self.stats);
                let lead_ext = peer.ext(*lead);
                if lead_ext >= peer.end_ext() {
                    Self::open_to(
                        peer,
                        lead_ext + 1,
                        &self.cfg,
                        &mut self.rng,
                        &mut self.stats,
                        now,
                    );
                }
            }
            Body::Data {
                sqn, trail, tsdu, ..
            } => {
                if pkt.dport != self.cfg.dport {
                    return;
                }
                if pkt.opt_bits & opt_bits::PARITY != 0 || tsdu.len() > self.cfg.max_tsdu {
                    self.stats.malformed += 1;
                    return;
                }
                let new = !self.peers.contains_key(&tsi);
                let delay = self.rng.upto(self.cfg.spmr_expiry);
                if !self.ensure_peer(tsi, from, *sqn, now) {
                    return;
                }
                let Some(peer) = self.peers.get_mut(&tsi) else {
                    return;
                };
                if new {
                    peer.spmr_at = Some(now + delay);
                }
                peer.last_heard = now;
                Self::apply_trail(peer, *trail, &mut self.stats);
                let ext = peer.ext(*sqn);
                if ext < peer.win_ext {
                    self.stats.duplicates += 1;
                    return;
                }
                if peer.held >= self.cfg.rxw_sqns as usize {
                    self.stats.dropped_full += 1;
                    return;
                }
                Self::open_to(
                    peer,
                    ext + 1,
                    &self.cfg,
                    &mut self.rng,
                    &mut self.stats,
                    now,
                );
                // The window may have moved.
                let Some(idx) = ext.checked_sub(peer.win_ext) else {
                    self.stats.duplicates += 1;
                    return;
                };
                let Some(slot) = peer.window.get_mut(idx as usize) else {
                    return;
                };
                if matches!(slot, Slot::Have(_)) {
                    self.stats.duplicates += 1;
                    return;
                }
                // Fragments of a larger APDU (never sent by libzmq) are
                // not reassembled: taken as lost.
                *slot = if pkt.options.fragment.is_some() {
                    Slot::Lost
                } else {
                    peer.held += 1;
                    Slot::Have(tsdu.to_vec().into_boxed_slice())
                };
                peer.cancel_nak(ext);
                self.stats.data += 1;
                peer.commit(&mut self.stats);
            }
            Body::Nak { kind, .. } if *kind == wire::types::NCF => {
                if pkt.dport != self.cfg.dport {
                    return;
                }
                let Some(peer) = self.peers.get_mut(&tsi) else {
                    return;
                };
                peer.last_heard = now;
                let deadline = now + self.cfg.nak_rdata_ivl;
                for sqn in pkt.nak_sqns() {
                    let ext = peer.ext(sqn);
                    let state = peer.naks.get(&ext).map(|n| n.state);
                    if matches!(state, Some(NakState::BackOff) | Some(NakState::WaitNcf)) {
                        peer.set_nak(ext, NakState::WaitData, deadline);
                    }
                }
            }
            _ => {}
        }
    }

    /// Whether `tsi` has a state, creating it (starting at `first_sqn`) if
    /// new and there is room.
    fn ensure_peer(&mut self, tsi: Tsi, from: IpAddr, first_sqn: u32, now: Instant) -> bool {
        if !self.peers.contains_key(&tsi) {
            if self.peers.len() >= self.cfg.max_peers {
                // Room only by forgetting a source that said goodbye and
                // has nothing left to deliver.
                let gone = self
                    .peers
                    .iter()
                    .find(|(t, p)| p.fin && p.drained() && self.current != Some(**t))
                    .map(|(t, _)| *t);
                match gone {
                    Some(t) => self.remove_peer(t),
                    None => {
                        self.stats.peers_refused += 1;
                        return false;
                    }
                }
            }
            self.peers
                .insert(tsi, Peer::new(from, first_sqn, self.cfg.max_msg_size, now));
            self.order.push_back(tsi);
        }
        true
    }

    fn remove_peer(&mut self, tsi: Tsi) {
        if let Some(p) = self.peers.remove(&tsi) {
            if self.current == Some(tsi) {
                self.current = None;
                if p.mid_message {
                    self.pending_abort = true;
                }
            }
            self.order.retain(|t| *t != tsi);
        }
    }

    /// Data before the source's trail will never be repaired.
    fn apply_trail(peer: &mut Peer, trail: u32, stats: &mut ReceiverStats) {
        let t = peer.ext(trail);
        if t <= peer.win_ext {
            return;
        }
        // Only what is missing is given up; data we hold stays good.
        let upto = t.min(peer.end_ext());
        for ext in peer.win_ext..upto {
            let i = (ext - peer.win_ext) as usize;
            if let Some(slot @ Slot::Missing) = peer.window.get_mut(i) {
                *slot = Slot::Lost;
                peer.cancel_nak(ext);
            }
        }
        if t > peer.end_ext() {
            peer.advance_to(t, stats);
        } else {
            peer.commit(stats);
        }
    }

    /// Extends the window so that it ends at `end` (exclusive), new
    /// positions missing; first moves it forward if it would outgrow
    /// `rxw_sqns`.
    fn open_to(
        peer: &mut Peer,
        end: u64,
        cfg: &ReceiverConfig,
        rng: &mut Rng,
        stats: &mut ReceiverStats,
        now: Instant,
    ) {
        let rxw = u64::from(cfg.rxw_sqns);
        if end > peer.win_ext + rxw {
            peer.advance_to(end - rxw, stats);
        }
        while peer.end_ext() < end {
            let ext = peer.end_ext();
            peer.window.push_back(Slot::Missing);
            let deadline = now + rng.upto(cfg.nak_bo_ivl);
            peer.naks.insert(
                ext,
                Nak {
                    state: NakState::BackOff,
                    deadline,
                    ncf_retries: 0,
                    data_retries: 0,
                },
            );
            peer.timers.insert((deadline, ext));
        }
    }

    /// Runs the timers due at `now`: NAKs, SPMRs, expiry.
    pub fn handle_timeout(&mut self, now: Instant) {
        let mut expired = Vec::new();
        for (tsi, peer) in self.peers.iter_mut() {
            if peer.last_heard + self.cfg.peer_expiry <= now {
                expired.push(*tsi);
                continue;
            }
            if peer.spmr_at.is_some_and(|t| t <= now) {
                peer.spmr_at = None;
                let mut pkt = Vec::new();
                wire::write_spmr(&mut pkt, tsi, self.cfg.dport);
                self.out.push_back(Outgoing {
                    to: peer.addr,
                    packet: pkt,
                });
                self.stats.spmrs += 1;
            }
            let mut to_nak = Vec::new();
            let mut lost = false;
            while let Some(&(t, ext)) = peer.timers.first() {
                if t > now {
                    break;
                }
                peer.timers.pop_first();
                let Some(n) = peer.naks.get_mut(&ext) else {
                    continue;
                };
                let give_up = match n.state {
                    NakState::BackOff => {
                        to_nak.push(ext);
                        continue;
                    }
                    NakState::WaitNcf => {
                        n.ncf_retries += 1;
                        n.ncf_retries > self.cfg.nak_ncf_retries
                    }
                    NakState::WaitData => {
                        n.data_retries += 1;
                        n.data_retries > self.cfg.nak_data_retries
                    }
                };
                if give_up {
                    peer.naks.remove(&ext);
                    if let Some(s) = ext
                        .checked_sub(peer.win_ext)
                        .and_then(|i| peer.window.get_mut(i as usize))
                    {
                        *s = Slot::Lost;
                    }
                    lost = true;
                } else {
                    let d = now + self.rng.upto(self.cfg.nak_bo_ivl);
                    n.state = NakState::BackOff;
                    n.deadline = d;
                    peer.timers.insert((d, ext));
                }
            }
            if lost {
                peer.commit(&mut self.stats);
            }
            to_nak.sort_unstable();
            let to = peer.nla.unwrap_or(peer.addr);
            let deadline = now + self.cfg.nak_rpt_ivl;
            for chunk in to_nak.chunks(1 + wire::NAK_LIST_MAX) {
                let sqns: Vec<u32> = chunk
                    .iter()
                    .map(|&e| {
                        peer.win_sqn
                            .wrapping_add(e.wrapping_sub(peer.win_ext) as u32)
                    })
                    .collect();
                let source = peer.nla.unwrap_or(peer.addr);
                let mut pkt = Vec::new();
                wire::write_nak(
                    &mut pkt,
                    wire::types::NAK,
                    tsi,
                    self.cfg.dport,
                    &sqns,
                    &source,
                    &self.cfg.group,
                );
                self.out.push_back(Outgoing { to, packet: pkt });
                self.stats.naks += 1;
                for &e in chunk {
                    peer.set_nak(e, NakState::WaitNcf, deadline);
                }
            }
        }
        for tsi in expired {
            self.remove_peer(tsi);
        }
    }

    /// When [`Receiver::handle_timeout`] should next run.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut t: Option<Instant> = None;
        for p in self.peers.values() {
            for x in [
                p.timers.first().map(|(d, _)| *d),
                p.spmr_at,
                Some(p.last_heard + self.cfg.peer_expiry),
            ]
            .into_iter()
            .flatten()
            {
                t = Some(t.map_or(x, |t| t.min(x)));
            }
        }
        t
    }

    /// The next packet to send (NAK or SPMR).
    pub fn poll_transmit(&mut self) -> Option<Outgoing> {
        self.out.pop_front()
    }

    /// The next frame or abort, if one is ready. Stop calling while the
    /// pipe is full: data then waits in the windows (bounded).
    pub fn poll_event(&mut self) -> Option<Event> {
        if self.pending_abort {
            self.pending_abort = false;
            return Some(Event::Abort);
        }
        if let Some(tsi) = self.current {
            return self.peer_event(tsi);
        }
        for _ in 0..self.order.len() {
            let Some(tsi) = self.order.pop_front() else {
                break;
            };
            self.order.push_back(tsi);
            if let Some(ev) = self.peer_event(tsi) {
                return Some(ev);
            }
        }
        None
    }

    fn peer_event(&mut self, tsi: Tsi) -> Option<Event> {
        let peer = self.peers.get_mut(&tsi)?;
        loop {
            if let Some(m) = peer.ready.pop_front() {
                peer.mid_message = m.more();
                self.current = peer.mid_message.then_some(tsi);
                return Some(Event::Frame(m));
            }
            if peer.broken {
                peer.broken = false;
                if peer.mid_message {
                    peer.mid_message = false;
                    self.current = None;
                    return Some(Event::Abort);
                }
            }
            match peer.deliverable.pop_front()? {
                Deliverable::Tsdu(t) => {
                    peer.held = peer.held.saturating_sub(1);
                    if peer.unpacker.push(&t, &mut peer.ready).is_err() {
                        self.stats.malformed += 1;
                        peer.broken = true;
                    }
                }
                Deliverable::Loss => {
                    peer.unpacker.reset();
                    peer.broken = true;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
