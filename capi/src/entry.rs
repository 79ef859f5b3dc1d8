//! The panic boundary every exported function runs inside (see `entry!`).
//!
//! A panic must never unwind into C (undefined behaviour) and, for a
//! library that promises robustness, must not take the caller's process
//! down either. So a panic in an export's body is caught here: the call
//! reports one line on stderr, sets errno and returns the function's
//! neutral failure value ([`Failure`]).
//!
//! errno is ENOTRECOVERABLE ("state not recoverable"). libzmq never sets it,
//! so a caller can tell this apart from every documented error of every
//! function, and its meaning is the honest one: the call stopped half way
//! through, the object it worked on (a socket, a context) may be left in an
//! inconsistent state, and retrying the same call is unlikely to help. The
//! caller can still close the object and go on, or report and exit.
//!
//! The panic hook of this library (its own copy of std: hooks of the host
//! program are not affected) stays silent for a panic on a thread the
//! library did not start, which is an application thread inside an export:
//! it keeps the message and location for the one line that [`run`] prints.
//! A panic on one of the library's own threads (they have names, such as
//! `ZMQbg/IO/0`) goes to the previous hook as before.

use std::any::Any;
use std::cell::RefCell;
use std::ffi::{c_char, c_int, c_long, c_ulong};
use std::io::Write;
use std::panic::{self, AssertUnwindSafe, PanicHookInfo};
use std::sync::Once;

/// What an export returns when its body panicked.
pub(crate) trait Failure {
    /// The value that means "failed, see errno" for this return type.
    fn failure() -> Self;
}

impl Failure for c_int {
    fn failure() -> c_int {
        -1
    }
}

impl Failure for c_long {
    fn failure() -> c_long {
        -1
    }
}

/// zmq_connect_peer: 0 is never a routing id.
impl Failure for u32 {
    fn failure() -> u32 {
        0
    }
}

/// zmq_stopwatch_*: the elapsed time of a watch that is not there.
impl Failure for c_ulong {
    fn failure() -> c_ulong {
        0
    }
}

/// zmq_msg_size: the size of a message that is not there.
impl Failure for usize {
    fn failure() -> usize {
        0
    }
}

impl Failure for () {
    fn failure() {}
}

impl<T> Failure for *mut T {
    fn failure() -> *mut T {
        std::ptr::null_mut()
    }
}

/// zmq_msg_gets, zmq_msg_group: NULL, as for a missing property.
/// zmq_strerror returns a text instead (see [`INTERNAL_ERROR_TEXT`]).
impl<T> Failure for *const T {
    fn failure() -> *const T {
        std::ptr::null()
    }
}

/// What zmq_strerror returns if it fails: callers print its result
/// without checking for NULL.
pub(crate) const INTERNAL_ERROR_TEXT: &std::ffi::CStr = c"Internal error in libzmq (zmqrs)";

/// [`INTERNAL_ERROR_TEXT`] as zmq_strerror's return value.
pub(crate) fn internal_error_text() -> *const c_char {
    INTERNAL_ERROR_TEXT.as_ptr()
}

thread_local! {
    /// What the hook saw of the last panic on this thread: message and
    /// location, taken by `run` for its report.
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

static HOOK: Once = Once::new();

/// Installs the library's panic hook (see the module doc), once.
fn install_hook() {
    let previous = panic::take_hook();
    panic::set_hook(Box::new(move |info: &PanicHookInfo<'_>| {
        if std::thread::current().name().is_some() {
            previous(info);
            return;
        }
        let mut text = message(info.payload());
        if let Some(at) = info.location() {
            text = format!("{text} (at {}:{})", at.file(), at.line());
        }
        let _ = LAST_PANIC.try_with(|slot| {
            if let Ok(mut slot) = slot.try_borrow_mut() {
                *slot = Some(text);
            }
        });
    }));
}

/// The text of a panic payload.
fn message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a panic without a message)".to_string())
}

/// The one line reported for a panic in export `name`.
fn report_line(name: &str, what: &str) -> String {
    let what: String = what
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("zmqrs: internal error in {name}: {what}\n")
}

/// Runs an export's body; on a panic reports it, sets errno to
/// ENOTRECOVERABLE and returns `failure()`.
#[inline(always)]
pub(crate) fn run<R>(name: &str, body: impl FnOnce() -> R, failure: impl FnOnce() -> R) -> R {
    HOOK.call_once(install_hook);
    match panic::catch_unwind(AssertUnwindSafe(body)) {
        Ok(v) => v,
        Err(payload) => caught(name, payload, failure),
    }
}

