//! A session joins one pipe (to the socket) with one connection's engine
//! (libzmq src/session_base.cpp). It runs in an I/O thread and drives the
//! engine over a non-blocking stream: bytes in, messages into the pipe
//! (stopping at HWM), messages out of the pipe, vectored writes out. What
//! the socket type changes on the way (REQ replies, RADIO/DISH framing,
//! subscriptions, hello/hiccup/disconnect messages) is decided by the
//! sans-I/O [`Adapter`]; connecting, by its [`Connecter`]; the ZAP handler
//! is reached through a [`ZapLink`].
//!
//! Two state machines, side by side: the connection ([`Link`]: accepted,
//! connecting, up, down) and the session's end ([`Ending`]: running,
//! lingering, flushing, done). A connecting session outlives its
//! connections and keeps its pipe, so messages queued within HWM survive a
//! reconnect (unless ZMQ_IMMEDIATE); an accepted one ends with its
//! connection. Termination honours ZMQ_LINGER.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::conn::{Conn, Round, Side};
use super::connecter::{Connecter, Outcome, Target};
use super::engine::EngineKind;
use super::session_pipes::SessionPipes;
use super::stream::ByteStream;
use super::zap_link::{self, ZapLink};
use super::{Env, Request, SocketLink};
use crate::command::SocketCommand;
use crate::constants::*;
use crate::endpoint::EndpointPair;
use crate::msg::Message;
use crate::options::Options;
use crate::pipe::{Pipe, PipeCommand, PipeEvent};
use crate::security::Failure;
use crate::zmtp::adapter::{self, Adapter, Disconnect};
use crate::zmtp::engine::{EngineConfig, EngineError, EngineEvent, ErrorReason};

/// Who a session reports its end to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Parent {
    /// A connect: the socket.
    Socket,
    /// An accepted connection: the listener with this id.
    Listener(u64),
}

/// The connection side of a session. (Not boxed: the session itself is
/// boxed in its I/O thread's slab, and the connection is most of it.)
#[allow(clippy::large_enum_variant)]
enum Link {
    /// An accepted connection, not started yet.
    Accepted(ByteStream),
    /// No connection; the connecter is at it (an attempt under way, or the
    /// back-off before the next one).
    Connecting,
    /// ZMTP runs: its handshake (a ZAP request may be pending), then traffic.
    Up(Conn),
    /// No connection, and none to come.
    Down,
}

/// How far the session is from its end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Ending {
    Running,
    /// Unbind, disconnect or close: the pipe still delivers what the socket
    /// queued, within linger (`flush`: linger is not zero).
    Lingering {
        flush: bool,
    },
    /// Terminating with every message handed to the engine: the session
    /// ends once that output is written (or linger runs out, or the
    /// connection fails), not before, so a full socket buffer cannot cut
    /// short what was accepted within linger.
    Flushing,
    Done,
}

/// One session.
pub(crate) struct Session {
    pub id: u64,
    parent: Parent,
    socket: SocketLink,
    options: Options,
    /// The connect URI, or the listener's endpoint for accepted sessions.
    endpoint: String,
    connecter: Option<Connecter>,
    /// What runs on this session's connections (ZMTP, ws, wss).
    kind: EngineKind,
    link: Link,
    ending: Ending,
    linger_at: Option<Instant>,
    pipes: SessionPipes,
    /// A pipe handed over by the socket at connect time, attached at start.
    initial_pipe: Option<Pipe>,
    adapter: Adapter,
    /// The hello message still to be sent on this connection.
    hello: Option<Message>,
    /// A decoded message the pipe had no room for.
    stalled: Option<Message>,
    zap: Option<ZapLink>,
    /// Why the last connection failed, for the monitor (EPIPE: peer closed).
    io_errno: i32,
    /// When the socket last woke this session to send (see
    /// [`Session::yield_to_a_busy_writer`]).
    last_wake: Option<Instant>,
}

/// Batches read or written per turn before yielding to other connections.
const TURN_BUDGET: usize = 64;

/// Wake-ups to send closer together than this mean a writer that keeps
/// refilling the pipe as fast as it is drained (a request-reply round trip
/// over loopback takes longer).
const BUSY_WRITER_WINDOW: Duration = Duration::from_micros(20);

/// Whether a wake-up to send at `now`, after one at `last`, comes from a
/// writer that refills the pipe as fast as it is drained.
fn woken_by_a_busy_writer(last: Option<Instant>, now: Instant) -> bool {
    last.is_some_and(|t| now.saturating_duration_since(t) < BUSY_WRITER_WINDOW)
}

