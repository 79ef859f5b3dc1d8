//! The udp:// transport (libzmq src/udp_engine.cpp): one UDP socket per
//! bind or connect, driven by the I/O thread, joined to the socket by one
//! pipe. RADIO sends every message as one datagram (group and body), DISH
//! receives them (its own JOIN/LEAVE frames have no meaning here and are
//! dropped; the DISH filters by group), DGRAM sends and receives raw
//! datagrams with an address frame in front. There is no connection: a
//! datagram that does not fit the pipe is dropped, as in libzmq.

use std::io;
use std::net::SocketAddr;

use mio::net::UdpSocket;
use mio::Interest;

use super::{Env, SocketLink};
use crate::command::SocketCommand;
use crate::constants::*;
use crate::msg::Message;
use crate::options::Options;
use crate::pipe::{Pipe, PipeCommand, PipeEvent};
use crate::transport::udp::{self, UdpAddress};

/// One udp:// endpoint of a socket.
pub(crate) struct UdpSession {
    pub id: u64,
    link: SocketLink,
    options: Options,
    addr: UdpAddress,
    sends: bool,
    receives: bool,
    sock: Option<UdpSocket>,
    pipe: Option<(u64, Pipe)>,
    /// Our end of the pipe, until `start` attaches it.
    initial_pipe: Option<Pipe>,
    /// A datagram the kernel would not take yet.
    pending: Option<(Vec<u8>, SocketAddr)>,
    /// DGRAM: the address frame of the message being assembled.
    dgram_to: Option<Option<SocketAddr>>,
    terminating: bool,
    done: bool,
    /// The socket opened by `new`, until `start` registers it.
    unregistered: Option<UdpSocket>,
}

impl UdpSession {
    /// A session for `addr` (already resolved and checked for the socket
    /// type), owning `pipe`'s far end. The UDP socket is opened here, in the
    /// caller's thread, so that a bind has happened when zmq_bind returns:
    /// datagrams sent to it from then on are not lost to a closed port.
    pub fn new(id: u64, link: SocketLink, options: Options, addr: UdpAddress, pipe: Pipe) -> Self {
        let (sends, receives) = udp::engine_directions(options.socket_type).unwrap_or_default();
        let mut session = UdpSession {
            id,
            link,
            options,
            addr,
            sends,
            receives,
            sock: None,
            pipe: None,
            initial_pipe: Some(pipe),
            pending: None,
            dgram_to: None,
            terminating: false,
            done: false,
            unregistered: None,
        };
        // libzmq leaves an endpoint that cannot open idle (zmq_bind still
        // succeeds); so do we, keeping the pipe so that sends queue (and
        // drop at HWM) as they would.
        session.unregistered = session.open().ok();
        session
    }

    /// Whether the session has finished.
    pub fn is_done(&self) -> bool {
        self.done
    }

