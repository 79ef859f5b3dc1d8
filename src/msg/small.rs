//! Recycled blocks for small shared bodies (above the inline size, up to
//! [`MAX_LEN`] bytes), handed between threads in magazines.
//!
//! A small body is nearly always allocated by one thread and freed by
//! another: the sender's `zmq_msg_init_size` and the I/O thread that encoded
//! it, the decoding I/O thread and the receiver's `zmq_msg_close`, an inproc
//! sender and its reader. glibc serves that pattern badly: the freeing
//! thread's per-thread cache fills with blocks its own thread never asks
//! for, the allocating thread's stays empty, and both go to the arena under
//! its lock for every message (malloc and free were 36% of inproc_thr's
//! profile at 64 B).
//!
//! Here every thread keeps a stack of free blocks per size class. A thread
//! that frees more than it allocates hands a full magazine of
//! [`MAGAZINE`] blocks to a process-wide depot; a thread whose stack is
//! empty takes one: one lock per [`MAGAZINE`] messages instead of two per
//! message. Blocks come from and go back to the global allocator with one
//! layout per class, so a block can leave the scheme at any point (a full
//! depot, a contended lock, a thread that is exiting) and simply be freed.
//!
//! What is kept is bounded: at most two magazines per class per thread that
//! has freed bodies, and [`DEPOT_BYTES`] per class in the depot; a
//! thread's blocks go back to the allocator when it exits. The depot's lock
//! is only tried, never waited for, so a child forked while another thread
//! held it just allocates as before.

use std::alloc::{self, Layout};
use std::cell::RefCell;
use std::ptr::NonNull;
use std::sync::{Mutex, TryLockError};

/// Data capacity of each class's blocks: steps of a half or a third, so
/// that a body never wastes more than half its size.
const CLASSES: [usize; 9] = [64, 96, 128, 192, 256, 384, 512, 768, 1024];
/// The largest body served here.
const MAX_LEN: usize = CLASSES[CLASSES.len() - 1];
/// Blocks moved between a thread and the depot at once.
const MAGAZINE: usize = 32;
/// What the depot keeps per class, in bytes of body capacity.
const DEPOT_BYTES: usize = 256 * 1024;

/// Bytes before the body in every block, for the shared body's header
/// (`storage.rs` asserts that its header fits).
pub(super) const HEADER_ROOM: usize = 56;
/// Alignment of every block (the header's).
pub(super) const ALIGN: usize = 8;

const fn block_layout(cap: usize) -> Layout {
    match Layout::from_size_align(HEADER_ROOM + cap, ALIGN) {
        Ok(l) => l,
        Err(_) => panic!("a block layout"),
    }
}

/// Every class's block layout: a block is always allocated and freed
/// with its class's, whoever holds it.
const LAYOUTS: [Layout; CLASSES.len()] = {
    let mut l = [block_layout(0); CLASSES.len()];
    let mut i = 0;
    while i < CLASSES.len() {
        l[i] = block_layout(CLASSES[i]);
        i += 1;
    }
    l
};

/// The layout of class `class`'s blocks.
pub(super) fn layout(class: usize) -> Layout {
    LAYOUTS[class]
}

/// Most full magazines the depot keeps for one class: 2,048 blocks, twice
/// the default high-water mark. A stream's receiver frees in bursts as
/// large as the backlog its I/O thread decoded ahead (up to ZMQ_RCVHWM
/// messages): with room for only 16 magazines (512 blocks) the rest of
/// such a burst went back to glibc, and the I/O thread then took a third
/// of its bodies from malloc (5% of a 64-byte tcp stream's receiving
/// process). Bodies up to 256 bytes get the full 64 within [`DEPOT_BYTES`].
const MAX_DEPOT_MAGAZINES: usize = 64;

/// Full magazines the depot keeps for class `class`.
fn depot_magazines(class: usize) -> usize {
    (DEPOT_BYTES / (MAGAZINE * CLASSES[class])).clamp(2, MAX_DEPOT_MAGAZINES)
}

/// A free block: nobody else holds a pointer to it.
struct Block(NonNull<u8>);

// SAFETY: a free block is plain memory from the global allocator that no
// other thread refers to; whoever holds the Block owns it.
unsafe impl Send for Block {}

/// The size class of a body of `len` bytes, if it is small enough.
pub(super) fn class_of(len: usize) -> Option<usize> {
    if len > MAX_LEN {
        return None;
    }
    CLASSES.iter().position(|&cap| len <= cap)
}

