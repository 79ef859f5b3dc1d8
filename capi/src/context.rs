//! Contexts: `zmq_ctx_*` and the legacy `zmq_init` / `zmq_term`.

use std::ffi::{c_int, c_void};

use zmqrs::{Context, Error};

use crate::handle::{Pool, CTX_TAG};
use crate::{fail, rc};

pub(crate) static CONTEXTS: Pool<Context> = Pool::new(CTX_TAG);

/// The context behind a handle, or EFAULT (NULL, terminated or not a
/// context at all).
///
/// # Safety
/// No thread terminates this context while the result is in use.
pub(crate) unsafe fn ctx_of<'a>(ctx: *mut c_void) -> Option<&'a Context> {
    // SAFETY: forwarded contract: no concurrent release of this handle.
    let c = unsafe { CONTEXTS.get(ctx) };
    if c.is_none() {
        crate::set_errno(Error::EFAULT.to_raw());
    }
    c
}

entry! {
    /// Creates a new 0MQ context.
    fn zmq_ctx_new() -> *mut c_void {
        crate::stderr_log::init_from_env();
        CONTEXTS.alloc(Context::new())
    }
}

entry! {
    /// Terminates a context: blocks until every socket is closed and lingered.
    fn zmq_ctx_term(context: *mut c_void) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        match unsafe { CONTEXTS.release(context) } {
            Some(mut c) => rc(c.destroy()),
            None => fail(Error::EFAULT, -1),
        }
    }
}

entry! {
    /// Shuts a context down: blocking calls on its sockets return ETERM.
    fn zmq_ctx_shutdown(context: *mut c_void) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        match unsafe { ctx_of(context) } {
            Some(c) => {
                c.shutdown();
                0
            }
            None => -1,
        }
    }
}

entry! {
    /// Sets an integer context option.
    fn zmq_ctx_set(context: *mut c_void, option: c_int, optval: c_int) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        match unsafe { ctx_of(context) } {
            Some(c) => rc(c.set(option, optval)),
            None => -1,
        }
    }
}

entry! {
    /// Reads an integer context option; -1 with EINVAL for an unknown one.
    fn zmq_ctx_get(context: *mut c_void, option: c_int) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        match unsafe { ctx_of(context) } {
            Some(c) => c.get(option).unwrap_or_else(|e| fail(e, -1)),
            None => -1,
        }
    }
}

entry! {
    /// Sets a context option of any size (DRAFT).
    #[cfg(feature = "draft")]
    fn zmq_ctx_set_ext(
        context: *mut c_void,
        option: c_int,
        optval: *const c_void,
        optvallen: usize,
    ) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(c) = (unsafe { ctx_of(context) }) else {
            return -1;
        };
        // SAFETY: the caller passes optvallen readable bytes at optval.
        let value = unsafe { crate::util::bytes(optval, optvallen) };
        rc(c.set_raw(option, value.unwrap_or(&[])))
    }
}

entry! {
    /// Reads a context option of any size (DRAFT).
    #[cfg(feature = "draft")]
    fn zmq_ctx_get_ext(
        context: *mut c_void,
        option: c_int,
        optval: *mut c_void,
        optvallen: *mut usize,
    ) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(c) = (unsafe { ctx_of(context) }) else {
            return -1;
        };
        if optvallen.is_null() {
            return fail(Error::EFAULT, -1);
        }
        // SAFETY: optvallen is non-null and points to the buffer's size.
        let len = unsafe { *optvallen };
        // SAFETY: the caller passes len writable bytes at optval.
        let Some(buf) = (unsafe { crate::util::bytes_mut(optval, len) }) else {
            return fail(Error::EFAULT, -1);
        };
        match c.get_raw(option, buf) {
            Ok(n) => {
                // SAFETY: checked non-null above.
                unsafe { *optvallen = n };
                0
            }
            Err(e) => fail(e, -1),
        }
    }
}

entry! {
    /// Legacy: a context with `io_threads` I/O threads.
    fn zmq_init(io_threads: c_int) -> *mut c_void {
        if io_threads < 0 {
            return fail(Error::EINVAL, std::ptr::null_mut());
        }
        crate::stderr_log::init_from_env();
        let c = Context::new();
        let _ = c.set_io_threads(io_threads);
        CONTEXTS.alloc(c)
    }
}

entry! {
    /// Legacy name of zmq_ctx_term.
    fn zmq_term(context: *mut c_void) -> c_int {
        // SAFETY: same contract as zmq_ctx_term.
        unsafe { zmq_ctx_term(context) }
    }
}

entry! {
    /// Legacy name of zmq_ctx_term.
    fn zmq_ctx_destroy(context: *mut c_void) -> c_int {
        // SAFETY: same contract as zmq_ctx_term.
        unsafe { zmq_ctx_term(context) }
    }
}
