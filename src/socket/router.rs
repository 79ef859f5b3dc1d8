//! ROUTER (RFC 28): every incoming message is prefixed with the routing id
//! of the peer it came from; the first frame of an outgoing message names
//! the peer it goes to (libzmq src/router.cpp).
//!
//! Peers announce their routing id when they attach (or get a generated
//! 5-byte one starting with a zero byte). Options: ROUTER_MANDATORY (unknown
//! or full peers are errors instead of silent drops), ROUTER_HANDOVER (a new
//! peer with a taken id takes it over), PROBE_ROUTER, ROUTER_RAW and
//! CONNECT_ROUTING_ID. REP is built on it.

use std::collections::{HashMap, HashSet};

use super::fq::FairQueue;
use super::pipes::{PipeIdx, Pipes};
use super::{Pattern, SendFail};
use crate::constants::*;
use crate::error::{Error, Result};
use crate::msg::Message;
use crate::options::{as_int, OptVal, Options};

struct OutPipe {
    pipe: PipeIdx,
    active: bool,
}

pub(crate) struct Router {
    fq: FairQueue,
    out_pipes: HashMap<Vec<u8>, OutPipe>,
    anonymous: HashSet<PipeIdx>,
    prefetched: bool,
    routing_id_sent: bool,
    prefetched_id: Option<Message>,
    prefetched_msg: Option<Message>,
    current_in: Option<PipeIdx>,
    terminate_current_in: bool,
    more_in: bool,
    current_out: Option<PipeIdx>,
    more_out: bool,
    next_integral_id: u32,
    mandatory: bool,
    raw_socket: bool,
    /// libzmq's options.raw_socket: set when ROUTER_RAW is enabled, never cleared.
    options_raw: bool,
    probe_router: bool,
    handover: bool,
    connect_routing_id: Vec<u8>,
}

impl Router {
    pub fn new() -> Router {
        Router {
            fq: FairQueue::default(),
            out_pipes: HashMap::new(),
            anonymous: HashSet::new(),
            prefetched: false,
            routing_id_sent: false,
            prefetched_id: None,
            prefetched_msg: None,
            current_in: None,
            terminate_current_in: false,
            more_in: false,
            current_out: None,
            more_out: false,
            next_integral_id: crate::util::random_u32(),
            mandatory: false,
            raw_socket: false,
            options_raw: false,
            probe_router: false,
            handover: false,
            connect_routing_id: Vec::new(),
        }
    }

    fn integral_id(&mut self) -> Vec<u8> {
        let mut id = vec![0u8; 5];
        id[1..].copy_from_slice(&self.next_integral_id.to_be_bytes());
        self.next_integral_id = self.next_integral_id.wrapping_add(1);
        id
    }

    /// Works out the peer's routing id; `false` if it has not sent one yet
    /// (or its id is taken and handover is off).
    fn identify_peer(&mut self, pipes: &mut Pipes, p: PipeIdx, locally_initiated: bool) -> bool {
        let routing_id = if locally_initiated && !self.connect_routing_id.is_empty() {
            std::mem::take(&mut self.connect_routing_id)
        } else if self.options_raw {
            self.integral_id()
        } else {
            let Some(msg) = pipes.get(p).read() else {
                return false;
            };
            if msg.is_empty() {
                self.integral_id()
            } else {
                let id = msg.as_slice().to_vec();
                if let Some(existing) = self.out_pipes.get(&id).map(|o| o.pipe) {
                    if !self.handover {
                        return false;
                    }
                    // The new peer takes the id over; the old one gets a
                    // generated id and is disconnected.
                    let new_id = self.integral_id();
                    self.out_pipes.remove(&id);
                    pipes.get(existing).set_routing_id(new_id.clone());
                    self.out_pipes.insert(
                        new_id,
                        OutPipe {
                            pipe: existing,
                            active: true,
                        },
                    );
                    if self.current_in == Some(existing) {
                        self.terminate_current_in = true;
                    } else {
                        pipes.get(existing).terminate(true);
                    }
                }
                id
            }
        };
        pipes.get(p).set_routing_id(routing_id.clone());
        self.out_pipes.insert(
            routing_id,
            OutPipe {
                pipe: p,
                active: true,
            },
        );
        true
    }

