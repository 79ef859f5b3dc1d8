//! The blocking Rust API: a drop-in replacement for the `zmq` crate
//! (rust-zmq 0.10). The crate documentation (lib.rs) says how to switch and
//! where it differs.

mod context;
mod curve;
mod poll;
mod socket;
mod sockopt;
mod types;

pub use context::Context;
pub use curve::{z85_decode, z85_encode, CurveKeyPair, DecodeError, EncodeError};
pub use poll::{poll, PollEvents, PollItem, POLLERR, POLLIN, POLLOUT, POLLPRI};
pub use socket::{Sendable, Socket};
pub use types::{Mechanism, SocketEvent, SocketType, DONTWAIT, SNDMORE};

/// The libzmq version this library implements, `(4, 3, 5)`
/// (`zmq_version`).
pub fn version() -> (i32, i32, i32) {
    (4, 3, 5)
}

/// Whether this library has a capability (`zmq_has`): `"ipc"`, `"curve"`,
/// `"ws"`, `"wss"`, `"pgm"` and `"draft"` are there; `"norm"` is there
/// when libnorm (`libnorm.so.1`) is installed, since norm:// runs on it;
/// `"tipc"`, `"gssapi"`, `"vmci"` and anything else are not. Always
/// `Some`, as in the `zmq` crate.
///
/// `"pgm"` stands for both pgm:// and epgm://: libzmq has no `"epgm"`
/// capability (Debian's libzmq5 answers no to it and yes to `"pgm"`), and
/// applications test `"pgm"` before using either.
///
/// ```
/// assert_eq!(zmqrs::has("curve"), Some(true));
/// assert_eq!(zmqrs::has("pgm"), Some(true));
/// assert_eq!(zmqrs::has("epgm"), Some(false));
/// assert_eq!(zmqrs::has("gssapi"), Some(false));
/// ```
pub fn has(capability: &str) -> Option<bool> {
    Some(match capability {
        "ipc" | "ws" | "wss" | "pgm" => true,
        "curve" => crate::options::HAVE_CURVE,
        "draft" => true,
        "norm" => crate::io::libnorm::available(),
        _ => false,
    })
}
