//! Pipes: the per-peer pair of one-way message queues between a socket and a
//! session (or another socket, for inproc), with HWM/LWM credit and libzmq's
//! termination handshake (src/pipe.cpp).
//!
//! A pipe has two ends, one per owner. Each [`Pipe`] end is owned by exactly
//! one thread (a socket's user thread, the reaper, or an I/O thread) and reads
//! from one queue and writes to the other. Messages travel only through the
//! queues; state changes travel as [`PipeCommand`]s to the peer end's owner
//! through its mailbox:
//!
//! * `ActivateRead`: the queue went from empty to non-empty while the reader
//!   was asleep (one per batch, see [`ypipe`]).
//! * `ActivateWrite(n)`: the reader has consumed `n` messages in total; sent
//!   every LWM messages, so a writer blocked at HWM resumes.
//! * `PipeTerm` / `PipeTermAck`: the termination handshake. An end that
//!   terminates writes a delimiter after its last message; the other end
//!   reads up to the delimiter (unless it does not care: `set_nodelay`) and
//!   acknowledges; the pipe is gone once both sides acknowledged.
//! * `Hwm(in, out)`: the peer changed its HWM options.

pub mod conflate;
pub mod direct;
pub mod ypipe;

use std::sync::Arc;

use crate::util::sync::Mutex;

use crate::endpoint::EndpointPair;
use crate::msg::{flags, Message};

/// A command from one pipe end to the other.
pub(crate) enum PipeCommand {
    ActivateRead,
    ActivateWrite(u64),
    PipeTerm,
    PipeTermAck,
    Hwm(i32, i32),
    /// Inproc bind after connect: the binder's HWMs are now known
    /// (in boost, out boost, in HWM, out HWM).
    Boost(i32, i32, i32, i32),
    /// The message to send to the peer when this end is disconnected.
    /// Boxed: a 64-byte message inline would make every command, and so
    /// every slot of every mailbox, more than twice as large.
    DisconnectMsg(Box<Message>),
    /// The peer reconnected: write into this fresh queue from now on; what
    /// was queued in the old one is dropped (`msgs_read` is the peer's count).
    Hiccup(Outbound, u64),
    /// The peer wants our queue length; it has this many queued to us.
    StatsRequest(u64),
    /// Queue lengths for a stats request: (ours towards the peer, the peer's towards us).
    StatsReply(u64, u64),
}

// Every mailbox slot is as large as its largest command; keep them small.
const _: () = assert!(std::mem::size_of::<PipeCommand>() <= 32);

impl std::fmt::Debug for PipeCommand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PipeCommand::ActivateRead => f.write_str("ActivateRead"),
            PipeCommand::ActivateWrite(n) => write!(f, "ActivateWrite({n})"),
            PipeCommand::PipeTerm => f.write_str("PipeTerm"),
            PipeCommand::PipeTermAck => f.write_str("PipeTermAck"),
            PipeCommand::Hwm(i, o) => write!(f, "Hwm({i}, {o})"),
            PipeCommand::Boost(a, b, c, d) => write!(f, "Boost({a}, {b}, {c}, {d})"),
            PipeCommand::DisconnectMsg(_) => f.write_str("DisconnectMsg"),
            PipeCommand::Hiccup(..) => f.write_str("Hiccup"),
            PipeCommand::StatsRequest(n) => write!(f, "StatsRequest({n})"),
            PipeCommand::StatsReply(a, b) => write!(f, "StatsReply({a}, {b})"),
        }
    }
}

/// Where commands for a pipe end are delivered: its owner's mailbox.
pub(crate) trait PipeSink: Send + Sync {
    /// Queues `cmd` for the pipe end its owner knows by `key`.
    fn deliver(&self, key: u64, cmd: PipeCommand);
}

/// Who currently owns a pipe end, as seen from the other end.
enum Owner {
    /// Commands go to this mailbox, addressed with the owner's key.
    Attached(Arc<dyn PipeSink>, u64),
    /// The end waits for its owner (an inproc connect before the bind):
    /// commands are kept until it is attached.
    Pending(Vec<PipeCommand>),
}

