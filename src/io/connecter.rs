//! The connecting half of a session (libzmq's tcp_connecter, ipc_connecter
//! and socks_connecter): one connection attempt at a time, through a SOCKS5
//! proxy when ZMQ_SOCKS_PROXY is set, with ZMQ_CONNECT_TIMEOUT and the
//! ZMQ_RECONNECT_IVL back-off between attempts. Owned by its session, in an
//! I/O thread; it reports each attempt's end to the session and raises the
//! monitor events of connecting (CONNECT_DELAYED, CONNECT_RETRIED, CLOSED).

use std::io::{self, IoSlice};
use std::os::fd::RawFd;
use std::time::{Duration, Instant};

use std::sync::atomic::Ordering;
use std::sync::Arc;

use super::stream::ByteStream;
use super::Env;
use crate::command::SocketShared;
use crate::constants::*;
use crate::endpoint::EndpointPair;
use crate::monitor::Monitor;
use crate::options::Options;
use crate::transport::socks::SocksClient;

/// Where a connecting session connects to.
#[derive(Clone, Debug)]
pub(crate) enum Target {
    Tcp(String),
    Ipc(String),
    /// A ws or wss endpoint's `host:port`: a tcp connection (never through
    /// a SOCKS proxy, as libzmq's ws connecter does not use one).
    Ws(String),
}

/// The attempt under way.
enum Attempt {
    /// The kernel is connecting the socket.
    Connecting { stream: ByteStream, fd: RawFd },
    /// The proxy is being asked for a tunnel to the target.
    Socks {
        stream: ByteStream,
        fd: RawFd,
        client: Box<SocksClient>,
    },
}

impl Attempt {
    fn fd(&self) -> RawFd {
        match self {
            Attempt::Connecting { fd, .. } | Attempt::Socks { fd, .. } => *fd,
        }
    }
}

/// What became of an attempt.
pub(crate) enum Outcome {
    /// Nothing decided yet.
    Pending,
    /// Connected: ZMTP may start on the stream, after `early`, the bytes a
    /// proxy sent right behind its reply.
    Up {
        stream: ByteStream,
        pair: EndpointPair,
        early: Vec<u8>,
    },
    /// Failed; the next attempt is scheduled (if reconnecting is on).
    Retrying,
    /// Refused, and ZMQ_RECONNECT_STOP_CONN_REFUSED says to give up: the
    /// socket forgets the endpoint, as zmq_disconnect would.
    GaveUp,
    /// Refused after the socket disconnected an endpoint, and
    /// ZMQ_RECONNECT_STOP_AFTER_DISCONNECT says to stop: no more attempts
    /// (libzmq's ipc connecter; the session stays until it is ended).
    Stopped,
}

/// Connection attempts to one target.
pub(crate) struct Connecter {
    target: Target,
    /// The connect URI, as monitor events name it.
    endpoint: String,
    attempt: Option<Attempt>,
    reconnect_at: Option<Instant>,
    timeout_at: Option<Instant>,
    /// The back-off interval last used (-1: none yet).
    current_ivl: i32,
    /// The socket's zmq_disconnect flag (ZMQ_RECONNECT_STOP_AFTER_DISCONNECT).
    disconnected: Arc<SocketShared>,
}

impl Connecter {
    /// Attempts to `target` for `socket`, named `endpoint` in events.
    pub fn new(target: Target, endpoint: String, socket: Arc<SocketShared>) -> Connecter {
        Connecter {
            target,
            endpoint,
            disconnected: socket,
            attempt: None,
            reconnect_at: None,
            timeout_at: None,
            current_ivl: -1,
        }
    }

