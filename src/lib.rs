//! zmqrs: ZeroMQ (libzmq 4.3.5) in Rust.
//!
//! Three faces over one core: this blocking Rust API ([`Context`],
//! [`Socket`], [`Message`], [`poll`]); the C ABI in the `capi` crate, which
//! builds a drop-in `libzmq.so.5`; and ZMTP on the wire, compatible with
//! every libzmq peer.
//!
//! # Threads and ownership
//!
//! * A [`Socket`] (its `SocketCore`) is owned by the user's thread; after
//!   close it belongs to the context's reaper thread until its pipes have
//!   finished terminating.
//! * Each context has I/O threads (ZMQ_IO_THREADS) running mio poll loops
//!   that own listeners, connecters, sessions and engines.
//! * Sockets and sessions exchange messages through pipes: lock-free
//!   single-producer single-consumer queues with HWM credit. State changes
//!   travel as commands through mailboxes; messages never do.
//! * Wake-ups are per batch: a writer signals a reader only when the queue
//!   went from empty to non-empty while the reader slept.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod api;
pub mod constants;
mod ctx;
mod error;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
mod io;
mod mailbox;
mod monitor;
mod msg;
pub mod options;
mod pipe;
pub mod poll;
mod proxy;
pub mod security;
mod socket;
mod sys;
pub mod transport;
pub mod util;
pub mod zmtp;

pub use api::{
    poll, Context, PollItem, Socket, SocketType, DONTWAIT, POLLERR, POLLIN, POLLOUT, SNDMORE,
};
pub use error::{strerror, strerror_cstr, Error, Result, HAUSNUMERO};
pub use msg::{Message, Metadata, Release, GROUP_MAX_LENGTH, INLINE_CAPACITY, LIVE_TAGS};
pub use proxy::proxy;

/// The libzmq version this library implements: (4, 3, 5).
pub fn version() -> (i32, i32, i32) {
    (4, 3, 5)
}

/// Whether a capability is available (`zmq_has`): transports and mechanisms.
pub fn has(capability: &str) -> bool {
    match capability {
        "ipc" => true,
        "curve" => options::HAVE_CURVE,
        "draft" => true,
        _ => false,
    }
}
