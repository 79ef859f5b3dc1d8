//! zmqrs: ZeroMQ (libzmq 4.3.5) in Rust.
//!
//! Three faces over one core: this blocking Rust API ([`Context`],
//! [`Socket`], [`Message`], [`poll()`]), a drop-in replacement for the `zmq`
//! crate (rust-zmq 0.10: see [below](#the-zmq-crate)); the C ABI in the
//! `capi` crate, which builds a drop-in `libzmq.so.5`; and ZMTP on the wire,
//! compatible with every libzmq peer.
//!
//! ```
//! let ctx = zmqrs::Context::new();
//! let server = ctx.socket(zmqrs::REP).unwrap();
//! server.bind("tcp://127.0.0.1:*").unwrap();
//! let endpoint = server.get_last_endpoint().unwrap().unwrap();
//! let client = ctx.socket(zmqrs::REQ).unwrap();
//! client.connect(&endpoint).unwrap();
//! client.send("Hello", 0).unwrap();
//! assert_eq!(server.recv_msg(0).unwrap().as_str(), Some("Hello"));
//! server.send("World", 0).unwrap();
//! assert_eq!(client.recv_string(0).unwrap(), Ok("World".to_string()));
//! ```
//!
//! # The `zmq` crate
//!
//! A program written for the `zmq` crate (rust-zmq 0.10) builds against
//! this crate, and runs unchanged, once one line of its Cargo.toml says
//!
//! ```toml
//! zmq = { package = "zmqrs", version = "0.1" }
//! ```
//!
//! The same items sit under the same paths ([`Context`], [`Socket`],
//! [`Message`], [`poll()`], [`proxy`], [`SocketType`] and its variants as
//! crate-level constants, [`PollEvents`] with [`POLLIN`]..., [`SocketEvent`],
//! [`Mechanism`], [`CurveKeyPair`], [`z85_encode`], [`Sendable`]...) with the
//! same signatures, including a typed getter and setter for every socket
//! option the `zmq` crate has. The test crate `tests/rust-zmq-programs`
//! holds programs written for the `zmq` crate, built this way, and a table
//! that checks every signature.
//!
//! ## Where it differs from the `zmq` crate
//!
//! * There is no libzmq underneath, so [`Socket::into_raw`],
//!   [`Socket::from_raw`] and [`Socket::as_mut_ptr`] deal in pointers to
//!   this crate's own `Socket`, which mean nothing to libzmq's C functions.
//! * Where the `zmq` crate panics (an unknown errno in
//!   [`Error::from_raw`](crate::Error::from_raw), an unknown event in
//!   [`SocketEvent::from_raw`], a failing `get_fd` in `as_raw_fd`), this
//!   crate returns a documented value instead.
//! * [`SocketType`] has the draft socket types as extra variants, and
//!   [`Error`] more errno values: a `match` on either needs a
//!   `_` arm.
//! * The GSSAPI options fail with EINVAL: there is no GSSAPI here (as in a
//!   libzmq built without it).
//! * [`PollEvents`] comes from bitflags 2 (the `zmq` crate used bitflags 1):
//!   the same constants, operators and methods, `from_bits_unchecked`
//!   included; its `Debug` output differs.
//!
//! ## Extras
//!
//! The draft socket types ([`SocketType::SERVER`], `CLIENT`, `RADIO`,
//! `DISH`, `GATHER`, `SCATTER`, `DGRAM`, `PEER`, `CHANNEL`) with
//! [`Socket::join`], [`Socket::leave`], [`Socket::connect_peer`] and routing
//! ids and groups on [`Message`];
//! [`Socket::send_msg_or_return`], which hands the message back on failure;
//! [`Socket::monitor_versioned`]; [`proxy_with`];
//! raw option access ([`Socket::setsockopt_raw`]); and the newer socket
//! options (TCP_MAXRT, ROUTER_NOTIFY, XPUB_NODROP...).
//!
//! ## Threads
//!
//! A [`Context`] is `Send + Sync` and cheap to clone. A [`Socket`] is `Send`
//! but not `Sync`: it moves between threads but is used by one at a time, as
//! libzmq requires. A [`PollItem`] borrows its socket.
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
#![warn(missing_docs)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod api;
mod command;
pub mod constants;
mod ctx;
pub mod diag;
mod endpoint;
mod error;
#[cfg(feature = "fault-injection")]
#[doc(hidden)]
pub mod fault;
#[cfg(fuzzing)]
#[doc(hidden)]
pub mod fuzzing;
mod inproc;
mod io;
mod mailbox;
mod monitor;
mod msg;
pub mod norm;
pub mod options;
pub mod pgm;
mod pipe;
pub mod poll;
mod proxy;
pub mod security;
mod socket;
mod sync_prims;
mod sys;
pub mod transport;
pub mod util;
pub mod ws;
pub mod zmtp;

pub use api::SocketType::*;
pub use api::{
    has, poll, version, z85_decode, z85_encode, Context, CurveKeyPair, DecodeError, EncodeError,
    Mechanism, PollEvents, PollItem, Sendable, Socket, SocketEvent, SocketType, DONTWAIT, POLLERR,
    POLLIN, POLLOUT, POLLPRI, SNDMORE,
};
pub use error::{strerror, strerror_cstr, Error, Result, HAUSNUMERO};
pub use msg::{Message, Metadata, Release, GROUP_MAX_LENGTH, INLINE_CAPACITY, LIVE_TAGS};
pub use proxy::{
    proxy, proxy_steerable, proxy_steerable_with_capture, proxy_with, proxy_with_capture,
};