    /// The SOCKS proxy a tcp connect goes through, if one is set.
    fn proxy<'o>(&self, o: &'o Options) -> Option<&'o str> {
        match self.target {
            Target::Tcp(_) if !o.socks_proxy_address.is_empty() => Some(&o.socks_proxy_address),
            _ => None,
        }
    }

    /// The endpoint connecting events name: the proxy's address when going
    /// through one (as libzmq reports it), else the connect URI.
    pub fn pair(&self, o: &Options) -> EndpointPair {
        EndpointPair {
            local: String::new(),
            remote: match self.proxy(o) {
                Some(proxy) => format!("tcp://{proxy}"),
                None => self.endpoint.clone(),
            },
            bound: false,
        }
    }

    /// The next deadline: a reconnect or a connect timeout.
    pub fn deadline(&self) -> Option<Instant> {
        match (self.reconnect_at, self.timeout_at) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Starts an attempt now.
    pub fn start(&mut self, env: &mut Env<'_>, o: &Options, monitor: &Monitor) -> Outcome {
        self.reconnect_at = None;
        let (result, ipc) = match &self.target {
            Target::Tcp(addr) | Target::Ws(addr) => {
                // Through a proxy, only the proxy's address is resolved
                // here; the proxy resolves the target.
                let addr = self.proxy(o).unwrap_or(addr);
                let addr = addr.split('\0').next().unwrap_or_default();
                (
                    crate::transport::tcp::resolve(addr, false, o.ipv6)
                        .and_then(|a| crate::transport::tcp::connect(&a, o)),
                    false,
                )
            }
            Target::Ipc(path) => (crate::transport::ipc::connect(path), true),
        };
        let (sock, done) = match result {
            Ok(s) => s,
            Err(e) => return self.failed(env, o, monitor, e.to_raw()),
        };
        let mut stream = ByteStream::from_socket(sock, ipc);
        let fd = stream.fd();
        if stream.register(env.registry, env.token).is_err() {
            return self.failed(env, o, monitor, libc::ENOMEM);
        }
        self.attempt = Some(Attempt::Connecting { stream, fd });
        if done {
            return self.connected(env, o, monitor);
        }
        monitor.event(
            ZMQ_EVENT_CONNECT_DELAYED,
            libc::EINPROGRESS as u64,
            &self.pair(o),
        );
        if o.connect_timeout > 0 && self.proxy(o).is_none() {
            self.timeout_at = Some(env.now + Duration::from_millis(o.connect_timeout as u64));
        }
        Outcome::Pending
    }

    /// The attempt's socket has news.
    pub fn on_io(&mut self, env: &mut Env<'_>, o: &Options, monitor: &Monitor) -> Outcome {
        match &self.attempt {
            Some(Attempt::Socks { .. }) => self.drive_socks(env, o, monitor),
            Some(Attempt::Connecting { stream, .. }) => match stream.take_error() {
                Ok(None) if stream.is_connected() => self.connected(env, o, monitor),
                Ok(None) => Outcome::Pending,
                Ok(Some(e)) | Err(e) => {
                    let errno = e.raw_os_error().unwrap_or(libc::ECONNREFUSED);
                    self.failed(env, o, monitor, errno)
                }
            },
            None => Outcome::Pending,
        }
    }

    /// Deadlines: the back-off is over (start again), or the connect took
    /// too long (abandon it and back off).
    pub fn on_timer(&mut self, env: &mut Env<'_>, o: &Options, monitor: &Monitor) -> Outcome {
        let due = |t: Option<Instant>| t.is_some_and(|t| t <= env.now);
        if due(self.reconnect_at) {
            return self.start(env, o, monitor);
        }
        if due(self.timeout_at) {
            self.abort(env, o, monitor);
            self.schedule(env, o, monitor);
            return Outcome::Retrying;
        }
        Outcome::Pending
    }

    /// Gives up the attempt under way, if any (CLOSED), and any reconnect.
    pub fn abort(&mut self, env: &mut Env<'_>, o: &Options, monitor: &Monitor) {
        self.timeout_at = None;
        if let Some(mut a) = self.attempt.take() {
            let fd = a.fd();
            match &mut a {
                Attempt::Connecting { stream, .. } | Attempt::Socks { stream, .. } => {
                    stream.deregister(env.registry)
                }
            }
            monitor.event(ZMQ_EVENT_CLOSED, fd as u64, &self.pair(o));
        }
    }

    /// Stops reconnecting (the session ends).
    pub fn cancel(&mut self) {
        self.reconnect_at = None;
    }

    /// Schedules the next attempt after the back-off (CONNECT_RETRIED);
    /// nothing if reconnecting is off (ZMQ_RECONNECT_IVL <= 0).
    pub fn schedule(&mut self, env: &mut Env<'_>, o: &Options, monitor: &Monitor) {
        if o.reconnect_ivl > 0 {
            let ivl = self.next_ivl(o);
            self.reconnect_at = Some(env.now + Duration::from_millis(ivl as u64));
            monitor.event(ZMQ_EVENT_CONNECT_RETRIED, ivl as u64, &self.pair(o));
        }
    }

    /// The next back-off: doubling up to ZMQ_RECONNECT_IVL_MAX if set, else
    /// the interval plus a random part of it (libzmq's get_new_reconnect_ivl).
    fn next_ivl(&mut self, o: &Options) -> i32 {
        let ivl = o.reconnect_ivl;
        let max = o.reconnect_ivl_max;
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

    fn failed(&mut self, env: &mut Env<'_>, o: &Options, monitor: &Monitor, errno: i32) -> Outcome {
        self.abort(env, o, monitor);
        if errno == libc::ECONNREFUSED
            && self.proxy(o).is_none()
            && o.reconnect_stop & ZMQ_RECONNECT_STOP_CONN_REFUSED != 0
        {
            return Outcome::GaveUp;
        }
        if errno == libc::ECONNREFUSED
            && matches!(self.target, Target::Ipc(_))
            && o.reconnect_stop & ZMQ_RECONNECT_STOP_AFTER_DISCONNECT != 0
            && self.disconnected.disconnected.load(Ordering::Acquire)
        {
            return Outcome::Stopped;
        }
        self.schedule(env, o, monitor);
        Outcome::Retrying
    }

    fn connected(&mut self, env: &mut Env<'_>, o: &Options, monitor: &Monitor) -> Outcome {
        let Some(Attempt::Connecting { stream, fd }) = self.attempt.take() else {
            return Outcome::Pending;
        };
        self.timeout_at = None;
        if let (Target::Tcp(_) | Target::Ws(_), ByteStream::Tcp(t)) = (&self.target, &stream) {
            crate::transport::tcp::tune_connection(socket2::SockRef::from(t), o);
        }
        if self.proxy(o).is_none() {
            let pair = EndpointPair {
                local: stream.local_uri(),
                remote: self.endpoint.clone(),
                bound: false,
            };
            monitor.event(ZMQ_EVENT_CONNECTED, fd as u64, &pair);
            return Outcome::Up {
                stream,
                pair,
                early: Vec::new(),
            };
        }
        let Target::Tcp(target) = &self.target else {
            return Outcome::Pending;
        };
        match SocksClient::new(target, &o.socks_proxy_username, &o.socks_proxy_password) {
            Ok(client) => {
                self.attempt = Some(Attempt::Socks {
                    stream,
                    fd,
                    client: Box::new(client),
                });
                self.drive_socks(env, o, monitor)
            }
            Err(_) => {
                // Kept until abort drops it, so that CLOSED is raised.
                self.attempt = Some(Attempt::Connecting { stream, fd });
                self.failed(env, o, monitor, libc::ECONNREFUSED)
            }
        }
    }

    /// Moves the SOCKS dialogue on as far as the proxy lets it; a failure
    /// closes the connection and retries later, as libzmq does.
    fn drive_socks(&mut self, env: &mut Env<'_>, o: &Options, monitor: &Monitor) -> Outcome {
        let Some(Attempt::Socks { stream, client, .. }) = self.attempt.as_mut() else {
            return Outcome::Pending;
        };
        let mut buf = [0u8; 512];
        let result = loop {
            let out = client.output();
            if !out.is_empty() {
                match stream.write_vectored(&[IoSlice::new(out)]) {
                    Ok(n) => match client.consume_output(n) {
                        Ok(true) => break Ok(true),
                        Ok(false) => continue,
                        Err(_) => break Err(()),
                    },
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(_) => break Err(()),
                }
            }
            match stream.read(&mut buf) {
                Ok(0) => break Err(()),
                Ok(n) => match client.feed(&buf[..n]) {
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
            Ok(false) => Outcome::Pending,
            Ok(true) => {
                let Some(Attempt::Socks {
                    stream,
                    fd,
                    mut client,
                }) = self.attempt.take()
                else {
                    return Outcome::Pending;
                };
                let pair = EndpointPair {
                    local: stream.local_uri(),
                    remote: self.pair(o).remote,
                    bound: false,
                };
                monitor.event(ZMQ_EVENT_CONNECTED, fd as u64, &pair);
                Outcome::Up {
                    stream,
                    pair,
                    early: client.take_leftover(),
                }
            }
            Err(()) => {
                self.abort(env, o, monitor);
                self.schedule(env, o, monitor);
                Outcome::Retrying
            }
        }
    }
}
