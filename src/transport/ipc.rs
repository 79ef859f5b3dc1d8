//! IPC endpoints: Unix-domain stream sockets at a filesystem path, at a
//! fresh private path for `ipc://*`, or in the abstract namespace for
//! `ipc://@name` (libzmq src/ipc_address.cpp, src/ipc_listener.cpp).

use std::os::fd::AsRawFd;
use std::path::PathBuf;

use socket2::{Domain, SockAddr, Socket, Type};

use crate::error::{Error, Result};
use crate::options::Options;

/// Longest path a sockaddr_un holds (with its NUL).
const SUN_PATH_MAX: usize = 108;

/// The socket address of an ipc endpoint path (`@name` is abstract).
pub fn sockaddr(path: &str) -> Result<SockAddr> {
    if path.len() >= SUN_PATH_MAX {
        return Err(Error::ENAMETOOLONG);
    }
    if path == "@" {
        return Err(Error::EINVAL);
    }
    if let Some(name) = path.strip_prefix('@') {
        let mut bytes = vec![0u8];
        bytes.extend_from_slice(name.as_bytes());
        return SockAddr::unix(std::ffi::OsStr::from_bytes_compat(&bytes))
            .map_err(|e| Error::from_io(&e));
    }
    SockAddr::unix(path).map_err(|e| Error::from_io(&e))
}

trait FromBytesCompat {
    fn from_bytes_compat(b: &[u8]) -> &std::ffi::OsStr;
}

impl FromBytesCompat for std::ffi::OsStr {
    fn from_bytes_compat(b: &[u8]) -> &std::ffi::OsStr {
        use std::os::unix::ffi::OsStrExt;
        std::ffi::OsStr::from_bytes(b)
    }
}

/// A bound ipc listener and what must be cleaned up when it closes.
pub struct IpcListen {
    /// The listening socket.
    pub socket: Socket,
    /// The endpoint as ZMQ_LAST_ENDPOINT reports it.
    pub endpoint: String,
    /// The private directory made for `ipc://*`, removed with the socket file.
    pub tmp_dir: Option<PathBuf>,
    /// The socket file's path, removed when the listener closes.
    pub path: String,
}

/// Binds and listens on an ipc path (`*` makes a fresh private one).
pub fn listen(path: &str, o: &Options) -> Result<IpcListen> {
    let mut tmp_dir = None;
    let mut path = path.to_owned();
    if path.starts_with('*') {
        let base = std::env::var("TMPDIR").unwrap_or_else(|_| "/tmp".to_owned());
        let dir =
            crate::sys::mkdtemp(&format!("{base}/tmpXXXXXX")).map_err(|e| Error::from_io(&e))?;
        path = format!("{}/socket", dir.display());
        tmp_dir = Some(dir);
    }
    let cleanup = |tmp: &Option<PathBuf>| {
        if let Some(d) = tmp {
            let _ = std::fs::remove_dir(d);
        }
    };
    if !path.starts_with('@') {
        // A socket file left behind by an earlier run is taken over, as libzmq does.
        let _ = std::fs::remove_file(&path);
    }
    let addr = match sockaddr(&path) {
        Ok(a) => a,
        Err(e) => {
            cleanup(&tmp_dir);
            return Err(e);
        }
    };
    let result = (|| -> std::io::Result<Socket> {
        let s = Socket::new(Domain::UNIX, Type::STREAM.cloexec(), None)?;
        s.bind(&addr)?;
        s.listen(o.backlog.max(0))?;
        s.set_nonblocking(true)?;
        Ok(s)
    })();
    match result {
        Ok(socket) => Ok(IpcListen {
            socket,
            endpoint: format!("ipc://{path}"),
            tmp_dir,
            path,
        }),
        Err(e) => {
            cleanup(&tmp_dir);
            Err(Error::from_io(&e))
        }
    }
}

/// Starts a non-blocking connect to an ipc path; returns the socket and
/// whether the connect already completed.
pub fn connect(path: &str) -> Result<(Socket, bool)> {
    let addr = sockaddr(path)?;
    let s = Socket::new(Domain::UNIX, Type::STREAM.cloexec(), None)?;
    s.set_nonblocking(true)?;
    match s.connect(&addr) {
        Ok(()) => Ok((s, true)),
        Err(e)
            if e.raw_os_error() == Some(libc::EINPROGRESS)
                || e.raw_os_error() == Some(libc::EAGAIN) =>
        {
            Ok((s, false))
        }
        Err(e) => Err(Error::from_io(&e)),
    }
}

/// Whether the IPC accept filters (ZMQ_IPC_FILTER_UID/GID/PID) let a peer in.
pub fn accept_allowed(s: &Socket, o: &Options) -> bool {
    if o.ipc_uid_accept_filters.is_empty()
        && o.ipc_gid_accept_filters.is_empty()
        && o.ipc_pid_accept_filters.is_empty()
    {
        return true;
    }
    let Some((uid, gid, pid)) = crate::sys::peer_cred(s.as_raw_fd()) else {
        return false;
    };
    o.ipc_uid_accept_filters.contains(&uid)
        || o.ipc_gid_accept_filters.contains(&gid)
        || o.ipc_pid_accept_filters.contains(&pid)
}
