//! The inproc endpoints of one context (libzmq's endpoint registry in
//! ctx.cpp, and its connect_inproc_sockets): which socket bound which
//! `inproc://` name, the connects that came before their bind, and the one
//! way of joining two sockets by a pipe, used by `zmq_connect` and by a
//! session reaching the ZAP handler alike.
//!
//! Shared (`Arc`) by the context, its sockets and its I/O threads; the state
//! sits behind one lock, taken briefly and never while calling out.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::command::{SocketCommand, SocketShared};
use crate::error::{Error, Result};
use crate::msg::{flags, Message};
use crate::options::Options;
use crate::pipe::{pipepair, Pipe, PipeCommand, PipeEvent, PipeSink};
use crate::util::sync::Mutex;

/// A socket that bound an inproc endpoint, as connecters see it.
#[derive(Clone)]
pub(crate) struct InprocEndpoint {
    pub socket: Arc<SocketShared>,
    /// The binder's options when it bound (HWMs, routing id).
    pub options: Options,
}

/// An inproc connect that happened before the bind.
pub(crate) struct PendingConnection {
    /// The end that the binder will own.
    pub bind_pipe: Pipe,
    pub connecter_options: Options,
}

#[derive(Default)]
struct Inner {
    endpoints: HashMap<String, InprocEndpoint>,
    pending: Vec<(String, PendingConnection)>,
    /// The context is terminating and has abandoned the parked connects:
    /// a connect parked from now on is abandoned at once. (A socket may
    /// connect after `abandon_pending` ran and before it sees the context's
    /// Stop; parking that connect left its pipe waiting forever for a
    /// termination acknowledgement, and `zmq_ctx_term` with it.)
    abandoned: bool,
}

/// The registry.
#[derive(Default)]
pub(crate) struct Registry {
    inner: Mutex<Inner>,
}

/// Whether a connect may wait for a bind that has not happened yet.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum IfUnbound {
    /// Park the connection until the bind (`zmq_connect`).
    Pend,
    /// Fail with ECONNREFUSED (the ZAP handler must be there already).
    Refuse,
}

impl Registry {
    /// Registers an endpoint; returns the connections that were waiting
    /// for it. EADDRINUSE if it is taken.
    pub fn register(&self, name: &str, ep: InprocEndpoint) -> Result<Vec<PendingConnection>> {
        let mut inner = self.inner.lock();
        if inner.endpoints.contains_key(name) {
            return Err(Error::EADDRINUSE);
        }
        inner.endpoints.insert(name.to_owned(), ep);
        let mut waiting = Vec::new();
        let mut i = 0;
        while i < inner.pending.len() {
            if inner.pending[i].0 == name {
                waiting.push(inner.pending.remove(i).1);
            } else {
                i += 1;
            }
        }
        Ok(waiting)
    }

    /// Removes an endpoint if socket `socket_id` bound it.
    pub fn unregister(&self, name: &str, socket_id: u32) -> bool {
        let mut inner = self.inner.lock();
        match inner.endpoints.get(name) {
            Some(ep) if ep.socket.id == socket_id => {
                inner.endpoints.remove(name);
                true
            }
            _ => false,
        }
    }

    /// Removes every endpoint socket `socket_id` bound.
    pub fn unregister_all(&self, socket_id: u32) {
        self.inner
            .lock()
            .endpoints
            .retain(|_, ep| ep.socket.id != socket_id);
    }

    /// Whether a socket is bound to an endpoint.
    pub fn has(&self, name: &str) -> bool {
        self.inner.lock().endpoints.contains_key(name)
    }

    /// The socket bound to an endpoint, for a connect: the caller must send
    /// it a `Bind` command. The binder's count of binds in flight goes up
    /// under the registry lock, as libzmq's find_endpoint does: a binder
    /// that is closing unregisters under the same lock, so it either is not
    /// found or waits for this bind before it may be destroyed. (Counting
    /// after the lock was released let the reaper destroy the binder in
    /// between, and the connecter's pipe then waited forever for a peer that
    /// would never acknowledge its termination.)
    fn find(&self, name: &str) -> Option<InprocEndpoint> {
        let inner = self.inner.lock();
        let ep = inner.endpoints.get(name)?;
        ep.socket.sent_seqnum.fetch_add(1, Ordering::AcqRel);
        Some(ep.clone())
    }

