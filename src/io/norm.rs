//! The norm:// transport (libzmq src/norm_engine.cpp): one I/O object per
//! connect (or bind: they are the same for multicast), joined to the
//! socket by one pipe created at once. A PUB/XPUB runs a NORM sender with
//! one stream; a SUB/XSUB runs a NORM receiver that reads every remote
//! sender's stream.
//!
//! libnorm (see `libnorm.rs`) does the protocol on a thread of its own and
//! tells us what happened through events, signalled on one descriptor per
//! instance that this object registers with the I/O loop. We move bytes:
//! messages from the pipe are framed (`norm::framing`) into the sender's
//! stream; each remote sender's stream is read and decoded into the pipe.
//!
//! Flow: a sender writes until the stream's buffer is full and waits for
//! NORM_TX_QUEUE_VACANCY; it marks the end of each message (a sync point
//! for receivers that join late) and flushes when the pipe has nothing
//! more, so that a burst of small messages shares packets. A receiver
//! stops reading while the pipe is full; libnorm then buffers up to
//! ZMQ_NORM_BUFFER_SIZE and beyond that the stream breaks, and the decoder
//! re-syncs at the next message (as libzmq's does). Frames of one message
//! go into the pipe together: while one sender's message is half in the
//! pipe, the other senders' streams wait.
//!
//! Close: a sender hands libnorm what the pipe still holds within
//! ZMQ_LINGER and waits (within the linger too) until libnorm has sent it
//! once, then stops; libzmq's engine stops at once and drops it.

use std::collections::VecDeque;
use std::ffi::{c_char, c_uint, CString};
use std::os::fd::RawFd;
use std::time::Instant;

use mio::unix::SourceFd;
use mio::Interest;

use super::endpoint_pipe::EndpointPipe;
use super::libnorm::{self, event, Api, Handle};
use super::{Env, SocketLink};
use crate::command::SocketCommand;
use crate::error::{Error, Result};
use crate::msg::Message;
use crate::norm::framing::{Decoder, Encoder, Event};
use crate::options::Options;
use crate::pipe::{Pipe, PipeCommand};
use crate::transport::norm::NormAddress;

/// Bodies up to this size are copied next to their header; larger ones
/// are written to the stream from the message itself.
const COPY_LIMIT: usize = 1024;
/// Bytes read from a stream at a time.
const READ_CHUNK: usize = 64 * 1024;
/// Events taken per turn before yielding to other objects.
const EVENT_BATCH: usize = 1024;

/// A libnorm handle. libnorm's API takes its own lock around each call and
/// its handles are plain addresses valid until destroyed, so they may move
/// to the I/O thread that owns this object.
#[derive(Clone, Copy, PartialEq, Eq)]
struct H(Handle);

// SAFETY: see `H`: libnorm handles are not tied to the thread that made
// them; only this object (one thread at a time) uses them.
unsafe impl Send for H {}

struct Tx {
    stream: H,
    enc: Encoder,
    /// Encoded bytes not yet taken by the stream, from `pos`.
    buf: Vec<u8>,
    pos: usize,
    /// A large body to write after `buf`, and how much of it went.
    body: Option<Message>,
    body_pos: usize,
    /// What is pending (`buf`, then `body`) ends a message: mark the end
    /// once it is written, where a late receiver may start.
    ends_message: bool,
    /// The stream took everything offered so far (no vacancy awaited).
    room: bool,
    /// Messages were written since the last flush.
    unflushed: bool,
    /// libnorm has sent everything written (NORM_TX_QUEUE_EMPTY since the
    /// last write).
    sent_all: bool,
}

struct RxStream {
    object: H,
    sender: H,
    dec: Decoder,
    /// libnorm said there is data we have not read.
    ready: bool,
    /// Decoded, not yet in the pipe.
    out: VecDeque<Event>,
}

struct Rx {
    streams: Vec<RxStream>,
    /// The stream whose unfinished message is in the pipe.
    owner: Option<H>,
    chunk: Vec<u8>,
    max_msg_size: i64,
}

enum Role {
    Send(Box<Tx>),
    Recv(Box<Rx>),
}

