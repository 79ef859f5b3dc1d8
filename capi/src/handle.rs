//! Opaque handles: one scheme for every object C holds by pointer.
//!
//! A handle (`void *` in C) is the address of a cell `{ tag, value }` in a
//! [`Pool`], one pool per kind of object: contexts, sockets, pollers, timer
//! sets, atomic counters, stopwatches, threads. A pool carves its cells out
//! of chunks that are never returned to the allocator; chunk `k` holds
//! `FIRST_CHUNK << k` cells, so a pool of `n` live objects has about
//! `log2(n)` chunks. The memory is never given back: a pool is as large as
//! the most objects of its kind that were alive at once, plus the
//! quarantine below (a few kilobytes for most programs).
//!
//! Every pointer a caller passes is checked in this order, and nothing is
//! read through it before the first two steps pass:
//!
//! 1. range: its address lies inside one of this pool's chunks (integer
//!    compares against the chunk bounds, no dereference);
//! 2. alignment: it is the start of a cell of that chunk, not a pointer into
//!    the middle of one;
//! 3. tag: the cell's tag is this pool's live tag; the cell of a closed or
//!    destroyed handle carries [`DEAD_TAG`] until it is reused.
//!
//! So NULL, a pointer from another pool (a context passed as a socket), a
//! pointer to the caller's stack or heap, a freed block or a stale handle
//! all fail cleanly, and the answer is libzmq's errno for that function.
//! The check is a handful of loads and compares with no lock: it sits on
//! the path of every zmq_send and zmq_recv.
//!
//! A released cell goes to the back of a FIFO free list and is reused only
//! once [`QUARANTINE`] other cells wait in front of it, so a stale handle
//! keeps failing for a good while after its object is gone. After that its
//! cell may hold a new object of the same kind, and the stale handle then
//! names that object: libzmq (which reuses freed memory through malloc) has
//! the same property, and no scheme that keeps handles plain addresses can
//! rule it out.
//!
//! What is still the caller's duty, as in libzmq: not to release a handle
//! (zmq_close, zmq_ctx_term, zmq_poller_destroy, zmq_timers_destroy,
//! zmq_atomic_counter_destroy, zmq_stopwatch_stop) while another thread is
//! inside a call on that same handle. Here is what happens if it does:
//!
//! - a call that starts after the release fails cleanly (ENOTSOCK, EFAULT):
//!   the cell is still mapped and its tag is dead;
//! - a call that passed the check before the release holds a reference to
//!   the object that the release moves out of its cell and drops (a socket
//!   is closed, its queues freed) while that call may still use it. This is
//!   a data race with undefined behaviour, as in libzmq, where the object's
//!   memory itself is freed under the running call. Thread-safe socket
//!   types (CLIENT, SERVER, ...) do not change this: their lock orders the
//!   calls, not the close against them.
//!
//! Two threads releasing the same handle at once are fine: exactly one of
//! them gets the object (the tag goes from live to dead by compare and
//! swap), the other gets the error. That includes zmq_threadclose: only one
//! caller joins the thread.

use std::alloc::{self, Layout};
use std::cell::UnsafeCell;
use std::collections::VecDeque;
use std::mem::MaybeUninit;
use std::ptr;
use std::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering};

use zmqrs::util::sync::Mutex;

/// Tag of a live context handle.
pub(crate) const CTX_TAG: u32 = 0xabad_cafe;
/// Tag of a live socket handle.
pub(crate) const SOCKET_TAG: u32 = 0xbadd_ecaf;
/// Tag of a live poller handle.
#[cfg(feature = "draft")]
pub(crate) const POLLER_TAG: u32 = 0xcafe_babe;
/// Tag of a live timer set handle.
pub(crate) const TIMERS_TAG: u32 = 0xcafe_dada;
/// Tag of a live atomic counter handle.
pub(crate) const COUNTER_TAG: u32 = 0xc0de_c0de;
/// Tag of a live stopwatch handle.
pub(crate) const STOPWATCH_TAG: u32 = 0x5709_3a7c;
/// Tag of a live thread handle.
pub(crate) const THREAD_TAG: u32 = 0x7ead_7ead;
/// Tag of a cell that holds no value: never used, or released.
const DEAD_TAG: u32 = 0;