    /// Drops a partly sent outgoing message (REP uses this for bad requests).
    pub fn rollback(&mut self, pipes: &mut Pipes) {
        if let Some(p) = self.current_out.take() {
            pipes.get(p).rollback();
        }
        // Also when the message had no pipe (its peer left): the next frame
        // starts a new message, with its routing id.
        self.more_out = false;
    }

    fn end_of_incoming(&mut self, pipes: &mut Pipes) {
        if self.terminate_current_in {
            if let Some(p) = self.current_in {
                pipes.get(p).terminate(true);
            }
            self.terminate_current_in = false;
        }
        self.current_in = None;
    }

    fn id_frame(pipes: &mut Pipes, p: PipeIdx, body: &Message) -> Message {
        let mut id = Message::from_slice(pipes.peek(p).routing_id());
        id.set_more(true);
        id.set_metadata(body.metadata().cloned());
        id
    }

    /// The next frame from a peer, skipping routing-id announcements.
    fn recv_data(&mut self, pipes: &mut Pipes) -> Option<(Message, PipeIdx)> {
        loop {
            let (m, p) = self.fq.recvpipe(pipes)?;
            if !m.is_routing_id() {
                return Some((m, p));
            }
        }
    }
}

impl Pattern for Router {
    fn attach(
        &mut self,
        pipes: &mut Pipes,
        _opts: &mut Options,
        p: PipeIdx,
        locally_initiated: bool,
    ) {
        if self.probe_router {
            let _ = pipes.get(p).write(Message::new());
            pipes.get(p).flush();
        }
        if self.identify_peer(pipes, p, locally_initiated) {
            self.fq.attach(p);
        } else {
            self.anonymous.insert(p);
        }
    }

    fn setsockopt(
        &mut self,
        _pipes: &mut Pipes,
        opts: &mut Options,
        option: i32,
        v: OptVal<'_>,
    ) -> Option<Result<()>> {
        let int = as_int(v);
        match (option, int) {
            (ZMQ_ROUTER_RAW, Some(x)) if x >= 0 => {
                self.raw_socket = x != 0;
                if self.raw_socket {
                    opts.recv_routing_id = false;
                    opts.raw_socket = true;
                    self.options_raw = true;
                }
            }
            (ZMQ_ROUTER_MANDATORY, Some(x)) if x >= 0 => self.mandatory = x != 0,
            (ZMQ_PROBE_ROUTER, Some(x)) if x >= 0 => self.probe_router = x != 0,
            (ZMQ_ROUTER_HANDOVER, Some(x)) if x >= 0 => self.handover = x != 0,
            (ZMQ_ROUTER_NOTIFY, Some(x))
                if (0..=(ZMQ_NOTIFY_CONNECT | ZMQ_NOTIFY_DISCONNECT)).contains(&x) =>
            {
                opts.router_notify = x;
            }
            (ZMQ_CONNECT_ROUTING_ID, _) => match v {
                Some(b) if !b.is_empty() => self.connect_routing_id = b.to_vec(),
                _ => return None,
            },
            _ => return None,
        }
        Some(Ok(()))
    }

    fn pipe_terminated(&mut self, pipes: &mut Pipes, p: PipeIdx) {
        if !self.anonymous.remove(&p) {
            let id = pipes.peek(p).routing_id().to_vec();
            if self.out_pipes.get(&id).is_some_and(|o| o.pipe == p) {
                self.out_pipes.remove(&id);
            }
            self.fq.pipe_terminated(p);
            pipes.get(p).rollback();
            if self.current_out == Some(p) {
                self.current_out = None;
            }
        }
        if self.current_in == Some(p) {
            self.current_in = None;
        }
    }

    fn read_activated(&mut self, pipes: &mut Pipes, p: PipeIdx) {
        if !self.anonymous.contains(&p) {
            self.fq.activated(p);
        } else if self.identify_peer(pipes, p, false) {
            self.anonymous.remove(&p);
            self.fq.attach(p);
        }
    }

