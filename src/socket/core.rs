//! The socket core's life: creation, the commands other threads send it
//! (pipe events, inproc binds, the context's stop), sending and receiving
//! (libzmq socket_base_t::send/recv), and termination after `zmq_close`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::pattern::make_pattern;
use super::pipes::{PipeIdx, Pipes};
use super::wait::{deadline, wait_until, Wait};
use super::*;
use crate::command::{SocketCommand, SocketShared};
use crate::constants::*;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::io::IoCommand;
use crate::mailbox::Mailbox;
use crate::monitor::Monitor;
use crate::msg::{flags, Message};
use crate::options::Options;
use crate::pipe::{Pipe, PipeEvent, PipeSink};

/// How many receives may pass without a look at the mailbox while messages
/// keep arriving (libzmq's inbound_poll_rate).
const INBOUND_POLL_RATE: u32 = 100;

impl SocketCore {
    /// A new socket of `socket_type` registered in `ctx` under `id`.
    pub(crate) fn new(
        ctx: Arc<Ctx>,
        socket_type: i32,
        id: u32,
        mut options: Options,
    ) -> Result<SocketCore> {
        let pattern = make_pattern(socket_type, &mut options)?;
        // Several threads may block on a thread-safe socket at once: its
        // mailbox also wakes them all (see mailbox.rs).
        let mailbox = if is_thread_safe(socket_type) {
            Mailbox::with_fd_and_waiters()
        } else {
            Mailbox::with_fd()
        }
        .map_err(|e| Error::from_io(&e))?;
        let shared = Arc::new(SocketShared {
            mailbox,
            sent_seqnum: AtomicU64::new(0),
            id,
            disconnected: std::sync::atomic::AtomicBool::new(false),
        });
        Ok(SocketCore {
            ctx,
            shared,
            options,
            pattern,
            pipes: Pipes::default(),
            rcvmore: false,
            ctx_terminated: false,
            idle: true,
            send_cmd_tick: 0,
            recv_ticks: 0,
            gather: 0,
            last_endpoint: String::new(),
            last_attached: None,
            udp_attach: false,
            inprocs: Vec::new(),
            terminating: false,
            term_acks: 0,
            processed_seqnum: 0,
            monitor: Arc::new(Monitor::default()),
            endpoints: Vec::new(),
            awaiting: HashSet::new(),
            feed: None,
            feed_held: Default::default(),
            feed_mid: false,
            feed_dropping: false,
            feed_ended: false,
        })
    }

    pub(crate) fn shared(&self) -> &Arc<SocketShared> {
        &self.shared
    }

    /// The socket's id within its context.
    pub(crate) fn id(&self) -> u32 {
        self.shared.id
    }

    /// The file descriptor that signals pending commands (ZMQ_FD).
    pub(crate) fn fd(&self) -> std::os::fd::RawFd {
        self.shared.mailbox.fd().unwrap_or(-1)
    }

    pub(super) fn process_command(&mut self, cmd: SocketCommand) {
        match cmd {
            SocketCommand::Pipe(monitor::FEED_KEY, pcmd) => self.feed_command(pcmd),
            SocketCommand::Pipe(key, pcmd) => {
                if let Some(idx) = self.pipes.by_key(key) {
                    if let Some(ev) = self.pipes.get(idx).process(pcmd) {
                        self.pipe_event(idx, ev);
                    }
                }
            }
            SocketCommand::Bind(pipe) => {
                let pipe = *pipe;
                self.processed_seqnum += 1;
                let ep = pipe.endpoint().map(|p| p.identifier().to_owned());
                let idx = self.attach_pipe(pipe, false);
                if let Some(ep) = ep {
                    if let Some(e) = self
                        .endpoints
                        .iter_mut()
                        .find(|e| e.uri == ep && e.pipe.is_none())
                    {
                        e.pipe = Some(idx);
                    }
                }
            }
            SocketCommand::ChildGone(id) => {
                self.awaiting.remove(&id);
                self.endpoints.retain(|e| e.child != id);
            }
            SocketCommand::TermEndpoint(uri) => {
                let _ = self.term_endpoint_inner(&uri);
            }
            SocketCommand::Launched => {}
            SocketCommand::Stop => {
                self.monitor.stop(true);
                self.ctx_terminated = true;
            }
        }
    }

    pub(super) fn pipe_event(&mut self, idx: PipeIdx, ev: PipeEvent) {
        match ev {
            PipeEvent::ReadActivated => self.pattern.read_activated(&mut self.pipes, idx),
            PipeEvent::WriteActivated => self.pattern.write_activated(&mut self.pipes, idx),
            PipeEvent::StatsRequested(theirs) => self.pipes.get(idx).reply_stats(theirs),
            PipeEvent::Stats(outbound, inbound) => {
                let pair = self.pipes.peek(idx).endpoint().cloned().unwrap_or_default();
                self.monitor.event_values(
                    ZMQ_EVENT_PIPES_STATS as u64,
                    &[outbound, inbound],
                    &pair,
                );
            }
            PipeEvent::Hiccuped => {
                if self.options.immediate == 1 {
                    self.pipes.get(idx).terminate(false);
                } else {
                    self.pattern.hiccuped(&mut self.pipes, idx);
                }
            }
            PipeEvent::Terminated => self.pipe_terminated(idx),
        }
    }