impl Session {
    fn base(
        parent: Parent,
        socket: SocketLink,
        options: Options,
        endpoint: String,
        kind: EngineKind,
    ) -> Session {
        Session {
            id: super::next_object_id(),
            parent,
            socket,
            adapter: Adapter::new(options.socket_type),
            options,
            endpoint,
            connecter: None,
            kind,
            link: Link::Down,
            ending: Ending::Running,
            linger_at: None,
            pipes: SessionPipes::default(),
            initial_pipe: None,
            hello: None,
            last_wake: None,
            stalled: None,
            zap: None,
            io_errno: libc::ECONNRESET,
        }
    }

    /// A session for an accepted connection.
    pub fn accepted(
        listener: u64,
        stream: ByteStream,
        socket: SocketLink,
        options: Options,
        kind: EngineKind,
    ) -> Session {
        let endpoint = stream.local_uri();
        let parent = Parent::Listener(listener);
        let mut s = Session::base(parent, socket, options, endpoint, kind);
        s.link = Link::Accepted(stream);
        s
    }

    /// A session that connects to `target`; `pipe` is its end of the pipe
    /// the socket already attached (None with ZMQ_IMMEDIATE).
    pub fn connecter(
        socket: SocketLink,
        options: Options,
        target: Target,
        endpoint: String,
        pipe: Option<Pipe>,
        kind: EngineKind,
    ) -> Session {
        let mut s = Session::base(Parent::Socket, socket, options, endpoint.clone(), kind);
        s.connecter = Some(Connecter::new(
            target,
            endpoint,
            Arc::clone(&s.socket.shared),
        ));
        s.link = Link::Connecting;
        s.initial_pipe = pipe;
        s
    }

    pub fn is_done(&self) -> bool {
        self.ending == Ending::Done
    }

    fn terminating(&self) -> bool {
        self.ending != Ending::Running
    }

    /// The next deadline of any of this session's timers.
    pub fn deadline(&self) -> Option<Instant> {
        let engine = match &self.link {
            Link::Up(c) => c.engine.next_timeout(),
            _ => None,
        };
        let connect = self.connecter.as_ref().and_then(Connecter::deadline);
        [connect, self.linger_at, engine]
            .into_iter()
            .flatten()
            .min()
    }

    // ---- start ------------------------------------------------------------

    pub fn start(&mut self, env: &mut Env<'_>) {
        if let Some(pipe) = self.initial_pipe.take() {
            self.adopt_pipe(env, pipe);
        }
        match std::mem::replace(&mut self.link, Link::Down) {
            Link::Accepted(mut stream) => {
                if stream.register(env.registry, env.token).is_err() {
                    self.finish(env);
                    return;
                }
                let pair = EndpointPair {
                    local: stream.local_uri(),
                    remote: stream.remote_uri(),
                    bound: true,
                };
                self.attach_engine(env, stream, pair, &[]);
            }
            Link::Connecting => {
                self.link = Link::Connecting;
                if let Some(c) = self.connecter.as_mut() {
                    let out = c.start(env, &self.options, &self.socket.monitor);
                    self.connect_outcome(env, out);
                }
            }
            other => self.link = other,
        }
    }

    fn adopt_pipe(&mut self, env: &mut Env<'_>, pipe: Pipe) {
        let (key, queued) = self.pipes.adopt(env, pipe);
        for cmd in queued {
            self.pipe_cmd(env, key, cmd);
        }
    }

    /// Starts ZMTP on a connection; `early` holds bytes already read from it
    /// (what a SOCKS proxy sent right after its reply).
    fn attach_engine(
        &mut self,
        env: &mut Env<'_>,
        stream: ByteStream,
        pair: EndpointPair,
        early: &[u8],
    ) {
        let mut cfg = EngineConfig::from_options(&self.options, stream.peer_address(), stream.fd());
        cfg.zap_handler = cfg.zap_enabled && env.inproc.has(crate::security::zap::ENDPOINT);
        let mut engine = match self.kind.build(cfg, env.now) {
            Ok(e) => e,
            Err(_) => {
                // No TLS session for this connection: drop it, as a
                // connection that failed before its handshake.
                let mut stream = stream;
                stream.deregister(env.registry);
                match self.connecter.as_mut() {
                    Some(c) => c.schedule(env, &self.options, &self.socket.monitor),
                    None => self.finish(env),
                }
                return;
            }
        };
        let early_error = engine.feed(early, env.now).err();
        self.adapter.reset();
        self.hello = adapter::hello_message(&self.options);
        self.link = Link::Up(Conn::new(stream, engine, pair));
        match early_error {
            Some(e) => self.engine_error(env, e),
            None => self.pump(env),
        }
    }

