//! The message: one frame of a 0MQ message, 64 bytes like libzmq's `msg_t`.
//!
//! Bodies of up to [`INLINE_CAPACITY`] bytes live inside the message itself
//! (no allocation); larger ones are reference-counted, so copies (`zmq_msg_copy`,
//! fan-out to many subscribers) share one buffer. A buffer handed over by the
//! caller with a release function (`zmq_msg_init_data`) is used in place, never
//! copied, and released once by whoever drops the last reference.
//!
//! The layout is fixed (`repr(C)`, the body's `repr(u8)` tag at offset 0) so
//! that the C ABI can keep a [`Message`] inside a caller's `zmq_msg_t` and tell
//! a live message (tag 1..=3) from a closed or never-initialised one.
//!
//! A message is owned by one thread at a time; it moves through pipes by value.

use std::ffi::CStr;
use std::fmt;
use std::ptr::NonNull;
use std::sync::Arc;

mod pool;
mod small;
mod storage;
use storage::{Kind, Owner};

/// A recycled buffer of exactly `len` initialised bytes holding an earlier
/// body's contents, for a receiver that will overwrite all of them; `None`
/// when none is free (or `len` is too small to recycle).
pub(crate) fn take_recycled(len: usize) -> Option<Vec<u8>> {
    pool::take(len)
}

/// Empties the pool of recycled bodies, for tests that need room in it.
#[cfg(test)]
pub(crate) fn clear_recycled() {
    pool::clear();
}

/// `len` zero bytes from the allocator's zeroing path (calloc, which can
/// hand out fresh zero pages without clearing them); `None` if out of memory.
fn zeroed_vec(len: usize) -> Option<Vec<u8>> {
    let layout = std::alloc::Layout::array::<u8>(len).ok()?;
    if layout.size() == 0 {
        return Some(Vec::new());
    }
    // SAFETY: the layout has a non-zero size.
    let ptr = unsafe { std::alloc::alloc_zeroed(layout) };
    if ptr.is_null() {
        return None;
    }
    // SAFETY: ptr is a fresh global-allocator block of exactly len bytes with
    // u8's alignment, all of them initialised (zero): what Vec<u8> requires
    // of from_raw_parts with length and capacity len.
    Some(unsafe { Vec::from_raw_parts(ptr, len, len) })
}

/// Bodies up to this size are stored inside the message without allocation.
pub const INLINE_CAPACITY: usize = 38;

/// Largest group name of a RADIO/DISH message (`ZMQ_GROUP_MAX_LENGTH`).
pub const GROUP_MAX_LENGTH: usize = 255;

/// Frame flags (internal; only MORE is visible through the API).
pub(crate) mod flags {
    /// More frames of this message follow.
    pub const MORE: u8 = 1;
    /// A ZMTP command frame, not user data.
    pub const COMMAND: u8 = 2;
    /// A subscription (SUBSCRIBE command, or 0x01-prefixed message before ZMTP 3.1).
    pub const SUBSCRIBE: u8 = 8;
    /// A cancelled subscription (CANCEL command, or 0x00-prefixed message).
    pub const CANCEL: u8 = 16;
    /// A credential frame from a security mechanism (never delivered to the user).
    pub const CREDENTIAL: u8 = 32;
    /// The routing-id frame a peer announces when it attaches.
    pub const ROUTING_ID: u8 = 64;
}

/// How to release a caller-owned buffer once the last message that shares it
/// is dropped: `func(data, ctx)` is called exactly once, from any thread.
#[derive(Clone, Copy)]
pub struct Release {
    /// Called with the buffer pointer and `ctx`.
    pub func: unsafe fn(data: *mut u8, ctx: [usize; 2]),
    /// Opaque values passed back to `func` (for the C ABI: the free function and its hint).
    pub ctx: [usize; 2],
}

impl fmt::Debug for Release {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Release").finish_non_exhaustive()
    }
}