/// One norm:// endpoint of a socket.
pub(crate) struct NormSession {
    pub id: u64,
    link: SocketLink,
    api: &'static Api,
    instance: H,
    session: H,
    fd: RawFd,
    registered: bool,
    role: Role,
    ep: EndpointPipe,
    done: bool,
    /// libnorm is stopped and its handles destroyed.
    shut: bool,
}

fn errno_error() -> Error {
    match std::io::Error::last_os_error().raw_os_error() {
        Some(e) if e != 0 => Error::from_raw(e),
        _ => Error::EINVAL,
    }
}

/// libzmq's TOS rule: the ECN-capable modes set ECT(1) unless an ECN bit
/// is already there, and never "congestion experienced".
fn tos_for(mode: i32, tos: i32) -> u8 {
    use crate::constants::{ZMQ_NORM_CCE, ZMQ_NORM_CCE_ECNONLY};
    let ecn = mode == ZMQ_NORM_CCE || mode == ZMQ_NORM_CCE_ECNONLY;
    let t = if ecn && tos % 4 == 0 {
        tos + 1
    } else if ecn && tos % 4 == 3 {
        tos - 1
    } else {
        tos
    };
    t as u8
}

impl NormSession {
    /// Starts libnorm for `addr` in the caller's thread, so that
    /// `zmq_connect` reports what fails (libzmq aborts in its I/O thread).
    pub fn open(id: u64, link: SocketLink, options: &Options, addr: &NormAddress) -> Result<Self> {
        let api = libnorm::api().ok_or(Error::EPROTONOSUPPORT)?;
        let sends = matches!(
            options.socket_type,
            crate::constants::ZMQ_PUB | crate::constants::ZMQ_XPUB
        );
        let host = CString::new(addr.address.as_str()).map_err(|_| Error::EINVAL)?;
        let iface = match &addr.interface {
            Some(i) => Some(CString::new(i.as_str()).map_err(|_| Error::EINVAL)?),
            None => None,
        };
        // SAFETY: no preconditions; the instance starts libnorm's thread.
        let instance = unsafe { (api.create_instance)(false) };
        if instance == libnorm::INVALID {
            return Err(errno_error());
        }
        let mut s = NormSession {
            id,
            link,
            api,
            instance: H(instance),
            session: H(libnorm::INVALID),
            fd: -1,
            registered: false,
            role: Role::Recv(Box::new(Rx {
                streams: Vec::new(),
                owner: None,
                chunk: Vec::new(),
                max_msg_size: options.maxmsgsize,
            })),
            ep: EndpointPipe::default(),
            done: false,
            shut: false,
        };
        // From here on, dropping `s` stops and frees what was started.
        let node = addr.node_id.unwrap_or(libnorm::NODE_ANY);
        // SAFETY: a live instance; `host` is NUL-terminated and outlives
        // the call (libnorm copies it).
        let session = unsafe { (api.create_session)(instance, host.as_ptr(), addr.port, node) };
        if session == libnorm::INVALID {
            return Err(errno_error());
        }
        s.session = H(session);
        let buffer = u32::try_from(options.norm_buffer_size)
            .unwrap_or(2048)
            .saturating_mul(1024);
        // SAFETY: every call of this block gets the live session just
        // created; string arguments are NUL-terminated and live.
        unsafe {
            if !(api.is_unicast_address)(host.as_ptr()) {
                (api.set_ttl)(session, options.multicast_hops.clamp(0, 255) as u8);
                (api.set_rx_port_reuse)(session, true, std::ptr::null(), std::ptr::null(), 0);
                // Needed when senders and receivers share a host.
                (api.set_loopback)(session, true);
                if let Some(i) = &iface {
                    (api.set_multicast_interface)(session, i.as_ptr());
                }
            }
            if (api.is_unicast_address)(host.as_ptr()) || options.norm_unicast_nack {
                (api.set_default_unicast_nack)(session, true);
            }
            (api.set_tos)(session, tos_for(options.norm_mode, options.tos));
            if options.sndbuf > 0 {
                (api.set_tx_socket_buffer)(session, options.sndbuf as c_uint);
            }
            if options.rcvbuf > 0 {
                (api.set_rx_socket_buffer)(session, options.rcvbuf as c_uint);
            }
        }
        if sends {
            let parity = options.norm_num_parity.max(options.norm_num_autoparity);
            let block = if options.norm_block_size > parity {
                options.norm_block_size
            } else {
                parity + 1
            };
            // SAFETY: as above.
            let started = unsafe {
                let instance_id = (api.get_random_session_id)();
                (api.start_sender)(
                    session,
                    instance_id,
                    buffer,
                    options.norm_segment_size.clamp(1, 65535) as u16,
                    block.clamp(1, 255) as u16,
                    parity.clamp(0, 254) as u16,
                    0,
                )
            };
            if !started {
                return Err(errno_error());
            }
            // SAFETY: as above; the sender is started.
            let stream = unsafe {
                if options.norm_mode == crate::constants::ZMQ_NORM_FIXED {
                    (api.set_tx_rate)(session, f64::from(options.rate) * 1000.0);
                } else {
                    (api.set_congestion_control)(session, true, true);
                    if options.norm_mode != crate::constants::ZMQ_NORM_CC {
                        let m = options.norm_mode;
                        (api.set_ecn_support)(
                            session,
                            m == crate::constants::ZMQ_NORM_CCE
                                || m == crate::constants::ZMQ_NORM_CCE_ECNONLY,
                            m == crate::constants::ZMQ_NORM_CCE_ECNONLY,
                            m == crate::constants::ZMQ_NORM_CCL,
                        );
                    }
                }
                if options.norm_num_autoparity > 0 {
                    (api.set_auto_parity)(session, options.norm_num_autoparity.min(254) as u8);
                }
                (api.stream_open)(session, buffer, std::ptr::null(), 0)
            };
            if stream == libnorm::INVALID {
                return Err(errno_error());
            }
            // SAFETY: the stream just opened.
            unsafe { (api.stream_set_push_enable)(stream, options.norm_push) };
            s.role = Role::Send(Box::new(Tx {
                stream: H(stream),
                enc: Encoder::new(),
                buf: Vec::with_capacity(COPY_LIMIT * 4),
                pos: 0,
                body: None,
                body_pos: 0,
                ends_message: false,
                room: true,
                unflushed: false,
                sent_all: true,
            }));
        } else {
            // SAFETY: as above.
            let started = unsafe {
                // Join a sender's stream from the start of what it still
                // holds, as libzmq does.
                (api.set_default_sync_policy)(session, libnorm::SYNC_STREAM);
                (api.start_receiver)(session, buffer)
            };
            if !started {
                return Err(errno_error());
            }
        }
        // SAFETY: a live instance.
        s.fd = unsafe { (api.get_descriptor)(instance) };
        if s.fd < 0 {
            return Err(Error::EMFILE);
        }
        Ok(s)
    }