    /// Parks a connect until the endpoint is bound (or, once the context
    /// abandoned its parked connects, abandons it at once). Fails (handing
    /// the connection back) if it was bound in the meantime.
    fn pend(
        &self,
        name: &str,
        pc: PendingConnection,
    ) -> std::result::Result<(), Box<PendingConnection>> {
        let mut inner = self.inner.lock();
        if inner.endpoints.contains_key(name) {
            return Err(Box::new(pc));
        }
        if inner.abandoned {
            drop(inner);
            Orphan::terminate(pc.bind_pipe);
            return Ok(());
        }
        inner.pending.push((name.to_owned(), pc));
        Ok(())
    }

    /// Ends the connects that never met a bind (context termination): each
    /// parked pipe end is terminated without a socket to own it, so that
    /// the connecters' ends finish their termination handshake.
    pub fn abandon_pending(&self) {
        let pending = {
            let mut inner = self.inner.lock();
            inner.abandoned = true;
            std::mem::take(&mut inner.pending)
        };
        for (_, pc) in pending {
            Orphan::terminate(pc.bind_pipe);
        }
    }
}

/// The frame that announces `o`'s routing id to a peer that wants it.
pub(crate) fn routing_id_msg(o: &Options) -> Message {
    let mut m = Message::from_slice(&o.routing_id);
    m.set_flags(flags::ROUTING_ID);
    m
}

/// HWM `a` plus the peer's `b` (both sockets' queues count for inproc),
/// unless either is unlimited.
fn sum_hwm(a: i32, b: i32) -> i32 {
    if a != 0 && b != 0 {
        a + b
    } else {
        0
    }
}

/// Connects a socket with options `o` to the inproc endpoint `name`: a
/// pipe to the binder (announced to it with a `Bind` command), or one
/// parked until the bind. Returns the connecter's end, to attach. ECONNREFUSED
/// if nobody is bound and `unbound` says not to wait.
pub(crate) fn connect(
    registry: &Registry,
    name: &str,
    o: &Options,
    unbound: IfUnbound,
) -> Result<Pipe> {
    // The peer may bind between our lookup and our registration of a
    // pending connection; then we start over and connect directly.
    loop {
        let peer = registry.find(name);
        let (sndhwm, rcvhwm) = match &peer {
            None => (o.sndhwm, o.rcvhwm),
            Some(p) => (
                sum_hwm(o.sndhwm, p.options.rcvhwm),
                sum_hwm(o.rcvhwm, p.options.sndhwm),
            ),
        };
        let conflate = o.conflate_applies();
        let hwms = if conflate { [-1, -1] } else { [sndhwm, rcvhwm] };
        let (mut ours, mut theirs) = pipepair(hwms, [conflate, conflate]);
        let hello = o.can_send_hello_msg && !o.hello_msg.is_empty();
        let Some(peer) = peer else {
            if unbound == IfUnbound::Refuse {
                return Err(Error::ECONNREFUSED);
            }
            ours.write_forced(routing_id_msg(o));
            if hello {
                ours.write_forced(Message::from_slice(&o.hello_msg));
            }
            let pending = PendingConnection {
                bind_pipe: theirs,
                connecter_options: o.clone(),
            };
            match registry.pend(name, pending) {
                Ok(()) => return Ok(ours),
                Err(_) => continue,
            }
        };
        if !conflate {
            ours.set_hwms_boost(peer.options.sndhwm, peer.options.rcvhwm);
            theirs.set_hwms_boost(o.sndhwm, o.rcvhwm);
        }
        if peer.options.recv_routing_id {
            ours.write_forced(routing_id_msg(o));
        }
        if o.recv_routing_id {
            theirs.write_forced(routing_id_msg(&peer.options));
        }
        if hello {
            ours.write_forced(Message::from_slice(&o.hello_msg));
        }
        if peer.options.can_send_hello_msg && !peer.options.hello_msg.is_empty() {
            theirs.write_forced(Message::from_slice(&peer.options.hello_msg));
        }
        if peer.options.can_recv_disconnect_msg && !peer.options.disconnect_msg.is_empty() {
            ours.set_disconnect_msg(Some(Message::from_slice(&peer.options.disconnect_msg)));
        }
        peer.socket
            .mailbox
            .send(SocketCommand::Bind(Box::new(theirs)));
        return Ok(ours);
    }
}