    /// Takes ownership of a pipe end and hands it to the socket type.
    pub(crate) fn attach_pipe(&mut self, pipe: Pipe, locally_initiated: bool) -> PipeIdx {
        let (idx, key) = self.pipes.insert(pipe);
        self.last_attached = Some(idx);
        let sink: Arc<dyn PipeSink> = self.shared.clone();
        let queued = self.pipes.get(idx).attach(sink, key);
        if self.udp_attach {
            self.pattern
                .attach_subscribe_all(&mut self.pipes, &mut self.options, idx);
        } else {
            self.pattern
                .attach(&mut self.pipes, &mut self.options, idx, locally_initiated);
        }
        for cmd in queued {
            if self.pipes.by_key(key).is_none() {
                break;
            }
            if let Some(ev) = self.pipes.get(idx).process(cmd) {
                self.pipe_event(idx, ev);
            }
        }
        if self.terminating && self.pipes.by_key(key).is_some() {
            self.term_acks += 1;
            self.pipes.get(idx).terminate(false);
        }
        idx
    }

    pub(super) fn pipe_terminated(&mut self, idx: PipeIdx) {
        self.pattern.pipe_terminated(&mut self.pipes, idx);
        self.inprocs.retain(|(_, p)| *p != idx);
        for e in self.endpoints.iter_mut() {
            if e.pipe == Some(idx) {
                e.pipe = None;
            }
        }
        self.pipes.remove(idx);
        if self.terminating {
            self.term_acks = self.term_acks.saturating_sub(1);
        }
    }

    /// `zmq_join`.
    pub(crate) fn join(&mut self, group: &[u8]) -> Result<()> {
        self.pattern.join(&mut self.pipes, group)
    }

    /// `zmq_leave`.
    pub(crate) fn leave(&mut self, group: &[u8]) -> Result<()> {
        self.pattern.leave(&mut self.pipes, group)
    }

    /// `zmq_disconnect_peer` (libzmq after 4.3.5).
    pub(crate) fn disconnect_peer(&mut self, routing_id: u32) -> Result<()> {
        self.term_check()?;
        self.process_commands(Wait::No)?;
        self.pattern.disconnect_peer(&mut self.pipes, routing_id)
    }

    /// `zmq_socket_get_peer_state`.
    pub(crate) fn peer_state(&mut self, routing_id: &[u8]) -> Result<i32> {
        self.pattern.peer_state(&mut self.pipes, routing_id)
    }

    /// `zmq_msg_send`: on failure the message is handed back unchanged.
    pub(crate) fn send(
        &mut self,
        mut msg: Message,
        flags_: i32,
    ) -> std::result::Result<(), (Error, Message)> {
        if self.ctx_terminated {
            return Err((Error::ETERM, msg));
        }
        // As libzmq, a send that can go ahead looks at commands at most once
        // a millisecond: credit from the reader arrives in batches anyway, and
        // a non-blocking send then fails with EAGAIN at the HWM the socket
        // last knew of, instead of racing the I/O thread draining the pipe.
        // Blocking sends wait for commands below. An empty mailbox has
        // nothing to process, and looking at it is cheaper than reading the
        // clock (10% of remote_thr's rate at 1 byte).
        if !self.shared.mailbox.is_empty() {
            let now = crate::util::ticks();
            if now < self.send_cmd_tick || now - self.send_cmd_tick > crate::util::TICKS_PER_MS {
                self.send_cmd_tick = now;
                if let Err(e) = self.process_commands(Wait::No) {
                    return Err((e, msg));
                }
            }
        }
        msg.reset_flags(flags::MORE);
        if flags_ & ZMQ_SNDMORE != 0 {
            msg.set_flags(flags::MORE);
        }
        msg.set_metadata(None);
        let nonblocking = flags_ & ZMQ_DONTWAIT != 0 || self.options.sndtimeo == 0;
        let mut msg = match self.pattern.send(&mut self.pipes, &self.options, msg) {
            Ok(()) => return Ok(()),
            Err(SendFail::Dropped(m)) => {
                return if nonblocking {
                    Err((Error::EAGAIN, m))
                } else {
                    Ok(())
                };
            }
            Err(SendFail::Fail(e, m)) => return Err((e, m)),
            Err(SendFail::Again(m)) => m,
        };
        if nonblocking {
            return Err((Error::EAGAIN, msg));
        }
        let deadline = deadline(self.options.sndtimeo);
        loop {
            let wait = wait_until(deadline);
            if let Err(e) = self.process_commands(wait) {
                return Err((e, msg));
            }
            msg = match self.pattern.send(&mut self.pipes, &self.options, msg) {
                Ok(()) => return Ok(()),
                Err(SendFail::Dropped(_)) => return Ok(()),
                Err(SendFail::Fail(e, m)) => return Err((e, m)),
                Err(SendFail::Again(m)) => m,
            };
            if let Some(d) = deadline {
                if Instant::now() >= d {
                    return Err((Error::EAGAIN, msg));
                }
            }
        }
    }

