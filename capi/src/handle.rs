//! Opaque handles for contexts and sockets.
//!
//! A handle is a small heap cell `{ tag, value }`. Cells are never returned
//! to the allocator: a closed socket's or terminated context's cell gets a
//! dead tag and goes onto a free list for reuse. So a stale handle always
//! points at a valid cell, and checking its tag is enough to answer
//! ENOTSOCK / EFAULT instead of touching freed memory (libzmq itself reads
//! freed memory in that case).

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicU32, Ordering};

use zmqrs::util::sync::Mutex;

/// Tag of a live context handle.
pub const CTX_TAG: u32 = 0xabad_cafe;
/// Tag of a live socket handle.
pub const SOCKET_TAG: u32 = 0xbadd_ecaf;
/// Tag of a dead handle.
const DEAD_TAG: u32 = 0xdead_beef;

/// One handle cell.
#[repr(C)]
pub struct Cell<T> {
    tag: AtomicU32,
    value: UnsafeCell<Option<T>>,
}

/// A process-wide free list of dead cells of one type.
pub struct Pool<T: 'static> {
    free: Mutex<Vec<usize>>,
    live_tag: u32,
    _t: std::marker::PhantomData<fn() -> T>,
}

impl<T: 'static> Pool<T> {
    /// An empty pool whose live cells carry `live_tag`.
    pub const fn new(live_tag: u32) -> Pool<T> {
        Pool {
            free: Mutex::new(Vec::new()),
            live_tag,
            _t: std::marker::PhantomData,
        }
    }

    /// Stores `value` in a fresh or recycled cell and returns its address.
    pub fn alloc(&self, value: T) -> *mut Cell<T> {
        let cell = match self.free.lock().pop() {
            Some(addr) => addr as *mut Cell<T>,
            None => Box::into_raw(Box::new(Cell {
                tag: AtomicU32::new(DEAD_TAG),
                value: UnsafeCell::new(None),
            })),
        };
        // SAFETY: the cell is dead (fresh or recycled), so no other thread
        // uses its value; it was allocated by this pool and never freed.
        unsafe {
            *(*cell).value.get() = Some(value);
            (*cell).tag.store(self.live_tag, Ordering::Release);
        }
        cell
    }

    /// The live value behind a handle, if `ptr` is a live handle of this pool.
    ///
    /// # Safety
    /// `ptr` must be NULL or a pointer returned by `alloc` of this pool (a
    /// foreign pointer is undefined behaviour, as in libzmq). The caller
    /// must not use the value concurrently with `release` of the same handle.
    pub unsafe fn get<'a>(&self, ptr: *mut libc::c_void) -> Option<&'a T> {
        if ptr.is_null() {
            return None;
        }
        let cell = ptr as *const Cell<T>;
        // SAFETY: per the contract, cell points to a cell of this pool, which
        // is never freed.
        let cell = unsafe { &*cell };
        if cell.tag.load(Ordering::Acquire) != self.live_tag {
            return None;
        }
        // SAFETY: the tag says the cell holds a value; it is only taken by
        // `release`, which the caller does not run concurrently.
        unsafe { (*cell.value.get()).as_ref() }
    }

    /// Marks the handle dead and takes its value out; the cell is recycled.
    ///
    /// # Safety
    /// As for [`Pool::get`].
    pub unsafe fn release(&self, ptr: *mut libc::c_void) -> Option<T> {
        if ptr.is_null() {
            return None;
        }
        let cell = ptr as *mut Cell<T>;
        // SAFETY: per the contract, a cell of this pool that is never freed.
        let c = unsafe { &*cell };
        if c.tag
            .compare_exchange(self.live_tag, DEAD_TAG, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return None;
        }
        // SAFETY: we won the tag: nobody else may take or reuse this value.
        let value = unsafe { (*c.value.get()).take() };
        self.free.lock().push(cell as usize);
        value
    }
}
