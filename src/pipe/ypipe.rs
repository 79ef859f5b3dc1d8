//! Lock-free single-producer single-consumer queue with libzmq's "ypipe"
//! wake-up protocol.
//!
//! Items are stored in chunks of [`CHUNK`] slots; the reader hands an emptied
//! chunk back through a one-slot spare so that a steady stream allocates
//! nothing. The writer publishes items in batches with [`Writer::flush`]; the
//! reader sees only flushed items. One shared word `published` carries the
//! flushed count, or [`ASLEEP`] once the reader has found the queue empty:
//!
//! * `flush` swaps the count in; if it replaced `ASLEEP` it returns
//!   `false`, telling the writer to wake the reader (one command per batch,
//!   never per message).
//! * `check_read` reads from its prefetched range without atomics; when the
//!   range is used up it swaps in `ASLEEP` if nothing new was published.
//! * A reader about to spin anyway may take its sleep back for a while
//!   (`watch`) and look for new items itself, so that the writer need not
//!   wake it; `unwatch` puts it back to sleep unless items came.
//!
//! This is libzmq's ypipe (src/ypipe.hpp, src/yqueue.hpp) with counters in
//! place of pointers. Incomplete multi-part messages are never pushed here:
//! the pipe above keeps them until the last frame, which gives rollback for
//! free.
//!
//! Ownership: the [`Writer`] belongs to the producing thread, the [`Reader`]
//! to the consuming one; each touches only its own half of the state.
//!
//! The atomics and cells come from `crate::sync_prims`: std's here, loom's
//! when `tests/loom` model-checks this file (see `loom_models` below).

use std::mem::MaybeUninit;
use std::ptr;

use crate::sync_prims::{Arc, AtomicPtr, AtomicU64, Ordering, UnsafeCell};

/// Slots per chunk (libzmq's message_pipe_granularity).
#[cfg(not(loom))]
pub const CHUNK: usize = 256;
/// Two slots under loom, so that a few items already move to a new chunk
/// and recycle the old one.
#[cfg(loom)]
pub const CHUNK: usize = 2;

/// Value of `published` while the reader sleeps.
const ASLEEP: u64 = u64::MAX;

/// Cache-line aligned, slots first: a 64-byte message then fills exactly
/// one line, and handing it to the other thread moves one line, not two.
#[repr(C, align(64))]
struct Chunk<T> {
    slots: [UnsafeCell<MaybeUninit<T>>; CHUNK],
    next: AtomicPtr<Chunk<T>>,
}

impl<T> Chunk<T> {
    fn alloc() -> *mut Chunk<T> {
        let chunk = Box::new(Chunk {
            slots: std::array::from_fn(|_| UnsafeCell::new(MaybeUninit::uninit())),
            next: AtomicPtr::new(ptr::null_mut()),
        });
        Box::into_raw(chunk)
    }

    /// # Safety
    /// `chunk` came from `alloc` and is referenced by nobody else; its slots
    /// hold no live items.
    unsafe fn free(chunk: *mut Chunk<T>) {
        // SAFETY: guaranteed by the caller; MaybeUninit slots need no drop.
        drop(unsafe { Box::from_raw(chunk) });
    }
}

struct WriterState<T> {
    back: *mut Chunk<T>,
    back_pos: usize,
    written: u64,
    flushed: u64,
}

struct ReaderState<T> {
    front: *mut Chunk<T>,
    front_pos: usize,
    read: u64,
    limit: u64,
}

/// Keeps its content on cache lines of its own (128 bytes: adjacent-line
/// prefetchers fetch pairs). The writer's and the reader's private state
/// shared one line before, so every write stole the line the reader was
/// using and the other way round: inproc throughput of small messages was
/// bound by that ping-pong, not by work.
#[repr(align(128))]
struct Line<T>(T);

impl<T> std::ops::Deref for Line<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> std::ops::DerefMut for Line<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

struct Shared<T> {
    published: Line<AtomicU64>,
    spare: AtomicPtr<Chunk<T>>,
    writer: Line<UnsafeCell<WriterState<T>>>,
    reader: Line<UnsafeCell<ReaderState<T>>>,
}

// SAFETY: `writer` is only touched through the unique Writer handle and
// `reader` only through the unique Reader handle (or by Drop, which has
// exclusive access); items cross threads only through the release/acquire
// pair on `published`. So sharing Shared is sound when T can be sent.
unsafe impl<T: Send> Sync for Shared<T> {}
// SAFETY: see Sync.
unsafe impl<T: Send> Send for Shared<T> {}

