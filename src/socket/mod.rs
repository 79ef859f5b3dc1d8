//! The blocking socket core (libzmq's socket_base_t) and the hooks each
//! socket type implements.
//!
//! A [`SocketCore`] is owned by one thread at a time: the user's thread while
//! the socket is open, then the reaper after `zmq_close`. It owns the
//! socket-type logic (a [`Pattern`]), its pipes, and the receiving side of its
//! mailbox. Other threads reach it only through [`SocketShared`]: its mailbox
//! (pipe commands, inproc binds, the context's stop) and the sequence counter
//! that keeps it alive while a bind is in flight.
//!
//! A blocking call tries; on EAGAIN it sleeps on the mailbox (bounded by
//! RCVTIMEO/SNDTIMEO), processes the commands that arrived, and retries.

pub(crate) mod channel;
pub(crate) mod client_server;
pub(crate) mod dealer;
pub(crate) mod dgram;
pub(crate) mod dish;
pub(crate) mod dist;
pub(crate) mod fq;
pub(crate) mod lb;
pub(crate) mod pair;
pub(crate) mod pipes;
pub(crate) mod pull;
pub(crate) mod push;
pub(crate) mod radio;
pub(crate) mod radio_dish_wire;
pub(crate) mod rep;
pub(crate) mod req;
pub(crate) mod router;
pub(crate) mod stream;
pub(crate) mod trie;
pub(crate) mod xpub;
pub(crate) mod xsub;

use std::collections::HashSet;
use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::command::{SocketCommand, SocketShared};
use crate::constants::*;
use crate::ctx::{Ctx, Reapable};
use crate::endpoint::EndpointPair;
use crate::error::{Error, Result};
use crate::inproc;
use crate::io::listener::{ListenSock, Listener};
use crate::io::session::{Session, Target};
use crate::io::{next_object_id, IoCommand, IoObject, SocketLink};
use crate::mailbox::Mailbox;
use crate::monitor::Monitor;
use crate::msg::{flags, Message};
use crate::options::{self, OptVal, Options};
use crate::pipe::{pipepair, Pipe, PipeEvent, PipeSink};
use crate::transport::{parse_uri, Protocol};

use pipes::{PipeIdx, Pipes};

/// Why a socket type could not take a frame.
pub(crate) enum SendFail {
    /// No pipe can take it now; the frame is handed back for a retry.
    Again(Message),
    /// A multi-part message lost its pipe part-way; the frame is handed back
    /// and the rest of the message will be dropped (libzmq's `-2`).
    Dropped(Message),
    /// Another error; the frame is handed back.
    Fail(Error, Message),
}

