//! A connected byte stream (TCP or Unix-domain) registered with mio, with
//! the two operations an engine driver needs: read into a buffer and a
//! vectored write.

use std::io::{self, IoSlice, Read};
use std::os::fd::{AsRawFd, RawFd};

use mio::net::{TcpStream, UnixStream};
use mio::{event::Source, Interest, Registry, Token};

/// A connected stream.
pub(crate) enum ByteStream {
    Tcp(TcpStream),
    Ipc(UnixStream),
}

impl ByteStream {
    /// Wraps a connected (or connecting) socket2 socket.
    pub fn from_socket(s: socket2::Socket, ipc: bool) -> ByteStream {
        if ipc {
            ByteStream::Ipc(UnixStream::from_std(s.into()))
        } else {
            ByteStream::Tcp(TcpStream::from_std(s.into()))
        }
    }

    /// Reads; `Ok(0)` is end of stream.
    pub fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            ByteStream::Tcp(s) => s.read(buf),
            ByteStream::Ipc(s) => s.read(buf),
        }
    }

    /// Writes as much of the slices as the kernel takes. MSG_NOSIGNAL: a
    /// peer that has hung up gives EPIPE here, never SIGPIPE, whichever
    /// thread writes (SIGPIPE's default action kills the process).
    pub fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let sock = match self {
            ByteStream::Tcp(s) => socket2::SockRef::from(&*s),
            ByteStream::Ipc(s) => socket2::SockRef::from(&*s),
        };
        sock.send_vectored_with_flags(bufs, libc::MSG_NOSIGNAL)
    }

    /// The pending error of a connect in progress, if any.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        match self {
            ByteStream::Tcp(s) => s.take_error(),
            ByteStream::Ipc(s) => s.take_error(),
        }
    }

    /// Whether a connect in progress has completed (peer address known).
    pub fn is_connected(&self) -> bool {
        match self {
            ByteStream::Tcp(s) => s.peer_addr().is_ok(),
            ByteStream::Ipc(s) => s.peer_addr().is_ok(),
        }
    }

    /// The local address as an endpoint URI.
    pub fn local_uri(&self) -> String {
        match self {
            ByteStream::Tcp(s) => s
                .local_addr()
                .map(|a| crate::transport::tcp::to_uri(&a))
                .unwrap_or_default(),
            // An unnamed (connecting) unix socket is "ipc://", as libzmq names it.
            ByteStream::Ipc(s) => format!(
                "ipc://{}",
                s.local_addr()
                    .ok()
                    .and_then(|a| a.as_pathname().map(|p| p.display().to_string()))
                    .unwrap_or_default()
            ),
        }
    }

    /// The remote address as an endpoint URI.
    pub fn remote_uri(&self) -> String {
        match self {
            ByteStream::Tcp(s) => s
                .peer_addr()
                .map(|a| crate::transport::tcp::to_uri(&a))
                .unwrap_or_default(),
            ByteStream::Ipc(s) => format!(
                "ipc://{}",
                s.peer_addr()
                    .ok()
                    .and_then(|a| a.as_pathname().map(|p| p.display().to_string()))
                    .unwrap_or_default()
            ),
        }
    }

    /// Whether a tcp connect met itself: the same address and port at
    /// both ends (TCP's simultaneous open with an ephemeral source port
    /// that happens to be the destination).
    pub fn is_self_connected(&self) -> bool {
        match self {
            ByteStream::Tcp(s) => matches!(
                (s.local_addr(), s.peer_addr()),
                (Ok(a), Ok(b)) if a == b
            ),
            ByteStream::Ipc(_) => false,
        }
    }

    /// The peer's address as the Peer-Address property gives it: the IP
    /// for TCP, `:uid:gid:pid` credentials for IPC.
    pub fn peer_address(&self) -> String {
        match self {
            ByteStream::Tcp(s) => s
                .peer_addr()
                .map(|a| a.ip().to_string())
                .unwrap_or_default(),
            ByteStream::Ipc(s) => match crate::sys::peer_cred(s.as_raw_fd()) {
                Some((uid, gid, pid)) => format!(":{uid}:{gid}:{pid}"),
                None => String::new(),
            },
        }
    }

    /// The descriptor.
    pub fn fd(&self) -> RawFd {
        match self {
            ByteStream::Tcp(s) => s.as_raw_fd(),
            ByteStream::Ipc(s) => s.as_raw_fd(),
        }
    }

    /// Registers for both directions (edge-triggered).
    pub fn register(&mut self, r: &Registry, t: Token) -> io::Result<()> {
        let i = Interest::READABLE | Interest::WRITABLE;
        match self {
            ByteStream::Tcp(s) => s.register(r, t, i),
            ByteStream::Ipc(s) => s.register(r, t, i),
        }
    }

    /// Removes the registration.
    pub fn deregister(&mut self, r: &Registry) {
        let _ = match self {
            ByteStream::Tcp(s) => s.deregister(r),
            ByteStream::Ipc(s) => s.deregister(r),
        };
    }
}