/// The body of a message. `repr(u8)`: the tag is the first byte of the message.
#[repr(u8)]
enum Body {
    Inline {
        len: u8,
        data: [u8; INLINE_CAPACITY],
    } = 1,
    Shared {
        ptr: NonNull<u8>,
        len: usize,
        owner: Owner,
    } = 2,
    /// End of a pipe's stream (pipe termination handshake); never seen by users.
    Delimiter = 3,
}

/// Tag values that mark a live message (first byte of a `zmq_msg_t`).
pub const LIVE_TAGS: std::ops::RangeInclusive<u8> = 1..=3;

/// Properties attached to received messages: the peer's handshake metadata
/// (Socket-Type, Routing-Id, User-Id, Peer-Address and application `X-` keys).
#[derive(Debug, Default)]
pub struct Metadata {
    entries: Vec<(String, std::ffi::CString)>,
}

impl Metadata {
    /// An empty property set.
    pub fn new() -> Metadata {
        Metadata::default()
    }

    /// Adds or replaces a property. Values with a NUL byte are cut at it.
    pub fn set(&mut self, key: &str, value: &[u8]) {
        let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
        let v = std::ffi::CString::new(&value[..end]).unwrap_or_default();
        match self.entries.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = v,
            None => self.entries.push((key.to_owned(), v)),
        }
    }

    /// The value of a property (the deprecated name "Identity" means "Routing-Id").
    pub fn get(&self, key: &str) -> Option<&CStr> {
        match self.entries.iter().find(|(k, _)| k == key) {
            Some((_, v)) => Some(v.as_c_str()),
            None if key == "Identity" => self.get("Routing-Id"),
            None => None,
        }
    }

    /// Number of properties.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no properties.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// All properties in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &CStr)> {
        self.entries.iter().map(|(k, v)| (k.as_str(), v.as_c_str()))
    }
}

/// One frame of a 0MQ message.
#[repr(C)]
pub struct Message {
    body: Body,
    meta: Option<Arc<Metadata>>,
    group: Option<Box<[u8; GROUP_MAX_LENGTH + 1]>>,
    routing_id: u32,
    flags: u8,
}

const _: () = assert!(std::mem::size_of::<Message>() == 64);
const _: () = assert!(std::mem::align_of::<Message>() == 8);

// SAFETY: the only non-Send/Sync field is the NonNull in Body::Shared, which
// points into the body kept alive (and owned) by the Owner next to it.
unsafe impl Send for Message {}
// SAFETY: shared access only ever reads the body; see Send.
unsafe impl Sync for Message {}

impl Default for Message {
    fn default() -> Self {
        Message::new()
    }
}

impl Message {
    /// An empty message (`zmq_msg_init`).
    pub const fn new() -> Message {
        Message {
            body: Body::Inline {
                len: 0,
                data: [0; INLINE_CAPACITY],
            },
            meta: None,
            group: None,
            routing_id: 0,
            flags: 0,
        }
    }

    /// A message of `size` zero bytes (`zmq_msg_init_size`).
    pub fn with_size(size: usize) -> Message {
        match Message::try_with_size(size) {
            Ok(m) => m,
            Err(_) => std::alloc::handle_alloc_error(
                std::alloc::Layout::array::<u8>(size).unwrap_or(std::alloc::Layout::new::<u8>()),
            ),
        }
    }

    /// [`Message::with_size`] that reports ENOMEM instead of aborting when
    /// the allocation fails.
    pub fn try_with_size(size: usize) -> crate::Result<Message> {
        Message::sized(size, true)
    }

    /// A message of `size` bytes whose contents are unspecified, for a
    /// caller that will overwrite them (`zmq_msg_init_size`, whose bytes
    /// libzmq leaves as malloc returns them). A large body may be a recycled
    /// one that still holds an earlier message's bytes of this process; the
    /// memory is always initialised, so reading it is never undefined
    /// behaviour. Reports ENOMEM when the allocation fails.
    pub fn try_with_size_unspecified(size: usize) -> crate::Result<Message> {
        Message::sized(size, false)
    }

