//! The context: I/O thread pool, reaper, socket registry, inproc endpoint
//! registry, and termination (libzmq src/ctx.cpp).
//!
//! A [`Ctx`] is shared (`Arc`) by the user's handles, every socket, the
//! reaper and the I/O threads. Its state sits behind three locks taken one at
//! a time: options, the socket registry, and the inproc endpoints.
//!
//! Threads start with the first socket, so that ZMQ_IO_THREADS set before
//! that takes effect. `terminate` stops every socket (blocked calls return
//! ETERM), waits until the user has closed them all and the reaper has
//! finished them (linger), then stops the threads.

pub(crate) mod reaper;

use std::collections::{BTreeSet, HashMap};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;

use crate::util::sync::{Condvar, Mutex};

use crate::constants::*;
use crate::error::{Error, Result};
use crate::io::{IoCommand, IoThread};
use crate::mailbox::Mailbox;
use crate::options::Options;
use crate::pipe::Pipe;
use crate::socket::{SocketCommand, SocketCore, SocketShared};

/// Context options (zmq_ctx_set / zmq_ctx_get).
#[derive(Clone, Debug)]
pub(crate) struct CtxOptions {
    pub io_threads: i32,
    pub max_sockets: i32,
    pub ipv6: bool,
    pub blocky: bool,
    pub max_msgsz: i32,
    pub zero_copy: bool,
    pub thread_priority: i32,
    pub thread_sched_policy: i32,
    pub thread_affinity: BTreeSet<i32>,
    pub thread_name_prefix: String,
}

impl Default for CtxOptions {
    fn default() -> Self {
        CtxOptions {
            io_threads: ZMQ_IO_THREADS_DFLT,
            max_sockets: ZMQ_MAX_SOCKETS_DFLT,
            ipv6: false,
            blocky: true,
            max_msgsz: i32::MAX,
            zero_copy: true,
            thread_priority: ZMQ_THREAD_PRIORITY_DFLT,
            thread_sched_policy: ZMQ_THREAD_SCHED_POLICY_DFLT,
            thread_affinity: BTreeSet::new(),
            thread_name_prefix: String::new(),
        }
    }
}

/// The largest number of sockets a context may be asked to allow.
const SOCKET_LIMIT: i32 = 65535;

/// A socket that bound an inproc endpoint, as connecters see it.
#[derive(Clone)]
pub(crate) struct InprocEndpoint {
    pub socket: Arc<SocketShared>,
    /// The binder's options when it bound (HWMs, routing id).
    pub options: Options,
}

/// An inproc connect that happened before the bind.
pub(crate) struct PendingConnection {
    /// The end that the binder will own.
    pub bind_pipe: Pipe,
    pub connecter_options: Options,
}

#[derive(Default)]
struct Registry {
    starting: bool,
    terminating: bool,
    sockets: HashMap<u32, Arc<SocketShared>>,
    reaper: Option<reaper::ReaperHandle>,
    io_threads: Vec<IoThread>,
}

#[derive(Default)]
struct Inproc {
    endpoints: HashMap<String, InprocEndpoint>,
    pending: Vec<(String, PendingConnection)>,
}

/// The shared state of one context.
pub(crate) struct Ctx {
    opts: Mutex<CtxOptions>,
    registry: Mutex<Registry>,
    all_reaped: Condvar,
    inproc: Mutex<Inproc>,
    /// The process that created the context: after fork() the child has
    /// none of its threads, so it may only tear the context down.
    pid: u32,
}

/// Socket ids are unique across contexts, like libzmq's max_socket_id.
static NEXT_SOCKET_ID: AtomicU32 = AtomicU32::new(1);

impl Ctx {
    pub(crate) fn new() -> Arc<Ctx> {
        Arc::new(Ctx {
            opts: Mutex::new(CtxOptions::default()),
            registry: Mutex::new(Registry {
                starting: true,
                ..Registry::default()
            }),
            all_reaped: Condvar::new(),
            inproc: Mutex::new(Inproc::default()),
            pid: std::process::id(),
        })
    }