    fn write_activated(&mut self, pipes: &mut Pipes, p: PipeIdx) {
        let id = pipes.peek(p).routing_id();
        if let Some(o) = self.out_pipes.get_mut(id) {
            if o.pipe == p {
                o.active = true;
            }
        }
    }

    fn send(
        &mut self,
        pipes: &mut Pipes,
        _opts: &Options,
        mut msg: Message,
    ) -> std::result::Result<(), SendFail> {
        if !self.more_out {
            // The routing-id frame: pick the pipe.
            if msg.more() {
                self.more_out = true;
                if let Some(out) = self.out_pipes.get_mut(msg.as_slice()) {
                    let p = out.pipe;
                    self.current_out = Some(p);
                    if !pipes.get(p).check_write() {
                        let full = !pipes.peek(p).check_hwm();
                        out.active = false;
                        self.current_out = None;
                        if self.mandatory {
                            self.more_out = false;
                            let e = if full {
                                Error::EAGAIN
                            } else {
                                Error::EHOSTUNREACH
                            };
                            return Err(if e == Error::EAGAIN {
                                SendFail::Again(msg)
                            } else {
                                SendFail::Fail(e, msg)
                            });
                        }
                    }
                } else if self.mandatory {
                    self.more_out = false;
                    return Err(SendFail::Fail(Error::EHOSTUNREACH, msg));
                }
            }
            return Ok(());
        }
        if self.options_raw {
            msg.set_more(false);
        }
        self.more_out = msg.more();
        if let Some(p) = self.current_out {
            if self.raw_socket && msg.is_empty() {
                // An empty frame on a raw router closes the connection.
                pipes.get(p).terminate(false);
                self.current_out = None;
                return Ok(());
            }
            let more = self.more_out;
            match pipes.get(p).write(msg) {
                Ok(()) => {
                    if !more {
                        pipes.get(p).flush();
                        self.current_out = None;
                    }
                }
                Err(_dropped) => {
                    if !pipes.peek(p).check_hwm() {
                        crate::diag::hwm_drop(pipes.peek(p).endpoint());
                    }
                    pipes.get(p).rollback();
                    self.current_out = None;
                }
            }
        }
        Ok(())
    }

    fn recv(&mut self, pipes: &mut Pipes, _opts: &Options) -> Result<Message> {
        if self.prefetched {
            let m = if !self.routing_id_sent {
                self.routing_id_sent = true;
                self.prefetched_id.take().unwrap_or_default()
            } else {
                self.prefetched = false;
                self.prefetched_msg.take().unwrap_or_default()
            };
            self.more_in = m.more();
            if !self.more_in {
                self.end_of_incoming(pipes);
            }
            return Ok(m);
        }
        let (m, p) = self.recv_data(pipes).ok_or(Error::EAGAIN)?;
        if self.more_in {
            self.more_in = m.more();
            if !self.more_in {
                self.end_of_incoming(pipes);
            }
            Ok(m)
        } else {
            // First frame of a message: hand out the routing id first.
            let id = Self::id_frame(pipes, p, &m);
            self.prefetched_msg = Some(m);
            self.prefetched = true;
            self.current_in = Some(p);
            self.routing_id_sent = true;
            Ok(id)
        }
    }

    fn has_in(&mut self, pipes: &mut Pipes, _opts: &Options) -> bool {
        if self.more_in || self.prefetched {
            return true;
        }
        let Some((m, p)) = self.recv_data(pipes) else {
            return false;
        };
        self.prefetched_id = Some(Self::id_frame(pipes, p, &m));
        self.prefetched_msg = Some(m);
        self.prefetched = true;
        self.routing_id_sent = false;
        self.current_in = Some(p);
        true
    }

    fn peer_state(&mut self, pipes: &mut Pipes, routing_id: &[u8]) -> Result<i32> {
        let out = self.out_pipes.get(routing_id).ok_or(Error::EHOSTUNREACH)?;
        Ok(if pipes.peek(out.pipe).check_hwm() {
            ZMQ_POLLOUT
        } else {
            0
        })
    }