    /// `zmq_msg_recv`.
    pub(crate) fn recv(&mut self, flags_: i32) -> Result<Message> {
        self.term_check()?;
        // As libzmq, a receive that finds a message looks at the mailbox
        // only once every INBOUND_POLL_RATE receives: while messages keep
        // coming, the commands that matter (credit, activation) are not
        // urgent, and an empty pipe sends us to the mailbox anyway.
        self.recv_ticks += 1;
        if self.recv_ticks >= INBOUND_POLL_RATE {
            self.recv_ticks = 0;
            self.process_commands(Wait::No)?;
        }
        match self.pattern.recv(&mut self.pipes, &self.options) {
            Ok(m) => return Ok(self.got(m)),
            Err(Error::EAGAIN) => {}
            Err(e) => return Err(e),
        }
        self.recv_ticks = 0;
        self.process_commands(Wait::No)?;
        match self.pattern.recv(&mut self.pipes, &self.options) {
            Ok(m) => return Ok(self.got(m)),
            Err(Error::EAGAIN) => {}
            Err(e) => return Err(e),
        }
        if flags_ & ZMQ_DONTWAIT != 0 || self.options.rcvtimeo == 0 {
            return Err(Error::EAGAIN);
        }
        let deadline = deadline(self.options.rcvtimeo);
        loop {
            self.process_commands(wait_until(deadline))?;
            match self.pattern.recv(&mut self.pipes, &self.options) {
                Ok(m) => return Ok(self.got(m)),
                Err(Error::EAGAIN) => {}
                Err(e) => return Err(e),
            }
            if let Some(d) = deadline {
                if Instant::now() >= d {
                    return Err(Error::EAGAIN);
                }
            }
        }
    }

    pub(super) fn got(&mut self, m: Message) -> Message {
        self.rcvmore = m.more();
        m
    }

    /// Starts closing (called by the reaper): stop accepting peers, ask
    /// every pipe to terminate, and wait for their acknowledgements.
    /// Once only: a monitor socket starts it itself when its feed ends, and
    /// may be handed to the reaper after that.
    pub(crate) fn start_termination(&mut self) {
        if self.terminating {
            return;
        }
        self.ctx.inproc().unregister_all(self.id());
        self.terminating = true;
        // Pipes first, then the sessions: a session must see its pipe
        // terminating before its own termination, so that it keeps sending
        // what is queued (linger) instead of cutting the pipe short. Both go
        // through the same I/O thread mailbox, so this order holds.
        for idx in self.pipes.indices() {
            let p = self.pipes.get(idx);
            p.send_disconnect_msg();
            p.terminate(false);
            self.term_acks += 1;
        }
        for e in std::mem::take(&mut self.endpoints) {
            if let Some(mb) = self.ctx.io_mailbox(e.io) {
                self.awaiting.insert(e.child);
                mb.send(IoCommand::Term {
                    id: e.child,
                    linger: self.options.linger,
                });
            }
        }
    }

    /// Processes commands for a closing socket (called by the reaper when
    /// its mailbox fd is readable). Returns whether the socket is finished.
    pub(crate) fn reap_step(&mut self) -> bool {
        // Drains the mailbox too (a monitor socket's feed needs it done
        // around each batch it reads).
        self.forward_events();
        self.terminating
            && self.term_acks == 0
            && self.pipes.len() == 0
            && self.awaiting.is_empty()
            && self.processed_seqnum == self.shared.sent_seqnum.load(Ordering::Acquire)
    }

    /// What a closing socket still waits for (diagnostics, see
    /// [`crate::ctx::Reapable::reap_state`]).
    pub(crate) fn reap_state(&self) -> String {
        let pipes: Vec<String> = self
            .pipes
            .indices()
            .into_iter()
            .map(|i| self.pipes.peek(i).debug_state())
            .collect();
        format!(
            "terminating={} term_acks={} pipes={:?} awaiting={:?} seqnum {}/{} mailbox state={} empty={} idle={} eventfd_readable={:?} endpoints={}",
            self.terminating,
            self.term_acks,
            pipes,
            self.awaiting,
            self.processed_seqnum,
            self.shared.sent_seqnum.load(Ordering::Acquire),
            self.shared.mailbox.debug_state(),
            self.shared.mailbox.is_empty(),
            self.idle,
            self.shared.mailbox.wait(Some(std::time::Duration::ZERO)).ok(),
            self.endpoints.len(),
        )
    }
}
