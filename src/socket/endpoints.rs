//! A socket's endpoints: `zmq_bind`, `zmq_connect`, `zmq_unbind` and
//! `zmq_disconnect` over inproc (through [`crate::inproc`]), tcp and ipc
//! (a listener or a connecting session handed to an I/O thread) and udp.

use std::os::fd::{AsRawFd, FromRawFd};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::pipes::PipeIdx;
use super::wait::Wait;
use super::*;
use crate::command::SocketCommand;
use crate::constants::*;
use crate::endpoint::EndpointPair;
use crate::error::{Error, Result};
use crate::inproc;
use crate::io::connecter::Target;
use crate::io::engine::EngineKind;
use crate::io::listener::{ListenSock, Listener};
use crate::io::session::Session;
use crate::io::{next_object_id, IoCommand, IoObject, SocketLink};
use crate::pipe::pipepair;
use crate::transport::{parse_uri, Protocol};
use crate::ws::WsEndpoint;

impl SocketCore {
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
            // A multicast bind is a connect (libzmq: "for convenience").
            Protocol::Pgm | Protocol::Epgm => self.open_pgm(proto, endpoint, addr),
            Protocol::Norm => self.open_norm(endpoint, addr),
            Protocol::Tcp | Protocol::Ipc | Protocol::Ws | Protocol::Wss => {
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

    pub(super) fn link(&self) -> SocketLink {
        SocketLink {
            shared: Arc::clone(&self.shared),
            monitor: Arc::clone(&self.monitor),
        }
    }

    /// Binds a tcp, ipc, ws or wss endpoint and hands the listener to an
    /// I/O thread.
    pub(super) fn bind_stream(&mut self, proto: Protocol, addr: &str) -> Result<()> {
        let (io, mailbox) = self.ctx.choose_io_thread(self.options.affinity)?;
        let use_fd = self.options.use_fd;
        let mut kind = EngineKind::Zmtp;
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
            Protocol::Ws | Protocol::Wss => {
                let ep = WsEndpoint::parse(addr, proto == Protocol::Wss)?;
                // libzmq loads the credentials when it binds (and aborts
                // on bad ones); a bind that cannot serve TLS fails here.
                let tls = match ep.secure {
                    true => Some(self.options.wss.server().map_err(|_| Error::EINVAL)?),
                    false => None,
                };
                let a = crate::transport::tcp::resolve(&ep.authority, true, self.options.ipv6)?;
                let sock = crate::transport::tcp::listen(&a.addr, &self.options)?;
                let local = sock.local_addr()?.as_socket().ok_or(Error::EINVAL)?;
                let fd = sock.as_raw_fd();
                kind = EngineKind::WsServer(tls);
                (
                    ListenSock::Tcp(mio::net::TcpListener::from_std(sock.into())),
                    ep.bound_uri(&local),
                    None,
                    fd,
                )
            }
            Protocol::Inproc | Protocol::Udp | Protocol::Pgm | Protocol::Epgm | Protocol::Norm => {
                return Err(Error::EINVAL)
            }
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
            kind,
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

    /// Connects a tcp, ipc, ws or wss endpoint through a session in an I/O
    /// thread.
    pub(super) fn connect_stream(&mut self, proto: Protocol, uri: &str, addr: &str) -> Result<()> {
        let (target, kind) = match proto {
            Protocol::Tcp => {
                crate::transport::tcp::check_connect_syntax(addr)?;
                (Target::Tcp(addr.to_owned()), EngineKind::Zmtp)
            }
            Protocol::Ipc => {
                crate::transport::ipc::sockaddr(addr)?;
                (Target::Ipc(addr.to_owned()), EngineKind::Zmtp)
            }
            Protocol::Ws | Protocol::Wss => {
                let ep = WsEndpoint::parse(addr, proto == Protocol::Wss)?;
                crate::transport::tcp::check_connect_syntax(&ep.authority)?;
                // Built once per connect: loading the system's trust store
                // is not cheap.
                let tls = match ep.secure {
                    true => Some(self.options.wss.client().map_err(|_| Error::EINVAL)?),
                    false => None,
                };
                let kind = EngineKind::WsClient {
                    host: ep.host,
                    path: ep.path,
                    tls,
                };
                (Target::Ws(ep.authority), kind)
            }
            Protocol::Inproc | Protocol::Udp | Protocol::Pgm | Protocol::Epgm | Protocol::Norm => {
                return Err(Error::EINVAL)
            }
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
        let session = Session::connecter(
            self.link(),
            self.options.clone(),
            target,
            uri.to_owned(),
            session_pipe,
            kind,
        );
        let id = session.id;
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
    pub(super) fn term_child(&mut self, e: Endpoint) {
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
    pub(super) fn connect_pending(&mut self, p: inproc::PendingConnection) {
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
            Protocol::Pgm | Protocol::Epgm => self.open_pgm(proto, endpoint, addr),
            Protocol::Norm => self.open_norm(endpoint, addr),
            Protocol::Tcp | Protocol::Ipc | Protocol::Ws | Protocol::Wss => {
                self.connect_stream(proto, endpoint, addr)
            }
        }
    }

    /// A udp:// bind or connect: a UDP socket in an I/O thread and one pipe
    /// to it, created at once (libzmq runs it as an active session).
    pub(super) fn open_udp(&mut self, uri: &str, addr: &str, bind: bool) -> Result<()> {
        crate::transport::udp::check_socket_type(self.options.socket_type, bind)?;
        let resolved = crate::transport::udp::UdpAddress::resolve(addr, bind, self.options.ipv6)?;
        let (io, mailbox) = self.ctx.choose_io_thread(self.options.affinity)?;
        let (ours, theirs) = pipepair([self.options.sndhwm, self.options.rcvhwm], [false, false]);
        // A RADIO sends everything to a udp peer: it cannot say what it joined.
        let idx = self.attach_datagram_pipe(ours);
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
        // libzmq reports the address without its scheme for udp.
        self.launched_datagram(uri, io, id, idx, last);
        Ok(())
    }

    /// Attaches the socket's end of a datagram endpoint's pipe (udp, pgm)
    /// as one to which everything is sent: the peer cannot subscribe.
    fn attach_datagram_pipe(&mut self, ours: Pipe) -> PipeIdx {
        self.udp_attach = true;
        let idx = self.attach_pipe(ours, true);
        self.udp_attach = false;
        idx
    }

    /// Records a datagram endpoint whose I/O object `id` was just launched
    /// in I/O thread `io`, with pipe `idx`; `last` is its ZMQ_LAST_ENDPOINT.
    fn launched_datagram(&mut self, uri: &str, io: usize, id: u64, idx: PipeIdx, last: String) {
        self.shared.mailbox.send(SocketCommand::Launched);
        self.endpoints.push(Endpoint {
            uri: uri.to_owned(),
            child: id,
            io,
            pipe: Some(idx),
        });
        self.last_endpoint = last;
        self.options.connected = true;
    }

    /// A pgm:// or epgm:// connect (or bind): the sockets open here, so
    /// that their failure is this call's; then one I/O object and one pipe,
    /// to which a PUB/XPUB sends everything (PGM carries no subscriptions).
    pub(super) fn open_pgm(&mut self, proto: Protocol, uri: &str, addr: &str) -> Result<()> {
        crate::transport::pgm::check_socket_type(self.options.socket_type)?;
        let parsed = crate::transport::pgm::parse(addr)?;
        let (io, mailbox) = self.ctx.choose_io_thread(self.options.affinity)?;
        let id = next_object_id();
        let mut session = crate::io::pgm::PgmSession::open(
            id,
            self.link(),
            &self.options,
            parsed,
            proto == Protocol::Pgm,
        )?;
        let (ours, theirs) = pipepair([self.options.sndhwm, self.options.rcvhwm], [false, false]);
        let idx = self.attach_datagram_pipe(ours);
        session.set_pipe(theirs);
        mailbox.send(IoCommand::Launch(IoObject::Pgm(Box::new(session))));
        self.launched_datagram(uri, io, id, idx, uri.to_owned());
        Ok(())
    }

    /// A norm:// connect (or bind): libnorm starts here, so that its
    /// failure is this call's; then one I/O object and one pipe, to which a
    /// PUB/XPUB sends everything (NORM carries no subscriptions). Without
    /// libnorm installed the transport does not exist: EPROTONOSUPPORT.
    pub(super) fn open_norm(&mut self, uri: &str, addr: &str) -> Result<()> {
        if !crate::io::libnorm::available() {
            return Err(Error::EPROTONOSUPPORT);
        }
        crate::transport::pgm::check_socket_type(self.options.socket_type)?;
        let parsed = crate::transport::norm::parse(addr)?;
        let (io, mailbox) = self.ctx.choose_io_thread(self.options.affinity)?;
        let id = next_object_id();
        let mut session =
            crate::io::norm::NormSession::open(id, self.link(), &self.options, &parsed)?;
        let (ours, theirs) = pipepair([self.options.sndhwm, self.options.rcvhwm], [false, false]);
        let idx = self.attach_datagram_pipe(ours);
        session.set_pipe(theirs);
        mailbox.send(IoCommand::Launch(IoObject::Norm(Box::new(session))));
        self.launched_datagram(uri, io, id, idx, uri.to_owned());
        Ok(())
    }

    pub(super) fn connect_inproc(&mut self, endpoint: &str) {
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

    pub(super) fn term_endpoint_inner(&mut self, endpoint: &str) -> Result<()> {
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
            Protocol::Tcp
            | Protocol::Ipc
            | Protocol::Udp
            | Protocol::Ws
            | Protocol::Wss
            | Protocol::Pgm
            | Protocol::Epgm
            | Protocol::Norm => {
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
                if self.options.reconnect_stop & ZMQ_RECONNECT_STOP_AFTER_DISCONNECT != 0 {
                    self.shared.disconnected.store(true, Ordering::Release);
                }
                Ok(())
            }
        }
    }
}
