//! `libzmq.so.5`: the C ABI of zmqrs, a drop-in replacement for libzmq 4.3.5.
//!
//! Every exported function has libzmq's name, signature and errno
//! behaviour. Bodies run inside `boundary`: a panic never unwinds into C;
//! it aborts the process with a message, as a failed assertion in libzmq
//! does. Handles are checked before use: a NULL, closed or terminated
//! socket or context gives ENOTSOCK / EFAULT like libzmq, never a crash (see
//! the `handle` module).
//!
//! The header `include/zmq.h` is generated from this crate by cbindgen
//! (see cbindgen.toml and tests/header.rs); doc comments become its C
//! comments.
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

mod consts;
mod context;
mod handle;
mod message;
mod poll;
mod socket;
mod util;

pub use consts::*;
pub use context::*;
pub use message::*;
pub use poll::*;
pub use socket::*;
pub use util::*;

use zmqrs::Error;

/// Runs an exported function's body; a panic aborts with the function's name.
pub(crate) fn boundary<T>(name: &str, body: impl FnOnce() -> T) -> T {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(body)) {
        Ok(v) => v,
        Err(p) => {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            eprintln!("zmqrs: internal error in {name}: {what}");
            std::process::abort();
        }
    }
}

/// Sets the calling thread's errno.
pub(crate) fn set_errno(e: i32) {
    // SAFETY: __errno_location returns the calling thread's errno slot.
    unsafe { *libc::__errno_location() = e };
}

/// Sets errno from an error and returns the function's failure value.
pub(crate) fn fail<T>(e: Error, value: T) -> T {
    set_errno(e.to_raw());
    value
}

/// `Ok(())` → 0, `Err(e)` → -1 with errno.
pub(crate) fn rc(r: zmqrs::Result<()>) -> libc::c_int {
    match r {
        Ok(()) => 0,
        Err(e) => fail(e, -1),
    }
}