impl<T> Drop for Shared<T> {
    fn drop(&mut self) {
        // SAFETY: Drop has exclusive access to both halves of the state.
        let w = self.writer.with(|w| unsafe { &*w });
        // SAFETY: as above.
        let r = self.reader.with(|r| unsafe { &*r });
        let mut chunk = r.front;
        let mut pos = r.front_pos;
        for _ in r.read..w.written {
            if pos == CHUNK {
                // SAFETY: exclusive access in Drop; the chunk list is intact.
                let next = unsafe { (*chunk).next.load(Ordering::Acquire) };
                chunk = next;
                pos = 0;
            }
            // SAFETY: every slot between the reader's and the writer's
            // positions holds an initialised item that nobody else owns.
            unsafe { (*chunk).slots[pos].with_mut(|slot| (*slot).assume_init_drop()) };
            pos += 1;
        }
        let mut chunk = r.front;
        while !chunk.is_null() {
            // SAFETY: exclusive access; items were dropped above.
            let next = unsafe { (*chunk).next.load(Ordering::Acquire) };
            // SAFETY: the chunk is in the list only once and no handle remains.
            unsafe { Chunk::free(chunk) };
            chunk = next;
        }
        let spare = self.spare.swap(ptr::null_mut(), Ordering::AcqRel);
        if !spare.is_null() {
            // SAFETY: the spare chunk is unlinked and empty.
            unsafe { Chunk::free(spare) };
        }
    }
}

/// The producing end.
pub struct Writer<T> {
    shared: Arc<Shared<T>>,
}

/// The consuming end.
pub struct Reader<T> {
    shared: Arc<Shared<T>>,
}

/// A new empty queue; the reader starts awake (the first flush wakes nobody).
pub fn channel<T>() -> (Writer<T>, Reader<T>) {
    let first = Chunk::alloc();
    let shared = Arc::new(Shared {
        published: Line(AtomicU64::new(0)),
        spare: AtomicPtr::new(ptr::null_mut()),
        writer: Line(UnsafeCell::new(WriterState {
            back: first,
            back_pos: 0,
            written: 0,
            flushed: 0,
        })),
        reader: Line(UnsafeCell::new(ReaderState {
            front: first,
            front_pos: 0,
            read: 0,
            limit: 0,
        })),
    });
    (
        Writer {
            shared: Arc::clone(&shared),
        },
        Reader { shared },
    )
}

impl<T> Writer<T> {
    /// Appends an item (invisible to the reader until the next flush).
    pub fn write(&mut self, value: T) {
        let shared = &*self.shared;
        // SAFETY: the writer state is only reached through this unique
        // handle, which is borrowed mutably for the whole call.
        shared
            .writer
            .with_mut(|w| unsafe { Self::write_in(shared, &mut *w, value) });
    }

    /// # Safety
    /// `w` is the writer state of `shared`, borrowed by the unique Writer.
    unsafe fn write_in(shared: &Shared<T>, w: &mut WriterState<T>, value: T) {
        if w.back_pos == CHUNK {
            let recycled = shared.spare.swap(ptr::null_mut(), Ordering::AcqRel);
            let new = if recycled.is_null() {
                Chunk::alloc()
            } else {
                // SAFETY: the reader put this chunk aside after consuming it;
                // nobody else refers to it now.
                unsafe { (*recycled).next.store(ptr::null_mut(), Ordering::Relaxed) };
                recycled
            };
            // SAFETY: `back` is the writer's live chunk; the link reaches the
            // reader through the release in `flush`.
            unsafe { (*w.back).next.store(new, Ordering::Release) };
            w.back = new;
            w.back_pos = 0;
        }
        // SAFETY: this slot is past everything published, so the reader cannot
        // touch it, and it holds no live item.
        unsafe { (*w.back).slots[w.back_pos].with_mut(|slot| (*slot).write(value)) };
        w.back_pos += 1;
        w.written += 1;
    }

    /// Publishes everything written so far. Returns `false` when the reader
    /// was asleep and must be woken by the caller.
    pub fn flush(&mut self) -> bool {
        let shared = &*self.shared;
        // SAFETY: unique handle, as in `write`.
        shared
            .writer
            .with_mut(|w| Self::flush_in(shared, unsafe { &mut *w }))
    }

