//! The pgm:// and epgm:// transports (libzmq src/pgm_sender.cpp,
//! src/pgm_receiver.cpp, src/pgm_socket.cpp): one I/O object per connect
//! (or bind: they are the same for multicast), joined to the socket by one
//! pipe created at once, running a [`Sender`] for PUB/XPUB or a
//! [`Receiver`] for SUB/XSUB.
//!
//! Sockets. `epgm://` sends PGM in UDP datagrams to and from the
//! endpoint's port, like OpenPGM with libzmq's settings (its unicast and
//! multicast encapsulation ports are both the endpoint's port):
//!
//! * a source sends from an unbound socket to `group:port` and takes NAKs
//!   and SPMRs on `interface:port`;
//! * a receiver takes data on `group:port` (`*:port` when it joins several
//!   groups) and sends NAKs from an unbound socket to `source:port`.
//!
//! Binding the specific addresses (OpenPGM binds `*:port` for both roles)
//! is what lets a source and a receiver share a host with each other and
//! with OpenPGM: Linux gives a unicast NAK for `interface:port` to the
//! socket bound to exactly that address, and data for `group:port` to every
//! socket bound to the group or to `*`. With two OpenPGM peers on one host
//! NAKs go to whichever `*:port` socket the kernel picks, often the wrong one.
//!
//! `pgm://` uses one raw IP socket of protocol 113 (root or CAP_NET_RAW):
//! the kernel adds the IP header on the way out and keeps it on the way in.
//! A source's raw socket is bound to its interface address (it only wants
//! NAKs and SPMRs sent to it); a receiver's is unbound and keeps only
//! packets for its groups and port. The raw socket goes through
//! `std::net::UdpSocket` for `recv_from`/`send_to`, whose system calls are
//! the same for any datagram socket.
//!
//! Flow: a source takes messages from the pipe only as fast as ZMQ_RATE
//! lets it send them; a receiver stops reading its socket while the pipe
//! is full (the kernel then drops, and the data is NAKed later, as with
//! libzmq). On close a source sends what it already took and what the pipe
//! still holds within ZMQ_LINGER, then three SPMs with OPT_FIN.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::Interest;

use super::endpoint_pipe::EndpointPipe;
use super::{Env, SocketLink};
use crate::command::SocketCommand;
use crate::error::{Error, Result};
use crate::options::Options;
use crate::pgm::framing::Packer;
use crate::pgm::receiver::{Event, Receiver, ReceiverConfig};
use crate::pgm::sender::{Sender, SenderConfig};
use crate::pgm::wire::{self, Tsi};
use crate::pipe::{Pipe, PipeCommand};
use crate::transport::pgm::PgmAddress;

/// Datagrams handled per turn of the I/O loop before yielding.
const BATCH: usize = 256;
/// libzmq's TOS for PGM: DSCP Expedited Forwarding, no ECN.
const DEFAULT_TOS: u32 = 0x2e << 2;

enum Role {
    Send { sender: Box<Sender>, packer: Packer },
    Recv { receiver: Box<Receiver> },
}

/// One pgm:// or epgm:// endpoint of a socket.
pub(crate) struct PgmSession {
    pub id: u64,
    link: SocketLink,
    role: Role,
    raw: bool,
    groups: Vec<Ipv4Addr>,
    port: u16,
    send_group: Ipv4Addr,
    /// Sends (and, raw, also receives).
    tx: Option<UdpSocket>,
    /// Receives (epgm only).
    rx: Option<UdpSocket>,
    ep: EndpointPipe,
    /// A packet the kernel would not take yet.
    pending: Option<(Vec<u8>, SocketAddr)>,
    /// Receiver: frames of an unfinished message are in the pipe.
    mid_message: bool,
    done: bool,
    /// When the last turn ran.
    last_turn: Instant,
    buf: Vec<u8>,
    pkt: Vec<u8>,
    tsdu: Vec<u8>,
}

fn random_bytes<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    if getrandom::getrandom(&mut b).is_err() {
        // No entropy source: time and address still tell instances apart.
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
            ^ (&b as *const _ as usize as u128);
        for (i, x) in b.iter_mut().enumerate() {
            *x = (t >> ((i % 16) * 8)) as u8;
        }
    }
    b
}

