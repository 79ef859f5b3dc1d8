//! [`Context`]: the I/O threads and the sockets made from them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::constants::*;
use crate::ctx::Ctx;
use crate::error::Result;

use super::{Socket, SocketType};

pub(super) struct ContextInner {
    pub(super) ctx: Arc<Ctx>,
    terminated: AtomicBool,
}

impl Drop for ContextInner {
    fn drop(&mut self) {
        if !self.terminated.swap(true, Ordering::AcqRel) {
            let _ = self.ctx.terminate();
        }
    }
}

/// A 0MQ context: the I/O threads, and the sockets made from it.
///
/// It is `Send + Sync`, and cloning it shares the same context. Every
/// socket holds a clone, so the context lives until the last clone and the
/// last socket are dropped; then it is terminated, waiting for each socket's
/// linger. [`Context::destroy`] terminates it earlier: blocked and later
/// calls on its sockets fail with ETERM, and it returns once every socket
/// has been dropped (so don't call it while this thread still holds one).
///
/// ```
/// let ctx = zmqrs::Context::new();
/// let socket = ctx.socket(zmqrs::REP).unwrap();
/// socket.bind("inproc://context-doc").unwrap();
/// ```
#[derive(Clone)]
pub struct Context {
    pub(super) inner: Arc<ContextInner>,
}

impl Default for Context {
    fn default() -> Self {
        Context::new()
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").finish_non_exhaustive()
    }
}

impl Context {
    /// A new context (`zmq_ctx_new`).
    pub fn new() -> Context {
        Context {
            inner: Arc::new(ContextInner {
                ctx: Ctx::new(),
                terminated: AtomicBool::new(false),
            }),
        }
    }

    /// Creates a socket (`zmq_socket`).
    pub fn socket(&self, socket_type: SocketType) -> Result<Socket> {
        self.socket_raw(socket_type.to_raw())
    }

    /// Creates a socket from a `ZMQ_*` type number (EINVAL if unknown).
    pub fn socket_raw(&self, socket_type: i32) -> Result<Socket> {
        let core = crate::socket::create(&self.inner.ctx, socket_type)?;
        Ok(Socket::new(core, self.clone()))
    }

    /// Sets an integer context option (`zmq_ctx_set`).
    pub fn set(&self, option: i32, value: i32) -> Result<()> {
        self.inner.ctx.set(option, &value.to_ne_bytes())
    }

    /// Sets a context option from raw bytes (`zmq_ctx_set_ext`).
    pub fn set_raw(&self, option: i32, value: &[u8]) -> Result<()> {
        self.inner.ctx.set(option, value)
    }

    /// Reads an integer context option (`zmq_ctx_get`).
    pub fn get(&self, option: i32) -> Result<i32> {
        self.inner.ctx.get_int(option)
    }

    /// Reads a context option into `buf` (`zmq_ctx_get_ext`); returns its length.
    pub fn get_raw(&self, option: i32, buf: &mut [u8]) -> Result<usize> {
        self.inner.ctx.get(option, buf)
    }

    /// The number of I/O threads (ZMQ_IO_THREADS).
    pub fn get_io_threads(&self) -> Result<i32> {
        self.get(ZMQ_IO_THREADS)
    }

    /// Sets the number of I/O threads; it takes effect if set before the
    /// first socket is created.
    pub fn set_io_threads(&self, value: i32) -> Result<()> {
        self.set(ZMQ_IO_THREADS, value)
    }

    /// Makes blocked and future calls on every socket fail with ETERM, and
    /// refuses new sockets, without waiting (`zmq_ctx_shutdown`).
    pub fn shutdown(&self) {
        self.inner.ctx.shutdown();
    }

    /// Terminates the context now (`zmq_ctx_term`): blocked and later calls
    /// on its sockets fail with ETERM; returns when every socket has been
    /// dropped and its linger has passed. Later calls do nothing.
    pub fn destroy(&mut self) -> Result<()> {
        if !self.inner.terminated.swap(true, Ordering::AcqRel) {
            if let Err(e) = self.inner.ctx.terminate() {
                // Interrupted (EINTR): a later call, or the drop, tries again.
                self.inner.terminated.store(false, Ordering::Release);
                return Err(e);
            }
        }
        Ok(())
    }
}
