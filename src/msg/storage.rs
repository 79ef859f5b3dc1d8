//! The shared body of a large message: one allocation holding a reference
//! count, how to release the bytes, and (for bodies we allocate) the bytes
//! themselves, like libzmq's `content_t`. One malloc and one free per
//! message instead of a buffer plus a separate reference-counted owner.

use std::alloc::{self, Layout};
use std::ptr::NonNull;
use std::sync::atomic::{fence, AtomicUsize, Ordering};

use super::small;
use super::Release;

/// Where the bytes of a shared body live.
pub(super) enum Kind {
    /// Right after the header, in the same allocation.
    Inline,
    /// A `Vec<u8>`'s buffer with this capacity, taken over without copying.
    Vec { cap: usize },
    /// A caller's buffer, released by its function.
    Foreign(Release),
    /// A caller's buffer that is never released (`zmq_msg_init_data`
    /// without a free function, `zmq_send_const`).
    Static,
}

/// `repr(C)` with the count first: a small body's block puts the body
/// HEADER_ROOM (56) bytes after the header, and the count is the one field
/// other threads write while the body is read (every clone and drop of a
/// message shared by a proxy or a fan-out, while the receivers read its
/// first bytes to match topics). Rust's own order put it at offset 32,
/// within the body's first cache line for three of malloc's four 16-byte
/// alignments; at offset 0 it is for one (a block that starts a line).
#[repr(C)]
struct Header {
    refs: AtomicUsize,
    kind: Kind,
    ptr: *mut u8,
    len: usize,
}

// The count stays first (see Header).
const _: () = assert!(std::mem::offset_of!(Header, refs) == 0);

// A small body's block keeps the header in its first HEADER_ROOM bytes.
const _: () = assert!(
    std::mem::size_of::<Header>() <= small::HEADER_ROOM
        && std::mem::align_of::<Header>() <= small::ALIGN
);

/// A counted reference to a shared body. Cloning adds a reference; the last
/// drop releases the bytes and the allocation.
pub(super) struct Owner(NonNull<Header>);

// SAFETY: the header is only mutated through the atomic count; the bytes it
// owns are released exactly once, by whichever thread drops the last
// reference, and release functions are promised to be callable from any
// thread (Message::from_raw_parts).
unsafe impl Send for Owner {}
// SAFETY: see Send; shared references only read the header.
unsafe impl Sync for Owner {}

/// Below this many bytes a zeroed body is malloc'ed and cleared, not
/// calloc'ed: glibc's calloc skips its per-thread cache and takes the arena
/// lock every time, and clears a small chunk anyway. Measured with
/// `benches/perf/compare --cost` at 64 B: 1,347 -> 1,241 instructions per
/// message for remote_thr over tcp, 1,408 -> 1,372 for inproc_thr, and
/// inproc_thr's rate 1.2x in two noisy 5- and 7-round runs. Large bodies
/// keep calloc, which can hand out fresh zero pages without clearing them
/// (at 64 KiB, clearing them ourselves was not faster in a noisy run).
const CALLOC_MIN: usize = 4096;

fn layout(inline_len: usize) -> Option<(Layout, usize)> {
    Layout::new::<Header>()
        .extend(Layout::array::<u8>(inline_len).ok()?)
        .ok()
        .map(|(l, off)| (l.pad_to_align(), off))
}

impl Owner {
    /// A new body of `len` zero bytes in one allocation; None if it cannot be
    /// allocated.
    pub fn alloc_zeroed(len: usize) -> Option<(Owner, NonNull<u8>)> {
        Owner::alloc(len, None)
    }

    /// A new body holding a copy of `data`, in one allocation.
    pub fn alloc_copy(data: &[u8]) -> Option<(Owner, NonNull<u8>)> {
        Owner::alloc(data.len(), Some(data))
    }

    fn alloc(len: usize, copy: Option<&[u8]>) -> Option<(Owner, NonNull<u8>)> {
        let (owner, data) = Owner::alloc_raw(len, copy.is_none())?;
        if let Some(src) = copy {
            // SAFETY: len writable bytes at data, src has len bytes, and the
            // fresh allocation cannot overlap it.
            unsafe { std::ptr::copy_nonoverlapping(src.as_ptr(), data.as_ptr(), len) };
        }
        Some((owner, data))
    }