    /// `zmq_ctx_set_ext`.
    pub(crate) fn set(&self, option: i32, value: &[u8]) -> Result<()> {
        let int = crate::options::as_int(Some(value));
        let mut o = self.opts.lock();
        match (option, int) {
            // libzmq clips only to the poller's fd limit, which epoll does
            // not have: any positive count is taken.
            (ZMQ_MAX_SOCKETS, Some(v)) if v >= 1 => o.max_sockets = v,
            (ZMQ_IO_THREADS, Some(v)) if v >= 0 => o.io_threads = v,
            (ZMQ_IPV6, Some(v)) if v >= 0 => o.ipv6 = v != 0,
            (ZMQ_BLOCKY, Some(v)) if v >= 0 => o.blocky = v != 0,
            (ZMQ_MAX_MSGSZ, Some(v)) if v >= 0 => o.max_msgsz = v,
            (ZMQ_ZERO_COPY_RECV, Some(v)) if v >= 0 => o.zero_copy = v != 0,
            (ZMQ_THREAD_SCHED_POLICY, Some(v)) if v >= 0 => o.thread_sched_policy = v,
            (ZMQ_THREAD_PRIORITY, Some(v)) if v >= 0 => o.thread_priority = v,
            (ZMQ_THREAD_AFFINITY_CPU_ADD, Some(v)) if v >= 0 => {
                o.thread_affinity.insert(v);
            }
            (ZMQ_THREAD_AFFINITY_CPU_REMOVE, Some(v)) if v >= 0 => {
                if !o.thread_affinity.remove(&v) {
                    return Err(Error::EINVAL);
                }
            }
            (ZMQ_THREAD_NAME_PREFIX, Some(v)) => o.thread_name_prefix = v.to_string(),
            (ZMQ_THREAD_NAME_PREFIX, None) if !value.is_empty() && value.len() <= 16 => {
                o.thread_name_prefix = String::from_utf8_lossy(value).into_owned();
            }
            _ => return Err(Error::EINVAL),
        }
        Ok(())
    }

    /// `zmq_ctx_get_ext`: an int option needs a 4-byte buffer.
    pub(crate) fn get(&self, option: i32, buf: &mut [u8]) -> Result<usize> {
        let o = self.opts.lock();
        let is_int = buf.len() == 4;
        let value = match option {
            ZMQ_MAX_SOCKETS => o.max_sockets,
            ZMQ_SOCKET_LIMIT => SOCKET_LIMIT,
            ZMQ_IO_THREADS => o.io_threads,
            ZMQ_IPV6 => o.ipv6 as i32,
            ZMQ_BLOCKY => o.blocky as i32,
            ZMQ_MAX_MSGSZ => o.max_msgsz,
            ZMQ_MSG_T_SIZE => std::mem::size_of::<crate::Message>() as i32,
            ZMQ_ZERO_COPY_RECV => o.zero_copy as i32,
            ZMQ_THREAD_SCHED_POLICY => o.thread_sched_policy,
            ZMQ_THREAD_NAME_PREFIX if is_int => {
                o.thread_name_prefix.trim().parse::<i32>().unwrap_or(0)
            }
            ZMQ_THREAD_NAME_PREFIX => {
                let p = o.thread_name_prefix.as_bytes();
                if buf.len() < p.len() {
                    return Err(Error::EINVAL);
                }
                buf[..p.len()].copy_from_slice(p);
                if buf.len() > p.len() {
                    buf[p.len()] = 0;
                }
                return Ok(p.len());
            }
            _ => return Err(Error::EINVAL),
        };
        crate::options::put_int(buf, value)
    }

    /// A context option as an int (`zmq_ctx_get`).
    pub(crate) fn get_int(&self, option: i32) -> Result<i32> {
        let mut b = [0u8; 4];
        self.get(option, &mut b)?;
        Ok(i32::from_ne_bytes(b))
    }

    pub(crate) fn options(&self) -> CtxOptions {
        self.opts.lock().clone()
    }

    /// Starts the reaper and the I/O threads (first socket only).
    fn start(self: &Arc<Ctx>, reg: &mut Registry) -> Result<()> {
        let opts = self.options();
        let reaper =
            reaper::ReaperHandle::start(Arc::clone(self), &opts).map_err(|e| Error::from_io(&e))?;
        reg.reaper = Some(reaper);
        for i in 0..opts.io_threads {
            let t = IoThread::start(Arc::clone(self), i as usize, &opts)
                .map_err(|e| Error::from_io(&e))?;
            reg.io_threads.push(t);
        }
        reg.starting = false;
        Ok(())
    }