/// The addressing shared by both ends of one pipe.
struct Link {
    owners: [Mutex<Owner>; 2],
    /// The connection each end may write to directly (see [`direct`]).
    direct: [direct::Slot; 2],
}

/// The event an end reports to its owner after processing a command.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub(crate) enum PipeEvent {
    /// Messages can be read again.
    ReadActivated,
    /// Messages can be written again.
    WriteActivated,
    /// The peer reconnected and dropped what we had queued (resend state).
    Hiccuped,
    /// The peer asks for queue lengths (it has this many queued to us).
    StatsRequested(u64),
    /// Queue lengths arrived: (outbound, inbound) for ZMQ_EVENT_PIPES_STATS.
    Stats(u64, u64),
    /// The handshake is complete; the owner drops the end.
    Terminated,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Active,
    DelimiterReceived,
    WaitingForDelimiter,
    TermAckSent,
    TermReqSent1,
    TermReqSent2,
}

enum Inbound {
    Queue(ypipe::Reader<Message>),
    Conflate(Arc<conflate::Slot<Message>>),
}

pub(crate) enum Outbound {
    Queue(ypipe::Writer<Message>),
    Conflate(Arc<conflate::Slot<Message>>),
}

/// One end of a pipe, owned by one thread.
pub(crate) struct Pipe {
    side: usize,
    link: Arc<Link>,
    inbound: Option<Inbound>,
    outbound: Option<Outbound>,
    /// Frames of a multi-part message not yet complete; pushed to the queue
    /// with the last frame, dropped by `rollback`.
    partial: Vec<Message>,
    in_active: bool,
    out_active: bool,
    hwm: i32,
    lwm: i32,
    /// Whole messages to read before the next credit goes back: the
    /// countdown form of libzmq's `msgs_read % lwm == 0` (no division per
    /// message).
    credit_in: u64,
    in_hwm_boost: i32,
    out_hwm_boost: i32,
    msgs_read: u64,
    msgs_written: u64,
    peers_msgs_read: u64,
    state: State,
    delay: bool,
    conflate: bool,
    /// The peer's routing id as a ROUTER knows it.
    routing_id: Vec<u8>,
    /// The peer's routing id as a SERVER/PEER knows it.
    server_routing_id: u32,
    /// The connection this pipe carries (for zmq_disconnect and events), if any.
    endpoint: Option<EndpointPair>,
    disconnect_msg: Option<Message>,
    /// The connection this end may write to directly, if offered.
    direct: direct::Cached,
}

fn compute_lwm(hwm: i32) -> i32 {
    (hwm + 1) / 2
}

/// Creates the two ends of a pipe. `hwms[i]` is the limit on messages end
/// `i` may have queued towards end `1-i` (`-1` and `0`: none); `conflate[i]`
/// makes end `i`'s outbound queue a one-message slot.
pub(crate) fn pipepair(hwms: [i32; 2], conflate: [bool; 2]) -> (Pipe, Pipe) {
    let link = Arc::new(Link {
        owners: [
            Mutex::new(Owner::Pending(Vec::new())),
            Mutex::new(Owner::Pending(Vec::new())),
        ],
        direct: Default::default(),
    });
    // Queue 0 carries end 0 -> end 1, queue 1 carries end 1 -> end 0.
    let make = |c: bool| -> (Outbound, Inbound) {
        if c {
            let slot = Arc::new(conflate::Slot::default());
            (
                Outbound::Conflate(Arc::clone(&slot)),
                Inbound::Conflate(slot),
            )
        } else {
            let (w, r) = ypipe::channel();
            (Outbound::Queue(w), Inbound::Queue(r))
        }
    };
    let (out0, in1) = make(conflate[0]);
    let (out1, in0) = make(conflate[1]);
    let end = |side: usize, inbound, outbound, hwm_out: i32, hwm_in: i32, c: bool| Pipe {
        side,
        link: Arc::clone(&link),
        inbound: Some(inbound),
        outbound: Some(outbound),
        partial: Vec::new(),
        in_active: true,
        out_active: true,
        hwm: hwm_out,
        lwm: compute_lwm(hwm_in),
        credit_in: compute_lwm(hwm_in).max(1) as u64,
        in_hwm_boost: -1,
        out_hwm_boost: -1,
        msgs_read: 0,
        msgs_written: 0,
        peers_msgs_read: 0,
        state: State::Active,
        delay: true,
        conflate: c,
        routing_id: Vec::new(),
        server_routing_id: 0,
        endpoint: None,
        disconnect_msg: None,
        // Armed by the first read: a socket that only sends (PUSH, PUB)
        // streams through the pipe, where HWM counts every message, as in
        // libzmq (test_monitor's pipe statistics are exact).
        direct: direct::Cached::default(),
    };
    let p0 = end(0, in0, out0, hwms[0], hwms[1], conflate[0]);
    let p1 = end(1, in1, out1, hwms[1], hwms[0], conflate[1]);
    (p0, p1)
}