    fn alloc_raw(len: usize, zeroed: bool) -> Option<(Owner, NonNull<u8>)> {
        let (base, offset) = match small::class_of(len) {
            Some(class) => {
                // A small body: a block of its class, maybe recycled, with
                // the header in its first HEADER_ROOM bytes.
                let offset = small::HEADER_ROOM;
                let base = small::take(class)?;
                if zeroed {
                    // SAFETY: the block has the class's capacity, at least
                    // len bytes, after HEADER_ROOM.
                    unsafe { std::ptr::write_bytes(base.as_ptr().add(offset), 0, len) };
                }
                (base, offset)
            }
            None => {
                let (layout, offset) = layout(len)?;
                let calloc = zeroed && layout.size() >= CALLOC_MIN;
                // SAFETY: the layout has a non-zero size (it holds a Header).
                let base = unsafe {
                    if calloc {
                        alloc::alloc_zeroed(layout)
                    } else {
                        alloc::alloc(layout)
                    }
                };
                let base = NonNull::new(base)?;
                if zeroed && !calloc {
                    // SAFETY: base is a fresh allocation of layout.size() bytes.
                    unsafe { std::ptr::write_bytes(base.as_ptr(), 0, layout.size()) };
                }
                (base, offset)
            }
        };
        // SAFETY: offset is within the allocation (HEADER_ROOM of a small
        // block, or Layout::extend's offset).
        let data = unsafe { base.as_ptr().add(offset) };
        let header = base.cast::<Header>();
        // SAFETY: base is a fresh allocation sized and aligned for Header.
        unsafe {
            header.as_ptr().write(Header {
                refs: AtomicUsize::new(1),
                kind: Kind::Inline,
                ptr: data,
                len,
            })
        };
        Some((Owner(header), NonNull::new(data)?))
    }

    /// An owner for bytes that live elsewhere (`Kind::Vec`, `Foreign`, `Static`).
    pub fn external(kind: Kind, ptr: *mut u8, len: usize) -> Owner {
        let b = Box::new(Header {
            refs: AtomicUsize::new(1),
            kind,
            ptr,
            len,
        });
        // Boxed headers are freed with the same layout as an inline body of
        // length 0, which is exactly Layout::new::<Header>().
        Owner(NonNull::from(Box::leak(b)))
    }

    fn header(&self) -> &Header {
        // SAFETY: the header lives until the last Owner is dropped.
        unsafe { self.0.as_ref() }
    }

    /// Whether this is the only reference.
    pub fn is_unique(&self) -> bool {
        self.header().refs.load(Ordering::Acquire) == 1
    }

    /// Whether the bytes are a caller's, never released.
    pub fn is_static(&self) -> bool {
        matches!(self.header().kind, Kind::Static)
    }
}

impl Clone for Owner {
    fn clone(&self) -> Owner {
        // Relaxed suffices for taking a reference: the caller already holds
        // one, so the header cannot go away meanwhile (as in Arc).
        self.header().refs.fetch_add(1, Ordering::Relaxed);
        Owner(self.0)
    }
}

impl Drop for Owner {
    fn drop(&mut self) {
        let refs = &self.header().refs;
        // The last owner nearly always holds the only reference: then
        // nobody can take another (that needs one), the count cannot change
        // under us, and a plain load spares a locked instruction, which
        // waits for every store this thread has not yet written out (a
        // message's header is often one of them). Reading 1 with Acquire
        // orders every other owner's writes before the free, as the fence
        // below does.
        if refs.load(Ordering::Acquire) != 1 {
            if refs.fetch_sub(1, Ordering::Release) != 1 {
                return;
            }
            // Every other owner's writes happen before the release below.
            fence(Ordering::Acquire);
        }
        let header = self.0.as_ptr();
        // SAFETY: this was the last reference: nobody else can reach the
        // header, so we may read it out and free everything once.
        let (kind, ptr, len) = unsafe {
            let h = header.read();
            (h.kind, h.ptr, h.len)
        };
        let inline_len = match kind {
            Kind::Inline => match small::class_of(len) {
                Some(class) => {
                    // SAFETY: alloc_raw took this block from the same class
                    // (len has not changed since), and this was the last
                    // reference to it.
                    unsafe { small::give(class, self.0.cast()) };
                    return;
                }
                None => len,
            },
            Kind::Vec { cap } => {
                // SAFETY: ptr/len/cap came from a Vec<u8> taken apart in
                // Message::from_vec and never freed since; its len bytes
                // were initialised then and only ever overwritten since.
                super::pool::give(unsafe { Vec::from_raw_parts(ptr, len, cap) });
                0
            }
            Kind::Foreign(release) => {
                // SAFETY: from_raw_parts' caller promised that func frees this
                // buffer; this is the single last reference.
                unsafe { (release.func)(ptr, release.ctx) };
                0
            }
            Kind::Static => 0,
        };
        if let Some((layout, _)) = layout(inline_len) {
            // SAFETY: the header was allocated with exactly this layout (a
            // Box<Header> has the layout of an inline body of length 0).
            unsafe { alloc::dealloc(header.cast(), layout) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_frees() {
        let (a, data) = Owner::alloc_zeroed(100).unwrap();
        // SAFETY: 100 writable bytes at data.
        unsafe { data.as_ptr().write_bytes(7, 100) };
        assert!(a.is_unique());
        let b = a.clone();
        assert!(!a.is_unique());
        drop(a);
        assert!(b.is_unique());
        drop(b);
        let v = vec![1u8; 50];
        let mut v = std::mem::ManuallyDrop::new(v);
        let o = Owner::external(Kind::Vec { cap: v.capacity() }, v.as_mut_ptr(), 50);
        assert!(!o.is_static());
        drop(o);
        assert!(Owner::external(Kind::Static, std::ptr::null_mut(), 0).is_static());
    }
}