    fn flush_in(shared: &Shared<T>, w: &mut WriterState<T>) -> bool {
        if w.flushed == w.written {
            return true;
        }
        // `published` holds our last count (the reader is awake, or watching
        // after taking its sleep back) or ASLEEP. One swap, not the
        // compare-and-swap and store on failure of libzmq's ypipe: a failed
        // compare-and-swap is only a load and the store is not ordered with
        // the reader's own compare-and-swaps, so once the reader can change
        // ASLEEP back (Reader::watch) the pair lost a wake-up in the loom
        // model `ypipe_watching_reader`. With every change a
        // read-modify-write, both ends see the changes in one order.
        let previous = shared.published.swap(w.written, Ordering::AcqRel);
        w.flushed = w.written;
        previous != ASLEEP
    }
}

impl<T> Reader<T> {
    /// Runs `f` on the reader's half of the state.
    #[inline(always)]
    fn with_state<R>(&mut self, f: impl FnOnce(&Shared<T>, &mut ReaderState<T>) -> R) -> R {
        let shared = &*self.shared;
        // SAFETY: the reader state is only reached through this unique
        // handle, which is borrowed mutably for the whole call.
        shared.reader.with_mut(|r| f(shared, unsafe { &mut *r }))
    }

    /// Whether an item can be read. When nothing is left, marks the reader
    /// asleep so that the writer's next flush asks for a wake-up.
    pub fn check_read(&mut self) -> bool {
        self.with_state(|shared, r| {
            if r.read != r.limit {
                return true;
            }
            match shared.published.compare_exchange(
                r.read,
                ASLEEP,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => false,
                Err(ASLEEP) => false,
                Err(limit) => {
                    r.limit = limit;
                    true
                }
            }
        })
    }

    /// Takes back the sleep of a reader that found the queue empty, for a
    /// moment of watching it instead (a reader about to spin anyway): the
    /// writer's next flush then finds it awake and asks for no wake-up.
    /// `false` when the reader was not asleep (it was never put to sleep, or
    /// a flush already found it asleep and its wake-up is on its way).
    pub fn watch(&mut self) -> bool {
        self.with_state(|shared, r| {
            r.read == r.limit
                && shared
                    .published
                    .compare_exchange(ASLEEP, r.read, Ordering::AcqRel, Ordering::Acquire)
                    .is_ok()
        })
    }

    /// Whether items were published since [`Reader::watch`]. Once they
    /// were, the watch is over: the reader is awake with items to read.
    pub fn watched_ready(&mut self) -> bool {
        self.with_state(|shared, r| {
            if r.limit != r.read {
                return true;
            }
            // While watching, only the writer changes `published`, and
            // never to ASLEEP.
            let published = shared.published.load(Ordering::Acquire);
            if published == r.read {
                return false;
            }
            r.limit = published;
            true
        })
    }

    /// Ends a watch: the reader sleeps again unless items were published
    /// meanwhile; returns whether they were (no wake-up will come for them,
    /// so the caller must read them).
    pub fn unwatch(&mut self) -> bool {
        // While watching `published` is never ASLEEP, so `check_read`'s
        // "sleep unless something came" is exactly this.
        self.check_read()
    }

    /// The slot of the next item; call only after `check_read`.
    fn front_slot(&mut self) -> &UnsafeCell<MaybeUninit<T>> {
        let slot = self.with_state(|shared, r| {
            if r.front_pos == CHUNK {
                // SAFETY: an item exists beyond this chunk (check_read), so the
                // writer linked `next` before publishing it (acquire pairs with it).
                let next = unsafe { (*r.front).next.load(Ordering::Acquire) };
                let old = std::mem::replace(&mut r.front, next);
                r.front_pos = 0;
                let prev_spare = shared.spare.swap(old, Ordering::AcqRel);
                if !prev_spare.is_null() {
                    // SAFETY: a spare chunk is unlinked, empty and unreferenced.
                    unsafe { Chunk::free(prev_spare) };
                }
            }
            // SAFETY: front is the reader's live chunk.
            unsafe { ptr::addr_of!((*r.front).slots[r.front_pos]) }
        });
        // SAFETY: the chunk stays allocated until the reader moves past it,
        // which needs `&mut self`, so it outlives this borrow.
        unsafe { &*slot }
    }

    /// Takes the next item, if any.
    pub fn read(&mut self) -> Option<T> {
        if !self.check_read() {
            return None;
        }
        // SAFETY: check_read proved the slot was published and not yet read;
        // after this read the position moves past it, so it is read once.
        let value = self
            .front_slot()
            .with(|slot| unsafe { (*slot).assume_init_read() });
        self.with_state(|_, r| {
            r.front_pos += 1;
            r.read += 1;
        });
        Some(value)
    }