    // ---- connecting -------------------------------------------------------

    fn connect_outcome(&mut self, env: &mut Env<'_>, out: Outcome) {
        match out {
            Outcome::Up {
                stream,
                pair,
                early,
            } => self.attach_engine(env, stream, pair, &early),
            Outcome::GaveUp => self
                .socket
                .send(SocketCommand::TermEndpoint(self.endpoint.clone())),
            Outcome::Pending | Outcome::Retrying | Outcome::Stopped => {}
        }
    }

    // ---- events -----------------------------------------------------------

    pub fn on_io(&mut self, env: &mut Env<'_>, readable: bool, writable: bool) {
        match &mut self.link {
            Link::Connecting => {
                if !(readable || writable) {
                    return;
                }
                if let Some(c) = self.connecter.as_mut() {
                    let out = c.on_io(env, &self.options, &self.socket.monitor);
                    self.connect_outcome(env, out);
                }
            }
            Link::Up(c) => {
                c.ready(readable, writable);
                self.pump(env);
            }
            Link::Accepted(_) | Link::Down => {}
        }
    }

    pub fn on_pipe(&mut self, env: &mut Env<'_>, key: u64, cmd: PipeCommand) {
        if matches!(cmd, PipeCommand::ActivateRead) {
            self.yield_to_a_busy_writer(env.now);
        }
        self.pipe_cmd(env, key, cmd);
        self.pump(env);
    }

    /// Gives the CPU away once before draining a pipe whose writer woke us
    /// again within [`BUSY_WRITER_WINDOW`].
    ///
    /// A writer streaming small messages wakes this thread whenever it
    /// finds the pipe drained. When both threads share a CPU, the scheduler
    /// may run the woken I/O thread at once, preempting the writer: it then
    /// finds one message, writes it with one system call, drains the pipe
    /// and sleeps, and the writer's next message wakes it again, a context
    /// switch pair and a write per message (measured: 59,000 wake-ups and
    /// writes for 10 M messages where libzmq, which lands in the other
    /// schedule by chance, has 10,000). Yielding lets a preempted writer
    /// run on until its pipe fills or it blocks, so the next write carries
    /// a batch. A writer on another CPU, or an idle CPU, makes the yield
    /// return at once; wake-ups further apart (request-reply, occasional
    /// sends) never yield.
    fn yield_to_a_busy_writer(&mut self, now: Instant) {
        let busy = woken_by_a_busy_writer(self.last_wake, now);
        self.last_wake = Some(now);
        if busy && matches!(self.link, Link::Up(_)) {
            std::thread::yield_now();
        }
    }

    fn pipe_cmd(&mut self, env: &mut Env<'_>, key: u64, cmd: PipeCommand) {
        if self.zap.as_ref().is_some_and(|z| z.key() == key) {
            let engine = match &mut self.link {
                Link::Up(c) => Some(&mut c.engine),
                _ => None,
            };
            if let Err(e) = zap_link::command(&mut self.zap, env, engine, cmd) {
                self.engine_error(env, e);
            }
            return;
        }
        let up = matches!(self.link, Link::Up(_));
        match self.pipes.process(key, cmd) {
            Some((PipeEvent::Terminated, _)) => self.pipe_terminated(env, key),
            Some((PipeEvent::StatsRequested(theirs), true)) => {
                if let Some(p) = self.pipes.current() {
                    p.reply_stats(theirs);
                }
            }
            Some((PipeEvent::ReadActivated, true)) if !up && self.terminating() => {
                // No engine to read: still notice a delimiter while terminating.
                if let Some(p) = self.pipes.current() {
                    p.check_read();
                }
            }
            _ => {}
        }
    }

    fn pipe_terminated(&mut self, env: &mut Env<'_>, key: u64) {
        if self.pipes.remove(env, key) {
            self.stalled = None;
        }
        if !self.terminating() {
            if !self.pipes.has_current() && self.options.raw_socket {
                // A raw socket closed the connection (empty frame): no reconnect.
                self.finish(env);
            }
            return;
        }
        if !self.pipes.is_empty() {
            return;
        }
        let flush = matches!(
            self.ending,
            Ending::Lingering { flush: true } | Ending::Flushing
        );
        let unsent = matches!(&self.link, Link::Up(c) if c.pending_output() > 0);
        if unsent && flush && self.linger_at.is_none_or(|t| t > env.now) {
            // pump finishes once the output is written.
            self.ending = Ending::Flushing;
            return;
        }
        self.finish(env);
    }

