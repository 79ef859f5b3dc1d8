//! A session joins one pipe (to the socket) with one connection's engine
//! (libzmq src/session_base.cpp plus the connecters). It runs in an I/O
//! thread and drives the engine over a non-blocking stream: bytes in,
//! messages into the pipe (stopping at HWM), messages out of the pipe,
//! vectored writes out.
//!
//! A connecting session outlives its connections: it connects, reconnects
//! with ZMQ_RECONNECT_IVL back-off, and keeps its pipe, so messages queued
//! within HWM survive a reconnect (unless ZMQ_IMMEDIATE). An accepted
//! session ends with its connection. Termination honours ZMQ_LINGER: the
//! session keeps sending what the socket queued until the pipe's delimiter
//! arrives or the linger time passes.

use std::io::{self, IoSlice};
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use super::stream::Stream;
use super::{Env, Request, SocketLink};
use crate::command::SocketCommand;
use crate::constants::*;
use crate::endpoint::EndpointPair;
use crate::inproc::{self, IfUnbound};
use crate::msg::{flags, Message};
use crate::options::Options;
use crate::pipe::{pipepair, Pipe, PipeCmd, PipeEvent};
use crate::security::{zap, Failure};
use crate::transport::socks::SocksClient;
use crate::zmtp::engine::{Engine, EngineConfig, EngineError, EngineEvent, ErrorReason};
use crate::zmtp::radio_dish::{radio_accepts_from_wire, radio_to_wire, DishWireDecoder};

/// Who a session reports its end to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Parent {
    /// A connect: the socket.
    Socket,
    /// An accepted connection: the listener with this id.
    Listener(u64),
}

/// Where a connecting session connects to.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    Tcp(String),
    Ipc(String),
}

struct Conn {
    stream: Stream,
    engine: Engine,
    pair: EndpointPair,
    fd: RawFd,
    readable: bool,
    writable: bool,
}

struct Connecting {
    stream: Stream,
    fd: RawFd,
}

/// A connection to a SOCKS5 proxy (ZMQ_SOCKS_PROXY) asking it for a tunnel
/// to the target; ZMTP starts once the proxy has connected it.
struct SocksTunnel {
    stream: Stream,
    fd: RawFd,
    client: SocksClient,
}

/// REQ sessions check that replies are well formed (libzmq req_session_t).
#[derive(Clone, Copy, PartialEq, Eq)]
enum ReqState {
    Bottom,
    RequestId,
    Body,
}

/// The session's inproc pipe to the ZAP handler (libzmq's zap_pipe):
/// requests out, replies in.
struct ZapLink {
    key: u64,
    pipe: Pipe,
    /// The frames of a reply still arriving.
    reply: Vec<Message>,
}

/// One session.
pub(crate) struct Session {
    pub id: u64,
    parent: Parent,
    link: SocketLink,
    options: Options,
    target: Option<Target>,
    /// The connect URI, or the listener's endpoint for accepted sessions.
    endpoint: String,
    pipe: Option<(u64, Pipe)>,
    /// A pipe handed over by the socket at connect time, attached at start.
    initial_pipe: Option<Pipe>,
    old_pipes: Vec<(u64, Pipe)>,
    conn: Option<Conn>,
    accepted: Option<Stream>,
    connecting: Option<Connecting>,
    socks: Option<SocksTunnel>,
    reconnect_at: Option<Instant>,
    connect_timeout_at: Option<Instant>,
    current_ivl: i32,
    linger_at: Option<Instant>,
    /// Terminating, every message handed to the engine: finish once its
    /// output has reached the socket (or linger runs out, or the
    /// connection fails), not before: what was accepted within linger
    /// must not be cut short by a full socket buffer.
    flushing: bool,
    /// The linger of the termination in progress is not zero.
    linger_flush: bool,
    pending: bool,
    done: bool,
    incomplete_in: bool,
    stalled: Option<Message>,
    req_state: ReqState,
    zap: Option<ZapLink>,
    /// Why the last connection failed, for the monitor (EPIPE: peer closed).
    io_errno: i32,
    /// The hello message is still to be sent on this connection.
    hello_due: bool,
    /// DISH: group frames waiting for their body.
    dish_wire: DishWireDecoder,
}

/// Batches read or written per turn before yielding to other connections.
const TURN_BUDGET: usize = 64;

impl Session {
    fn base(
        id: u64,
        parent: Parent,
        link: SocketLink,
        options: Options,
        endpoint: String,
    ) -> Session {
        Session {
            id,
            parent,
            link,
            options,
            target: None,
            endpoint,
            pipe: None,
            initial_pipe: None,
            old_pipes: Vec::new(),
            conn: None,
            accepted: None,
            connecting: None,
            socks: None,
            reconnect_at: None,
            connect_timeout_at: None,
            current_ivl: -1,
            linger_at: None,
            flushing: false,
            linger_flush: false,
            pending: false,
            done: false,
            incomplete_in: false,
            stalled: None,
            req_state: ReqState::Bottom,
            zap: None,
            io_errno: libc::ECONNRESET,
            hello_due: false,
            dish_wire: DishWireDecoder::new(),
        }
    }