    /// `zmq_socket`.
    pub(crate) fn create_socket(self: &Arc<Ctx>, socket_type: i32) -> Result<SocketCore> {
        let mut reg = self.registry.lock();
        if reg.terminating {
            return Err(Error::ETERM);
        }
        if reg.starting {
            self.start(&mut reg)?;
        }
        let opts = self.options();
        if reg.sockets.len() >= opts.max_sockets as usize {
            return Err(Error::EMFILE);
        }
        let id = NEXT_SOCKET_ID.fetch_add(1, Ordering::Relaxed);
        let options = Options {
            socket_id: id as i32,
            ipv6: opts.ipv6,
            linger: if opts.blocky { -1 } else { 0 },
            zero_copy: opts.zero_copy,
            ..Options::default()
        };
        let core = SocketCore::new(Arc::clone(self), socket_type, id, options)?;
        reg.sockets.insert(id, Arc::clone(core.shared()));
        Ok(core)
    }

    /// The least loaded I/O thread allowed by `affinity` (a bit mask; 0 means
    /// any): its index and mailbox. EMTHREAD when the context has none.
    pub(crate) fn choose_io_thread(
        &self,
        affinity: u64,
    ) -> Result<(usize, Arc<Mailbox<IoCommand>>)> {
        let reg = self.registry.lock();
        let mut best: Option<(usize, usize)> = None;
        for (i, t) in reg.io_threads.iter().enumerate() {
            if affinity != 0 && (i >= 64 || affinity & (1u64 << i) == 0) {
                continue;
            }
            let load = t.load();
            if best.is_none_or(|(_, l)| load < l) {
                best = Some((i, load));
            }
        }
        match best {
            Some((i, _)) => Ok((i, Arc::clone(reg.io_threads[i].mailbox()))),
            None => Err(Error::EMTHREAD),
        }
    }

    /// The mailbox of I/O thread `index`, if it still runs.
    pub(crate) fn io_mailbox(&self, index: usize) -> Option<Arc<Mailbox<IoCommand>>> {
        self.registry
            .lock()
            .io_threads
            .get(index)
            .map(|t| Arc::clone(t.mailbox()))
    }

    /// Hands a closed socket to the reaper, which finishes it.
    pub(crate) fn reap(&self, core: Box<SocketCore>) {
        if self.forked() {
            // No reaper in a forked child: the socket just goes away.
            self.registry.lock().sockets.remove(&core.id());
            drop(core);
            return;
        }
        let reg = self.registry.lock();
        match &reg.reaper {
            Some(r) => r.reap(core),
            // Sockets only exist once the context started; keep the books
            // straight if that ever changes.
            None => drop(core),
        }
    }

    /// The reaper finished a socket.
    pub(crate) fn socket_reaped(&self, id: u32) {
        let mut reg = self.registry.lock();
        reg.sockets.remove(&id);
        if reg.sockets.is_empty() {
            self.all_reaped.notify_all();
        }
    }

    /// `zmq_ctx_shutdown`: sockets return ETERM from now on; no new sockets.
    pub(crate) fn shutdown(&self) {
        let mut reg = self.registry.lock();
        if !reg.terminating {
            reg.terminating = true;
            for s in reg.sockets.values() {
                s.mailbox.send(SocketCommand::Stop);
            }
        }
    }

    /// `zmq_ctx_term`: stop all sockets, wait until all are closed and
    /// reaped, then stop the threads.
    fn forked(&self) -> bool {
        std::process::id() != self.pid
    }

    pub(crate) fn terminate(self: &Arc<Ctx>) -> Result<()> {
        if self.forked() {
            // The threads live in the parent; their handles mean nothing here.
            let mut reg = self.registry.lock();
            reg.terminating = true;
            reg.sockets.clear();
            std::mem::forget(reg.reaper.take());
            std::mem::forget(std::mem::take(&mut reg.io_threads));
            return Ok(());
        }
        // Inproc connects that never met a bind: bind them to a throw-away
        // socket so that their pipes finish the termination handshake.
        let pending: Vec<String> = {
            let inproc = self.inproc.lock();
            let mut names: Vec<String> = inproc.pending.iter().map(|(n, _)| n.clone()).collect();
            names.dedup();
            names
        };
        let started = !self.registry.lock().starting;
        if started {
            for name in pending {
                if let Ok(mut s) = self.create_socket_even_if_terminating(ZMQ_PAIR) {
                    let _ = s.bind(&name);
                    self.reap(Box::new(s));
                }
            }
        }
        let (reaper, io_threads) = {
            let mut reg = self.registry.lock();
            if !reg.terminating {
                reg.terminating = true;
                for s in reg.sockets.values() {
                    s.mailbox.send(SocketCommand::Stop);
                }
            }
            while !reg.sockets.is_empty() {
                reg = self.all_reaped.wait(reg);
            }
            (reg.reaper.take(), std::mem::take(&mut reg.io_threads))
        };
        if let Some(r) = reaper {
            r.stop();
        }
        for t in io_threads {
            t.stop();
        }
        Ok(())
    }