/// Cells in a pool's first chunk; chunk `k` has `FIRST_CHUNK << k`.
const FIRST_CHUNK: usize = 16;
/// Most chunks a pool can have: room for `FIRST_CHUNK * (2^MAX_CHUNKS - 1)`
/// cells, far beyond what memory holds for any of our objects.
const MAX_CHUNKS: usize = 28;
/// Released cells that wait before one is reused (see the module doc).
const QUARANTINE: usize = 64;

/// One handle cell. `value` is initialised exactly while `tag` is the
/// pool's live tag. A cell has cache lines of its own: neighbouring cells
/// are different objects, often used by different threads (a CLIENT's
/// sending thread and the four threads receiving from the SERVER next to
/// it), and a shared line made each of them pay for the other's lock.
#[repr(C, align(64))]
pub struct Cell<T> {
    tag: AtomicU32,
    value: UnsafeCell<MaybeUninit<T>>,
}

/// Which cells are free; only touched under the pool's lock.
struct Slots {
    /// Released cells by index, oldest first.
    free: VecDeque<usize>,
    /// Cells ever handed out: indices `0..used` have been used.
    used: usize,
}

/// A process-wide set of handle cells of one type (see the module doc).
pub struct Pool<T: 'static> {
    live_tag: u32,
    /// Chunks published so far; `chunks[..count]` are non-null.
    count: AtomicUsize,
    /// Chunk `k` is an array of `FIRST_CHUNK << k` cells, never freed.
    chunks: [AtomicPtr<Cell<T>>; MAX_CHUNKS],
    slots: Mutex<Slots>,
}

// SAFETY: the pool hands out `&T` to any thread (so T: Sync) and moves
// values in and out of cells from whichever thread allocates or releases
// (so T: Send); its own state is atomics and a mutex.
unsafe impl<T: Send + Sync> Sync for Pool<T> {}

/// Cells in chunk `k`.
const fn chunk_cells(k: usize) -> usize {
    FIRST_CHUNK << k
}

/// The chunk holding cell `index` and the index within that chunk. Chunk
/// `k` starts at cell `FIRST_CHUNK * (2^k - 1)`.
fn chunk_of(index: usize) -> (usize, usize) {
    let k = (index / FIRST_CHUNK + 1).ilog2() as usize;
    (k, index - FIRST_CHUNK * ((1 << k) - 1))
}