/// Returns a free block of class `class` to the global allocator.
fn dealloc(class: usize, block: Block) {
    // SAFETY: every block of a class was allocated with that class's
    // layout (`take`, or a caller of `give` as it promised), and a free
    // block is owned by its holder.
    unsafe { alloc::dealloc(block.0.as_ptr(), layout(class)) };
}

struct Depot {
    magazines: Vec<Vec<Block>>,
}

static DEPOTS: [Mutex<Depot>; CLASSES.len()] = [const {
    Mutex::new(Depot {
        magazines: Vec::new(),
    })
}; CLASSES.len()];

fn with_depot<R>(class: usize, f: impl FnOnce(&mut Depot) -> R) -> Option<R> {
    match DEPOTS[class].try_lock() {
        Ok(mut d) => Some(f(&mut d)),
        // Each section is one Vec push or pop: a panic cannot leave it half done.
        Err(TryLockError::Poisoned(e)) => Some(f(&mut e.into_inner())),
        Err(TryLockError::WouldBlock) => None,
    }
}

/// One thread's free blocks, per class.
struct Cache {
    stacks: [Vec<Block>; CLASSES.len()],
}

impl Cache {
    const EMPTY: Cache = Cache {
        stacks: [const { Vec::new() }; CLASSES.len()],
    };
}

impl Drop for Cache {
    fn drop(&mut self) {
        for (class, stack) in self.stacks.iter_mut().enumerate() {
            for b in stack.drain(..) {
                dealloc(class, b);
            }
        }
    }
}

thread_local! {
    static CACHE: RefCell<Cache> = const { RefCell::new(Cache::EMPTY) };
}

/// A block of class `class` (laid out as [`layout`] says): a recycled one,
/// its bytes an earlier body's, or a fresh one; `None` if out of memory.
pub(super) fn take(class: usize) -> Option<NonNull<u8>> {
    let recycled = CACHE
        .try_with(|c| {
            let mut cache = c.try_borrow_mut().ok()?;
            let stack = &mut cache.stacks[class];
            if let Some(b) = stack.pop() {
                return Some(b);
            }
            let mut magazine = with_depot(class, |d| d.magazines.pop()).flatten()?;
            let b = magazine.pop();
            *stack = magazine;
            b
        })
        .ok()
        .flatten();
    if let Some(b) = recycled {
        return Some(b.0);
    }
    // SAFETY: the layout has a non-zero size (HEADER_ROOM bytes at least).
    NonNull::new(unsafe { alloc::alloc(layout(class)) })
}

