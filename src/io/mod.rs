//! I/O threads: each runs one mio poll loop that owns listeners and
//! sessions (with their engines and connecters) and the timers they need.
//! Commands reach a thread through its mailbox (a crossbeam queue plus the
//! poll's waker). An I/O thread never blocks except in its poll and never
//! calls user code.
//!
//! Objects are kept in a slab; mio tokens, timer entries and pipe command
//! keys lead back to them. An object with more work than one turn should do
//! (a peer flooding us) goes on a ready list, served before the next wait,
//! so one connection cannot starve the others.

pub(crate) mod conn;
pub(crate) mod connecter;
pub(crate) mod direct;
pub(crate) mod direct_state;
pub(crate) mod endpoint_pipe;
pub(crate) mod engine;
pub(crate) mod libnorm;
pub(crate) mod listener;
pub(crate) mod norm;
pub(crate) mod pgm;
pub(crate) mod session;
pub(crate) mod session_pipes;
pub(crate) mod stream;
pub(crate) mod udp;
pub(crate) mod zap_link;

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::io;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;

use mio::{Events, Poll, Registry, Token, Waker};

use crate::command::SocketShared;
use crate::inproc;
use crate::mailbox::{Mailbox, Signal};
use crate::monitor::Monitor;
use crate::pipe::{PipeCommand, PipeSink};

use listener::Listener;
use session::Session;

/// Commands for an I/O thread.
pub(crate) enum IoCommand {
    /// Exit the loop.
    Stop,
    /// Take over a listener or a connecting session.
    Launch(IoObject),
    /// Terminate an object (unbind, disconnect, close) within `linger` ms.
    Term { id: u64, linger: i32 },
    /// A command for a session's pipe.
    Pipe(u64, PipeCommand),
}

/// An object an I/O thread runs.
pub(crate) enum IoObject {
    Listener(Box<Listener>),
    Session(Box<Session>),
    Udp(Box<udp::UdpSession>),
    Pgm(Box<pgm::PgmSession>),
    Norm(Box<norm::NormSession>),
}

/// What an I/O object knows of the socket it serves.
#[derive(Clone)]
pub(crate) struct SocketLink {
    pub shared: Arc<SocketShared>,
    pub monitor: Arc<Monitor>,
}

impl SocketLink {
    /// Sends the socket a command.
    pub fn send(&self, cmd: crate::command::SocketCommand) {
        self.shared.mailbox.send(cmd);
    }

    /// Opens a pipe to the socket for a connection whose handshake just
    /// completed (`pair` names it): the socket's end goes over with a
    /// `Bind` command; ours is returned. HWMs from `o` (the session's side
    /// reads with RCVHWM and writes with SNDHWM, as the socket's mirror).
    pub fn open_pipe(
        &self,
        o: &crate::options::Options,
        pair: crate::endpoint::EndpointPair,
    ) -> crate::pipe::Pipe {
        let conflate = o.conflate_applies();
        let hwms = if conflate {
            [-1, -1]
        } else {
            [o.rcvhwm, o.sndhwm]
        };
        let (ours, mut theirs) = crate::pipe::pipepair(hwms, [conflate, conflate]);
        theirs.set_endpoint(Some(pair));
        self.shared.sent_seqnum.fetch_add(1, Ordering::AcqRel);
        self.shared
            .mailbox
            .send(crate::command::SocketCommand::Bind(Box::new(theirs)));
        ours
    }
}

/// Ids of I/O objects, unique in the process.
pub(crate) fn next_object_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// The pipe sink of an I/O thread: pipe commands go through its mailbox.
pub(crate) struct IoSink {
    mailbox: Arc<Mailbox<IoCommand>>,
}

impl PipeSink for IoSink {
    fn deliver(&self, key: u64, cmd: PipeCommand) {
        self.mailbox.send(IoCommand::Pipe(key, cmd));
    }
}

/// Requests an object makes of its loop while handling an event.
pub(crate) enum Request {
    /// Run this accepted session (child of the requesting listener).
    Spawn(Box<Session>),
    /// Terminate another object of this thread.
    Term { id: u64, linger: i32 },
    /// Session `child`, spawned by listener `parent`, has finished.
    ChildGone { parent: u64, child: u64 },
}

/// The loop's services, lent to an object while it handles an event.
pub(crate) struct Env<'a> {
    pub registry: &'a Registry,
    pub now: Instant,
    pub token: Token,
    pub sink: &'a Arc<IoSink>,
    /// The context's inproc endpoints (the ZAP handler's).
    pub inproc: &'a Arc<inproc::Registry>,
    pub requests: &'a mut Vec<Request>,
    pipe_keys: &'a mut HashMap<u64, usize>,
    idx: usize,
    /// Set by an object that stopped early with work left.
    pub more_work: bool,
}