impl<T: 'static> Pool<T> {
    const CELL: usize = std::mem::size_of::<Cell<T>>();

    /// An empty pool whose live cells carry `live_tag`.
    pub const fn new(live_tag: u32) -> Pool<T> {
        Pool {
            live_tag,
            count: AtomicUsize::new(0),
            chunks: [const { AtomicPtr::new(ptr::null_mut()) }; MAX_CHUNKS],
            slots: Mutex::new(Slots {
                free: VecDeque::new(),
                used: 0,
            }),
        }
    }

    /// The cell at `index`, which must be below `slots.used` (so its chunk
    /// is published). Called under the lock.
    fn cell_at(&self, index: usize) -> *mut Cell<T> {
        let (k, i) = chunk_of(index);
        let base = self.chunks[k].load(Ordering::Acquire);
        // SAFETY: chunk k holds chunk_cells(k) > i cells (chunk_of's
        // arithmetic), and it is published because index < used.
        unsafe { base.add(i) }
    }

    /// A free cell: a quarantined one if enough wait, else a fresh one
    /// (growing the pool by a chunk if needed). `None` when out of memory.
    fn free_cell(&self, slots: &mut Slots) -> Option<*mut Cell<T>> {
        if slots.free.len() > QUARANTINE {
            if let Some(index) = slots.free.pop_front() {
                return Some(self.cell_at(index));
            }
        }
        let index = slots.used;
        let (k, _) = chunk_of(index);
        if k >= MAX_CHUNKS {
            return slots.free.pop_front().map(|i| self.cell_at(i));
        }
        if k == self.count.load(Ordering::Relaxed) {
            let layout = Layout::array::<Cell<T>>(chunk_cells(k)).ok()?;
            // SAFETY: the layout has a non-zero size (a cell holds at least
            // its tag). Zeroed bytes are a valid cell: tag 0 is DEAD_TAG and
            // the value is MaybeUninit.
            let base = unsafe { alloc::alloc_zeroed(layout) } as *mut Cell<T>;
            if base.is_null() {
                return slots.free.pop_front().map(|i| self.cell_at(i));
            }
            self.chunks[k].store(base, Ordering::Release);
            // Published after the chunk pointer: a reader that sees the
            // count sees the pointer.
            self.count.store(k + 1, Ordering::Release);
        }
        slots.used += 1;
        Some(self.cell_at(index))
    }

    /// Stores `value` in a free cell and returns the handle; NULL with
    /// errno ENOMEM when memory is exhausted (`value` is dropped).
    pub fn alloc(&self, value: T) -> *mut libc::c_void {
        let mut slots = self.slots.lock();
        let Some(cell) = self.free_cell(&mut slots) else {
            drop(slots);
            drop(value);
            crate::set_errno(libc::ENOMEM);
            return ptr::null_mut();
        };
        // SAFETY: the cell is dead (fresh or released) and was just taken
        // off the free slots under the lock, so no other thread writes its
        // value; it lives in a chunk that is never freed.
        unsafe {
            (*(*cell).value.get()).write(value);
            (*cell).tag.store(self.live_tag, Ordering::Release);
        }
        cell as *mut libc::c_void
    }

    /// The cell `ptr` points at and its pool-wide index, if `ptr` is the
    /// start of a cell of this pool. Reads nothing through `ptr`.
    #[inline]
    fn locate(&self, ptr: *mut libc::c_void) -> Option<(&Cell<T>, usize)> {
        let addr = ptr as usize;
        let count = self.count.load(Ordering::Acquire).min(MAX_CHUNKS);
        for k in 0..count {
            let base = self.chunks[k].load(Ordering::Relaxed);
            let offset = addr.wrapping_sub(base as usize);
            if offset < chunk_cells(k) * Self::CELL {
                if !offset.is_multiple_of(Self::CELL) {
                    return None;
                }
                let i = offset / Self::CELL;
                // SAFETY: i < chunk_cells(k): a cell of chunk k, which stays
                // allocated for the life of the process. The pointer derives
                // from the chunk's own allocation, not from `ptr`.
                let cell = unsafe { &*base.add(i) };
                return Some((cell, FIRST_CHUNK * ((1 << k) - 1) + i));
            }
        }
        None
    }

    /// The live value behind a handle; `None` for NULL, a stale handle or
    /// any pointer that is not a cell of this pool.
    ///
    /// # Safety
    /// No thread may release this handle while the returned reference is
    /// in use (see the module doc). Any pointer value is otherwise fine.
    #[inline]
    pub unsafe fn get(&self, ptr: *mut libc::c_void) -> Option<&T> {
        let (cell, _) = self.locate(ptr)?;
        if cell.tag.load(Ordering::Acquire) != self.live_tag {
            return None;
        }
        // SAFETY: the live tag (stored with Release after the value was
        // written, read here with Acquire) says the value is initialised;
        // only `release` ends that, which the caller does not run
        // concurrently.
        Some(unsafe { (*cell.value.get()).assume_init_ref() })
    }

    /// Marks the handle dead and moves its value out; the cell goes to the
    /// free list. `None` (and no effect) for anything but a live handle.
    /// Of two threads releasing one handle, exactly one gets the value.
    ///
    /// # Safety
    /// As for [`Pool::get`].
    pub unsafe fn release(&self, ptr: *mut libc::c_void) -> Option<T> {
        let (cell, index) = self.locate(ptr)?;
        cell.tag
            .compare_exchange(self.live_tag, DEAD_TAG, Ordering::AcqRel, Ordering::Acquire)
            .ok()?;
        // SAFETY: we turned the tag from live to dead, so the value is
        // initialised and nobody else will read it out; no `get` reference
        // is in use (the caller's contract).
        let value = unsafe { (*cell.value.get()).assume_init_read() };
        self.slots.lock().free.push_back(index);
        Some(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunk_arithmetic() {
        assert_eq!(chunk_of(0), (0, 0));
        assert_eq!(chunk_of(15), (0, 15));
        assert_eq!(chunk_of(16), (1, 0));
        assert_eq!(chunk_of(47), (1, 31));
        assert_eq!(chunk_of(48), (2, 0));
        let mut start = 0;
        for k in 0..10 {
            assert_eq!(chunk_of(start), (k, 0));
            assert_eq!(
                chunk_of(start + chunk_cells(k) - 1),
                (k, chunk_cells(k) - 1)
            );
            start += chunk_cells(k);
        }
    }

    #[test]
    fn handles_are_checked_before_any_read() {
        static POOL: Pool<u64> = Pool::new(0x1234_5678);
        static OTHER: Pool<u64> = Pool::new(0x1234_5678);
        let handles: Vec<_> = (0..1000u64).map(|i| POOL.alloc(i)).collect();
        let foreign = OTHER.alloc(7);
        // SAFETY: nothing is released concurrently.
        unsafe {
            for (i, &h) in handles.iter().enumerate() {
                assert_eq!(POOL.get(h), Some(&(i as u64)));
                assert_eq!(POOL.get((h as *mut u8).add(1) as *mut _), None);
            }
            assert_eq!(POOL.get(ptr::null_mut()), None);
            assert_eq!(POOL.get(foreign), None, "same tag, other pool");
            let mut stack = [0u64; 4];
            assert_eq!(POOL.get(stack.as_mut_ptr() as *mut _), None);
            assert_eq!(POOL.release(handles[3]), Some(3));
            assert_eq!(POOL.release(handles[3]), None);
            assert_eq!(POOL.get(handles[3]), None);
        }
    }

    /// Two live objects never share a cache line, whatever their size: the
    /// value a thread writes on every call (a socket's lock and borrow
    /// flag) must not be next to another object's.
    #[test]
    fn every_cell_has_cache_lines_of_its_own() {
        static POOL: Pool<u32> = Pool::new(0x6464);
        let handles: Vec<usize> = (0..100u32).map(|i| POOL.alloc(i) as usize).collect();
        for h in &handles {
            assert_eq!(h % 64, 0, "cell at {h:#x} starts inside a line");
        }
        let mut sorted = handles.clone();
        sorted.sort_unstable();
        for pair in sorted.windows(2) {
            assert!(
                pair[1] - pair[0] >= 64,
                "cells {:#x} and {:#x} share a line",
                pair[0],
                pair[1]
            );
        }
        for h in handles {
            // SAFETY: single-threaded use of the pool.
            assert!(unsafe { POOL.release(h as *mut libc::c_void) }.is_some());
        }
    }

    #[test]
    fn released_cells_are_reused_only_after_quarantine() {
        static POOL: Pool<u32> = Pool::new(0x4321);
        let first = POOL.alloc(1);
        // SAFETY: single-threaded use of the pool.
        assert_eq!(unsafe { POOL.release(first) }, Some(1));
        let mut seen = Vec::new();
        for i in 0..QUARANTINE as u32 {
            let h = POOL.alloc(i);
            assert_ne!(h, first);
            seen.push(h);
        }
        for h in seen {
            // SAFETY: as above.
            assert!(unsafe { POOL.release(h) }.is_some());
        }
        // Now more than QUARANTINE cells wait: the oldest comes back first.
        assert_eq!(POOL.alloc(99), first);
    }
}