/// The per-socket-type hooks (libzmq's x* virtual methods).
pub(crate) trait Pattern: Send {
    /// A new pipe was attached.
    fn attach(
        &mut self,
        pipes: &mut Pipes,
        opts: &mut Options,
        p: PipeIdx,
        locally_initiated: bool,
    );
    /// Sends a frame.
    fn send(
        &mut self,
        pipes: &mut Pipes,
        opts: &Options,
        msg: Message,
    ) -> std::result::Result<(), SendFail> {
        let _ = (pipes, opts);
        Err(SendFail::Fail(Error::ENOTSUP, msg))
    }
    /// Receives a frame; EAGAIN when none is available.
    fn recv(&mut self, pipes: &mut Pipes, opts: &Options) -> Result<Message> {
        let _ = (pipes, opts);
        Err(Error::ENOTSUP)
    }
    /// Whether a frame can be received without blocking.
    fn has_in(&mut self, pipes: &mut Pipes, _opts: &Options) -> bool {
        let _ = pipes;
        false
    }
    /// Whether a frame can be sent without blocking.
    fn has_out(&mut self, pipes: &mut Pipes, _opts: &Options) -> bool {
        let _ = pipes;
        false
    }
    /// A new pipe to a peer that cannot subscribe (udp://): RADIO sends it
    /// every group. Other types attach it as usual.
    fn attach_subscribe_all(&mut self, pipes: &mut Pipes, opts: &mut Options, p: PipeIdx) {
        self.attach(pipes, opts, p, true);
    }
    /// A pipe has messages again.
    fn read_activated(&mut self, pipes: &mut Pipes, p: PipeIdx) {
        let _ = (pipes, p);
    }
    /// A pipe has room again.
    fn write_activated(&mut self, pipes: &mut Pipes, p: PipeIdx) {
        let _ = (pipes, p);
    }
    /// A pipe is gone; forget it.
    fn pipe_terminated(&mut self, pipes: &mut Pipes, p: PipeIdx);
    /// The peer reconnected and dropped what we had queued to it.
    fn hiccuped(&mut self, pipes: &mut Pipes, p: PipeIdx) {
        let _ = (pipes, p);
    }
    /// Joins a RADIO/DISH group (ENOTSUP for other types).
    fn join(&mut self, pipes: &mut Pipes, group: &[u8]) -> Result<()> {
        let _ = (pipes, group);
        Err(Error::ENOTSUP)
    }
    /// Leaves a RADIO/DISH group (ENOTSUP for other types).
    fn leave(&mut self, pipes: &mut Pipes, group: &[u8]) -> Result<()> {
        let _ = (pipes, group);
        Err(Error::ENOTSUP)
    }
    /// `zmq_socket_get_peer_state` (ENOTSUP but for ROUTER).
    fn peer_state(&mut self, pipes: &mut Pipes, routing_id: &[u8]) -> Result<i32> {
        let _ = (pipes, routing_id);
        Err(Error::ENOTSUP)
    }
    /// A socket-type option; EINVAL lets the common options try.
    fn setsockopt(
        &mut self,
        _pipes: &mut Pipes,
        opts: &mut Options,
        option: i32,
        v: OptVal<'_>,
    ) -> Result<()> {
        let _ = (opts, option, v);
        Err(Error::EINVAL)
    }
    /// A socket-type option read; EINVAL lets the common options try.
    fn getsockopt(&mut self, opts: &Options, option: i32, buf: &mut [u8]) -> Result<usize> {
        let _ = (opts, option, buf);
        Err(Error::EINVAL)
    }
}

/// Creates the hooks for a socket type and sets the type's fixed options.
fn make_pattern(socket_type: i32, opts: &mut Options) -> Result<Box<dyn Pattern>> {
    opts.socket_type = socket_type;
    Ok(match socket_type {
        ZMQ_PAIR => Box::new(pair::Pair::default()),
        ZMQ_PUSH => Box::new(push::Push::default()),
        ZMQ_PULL => Box::new(pull::Pull::default()),
        ZMQ_DEALER => {
            opts.can_send_hello_msg = true;
            opts.can_recv_hiccup_msg = true;
            Box::new(dealer::Dealer::default())
        }
        ZMQ_ROUTER => {
            opts.recv_routing_id = true;
            opts.can_send_hello_msg = true;
            opts.can_recv_disconnect_msg = true;
            Box::new(router::Router::new())
        }
        ZMQ_REQ => Box::new(req::Req::new()),
        ZMQ_REP => {
            opts.recv_routing_id = true;
            Box::new(rep::Rep::new())
        }
        ZMQ_STREAM => {
            opts.raw_socket = true;
            Box::new(stream::Stream::new())
        }
        ZMQ_CLIENT => {
            opts.can_send_hello_msg = true;
            opts.can_recv_hiccup_msg = true;
            Box::new(client_server::Client::new_client())
        }
        ZMQ_SERVER => {
            opts.can_send_hello_msg = true;
            opts.can_recv_disconnect_msg = true;
            Box::new(client_server::Server::new())
        }
        ZMQ_PEER => {
            opts.can_send_hello_msg = true;
            opts.can_recv_disconnect_msg = true;
            opts.can_recv_hiccup_msg = true;
            Box::new(client_server::Server::new())
        }
        ZMQ_CHANNEL => Box::new(channel::Channel::default()),
        ZMQ_SCATTER => Box::new(client_server::Client::scatter()),
        ZMQ_GATHER => Box::new(client_server::Client::gather()),
        ZMQ_RADIO => Box::new(radio::Radio::new()),
        ZMQ_DISH => {
            // Joins are not worth waiting for at close (libzmq dish_t).
            opts.linger = 0;
            Box::new(dish::Dish::new())
        }
        ZMQ_DGRAM => {
            opts.raw_socket = true;
            Box::new(dgram::Dgram::new())
        }
        ZMQ_PUB => Box::new(xpub::XPub::new(true)),
        ZMQ_XPUB => Box::new(xpub::XPub::new(false)),
        ZMQ_SUB => {
            opts.filter = true;
            opts.linger = 0;
            Box::new(xsub::XSub::new(true))
        }
        ZMQ_XSUB => {
            opts.linger = 0;
            Box::new(xsub::XSub::new(false))
        }
        _ => return Err(Error::EINVAL),
    })
}