    fn has_out(&mut self, pipes: &mut Pipes, _opts: &Options) -> bool {
        if !self.mandatory {
            return true;
        }
        self.out_pipes
            .values()
            .any(|o| pipes.peek(o.pipe).check_hwm())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::Harness;
    use super::*;
    use crate::msg::flags;

    fn frame(s: &[u8], more: bool) -> Message {
        let mut m = Message::from_slice(s);
        m.set_more(more);
        m
    }

    /// A peer that announces `id` as its routing id (an empty id asks the
    /// ROUTER to make one up).
    fn peer(h: &mut Harness<Router>, id: &[u8]) -> PipeIdx {
        let id = id.to_vec();
        h.add_pipe_with(
            0,
            move |far| {
                let mut m = Message::from_slice(&id);
                m.set_flags(flags::ROUTING_ID);
                let _ = far.write(m);
                far.flush();
            },
            |p, pipes, opts, idx| p.attach(pipes, opts, idx, false),
        )
    }

    fn recv(h: &mut Harness<Router>) -> Result<Vec<Vec<u8>>> {
        let mut parts = Vec::new();
        loop {
            let m = h.pattern.recv(&mut h.pipes, &h.opts)?;
            let more = m.more();
            parts.push(m.to_vec());
            if !more {
                return Ok(parts);
            }
        }
    }

    fn send(h: &mut Harness<Router>, parts: &[&[u8]]) -> std::result::Result<(), SendFail> {
        for (i, p) in parts.iter().enumerate() {
            h.pattern
                .send(&mut h.pipes, &h.opts, frame(p, i + 1 < parts.len()))?;
        }
        Ok(())
    }

    #[test]
    fn messages_carry_their_peers_routing_id() {
        let mut h = Harness::new(Router::new());
        let a = peer(&mut h, b"A");
        let b = peer(&mut h, b"B");
        h.push_from(a, vec![frame(b"from a", false)]);
        h.push_from(b, vec![frame(b"from b", false)]);
        assert_eq!(
            recv(&mut h).unwrap(),
            vec![b"A".to_vec(), b"from a".to_vec()]
        );
        assert_eq!(
            recv(&mut h).unwrap(),
            vec![b"B".to_vec(), b"from b".to_vec()]
        );
        assert_eq!(recv(&mut h), Err(Error::EAGAIN));
    }

    #[test]
    fn replies_go_to_the_peer_they_name() {
        let mut h = Harness::new(Router::new());
        let a = peer(&mut h, b"A");
        let b = peer(&mut h, b"B");
        assert!(send(&mut h, &[b"B", b"for b"]).is_ok());
        assert!(send(&mut h, &[b"A", b"x", b"for a"]).is_ok());
        let texts = |ms: Vec<Message>| ms.iter().map(|m| m.to_vec()).collect::<Vec<_>>();
        assert_eq!(texts(h.drain_far(b)), vec![b"for b".to_vec()]);
        assert_eq!(
            texts(h.drain_far(a)),
            vec![b"x".to_vec(), b"for a".to_vec()]
        );
    }

    #[test]
    fn unknown_peers_are_dropped_or_refused_when_mandatory() {
        let mut h = Harness::new(Router::new());
        let a = peer(&mut h, b"A");
        assert!(send(&mut h, &[b"nobody", b"lost"]).is_ok());
        assert!(h.drain_far(a).is_empty());
        h.pattern.mandatory = true;
        match send(&mut h, &[b"nobody", b"lost"]) {
            Err(SendFail::Fail(e, _)) => assert_eq!(e, Error::EHOSTUNREACH),
            _ => panic!("expected EHOSTUNREACH"),
        }
    }

    #[test]
    fn anonymous_peers_get_generated_ids_and_duplicates_wait() {
        let mut h = Harness::new(Router::new());
        let anon = peer(&mut h, b"");
        h.push_from(anon, vec![frame(b"hi", false)]);
        let parts = recv(&mut h).unwrap();
        assert_eq!(parts[0].len(), 5);
        assert_eq!(parts[0][0], 0);
        // A second peer claiming a taken id is not routed to (no handover).
        let first = peer(&mut h, b"X");
        let second = peer(&mut h, b"X");
        assert!(send(&mut h, &[b"X", b"to x"]).is_ok());
        assert_eq!(h.drain_far(first).len(), 1);
        assert!(h.drain_far(second).is_empty());
    }
}