    pub fn on_timer(&mut self, env: &mut Env<'_>) {
        if let (Link::Connecting, Some(c)) = (&self.link, self.connecter.as_mut()) {
            let out = c.on_timer(env, &self.options, &self.socket.monitor);
            self.connect_outcome(env, out);
        }
        if self.linger_at.is_some_and(|t| t <= env.now) {
            self.linger_at = None;
            if let Some(p) = self.pipes.current() {
                p.terminate(false);
            }
            if self.ending == Ending::Flushing {
                self.finish(env);
                return;
            }
        }
        if let Link::Up(c) = &mut self.link {
            if let Err(e) = c.engine.on_timer(env.now) {
                self.engine_error(env, e);
                return;
            }
        }
        self.pump(env);
    }

    /// Unbind, disconnect or socket close: finish within `linger` ms.
    pub fn on_term(&mut self, env: &mut Env<'_>, linger: i32) {
        if self.terminating() {
            return;
        }
        // The ZAP pipe ends with the session, which waits for the handler's
        // acknowledgement like for any other pipe.
        self.zap_close();
        // Connecting goes on while lingering: queued messages may still
        // find their peer. It stops when the session finishes.
        if self.pipes.is_empty() {
            self.finish(env);
            return;
        }
        self.ending = Ending::Lingering { flush: linger != 0 };
        if let Link::Up(c) = &mut self.link {
            c.end_direct();
        }
        if let Some(p) = self.pipes.current() {
            if linger > 0 {
                self.linger_at = Some(env.now + Duration::from_millis(linger as u64));
            }
            p.terminate(linger != 0);
            if !matches!(self.link, Link::Up(_)) {
                p.check_read();
            }
        }
        self.pump(env);
    }

    // ---- the engine -------------------------------------------------------

    fn engine_ready(&mut self, env: &mut Env<'_>) {
        if self.pipes.has_current() || self.terminating() {
            return;
        }
        if let Link::Up(c) = &self.link {
            let ours = self.socket.open_pipe(&self.options, c.pair.clone());
            self.adopt_pipe(env, ours);
        }
    }

    fn handle_engine_event(&mut self, env: &mut Env<'_>, ev: EngineEvent) {
        let pair = match &self.link {
            Link::Up(c) => c.pair.clone(),
            _ => EndpointPair::default(),
        };
        match ev {
            EngineEvent::Ready => self.engine_ready(env),
            EngineEvent::HandshakeSucceeded => {
                self.socket
                    .monitor
                    .event(ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0, &pair)
            }
            EngineEvent::HandshakeFailed(f) => self.report_failure(f, &pair),
            EngineEvent::ZapRequest(frames) => {
                if let Link::Up(c) = &mut self.link {
                    if let Err(e) = zap_link::request(&mut self.zap, env, &mut c.engine, frames) {
                        self.engine_error(env, e);
                    }
                }
            }
        }
    }

    /// Raises the monitor event of a handshake failure.
    fn report_failure(&self, f: Failure, pair: &EndpointPair) {
        if let Some((event, value)) = f.monitor_event() {
            self.socket.monitor.event(event, value, pair);
        }
    }

    /// Lets go of the ZAP link (the connection it served has ended).
    fn zap_close(&mut self) {
        if let Some(z) = self.zap.take() {
            self.pipes.retire(z.close());
        }
    }

    // ---- moving data --------------------------------------------------------

    /// Moves data until nothing more can move now (or the turn's budget is
    /// spent: then the loop comes back to this session after the others).
    fn pump(&mut self, env: &mut Env<'_>) {
        for _ in 0..TURN_BUDGET {
            let Link::Up(conn) = &mut self.link else {
                return;
            };
            if let Some(ev) = conn.engine.poll_event() {
                self.handle_engine_event(env, ev);
                continue;
            }
            let side = Side {
                pipe: self.pipes.current(),
                stalled: &mut self.stalled,
                adapter: &mut self.adapter,
                hello: &mut self.hello,
            };
            let round = conn.move_data(side, env.now);
            let flushed = matches!(&self.link, Link::Up(c) if c.pending_output() == 0);
            match round {
                Round::Failed(e) => return self.engine_error(env, e),
                Round::IoFailed(errno) => return self.io_error(env, errno),
                _ if self.ending == Ending::Flushing && flushed => return self.finish(env),
                Round::Idle => {
                    if let Link::Up(conn) = &mut self.link {
                        let allowed =
                            self.ending == Ending::Running && self.options.socket_type != ZMQ_RADIO;
                        conn.settle(self.pipes.current(), allowed);
                    }
                    return;
                }
                Round::Progress => {}
            }
        }
        env.more_work = true;
    }