    /// Hands over our end of the pipe (attached when the loop starts us).
    pub fn set_pipe(&mut self, pipe: Pipe) {
        self.ep.set(pipe);
    }

    /// Whether the session has finished.
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// When the loop should call [`NormSession::on_timer`]: the linger's
    /// end, while a closing sender waits for libnorm.
    pub fn deadline(&self) -> Option<Instant> {
        if self.done {
            None
        } else {
            self.ep.linger_at
        }
    }

    /// Registers libnorm's event descriptor and attaches the pipe.
    pub fn start(&mut self, env: &mut Env<'_>) {
        self.ep.attach(env);
        self.registered = env
            .registry
            .register(&mut SourceFd(&self.fd), env.token, Interest::READABLE)
            .is_ok();
        self.on_io(env);
    }

    /// Events are pending, or a resume.
    pub fn on_io(&mut self, env: &mut Env<'_>) {
        if self.done {
            return;
        }
        if self.take_events() {
            env.more_work = true;
        }
        self.pump(env);
    }

    /// The linger ran out.
    pub fn on_timer(&mut self, env: &mut Env<'_>) {
        self.ep.check_linger(env.now);
        self.pump(env);
    }

    /// A command for the pipe.
    pub fn on_pipe(&mut self, env: &mut Env<'_>, key: u64, cmd: PipeCommand) {
        self.ep.command(env, key, cmd);
        self.pump(env);
    }