impl Pipe {
    /// The end's termination state, for diagnostics.
    pub fn debug_state(&self) -> String {
        format!(
            "{:?} delay={} in_active={} out_active={}",
            self.state, self.delay, self.in_active, self.out_active
        )
    }

    /// Declares the owner of this end and the key it wants commands for
    /// this end addressed with. Commands the peer sent while the end had no
    /// owner are returned, to be processed now in order.
    pub fn attach(&self, sink: Arc<dyn PipeSink>, key: u64) -> Vec<PipeCommand> {
        let mut owner = self.link.owners[self.side].lock();
        match std::mem::replace(&mut *owner, Owner::Attached(sink, key)) {
            Owner::Pending(cmds) => cmds,
            Owner::Attached(..) => Vec::new(),
        }
    }

    fn send_to_peer(&self, cmd: PipeCommand) {
        let peer = 1 - self.side;
        let mut owner = self.link.owners[peer].lock();
        match &mut *owner {
            Owner::Attached(sink, key) => sink.deliver(*key, cmd),
            Owner::Pending(cmds) => cmds.push(cmd),
        }
    }

    /// Whether a message can be read; consumes a delimiter if one is next.
    pub fn check_read(&mut self) -> bool {
        if !self.in_active {
            return false;
        }
        if self.state != State::Active && self.state != State::WaitingForDelimiter {
            return false;
        }
        let Some(inbound) = self.inbound.as_mut() else {
            return false;
        };
        let delimiter_next = match inbound {
            Inbound::Queue(r) => match r.peek() {
                None => {
                    self.in_active = false;
                    return false;
                }
                Some(m) => m.is_delimiter(),
            },
            Inbound::Conflate(s) => {
                if !s.check_read() {
                    self.in_active = false;
                    return false;
                }
                s.probe(|m| m.is_delimiter())
            }
        };
        if delimiter_next {
            let _ = self.read_raw();
            self.process_delimiter();
            return false;
        }
        true
    }

    /// Starts watching an inbound queue that was found empty instead of
    /// waiting for `ActivateRead` (see [`ypipe::Reader::watch`]), for an
    /// owner that is about to spin anyway. `false` if there is nothing to
    /// watch: the end is readable, ended, a conflate slot, or its wake-up is
    /// already on its way.
    pub fn watch_inbound(&mut self) -> bool {
        if self.in_active
            || (self.state != State::Active && self.state != State::WaitingForDelimiter)
        {
            return false;
        }
        match self.inbound.as_mut() {
            Some(Inbound::Queue(r)) => r.watch(),
            _ => false,
        }
    }

    /// Whether a watched queue received something; call only while watching.
    pub fn watched_ready(&mut self) -> bool {
        match self.inbound.as_mut() {
            Some(Inbound::Queue(r)) => r.watched_ready(),
            _ => false,
        }
    }