    fn create_socket_even_if_terminating(self: &Arc<Ctx>, socket_type: i32) -> Result<SocketCore> {
        let saved = std::mem::replace(&mut self.registry.lock().terminating, false);
        let r = self.create_socket(socket_type);
        self.registry.lock().terminating = saved;
        r
    }

    // ---- inproc endpoints ----------------------------------------------

    /// Registers an inproc endpoint; returns the connections that were
    /// waiting for it. EADDRINUSE if it is taken.
    pub(crate) fn register_endpoint(
        &self,
        name: &str,
        ep: InprocEndpoint,
    ) -> Result<Vec<PendingConnection>> {
        let mut inproc = self.inproc.lock();
        if inproc.endpoints.contains_key(name) {
            return Err(Error::EADDRINUSE);
        }
        inproc.endpoints.insert(name.to_owned(), ep);
        let mut waiting = Vec::new();
        let mut i = 0;
        while i < inproc.pending.len() {
            if inproc.pending[i].0 == name {
                waiting.push(inproc.pending.remove(i).1);
            } else {
                i += 1;
            }
        }
        Ok(waiting)
    }

    /// Removes an endpoint if `socket_id` bound it.
    pub(crate) fn unregister_endpoint(&self, name: &str, socket_id: u32) -> bool {
        let mut inproc = self.inproc.lock();
        match inproc.endpoints.get(name) {
            Some(ep) if ep.socket.id == socket_id => {
                inproc.endpoints.remove(name);
                true
            }
            _ => false,
        }
    }

    /// Removes every endpoint bound by `socket_id`.
    pub(crate) fn unregister_endpoints(&self, socket_id: u32) {
        self.inproc
            .lock()
            .endpoints
            .retain(|_, ep| ep.socket.id != socket_id);
    }

    /// Whether a socket is bound to an inproc endpoint.
    pub(crate) fn has_endpoint(&self, name: &str) -> bool {
        self.inproc.lock().endpoints.contains_key(name)
    }

    /// The socket bound to an inproc endpoint, for a connect: the caller
    /// must send it a `Bind` command. The binder's count of binds in flight
    /// goes up under the registry lock, as libzmq's find_endpoint does: a
    /// binder that is closing unregisters under the same lock, so it either
    /// is not found or waits for this bind before it may be destroyed.
    /// (Counting after the lock was released let the reaper destroy the
    /// binder in between, and the connecter's pipe then waited forever for
    /// a peer that would never acknowledge its termination.)
    pub(crate) fn find_endpoint(&self, name: &str) -> Option<InprocEndpoint> {
        let inproc = self.inproc.lock();
        let ep = inproc.endpoints.get(name)?;
        ep.socket.sent_seqnum.fetch_add(1, Ordering::AcqRel);
        Some(ep.clone())
    }

    /// Parks a connect until the endpoint is bound. Fails (handing the
    /// connection back) if it was bound in the meantime.
    pub(crate) fn pend_connection(
        &self,
        name: &str,
        pc: PendingConnection,
    ) -> std::result::Result<(), Box<PendingConnection>> {
        let mut inproc = self.inproc.lock();
        if inproc.endpoints.contains_key(name) {
            return Err(Box::new(pc));
        }
        inproc.pending.push((name.to_owned(), pc));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_sockets_takes_any_positive_count() {
        let ctx = Ctx::new();
        let set = |v: i32| ctx.set(ZMQ_MAX_SOCKETS, &v.to_ne_bytes());
        assert!(set(200_064).is_ok());
        assert!(set(1).is_ok());
        assert_eq!(set(0).unwrap_err(), Error::EINVAL);
        assert_eq!(set(-1).unwrap_err(), Error::EINVAL);
    }
}