    // ---- failures and the end -----------------------------------------------

    /// The connection failed (`errno`) or the peer closed it (EPIPE).
    fn io_error(&mut self, env: &mut Env<'_>, errno: i32) {
        self.io_errno = errno;
        self.engine_error(env, EngineError::connection());
    }

    fn engine_error(&mut self, env: &mut Env<'_>, e: EngineError) {
        if self.ending == Ending::Flushing {
            // Nothing is left to deliver to anyone.
            return self.finish(env);
        }
        if !matches!(self.link, Link::Up(_)) {
            return;
        }
        let next = if self.connecter.is_some() {
            Link::Connecting
        } else {
            Link::Down
        };
        let Link::Up(mut conn) = std::mem::replace(&mut self.link, next) else {
            return;
        };
        if e.reason == ErrorReason::Protocol {
            // A handshake refused with an ERROR command: let it reach the
            // peer, whose monitor reports the reason.
            conn.write_last();
        }
        let mut reason = e.reason;
        if reason == ErrorReason::Protocol && conn.stream.is_self_connected() {
            // A tcp connect that met itself (same address and port at both
            // ends, as an ephemeral port can): not the peer's fault, and
            // no reason to stop reconnecting (libzmq after 4.3.5).
            reason = ErrorReason::Connection;
        }
        let raw_notice = (conn.engine.is_raw() && self.options.raw_notify)
            .then(|| conn.engine.metadata().cloned());
        let handshaking = conn.engine.is_handshaking();
        while let Some(ev) = conn.engine.poll_event() {
            if let EngineEvent::HandshakeFailed(f) = ev {
                self.report_failure(f, &conn.pair);
            }
        }
        self.zap_close();
        if log::log_enabled!(target: crate::diag::CONNECTION, log::Level::Info) {
            let errno = self.io_errno;
            let phase = if handshaking {
                "handshake"
            } else {
                "heartbeat"
            };
            match reason {
                _ if reason != e.reason => {
                    crate::diag::disconnected(&conn.pair, format_args!("connected to itself"))
                }
                ErrorReason::Connection if errno == libc::EPIPE => {
                    crate::diag::disconnected(&conn.pair, format_args!("closed by the peer"))
                }
                ErrorReason::Connection => crate::diag::disconnected(
                    &conn.pair,
                    format_args!("{} (errno {errno})", crate::error::strerror(errno)),
                ),
                ErrorReason::Protocol => {
                    crate::diag::disconnected(&conn.pair, format_args!("protocol error"))
                }
                ErrorReason::Timeout => {
                    crate::diag::disconnected(&conn.pair, format_args!("{phase} timed out"))
                }
            }
        }
        if reason != ErrorReason::Protocol && handshaking {
            let errno = if reason == ErrorReason::Timeout {
                libc::ETIMEDOUT
            } else {
                self.io_errno
            };
            self.socket.monitor.event(
                ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL,
                errno as u64,
                &conn.pair,
            );
            if self.options.reconnect_stop & ZMQ_RECONNECT_STOP_HANDSHAKE_FAILED != 0 {
                reason = ErrorReason::Protocol;
            }
        }
        self.socket
            .monitor
            .event(ZMQ_EVENT_DISCONNECTED, conn.fd as u64, &conn.pair);
        conn.close(env.registry);
        self.stalled = None;
        let connecter = self.connecter.is_some();
        if let Some(p) = self.pipes.current() {
            let d = Disconnect {
                connecter,
                handshaked: !handshaking,
                raw_notice,
            };
            self.adapter.disconnected(p, &self.options, d);
        }
        match reason {
            ErrorReason::Connection | ErrorReason::Timeout if connecter => self.reconnect(env),
            _ => {
                if self.terminating() {
                    if let Some(p) = self.pipes.current() {
                        p.terminate(false);
                    }
                } else {
                    self.on_term(env, self.options.linger);
                    if self.is_done() {
                        return;
                    }
                }
            }
        }
        if let Some(p) = self.pipes.current() {
            p.check_read();
        }
    }