    /// Ends a watch. Returns `true` when something arrived: the end is then
    /// readable again and no `ActivateRead` will come for it, so the owner
    /// must treat it as [`PipeEvent::ReadActivated`].
    pub fn unwatch_inbound(&mut self) -> bool {
        let arrived = match self.inbound.as_mut() {
            Some(Inbound::Queue(r)) => r.unwatch(),
            _ => false,
        };
        // As `process` treats ActivateRead: an end that started terminating
        // meanwhile (a ROUTER hand-over during the spin) stays inactive.
        if arrived && (self.state == State::Active || self.state == State::WaitingForDelimiter) {
            self.in_active = true;
            return true;
        }
        false
    }

    fn read_raw(&mut self) -> Option<Message> {
        match self.inbound.as_mut()? {
            Inbound::Queue(r) => r.read(),
            Inbound::Conflate(s) => s.read(),
        }
    }

    /// Reads the next message. `None` when the queue is empty (the end then
    /// waits for `ActivateRead`) or the stream has ended.
    #[inline]
    pub fn read(&mut self) -> Option<Message> {
        if !self.in_active {
            return None;
        }
        if self.state != State::Active && self.state != State::WaitingForDelimiter {
            return None;
        }
        let msg = loop {
            match self.read_raw() {
                None => {
                    self.in_active = false;
                    return None;
                }
                // Credentials are for the session only, never for the socket.
                Some(m) if m.flags() & flags::CREDENTIAL != 0 => continue,
                Some(m) => break m,
            }
        };
        if msg.is_delimiter() {
            self.process_delimiter();
            return None;
        }
        self.direct.armed = true;
        if !msg.more() && !msg.is_routing_id() {
            self.msgs_read += 1;
            // Credit goes back every LWM messages (libzmq also re-sends it on
            // other frames; only whole messages change what the writer sees).
            if self.lwm > 0 {
                self.credit_in -= 1;
                if self.credit_in == 0 {
                    self.credit_in = self.lwm as u64;
                    self.send_to_peer(PipeCommand::ActivateWrite(self.msgs_read));
                }
            }
        }
        Some(msg)
    }

    /// Whether the peer has ended the pipe and what it wrote before its
    /// delimiter waits to be read (the pipe ends once it is).
    pub fn peer_ended(&self) -> bool {
        self.state == State::WaitingForDelimiter
    }

    /// Whether a message can be written now (not terminating, below HWM).
    #[inline]
    pub fn check_write(&mut self) -> bool {
        if !self.out_active || self.state != State::Active {
            return false;
        }
        if !self.check_hwm() {
            self.out_active = false;
            return false;
        }
        true
    }

    /// Writes a frame; gives it back when the pipe is full or terminating.
    /// Frames with MORE stay private to this end until the last frame.
    #[inline]
    pub fn write(&mut self, msg: Message) -> Result<(), Message> {
        if !self.check_write() {
            return Err(msg);
        }
        self.write_unchecked(msg);
        Ok(())
    }

    #[inline]
    fn write_unchecked(&mut self, msg: Message) {
        let more = msg.more();
        let is_routing_id = msg.is_routing_id();
        match &mut self.outbound {
            Some(Outbound::Queue(_)) => {
                if more {
                    self.partial.push(msg);
                } else {
                    let msg = if self.direct.armed && !is_routing_id {
                        match self.try_direct(msg) {
                            Ok(()) => return,
                            Err(msg) => msg,
                        }
                    } else {
                        msg
                    };
                    let Some(Outbound::Queue(w)) = self.outbound.as_mut() else {
                        return;
                    };
                    if !self.partial.is_empty() {
                        for part in self.partial.drain(..) {
                            w.write(part);
                        }
                    }
                    w.write(msg);
                }
            }
            Some(Outbound::Conflate(s)) => s.write(msg),
            None => return,
        }
        if !more && !is_routing_id {
            self.msgs_written += 1;
        }
    }

    /// Offers the peer end (the socket's) a connection to write whole
    /// messages to directly; None withdraws the offer.
    pub fn offer_direct(&self, out: Option<Arc<dyn direct::DirectOut>>) {
        self.link.direct[1 - self.side].offer(out);
    }