/// Our address towards `group` when the endpoint names no interface: the
/// source address the routing table picks.
fn route_source(group: Ipv4Addr, port: u16) -> io::Result<Ipv4Addr> {
    let s = std::net::UdpSocket::bind((Ipv4Addr::UNSPECIFIED, 0))?;
    s.connect((group, port))?;
    match s.local_addr()? {
        SocketAddr::V4(a) => Ok(*a.ip()),
        SocketAddr::V6(_) => Err(io::Error::from_raw_os_error(libc::EAFNOSUPPORT)),
    }
}

/// Bytes of IP (and UDP) header in front of each PGM packet.
fn ip_overhead(raw: bool) -> usize {
    if raw {
        20
    } else {
        28
    }
}

impl PgmSession {
    /// Opens the sockets for `addr` in the caller's thread, so that
    /// `zmq_connect` reports what fails (libzmq aborts in its I/O thread).
    /// `raw`: pgm:// rather than epgm://.
    pub fn open(
        id: u64,
        link: SocketLink,
        options: &Options,
        addr: PgmAddress,
        raw: bool,
    ) -> Result<Self> {
        let sends = matches!(
            options.socket_type,
            crate::constants::ZMQ_PUB | crate::constants::ZMQ_XPUB
        );
        let iface = match addr.interface {
            Some(i) => i,
            None => route_source(addr.send_group, addr.port).map_err(|_| Error::EINVAL)?,
        };
        let port = addr.port;
        let max_tpdu = usize::try_from(options.multicast_maxtpdu).unwrap_or(1500);
        let headers = ip_overhead(raw) + wire::HEADER_LEN + wire::DATA_HEADER_LEN;
        let window = SenderConfig::window_sqns(
            options.rate,
            options.recovery_ivl,
            options.multicast_maxtpdu,
        );
        let (tx, rx) = open_sockets(options, &addr, iface, raw, sends)?;
        let role = if sends {
            let gsi: [u8; 6] = random_bytes();
            let sport = u16::from_be_bytes(random_bytes()).max(1);
            let cfg = SenderConfig {
                tsi: Tsi { gsi, sport },
                dport: port,
                nla: IpAddr::V4(iface),
                group: IpAddr::V4(addr.send_group),
                max_tsdu: max_tpdu
                    .saturating_sub(headers + wire::FRAGMENT_OPTIONS_ROOM)
                    .max(3),
                txw_sqns: window,
                rate: u64::try_from(options.rate).unwrap_or(1).max(1) * 1000 / 8,
                overhead: ip_overhead(raw),
                initial_sqn: 0,
            };
            Role::Send {
                sender: Box::new(Sender::new(cfg, Instant::now())),
                packer: Packer::new(),
            }
        } else {
            let seed = u64::from_ne_bytes(random_bytes());
            let cfg = ReceiverConfig::libzmq(
                port,
                IpAddr::V4(addr.recv_groups.first().copied().unwrap_or(addr.send_group)),
                window,
                max_tpdu.saturating_sub(headers).max(3),
                options.maxmsgsize,
                seed,
            );
            Role::Recv {
                receiver: Box::new(Receiver::new(cfg)),
            }
        };
        Ok(PgmSession {
            id,
            link,
            role,
            raw,
            groups: addr.recv_groups.clone(),
            port,
            send_group: addr.send_group,
            tx: Some(tx),
            rx,
            ep: EndpointPipe::default(),
            pending: None,
            mid_message: false,
            done: false,
            last_turn: Instant::now(),
            buf: vec![0u8; 65536],
            pkt: Vec::with_capacity(max_tpdu),
            tsdu: Vec::with_capacity(max_tpdu),
        })
    }

    /// Hands over our end of the pipe (attached when the loop starts us).
    pub fn set_pipe(&mut self, pipe: Pipe) {
        self.ep.set(pipe);
    }

