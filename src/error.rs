//! Errors as libzmq reports them.
//!
//! Every fallible operation returns [`Error`], a closed set of the errno values
//! libzmq 4.3.5 can produce. The C ABI turns it into `errno` with
//! [`Error::to_raw`]; the numeric values are the platform's own errno numbers
//! and, for the four native 0MQ errors, `ZMQ_HAUSNUMERO + n` exactly as in
//! libzmq's `zmq.h`.

use std::ffi::CStr;
use std::fmt;

/// Base of the native 0MQ error numbers (`ZMQ_HAUSNUMERO` in `zmq.h`).
pub const HAUSNUMERO: i32 = 156_384_712;

macro_rules! errors {
    ($( $(#[$doc:meta])* $name:ident = $value:expr ),* $(,)?) => {
        /// An error as libzmq reports it: one errno value.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        #[allow(clippy::upper_case_acronyms)]
        #[non_exhaustive]
        pub enum Error {
            $( $(#[$doc])* $name, )*
            /// Another operating-system error, passed on with its errno
            /// number as libzmq passes errno through.
            Os(i32),
        }

        impl Error {
            /// The errno number libzmq sets for this error.
            pub fn to_raw(self) -> i32 {
                match self { $( Error::$name => $value, )* Error::Os(raw) => raw }
            }

            /// The error for an errno number, if it is one of ours.
            pub fn try_from_raw(raw: i32) -> Option<Error> {
                $( if raw == $value { return Some(Error::$name); } )*
                None
            }
        }
    };
}

errors! {
    /// Resource temporarily unavailable: a non-blocking call would block, or a timeout expired.
    EAGAIN = libc::EAGAIN,
    /// Device or resource busy (kept for the `zmq` crate's vocabulary).
    EBUSY = libc::EBUSY,
    /// Protocol error (kept for the `zmq` crate's vocabulary).
    EPROTO = libc::EPROTO,
    /// Invalid argument.
    EINVAL = libc::EINVAL,
    /// Bad address: a null or invalid message or context.
    EFAULT = libc::EFAULT,
    /// Out of memory.
    ENOMEM = libc::ENOMEM,
    /// Interrupted by a signal.
    EINTR = libc::EINTR,
    /// Too many open sockets or files.
    EMFILE = libc::EMFILE,
    /// No such endpoint.
    ENOENT = libc::ENOENT,
    /// Bad file descriptor.
    EBADF = libc::EBADF,
    /// Permission denied.
    EACCES = libc::EACCES,
    /// No such device.
    ENODEV = libc::ENODEV,
    /// Operation not supported by this socket type.
    ENOTSUP = libc::EOPNOTSUPP,
    /// Transport protocol not supported.
    EPROTONOSUPPORT = libc::EPROTONOSUPPORT,
    /// No buffer space available.
    ENOBUFS = libc::ENOBUFS,
    /// Network is down.
    ENETDOWN = libc::ENETDOWN,
    /// Address already in use.
    EADDRINUSE = libc::EADDRINUSE,
    /// Address not available.
    EADDRNOTAVAIL = libc::EADDRNOTAVAIL,
    /// Connection refused.
    ECONNREFUSED = libc::ECONNREFUSED,
    /// Operation in progress.
    EINPROGRESS = libc::EINPROGRESS,
    /// Not a socket: a null or closed socket handle.
    ENOTSOCK = libc::ENOTSOCK,
    /// Message too long.
    EMSGSIZE = libc::EMSGSIZE,
    /// Address family not supported.
    EAFNOSUPPORT = libc::EAFNOSUPPORT,
    /// Network is unreachable.
    ENETUNREACH = libc::ENETUNREACH,
    /// Connection aborted.
    ECONNABORTED = libc::ECONNABORTED,
    /// Connection reset by peer.
    ECONNRESET = libc::ECONNRESET,
    /// Not connected.
    ENOTCONN = libc::ENOTCONN,
    /// Timed out.
    ETIMEDOUT = libc::ETIMEDOUT,
    /// File name too long (an ipc path beyond the system's limit).
    ENAMETOOLONG = libc::ENAMETOOLONG,
    /// Host unreachable: no peer with that routing id (ROUTER_MANDATORY).
    EHOSTUNREACH = libc::EHOSTUNREACH,
    /// Connection reset by the network.
    ENETRESET = libc::ENETRESET,
    /// The operation cannot be accomplished in the socket's current state.
    EFSM = HAUSNUMERO + 51,
    /// The transport is not compatible with the socket type.
    ENOCOMPATPROTO = HAUSNUMERO + 52,
    /// The context was terminated.
    ETERM = HAUSNUMERO + 53,
    /// No I/O thread is available.
    EMTHREAD = HAUSNUMERO + 54,
}

impl Error {
    /// The error for an errno number, as the `zmq` crate's `Error::from_raw`.
    ///
    /// Other positive numbers are kept as [`Error::Os`] (errno values
    /// libzmq passes through); anything else becomes [`Error::EINVAL`]
    /// instead of the `zmq` crate's panic. [`Error::try_from_raw`] tells
    /// the named ones apart.
    ///
    /// ```
    /// use zmqrs::Error;
    /// assert_eq!(Error::from_raw(Error::ETERM.to_raw()), Error::ETERM);
    /// assert_eq!(Error::from_raw(libc::EPERM), Error::Os(libc::EPERM));
    /// assert_eq!(Error::from_raw(-7), Error::EINVAL);
    /// ```
    pub fn from_raw(raw: i32) -> Error {
        match Error::try_from_raw(raw) {
            Some(e) => e,
            None if raw > 0 => Error::Os(raw),
            None => Error::EINVAL,
        }
    }

    /// The message `zmq_strerror` gives for this error.
    pub fn message(self) -> &'static str {
        strerror(self.to_raw())
    }

    /// Maps an operating-system error to the errno libzmq would report.
    pub fn from_io(e: &std::io::Error) -> Error {
        match e.raw_os_error() {
            Some(raw) => Error::try_from_raw(raw).unwrap_or(Error::Os(raw)),
            // Not from the operating system (std's own checks): the closest
            // libzmq answer is an invalid argument.
            None => Error::EINVAL,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(e: std::io::Error) -> Self {
        Error::from_io(&e)
    }
}

/// The text for any errno number, as `zmq_strerror` gives it: the four
/// native 0MQ errors and EHOSTUNREACH in libzmq's words, the rest from the C
/// library.
pub fn strerror(raw: i32) -> &'static str {
    strerror_cstr(raw).to_str().unwrap_or("Unknown error")
}

/// [`strerror`] as a NUL-terminated string that lives for the whole process
/// (what `zmq_strerror` hands to C).
pub fn strerror_cstr(raw: i32) -> &'static CStr {
    match raw {
        x if x == HAUSNUMERO + 51 => c"Operation cannot be accomplished in current state",
        x if x == HAUSNUMERO + 52 => c"The protocol is not compatible with the socket type",
        x if x == HAUSNUMERO + 53 => c"Context was terminated",
        x if x == HAUSNUMERO + 54 => c"No thread available",
        libc::EHOSTUNREACH => c"Host unreachable",
        _ => crate::sys::os_strerror(raw),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.message())
    }
}

impl std::error::Error for Error {}

impl From<Error> for std::io::Error {
    /// An I/O error of the matching kind that carries the 0MQ error (its
    /// `get_ref` downcasts back to [`Error`]).
    fn from(error: Error) -> std::io::Error {
        use std::io::ErrorKind;
        let kind = match error {
            Error::ENOENT => ErrorKind::NotFound,
            Error::EACCES => ErrorKind::PermissionDenied,
            Error::ECONNREFUSED => ErrorKind::ConnectionRefused,
            Error::ECONNRESET => ErrorKind::ConnectionReset,
            Error::ECONNABORTED => ErrorKind::ConnectionAborted,
            Error::ENOTCONN => ErrorKind::NotConnected,
            Error::EADDRINUSE => ErrorKind::AddrInUse,
            Error::EADDRNOTAVAIL => ErrorKind::AddrNotAvailable,
            Error::EAGAIN => ErrorKind::WouldBlock,
            Error::EINVAL => ErrorKind::InvalidInput,
            Error::ETIMEDOUT => ErrorKind::TimedOut,
            Error::EINTR => ErrorKind::Interrupted,
            Error::ENOMEM => ErrorKind::OutOfMemory,
            Error::ENOTSUP => ErrorKind::Unsupported,
            _ => ErrorKind::Other,
        };
        std::io::Error::new(kind, error)
    }
}

/// The result of a 0MQ operation.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_numbers_match_zmq_h() {
        assert_eq!(Error::EFSM.to_raw(), 156_384_763);
        assert_eq!(Error::ENOCOMPATPROTO.to_raw(), 156_384_764);
        assert_eq!(Error::ETERM.to_raw(), 156_384_765);
        assert_eq!(Error::EMTHREAD.to_raw(), 156_384_766);
        assert_eq!(Error::try_from_raw(libc::EAGAIN), Some(Error::EAGAIN));
        assert_eq!(Error::try_from_raw(HAUSNUMERO + 53), Some(Error::ETERM));
        assert_eq!(Error::try_from_raw(0), None);
        assert_eq!(Error::from_raw(libc::EPROTO), Error::EPROTO);
        assert_eq!(Error::from_raw(0), Error::EINVAL);
    }

    #[test]
    fn operating_system_errors_keep_their_number() {
        let e = Error::from_io(&std::io::Error::from_raw_os_error(libc::EPERM));
        assert_eq!(e, Error::Os(libc::EPERM));
        assert_eq!(e.to_raw(), libc::EPERM);
        assert_eq!(e.message(), "Operation not permitted");
        let known = Error::from_io(&std::io::Error::from_raw_os_error(libc::ECONNREFUSED));
        assert_eq!(known, Error::ECONNREFUSED);
        let not_os = Error::from_io(&std::io::Error::other("no errno"));
        assert_eq!(not_os, Error::EINVAL);
    }

    #[test]
    fn messages() {
        assert_eq!(Error::ETERM.message(), "Context was terminated");
        assert_eq!(Error::EHOSTUNREACH.message(), "Host unreachable");
        assert_eq!(strerror(libc::EINVAL), "Invalid argument");
    }

    #[test]
    fn into_io_error() {
        let e: std::io::Error = Error::EAGAIN.into();
        assert_eq!(e.kind(), std::io::ErrorKind::WouldBlock);
        let inner = e.get_ref().and_then(|i| i.downcast_ref::<Error>());
        assert_eq!(inner, Some(&Error::EAGAIN));
        let e: std::io::Error = Error::ETERM.into();
        assert_eq!(e.kind(), std::io::ErrorKind::Other);
        assert_eq!(e.to_string(), "Context was terminated");
    }
}