    /// Whole messages read from this end so far.
    pub fn msgs_read(&self) -> u64 {
        self.msgs_read
    }

    /// Offers a whole message (the partial frames, then `msg`) to the
    /// connection's direct write; gives `msg` back when it must go through
    /// the pipe. Disarms until the socket reads from this pipe again.
    #[cold]
    fn try_direct(&mut self, msg: Message) -> Result<(), Message> {
        self.direct.armed = false;
        let Some(d) = self.direct.current(&self.link.direct[self.side]) else {
            return Err(msg);
        };
        let wake = d.try_send(self.msgs_written, &mut self.partial, msg)?;
        if wake {
            self.send_to_peer(PipeCommand::ActivateRead);
        }
        Ok(())
    }

    /// Drops the frames of an unfinished multi-part message.
    pub fn rollback(&mut self) {
        self.partial.clear();
    }

    /// Publishes what was written; wakes the reader if it was asleep.
    #[inline]
    pub fn flush(&mut self) {
        if self.state == State::TermAckSent {
            return;
        }
        let awake = match self.outbound.as_mut() {
            Some(Outbound::Queue(w)) => w.flush(),
            Some(Outbound::Conflate(s)) => s.flush(),
            None => true,
        };
        if !awake {
            self.send_to_peer(PipeCommand::ActivateRead);
        }
    }

    /// Whether the peer has room for another message (HWM not reached).
    pub fn check_hwm(&self) -> bool {
        let full = self.hwm > 0 && self.msgs_written - self.peers_msgs_read >= self.hwm as u64;
        !full
    }

    /// Processes a command from the peer end.
    pub fn process(&mut self, cmd: PipeCommand) -> Option<PipeEvent> {
        match cmd {
            PipeCommand::ActivateRead => {
                if !self.in_active
                    && (self.state == State::Active || self.state == State::WaitingForDelimiter)
                {
                    self.in_active = true;
                    return Some(PipeEvent::ReadActivated);
                }
                None
            }
            PipeCommand::ActivateWrite(msgs_read) => {
                self.peers_msgs_read = msgs_read;
                if !self.out_active && self.state == State::Active {
                    self.out_active = true;
                    return Some(PipeEvent::WriteActivated);
                }
                None
            }
            PipeCommand::PipeTerm => {
                match self.state {
                    State::Active => {
                        if self.delay {
                            self.state = State::WaitingForDelimiter;
                        } else {
                            self.state = State::TermAckSent;
                            self.outbound = None;
                            self.send_to_peer(PipeCommand::PipeTermAck);
                        }
                    }
                    State::DelimiterReceived => {
                        self.state = State::TermAckSent;
                        self.outbound = None;
                        self.send_to_peer(PipeCommand::PipeTermAck);
                    }
                    State::TermReqSent1 => {
                        self.state = State::TermReqSent2;
                        self.outbound = None;
                        self.send_to_peer(PipeCommand::PipeTermAck);
                    }
                    // Not reachable by the protocol; ignore rather than abort.
                    _ => {}
                }
                None
            }
            PipeCommand::PipeTermAck => {
                if self.state == State::TermReqSent1 {
                    self.outbound = None;
                    self.send_to_peer(PipeCommand::PipeTermAck);
                }
                self.inbound = None;
                self.partial.clear();
                Some(PipeEvent::Terminated)
            }
            PipeCommand::Hwm(inhwm, outhwm) => {
                self.set_hwms(inhwm, outhwm);
                None
            }
            PipeCommand::Boost(in_boost, out_boost, inhwm, outhwm) => {
                self.set_hwms_boost(in_boost, out_boost);
                self.set_hwms(inhwm, outhwm);
                None
            }
            PipeCommand::DisconnectMsg(m) => {
                self.disconnect_msg = Some(*m);
                None
            }
            PipeCommand::StatsRequest(n) => Some(PipeEvent::StatsRequested(n)),
            PipeCommand::StatsReply(outbound, inbound) => Some(PipeEvent::Stats(outbound, inbound)),
            PipeCommand::Hiccup(out, msgs_read) => {
                self.outbound.as_ref()?;
                self.outbound = Some(out);
                self.partial.clear();
                self.msgs_written = msgs_read;
                self.peers_msgs_read = msgs_read;
                self.out_active = true;
                (self.state == State::Active).then_some(PipeEvent::Hiccuped)
            }
        }
    }