    /// Looks at the next item without taking it.
    pub fn peek(&mut self) -> Option<&T> {
        if !self.check_read() {
            return None;
        }
        // SAFETY: as in `read`; the item stays in place and the borrow is
        // tied to &mut self, so the reader cannot move past it meanwhile.
        Some(
            self.front_slot()
                .with(|slot| unsafe { (*slot).assume_init_ref() }),
        )
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn flush_and_sleep_protocol() {
        let (mut w, mut r) = channel::<u32>();
        assert!(!r.check_read()); // now asleep
        w.write(1);
        assert!(!r.check_read()); // not flushed yet
        assert!(!w.flush()); // reader was asleep: wake it
        assert_eq!(r.read(), Some(1));
        w.write(2);
        w.write(3);
        assert!(w.flush()); // reader awake (it has not found the queue empty)
        assert_eq!(r.peek(), Some(&2));
        assert_eq!(r.read(), Some(2));
        assert_eq!(r.read(), Some(3));
        assert_eq!(r.read(), None);
        assert!(w.flush()); // nothing new: no wake-up
        w.write(4);
        assert!(!w.flush());
        assert_eq!(r.read(), Some(4));
    }

    #[test]
    fn a_watching_reader_needs_no_wake_up() {
        let (mut w, mut r) = channel::<u32>();
        assert!(!r.watch()); // never asleep: nothing to take back
        assert_eq!(r.read(), None); // now asleep
        assert!(r.watch());
        assert!(!r.watched_ready());
        w.write(1);
        assert!(w.flush()); // the reader is watching: no wake-up
        assert!(r.watched_ready());
        assert!(r.unwatch()); // items arrived: the caller reads them
        assert_eq!(r.read(), Some(1));
        assert_eq!(r.read(), None);
        assert!(r.watch());
        assert!(!r.unwatch()); // nothing came: asleep again
        w.write(2);
        assert!(!w.flush()); // so this flush must wake it
        assert!(!r.watch()); // and the wake-up is on its way
        assert_eq!(r.read(), Some(2));
    }

    #[test]
    fn crosses_chunks_and_drops_leftovers() {
        let (mut w, mut r) = channel::<String>();
        for i in 0..1000 {
            w.write(i.to_string());
        }
        w.flush();
        for i in 0..700 {
            assert_eq!(r.read().unwrap(), i.to_string());
        }
        for i in 1000..1600 {
            w.write(i.to_string());
        }
        w.flush();
        for i in 700..1200 {
            assert_eq!(r.read().unwrap(), i.to_string());
        }
        drop(r);
        drop(w); // remaining strings freed by Shared::drop (checked under Miri/valgrind)
    }

    #[test]
    fn threads() {
        let (mut w, mut r) = channel::<u64>();
        let n = 200_000u64;
        let t = std::thread::spawn(move || {
            for i in 0..n {
                w.write(i);
                if i % 7 == 0 {
                    w.flush();
                }
            }
            w.flush();
        });
        let mut expect = 0;
        while expect < n {
            if let Some(v) = r.read() {
                assert_eq!(v, expect);
                expect += 1;
            } else {
                std::thread::yield_now();
            }
        }
        t.join().unwrap();
    }
}

/// Loom models (`tests/sanitize/run loom`): every interleaving of a writer
/// and a reader, with [`CHUNK`] = 2 so that chunks fill, link and recycle.
/// The reader sleeps when `check_read` says so and is woken only when a
/// `flush` returns `false` (as the pipe does with its ActivateRead command),
/// so a lost wake-up is a deadlock loom reports; every item must arrive
/// once, in order, and every item must be dropped exactly once.
#[cfg(all(test, loom))]
mod loom_models {
    use super::*;
    use loom::sync::{Condvar, Mutex};
    use loom::thread;
    use std::sync::atomic::AtomicUsize;

    /// An item that counts its drops (std's atomic: loom need not see it).
    struct Item(u64, std::sync::Arc<AtomicUsize>);