    /// A session for an accepted connection.
    pub fn accepted(
        id: u64,
        listener: u64,
        stream: Stream,
        link: SocketLink,
        options: Options,
    ) -> Session {
        let endpoint = stream.local_uri();
        let mut s = Session::base(id, Parent::Listener(listener), link, options, endpoint);
        s.accepted = Some(stream);
        s
    }

    /// A session that connects to `target`; `pipe` is its end of the pipe
    /// the socket already attached (None with ZMQ_IMMEDIATE).
    pub fn connecter(
        id: u64,
        link: SocketLink,
        options: Options,
        target: Target,
        endpoint: String,
        pipe: Option<Pipe>,
    ) -> Session {
        let mut s = Session::base(id, Parent::Socket, link, options, endpoint);
        s.target = Some(target);
        s.initial_pipe = pipe;
        s
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    fn active(&self) -> bool {
        self.target.is_some()
    }

    /// The next deadline of any of this session's timers.
    pub fn deadline(&self) -> Option<Instant> {
        let engine = self.conn.as_ref().and_then(|c| c.engine.next_timeout());
        [
            self.reconnect_at,
            self.connect_timeout_at,
            self.linger_at,
            engine,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn unconnected_pair(&self) -> EndpointPair {
        EndpointPair {
            local: String::new(),
            remote: self.monitor_endpoint(),
            bound: false,
        }
    }

    /// The proxy's address when connecting through SOCKS (as libzmq
    /// reports it in monitor events), else the connect endpoint.
    fn monitor_endpoint(&self) -> String {
        match self.socks_proxy() {
            Some(proxy) => format!("tcp://{proxy}"),
            None => self.endpoint.clone(),
        }
    }

    /// The SOCKS proxy a tcp connect goes through, if one is set.
    fn socks_proxy(&self) -> Option<&str> {
        match &self.target {
            Some(Target::Tcp(_)) if !self.options.socks_proxy_address.is_empty() => {
                Some(&self.options.socks_proxy_address)
            }
            _ => None,
        }
    }

    // ---- start ------------------------------------------------------------

    pub fn start(&mut self, env: &mut Env<'_>) {
        if let Some(pipe) = self.initial_pipe.take() {
            self.adopt_pipe(env, pipe);
        }
        if let Some(mut stream) = self.accepted.take() {
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
        } else if self.active() {
            self.start_connecting(env, false);
        }
    }

    fn adopt_pipe(&mut self, env: &mut Env<'_>, pipe: Pipe) {
        let key = env.new_pipe_key();
        let queued = pipe.attach(env.sink.clone(), key);
        self.pipe = Some((key, pipe));
        for cmd in queued {
            self.pipe_cmd(env, key, cmd);
        }
    }

    /// Starts ZMTP on a connection; `early` holds bytes already read from it
    /// (what a SOCKS proxy sent right after its reply).
    fn attach_engine(
        &mut self,
        env: &mut Env<'_>,
        stream: Stream,
        pair: EndpointPair,
        early: &[u8],
    ) {
        let fd = stream.fd();
        let mut cfg = EngineConfig::from_options(&self.options, stream.peer_address(), fd);
        cfg.zap_handler = cfg.zap_enabled && env.inproc.has(zap::ENDPOINT);
        let mut engine = Engine::new(cfg, env.now);
        let early_error = engine.feed(early, env.now).err();
        self.req_state = ReqState::Bottom;
        self.dish_wire.reset();
        self.hello_due = self.options.can_send_hello_msg
            && !self.options.hello_msg.is_empty()
            && !self.options.raw_socket;
        self.conn = Some(Conn {
            stream,
            engine,
            pair,
            fd,
            readable: true,
            writable: true,
        });
        if let Some(e) = early_error {
            self.engine_error(env, e);
            return;
        }
        self.pump(env);
    }

    // ---- connecting -------------------------------------------------------

    fn start_connecting(&mut self, env: &mut Env<'_>, wait: bool) {
        if wait {
            self.add_reconnect_timer(env);
            return;
        }
        let (result, ipc) = match &self.target {
            Some(Target::Tcp(addr)) => {
                // Through a proxy, only the proxy's address is resolved
                // here; the proxy resolves the target.
                let addr = self.socks_proxy().unwrap_or(addr);
                let addr = addr.split('\0').next().unwrap_or_default();
                (
                    crate::transport::tcp::resolve(addr, false, self.options.ipv6)
                        .and_then(|a| crate::transport::tcp::connect(&a, &self.options)),
                    false,
                )
            }
            Some(Target::Ipc(path)) => (crate::transport::ipc::connect(path), true),
            None => return,
        };
        let (sock, done) = match result {
            Ok(s) => s,
            Err(e) => {
                self.connect_failed(env, e.to_raw());
                return;
            }
        };
        let mut stream = Stream::from_socket(sock, ipc);
        let fd = stream.fd();
        if stream.register(env.registry, env.token).is_err() {
            self.connect_failed(env, libc::ENOMEM);
            return;
        }
        self.connecting = Some(Connecting { stream, fd });
        if done {
            self.connected(env);
            return;
        }
        self.link.monitor.event(
            ZMQ_EVENT_CONNECT_DELAYED,
            libc::EINPROGRESS as u64,
            &self.unconnected_pair(),
        );
        if self.options.connect_timeout > 0 && self.socks_proxy().is_none() {
            self.connect_timeout_at =
                Some(env.now + Duration::from_millis(self.options.connect_timeout as u64));
        }
    }

    fn close_connecting(&mut self, env: &mut Env<'_>) {
        self.connect_timeout_at = None;
        if let Some(mut t) = self.socks.take() {
            t.stream.deregister(env.registry);
            self.link
                .monitor
                .event(ZMQ_EVENT_CLOSED, t.fd as u64, &self.unconnected_pair());
        }
        if let Some(mut c) = self.connecting.take() {
            c.stream.deregister(env.registry);
            self.link
                .monitor
                .event(ZMQ_EVENT_CLOSED, c.fd as u64, &self.unconnected_pair());
        }
    }

    fn connect_failed(&mut self, env: &mut Env<'_>, errno: i32) {
        self.close_connecting(env);
        if errno == libc::ECONNREFUSED
            && self.socks_proxy().is_none()
            && self.options.reconnect_stop & ZMQ_RECONNECT_STOP_CONN_REFUSED != 0
        {
            self.link
                .shared
                .mailbox
                .send(SocketCommand::TermEndpoint(self.endpoint.clone()));
            return;
        }
        self.add_reconnect_timer(env);
    }

    fn add_reconnect_timer(&mut self, env: &mut Env<'_>) {
        if self.options.reconnect_ivl > 0 {
            let ivl = self.next_reconnect_ivl();
            self.reconnect_at = Some(env.now + Duration::from_millis(ivl as u64));
            self.link.monitor.event(
                ZMQ_EVENT_CONNECT_RETRIED,
                ivl as u64,
                &self.unconnected_pair(),
            );
        }
    }

    fn next_reconnect_ivl(&mut self) -> i32 {
        let ivl = self.options.reconnect_ivl;
        let max = self.options.reconnect_ivl_max;
        if max > 0 {
            let candidate = if self.current_ivl == -1 {
                ivl
            } else if self.current_ivl > i32::MAX / 2 {
                i32::MAX
            } else {
                self.current_ivl * 2
            };
            self.current_ivl = candidate.min(max);
            self.current_ivl
        } else {
            if self.current_ivl == -1 {
                self.current_ivl = ivl;
            }
            let jitter = (crate::util::random_u32() % ivl.max(1) as u32) as i32;
            self.current_ivl.saturating_add(jitter)
        }
    }

    fn connected(&mut self, env: &mut Env<'_>) {
        let Some(c) = self.connecting.take() else {
            return;
        };
        self.connect_timeout_at = None;
        let stream = c.stream;
        if let (Some(Target::Tcp(_)), Stream::Tcp(t)) = (&self.target, &stream) {
            crate::transport::tcp::tune_connection(socket2::SockRef::from(t), &self.options);
        }
        if self.socks_proxy().is_some() {
            self.start_socks(env, stream, c.fd);
            return;
        }
        let pair = EndpointPair {
            local: stream.local_uri(),
            remote: self.endpoint.clone(),
            bound: false,
        };
        self.link
            .monitor
            .event(ZMQ_EVENT_CONNECTED, c.fd as u64, &pair);
        self.attach_engine(env, stream, pair, &[]);
    }

    // ---- SOCKS ------------------------------------------------------------

    fn start_socks(&mut self, env: &mut Env<'_>, stream: Stream, fd: RawFd) {
        let target = match &self.target {
            Some(Target::Tcp(addr)) => addr.clone(),
            _ => return,
        };
        match SocksClient::new(
            &target,
            &self.options.socks_proxy_username,
            &self.options.socks_proxy_password,
        ) {
            Ok(client) => {
                self.socks = Some(SocksTunnel { stream, fd, client });
                self.drive_socks(env);
            }
            Err(_) => {
                // Keep the stream registered until close_connecting drops it.
                self.connecting = Some(Connecting { stream, fd });
                self.connect_failed(env, libc::ECONNREFUSED);
            }
        }
    }

    /// Moves the SOCKS dialogue on as far as the proxy lets it; a failure
    /// closes the connection and retries later, as libzmq does.
    fn drive_socks(&mut self, env: &mut Env<'_>) {
        let Some(mut t) = self.socks.take() else {
            return;
        };
        let mut buf = [0u8; 512];
        let result = loop {
            let out = t.client.output();
            if !out.is_empty() {
                match t.stream.write_vectored(&[IoSlice::new(out)]) {
                    Ok(n) => match t.client.consume_output(n) {
                        Ok(true) => break Ok(true),
                        Ok(false) => continue,
                        Err(_) => break Err(()),
                    },
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => break Err(()),
                }
            }
            match t.stream.read(&mut buf) {
                Ok(0) => break Err(()),
                Ok(n) => match t.client.feed(&buf[..n]) {
                    Ok(true) => break Ok(true),
                    Ok(false) => {}
                    Err(_) => break Err(()),
                },
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break Err(()),
            }
        };
        match result {
            Ok(false) => self.socks = Some(t),
            Ok(true) => {
                let leftover = t.client.take_leftover();
                let pair = EndpointPair {
                    local: t.stream.local_uri(),
                    remote: self.monitor_endpoint(),
                    bound: false,
                };
                self.link
                    .monitor
                    .event(ZMQ_EVENT_CONNECTED, t.fd as u64, &pair);
                self.attach_engine(env, t.stream, pair, &leftover);
            }
            Err(()) => {
                self.socks = Some(t);
                self.close_connecting(env);
                self.add_reconnect_timer(env);
            }
        }
    }

    // ---- events -----------------------------------------------------------

    pub fn on_io(&mut self, env: &mut Env<'_>, readable: bool, writable: bool) {
        if self.socks.is_some() {
            self.drive_socks(env);
            return;
        }
        if let Some(c) = &self.connecting {
            if !(readable || writable) {
                return;
            }
            match c.stream.take_error() {
                Ok(None) if c.stream.is_connected() => self.connected(env),
                Ok(None) => {}
                Ok(Some(e)) | Err(e) => {
                    let errno = e.raw_os_error().unwrap_or(libc::ECONNREFUSED);
                    self.connect_failed(env, errno);
                }
            }
            return;
        }
        if let Some(c) = self.conn.as_mut() {
            c.readable |= readable;
            c.writable |= writable;
            self.pump(env);
        }
    }

    pub fn on_pipe(&mut self, env: &mut Env<'_>, key: u64, cmd: PipeCmd) {
        self.pipe_cmd(env, key, cmd);
        self.pump(env);
    }

    fn pipe_cmd(&mut self, env: &mut Env<'_>, key: u64, cmd: PipeCmd) {
        if self.zap.as_ref().is_some_and(|z| z.key == key) {
            self.zap_cmd(env, cmd);
            return;
        }
        let current = self.pipe.as_ref().is_some_and(|(k, _)| *k == key);
        let ev = if current {
            self.pipe.as_mut().and_then(|(_, p)| p.process(cmd))
        } else if let Some(i) = self.old_pipes.iter().position(|(k, _)| *k == key) {
            self.old_pipes[i].1.process(cmd)
        } else {
            None
        };
        match ev {
            Some(PipeEvent::Terminated) => self.pipe_terminated(env, key),
            Some(PipeEvent::StatsRequested(theirs)) => {
                if let Some((_, p)) = self.pipe.as_ref().filter(|(k, _)| *k == key) {
                    p.reply_stats(theirs);
                }
            }
            Some(PipeEvent::ReadActivated) if self.conn.is_none() => {
                // No engine to read: still notice a delimiter while terminating.
                if let Some((_, p)) = self.pipe.as_mut() {
                    if self.pending {
                        p.check_read();
                    }
                }
            }
            _ => {}
        }
    }

    fn pipe_terminated(&mut self, env: &mut Env<'_>, key: u64) {
        env.drop_pipe_key(key);
        if self.pipe.as_ref().is_some_and(|(k, _)| *k == key) {
            self.pipe = None;
            self.stalled = None;
        } else {
            self.old_pipes.retain(|(k, _)| *k != key);
        }
        if self.pending && self.pipe.is_none() && self.old_pipes.is_empty() {
            let unsent = self
                .conn
                .as_ref()
                .is_some_and(|c| c.engine.pending_output() > 0);
            if unsent && self.linger_at.is_none_or(|t| t > env.now) && self.linger_flush {
                // pump finishes once the output is written.
                self.flushing = true;
                return;
            }
            self.finish(env);
        } else if !self.pending && self.pipe.is_none() && self.options.raw_socket {
            // A raw socket closed the connection (empty frame): no reconnect.
            self.finish(env);
        }
    }

    pub fn on_timer(&mut self, env: &mut Env<'_>) {
        let now = env.now;
        let due = |t: Option<Instant>| t.is_some_and(|t| t <= now);
        if due(self.reconnect_at) {
            self.reconnect_at = None;
            self.start_connecting(env, false);
        }
        if due(self.connect_timeout_at) {
            self.close_connecting(env);
            self.add_reconnect_timer(env);
        }
        if due(self.linger_at) {
            self.linger_at = None;
            if let Some((_, p)) = self.pipe.as_mut() {
                p.terminate(false);
            }
            if self.flushing {
                self.finish(env);
                return;
            }
        }
        if let Some(c) = self.conn.as_mut() {
            if let Err(e) = c.engine.on_timer(now) {
                self.engine_error(env, e);
                return;
            }
        }
        self.pump(env);
    }

    /// Unbind, disconnect or socket close: finish within `linger` ms.
    pub fn on_term(&mut self, env: &mut Env<'_>, linger: i32) {
        if self.pending || self.done {
            return;
        }
        // The ZAP pipe ends with the session, which waits for the handler's
        // acknowledgement like for any other pipe: without it the handler
        // socket could never finish closing.
        self.zap_close();
        // Connecting goes on while lingering: queued messages may still
        // find their peer. It stops when the session finishes.
        if self.pipe.is_none() && self.old_pipes.is_empty() {
            self.finish(env);
            return;
        }
        self.pending = true;
        self.linger_flush = linger != 0;
        if let Some((_, p)) = self.pipe.as_mut() {
            if linger > 0 {
                self.linger_at = Some(env.now + Duration::from_millis(linger as u64));
            }
            p.terminate(linger != 0);
            if self.conn.is_none() {
                p.check_read();
            }
        }
        self.pump(env);
    }

    // ---- the engine -------------------------------------------------------

    fn engine_ready(&mut self, env: &mut Env<'_>) {
        if self.pipe.is_some() || self.pending {
            return;
        }
        let conflate = self.options.conflate_applies();
        let hwms = if conflate {
            [-1, -1]
        } else {
            [self.options.rcvhwm, self.options.sndhwm]
        };
        let (ours, mut theirs) = pipepair(hwms, [conflate, conflate]);
        let pair = self
            .conn
            .as_ref()
            .map(|c| c.pair.clone())
            .unwrap_or_else(|| self.unconnected_pair());
        theirs.set_endpoint(Some(pair));
        self.link
            .shared
            .sent_seqnum
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        self.link
            .shared
            .mailbox
            .send(SocketCommand::Bind(Box::new(theirs)));
        self.adopt_pipe(env, ours);
    }

    fn handle_engine_events(&mut self, env: &mut Env<'_>, events: Vec<EngineEvent>) {
        for ev in events {
            let pair = self
                .conn
                .as_ref()
                .map(|c| c.pair.clone())
                .unwrap_or_default();
            match ev {
                EngineEvent::Ready => self.engine_ready(env),
                EngineEvent::HandshakeSucceeded => {
                    self.link
                        .monitor
                        .event(ZMQ_EVENT_HANDSHAKE_SUCCEEDED, 0, &pair)
                }
                EngineEvent::HandshakeFailed(f) => self.report_failure(f, &pair),
                EngineEvent::ZapRequest(frames) => self.zap_send(env, frames),
            }
        }
    }

    /// Raises the monitor event of a handshake failure.
    fn report_failure(&self, f: Failure, pair: &EndpointPair) {
        let (event, value) = match f {
            Failure::Protocol(code) => (ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL, code as u32 as u64),
            Failure::Auth(code) => (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH, code as u64),
            Failure::NoDetail(errno) => (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL, errno as u64),
            Failure::Other => return,
        };
        self.link.monitor.event(event, value, pair);
    }

    // ---- ZAP ----------------------------------------------------------------

    /// Sends a request to the ZAP handler, connecting to it first if needed
    /// (libzmq's session_base_t::zap_connect).
    fn zap_send(&mut self, env: &mut Env<'_>, frames: Vec<Message>) {
        if self.zap.is_none() {
            // Unlimited in both directions: a request must never be refused.
            let o = Options {
                sndhwm: 0,
                rcvhwm: 0,
                ..Options::default()
            };
            let ours = match inproc::connect(env.inproc, zap::ENDPOINT, &o, IfUnbound::Refuse) {
                Ok(p) => p,
                Err(_) => {
                    if let Some(c) = self.conn.as_mut() {
                        let e = c.engine.zap_unavailable();
                        self.engine_error(env, e);
                    }
                    return;
                }
            };
            let key = env.new_pipe_key();
            let queued = ours.attach(env.sink.clone(), key);
            self.zap = Some(ZapLink {
                key,
                pipe: ours,
                reply: Vec::new(),
            });
            for cmd in queued {
                self.zap_cmd(env, cmd);
            }
        }
        if let Some(z) = self.zap.as_mut() {
            for m in frames {
                let _ = z.pipe.write(m);
            }
            z.pipe.flush();
        }
        // Reading the empty pipe puts it to sleep, so the handler's reply
        // wakes us.
        self.zap_drain(env);
    }

    /// A command for the ZAP pipe: collect the reply, hand it to the engine.
    fn zap_cmd(&mut self, env: &mut Env<'_>, cmd: PipeCmd) {
        let Some(z) = self.zap.as_mut() else {
            return;
        };
        match z.pipe.process(cmd) {
            Some(PipeEvent::Terminated) => {
                env.drop_pipe_key(z.key);
                self.zap = None;
            }
            Some(PipeEvent::ReadActivated) => self.zap_drain(env),
            _ => {}
        }
    }

    /// Reads what the handler sent; a complete reply goes to the engine.
    fn zap_drain(&mut self, env: &mut Env<'_>) {
        let Some(z) = self.zap.as_mut() else {
            return;
        };
        let mut reply = None;
        while let Some(m) = z.pipe.read() {
            let last = !m.more();
            z.reply.push(m);
            if last {
                reply = Some(std::mem::take(&mut z.reply));
                break;
            }
        }
        let Some(frames) = reply else {
            return;
        };
        let now = env.now;
        let result = match self.conn.as_mut() {
            Some(c) => c.engine.zap_reply(&frames, now),
            None => return,
        };
        if let Err(e) = result {
            self.engine_error(env, e);
        }
    }

    /// Lets go of the ZAP pipe (the connection it served has ended). The
    /// session lives on until the handler's side acknowledges, as for any
    /// old pipe: the handler socket could not close otherwise.
    fn zap_close(&mut self) {
        if let Some(mut z) = self.zap.take() {
            z.pipe.terminate(false);
            self.old_pipes.push((z.key, z.pipe));
        }
    }

    /// The wire framing of RADIO and DISH (libzmq's radio_session_t and
    /// dish_session_t): a DISH joins group and body frames into one
    /// message, a RADIO takes only JOIN/LEAVE commands. `Ok(None)`: nothing
    /// for the socket (yet); `Err`: a protocol error, close the connection.
    fn unframe(&mut self, m: Message) -> Result<Option<Message>, ()> {
        match self.options.socket_type {
            ZMQ_DISH => {
                if m.flags() & flags::COMMAND != 0 {
                    return Ok(None);
                }
                self.dish_wire.push(m).map_err(|_| ())
            }
            ZMQ_RADIO => Ok(radio_accepts_from_wire(&m).then_some(m)),
            _ => Ok(Some(m)),
        }
    }

    /// Hands a decoded message to the socket; gives it back if the pipe is full.
    fn push_msg(&mut self, m: Message) -> Result<(), Message> {
        if m.flags() & (flags::SUBSCRIBE | flags::CANCEL) != 0
            && !matches!(self.options.socket_type, ZMQ_PUB | ZMQ_XPUB)
        {
            // SUBSCRIBE/CANCEL commands mean something only to publishers;
            // anyone else would see their topic as data.
            return Ok(());
        }
        if self.options.socket_type == ZMQ_REQ && !self.req_check(&m) {
            // A malformed reply: drop it silently like an unexpected command
            // would be; the REQ socket itself skips broken envelopes.
            return Ok(());
        }
        match self.pipe.as_mut() {
            Some((_, p)) => p.write(m),
            None => Err(m),
        }
    }

    /// libzmq's req_session_t: a reply is [request id,] empty delimiter, body.
    fn req_check(&mut self, m: &Message) -> bool {
        if m.flags() & flags::COMMAND != 0 {
            return true;
        }
        let more_only = m.more() && m.flags() & !flags::MORE == 0;
        let plain = m.flags() == 0;
        let next = match self.req_state {
            ReqState::Bottom if more_only && m.len() == 4 => Some(ReqState::RequestId),
            ReqState::Bottom if more_only && m.is_empty() => Some(ReqState::Body),
            ReqState::RequestId if more_only && m.is_empty() => Some(ReqState::Body),
            ReqState::Body if more_only => Some(ReqState::Body),
            ReqState::Body if plain => Some(ReqState::Bottom),
            _ => None,
        };
        match next {
            Some(s) => {
                self.req_state = s;
                true
            }
            None => false,
        }
    }

    /// Moves data until nothing more can move now.
    fn pump(&mut self, env: &mut Env<'_>) {
        let mut budget = TURN_BUDGET;
        while let Some(mut conn) = self.conn.take() {
            let mut progress = false;
            let events: Vec<EngineEvent> =
                std::iter::from_fn(|| conn.engine.poll_event()).collect();
            if !events.is_empty() {
                self.conn = Some(conn);
                self.handle_engine_events(env, events);
                match self.conn.take() {
                    Some(c) => conn = c,
                    None => return,
                }
            }
            // Decoded messages into the pipe, stopping at HWM.
            let mut pushed = false;
            if let Some(m) = self.stalled.take() {
                match self.push_msg(m) {
                    Ok(()) => pushed = true,
                    Err(m) => self.stalled = Some(m),
                }
            }
            while self.stalled.is_none() {
                match conn.engine.next_msg(env.now) {
                    Ok(Some(m)) => {
                        let m = match self.unframe(m) {
                            Ok(Some(m)) => m,
                            Ok(None) => continue,
                            Err(()) => {
                                let e = conn.engine.protocol_error();
                                self.conn = Some(conn);
                                self.engine_error(env, e);
                                return;
                            }
                        };
                        if let Err(m) = self.push_msg(m) {
                            self.stalled = Some(m);
                        }
                        pushed = true;
                    }
                    Ok(None) => break,
                    Err(e) => {
                        self.conn = Some(conn);
                        self.engine_error(env, e);
                        return;
                    }
                }
            }
            if pushed {
                progress = true;
                if let Some((_, p)) = self.pipe.as_mut() {
                    p.flush();
                }
            }
            // More bytes from the peer.
            if self.stalled.is_none() && conn.readable {
                let buf = conn.engine.read_buf();
                if !buf.is_empty() {
                    match conn.stream.read(buf) {
                        Ok(0) => {
                            self.conn = Some(conn);
                            self.io_error(env, libc::EPIPE);
                            return;
                        }
                        Ok(n) => {
                            progress = true;
                            if let Err(e) = conn.engine.advance_read(n, env.now) {
                                self.conn = Some(conn);
                                self.engine_error(env, e);
                                return;
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => conn.readable = false,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(e) => {
                            self.conn = Some(conn);
                            self.io_error(env, e.raw_os_error().unwrap_or(libc::ECONNRESET));
                            return;
                        }
                    }
                }
            }
            // Messages from the socket into the engine, after the hello
            // message (ZMQ_HELLO_MSG) that greets every new connection.
            if self.hello_due && conn.engine.can_send() {
                self.hello_due = false;
                conn.engine
                    .send_msg(Message::from_slice(&self.options.hello_msg));
                progress = true;
            }
            if let Some((_, p)) = self.pipe.as_mut() {
                while conn.engine.can_send() {
                    match p.read() {
                        Some(m) if self.options.socket_type == ZMQ_RADIO => {
                            // Group and body as two frames on the wire.
                            for f in radio_to_wire(m) {
                                conn.engine.send_msg(f);
                            }
                        }
                        Some(m) => {
                            self.incomplete_in = m.more();
                            conn.engine.send_msg(m);
                        }
                        None => break,
                    }
                }
            }
            // Bytes to the peer.
            if conn.engine.pending_output() > 0 && conn.writable {
                let result = {
                    let mut slices = [IoSlice::new(&[]); 64];
                    let n = conn.engine.output(&mut slices);
                    conn.stream.write_vectored(&slices[..n])
                };
                match result {
                    Ok(n) => {
                        progress |= n > 0;
                        conn.engine.advance_write(n);
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => conn.writable = false,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        self.conn = Some(conn);
                        self.io_error(env, e.raw_os_error().unwrap_or(libc::ECONNRESET));
                        return;
                    }
                }
            }
            let flushed = conn.engine.pending_output() == 0;
            self.conn = Some(conn);
            if self.flushing && flushed {
                self.finish(env);
                return;
            }
            if !progress {
                break;
            }
            budget -= 1;
            if budget == 0 {
                env.more_work = true;
                break;
            }
        }
    }

    /// The connection failed (`errno`) or the peer closed it (EPIPE).
    fn io_error(&mut self, env: &mut Env<'_>, errno: i32) {
        self.io_errno = errno;
        self.engine_error(
            env,
            EngineError {
                reason: ErrorReason::Connection,
                handshaked: false,
            },
        );
    }

    fn engine_error(&mut self, env: &mut Env<'_>, e: EngineError) {
        if self.flushing {
            // Nothing is left to deliver to anyone.
            self.finish(env);
            return;
        }
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        if e.reason == ErrorReason::Protocol && conn.engine.pending_output() > 0 {
            // A handshake refused with an ERROR command: let it reach the
            // peer, whose monitor reports the reason.
            let mut slices = [IoSlice::new(&[]); 64];
            let n = conn.engine.output(&mut slices);
            let _ = conn.stream.write_vectored(&slices[..n]);
        }
        if conn.engine.is_raw() && self.options.raw_notify {
            // The disconnect, announced as an empty message.
            if let Some((_, p)) = self.pipe.as_mut() {
                let mut m = Message::new();
                m.set_metadata(conn.engine.metadata().cloned());
                let _ = p.write(m);
                p.flush();
            }
        }
        let handshaking = conn.engine.is_handshaking();
        let events: Vec<EngineEvent> = std::iter::from_fn(|| conn.engine.poll_event()).collect();
        for ev in events {
            if let EngineEvent::HandshakeFailed(f) = ev {
                self.report_failure(f, &conn.pair);
            }
        }
        self.zap_close();
        let mut reason = e.reason;
        if reason != ErrorReason::Protocol && handshaking {
            let errno = if reason == ErrorReason::Timeout {
                libc::ETIMEDOUT
            } else {
                self.io_errno
            };
            self.link.monitor.event(
                ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL,
                errno as u64,
                &conn.pair,
            );
            if self.options.reconnect_stop & ZMQ_RECONNECT_STOP_HANDSHAKE_FAILED != 0 {
                reason = ErrorReason::Protocol;
            }
        }
        if !handshaking && self.options.router_notify & ZMQ_NOTIFY_DISCONNECT != 0 {
            if let Some((_, p)) = self.pipe.as_mut() {
                p.rollback();
                let _ = p.write(Message::new());
            }
        }
        self.link
            .monitor
            .event(ZMQ_EVENT_DISCONNECTED, conn.fd as u64, &conn.pair);
        conn.stream.deregister(env.registry);
        drop(conn);
        self.stalled = None;
        let active = self.active();
        if let Some((_, p)) = self.pipe.as_mut() {
            // Drop any half-delivered message in both directions.
            p.rollback();
            p.flush();
            while self.incomplete_in {
                match p.read() {
                    Some(m) => self.incomplete_in = m.more(),
                    None => break,
                }
            }
            self.incomplete_in = false;
            if !active
                && !handshaking
                && self.options.can_recv_disconnect_msg
                && !self.options.disconnect_msg.is_empty()
            {
                p.set_disconnect_msg(Some(Message::from_slice(&self.options.disconnect_msg)));
                p.send_disconnect_msg();
            }
            if active
                && !handshaking
                && self.options.can_recv_hiccup_msg
                && !self.options.hiccup_msg.is_empty()
            {
                let _ = p.write(Message::from_slice(&self.options.hiccup_msg));
                p.flush();
            }
        }
        match reason {
            ErrorReason::Connection | ErrorReason::Timeout if self.active() => self.reconnect(env),
            _ => {
                if self.pending {
                    if let Some((_, p)) = self.pipe.as_mut() {
                        p.terminate(false);
                    }
                } else {
                    self.on_term(env, self.options.linger);
                    if self.done {
                        return;
                    }
                }
            }
        }
        if let Some((_, p)) = self.pipe.as_mut() {
            p.check_read();
        }
    }

    fn reconnect(&mut self, env: &mut Env<'_>) {
        if self.options.immediate == 1 {
            if let Some((k, mut p)) = self.pipe.take() {
                p.terminate(false);
                self.old_pipes.push((k, p));
                self.linger_at = None;
            }
        }
        if self.options.reconnect_ivl > 0 {
            self.start_connecting(env, true);
        } else {
            self.link
                .shared
                .mailbox
                .send(SocketCommand::TermEndpoint(self.endpoint.clone()));
        }
        if matches!(self.options.socket_type, ZMQ_SUB | ZMQ_XSUB | ZMQ_DISH) {
            if let Some((_, p)) = self.pipe.as_mut() {
                p.hiccup();
            }
        }
    }

    /// Ends the session: close the connection and tell the parent.
    fn finish(&mut self, env: &mut Env<'_>) {
        if self.done {
            return;
        }
        if let Some(mut conn) = self.conn.take() {
            // A last chance for output already encoded (linger delivery).
            if conn.engine.pending_output() > 0 {
                let mut slices = [IoSlice::new(&[]); 64];
                let n = conn.engine.output(&mut slices);
                let _ = conn.stream.write_vectored(&slices[..n]);
            }
            conn.stream.deregister(env.registry);
        }
        self.close_connecting(env);
        if let Some(mut z) = self.zap.take() {
            z.pipe.terminate(false);
        }
        self.reconnect_at = None;
        self.done = true;
        match self.parent {
            Parent::Socket => self
                .link
                .shared
                .mailbox
                .send(SocketCommand::ChildGone(self.id)),
            Parent::Listener(parent) => env.requests.push(Request::ChildGone {
                parent,
                child: self.id,
            }),
        }
    }
}