    /// Starts terminating this pipe. With `delay`, messages already queued
    /// towards us are still read up to the peer's delimiter.
    pub fn terminate(&mut self, delay: bool) {
        self.delay = delay;
        match self.state {
            State::TermReqSent1 | State::TermReqSent2 | State::TermAckSent => return,
            State::Active => {
                self.send_to_peer(PipeCommand::PipeTerm);
                self.state = State::TermReqSent1;
            }
            State::WaitingForDelimiter if !self.delay => {
                self.rollback();
                self.outbound = None;
                self.send_to_peer(PipeCommand::PipeTermAck);
                self.state = State::TermAckSent;
            }
            State::WaitingForDelimiter => {}
            State::DelimiterReceived => {
                self.send_to_peer(PipeCommand::PipeTerm);
                self.state = State::TermReqSent1;
            }
        }
        self.out_active = false;
        if self.outbound.is_some() {
            self.rollback();
            self.write_delimiter();
            self.flush();
        }
    }

    fn write_delimiter(&mut self) {
        match self.outbound.as_mut() {
            Some(Outbound::Queue(w)) => w.write(Message::delimiter()),
            Some(Outbound::Conflate(s)) => s.write(Message::delimiter()),
            None => {}
        }
    }

    fn process_delimiter(&mut self) {
        if self.state == State::Active {
            self.state = State::DelimiterReceived;
        } else {
            self.rollback();
            self.outbound = None;
            self.send_to_peer(PipeCommand::PipeTermAck);
            self.state = State::TermAckSent;
        }
    }

    /// Starts over with a fresh inbound queue after a reconnect: what the
    /// peer had queued to us is dropped, and it learns to write to the new
    /// queue (libzmq's hiccup).
    pub fn hiccup(&mut self) {
        if self.state != State::Active {
            return;
        }
        let (out, inbound) = if self.conflate {
            let slot = Arc::new(conflate::Slot::default());
            (
                Outbound::Conflate(Arc::clone(&slot)),
                Inbound::Conflate(slot),
            )
        } else {
            let (w, r) = ypipe::channel();
            (Outbound::Queue(w), Inbound::Queue(r))
        };
        self.inbound = Some(inbound);
        self.in_active = true;
        self.send_to_peer(PipeCommand::Hiccup(out, self.msgs_read));
    }

    /// Don't wait for the peer's delimiter when it terminates (the owner
    /// never reads from this pipe: PUSH, PUB).
    pub fn set_nodelay(&mut self) {
        self.delay = false;
    }

    /// Applies new HWM options (in: this socket's RCVHWM, out: SNDHWM).
    pub fn set_hwms(&mut self, inhwm: i32, outhwm: i32) {
        let mut inh = inhwm + self.in_hwm_boost.max(0);
        let mut out = outhwm + self.out_hwm_boost.max(0);
        if inhwm <= 0 || self.in_hwm_boost == 0 {
            inh = 0;
        }
        if outhwm <= 0 || self.out_hwm_boost == 0 {
            out = 0;
        }
        self.lwm = compute_lwm(inh);
        if self.lwm > 0 {
            let lwm = self.lwm as u64;
            self.credit_in = lwm - self.msgs_read % lwm;
        }
        self.hwm = out;
    }

    /// For inproc: the peer socket's own HWMs, added to ours.
    pub fn set_hwms_boost(&mut self, inboost: i32, outboost: i32) {
        self.in_hwm_boost = inboost;
        self.out_hwm_boost = outboost;
    }

    /// Tells the peer end our new HWM options.
    pub fn send_hwms_to_peer(&self, inhwm: i32, outhwm: i32) {
        self.send_to_peer(PipeCommand::Hwm(inhwm, outhwm));
    }