    fn open(&self) -> io::Result<UdpSocket> {
        let a = &self.addr;
        let domain = if a.is_ipv6() {
            socket2::Domain::IPV6
        } else {
            socket2::Domain::IPV4
        };
        let s = socket2::Socket::new(domain, socket2::Type::DGRAM, Some(socket2::Protocol::UDP))?;
        s.set_nonblocking(true)?;
        s.set_cloexec(true)?;
        if self.receives {
            s.set_reuse_address(true)?;
            if a.multicast {
                s.set_reuse_port(true)?;
            }
            s.bind(&a.recv_bind_addr().into())?;
            if a.multicast {
                match a.target.ip() {
                    std::net::IpAddr::V4(group) => {
                        let iface = a
                            .multicast_if_v4()
                            .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED);
                        s.join_multicast_v4(&group, &iface)?;
                    }
                    std::net::IpAddr::V6(group) => {
                        s.join_multicast_v6(&group, a.bind_if.max(0) as u32)?;
                    }
                }
            }
        }
        if self.sends && a.multicast {
            if a.is_ipv6() {
                s.set_multicast_loop_v6(self.options.multicast_loop)?;
                if self.options.multicast_hops > 0 {
                    s.set_multicast_hops_v6(self.options.multicast_hops as u32)?;
                }
                if a.bind_if > 0 {
                    s.set_multicast_if_v6(a.bind_if as u32)?;
                }
            } else {
                s.set_multicast_loop_v4(self.options.multicast_loop)?;
                if self.options.multicast_hops > 0 {
                    s.set_multicast_ttl_v4(self.options.multicast_hops as u32)?;
                }
                if let Some(iface) = a.multicast_if_v4().filter(|i| !i.is_unspecified()) {
                    s.set_multicast_if_v4(&iface)?;
                }
            }
        }
        Ok(UdpSocket::from_std(s.into()))
    }

    /// Opens the socket and attaches the pipe.
    pub fn start(&mut self, env: &mut Env<'_>) {
        if let Some(pipe) = self.initial_pipe.take() {
            let key = env.new_pipe_key();
            let queued = pipe.attach(env.sink.clone(), key);
            self.pipe = Some((key, pipe));
            for cmd in queued {
                self.pipe_cmd(env, key, cmd);
            }
        }
        if let Some(mut sock) = self.unregistered.take() {
            {
                let interest = match (self.sends, self.receives) {
                    (true, true) => Interest::READABLE | Interest::WRITABLE,
                    (true, false) => Interest::WRITABLE,
                    _ => Interest::READABLE,
                };
                if env
                    .registry
                    .register(&mut sock, env.token, interest)
                    .is_ok()
                {
                    self.sock = Some(sock);
                }
            }
        }
        self.pump();
    }

    /// Socket readiness or a resume.
    pub fn on_io(&mut self, _env: &mut Env<'_>) {
        self.pump();
    }

    /// A command for the pipe.
    pub fn on_pipe(&mut self, env: &mut Env<'_>, key: u64, cmd: PipeCommand) {
        self.pipe_cmd(env, key, cmd);
        self.pump();
    }

    fn pipe_cmd(&mut self, env: &mut Env<'_>, key: u64, cmd: PipeCommand) {
        let Some((k, p)) = self.pipe.as_mut() else {
            return;
        };
        if *k != key {
            return;
        }
        if let Some(PipeEvent::Terminated) = p.process(cmd) {
            env.drop_pipe_key(key);
            self.pipe = None;
            self.finish(env);
        }
    }

    /// Unbind, disconnect or close: there is nothing to linger for (a
    /// datagram socket holds no queue of its own), so end the pipe now.
    pub fn on_term(&mut self, env: &mut Env<'_>, _linger: i32) {
        if self.terminating || self.done {
            return;
        }
        self.terminating = true;
        match self.pipe.as_mut() {
            Some((_, p)) => p.terminate(false),
            None => self.finish(env),
        }
    }

    /// What the session serves, for a report.
    pub fn describe(&self) -> String {
        format!("udp endpoint {:?}", self.addr.target)
    }

    /// The session's handler panicked (a bug of ours): close the socket and
    /// end the pipe, as an unbind would.
    pub fn abandon(&mut self, env: &mut Env<'_>) {
        if self.done {
            return;
        }
        if let Some(mut s) = self.sock.take() {
            let _ = env.registry.deregister(&mut s);
        }
        self.unregistered = None;
        self.pending = None;
        if let Some(pipe) = self.initial_pipe.take() {
            let key = env.new_pipe_key();
            // Commands queued before attaching matter no more: it ends now.
            let _ = pipe.attach(env.sink.clone(), key);
            self.pipe = Some((key, pipe));
        }
        self.terminating = false;
        self.on_term(env, 0);
    }

    fn finish(&mut self, env: &mut Env<'_>) {
        if self.done {
            return;
        }
        if let Some(mut s) = self.sock.take() {
            let _ = env.registry.deregister(&mut s);
        }
        self.done = true;
        self.link
            .shared
            .mailbox
            .send(SocketCommand::ChildGone(self.id));
    }

    /// Moves datagrams both ways until the kernel or the pipe says stop.
    fn pump(&mut self) {
        if self.sock.is_none() {
            // No socket: still drain what DISH writes (its joins), so its
            // pipe never fills.
            if !self.sends {
                self.discard_outbound();
            }
            return;
        }
        if self.sends {
            self.send_all();
        } else {
            self.discard_outbound();
        }
        if self.receives {
            self.recv_all();
        }
    }

    fn discard_outbound(&mut self) {
        if let Some((_, p)) = self.pipe.as_mut() {
            while p.read().is_some() {}
        }
    }

    fn send_all(&mut self) {
        let UdpSession {
            sock,
            pipe,
            pending,
            dgram_to,
            addr,
            options,
            ..
        } = self;
        let (Some(sock), Some((_, p))) = (sock.as_ref(), pipe.as_mut()) else {
            return;
        };
        loop {
            let (data, to) = match pending.take() {
                Some(d) => d,
                None => {
                    let Some(m) = p.read() else {
                        return;
                    };
                    if options.socket_type == ZMQ_DGRAM {
                        match dgram_to.take() {
                            None => {
                                // The address frame; the body follows.
                                if m.more() {
                                    *dgram_to = Some(
                                        udp::parse_dgram_address(m.as_slice()).map(SocketAddr::V4),
                                    );
                                }
                                continue;
                            }
                            Some(None) => continue, // bad address: dropped
                            Some(Some(to)) => (m.as_slice().to_vec(), map_target(addr, to)),
                        }
                    } else {
                        match udp::encode(&m) {
                            Some(d) => (d, addr.target),
                            None => continue, // too big for a datagram
                        }
                    }
                }
            };
            match sock.send_to(&data, to) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    *pending = Some((data, to));
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {
                    *pending = Some((data, to));
                }
                // Unreachable peers and the like: the datagram is lost.
                Err(_) => {}
            }
        }
    }

    fn recv_all(&mut self) {
        let dgram = self.options.socket_type == ZMQ_DGRAM;
        let (Some(sock), Some((_, p))) = (self.sock.as_ref(), self.pipe.as_mut()) else {
            return;
        };
        let mut buf = vec![0u8; udp::MAX_UDP_MSG + 1];
        let mut wrote = false;
        loop {
            let (n, from) = match sock.recv_from(&mut buf) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => break,
            };
            if n > udp::MAX_UDP_MSG {
                continue; // truncated: libzmq would deliver a cut message
            }
            let data = &buf[..n];
            let msgs: Vec<Message> = if dgram {
                match udp::dgram_decode(data, &from) {
                    Some(parts) => parts.into(),
                    None => continue,
                }
            } else {
                match udp::decode(data) {
                    Some(m) => vec![m],
                    None => continue,
                }
            };
            if !p.check_write() {
                continue; // pipe full: the datagram is dropped
            }
            for m in msgs {
                let _ = p.write(m);
            }
            wrote = true;
        }
        if wrote {
            p.flush();
        }
    }
}

/// An IPv4 destination for an IPv6 socket becomes v4-mapped.
fn map_target(addr: &UdpAddress, to: SocketAddr) -> SocketAddr {
    match to {
        SocketAddr::V4(v4) if addr.is_ipv6() => {
            SocketAddr::new(std::net::IpAddr::V6(v4.ip().to_ipv6_mapped()), v4.port())
        }
        other => other,
    }
}