    fn sized(size: usize, zeroed: bool) -> crate::Result<Message> {
        if size <= INLINE_CAPACITY {
            return Ok(Message {
                body: Body::Inline {
                    len: size as u8,
                    data: [0; INLINE_CAPACITY],
                },
                ..Message::new()
            });
        }
        if size >= pool::MIN {
            if let Some(mut buf) = pool::take(size) {
                if zeroed {
                    buf.fill(0);
                }
                return Ok(Message::from_vec(buf));
            }
            // A Vec body, so that it is recycled when dropped. calloc: fresh
            // zero pages need no memset.
            return match zeroed_vec(size) {
                Some(buf) => Ok(Message::from_vec(buf)),
                None => Err(crate::Error::ENOMEM),
            };
        }
        match Owner::alloc_zeroed(size) {
            Some((owner, ptr)) => Ok(Message::shared(owner, ptr, size)),
            None => Err(crate::Error::ENOMEM),
        }
    }

    /// A message holding a copy of `data` (`zmq_msg_init_buffer`).
    pub fn from_slice(data: &[u8]) -> Message {
        if data.len() <= INLINE_CAPACITY {
            let mut buf = [0u8; INLINE_CAPACITY];
            buf[..data.len()].copy_from_slice(data);
            return Message {
                body: Body::Inline {
                    len: data.len() as u8,
                    data: buf,
                },
                ..Message::new()
            };
        }
        if data.len() >= pool::MIN {
            let buf = match pool::take(data.len()) {
                Some(mut buf) => {
                    buf.copy_from_slice(data);
                    buf
                }
                None => data.to_vec(),
            };
            return Message::from_vec(buf);
        }
        match Owner::alloc_copy(data) {
            Some((owner, ptr)) => Message::shared(owner, ptr, data.len()),
            None => std::alloc::handle_alloc_error(
                std::alloc::Layout::array::<u8>(data.len())
                    .unwrap_or(std::alloc::Layout::new::<u8>()),
            ),
        }
    }

    /// A message that takes over `data` without copying it (small bodies are
    /// moved inline).
    pub fn from_vec(data: Vec<u8>) -> Message {
        if data.len() <= INLINE_CAPACITY {
            return Message::from_slice(&data);
        }
        let mut data = std::mem::ManuallyDrop::new(data);
        let (ptr, len, cap) = (data.as_mut_ptr(), data.len(), data.capacity());
        let owner = Owner::external(Kind::Vec { cap }, ptr, len);
        Message::shared(owner, NonNull::new(ptr).unwrap_or(NonNull::dangling()), len)
    }

    /// A message whose body is a caller's buffer, used in place
    /// (`zmq_msg_init_data`). With `release`, the buffer is released when the
    /// last copy of the message is dropped; without, it is never released.
    ///
    /// # Safety
    /// `data` must be valid for reads (and, if the caller will write through
    /// [`Message::data_ptr`], writes) of `len` bytes until it is released, or
    /// forever when `release` is `None`; `release.func` must be safe to call
    /// once, from any thread, with `data` and `release.ctx`.
    pub unsafe fn from_raw_parts(data: *mut u8, len: usize, release: Option<Release>) -> Message {
        let kind = match release {
            Some(r) => Kind::Foreign(r),
            None => Kind::Static,
        };
        let owner = Owner::external(kind, data, len);
        Message::shared(
            owner,
            NonNull::new(data).unwrap_or(NonNull::dangling()),
            len,
        )
    }

    fn shared(owner: Owner, ptr: NonNull<u8>, len: usize) -> Message {
        Message {
            body: Body::Shared { ptr, len, owner },
            ..Message::new()
        }
    }

    /// The pipe-termination marker.
    pub(crate) fn delimiter() -> Message {
        Message {
            body: Body::Delimiter,
            ..Message::new()
        }
    }