    /// Tells the peer end its HWMs once both sockets' options are known.
    pub fn send_boost_to_peer(&self, in_boost: i32, out_boost: i32, inhwm: i32, outhwm: i32) {
        self.send_to_peer(PipeCommand::Boost(in_boost, out_boost, inhwm, outhwm));
    }

    /// Asks the peer end to send `msg` to us when it disconnects.
    pub fn send_disconnect_msg_to_peer(&self, msg: Vec<u8>) {
        self.send_to_peer(PipeCommand::DisconnectMsg(Box::new(Message::from_vec(msg))));
    }

    /// The peer's routing id as known to a ROUTER.
    pub fn routing_id(&self) -> &[u8] {
        &self.routing_id
    }

    /// Records the peer's routing id.
    pub fn set_routing_id(&mut self, id: Vec<u8>) {
        self.routing_id = id;
    }

    /// The peer's numeric routing id (SERVER/PEER).
    pub fn server_routing_id(&self) -> u32 {
        self.server_routing_id
    }

    /// Records the peer's numeric routing id.
    pub fn set_server_routing_id(&mut self, id: u32) {
        self.server_routing_id = id;
    }

    /// The connection this pipe carries, if any.
    pub fn endpoint(&self) -> Option<&EndpointPair> {
        self.endpoint.as_ref()
    }

    /// Records the connection this pipe carries.
    pub fn set_endpoint(&mut self, ep: Option<EndpointPair>) {
        self.endpoint = ep;
    }

    /// Asks the peer end for its queue length (ZMQ_EVENT_PIPES_STATS).
    pub fn request_stats(&self) {
        self.send_to_peer(PipeCommand::StatsRequest(self.queued_out()));
    }

    /// Answers a stats request: our outbound queue length with theirs.
    pub fn reply_stats(&self, their_outbound: u64) {
        self.send_to_peer(PipeCommand::StatsReply(their_outbound, self.queued_out()));
    }

    /// The message to queue to the peer when this pipe is disconnected.
    pub fn set_disconnect_msg(&mut self, msg: Option<Message>) {
        self.disconnect_msg = msg;
    }

    /// Queues the disconnect message, if one was set (draft ZMQ_DISCONNECT_MSG).
    pub fn send_disconnect_msg(&mut self) {
        if let Some(m) = self.disconnect_msg.take() {
            if self.outbound.is_some() {
                self.rollback();
                self.write_unchecked(m);
                self.flush();
            }
        }
    }

    /// Writes a message regardless of HWM (routing-id and hello frames at
    /// attach time, as libzmq does), then flushes.
    pub fn write_forced(&mut self, msg: Message) {
        self.write_unchecked(msg);
        self.flush();
    }

