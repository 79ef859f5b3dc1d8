//! The context: I/O thread pool, reaper, socket registry, and termination
//! (libzmq src/ctx.cpp); it also holds the inproc endpoint registry
//! ([`crate::inproc`]), which its I/O threads get a handle on.
//!
//! A [`Ctx`] is shared (`Arc`) by the user's handles, every socket and the
//! reaper. Its state sits behind two locks taken one at a time: options and
//! the socket registry. It knows sockets only by what other threads may hold
//! of them ([`SocketShared`]) and, once closed, as [`Reapable`] objects: the
//! socket module sits above this one.
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

use crate::command::{SocketCommand, SocketShared};
use crate::constants::*;
use crate::error::{Error, Result};
use crate::inproc;
use crate::io::{IoCommand, IoThread, ThreadOptions};
use crate::mailbox::Mailbox;
use crate::options::Options;

pub(crate) use reaper::Reapable;

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

impl CtxOptions {
    /// What the context's background threads start with.
    pub(crate) fn threads(&self) -> ThreadOptions {
        ThreadOptions {
            name_prefix: self.thread_name_prefix.clone(),
            sched_policy: self.thread_sched_policy,
            priority: self.thread_priority,
            affinity: self.thread_affinity.clone(),
        }
    }
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

#[derive(Default)]
struct Registry {
    starting: bool,
    terminating: bool,
    sockets: HashMap<u32, Arc<SocketShared>>,
    reaper: Option<reaper::ReaperHandle>,
    io_threads: Vec<IoThread>,
}

/// The shared state of one context.
pub(crate) struct Ctx {
    opts: Mutex<CtxOptions>,
    registry: Mutex<Registry>,
    all_reaped: Condvar,
    inproc: Arc<inproc::Registry>,
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
            inproc: Arc::new(inproc::Registry::default()),
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

    /// The context's inproc endpoints.
    pub(crate) fn inproc(&self) -> &Arc<inproc::Registry> {
        &self.inproc
    }

    /// Starts the reaper and the I/O threads (first socket only).
    fn start(self: &Arc<Ctx>, reg: &mut Registry) -> Result<()> {
        let opts = self.options();
        let threads = opts.threads();
        let reaper = reaper::ReaperHandle::start(Arc::clone(self), &threads)
            .map_err(|e| Error::from_io(&e))?;
        reg.reaper = Some(reaper);
        for i in 0..opts.io_threads {
            let t = IoThread::start(Arc::clone(&self.inproc), i as usize, &threads)
                .map_err(|e| Error::from_io(&e))?;
            reg.io_threads.push(t);
        }
        reg.starting = false;
        Ok(())
    }

    /// Adds a socket (`zmq_socket`): `make` builds it from its id and the
    /// options the context gives new sockets, and returns it with the part
    /// the context keeps (to stop it at termination). ETERM once the
    /// context is terminating, EMFILE beyond ZMQ_MAX_SOCKETS. The first
    /// socket starts the I/O threads and the reaper.
    pub(crate) fn add_socket<T>(
        self: &Arc<Ctx>,
        make: impl FnOnce(u32, Options) -> Result<(T, Arc<SocketShared>)>,
    ) -> Result<T> {
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
        let (socket, shared) = make(id, options)?;
        reg.sockets.insert(id, shared);
        Ok(socket)
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
    pub(crate) fn reap(&self, core: Box<dyn Reapable>) {
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

    fn forked(&self) -> bool {
        std::process::id() != self.pid
    }

    /// `zmq_ctx_term`: stop all sockets, wait until all are closed and
    /// reaped, then stop the threads.
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
        // Inproc connects that never met a bind: their ends are ended with
        // no socket, so that the connecters' pipes finish terminating.
        self.inproc.abandon_pending();
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