    /// Whether this is the pipe-termination marker.
    pub(crate) fn is_delimiter(&self) -> bool {
        matches!(self.body, Body::Delimiter)
    }

    /// Body size in bytes.
    #[inline]
    pub fn len(&self) -> usize {
        match &self.body {
            Body::Inline { len, .. } => *len as usize,
            Body::Shared { len, .. } => *len,
            Body::Delimiter => 0,
        }
    }

    /// Whether the body is empty.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The body.
    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match &self.body {
            Body::Inline { len, data } => &data[..*len as usize],
            // SAFETY: ptr/len describe the buffer owned by `owner` (or lent for
            // its lifetime), which outlives this borrow of self.
            Body::Shared { ptr, len, .. } => unsafe {
                std::slice::from_raw_parts(ptr.as_ptr(), *len)
            },
            Body::Delimiter => &[],
        }
    }

    /// The body, writable. A body shared with other messages (or lent by the
    /// caller without a release function) is copied first, so writes never
    /// show through another message.
    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        if let Body::Shared { owner, .. } = &mut self.body {
            let unique = !owner.is_static() && owner.is_unique();
            if !unique {
                let copy = Message::from_slice(self.as_slice());
                self.body = copy.body;
            }
        }
        match &mut self.body {
            Body::Inline { len, data } => &mut data[..*len as usize],
            // SAFETY: the storage is uniquely owned by this message (checked
            // above), so this is the only live reference to the buffer.
            Body::Shared { ptr, len, .. } => unsafe {
                std::slice::from_raw_parts_mut(ptr.as_ptr(), *len)
            },
            Body::Delimiter => &mut [],
        }
    }

    /// Raw pointer to the body, as `zmq_msg_data` returns it: no copy is made
    /// even when the body is shared (C callers may write through it at their
    /// own risk, as with libzmq).
    pub fn data_ptr(&mut self) -> *mut u8 {
        match &mut self.body {
            Body::Inline { data, .. } => data.as_mut_ptr(),
            Body::Shared { ptr, .. } => ptr.as_ptr(),
            Body::Delimiter => NonNull::dangling().as_ptr(),
        }
    }

    /// Whether the body is shared with another message or lent by the caller
    /// (`ZMQ_SHARED`).
    pub fn is_shared(&self) -> bool {
        match &self.body {
            Body::Shared { owner, .. } => owner.is_static() || !owner.is_unique(),
            _ => false,
        }
    }

    /// Whether more frames of this message follow (`ZMQ_MORE`).
    #[inline]
    pub fn more(&self) -> bool {
        self.flags & flags::MORE != 0
    }

    /// Whether more frames of this message follow: the `zmq` crate's name
    /// for [`Message::more`].
    #[inline]
    pub fn get_more(&self) -> bool {
        self.more()
    }

    /// The body as text, if it is valid UTF-8.
    ///
    /// ```
    /// let m = zmqrs::Message::from("hello");
    /// assert_eq!(m.as_str(), Some("hello"));
    /// assert_eq!(zmqrs::Message::from(&[0xffu8][..]).as_str(), None);
    /// ```
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(self.as_slice()).ok()
    }

    /// A message of `size` zero bytes: the `zmq` crate's older name for
    /// [`Message::with_size`].
    #[deprecated(
        since = "0.1.0",
        note = "the size is the length, not a capacity: use `with_size`"
    )]
    pub fn with_capacity(size: usize) -> Message {
        Message::with_size(size)
    }

    /// A message of `size` bytes whose contents the caller must not rely on
    /// (the `zmq` crate's `with_capacity_unallocated`). The body is in fact
    /// zeroed here, so reading it is never undefined behaviour.
    ///
    /// # Safety
    /// Always safe to call; it stays `unsafe` only so that code written for
    /// the `zmq` crate, which calls it in an `unsafe` block, compiles
    /// unchanged.
    #[deprecated(since = "0.1.0", note = "use `with_size`")]
    pub unsafe fn with_capacity_unallocated(size: usize) -> Message {
        Message::with_size(size)
    }

    /// Sets or clears the more flag.
    #[inline]
    pub fn set_more(&mut self, more: bool) {
        if more {
            self.flags |= flags::MORE;
        } else {
            self.flags &= !flags::MORE;
        }
    }

    #[inline]
    pub(crate) fn flags(&self) -> u8 {
        self.flags
    }

    #[inline]
    pub(crate) fn set_flags(&mut self, f: u8) {
        self.flags |= f;
    }

    #[inline]
    pub(crate) fn reset_flags(&mut self, f: u8) {
        self.flags &= !f;
    }

    /// Whether this is a peer's routing-id announcement.
    #[inline]
    pub(crate) fn is_routing_id(&self) -> bool {
        self.flags & flags::ROUTING_ID != 0
    }

    /// A metadata property of a received message (`zmq_msg_gets`), `None`
    /// if it is absent or not UTF-8.
    ///
    /// Takes `&mut self` as the `zmq` crate does; [`Message::property`] is
    /// the same through a shared reference.
    pub fn gets(&mut self, property: &str) -> Option<&str> {
        self.property(property)
    }

    /// [`Message::gets`] through a shared reference.
    pub fn property(&self, property: &str) -> Option<&str> {
        self.gets_cstr(property).and_then(|v| v.to_str().ok())
    }

    /// [`Message::gets`] as a NUL-terminated string that lives as long as the message.
    pub fn gets_cstr(&self, property: &str) -> Option<&CStr> {
        self.meta.as_ref().and_then(|m| m.get(property))
    }

    /// The metadata attached to this message, if any.
    pub fn metadata(&self) -> Option<&Arc<Metadata>> {
        self.meta.as_ref()
    }

    pub(crate) fn set_metadata(&mut self, meta: Option<Arc<Metadata>>) {
        self.meta = meta;
    }

    /// The routing id of a SERVER/PEER message, 0 if none (draft API).
    pub fn routing_id(&self) -> u32 {
        self.routing_id
    }

    /// Sets the routing id of a message for a SERVER/PEER socket; 0 is
    /// rejected with EINVAL as in libzmq.
    pub fn set_routing_id(&mut self, id: u32) -> crate::Result<()> {
        if id == 0 {
            return Err(crate::Error::EINVAL);
        }
        self.routing_id = id;
        Ok(())
    }

    /// Clears the routing id.
    pub(crate) fn reset_routing_id(&mut self) {
        self.routing_id = 0;
    }

    /// The RADIO/DISH group, as a NUL-terminated string ("" if none).
    pub fn group_cstr(&self) -> &CStr {
        match &self.group {
            Some(g) => CStr::from_bytes_until_nul(&g[..]).unwrap_or(c""),
            None => c"",
        }
    }

    /// The RADIO/DISH group ("" if none).
    pub fn group(&self) -> &str {
        self.group_cstr().to_str().unwrap_or("")
    }

    /// Sets the RADIO/DISH group; longer than 255 bytes is EINVAL.
    pub fn set_group(&mut self, group: &[u8]) -> crate::Result<()> {
        if group.len() > GROUP_MAX_LENGTH {
            return Err(crate::Error::EINVAL);
        }
        let mut buf = Box::new([0u8; GROUP_MAX_LENGTH + 1]);
        buf[..group.len()].copy_from_slice(group);
        self.group = Some(buf);
        Ok(())
    }
}