    /// Messages written but not yet acknowledged as read by the peer.
    pub fn queued_out(&self) -> u64 {
        self.msgs_written - self.peers_msgs_read
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    /// A sink that records commands, standing in for a mailbox.
    type PipeId = u64;

    impl Pipe {
        /// In tests an end is known by its side (0 or 1).
        fn id(&self) -> PipeId {
            self.side as PipeId
        }
    }

    struct Recorder(Mutex<mpsc::Sender<(PipeId, PipeCommand)>>);
    impl PipeSink for Recorder {
        fn deliver(&self, key: u64, cmd: PipeCommand) {
            let _ = self.0.lock().send((key, cmd));
        }
    }

    fn pair(hwm: i32) -> (Pipe, Pipe, mpsc::Receiver<(PipeId, PipeCommand)>) {
        let (a, b) = pipepair([hwm, hwm], [false, false]);
        let (tx, rx) = mpsc::channel();
        let sink: Arc<dyn PipeSink> = Arc::new(Recorder(Mutex::new(tx)));
        assert!(a.attach(Arc::clone(&sink), a.id()).is_empty());
        assert!(b.attach(sink, b.id()).is_empty());
        (a, b, rx)
    }

    /// Delivers recorded commands to whichever end they address.
    fn pump(
        a: &mut Pipe,
        b: &mut Pipe,
        rx: &mpsc::Receiver<(PipeId, PipeCommand)>,
    ) -> Vec<(PipeId, PipeEvent)> {
        let mut events = Vec::new();
        while let Ok((target, cmd)) = rx.try_recv() {
            let end = if target == a.id() { &mut *a } else { &mut *b };
            if let Some(e) = end.process(cmd) {
                events.push((target, e));
            }
        }
        events
    }

    #[test]
    fn hwm_blocks_and_lwm_resumes() {
        let (mut a, mut b, rx) = pair(4);
        for i in 0..4u8 {
            a.write(Message::from_slice(&[i])).unwrap();
        }
        a.flush();
        assert!(a.write(Message::new()).is_err());
        assert!(!a.check_write());
        // Reading LWM (2) messages sends ActivateWrite.
        assert_eq!(b.read().unwrap()[0], 0);
        assert_eq!(b.read().unwrap()[0], 1);
        let ev = pump(&mut a, &mut b, &rx);
        assert_eq!(ev, vec![(a.id(), PipeEvent::WriteActivated)]);
        assert!(a.write(Message::new()).is_ok());
    }

    #[test]
    fn wakeup_once_per_batch() {
        let (mut a, mut b, rx) = pair(0);
        assert!(b.read().is_none()); // b goes to sleep
        for _ in 0..10 {
            a.write(Message::new()).unwrap();
        }
        a.flush();
        a.flush();
        let cmds: Vec<_> = rx.try_iter().collect();
        assert_eq!(cmds.len(), 1);
        assert!(matches!(cmds[0].1, PipeCommand::ActivateRead));
        assert!(matches!(
            b.process(PipeCommand::ActivateRead),
            Some(PipeEvent::ReadActivated)
        ));
        for _ in 0..10 {
            assert!(b.read().is_some());
        }
    }

    #[test]
    fn multipart_is_atomic_and_rolls_back() {
        let (mut a, mut b, rx) = pair(0);
        let mut m = Message::from_slice(b"1");
        m.set_more(true);
        a.write(m).unwrap();
        a.flush();
        assert!(b.read().is_none());
        a.rollback();
        a.write(Message::from_slice(b"2")).unwrap();
        a.flush();
        assert_eq!(
            pump(&mut a, &mut b, &rx),
            vec![(b.id(), PipeEvent::ReadActivated)]
        );
        assert_eq!(&b.read().unwrap()[..], b"2");
    }

    #[test]
    fn termination_delivers_pending_messages_first() {
        let (mut a, mut b, rx) = pair(0);
        a.write(Message::from_slice(b"last")).unwrap();
        a.flush();
        a.terminate(false);
        assert!(pump(&mut a, &mut b, &rx).is_empty());
        // b waits for the delimiter; reading drains the message first.
        assert_eq!(&b.read().unwrap()[..], b"last");
        assert!(b.read().is_none()); // delimiter: b acknowledges
        let ev = pump(&mut a, &mut b, &rx);
        assert!(ev.contains(&(a.id(), PipeEvent::Terminated)));
        assert!(ev.contains(&(b.id(), PipeEvent::Terminated)));
    }

    #[test]
    fn simultaneous_termination() {
        let (mut a, mut b, rx) = pair(0);
        a.terminate(false);
        b.terminate(false);
        let ev = pump(&mut a, &mut b, &rx);
        assert_eq!(ev.len(), 2);
    }

    #[test]
    fn pending_owner_keeps_commands() {
        let (mut a, b) = pipepair([0, 0], [false, false]);
        let (tx, _rx) = mpsc::channel();
        a.attach(Arc::new(Recorder(Mutex::new(tx))), 0);
        a.write(Message::new()).unwrap();
        a.terminate(false);
        let (tx2, _rx2) = mpsc::channel();
        let queued = b.attach(Arc::new(Recorder(Mutex::new(tx2))), 1);
        assert_eq!(queued.len(), 1);
        assert!(matches!(queued[0], PipeCommand::PipeTerm));
    }
}
