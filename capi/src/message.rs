//! Messages: `zmq_msg_*`.
//!
//! A `zmq_msg_t` holds a [`zmqrs::Message`] in place (same 64 bytes, same
//! alignment). Its first byte is the message's tag: 1..=3 for a live
//! message, 0 once closed. Functions that need a live message check the tag
//! and answer EFAULT otherwise, as libzmq does.

use std::ffi::{c_char, c_int, c_void, CStr};
use std::ptr;

use zmqrs::{Error, Message, Release, LIVE_TAGS};

use crate::constants::{ZMQ_MORE, ZMQ_SHARED, ZMQ_SRCFD};
use crate::fail;

/// A 0MQ message (64 bytes, pointer-aligned). Treat it as opaque.
/// cbindgen:field-names=[_]
#[allow(rustdoc::broken_intra_doc_links)] // `[_]` above is cbindgen's, not a link.
#[repr(C, align(8))]
pub struct zmq_msg_t {
    pub _x: [u8; 64],
}

const _: () = assert!(std::mem::size_of::<zmq_msg_t>() == std::mem::size_of::<Message>());
const _: () = assert!(std::mem::align_of::<zmq_msg_t>() >= std::mem::align_of::<Message>());

/// The live message stored in `msg`, or `None` (NULL, closed, uninitialised).
///
/// # Safety
/// `msg` is NULL or points to a `zmq_msg_t` the caller may access.
pub(crate) unsafe fn live<'a>(msg: *mut zmq_msg_t) -> Option<&'a mut Message> {
    if msg.is_null() {
        return None;
    }
    // SAFETY: msg points to 64 accessible bytes; the first is the tag.
    let tag = unsafe { *(msg as *const u8) };
    if !LIVE_TAGS.contains(&tag) {
        return None;
    }
    // SAFETY: a live tag means zmq_msg_init* (or a receive) stored a Message
    // here that has not been closed since.
    Some(unsafe { &mut *(msg as *mut Message) })
}

/// Stores a message into `msg`, overwriting whatever it held.
///
/// # Safety
/// `msg` is non-null and points to a writable `zmq_msg_t`.
pub(crate) unsafe fn store(msg: *mut zmq_msg_t, m: Message) {
    // SAFETY: size and alignment of zmq_msg_t fit a Message (asserted above).
    unsafe { ptr::write(msg as *mut Message, m) };
}

/// Takes the live message out of `msg`, leaving it closed.
///
/// # Safety
/// As for [`live`].
pub(crate) unsafe fn take(msg: *mut zmq_msg_t) -> Option<Message> {
    // SAFETY: forwarded contract.
    let m = unsafe { live(msg) }?;
    // SAFETY: m is a live message; after reading it out we mark the slot closed.
    let value = unsafe { ptr::read(m as *mut Message) };
    // SAFETY: msg is non-null (live returned Some).
    unsafe { *(msg as *mut u8) = 0 };
    Some(value)
}

entry! {
    /// Initialises an empty message.
    fn zmq_msg_init(msg: *mut zmq_msg_t) -> c_int {
        if msg.is_null() {
            return fail(Error::EFAULT, -1);
        }
        // SAFETY: non-null pointer to the caller's zmq_msg_t.
        unsafe { store(msg, Message::new()) };
        0
    }
}

entry! {
    /// Initialises a message of `size` bytes, to be filled through zmq_msg_data
    /// (libzmq leaves them unspecified; ours are zero, or an earlier body's).
    fn zmq_msg_init_size(msg: *mut zmq_msg_t, size: usize) -> c_int {
        if msg.is_null() {
            return fail(Error::EFAULT, -1);
        }
        // Never uninitialised memory, as libzmq's malloc'ed body is: callers
        // may send the body unfilled (libzmq's own remote_thr does), and every
        // Rust reader of it (encoder, CURVE, subscription matching, an inproc
        // receiver) would then read uninitialised memory. A large body may be
        // a recycled one still holding an earlier message's bytes, which
        // costs nothing; a fresh one is zeroed (BENCHMARKS.md).
        match Message::try_with_size_unspecified(size) {
            Ok(m) => {
                // SAFETY: non-null pointer to the caller's zmq_msg_t.
                unsafe { store(msg, m) };
                0
            }
            Err(e) => fail(e, -1),
        }
    }
}