    impl Drop for Item {
        fn drop(&mut self) {
            self.1.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// The reader's wake-up, standing in for ActivateRead through its
    /// owner's mailbox.
    #[derive(Default)]
    struct Wake {
        raised: Mutex<bool>,
        cond: Condvar,
    }

    impl Wake {
        fn raise(&self) {
            *self.raised.lock().unwrap() = true;
            self.cond.notify_one();
        }

        fn wait(&self) {
            let mut raised = self.raised.lock().unwrap();
            while !*raised {
                raised = self.cond.wait(raised).unwrap();
            }
            *raised = false;
        }
    }

    /// The writer writes `n` items, flushing after each index in
    /// `flush_after` and at the end, and wakes the reader when a flush says
    /// so; the reader reads `n` items (or `read_only` of them and then
    /// drops its end) and sleeps whenever the queue is empty.
    fn writer_and_reader(n: u64, flush_after: &'static [u64], read_only: Option<u64>) {
        let drops = std::sync::Arc::new(AtomicUsize::new(0));
        let (mut w, mut r) = channel::<Item>();
        let wake = Arc::new(Wake::default());
        let writer = {
            let wake = Arc::clone(&wake);
            let drops = std::sync::Arc::clone(&drops);
            thread::spawn(move || {
                for i in 0..n {
                    w.write(Item(i, std::sync::Arc::clone(&drops)));
                    if flush_after.contains(&i) && !w.flush() {
                        wake.raise();
                    }
                }
                if !w.flush() {
                    wake.raise();
                }
            })
        };
        let want = read_only.unwrap_or(n);
        let mut next = 0;
        while next < want {
            match r.read() {
                Some(item) => {
                    assert_eq!(item.0, next, "items out of order, lost or repeated");
                    next += 1;
                }
                // Asleep: only the writer's flush can wake us.
                None => wake.wait(),
            }
        }
        if read_only.is_none() {
            assert!(r.peek().is_none(), "an item nobody wrote");
        }
        drop(r);
        writer.join().unwrap();
        assert_eq!(
            drops.load(Ordering::Relaxed),
            n as usize,
            "an item not dropped once"
        );
    }

    /// As `writer_and_reader`, but a reader that finds the queue empty
    /// first watches it (one look) before it sleeps, as a spinning socket
    /// does: no item may be lost, and no wake-up may be needed that never
    /// comes.
    fn writer_and_watching_reader(n: u64, flush_after: &'static [u64]) {
        let (mut w, mut r) = channel::<u64>();
        let wake = Arc::new(Wake::default());
        let writer = {
            let wake = Arc::clone(&wake);
            thread::spawn(move || {
                for i in 0..n {
                    w.write(i);
                    if flush_after.contains(&i) && !w.flush() {
                        wake.raise();
                    }
                }
                if !w.flush() {
                    wake.raise();
                }
            })
        };
        let mut next = 0;
        while next < n {
            match r.read() {
                Some(item) => {
                    assert_eq!(item, next, "items out of order, lost or repeated");
                    next += 1;
                }
                None => {
                    if r.watch() {
                        if r.watched_ready() || r.unwatch() {
                            continue;
                        }
                    }
                    wake.wait();
                }
            }
        }
        assert!(r.peek().is_none(), "an item nobody wrote");
        writer.join().unwrap();
    }

    #[test]
    fn loom_ypipe_watching_reader() {
        crate::explore("ypipe_watching_reader", || {
            writer_and_watching_reader(3, &[0, 1])
        });
    }

    #[test]
    fn loom_ypipe_flush_per_item() {
        crate::explore("ypipe_flush_per_item", || {
            writer_and_reader(3, &[0, 1, 2], None)
        });
    }

    #[test]
    fn loom_ypipe_batches_across_chunks() {
        // 5 items over three chunks: the first is recycled through the spare.
        crate::explore("ypipe_batches_across_chunks", || {
            writer_and_reader(5, &[1, 3], None)
        });
    }

    #[test]
    fn loom_ypipe_reader_leaves_items_behind() {
        // The last handle to go drops what was never read, once.
        crate::explore("ypipe_reader_leaves_items_behind", || {
            writer_and_reader(4, &[0, 2], Some(1))
        });
    }

    #[test]
    fn loom_ypipe_peek_then_read() {
        crate::explore("ypipe_peek_then_read", || {
            let (mut w, mut r) = channel::<u64>();
            let writer = thread::spawn(move || {
                w.write(7);
                w.write(8);
                w.flush();
                w.write(9);
                w.flush();
            });
            let mut seen = Vec::new();
            while seen.len() < 3 {
                let peeked = r.peek().copied();
                if let Some(v) = peeked {
                    assert_eq!(r.read(), Some(v));
                    seen.push(v);
                } else {
                    thread::yield_now();
                }
            }
            assert_eq!(seen, [7, 8, 9]);
            writer.join().unwrap();
        });
    }
}