impl Clone for Message {
    /// Shares the body (`zmq_msg_copy`): small bodies are copied, large ones
    /// gain a reference.
    fn clone(&self) -> Message {
        let body = match &self.body {
            Body::Inline { len, data } => Body::Inline {
                len: *len,
                data: *data,
            },
            Body::Shared { ptr, len, owner } => Body::Shared {
                ptr: *ptr,
                len: *len,
                owner: owner.clone(),
            },
            Body::Delimiter => Body::Delimiter,
        };
        Message {
            body,
            meta: self.meta.clone(),
            group: self.group.clone(),
            routing_id: self.routing_id,
            flags: self.flags,
        }
    }
}

impl std::ops::Deref for Message {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl std::ops::DerefMut for Message {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.as_mut_slice()
    }
}

impl AsRef<[u8]> for Message {
    fn as_ref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl PartialEq for Message {
    fn eq(&self, other: &Message) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Message {}

impl fmt::Debug for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Message")
            .field("len", &self.len())
            .field("more", &self.more())
            .field(
                "body",
                &String::from_utf8_lossy(&self.as_slice()[..self.len().min(64)]),
            )
            .finish()
    }
}

impl AsMut<[u8]> for Message {
    fn as_mut(&mut self) -> &mut [u8] {
        self.as_mut_slice()
    }
}