entry! {
    /// Initialises a message with a copy of `size` bytes at `buf` (DRAFT).
    #[cfg(feature = "draft")]
    fn zmq_msg_init_buffer(msg: *mut zmq_msg_t, buf: *const c_void, size: usize) -> c_int {
        if msg.is_null() || (buf.is_null() && size != 0) {
            return fail(Error::EFAULT, -1);
        }
        // SAFETY: the caller passes size readable bytes at buf.
        let data = unsafe { crate::util::bytes(buf, size) }.unwrap_or(&[]);
        // SAFETY: non-null pointer to the caller's zmq_msg_t.
        unsafe { store(msg, Message::from_slice(data)) };
        0
    }
}

unsafe fn call_free_fn(data: *mut u8, ctx: [usize; 2]) {
    // SAFETY: ctx[0] is the non-null zmq_free_fn that zmq_msg_init_data
    // stored; ctx[1] is its hint.
    let ffn: unsafe extern "C" fn(*mut c_void, *mut c_void) =
        unsafe { std::mem::transmute(ctx[0]) };
    // SAFETY: calling the caller's free function once with its own buffer and hint.
    unsafe { ffn(data as *mut c_void, ctx[1] as *mut c_void) };
}

entry! {
    /// Initialises a message that uses `size` bytes at `data` in place. `ffn`,
    /// if not NULL, is called with `data` and `hint` once the message and all its
    /// copies are closed or sent.
    fn zmq_msg_init_data(
        msg: *mut zmq_msg_t,
        data: *mut c_void,
        size: usize,
        ffn: Option<unsafe extern "C" fn(data: *mut c_void, hint: *mut c_void)>,
        hint: *mut c_void,
    ) -> c_int {
        if msg.is_null() || (data.is_null() && size != 0) {
            return fail(Error::EFAULT, -1);
        }
        let release = ffn.map(|f| Release {
            func: call_free_fn,
            ctx: [f as usize, hint as usize],
        });
        // SAFETY: the caller lends `size` bytes at `data` until ffn is called
        // (or forever without ffn), exactly the contract of from_raw_parts.
        let m = unsafe { Message::from_raw_parts(data as *mut u8, size, release) };
        // SAFETY: non-null pointer to the caller's zmq_msg_t.
        unsafe { store(msg, m) };
        0
    }
}

entry! {
    /// Releases a message.
    fn zmq_msg_close(msg: *mut zmq_msg_t) -> c_int {
        // SAFETY: msg is NULL or the caller's zmq_msg_t.
        match unsafe { take(msg) } {
            Some(m) => {
                drop(m);
                0
            }
            None => fail(Error::EFAULT, -1),
        }
    }
}

entry! {
    /// Moves `src` into `dest` (closing `dest` first); `src` becomes empty.
    fn zmq_msg_move(dest: *mut zmq_msg_t, src: *mut zmq_msg_t) -> c_int {
        // SAFETY: both are NULL or the caller's zmq_msg_t.
        if unsafe { live(src) }.is_none() || unsafe { live(dest) }.is_none() {
            return fail(Error::EFAULT, -1);
        }
        if ptr::eq(dest, src) {
            return 0;
        }
        // SAFETY: both are live (checked above) and distinct.
        unsafe {
            drop(take(dest));
            let m = take(src).unwrap_or_default();
            store(dest, m);
            store(src, Message::new());
        }
        0
    }
}

entry! {
    /// Makes `dest` share `src`'s content (closing `dest` first).
    fn zmq_msg_copy(dest: *mut zmq_msg_t, src: *mut zmq_msg_t) -> c_int {
        // SAFETY: both are NULL or the caller's zmq_msg_t.
        let Some(s) = (unsafe { live(src) }) else {
            return fail(Error::EFAULT, -1);
        };
        let copy = s.clone();
        if ptr::eq(dest, src) {
            return 0;
        }
        // SAFETY: dest is NULL or the caller's zmq_msg_t.
        match unsafe { take(dest) } {
            Some(old) => {
                drop(old);
                // SAFETY: dest is non-null (take succeeded).
                unsafe { store(dest, copy) };
                0
            }
            None => fail(Error::EFAULT, -1),
        }
    }
}

entry! {
    /// Pointer to the message's content.
    fn zmq_msg_data(msg: *mut zmq_msg_t) -> *mut c_void {
        // SAFETY: msg is NULL or the caller's zmq_msg_t.
        match unsafe { live(msg) } {
            Some(m) => m.data_ptr() as *mut c_void,
            None => fail(Error::EFAULT, ptr::null_mut()),
        }
    }
}

entry! {
    /// Size of the message's content in bytes.
    fn zmq_msg_size(msg: *const zmq_msg_t) -> usize {
        // SAFETY: msg is NULL or the caller's zmq_msg_t; we only read.
        match unsafe { live(msg as *mut zmq_msg_t) } {
            Some(m) => m.len(),
            None => fail(Error::EFAULT, 0),
        }
    }
}