    /// Unbind, disconnect or close. A sender passes on what it holds
    /// within `linger` ms; a receiver ends at once.
    pub fn on_term(&mut self, env: &mut Env<'_>, linger: i32) {
        let sends = matches!(self.role, Role::Send(_));
        self.ep.term(env.now, linger, sends);
        self.pump(env);
    }

    /// What this object serves, for the one line an internal error prints.
    pub fn describe(&self) -> String {
        format!("norm endpoint {}", self.id)
    }

    /// The handler panicked (a bug of ours): stop libnorm and end the pipe
    /// at once, as a close with linger 0 would.
    pub fn abandon(&mut self, env: &mut Env<'_>) {
        if self.done {
            return;
        }
        self.deregister(env);
        self.shutdown();
        if !self.ep.abandon(env) {
            self.finish(env);
        }
    }

    fn deregister(&mut self, env: &mut Env<'_>) {
        if std::mem::take(&mut self.registered) {
            let _ = env.registry.deregister(&mut SourceFd(&self.fd));
        }
    }

    /// Stops libnorm and frees its objects (once).
    fn shutdown(&mut self) {
        if std::mem::replace(&mut self.shut, true) {
            return;
        }
        let api = self.api;
        // SAFETY: the handles are live (created in `open`, destroyed only
        // here, once); stopping the instance joins libnorm's thread, after
        // which nothing of it runs.
        unsafe {
            if self.session.0 != libnorm::INVALID {
                match self.role {
                    Role::Send(_) => (api.stop_sender)(self.session.0),
                    Role::Recv(_) => (api.stop_receiver)(self.session.0),
                }
                (api.destroy_session)(self.session.0);
            }
            (api.stop_instance)(self.instance.0);
            (api.destroy_instance)(self.instance.0);
        }
        self.session = H(libnorm::INVALID);
        if let Role::Recv(rx) = &mut self.role {
            rx.streams.clear();
            rx.owner = None;
        }
    }

    fn finish(&mut self, env: &mut Env<'_>) {
        if self.done {
            return;
        }
        self.deregister(env);
        self.shutdown();
        self.done = true;
        self.link
            .shared
            .mailbox
            .send(SocketCommand::ChildGone(self.id));
    }

    /// Takes libnorm's pending events; true if there may be more.
    fn take_events(&mut self) -> bool {
        if self.shut {
            return false;
        }
        for _ in 0..EVENT_BATCH {
            let mut ev = libnorm::Event::empty();
            // SAFETY: a live instance; `ev` is a NormEvent for it to fill.
            // Not waiting: the descriptor said there are events, and when
            // there are none the call says so.
            if !unsafe { (self.api.get_next_event)(self.instance.0, &mut ev, false) } {
                return false;
            }
            if ev.session != self.session.0 {
                continue;
            }
            self.handle_event(&ev);
        }
        true
    }

    fn handle_event(&mut self, ev: &libnorm::Event) {
        let api = self.api;
        match (&mut self.role, ev.kind) {
            (Role::Send(tx), event::TX_QUEUE_VACANCY) => tx.room = true,
            (Role::Send(tx), event::TX_QUEUE_EMPTY) => {
                tx.room = true;
                tx.sent_all = true;
            }
            (Role::Recv(rx), event::RX_OBJECT_NEW | event::RX_OBJECT_UPDATED) => {
                let obj = H(ev.object);
                if let Some(s) = rx.streams.iter_mut().find(|s| s.object == obj) {
                    s.ready = true;
                    return;
                }
                // SAFETY: libnorm's object of this event, live until it
                // reports it aborted.
                if unsafe { (api.object_get_type)(ev.object) } != libnorm::OBJECT_STREAM {
                    return;
                }
                rx.streams.push(RxStream {
                    object: obj,
                    sender: H(ev.sender),
                    dec: Decoder::new(rx.max_msg_size),
                    ready: true,
                    out: VecDeque::new(),
                });
            }
            (Role::Recv(_), event::RX_OBJECT_ABORTED) => {
                let obj = H(ev.object);
                self.drop_streams(|s| s.object == obj);
            }
            (Role::Recv(_), event::REMOTE_SENDER_INACTIVE) => {
                // Free what libnorm keeps for a sender that went quiet (it
                // comes back as a new one), and our state for its streams.
                let sender = H(ev.sender);
                self.drop_streams(|s| s.sender == sender);
                // SAFETY: the remote sender of this event; its objects are
                // no longer referenced by us.
                unsafe { (api.node_delete)(ev.sender) };
            }
            _ => {}
        }
    }