impl From<Vec<u8>> for Message {
    /// Takes over the vector's buffer (small bodies are copied inline).
    fn from(v: Vec<u8>) -> Message {
        Message::from_vec(v)
    }
}

impl From<&[u8]> for Message {
    /// Copies the bytes.
    fn from(v: &[u8]) -> Message {
        Message::from_slice(v)
    }
}

impl<const N: usize> From<&[u8; N]> for Message {
    /// Copies the bytes (so `send(b"hello", 0)` works).
    fn from(v: &[u8; N]) -> Message {
        Message::from_slice(v)
    }
}

impl From<&str> for Message {
    /// Copies the UTF-8 bytes.
    fn from(v: &str) -> Message {
        Message::from_slice(v.as_bytes())
    }
}

impl From<String> for Message {
    /// Takes over the string's buffer.
    fn from(v: String) -> Message {
        Message::from_vec(v.into_bytes())
    }
}

impl From<Box<[u8]>> for Message {
    /// Takes over the boxed buffer.
    fn from(v: Box<[u8]>) -> Message {
        Message::from_vec(v.into_vec())
    }
}

/// A reference to anything that converts into a message converts by
/// cloning it, as in the `zmq` crate: `&String`, `&Vec<u8>`, `&Box<[u8]>`,
/// `&&str`, `&&[u8]`, `&Message` (which shares the body), so that
/// `send(&s, 0)` and `send_multipart(&["a", "b"], 0)` compile.
impl<T> From<&T> for Message
where
    T: Into<Message> + Clone,
{
    fn from(v: &T) -> Message {
        v.clone().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn inline_and_shared() {
        let m = Message::from_slice(b"hello");
        assert_eq!(&m[..], b"hello");
        assert!(!m.is_shared());
        let big = Message::from_vec(vec![7u8; 1000]);
        let c = big.clone();
        assert!(big.is_shared() && c.is_shared());
        assert_eq!(c.len(), 1000);
        drop(c);
        assert!(!big.is_shared());
        assert_eq!(Message::with_size(100).as_slice(), &[0u8; 100][..]);
        assert_eq!(Message::with_size(3).len(), 3);
    }

    #[test]
    fn a_large_body_is_recycled_but_with_size_still_zeroes() {
        // A size no other test uses (the pool is process-wide); a busy pool
        // is skipped, hence the retries.
        let size = pool::MIN + 20_011;
        let mut recycled = false;
        for _ in 0..100 {
            clear_recycled();
            drop(Message::from_slice(&vec![9u8; size]));
            let m = Message::try_with_size_unspecified(size).unwrap();
            assert_eq!(m.len(), size);
            let bytes = m.as_slice();
            // Either the recycled body, as it was, or a fresh zeroed one.
            assert!(bytes.iter().all(|&b| b == 9) || bytes.iter().all(|&b| b == 0));
            if bytes[0] == 9 {
                recycled = true;
                break;
            }
        }
        assert!(recycled, "a freed large body was never reused");
        for _ in 0..10 {
            drop(Message::from_slice(&vec![9u8; size]));
            let m = Message::with_size(size);
            assert!(m.as_slice().iter().all(|&b| b == 0));
            let m = Message::try_with_size(size).unwrap();
            assert!(m.as_slice().iter().all(|&b| b == 0));
        }
    }

    #[test]
    fn tag_is_first_byte() {
        let m = Message::new();
        // SAFETY: Message is repr(C) and at least one byte long.
        let tag = unsafe { *(&m as *const Message as *const u8) };
        assert_eq!(tag, 1);
        let big = Message::with_size(100);
        // SAFETY: as above.
        let tag = unsafe { *(&big as *const Message as *const u8) };
        assert_eq!(tag, 2);
        assert!(LIVE_TAGS.contains(&tag));
    }

    #[test]
    fn copy_on_write_keeps_copies_apart() {
        let mut a = Message::from_vec(vec![1u8; 64]);
        let b = a.clone();
        a[0] = 9;
        assert_eq!(a[0], 9);
        assert_eq!(b[0], 1);
    }

    static RELEASED: AtomicUsize = AtomicUsize::new(0);
    unsafe fn release(_p: *mut u8, ctx: [usize; 2]) {
        RELEASED.fetch_add(ctx[0], Ordering::SeqCst);
    }

    #[test]
    fn foreign_buffer_released_once() {
        let mut buf = vec![5u8; 100];
        // SAFETY: buf outlives every message made from it in this test.
        let m = unsafe {
            Message::from_raw_parts(
                buf.as_mut_ptr(),
                100,
                Some(Release {
                    func: release,
                    ctx: [1, 0],
                }),
            )
        };
        let c = m.clone();
        drop(m);
        assert_eq!(RELEASED.load(Ordering::SeqCst), 0);
        assert_eq!(c[99], 5);
        drop(c);
        assert_eq!(RELEASED.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn flags_and_group() {
        let mut m = Message::new();
        m.set_more(true);
        assert!(m.more());
        assert!(m.set_routing_id(0).is_err());
        m.set_routing_id(5).unwrap();
        assert_eq!(m.routing_id(), 5);
        assert_eq!(m.group(), "");
        m.set_group(b"news").unwrap();
        assert_eq!(m.group(), "news");
        assert!(m.set_group(&[b'a'; 256]).is_err());
    }

    #[test]
    fn metadata_identity_alias() {
        let mut md = Metadata::new();
        md.set("Routing-Id", b"abc");
        md.set("Socket-Type", b"DEALER");
        assert_eq!(md.get("Identity").unwrap().to_str().unwrap(), "abc");
        let mut m = Message::new();
        m.set_metadata(Some(Arc::new(md)));
        assert_eq!(m.gets("Socket-Type"), Some("DEALER"));
        assert_eq!(m.gets("nope"), None);
        assert_eq!(m.property("Routing-Id"), Some("abc"));
    }

    #[test]
    fn conversions() {
        let s = String::from("a string longer than the inline capacity of a message");
        let v = s.clone().into_bytes();
        let boxed: Box<[u8]> = v.clone().into_boxed_slice();
        assert_eq!(Message::from(&s).as_str(), Some(s.as_str()));
        assert_eq!(&Message::from(&v)[..], &v[..]);
        assert_eq!(&Message::from(&boxed)[..], &v[..]);
        assert_eq!(&Message::from(&&v[..])[..], &v[..]);
        assert_eq!(&Message::from(&"x")[..], b"x");
        assert_eq!(&Message::from(b"abc")[..], b"abc");
        assert_eq!(&Message::from(&b"abc")[..], b"abc");
        let big = Message::from(v.clone());
        let shared = Message::from(&big);
        assert!(big.is_shared() && shared.is_shared());
        let mut m = Message::from("hi");
        m.as_mut()[0] = b'H';
        assert_eq!(m.as_str(), Some("Hi"));
        assert!(!m.get_more());
        #[allow(deprecated)]
        let z = Message::with_capacity(3);
        assert_eq!(&z[..], &[0, 0, 0]);
    }
}