entry! {
    /// 1 if more frames of this message follow, else 0.
    fn zmq_msg_more(msg: *const zmq_msg_t) -> c_int {
        // SAFETY: same contract as zmq_msg_get.
        unsafe { zmq_msg_get(msg, ZMQ_MORE) }
    }
}

entry! {
    /// Reads a message property: ZMQ_MORE, ZMQ_SRCFD, ZMQ_SHARED.
    fn zmq_msg_get(msg: *const zmq_msg_t, property: c_int) -> c_int {
        // SAFETY: msg is NULL or the caller's zmq_msg_t; we only read.
        let Some(m) = (unsafe { live(msg as *mut zmq_msg_t) }) else {
            return fail(Error::EFAULT, -1);
        };
        match property {
            ZMQ_MORE => m.more() as c_int,
            ZMQ_SRCFD => match m.property("__fd").and_then(|s| s.parse::<c_int>().ok()) {
                Some(fd) => fd,
                None => fail(Error::EINVAL, -1),
            },
            ZMQ_SHARED => m.is_shared() as c_int,
            _ => fail(Error::EINVAL, -1),
        }
    }
}

entry! {
    /// Sets a message property; none is settable (EINVAL), as in libzmq.
    fn zmq_msg_set(_msg: *mut zmq_msg_t, _property: c_int, _optval: c_int) -> c_int {
        fail(Error::EINVAL, -1)
    }
}

entry! {
    /// A metadata property of a received message ("Socket-Type", "Routing-Id",
    /// "User-Id", "Peer-Address", application "X-" names), or NULL with EINVAL.
    fn zmq_msg_gets(msg: *const zmq_msg_t, property: *const c_char) -> *const c_char {
        // SAFETY: msg is NULL or the caller's zmq_msg_t; we only read.
        let Some(m) = (unsafe { live(msg as *mut zmq_msg_t) }) else {
            return fail(Error::EFAULT, ptr::null());
        };
        if property.is_null() {
            return fail(Error::EINVAL, ptr::null());
        }
        // SAFETY: the caller passes a NUL-terminated string.
        let name = unsafe { CStr::from_ptr(property) }.to_string_lossy();
        match m.gets_cstr(&name) {
            Some(v) => v.as_ptr(),
            None => fail(Error::EINVAL, ptr::null()),
        }
    }
}

entry! {
    /// Sets the routing id of a message for SERVER/PEER sockets (DRAFT).
    #[cfg(feature = "draft")]
    fn zmq_msg_set_routing_id(msg: *mut zmq_msg_t, routing_id: u32) -> c_int {
        // SAFETY: msg is NULL or the caller's zmq_msg_t.
        match unsafe { live(msg) } {
            Some(m) => crate::rc(m.set_routing_id(routing_id)),
            None => fail(Error::EFAULT, -1),
        }
    }
}

entry! {
    /// The routing id of a message received on a SERVER/PEER socket (DRAFT).
    #[cfg(feature = "draft")]
    fn zmq_msg_routing_id(msg: *mut zmq_msg_t) -> u32 {
        // SAFETY: msg is NULL or the caller's zmq_msg_t.
        unsafe { live(msg) }.map_or(0, |m| m.routing_id())
    }
}

entry! {
    /// Sets the group of a RADIO message (DRAFT).
    #[cfg(feature = "draft")]
    fn zmq_msg_set_group(msg: *mut zmq_msg_t, group: *const c_char) -> c_int {
        // SAFETY: msg is NULL or the caller's zmq_msg_t.
        let Some(m) = (unsafe { live(msg) }) else {
            return fail(Error::EFAULT, -1);
        };
        if group.is_null() {
            return fail(Error::EINVAL, -1);
        }
        // SAFETY: the caller passes a NUL-terminated string; read at most
        // the longest allowed group (longer ones are cut, as libzmq does).
        let len = unsafe { libc::strnlen(group, zmqrs::GROUP_MAX_LENGTH) };
        // SAFETY: len bytes at group are readable (strnlen just read them).
        let bytes = unsafe { std::slice::from_raw_parts(group as *const u8, len) };
        crate::rc(m.set_group(bytes))
    }
}

entry! {
    /// The group of a DISH message, "" if none (DRAFT).
    #[cfg(feature = "draft")]
    fn zmq_msg_group(msg: *mut zmq_msg_t) -> *const c_char {
        // SAFETY: msg is NULL or the caller's zmq_msg_t.
        match unsafe { live(msg) } {
            Some(m) => m.group_cstr().as_ptr(),
            None => fail(Error::EFAULT, ptr::null()),
        }
    }
}
