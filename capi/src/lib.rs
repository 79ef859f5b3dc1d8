//! `libzmq.so.5`: the C ABI of zmqrs, a drop-in replacement for libzmq 4.3.5.
//!
//! Every exported function has libzmq's name, signature and errno
//! behaviour, and every one is written through [`entry!`]: its body runs
//! inside a panic boundary, so a panic never unwinds into C and never
//! aborts the process; the call fails instead (see [`entry`]). Handles of
//! every kind are checked before use (see [`handle`]): a NULL, closed,
//! destroyed or foreign pointer gives libzmq's errno, never a crash.
//!
//! The header `include/zmq.h` is generated from this crate by cbindgen
//! (see cbindgen.toml and tests/header.rs); doc comments become its C
//! comments.
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(clippy::undocumented_unsafe_blocks)]

/// Defines one exported C function; the only way this crate exports one.
///
/// ```ignore
/// entry! {
///     /// Doc comment, copied into zmq.h.
///     #[cfg(feature = "draft")]
///     fn zmq_name(arg: *mut c_void, n: c_int) -> c_int {
///         body
///     }
/// }
/// ```
///
/// writes `#[no_mangle] pub unsafe extern "C" fn zmq_name(...) -> c_int`
/// whose body runs through [`entry::run`]: a panic inside it is caught and
/// the function returns its [`entry::Failure`] value with errno
/// ENOTRECOVERABLE. A function without `-> T` returns `void`. A function
/// whose neutral failure differs from its return type's (zmq_strerror,
/// which must return a text) gives it after the body: `{ body } else
/// { fallback }`.
macro_rules! entry {
    (
        $(#[$attr:meta])*
        fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $body:block else $fallback:block
    ) => {
        $(#[$attr])*
        #[no_mangle]
        pub unsafe extern "C" fn $name($($arg: $ty),*) -> $ret {
            $crate::entry::run(
                stringify!($name),
                move || -> $ret { $body },
                || -> $ret { $fallback },
            )
        }
    };
    (
        $(#[$attr:meta])*
        fn $name:ident($($arg:ident: $ty:ty),* $(,)?) -> $ret:ty $body:block
    ) => {
        $(#[$attr])*
        #[no_mangle]
        pub unsafe extern "C" fn $name($($arg: $ty),*) -> $ret {
            $crate::entry::run(
                stringify!($name),
                move || -> $ret { $body },
                <$ret as $crate::entry::Failure>::failure,
            )
        }
    };
    (
        $(#[$attr:meta])*
        fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block
    ) => {
        $(#[$attr])*
        #[no_mangle]
        pub unsafe extern "C" fn $name($($arg: $ty),*) {
            $crate::entry::run(stringify!($name), move || $body, || ())
        }
    };
}

mod consts;
mod context;
mod entry;
mod handle;
mod message;
mod poll;
mod socket;
mod stderr_log;
mod util;

pub use consts::*;
pub use context::*;
pub use message::*;
pub use poll::*;
pub use socket::*;
pub use util::*;

use zmqrs::Error;

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