    /// Whether the session has finished.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// When the loop should call [`PgmSession::on_timer`]: never at or
    /// before the last turn (the loop would call us again at once, and
    /// again), and not for sending while the kernel's buffer is full (its
    /// readiness wakes us).
    pub fn deadline(&self) -> Option<Instant> {
        if self.done {
            return None;
        }
        let t = match &self.role {
            Role::Send { .. } if self.pending.is_some() => None,
            Role::Send { sender, .. } => sender.poll_timeout(),
            Role::Recv { receiver } => receiver.poll_timeout(),
        };
        let t = match (t, self.ep.linger_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        t.map(|t| t.max(self.last_turn + Duration::from_micros(100)))
    }

    /// Registers the sockets and attaches the pipe.
    pub fn start(&mut self, env: &mut Env<'_>) {
        self.ep.attach(env);
        let mut ok = true;
        if let Some(tx) = self.tx.as_mut() {
            ok &= env
                .registry
                .register(tx, env.token, Interest::READABLE | Interest::WRITABLE)
                .is_ok();
        }
        if let Some(rx) = self.rx.as_mut() {
            ok &= env
                .registry
                .register(rx, env.token, Interest::READABLE)
                .is_ok();
        }
        if !ok {
            // Out of resources for the poller: the endpoint stays idle,
            // as a udp:// one that cannot open.
            self.deregister(env);
        }
        self.pump(env);
    }

    /// Socket readiness or a resume.
    pub fn on_io(&mut self, env: &mut Env<'_>) {
        self.pump(env);
    }

    /// The deadline passed.
    pub fn on_timer(&mut self, env: &mut Env<'_>) {
        self.pump(env);
    }

    /// A command for the pipe.
    pub fn on_pipe(&mut self, env: &mut Env<'_>, key: u64, cmd: PipeCommand) {
        self.ep.command(env, key, cmd);
        self.pump(env);
    }

    /// Unbind, disconnect or close. A source sends what it holds within
    /// `linger` ms, then its FIN SPMs; a receiver ends at once.
    pub fn on_term(&mut self, env: &mut Env<'_>, linger: i32) {
        let sends = matches!(self.role, Role::Send { .. });
        self.ep.term(env.now, linger, sends);
        self.pump(env);
    }

    /// What this object serves, for the one line an internal error prints.
    pub fn describe(&self) -> String {
        format!("multicast endpoint {}", self.id)
    }

    /// The session's handler panicked (a bug of ours): drop the sockets and
    /// whatever the half-updated protocol state holds, and end the pipe at
    /// once, as a close with linger 0 would.
    pub fn abandon(&mut self, env: &mut Env<'_>) {
        if self.done {
            return;
        }
        self.deregister(env);
        self.pending = None;
        if !self.ep.abandon(env) {
            self.finish(env);
        }
    }

    fn deregister(&mut self, env: &mut Env<'_>) {
        for s in [self.tx.take(), self.rx.take()].into_iter().flatten() {
            let mut s = s;
            let _ = env.registry.deregister(&mut s);
        }
    }

    fn finish(&mut self, env: &mut Env<'_>) {
        if self.done {
            return;
        }
        self.deregister(env);
        self.done = true;
        self.link
            .shared
            .mailbox
            .send(SocketCommand::ChildGone(self.id));
    }

    /// Sends one datagram; false when the kernel would block (the packet is
    /// then kept). Other failures lose the packet, as the network may.
    fn send(&mut self, data: &[u8], to: SocketAddr) -> bool {
        let Some(tx) = self.tx.as_ref() else {
            return true;
        };
        loop {
            match tx.send_to(data, to) {
                Ok(_) => return true,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.pending = Some((data.to_vec(), to));
                    return false;
                }
                Err(_) => return true,
            }
        }
    }

    fn flush_pending(&mut self) -> bool {
        match self.pending.take() {
            Some((d, to)) => self.send(&d, to),
            None => true,
        }
    }