    fn reconnect(&mut self, env: &mut Env<'_>) {
        if self.options.immediate == 1 && self.pipes.has_current() {
            self.pipes.retire_current();
            self.linger_at = None;
        }
        if self.options.reconnect_ivl > 0 {
            if let Some(c) = self.connecter.as_mut() {
                c.schedule(env, &self.options, &self.socket.monitor);
            }
        } else {
            self.socket
                .send(SocketCommand::TermEndpoint(self.endpoint.clone()));
        }
        if matches!(self.options.socket_type, ZMQ_SUB | ZMQ_XSUB | ZMQ_DISH) {
            if let Some(p) = self.pipes.current() {
                p.hiccup();
            }
        }
    }

    /// What the session serves, for a report: its endpoint, and the peer's
    /// address when connected.
    pub fn describe(&self) -> String {
        match &self.link {
            Link::Up(c) if !c.pair.remote.is_empty() && c.pair.remote != self.endpoint => {
                format!("{} (peer {})", self.endpoint, c.pair.remote)
            }
            _ => self.endpoint.clone(),
        }
    }

    /// The session's handler panicked (a bug of ours): end it as if its
    /// connection had failed, touching as little of its state as possible,
    /// since a panic may have left it half-updated. Its connection (or
    /// connection attempt) is closed with DISCONNECTED (or CLOSED) on the
    /// monitor, its pipes are terminated without waiting for unread
    /// messages, and it stays only to answer the socket's end of the pipe
    /// termination handshake (which the socket needs to close), then tells
    /// its parent it is gone. It does not reconnect: the socket forgets a
    /// connect endpoint whose session ends.
    pub fn abandon(&mut self, env: &mut Env<'_>) {
        if self.is_done() {
            return;
        }
        match std::mem::replace(&mut self.link, Link::Down) {
            Link::Up(conn) => {
                self.socket
                    .monitor
                    .event(ZMQ_EVENT_DISCONNECTED, conn.fd as u64, &conn.pair);
                conn.close(env.registry);
            }
            Link::Connecting => {
                if let Some(c) = self.connecter.as_mut() {
                    c.abort(env, &self.options, &self.socket.monitor);
                }
            }
            // Dropping the stream closes it; it was never registered.
            Link::Accepted(_) | Link::Down => {}
        }
        self.connecter = None;
        self.stalled = None;
        self.linger_at = None;
        self.ending = Ending::Lingering { flush: false };
        if let Some(pipe) = self.initial_pipe.take() {
            self.adopt_pipe(env, pipe);
        }
        self.zap_close();
        self.pipes.retire_current();
        if self.pipes.is_empty() {
            self.finish(env);
        }
    }

    /// Ends the session: close the connection and tell the parent.
    fn finish(&mut self, env: &mut Env<'_>) {
        if self.is_done() {
            return;
        }
        if let Link::Up(mut conn) = std::mem::replace(&mut self.link, Link::Down) {
            // A last chance for output already encoded (linger delivery).
            conn.write_last();
            conn.close(env.registry);
        }
        if let Some(c) = self.connecter.as_mut() {
            c.abort(env, &self.options, &self.socket.monitor);
            c.cancel();
        }
        if let Some(z) = self.zap.take() {
            drop(z.close());
        }
        self.ending = Ending::Done;
        match self.parent {
            Parent::Socket => self.socket.send(SocketCommand::ChildGone(self.id)),
            Parent::Listener(parent) => env.requests.push(Request::ChildGone {
                parent,
                child: self.id,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only wake-ups that follow each other closely yield: the first one,
    /// and one a request-reply round trip later, go straight to the pipe.
    #[test]
    fn only_a_writer_that_wakes_us_again_at_once_gets_the_cpu() {
        let t = Instant::now();
        assert!(!woken_by_a_busy_writer(None, t), "the first wake-up");
        assert!(woken_by_a_busy_writer(
            Some(t),
            t + Duration::from_micros(5)
        ));
        assert!(!woken_by_a_busy_writer(Some(t), t + BUSY_WRITER_WINDOW));
        assert!(!woken_by_a_busy_writer(
            Some(t),
            t + Duration::from_micros(50)
        ));
        assert!(
            woken_by_a_busy_writer(Some(t + Duration::from_micros(1)), t),
            "a clock read out of order counts as at once"
        );
    }
}