/// Gives back a block of class `class`.
///
/// # Safety
/// `ptr` came from [`take`] for the same class (or from the global
/// allocator with [`layout`] of it), and nobody uses it afterwards.
pub(super) unsafe fn give(class: usize, ptr: NonNull<u8>) {
    let mut block = Some(Block(ptr));
    let mut spill = None;
    let _ = CACHE.try_with(|c| {
        let Ok(mut cache) = c.try_borrow_mut() else {
            return;
        };
        let stack = &mut cache.stacks[class];
        if stack.len() >= 2 * MAGAZINE {
            // Full: the older half goes to the depot, for a thread that
            // allocates more than it frees.
            let mut magazine = Some(stack.drain(..MAGAZINE).collect::<Vec<Block>>());
            with_depot(class, |d| {
                if d.magazines.len() < depot_magazines(class) {
                    d.magazines.extend(magazine.take());
                }
            });
            spill = magazine;
        }
        stack.extend(block.take());
    });
    // What the depot refused, or all of it when this thread's cache is
    // gone (it is exiting) or busy.
    for b in spill.into_iter().flatten().chain(block) {
        dealloc(class, b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classes_cover_every_small_length() {
        assert_eq!(class_of(0), Some(0));
        assert_eq!(class_of(64), Some(0));
        assert_eq!(class_of(65), Some(1));
        assert_eq!(class_of(MAX_LEN), Some(CLASSES.len() - 1));
        assert_eq!(class_of(MAX_LEN + 1), None);
        for len in 0..=MAX_LEN {
            let c = class_of(len).unwrap();
            assert!(CLASSES[c] >= len && (c == 0 || CLASSES[c - 1] < len));
        }
    }

    /// A thread that frees more than it allocates passes blocks, a
    /// magazine at a time, to a thread that allocates (the receiver and
    /// the sender of a stream). The blocks are still held by the depot, so
    /// glibc cannot be the one handing them out again.
    #[test]
    fn freed_blocks_reach_an_allocating_thread() {
        // Bodies of other tests may use the class too: what is checked
        // is only that this thread's magazine reached the other thread.
        let class = 6;
        let given: Vec<usize> = std::thread::spawn(move || {
            let mut given = Vec::new();
            for _ in 0..3 * MAGAZINE {
                // SAFETY: a non-zero layout.
                let p = NonNull::new(unsafe { alloc::alloc(layout(class)) }).unwrap();
                given.push(p.as_ptr() as usize);
                // SAFETY: allocated with the class's layout, not used again.
                unsafe { give(class, p) };
            }
            given
        })
        .join()
        .unwrap();
        // That thread has exited: what its own cache kept is freed; the
        // magazine it handed over is in the depot.
        let taken: Vec<NonNull<u8>> = std::thread::spawn(move || {
            (0..MAGAZINE)
                .map(|_| take(class).unwrap().as_ptr() as usize)
                .collect::<Vec<usize>>()
        })
        .join()
        .unwrap()
        .into_iter()
        .map(|a| NonNull::new(a as *mut u8).unwrap())
        .collect();
        let from_depot = taken
            .iter()
            .filter(|p| given.contains(&(p.as_ptr() as usize)))
            .count();
        assert_eq!(from_depot, MAGAZINE, "blocks that came through the depot");
        for p in taken {
            // SAFETY: taken from the class above, not used again.
            unsafe { give(class, p) };
        }
    }

    /// A backlog of a thousand small bodies freed at once (a receiver
    /// catching up with its I/O thread) reaches the allocating thread
    /// through the depot, not through glibc, all but the two magazines the
    /// freeing thread keeps.
    #[test]
    fn a_burst_of_a_full_high_water_mark_is_recycled() {
        // Bodies of 129-192 bytes; other tests may take a magazine of them
        // meanwhile, hence the margin below.
        let class = 3;
        let burst = 32 * MAGAZINE;
        let given: Vec<usize> = std::thread::spawn(move || {
            let blocks: Vec<NonNull<u8>> = (0..burst)
                // SAFETY: a non-zero layout.
                .map(|_| NonNull::new(unsafe { alloc::alloc(layout(class)) }).unwrap())
                .collect();
            let addrs = blocks.iter().map(|p| p.as_ptr() as usize).collect();
            for p in blocks {
                // SAFETY: allocated with the class's layout, not used again.
                unsafe { give(class, p) };
            }
            addrs
        })
        .join()
        .unwrap();
        let wanted = burst - 2 * MAGAZINE;
        let taken: Vec<usize> = std::thread::spawn(move || {
            (0..wanted)
                .map(|_| take(class).unwrap().as_ptr() as usize)
                .collect()
        })
        .join()
        .unwrap();
        let from_depot = taken.iter().filter(|a| given.contains(a)).count();
        assert!(
            from_depot >= wanted - 4 * MAGAZINE,
            "{from_depot} of {wanted} came through the depot"
        );
        for a in taken {
            // SAFETY: taken from the class above, not used again.
            unsafe { give(class, NonNull::new(a as *mut u8).unwrap()) };
        }
    }

    /// What the scheme keeps is bounded: a thread that frees without end
    /// keeps two magazines and the depot a bounded number; the rest goes
    /// back to the allocator.
    #[test]
    fn a_thread_that_only_frees_keeps_a_bounded_number() {
        let class = 2;
        std::thread::spawn(move || {
            for _ in 0..(depot_magazines(class) + 8) * MAGAZINE {
                // SAFETY: a non-zero layout.
                let p = NonNull::new(unsafe { alloc::alloc(layout(class)) }).unwrap();
                // SAFETY: allocated with the class's layout, not used again.
                unsafe { give(class, p) };
            }
            let kept = CACHE.with(|c| c.borrow().stacks[class].len());
            assert!(kept <= 2 * MAGAZINE, "{kept}");
        })
        .join()
        .unwrap();
        let depot = with_depot(class, |d| d.magazines.len()).unwrap();
        assert!(depot <= depot_magazines(class), "{depot}");
        assert!(depot_magazines(class) * MAGAZINE * CLASSES[class] <= DEPOT_BYTES);
    }
}