    /// Reads up to [`BATCH`] datagrams; true if there may be more.
    fn read_input(&mut self, now: Instant) -> bool {
        for _ in 0..BATCH {
            let sock = match (self.raw, self.rx.as_ref(), self.tx.as_ref()) {
                (false, Some(rx), _) => rx,
                (true, _, Some(tx)) => tx,
                _ => return false,
            };
            let (n, from) = match sock.recv_from(&mut self.buf) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(_) => return false,
            };
            let data = &self.buf[..n.min(self.buf.len())];
            let (src, pgm) = if self.raw {
                let Some((src, dst, payload)) = wire::ipv4_payload(data) else {
                    continue;
                };
                // Receivers keep their groups' traffic; a source gets
                // only what is sent to it (its socket is bound).
                if matches!(self.role, Role::Recv { .. }) && !self.groups.contains(&dst) {
                    continue;
                }
                (IpAddr::V4(src), payload)
            } else {
                (from.ip(), data)
            };
            let Ok(pkt) = wire::parse(pgm) else {
                if let Role::Recv { receiver } = &mut self.role {
                    receiver.handle_datagram(pgm, src, now);
                }
                continue;
            };
            match &mut self.role {
                Role::Send { sender, .. } => sender.handle(&pkt, src, now),
                Role::Recv { receiver } => {
                    // Raw sockets see every PGM packet: only ours, by port.
                    receiver.handle(&pkt, src, now);
                }
            }
            if let Role::Recv { .. } = self.role {
                self.deliver();
                if self.ep.blocked {
                    return false;
                }
            }
        }
        true
    }

    /// Moves decoded frames into the pipe until it is full.
    fn deliver(&mut self) {
        let PgmSession {
            role,
            ep,
            mid_message,
            ..
        } = self;
        let Role::Recv { receiver } = role else {
            return;
        };
        let (pipe, blocked) = ep.parts();
        let Some(p) = pipe else {
            // No pipe (ending): decoded data has nowhere to go.
            while receiver.poll_event().is_some() {}
            return;
        };
        let mut wrote = false;
        loop {
            if !*mid_message && !p.check_write() {
                *blocked = true;
                break;
            }
            match receiver.poll_event() {
                None => break,
                Some(Event::Frame(m)) => {
                    let more = m.more();
                    if p.write(m).is_err() {
                        // Terminating mid-message: nothing more goes up.
                        p.rollback();
                        *mid_message = false;
                        *blocked = true;
                        break;
                    }
                    *mid_message = more;
                    if !more {
                        wrote = true;
                    }
                }
                Some(Event::Abort) => {
                    p.rollback();
                    *mid_message = false;
                }
            }
        }
        if wrote {
            p.flush();
        }
    }

    fn group_addr(&self, ip: Ipv4Addr) -> SocketAddr {
        SocketAddr::V4(SocketAddrV4::new(ip, if self.raw { 0 } else { self.port }))
    }

    /// One turn: input, timers, output, the end.
    fn pump(&mut self, env: &mut Env<'_>) {
        if self.done {
            return;
        }
        let now = env.now;
        self.last_turn = now;
        let more_input = if matches!(self.role, Role::Recv { .. }) && self.ep.blocked {
            self.deliver();
            !self.ep.blocked && self.read_input(now)
        } else {
            self.read_input(now)
        };
        if more_input {
            env.more_work = true;
        }
        match self.role {
            Role::Send { .. } => self.pump_send(env, now),
            Role::Recv { .. } => self.pump_recv(env, now),
        }
    }

    fn pump_send(&mut self, env: &mut Env<'_>, now: Instant) {
        let to = self.group_addr(self.send_group);
        self.ep.check_linger(now);
        let linger_over = self.ep.linger_over;
        loop {
            if !self.flush_pending() {
                return;
            }
            let Role::Send { sender, packer } = &mut self.role else {
                return;
            };
            let mut pkt = std::mem::take(&mut self.pkt);
            if sender.poll_transmit(now, &mut pkt) {
                let sent = self.send(&pkt, to);
                self.pkt = pkt;
                if !sent {
                    return;
                }
                continue;
            }
            self.pkt = pkt;
            if linger_over {
                sender.close();
                if sender.is_closed() {
                    break;
                }
                continue;
            }
            if sender.can_send_data(now) {
                let max = sender.config().max_tsdu;
                let ep = &mut self.ep;
                let mut read = || ep.get().and_then(|p| p.read());
                if packer.fill(&mut self.tsdu, max, &mut read) {
                    sender.push_data(std::mem::take(&mut self.tsdu), now);
                    continue;
                }
            }
            // Everything taken from a pipe that has ended has gone out:
            // say goodbye.
            if self.ep.terminating
                && self.ep.is_gone()
                && !packer.has_pending()
                && !sender.has_backlog()
            {
                sender.close();
                if sender.is_closed() {
                    break;
                }
                continue;
            }
            return;
        }
        if self.ep.is_gone() {
            self.finish(env);
        } else if let Some(p) = self.ep.get() {
            // Linger ran out with messages queued: drop them.
            p.terminate(false);
        }
    }

    fn pump_recv(&mut self, env: &mut Env<'_>, now: Instant) {
        if let Role::Recv { receiver } = &mut self.role {
            if receiver.poll_timeout().is_some_and(|t| t <= now) {
                receiver.handle_timeout(now);
            }
        }
        self.deliver();
        // SUB/XSUB write subscriptions into the pipe: PGM carries none.
        if let Some(p) = self.ep.get() {
            while p.read().is_some() {}
        }
        loop {
            if !self.flush_pending() {
                break;
            }
            let Role::Recv { receiver } = &mut self.role else {
                break;
            };
            let Some(o) = receiver.poll_transmit() else {
                break;
            };
            let to = match o.to {
                IpAddr::V4(ip) => self.group_addr(ip),
                IpAddr::V6(ip) => SocketAddr::new(IpAddr::V6(ip), self.port),
            };
            if !self.send(&o.packet, to) {
                break;
            }
        }
        if self.ep.terminating && self.ep.is_gone() {
            self.finish(env);
        }
    }
}

