//! A listening socket in an I/O thread: accepts connections, filters them
//! (ZMQ_TCP_ACCEPT_FILTER, ZMQ_IPC_FILTER_*), and runs a session for each.
//! Unbinding or closing terminates the listener and every session it
//! accepted, then acknowledges to the socket.

use std::io;
use std::os::fd::{AsRawFd, RawFd};
use std::path::PathBuf;

use mio::net::{TcpListener, UnixListener};
use mio::{Interest, Token};

use super::engine::EngineKind;
use super::session::Session;
use super::stream::ByteStream;
use super::{Env, Request, SocketLink};
use crate::command::SocketCommand;
use crate::constants::*;
use crate::endpoint::EndpointPair;
use crate::options::Options;
use crate::util::ip_mask;

/// The listening socket.
pub(crate) enum ListenSock {
    Tcp(TcpListener),
    Ipc(UnixListener),
}

/// A listener and the sessions it accepted.
pub(crate) struct Listener {
    pub id: u64,
    sock: Option<ListenSock>,
    /// The bound endpoint (ZMQ_LAST_ENDPOINT form).
    endpoint: String,
    link: SocketLink,
    options: Options,
    /// Files to remove when closing (`ipc://*` and its private directory).
    ipc_file: Option<(String, Option<PathBuf>)>,
    children: Vec<u64>,
    /// What runs on the connections it accepts (ZMTP, ws, wss).
    kind: EngineKind,
    terminating: bool,
    done: bool,
}

impl Listener {
    /// A listener for an already bound and listening socket.
    pub fn new(
        id: u64,
        sock: ListenSock,
        endpoint: String,
        link: SocketLink,
        options: Options,
        ipc_file: Option<(String, Option<PathBuf>)>,
        kind: EngineKind,
    ) -> Listener {
        Listener {
            id,
            sock: Some(sock),
            endpoint,
            link,
            options,
            ipc_file,
            kind,
            children: Vec::new(),
            terminating: false,
            done: false,
        }
    }

    fn pair(&self) -> EndpointPair {
        EndpointPair {
            local: self.endpoint.clone(),
            remote: String::new(),
            bound: true,
        }
    }

    fn fd(&self) -> RawFd {
        match &self.sock {
            Some(ListenSock::Tcp(l)) => l.as_raw_fd(),
            Some(ListenSock::Ipc(l)) => l.as_raw_fd(),
            None => -1,
        }
    }

    pub fn start(&mut self, env: &mut Env<'_>) {
        let token: Token = env.token;
        let r = match &mut self.sock {
            Some(ListenSock::Tcp(l)) => env.registry.register(l, token, Interest::READABLE),
            Some(ListenSock::Ipc(l)) => env.registry.register(l, token, Interest::READABLE),
            None => Ok(()),
        };
        if r.is_err() {
            self.close(env);
            return;
        }
        self.on_ready(env);
    }

    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Accepts every pending connection (edge-triggered: until EAGAIN).
    pub fn on_ready(&mut self, env: &mut Env<'_>) {
        if self.terminating {
            return;
        }
        #[cfg(feature = "fault-injection")]
        crate::fault::on_accept(&self.endpoint);
        for _ in 0..256 {
            let accepted: io::Result<(socket2::Socket, bool)> = match &self.sock {
                Some(ListenSock::Tcp(l)) => l
                    .accept()
                    .map(|(s, _)| (socket2::Socket::from(std::net::TcpStream::from(s)), false)),
                Some(ListenSock::Ipc(l)) => l.accept().map(|(s, _)| {
                    (
                        socket2::Socket::from(std::os::unix::net::UnixStream::from(s)),
                        true,
                    )
                }),
                None => return,
            };
            let (sock, ipc) = match accepted {
                Ok(a) => a,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let errno = e.raw_os_error().unwrap_or(0) as u64;
                    self.link
                        .monitor
                        .event(ZMQ_EVENT_ACCEPT_FAILED, errno, &self.pair());
                    if matches!(
                        e.raw_os_error(),
                        Some(libc::EMFILE)
                            | Some(libc::ENFILE)
                            | Some(libc::ENOBUFS)
                            | Some(libc::ENOMEM)
                    ) {
                        // Out of resources: try again later rather than spin.
                        return;
                    }
                    continue;
                }
            };
            if !self.allowed(&sock, ipc) {
                continue;
            }
            let _ = sock.set_nonblocking(true);
            if !ipc {
                crate::transport::tcp::tune_connection(
                    socket2::SockRef::from(&sock),
                    &self.options,
                );
                if self.options.tos != 0 {
                    let _ = sock.set_tos(self.options.tos as u32);
                }
            }
            let fd = sock.as_raw_fd();
            let stream = ByteStream::from_socket(sock, ipc);
            self.link
                .monitor
                .event(ZMQ_EVENT_ACCEPTED, fd as u64, &self.pair());
            let session = Session::accepted(
                self.id,
                stream,
                self.link.clone(),
                self.options.clone(),
                self.kind.clone(),
            );
            self.children.push(session.id);
            env.requests.push(Request::Spawn(Box::new(session)));
        }
        env.more_work = true;
    }

    fn allowed(&self, sock: &socket2::Socket, ipc: bool) -> bool {
        if ipc {
            return crate::transport::ipc::accept_allowed(sock, &self.options);
        }
        if self.options.tcp_accept_filters.is_empty() {
            return true;
        }
        let Some(peer) = sock.peer_addr().ok().and_then(|a| a.as_socket()) else {
            return false;
        };
        self.options
            .tcp_accept_filters
            .iter()
            .any(|f| ip_mask::parse_mask(f, self.options.ipv6).is_ok_and(|m| m.matches(peer.ip())))
    }

    fn close(&mut self, env: &mut Env<'_>) {
        let fd = self.fd();
        match self.sock.take() {
            Some(ListenSock::Tcp(mut l)) => {
                let _ = env.registry.deregister(&mut l);
            }
            Some(ListenSock::Ipc(mut l)) => {
                let _ = env.registry.deregister(&mut l);
            }
            None => return,
        }
        if let Some((path, Some(dir))) = self.ipc_file.take() {
            let _ = std::fs::remove_file(&path);
            let _ = std::fs::remove_dir(dir);
        }
        self.link
            .monitor
            .event(ZMQ_EVENT_CLOSED, fd as u64, &self.pair());
    }

    /// Unbind or socket close: stop accepting, end the accepted sessions.
    pub fn on_term(&mut self, env: &mut Env<'_>, linger: i32) {
        if self.terminating {
            return;
        }
        self.terminating = true;
        self.close(env);
        for id in self.children.clone() {
            env.requests.push(Request::Term { id, linger });
        }
        self.check_done();
    }

    /// What the listener serves, for a report.
    pub fn describe(&self) -> String {
        format!("{} (listener)", self.endpoint)
    }

    /// The listener's handler panicked (a bug of ours): close it as an
    /// unbind would (stop listening, CLOSED on the monitor, end the
    /// sessions it accepted, then tell the socket, which forgets the
    /// endpoint), touching no more of its state than that needs.
    pub fn abandon(&mut self, env: &mut Env<'_>) {
        if self.done {
            return;
        }
        self.terminating = false;
        self.on_term(env, self.options.linger);
    }

    /// A session this listener accepted has finished.
    pub fn child_gone(&mut self, child: u64) {
        self.children.retain(|&c| c != child);
        self.check_done();
    }

    fn check_done(&mut self) {
        if self.terminating && self.children.is_empty() && !self.done {
            self.done = true;
            self.link
                .shared
                .mailbox
                .send(SocketCommand::ChildGone(self.id));
        }
    }
}