/// Before a socket thread goes to sleep for a command, it watches its
/// mailbox for about two microseconds (on machines with more than one CPU):
/// a peer that is actively sending or reading usually answers within that,
/// and a sleep costs a poll, an eventfd write on the sender's side and two
/// context switches, several microseconds each. Returns whether a command
/// arrived.
fn spin_for_command(mailbox: &crate::mailbox::Mailbox<SocketCommand>) -> bool {
    let start = crate::util::ticks();
    loop {
        for _ in 0..16 {
            std::hint::spin_loop();
        }
        if !mailbox.is_empty() {
            return true;
        }
        let now = crate::util::ticks();
        if now < start || now - start > crate::util::TICKS_PER_MS / 500 {
            return false;
        }
    }
}

/// Whether there is another CPU to run the peer while this thread spins.
fn spinning_pays() -> bool {
    use std::sync::atomic::{AtomicU8, Ordering};
    // 0: unknown, 1: single CPU (never spin), 2: spin.
    static MODE: AtomicU8 = AtomicU8::new(0);
    match MODE.load(Ordering::Relaxed) {
        0 => {
            let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
            let m = if cpus > 1 { 2 } else { 1 };
            MODE.store(m, Ordering::Relaxed);
            m == 2
        }
        m => m == 2,
    }
}

/// How long `process_commands` may wait for a command.
#[derive(Clone, Copy)]
enum Wait {
    No,
    For(Duration),
    Forever,
}

/// A tcp or ipc endpoint: the listener or connecting session serving it.
struct Endpoint {
    uri: String,
    child: u64,
    io: usize,
    /// Our end of a connect's pipe, while it lives.
    pipe: Option<PipeIdx>,
}

/// The socket itself, owned by one thread at a time.
pub(crate) struct SocketCore {
    ctx: Arc<Ctx>,
    shared: Arc<SocketShared>,
    pub(crate) options: Options,
    pattern: Box<dyn Pattern>,
    pipes: Pipes,
    rcvmore: bool,
    ctx_terminated: bool,
    /// The mailbox is armed and its signal cleared; nothing processed since.
    idle: bool,
    /// When `send` last looked at the mailbox, in [`crate::util::ticks`].
    send_cmd_tick: u64,
    last_endpoint: String,
    /// The pipe attached last (PEER's zmq_connect_peer reports its id).
    last_attached: Option<PipeIdx>,
    /// The pipe being attached leads to a udp:// endpoint.
    udp_attach: bool,
    /// Pipes created by inproc connects, by endpoint (for zmq_disconnect).
    inprocs: Vec<(String, PipeIdx)>,
    terminating: bool,
    term_acks: usize,
    processed_seqnum: u64,
    monitor: Arc<Monitor>,
    endpoints: Vec<Endpoint>,
    /// Children asked to terminate that have not finished yet.
    awaiting: HashSet<u64>,
}