impl Env<'_> {
    /// A key for a pipe end this object attaches; commands for it come back here.
    pub fn new_pipe_key(&mut self) -> u64 {
        static NEXT: AtomicU64 = AtomicU64::new(1);
        let key = NEXT.fetch_add(1, Ordering::Relaxed);
        self.pipe_keys.insert(key, self.idx);
        key
    }

    /// Forgets a pipe key.
    pub fn drop_pipe_key(&mut self, key: u64) {
        self.pipe_keys.remove(&key);
    }
}

struct Slot {
    gen: u32,
    obj: Option<IoObject>,
    deadline: Option<Instant>,
}

const WAKER: Token = Token(usize::MAX);

/// Token layout: slab index in the low 32 bits, generation above.
fn token_of(idx: usize, gen: u32) -> Token {
    Token((gen as usize) << 32 | idx)
}

/// The context's handle on one I/O thread.
pub(crate) struct IoThread {
    mailbox: Arc<Mailbox<IoCommand>>,
    load: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl IoThread {
    /// Spawns I/O thread number `index`.
    pub fn start(
        inproc: Arc<inproc::Registry>,
        index: usize,
        opts: &ThreadOptions,
    ) -> io::Result<IoThread> {
        let poll = Poll::new()?;
        let waker = Waker::new(poll.registry(), WAKER)?;
        let mailbox = Arc::new(Mailbox::new(Signal::Waker(waker)));
        let load = Arc::new(AtomicUsize::new(0));
        let mb = Arc::clone(&mailbox);
        let ld = Arc::clone(&load);
        let name = format!("IO/{index}");
        let thread = spawn_background(opts, &name, move || {
            let sink = Arc::new(IoSink {
                mailbox: Arc::clone(&mb),
            });
            let mut l = IoLoop {
                poll,
                mailbox: mb,
                sink,
                slots: Vec::new(),
                free: Vec::new(),
                by_id: HashMap::new(),
                pipe_keys: HashMap::new(),
                timers: BTreeSet::new(),
                ready: VecDeque::new(),
                load: ld,
                inproc,
            };
            l.run();
        })?;
        Ok(IoThread {
            mailbox,
            load,
            thread: Some(thread),
        })
    }

    /// The thread's mailbox.
    pub fn mailbox(&self) -> &Arc<Mailbox<IoCommand>> {
        &self.mailbox
    }

    /// How many objects the thread runs (to pick the least loaded).
    pub fn load(&self) -> usize {
        self.load.load(Ordering::Relaxed)
    }

    /// Stops the loop and joins the thread.
    pub fn stop(mut self) {
        self.mailbox.send(IoCommand::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

struct IoLoop {
    poll: Poll,
    mailbox: Arc<Mailbox<IoCommand>>,
    sink: Arc<IoSink>,
    slots: Vec<Slot>,
    free: Vec<usize>,
    by_id: HashMap<u64, usize>,
    pipe_keys: HashMap<u64, usize>,
    /// Every object's next deadline, once: an entry leaves when its
    /// object's deadline moves or the object ends. (A heap that dropped
    /// stale entries only when they came due held one per connection for a
    /// handshake interval after it ended: memory grew with the connection
    /// rate.)
    timers: BTreeSet<(Instant, usize, u32)>,
    ready: VecDeque<usize>,
    load: Arc<AtomicUsize>,
    inproc: Arc<inproc::Registry>,
}

enum Call<'c> {
    Start,
    Io(&'c mio::event::Event),
    Pipe(u64, PipeCommand),
    Timer,
    Term(i32),
    Resume,
    ChildGone(u64),
}

impl IoLoop {
    fn run(&mut self) {
        let mut events = Events::with_capacity(256);
        loop {
            let now = Instant::now();
            let timeout = if !self.ready.is_empty() {
                Some(std::time::Duration::ZERO)
            } else {
                self.timers
                    .first()
                    .map(|(t, _, _)| t.saturating_duration_since(now))
            };
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                panic!("I/O thread poll failed: {e}");
            }
            for ev in events.iter() {
                if ev.token() == WAKER {
                    if self.drain_mailbox() {
                        return;
                    }
                    continue;
                }
                let idx = ev.token().0 & 0xFFFF_FFFF;
                let gen = (ev.token().0 >> 32) as u32;
                if self
                    .slots
                    .get(idx)
                    .is_some_and(|s| s.gen == gen && s.obj.is_some())
                {
                    self.call(idx, Call::Io(ev));
                }
            }
            // Objects that yielded with work left.
            for _ in 0..self.ready.len() {
                if let Some(idx) = self.ready.pop_front() {
                    if self.slots.get(idx).is_some_and(|s| s.obj.is_some()) {
                        self.call(idx, Call::Resume);
                    }
                }
            }
            self.fire_timers();
        }
    }

    /// Processes queued commands; returns true on Stop.
    fn drain_mailbox(&mut self) -> bool {
        loop {
            while let Some(cmd) = self.mailbox.try_recv() {
                match cmd {
                    IoCommand::Stop => return true,
                    IoCommand::Launch(obj) => {
                        self.insert(obj);
                    }
                    IoCommand::Term { id, linger } => {
                        if let Some(&idx) = self.by_id.get(&id) {
                            self.call(idx, Call::Term(linger));
                        }
                    }
                    IoCommand::Pipe(key, cmd) => {
                        if let Some(&idx) = self.pipe_keys.get(&key) {
                            self.call(idx, Call::Pipe(key, cmd));
                        }
                    }
                }
            }
            if self.mailbox.arm() {
                return false;
            }
        }
    }

    fn insert(&mut self, obj: IoObject) -> usize {
        let id = match &obj {
            IoObject::Listener(l) => l.id,
            IoObject::Session(s) => s.id,
            IoObject::Udp(u) => u.id,
            IoObject::Pgm(p) => p.id,
            IoObject::Norm(n) => n.id,
        };
        let idx = match self.free.pop() {
            Some(i) => {
                self.slots[i].gen = self.slots[i].gen.wrapping_add(1);
                self.slots[i].obj = Some(obj);
                self.slots[i].deadline = None;
                i
            }
            None => {
                self.slots.push(Slot {
                    gen: 0,
                    obj: Some(obj),
                    deadline: None,
                });
                self.slots.len() - 1
            }
        };
        self.by_id.insert(id, idx);
        self.load.fetch_add(1, Ordering::Relaxed);
        self.call(idx, Call::Start);
        idx
    }

    fn fire_timers(&mut self) {
        let now = Instant::now();
        while let Some(&(t, idx, gen)) = self.timers.first() {
            if t > now {
                break;
            }
            self.timers.pop_first();
            let live = self
                .slots
                .get(idx)
                .is_some_and(|s| s.gen == gen && s.obj.is_some() && s.deadline == Some(t));
            if live {
                self.slots[idx].deadline = None;
                self.call(idx, Call::Timer);
            }
        }
    }

    /// Runs one call on an object, then applies its requests and bookkeeping.
    ///
    /// A panic in the object's handler (a bug of ours) costs that object,
    /// not the thread: it is caught here, the object is abandoned as if its
    /// connection had failed (see [`IoObject::abandon_after`]), one line goes to
    /// stderr, and the loop goes on serving the others. The requests it
    /// made before panicking still apply: a listener's accepted sessions
    /// are already its children, and a parent waits for every child.
    fn call(&mut self, idx: usize, call: Call<'_>) {
        let mut requests = Vec::new();
        let gen = self.slots[idx].gen;
        let Some(mut obj) = self.slots[idx].obj.take() else {
            return;
        };
        let mut env = Env {
            registry: self.poll.registry(),
            now: Instant::now(),
            token: token_of(idx, gen),
            sink: &self.sink,
            inproc: &self.inproc,
            requests: &mut requests,
            pipe_keys: &mut self.pipe_keys,
            idx,
            more_work: false,
        };
        let served = panic::catch_unwind(AssertUnwindSafe(|| obj.serve(call, &mut env)));
        let (done, deadline, id) = match served {
            Ok(outcome) => outcome,
            Err(payload) => {
                env.more_work = false;
                match obj.abandon_after(payload, &mut env) {
                    Some(outcome) => outcome,
                    None => {
                        // Closing it panicked too: leak it rather than run
                        // more of its code, and free its slot.
                        let id = obj.id();
                        std::mem::forget(obj);
                        self.forget_slot(idx, gen, id);
                        self.apply(requests);
                        return;
                    }
                }
            }
        };
        let more = env.more_work;
        if done {
            self.forget_slot(idx, gen, id);
            drop(obj);
        } else {
            let slot = &mut self.slots[idx];
            slot.obj = Some(obj);
            if deadline != slot.deadline {
                if let Some(old) = slot.deadline {
                    self.timers.remove(&(old, idx, gen));
                }
                slot.deadline = deadline;
                if let Some(t) = deadline {
                    self.timers.insert((t, idx, gen));
                }
            }
            if more {
                self.ready.push_back(idx);
            }
        }
        self.apply(requests);
    }

    /// Frees the slot of an object that has ended.
    fn forget_slot(&mut self, idx: usize, gen: u32, id: u64) {
        if let Some(t) = self.slots[idx].deadline.take() {
            self.timers.remove(&(t, idx, gen));
        }
        self.by_id.remove(&id);
        self.pipe_keys.retain(|_, v| *v != idx);
        self.free.push(idx);
        self.load.fetch_sub(1, Ordering::Relaxed);
    }

    /// Carries out what an object asked of its loop.
    fn apply(&mut self, requests: Vec<Request>) {
        for r in requests {
            match r {
                Request::Spawn(s) => {
                    self.insert(IoObject::Session(s));
                }
                Request::Term { id, linger } => {
                    if let Some(&i) = self.by_id.get(&id) {
                        self.call(i, Call::Term(linger));
                    }
                }
                Request::ChildGone { parent, child } => {
                    if let Some(&i) = self.by_id.get(&parent) {
                        self.call(i, Call::ChildGone(child));
                    }
                }
            }
        }
    }
}

impl IoObject {
    fn id(&self) -> u64 {
        match self {
            IoObject::Listener(l) => l.id,
            IoObject::Session(s) => s.id,
            IoObject::Udp(u) => u.id,
            IoObject::Pgm(p) => p.id,
            IoObject::Norm(n) => n.id,
        }
    }

    /// Runs one call; returns whether the object is done, its next
    /// deadline, and its id.
    fn serve(&mut self, call: Call<'_>, env: &mut Env<'_>) -> (bool, Option<Instant>, u64) {
        match self {
            IoObject::Listener(l) => {
                match call {
                    Call::Start => l.start(env),
                    Call::Io(_) | Call::Resume => l.on_ready(env),
                    Call::Term(linger) => l.on_term(env, linger),
                    Call::ChildGone(child) => l.child_gone(child),
                    Call::Pipe(..) | Call::Timer => {}
                }
                (l.is_done(), None, l.id)
            }
            IoObject::Session(s) => {
                match call {
                    Call::Start => s.start(env),
                    Call::Io(ev) => s.on_io(
                        env,
                        ev.is_readable() || ev.is_read_closed(),
                        ev.is_writable() || ev.is_error(),
                    ),
                    Call::Resume => s.on_io(env, false, false),
                    Call::Pipe(key, cmd) => s.on_pipe(env, key, cmd),
                    Call::Timer => s.on_timer(env),
                    Call::Term(linger) => s.on_term(env, linger),
                    Call::ChildGone(_) => {}
                }
                (s.is_done(), s.deadline(), s.id)
            }
            IoObject::Udp(u) => {
                match call {
                    Call::Start => u.start(env),
                    Call::Io(_) | Call::Resume => u.on_io(env),
                    Call::Pipe(key, cmd) => u.on_pipe(env, key, cmd),
                    Call::Term(linger) => u.on_term(env, linger),
                    Call::Timer | Call::ChildGone(_) => {}
                }
                (u.is_done(), None, u.id)
            }
            IoObject::Pgm(p) => {
                match call {
                    Call::Start => p.start(env),
                    Call::Io(_) | Call::Resume => p.on_io(env),
                    Call::Pipe(key, cmd) => p.on_pipe(env, key, cmd),
                    Call::Timer => p.on_timer(env),
                    Call::Term(linger) => p.on_term(env, linger),
                    Call::ChildGone(_) => {}
                }
                (p.is_done(), p.deadline(), p.id)
            }
            IoObject::Norm(n) => {
                match call {
                    Call::Start => n.start(env),
                    Call::Io(_) | Call::Resume => n.on_io(env),
                    Call::Pipe(key, cmd) => n.on_pipe(env, key, cmd),
                    Call::Timer => n.on_timer(env),
                    Call::Term(linger) => n.on_term(env, linger),
                    Call::ChildGone(_) => {}
                }
                (n.is_done(), n.deadline(), n.id)
            }
        }
    }

    /// The object's handler panicked with `payload`: reports it on stderr
    /// (one line) and closes the object as if its connection had failed,
    /// each kind touching no more of its possibly half-updated state than
    /// that needs (their `abandon`). The object stays while it waits for
    /// its pipe's termination handshake. None if closing it panicked too.
    fn abandon_after(
        &mut self,
        payload: Box<dyn std::any::Any + Send>,
        env: &mut Env<'_>,
    ) -> Option<(bool, Option<Instant>, u64)> {
        let what = panic_text(&*payload);
        // Dropping the payload runs its Drop code, which might panic too.
        if let Err(again) = panic::catch_unwind(AssertUnwindSafe(move || drop(payload))) {
            std::mem::forget(again);
        }
        let closed = panic::catch_unwind(AssertUnwindSafe(|| {
            let (serving, closed) = match self {
                IoObject::Listener(l) => (l.describe(), "endpoint closed"),
                IoObject::Session(s) => (s.describe(), "connection closed"),
                IoObject::Udp(u) => (u.describe(), "endpoint closed"),
                IoObject::Pgm(p) => (p.describe(), "endpoint closed"),
                IoObject::Norm(n) => (n.describe(), "endpoint closed"),
            };
            report(&format!(
                "internal error in I/O thread serving {serving}: {what}; {closed}"
            ));
            match self {
                IoObject::Listener(l) => {
                    l.abandon(env);
                    (l.is_done(), None, l.id)
                }
                IoObject::Session(s) => {
                    s.abandon(env);
                    (s.is_done(), s.deadline(), s.id)
                }
                IoObject::Udp(u) => {
                    u.abandon(env);
                    (u.is_done(), None, u.id)
                }
                IoObject::Pgm(p) => {
                    p.abandon(env);
                    (p.is_done(), p.deadline(), p.id)
                }
                IoObject::Norm(n) => {
                    n.abandon(env);
                    (n.is_done(), n.deadline(), n.id)
                }
            }
        }));
        match closed {
            Ok(outcome) => Some(outcome),
            Err(again) => {
                report(&format!(
                    "internal error in I/O thread: closing a broken object failed too ({}); it is leaked",
                    panic_text(&*again)
                ));
                std::mem::forget(again);
                None
            }
        }
    }
}

/// The text of a panic payload, on one line.
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    let text = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(a panic without a message)".to_string());
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Writes one line `zmqrs: <line>` to stderr, ignoring failure (stderr may
/// be closed; `eprintln!` would panic then).
pub(crate) fn report(line: &str) {
    use std::io::Write;
    let _ = std::io::stderr().write_all(format!("zmqrs: {line}\n").as_bytes());
}

/// How the context's background threads start (ZMQ_THREAD_* context options).
#[derive(Clone, Debug, Default)]
pub(crate) struct ThreadOptions {
    /// ZMQ_THREAD_NAME_PREFIX.
    pub name_prefix: String,
    /// ZMQ_THREAD_SCHED_POLICY (-1: leave as is).
    pub sched_policy: i32,
    /// ZMQ_THREAD_PRIORITY (-1: leave as is).
    pub priority: i32,
    /// ZMQ_THREAD_AFFINITY_CPU_ADD/REMOVE.
    pub affinity: std::collections::BTreeSet<i32>,
}

/// Spawns a background thread named like libzmq's (`ZMQbg/<name>`, with the
/// context's prefix), applying the context's scheduling options, with every
/// signal blocked (see [`crate::sys::with_signals_blocked`]). A panic that
/// escapes a background thread aborts the process: a dead I/O thread or
/// reaper would otherwise hang `zmq_ctx_term` forever. (A panic in one
/// object's handler does not escape: the I/O loop and the reaper catch it
/// and drop that object alone.)
pub(crate) fn spawn_background<F>(
    opts: &ThreadOptions,
    name: &str,
    f: F,
) -> io::Result<JoinHandle<()>>
where
    F: FnOnce() + Send + 'static,
{
    let full = if opts.name_prefix.is_empty() {
        format!("ZMQbg/{name}")
    } else {
        format!("{}/ZMQbg/{name}", opts.name_prefix)
    };
    // Linux limits thread names to 15 bytes.
    let mut short = full.clone();
    short.truncate(15);
    let sched = (opts.sched_policy, opts.priority, opts.affinity.clone());
    crate::sys::with_signals_blocked(|| {
        std::thread::Builder::new().name(short).spawn(move || {
            crate::sys::apply_thread_scheduling(sched.0, sched.1, &sched.2);
            let guard = AbortOnPanic;
            f();
            std::mem::forget(guard);
        })
    })
}

struct AbortOnPanic;

impl Drop for AbortOnPanic {
    fn drop(&mut self) {
        eprintln!("zmqrs: a background thread panicked; aborting");
        std::process::abort();
    }
}