    /// Forgets streams; a message of theirs half in the pipe is taken back.
    fn drop_streams(&mut self, which: impl Fn(&RxStream) -> bool) {
        let Role::Recv(rx) = &mut self.role else {
            return;
        };
        if let Some(owner) = rx.owner {
            if rx.streams.iter().any(|s| s.object == owner && which(s)) {
                rx.owner = None;
                if let Some(p) = self.ep.get() {
                    p.rollback();
                }
            }
        }
        rx.streams.retain(|s| !which(s));
    }

    fn pump(&mut self, env: &mut Env<'_>) {
        if self.done {
            return;
        }
        match self.role {
            Role::Send(_) => self.pump_send(env),
            Role::Recv(_) => self.pump_recv(env),
        }
    }

    fn pump_send(&mut self, env: &mut Env<'_>) {
        let api = self.api;
        let Role::Send(tx) = &mut self.role else {
            return;
        };
        if !self.ep.linger_over {
            loop {
                if !write_pending(api, tx) {
                    break;
                }
                let Some(msg) = self.ep.get().and_then(|p| p.read()) else {
                    break;
                };
                tx.ends_message = !msg.more();
                tx.enc.header(&msg, &mut tx.buf);
                if msg.len() <= COPY_LIMIT {
                    tx.buf.extend_from_slice(msg.as_slice());
                } else {
                    tx.body = Some(msg);
                    tx.body_pos = 0;
                }
            }
            if tx.unflushed && tx.pos >= tx.buf.len() && tx.body.is_none() {
                // The pipe is empty: push out the partial segment now
                // rather than wait for more data to fill it.
                tx.unflushed = false;
                // SAFETY: the live stream.
                unsafe { (api.stream_flush)(tx.stream.0, false, libnorm::FLUSH_ACTIVE) };
            }
        }
        if !self.ep.terminating || !self.ep.is_gone() {
            return;
        }
        // Closing: the pipe has ended. Done once libnorm sent what we gave
        // it, or when the linger says so.
        let idle = tx.pos >= tx.buf.len() && tx.body.is_none() && tx.sent_all;
        if idle || self.ep.linger_over {
            self.finish(env);
        }
    }

    fn pump_recv(&mut self, env: &mut Env<'_>) {
        // SUB/XSUB write subscriptions into the pipe: NORM carries none.
        if let Some(p) = self.ep.get() {
            while p.read().is_some() {}
        }
        if self.ep.terminating && self.ep.is_gone() {
            self.finish(env);
            return;
        }
        let api = self.api;
        let Role::Recv(rx) = &mut self.role else {
            return;
        };
        let (Some(pipe), blocked) = self.ep.parts() else {
            return;
        };
        if rx.chunk.len() < READ_CHUNK {
            rx.chunk.resize(READ_CHUNK, 0);
        }
        let mut wrote = false;
        let mut progress = true;
        while progress && !*blocked {
            progress = false;
            for i in 0..rx.streams.len() {
                if *blocked {
                    break;
                }
                if rx.owner.is_some_and(|o| o != rx.streams[i].object) {
                    continue;
                }
                let s = &mut rx.streams[i];
                if deliver(s, &mut rx.owner, pipe, blocked, &mut wrote) {
                    progress = true;
                }
                if *blocked || !s.ready || !s.out.is_empty() {
                    continue;
                }
                if read_stream(api, s, &mut rx.chunk) {
                    progress = true;
                }
            }
        }
        if wrote {
            pipe.flush();
        }
    }
}