impl SocketCore {
    /// A new socket of `socket_type` registered in `ctx` under `id`.
    pub(crate) fn new(
        ctx: Arc<Ctx>,
        socket_type: i32,
        id: u32,
        mut options: Options,
    ) -> Result<SocketCore> {
        let pattern = make_pattern(socket_type, &mut options)?;
        let mailbox = Mailbox::with_fd().map_err(|e| Error::from_io(&e))?;
        let shared = Arc::new(SocketShared {
            mailbox,
            sent_seqnum: AtomicU64::new(0),
            id,
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

    // ---- commands -------------------------------------------------------

    /// Processes queued commands, first waiting up to `wait` for one if the
    /// mailbox is empty. Returns ETERM once the context is terminating and
    /// EINTR if a signal interrupted the wait.
    fn process_commands(&mut self, wait: Wait) -> Result<()> {
        let timeout = match wait {
            Wait::No => None,
            Wait::For(d) => Some(Some(d)),
            Wait::Forever => Some(None),
        };
        if let Some(t) = timeout {
            if self.shared.mailbox.is_empty() && !self.spin_for_command() && self.arm() {
                match self.shared.mailbox.wait(t) {
                    Ok(_) => {}
                    Err(e) if e.raw_os_error() == Some(libc::EINTR) => return Err(Error::EINTR),
                    Err(e) => return Err(Error::from_io(&e)),
                }
                // The signal may be raised now; the next arm clears it.
                self.idle = false;
            }
        } else if self.idle && self.shared.mailbox.is_empty() {
            return self.term_check();
        }
        self.drain_mailbox();
        self.term_check()
    }

    /// Watches the mailbox for a moment before sleeping (see
    /// [`spin_for_command`]), with senders told not to signal meanwhile:
    /// waking a sleeper nobody has yet is a wasted eventfd write and read.
    fn spin_for_command(&mut self) -> bool {
        if !spinning_pays() {
            return false;
        }
        self.shared.mailbox.quiet();
        self.idle = false;
        spin_for_command(&self.shared.mailbox)
    }

    /// Makes the mailbox signal the next command; `false` if one is pending.
    fn arm(&mut self) -> bool {
        if self.idle {
            return self.shared.mailbox.is_empty();
        }
        if self.shared.mailbox.arm() {
            self.idle = true;
            true
        } else {
            false
        }
    }

    fn drain_mailbox(&mut self) {
        loop {
            while let Some(cmd) = self.shared.mailbox.try_recv() {
                self.idle = false;
                self.process_command(cmd);
            }
            if self.arm() {
                break;
            }
        }
    }

    fn term_check(&self) -> Result<()> {
        if self.ctx_terminated {
            Err(Error::ETERM)
        } else {
            Ok(())
        }
    }

    fn process_command(&mut self, cmd: SocketCommand) {
        match cmd {
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

    fn pipe_event(&mut self, idx: PipeIdx, ev: PipeEvent) {
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

    fn pipe_terminated(&mut self, idx: PipeIdx) {
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

    // ---- options --------------------------------------------------------

    /// `zmq_setsockopt`.
    pub(crate) fn setsockopt(&mut self, option: i32, v: OptVal<'_>) -> Result<()> {
        self.term_check()?;
        match self
            .pattern
            .setsockopt(&mut self.pipes, &mut self.options, option, v)
        {
            Err(Error::EINVAL) => {}
            other => return other,
        }
        self.options.set(option, v)?;
        if option == ZMQ_SNDHWM || option == ZMQ_RCVHWM {
            let (snd, rcv) = (self.options.sndhwm, self.options.rcvhwm);
            for idx in self.pipes.indices() {
                let p = self.pipes.get(idx);
                p.set_hwms(rcv, snd);
                p.send_hwms_to_peer(snd, rcv);
            }
        }
        Ok(())
    }

    /// `zmq_getsockopt`: writes the value into `buf` and returns its length.
    pub(crate) fn getsockopt(&mut self, option: i32, buf: &mut [u8]) -> Result<usize> {
        self.term_check()?;
        match self.pattern.getsockopt(&self.options, option, buf) {
            Err(Error::EINVAL) => {}
            other => return other,
        }
        // The socket's own values accept any buffer at least as large and
        // report their size, unlike the common int options (libzmq quirk).
        let int = |buf: &mut [u8], v: i32| options::put_bytes(buf, &v.to_ne_bytes());
        match option {
            ZMQ_RCVMORE => int(buf, self.rcvmore as i32),
            ZMQ_FD if is_thread_safe(self.options.socket_type) => Err(Error::EINVAL),
            ZMQ_FD => int(buf, self.fd()),
            ZMQ_EVENTS => {
                self.process_commands(Wait::No)?;
                let ev = self.events();
                int(buf, ev)
            }
            ZMQ_LAST_ENDPOINT => {
                let ep = self.last_endpoint.clone();
                options::put_str(buf, &ep)
            }
            ZMQ_THREAD_SAFE => int(buf, is_thread_safe(self.options.socket_type) as i32),
            _ => self.options.get(option, buf),
        }
    }

    /// ZMQ_POLLIN / ZMQ_POLLOUT readiness, after processing pending commands.
    pub(crate) fn poll_events(&mut self) -> Result<i32> {
        self.term_check()?;
        self.process_commands(Wait::No)?;
        Ok(self.events())
    }

    fn events(&mut self) -> i32 {
        let mut ev = 0;
        if self.pattern.has_out(&mut self.pipes, &self.options) {
            ev |= ZMQ_POLLOUT;
        }
        if self.pattern.has_in(&mut self.pipes, &self.options) {
            ev |= ZMQ_POLLIN;
        }
        ev
    }

    pub(crate) fn ctx(&self) -> &Arc<Ctx> {
        &self.ctx
    }

    /// `zmq_socket_monitor_versioned`.
    pub(crate) fn monitor(
        &mut self,
        endpoint: Option<&str>,
        events: u64,
        version: i32,
        socket_type: i32,
    ) -> Result<()> {
        self.term_check()?;
        self.monitor
            .start(&self.ctx, endpoint, events, version, socket_type)
    }

    /// `zmq_socket_monitor_pipes_stats`: every pipe reports its queue lengths
    /// as a ZMQ_EVENT_PIPES_STATS event.
    pub(crate) fn pipes_stats(&mut self) -> Result<()> {
        if !self.monitor.wants(ZMQ_EVENT_PIPES_STATS) {
            return Err(Error::EINVAL);
        }
        let idxs = self.pipes.indices();
        if idxs.is_empty() {
            return Err(Error::EAGAIN);
        }
        for i in idxs {
            self.pipes.peek(i).request_stats();
        }
        Ok(())
    }

    /// `zmq_join`.
    pub(crate) fn join(&mut self, group: &[u8]) -> Result<()> {
        self.pattern.join(&mut self.pipes, group)
    }

    /// `zmq_leave`.
    pub(crate) fn leave(&mut self, group: &[u8]) -> Result<()> {
        self.pattern.leave(&mut self.pipes, group)
    }

    /// `zmq_socket_get_peer_state`.
    pub(crate) fn peer_state(&mut self, routing_id: &[u8]) -> Result<i32> {
        self.pattern.peer_state(&mut self.pipes, routing_id)
    }

    // ---- endpoints ------------------------------------------------------

    /// `zmq_bind`.
    pub(crate) fn bind(&mut self, endpoint: &str) -> Result<()> {
        self.term_check()?;
        self.process_commands(Wait::No)?;
        let (proto, addr) = parse_uri(endpoint)?;
        match proto {
            Protocol::Inproc => {
                let ep = inproc::InprocEndpoint {
                    socket: Arc::clone(&self.shared),
                    options: self.options.clone(),
                };
                let pending = self.ctx.inproc().register(endpoint, ep)?;
                for p in pending {
                    self.connect_pending(p);
                }
                self.last_endpoint = endpoint.to_owned();
                self.options.connected = true;
                Ok(())
            }
            Protocol::Udp => self.open_udp(endpoint, addr, true),
            Protocol::Tcp | Protocol::Ipc => {
                let addr = addr.to_owned();
                match self.bind_stream(proto, &addr) {
                    Ok(()) => Ok(()),
                    Err(e) => {
                        let pair = EndpointPair {
                            local: addr,
                            remote: String::new(),
                            bound: true,
                        };
                        self.monitor
                            .event(ZMQ_EVENT_BIND_FAILED, e.to_raw() as u64, &pair);
                        Err(e)
                    }
                }
            }
        }
    }

    fn link(&self) -> SocketLink {
        SocketLink {
            shared: Arc::clone(&self.shared),
            monitor: Arc::clone(&self.monitor),
        }
    }

    /// Binds a tcp or ipc endpoint and hands the listener to an I/O thread.
    fn bind_stream(&mut self, proto: Protocol, addr: &str) -> Result<()> {
        let (io, mailbox) = self.ctx.choose_io_thread(self.options.affinity)?;
        let use_fd = self.options.use_fd;
        let (sock, endpoint, ipc_file, fd) = match proto {
            Protocol::Tcp => {
                let sock = if use_fd != -1 {
                    // SAFETY: ZMQ_USE_FD hands us a bound, listening socket we now own.
                    let s = unsafe { socket2::Socket::from_raw_fd(use_fd) };
                    s.set_nonblocking(true)?;
                    s
                } else {
                    let a = crate::transport::tcp::resolve(addr, true, self.options.ipv6)?;
                    crate::transport::tcp::listen(&a.addr, &self.options)?
                };
                let local = sock.local_addr()?.as_socket().ok_or(Error::EINVAL)?;
                let endpoint = crate::transport::tcp::to_uri(&local);
                let fd = sock.as_raw_fd();
                (
                    ListenSock::Tcp(mio::net::TcpListener::from_std(sock.into())),
                    endpoint,
                    None,
                    fd,
                )
            }
            Protocol::Ipc => {
                if use_fd != -1 {
                    // SAFETY: ZMQ_USE_FD hands us a bound, listening socket we now own.
                    let s = unsafe { socket2::Socket::from_raw_fd(use_fd) };
                    s.set_nonblocking(true)?;
                    crate::transport::ipc::sockaddr(addr)?;
                    let fd = s.as_raw_fd();
                    (
                        ListenSock::Ipc(mio::net::UnixListener::from_std(s.into())),
                        format!("ipc://{addr}"),
                        None,
                        fd,
                    )
                } else {
                    let l = crate::transport::ipc::listen(addr, &self.options)?;
                    let fd = l.socket.as_raw_fd();
                    let file = Some((l.path.clone(), l.tmp_dir.clone()));
                    (
                        ListenSock::Ipc(mio::net::UnixListener::from_std(l.socket.into())),
                        l.endpoint,
                        file,
                        fd,
                    )
                }
            }
            Protocol::Inproc | Protocol::Udp => return Err(Error::EINVAL),
        };
        let id = next_object_id();
        let pair = EndpointPair {
            local: endpoint.clone(),
            remote: String::new(),
            bound: true,
        };
        self.monitor.event(ZMQ_EVENT_LISTENING, fd as u64, &pair);
        let listener = Listener::new(
            id,
            sock,
            endpoint.clone(),
            self.link(),
            self.options.clone(),
            ipc_file,
        );
        mailbox.send(IoCommand::Launch(IoObject::Listener(Box::new(listener))));
        self.shared.mailbox.send(SocketCommand::Launched);
        self.endpoints.push(Endpoint {
            uri: endpoint.clone(),
            child: id,
            io,
            pipe: None,
        });
        self.last_endpoint = endpoint;
        self.options.connected = true;
        Ok(())
    }

    /// Connects a tcp or ipc endpoint through a session in an I/O thread.
    fn connect_stream(&mut self, proto: Protocol, uri: &str, addr: &str) -> Result<()> {
        let target = match proto {
            Protocol::Tcp => {
                crate::transport::tcp::check_connect_syntax(addr)?;
                Target::Tcp(addr.to_owned())
            }
            Protocol::Ipc => {
                crate::transport::ipc::sockaddr(addr)?;
                Target::Ipc(addr.to_owned())
            }
            Protocol::Inproc | Protocol::Udp => return Err(Error::EINVAL),
        };
        let single = matches!(
            self.options.socket_type,
            ZMQ_DEALER | ZMQ_SUB | ZMQ_PUB | ZMQ_REQ
        );
        if single && self.endpoints.iter().any(|e| e.uri == uri) {
            return Ok(());
        }
        let (io, mailbox) = self.ctx.choose_io_thread(self.options.affinity)?;
        let mut pipe_idx = None;
        let mut session_pipe = None;
        if self.options.immediate != 1 {
            let conflate = self.options.conflate_applies();
            let hwms = if conflate {
                [-1, -1]
            } else {
                [self.options.sndhwm, self.options.rcvhwm]
            };
            let (mut ours, mut theirs) = pipepair(hwms, [conflate, conflate]);
            let pair = EndpointPair {
                local: String::new(),
                remote: uri.to_owned(),
                bound: false,
            };
            ours.set_endpoint(Some(pair.clone()));
            theirs.set_endpoint(Some(pair));
            pipe_idx = Some(self.attach_pipe(ours, true));
            session_pipe = Some(theirs);
        }
        let id = next_object_id();
        let session = Session::connecter(
            id,
            self.link(),
            self.options.clone(),
            target,
            uri.to_owned(),
            session_pipe,
        );
        mailbox.send(IoCommand::Launch(IoObject::Session(Box::new(session))));
        self.shared.mailbox.send(SocketCommand::Launched);
        self.endpoints.push(Endpoint {
            uri: uri.to_owned(),
            child: id,
            io,
            pipe: pipe_idx,
        });
        self.last_endpoint = uri.to_owned();
        self.options.connected = true;
        Ok(())
    }

    /// Asks an endpoint's listener or session to finish.
    fn term_child(&mut self, e: Endpoint) {
        if let Some(p) = e.pipe {
            if self.pipes.by_idx_live(p) {
                self.pipes.get(p).terminate(false);
            }
        }
        if let Some(mb) = self.ctx.io_mailbox(e.io) {
            self.awaiting.insert(e.child);
            mb.send(IoCommand::Term {
                id: e.child,
                linger: self.options.linger,
            });
        }
    }

    /// Completes an inproc connection that was made before this bind.
    fn connect_pending(&mut self, p: inproc::PendingConnection) {
        let (pipe, frames) = inproc::accept_pending(p, &self.options);
        // Attaching cannot remove the pipe: that takes the peer's final
        // acknowledgement, which only answers a termination we start.
        let idx = self.attach_pipe(pipe, false);
        let p = self.pipes.get(idx);
        for f in frames {
            p.write_forced(f);
        }
    }

    /// `zmq_connect_peer`: connects a PEER socket and returns the routing id
    /// of the pipe the connect attached (so it needs ZMQ_IMMEDIATE off).
    pub(crate) fn connect_peer(&mut self, endpoint: &str) -> Result<u32> {
        if self.options.socket_type != ZMQ_PEER {
            return Err(Error::ENOTSUP);
        }
        if self.options.immediate == 1 {
            return Err(Error::EFAULT);
        }
        self.last_attached = None;
        self.connect(endpoint)?;
        match self.last_attached {
            Some(idx) => Ok(self.pipes.peek(idx).server_routing_id()),
            None => Err(Error::EFAULT),
        }
    }

    /// `zmq_connect`.
    pub(crate) fn connect(&mut self, endpoint: &str) -> Result<()> {
        self.term_check()?;
        self.process_commands(Wait::No)?;
        let (proto, addr) = parse_uri(endpoint)?;
        match proto {
            Protocol::Inproc => {
                self.connect_inproc(endpoint);
                Ok(())
            }
            Protocol::Udp => self.open_udp(endpoint, addr, false),
            Protocol::Tcp | Protocol::Ipc => self.connect_stream(proto, endpoint, addr),
        }
    }

    /// A udp:// bind or connect: a UDP socket in an I/O thread and one pipe
    /// to it, created at once (libzmq runs it as an active session).
    fn open_udp(&mut self, uri: &str, addr: &str, bind: bool) -> Result<()> {
        crate::transport::udp::check_socket_type(self.options.socket_type, bind)?;
        let resolved = crate::transport::udp::UdpAddress::resolve(addr, bind, self.options.ipv6)?;
        let (io, mailbox) = self.ctx.choose_io_thread(self.options.affinity)?;
        let (ours, theirs) = pipepair([self.options.sndhwm, self.options.rcvhwm], [false, false]);
        // A RADIO sends everything to a udp peer: it cannot say what it joined.
        self.udp_attach = true;
        let idx = self.attach_pipe(ours, true);
        self.udp_attach = false;
        let id = next_object_id();
        let last = resolved.address.clone();
        let session = crate::io::udp::UdpSession::new(
            id,
            self.link(),
            self.options.clone(),
            resolved,
            theirs,
        );
        mailbox.send(IoCommand::Launch(IoObject::Udp(Box::new(session))));
        self.shared.mailbox.send(SocketCommand::Launched);
        self.endpoints.push(Endpoint {
            uri: uri.to_owned(),
            child: id,
            io,
            pipe: Some(idx),
        });
        // libzmq reports the address without its scheme for udp.
        self.last_endpoint = last;
        self.options.connected = true;
        Ok(())
    }

    fn connect_inproc(&mut self, endpoint: &str) {
        let ours = match inproc::connect(
            self.ctx.inproc(),
            endpoint,
            &self.options,
            inproc::IfUnbound::Pend,
        ) {
            Ok(p) => p,
            // Pend never fails; keep the books straight if that changes.
            Err(_) => return,
        };
        let idx = self.attach_pipe(ours, true);
        self.last_endpoint = endpoint.to_owned();
        self.inprocs.push((endpoint.to_owned(), idx));
        self.options.connected = true;
    }

    /// `zmq_unbind` and `zmq_disconnect`.
    pub(crate) fn term_endpoint(&mut self, endpoint: &str) -> Result<()> {
        self.term_check()?;
        self.process_commands(Wait::No)?;
        self.term_endpoint_inner(endpoint)
    }

    fn term_endpoint_inner(&mut self, endpoint: &str) -> Result<()> {
        let (proto, addr) = parse_uri(endpoint)?;
        match proto {
            Protocol::Inproc => {
                if self.ctx.inproc().unregister(endpoint, self.id()) {
                    return Ok(());
                }
                let matching: Vec<PipeIdx> = self
                    .inprocs
                    .iter()
                    .filter(|(e, _)| e == endpoint)
                    .map(|(_, p)| *p)
                    .collect();
                if matching.is_empty() {
                    return Err(Error::ENOENT);
                }
                self.inprocs.retain(|(e, _)| e != endpoint);
                for idx in matching {
                    let p = self.pipes.get(idx);
                    p.send_disconnect_msg();
                    p.terminate(true);
                }
                Ok(())
            }
            Protocol::Tcp | Protocol::Ipc | Protocol::Udp => {
                let mut candidates = vec![endpoint.to_owned()];
                if proto == Protocol::Tcp {
                    for bindable in [false, true] {
                        if let Ok(a) =
                            crate::transport::tcp::resolve(addr, bindable, self.options.ipv6)
                        {
                            candidates.push(crate::transport::tcp::to_uri(&a.addr));
                        }
                    }
                }
                let Some(uri) = candidates
                    .into_iter()
                    .find(|c| self.endpoints.iter().any(|e| &e.uri == c))
                else {
                    return Err(Error::ENOENT);
                };
                let (matching, rest): (Vec<Endpoint>, Vec<Endpoint>) =
                    std::mem::take(&mut self.endpoints)
                        .into_iter()
                        .partition(|e| e.uri == uri);
                self.endpoints = rest;
                for e in matching {
                    self.term_child(e);
                }
                Ok(())
            }
        }
    }

    // ---- messages -------------------------------------------------------

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
        // Blocking sends wait for commands below.
        let now = crate::util::ticks();
        if now < self.send_cmd_tick || now - self.send_cmd_tick > crate::util::TICKS_PER_MS {
            self.send_cmd_tick = now;
            if let Err(e) = self.process_commands(Wait::No) {
                return Err((e, msg));
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

    fn got(&mut self, m: Message) -> Message {
        self.rcvmore = m.more();
        m
    }

    // ---- termination ----------------------------------------------------

    /// Starts closing (called by the reaper): stop accepting peers, ask
    /// every pipe to terminate, and wait for their acknowledgements.
    pub(crate) fn start_termination(&mut self) {
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
        self.drain_mailbox();
        self.term_acks == 0
            && self.pipes.len() == 0
            && self.awaiting.is_empty()
            && self.processed_seqnum == self.shared.sent_seqnum.load(Ordering::Acquire)
    }
}

/// Creates a socket of `socket_type` in `ctx` (`zmq_socket`).
pub(crate) fn create(ctx: &Arc<Ctx>, socket_type: i32) -> Result<SocketCore> {
    ctx.add_socket(|id, options| {
        let core = SocketCore::new(Arc::clone(ctx), socket_type, id, options)?;
        let shared = Arc::clone(core.shared());
        Ok((core, shared))
    })
}

impl Reapable for SocketCore {
    fn id(&self) -> u32 {
        SocketCore::id(self)
    }
    fn fd(&self) -> std::os::fd::RawFd {
        SocketCore::fd(self)
    }
    fn start_termination(&mut self) {
        SocketCore::start_termination(self);
    }
    fn reap_step(&mut self) -> bool {
        SocketCore::reap_step(self)
    }
}

impl Drop for SocketCore {
    fn drop(&mut self) {
        // Last of all, as libzmq: events raised while closing (CLOSED,
        // DISCONNECTED) reach the monitor before MONITOR_STOPPED.
        self.monitor.stop(true);
    }
}

/// The draft socket types libzmq makes thread-safe.
pub(crate) fn is_thread_safe(socket_type: i32) -> bool {
    matches!(
        socket_type,
        ZMQ_CLIENT
            | ZMQ_SERVER
            | ZMQ_SCATTER
            | ZMQ_GATHER
            | ZMQ_RADIO
            | ZMQ_DISH
            | ZMQ_PEER
            | ZMQ_CHANNEL
            | ZMQ_DGRAM
    )
}

fn deadline(timeo_ms: i32) -> Option<Instant> {
    if timeo_ms < 0 {
        None
    } else {
        Some(Instant::now() + Duration::from_millis(timeo_ms as u64))
    }
}

fn wait_until(deadline: Option<Instant>) -> Wait {
    match deadline {
        None => Wait::Forever,
        Some(d) => Wait::For(d.saturating_duration_since(Instant::now())),
    }
}