#[cold]
#[inline(never)]
fn caught<R>(name: &str, payload: Box<dyn Any + Send>, failure: impl FnOnce() -> R) -> R {
    let what = LAST_PANIC
        .try_with(|slot| slot.try_borrow_mut().ok().and_then(|mut s| s.take()))
        .ok()
        .flatten()
        .unwrap_or_else(|| message(&*payload));
    // Dropping the payload runs foreign Drop code, which might panic too.
    if let Err(again) = panic::catch_unwind(AssertUnwindSafe(move || drop(payload))) {
        std::mem::forget(again);
    }
    let _ = std::io::stderr().write_all(report_line(name, &what).as_bytes());
    // Last: writing to stderr may change errno.
    crate::set_errno(libc::ENOTRECOVERABLE);
    failure()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errno() -> c_int {
        // SAFETY: __errno_location returns the calling thread's errno slot.
        unsafe { *libc::__errno_location() }
    }

    fn set_errno(e: c_int) {
        crate::set_errno(e);
    }

    /// Every return type: a panicking body gives the neutral failure and
    /// ENOTRECOVERABLE; a body that returns leaves errno alone.
    fn check_every_kind() {
        // Test exports, defined here (not at module level) so that the
        // header generator, which expands item-level entry! invocations,
        // never sees them.
        entry! {
            /// Returns `x`; panics for a positive `x`.
            fn zmqrs_test_int(x: c_int) -> c_int {
                if x > 0 {
                    panic!("int {x}");
                }
                x
            }
        }

        entry! {
            /// Returns `x`; panics for a positive `x`.
            fn zmqrs_test_long(x: c_long) -> c_long {
                if x > 0 {
                    panic!("long");
                }
                x
            }
        }

        entry! {
            /// Returns `x`; panics for a positive `x`.
            fn zmqrs_test_u32(x: u32) -> u32 {
                if x > 1 {
                    panic!("u32");
                }
                x
            }
        }

        entry! {
            /// Returns `x`; panics for a positive `x`.
            fn zmqrs_test_ulong(x: c_ulong) -> c_ulong {
                if x > 1 {
                    panic!("{}", String::from("ulong"));
                }
                x
            }
        }

        entry! {
            /// Returns `x`; panics for a positive `x`.
            fn zmqrs_test_usize(x: usize) -> usize {
                if x > 1 {
                    std::panic::panic_any(42u8);
                }
                x
            }
        }

        entry! {
            /// Returns `p`; panics unless it is NULL.
            fn zmqrs_test_mut_ptr(p: *mut u8) -> *mut u8 {
                if !p.is_null() {
                    panic!("mut ptr");
                }
                p
            }
        }

        entry! {
            /// Returns `p`; panics unless it is NULL.
            fn zmqrs_test_const_ptr(p: *const u8) -> *const u8 {
                if !p.is_null() {
                    panic!("const ptr");
                }
                p
            }
        }

        entry! {
            /// Panics for a positive `x`.
            fn zmqrs_test_void(x: c_int) {
                if x > 0 {
                    panic!("void");
                }
            }
        }

        entry! {
            /// A text; panics for a positive `x`.
            fn zmqrs_test_text(x: c_int) -> *const c_char {
                if x > 0 {
                    panic!("text");
                }
                c"fine".as_ptr()
            } else {
                internal_error_text()
            }
        }

        let mut byte = 0u8;
        let p = &mut byte as *mut u8;
        // SAFETY: the test exports take plain values and any pointer.
        unsafe {
            set_errno(0);
            assert_eq!(zmqrs_test_int(-5), -5);
            assert_eq!(zmqrs_test_long(-5), -5);
            assert_eq!(zmqrs_test_u32(1), 1);
            assert_eq!(zmqrs_test_ulong(1), 1);
            assert_eq!(zmqrs_test_usize(1), 1);
            assert!(zmqrs_test_mut_ptr(std::ptr::null_mut()).is_null());
            assert!(zmqrs_test_const_ptr(std::ptr::null()).is_null());
            zmqrs_test_void(0);
            assert_eq!(*zmqrs_test_text(0), b'f' as c_char);
            assert_eq!(errno(), 0, "no failure, no errno");

            let cases: [(&str, &dyn Fn() -> bool); 9] = [
                ("int", &|| zmqrs_test_int(1) == -1),
                ("long", &|| zmqrs_test_long(1) == -1),
                ("u32", &|| zmqrs_test_u32(2) == 0),
                ("ulong", &|| zmqrs_test_ulong(2) == 0),
                ("usize", &|| zmqrs_test_usize(2) == 0),
                ("mut ptr", &|| zmqrs_test_mut_ptr(p).is_null()),
                ("const ptr", &|| zmqrs_test_const_ptr(p).is_null()),
                ("void", &|| {
                    zmqrs_test_void(1);
                    true
                }),
                ("text", &|| {
                    std::ffi::CStr::from_ptr(zmqrs_test_text(1)) == INTERNAL_ERROR_TEXT
                }),
            ];
            for (what, call) in cases {
                set_errno(0);
                assert!(call(), "{what}: not the neutral failure");
                assert_eq!(errno(), libc::ENOTRECOVERABLE, "{what}: errno");
            }
        }
    }

    #[test]
    fn a_panicking_body_returns_the_neutral_failure() {
        check_every_kind();
    }

    /// On an application thread (no Rust name) the hook keeps the message
    /// for the report and leaves nothing behind.
    #[test]
    fn a_panic_on_an_application_thread_is_reported_once() {
        let t = std::thread::spawn(|| {
            assert!(std::thread::current().name().is_none());
            check_every_kind();
            LAST_PANIC.with(|slot| slot.borrow().is_none())
        });
        assert_eq!(t.join().ok(), Some(true));
    }

    #[test]
    fn report_is_one_line() {
        assert_eq!(
            report_line("zmq_send", "bad\nthing\r"),
            "zmqrs: internal error in zmq_send: bad thing \n"
        );
    }
}