/// Moves a stream's decoded frames into the pipe until it is full or the
/// stream has none; true if any moved.
fn deliver(
    s: &mut RxStream,
    owner: &mut Option<H>,
    pipe: &mut Pipe,
    blocked: &mut bool,
    wrote: &mut bool,
) -> bool {
    let mut moved = false;
    while let Some(ev) = s.out.pop_front() {
        match ev {
            Event::Abort => {
                if *owner == Some(s.object) {
                    pipe.rollback();
                    *owner = None;
                }
            }
            Event::Frame(m) => {
                if owner.is_none() && !pipe.check_write() {
                    s.out.push_front(Event::Frame(m));
                    *blocked = true;
                    return moved;
                }
                let more = m.more();
                if pipe.write(m).is_err() {
                    // The pipe is ending: nothing more goes up.
                    pipe.rollback();
                    *owner = None;
                    *blocked = true;
                    s.out.clear();
                    return moved;
                }
                moved = true;
                if more {
                    *owner = Some(s.object);
                } else {
                    *owner = None;
                    *wrote = true;
                }
            }
        }
    }
    moved
}

/// Reads what a stream has into its decoder; true if anything was read.
fn read_stream(api: &Api, s: &mut RxStream, chunk: &mut [u8]) -> bool {
    let mut any = false;
    loop {
        if !s.dec.in_sync() {
            // SAFETY: the live stream object of this receiver.
            if !unsafe { (api.stream_seek_msg_start)(s.object.0) } {
                s.ready = false;
                return any;
            }
            let mut b: u8 = 0;
            let mut n: c_uint = 1;
            // SAFETY: as above; `b` has room for the one byte asked for.
            let ok = unsafe {
                (api.stream_read)(s.object.0, (&mut b as *mut u8).cast::<c_char>(), &mut n)
            };
            if !ok {
                // A gap: seek again.
                continue;
            }
            if n == 0 {
                s.ready = false;
                return any;
            }
            any = true;
            s.dec.sync(b);
            continue;
        }
        let mut n = chunk.len().min(c_uint::MAX as usize) as c_uint;
        // SAFETY: as above; `chunk` has room for `n` bytes.
        let ok =
            unsafe { (api.stream_read)(s.object.0, chunk.as_mut_ptr().cast::<c_char>(), &mut n) };
        if !ok {
            // Data was lost for good: drop the message in progress and
            // find the next start.
            s.out.extend(s.dec.reset());
            continue;
        }
        let n = (n as usize).min(chunk.len());
        if n == 0 {
            s.ready = false;
            return any;
        }
        any = true;
        // On a bad frame the decoder resets itself (and says Abort if a
        // message was in progress); the next turn re-syncs.
        let _ = s.dec.push(&chunk[..n], &mut s.out);
        return any;
    }
}

/// Writes what `tx` holds into the stream; true when all of it went.
fn write_pending(api: &Api, tx: &mut Tx) -> bool {
    if !tx.room {
        return false;
    }
    if !offer(api, tx.stream, &tx.buf, &mut tx.pos, &mut tx.sent_all) {
        tx.room = false;
        return false;
    }
    tx.buf.clear();
    tx.pos = 0;
    if let Some(body) = &tx.body {
        if !offer(
            api,
            tx.stream,
            body.as_slice(),
            &mut tx.body_pos,
            &mut tx.sent_all,
        ) {
            tx.room = false;
            return false;
        }
        tx.body = None;
    }
    if std::mem::take(&mut tx.ends_message) {
        tx.unflushed = true;
        // SAFETY: the live stream.
        unsafe { (api.stream_mark_eom)(tx.stream.0) };
    }
    true
}

/// Offers `data[*pos..]` to the stream until it takes less than offered;
/// true when all of it went.
fn offer(api: &Api, stream: H, data: &[u8], pos: &mut usize, sent_all: &mut bool) -> bool {
    loop {
        let rest = data.get(*pos..).unwrap_or_default();
        if rest.is_empty() {
            return true;
        }
        let len = rest.len().min(c_uint::MAX as usize) as c_uint;
        // SAFETY: the live stream; `rest` holds `len` readable bytes.
        let n = unsafe { (api.stream_write)(stream.0, rest.as_ptr().cast::<c_char>(), len) };
        if n > 0 {
            *sent_all = false;
        }
        *pos += (n as usize).min(rest.len());
        if n < len {
            return *pos >= data.len();
        }
    }
}

impl Drop for NormSession {
    fn drop(&mut self) {
        // An object dropped without finishing (its I/O thread stopping)
        // must not leave libnorm's thread running.
        self.shutdown();
    }
}