/// Opens the sockets: `(tx, rx)`; raw uses `tx` for both.
fn open_sockets(
    options: &Options,
    addr: &PgmAddress,
    iface: Ipv4Addr,
    raw: bool,
    sends: bool,
) -> Result<(UdpSocket, Option<UdpSocket>)> {
    use socket2::{Domain, Protocol, Socket, Type};
    let tune = |s: &Socket, receives: bool, transmits: bool| -> io::Result<()> {
        s.set_nonblocking(true)?;
        s.set_cloexec(true)?;
        if receives && options.rcvbuf >= 0 {
            s.set_recv_buffer_size(options.rcvbuf as usize)?;
        }
        if transmits {
            if options.sndbuf >= 0 {
                s.set_send_buffer_size(options.sndbuf as usize)?;
            }
            s.set_multicast_if_v4(&iface)?;
            s.set_multicast_ttl_v4(options.multicast_hops.max(0) as u32)?;
            s.set_multicast_loop_v4(options.multicast_loop)?;
            let tos = if options.tos > 0 {
                options.tos as u32
            } else {
                DEFAULT_TOS
            };
            // Best effort, as libzmq.
            let _ = s.set_tos(tos);
        }
        Ok(())
    };
    let join = |s: &Socket| -> io::Result<()> {
        for g in &addr.recv_groups {
            s.join_multicast_v4(g, &iface)?;
        }
        Ok(())
    };
    let bind = |s: &Socket, ip: Ipv4Addr, port: u16| -> io::Result<()> {
        s.bind(&SocketAddr::V4(SocketAddrV4::new(ip, port)).into())
    };
    let map = |e: io::Error| match e.raw_os_error() {
        // An interface address that is not ours, or nothing to route
        // by: libzmq says EINVAL for a bad address.
        Some(libc::EADDRNOTAVAIL) | Some(libc::ENODEV) | Some(libc::ENETUNREACH) => Error::EINVAL,
        _ => Error::from(e),
    };
    let into = |s: Socket| UdpSocket::from_std(std::net::UdpSocket::from(s));
    if raw {
        let s = Socket::new(
            Domain::IPV4,
            Type::RAW,
            Some(Protocol::from(wire::IPPROTO_PGM)),
        )
        .map_err(Error::from)?;
        (|| {
            tune(&s, true, true)?;
            if sends {
                bind(&s, iface, 0)
            } else {
                join(&s)
            }
        })()
        .map_err(map)?;
        return Ok((into(s), None));
    }
    let tx = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).map_err(Error::from)?;
    (|| {
        tune(&tx, false, true)?;
        bind(&tx, iface, 0)
    })()
    .map_err(map)?;
    let rx = Socket::new(Domain::IPV4, Type::DGRAM, Some(Protocol::UDP)).map_err(Error::from)?;
    (|| {
        tune(&rx, true, false)?;
        // OpenPGM binds with SO_REUSEPORT (and no SO_REUSEADDR): sharing
        // the port with it takes that one; with our own, either.
        rx.set_reuse_address(true)?;
        rx.set_reuse_port(true)?;
        if sends {
            bind(&rx, iface, addr.port)
        } else {
            let ip = match addr.recv_groups.as_slice() {
                [one] => *one,
                _ => Ipv4Addr::UNSPECIFIED,
            };
            bind(&rx, ip, addr.port)?;
            join(&rx)
        }
    })()
    .map_err(map)?;
    Ok((into(tx), Some(into(rx))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overheads_match_openpgm() {
        // OpenPGM's TSDU for a 1500-byte TPDU: 1428 over UDP, 1436 raw.
        for (raw, tsdu) in [(false, 1428), (true, 1436)] {
            let headers = ip_overhead(raw) + wire::HEADER_LEN + wire::DATA_HEADER_LEN;
            assert_eq!(1500 - headers - wire::FRAGMENT_OPTIONS_ROOM, tsdu);
        }
    }

    #[test]
    fn randomness_differs() {
        let a: [u8; 6] = random_bytes();
        let b: [u8; 6] = random_bytes();
        assert_ne!(a, b);
    }
}