/// A connection made before the bind, made ready for the binder (options
/// `o`) to attach: its end of the pipe, and the frames to write into it
/// once attached.
pub(crate) fn accept_pending(p: PendingConnection, o: &Options) -> (Pipe, Vec<Message>) {
    let PendingConnection {
        mut bind_pipe,
        connecter_options,
    } = p;
    if !o.recv_routing_id {
        // The connecter always sends its routing id first; we don't want it.
        let _ = bind_pipe.read();
    }
    if !connecter_options.conflate_applies() {
        bind_pipe.set_hwms_boost(connecter_options.sndhwm, connecter_options.rcvhwm);
        bind_pipe.set_hwms(o.rcvhwm, o.sndhwm);
        bind_pipe.send_boost_to_peer(
            o.sndhwm,
            o.rcvhwm,
            connecter_options.rcvhwm,
            connecter_options.sndhwm,
        );
    } else {
        bind_pipe.set_hwms(-1, -1);
        bind_pipe.send_boost_to_peer(-1, -1, -1, -1);
    }
    if o.can_recv_disconnect_msg && !o.disconnect_msg.is_empty() {
        // libzmq sets it on the connecter's end; we ask that end to do so.
        bind_pipe.send_disconnect_msg_to_peer(o.disconnect_msg.clone());
    }
    let mut frames = Vec::new();
    if connecter_options.recv_routing_id {
        frames.push(routing_id_msg(o));
    }
    if o.can_send_hello_msg && !o.hello_msg.is_empty() {
        frames.push(Message::from_slice(&o.hello_msg));
    }
    (bind_pipe, frames)
}

/// A pipe end that no thread owns: it processes its commands as they are
/// delivered, on the sender's thread, until its termination handshake is
/// over.
struct Orphan {
    state: Mutex<OrphanState>,
}

enum OrphanState {
    /// Not stored yet: commands delivered meanwhile are kept.
    Waiting(Vec<PipeCommand>),
    Live(Box<Pipe>),
    /// Terminated; the end is dropped, which breaks the
    /// Orphan -> Pipe -> link -> Orphan reference cycle.
    Done,
}

impl Orphan {
    /// Terminates `pipe` (a parked connect's binder end) with no owner.
    fn terminate(pipe: Pipe) {
        let orphan = Arc::new(Orphan {
            state: Mutex::new(OrphanState::Waiting(Vec::new())),
        });
        // Attach outside the lock: a peer delivering a command holds the
        // pipe's owner lock and then takes ours.
        let queued = pipe.attach(orphan.clone(), 0);
        let mut state = orphan.state.lock();
        let early = match std::mem::replace(&mut *state, OrphanState::Live(Box::new(pipe))) {
            OrphanState::Waiting(cmds) => cmds,
            _ => Vec::new(),
        };
        for cmd in queued.into_iter().chain(early) {
            Self::process(&mut state, cmd);
        }
        if let OrphanState::Live(p) = &mut *state {
            p.terminate(false);
        }
    }

    fn process(state: &mut OrphanState, cmd: PipeCommand) {
        match state {
            OrphanState::Waiting(cmds) => cmds.push(cmd),
            OrphanState::Live(p) => {
                if p.process(cmd) == Some(PipeEvent::Terminated) {
                    *state = OrphanState::Done;
                }
            }
            OrphanState::Done => {}
        }
    }
}

impl PipeSink for Orphan {
    fn deliver(&self, _key: u64, cmd: PipeCommand) {
        Self::process(&mut self.state.lock(), cmd);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records what is delivered to the connecter's end.
    #[derive(Default)]
    struct Inbox(Mutex<Vec<PipeCommand>>);

    impl PipeSink for Inbox {
        fn deliver(&self, _key: u64, cmd: PipeCommand) {
            self.0.lock().push(cmd);
        }
    }

    fn terminations(cmds: &[PipeCommand]) -> usize {
        cmds.iter()
            .filter(|c| matches!(c, PipeCommand::PipeTerm))
            .count()
    }

    #[test]
    fn a_connect_parked_before_termination_is_abandoned_by_it() {
        let reg = Registry::default();
        let ours = connect(&reg, "nobody", &Options::default(), IfUnbound::Pend).unwrap();
        let inbox = Arc::new(Inbox::default());
        assert_eq!(terminations(&ours.attach(inbox.clone(), 0)), 0);
        reg.abandon_pending();
        assert_eq!(terminations(&inbox.0.lock()), 1);
    }

    /// The storm of tests/stress (ctx-storm) hung zmq_ctx_term: a socket
    /// connected to an unbound name after the context had abandoned the
    /// parked connects and before the socket saw Stop; its connect stayed
    /// parked and its pipe never finished terminating.
    #[test]
    fn a_connect_parked_after_termination_began_is_abandoned_at_once() {
        let reg = Registry::default();
        reg.abandon_pending();
        let ours = connect(&reg, "nobody", &Options::default(), IfUnbound::Pend).unwrap();
        let inbox = Arc::new(Inbox::default());
        let queued = ours.attach(inbox.clone(), 0);
        assert_eq!(terminations(&queued) + terminations(&inbox.0.lock()), 1);
        assert!(reg.inner.lock().pending.is_empty());
    }
}
