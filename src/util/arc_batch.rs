//! Handing out many references to one `Arc` from one thread, without an
//! atomic operation per reference.
//!
//! A connection's metadata is attached to every message it receives: the
//! I/O thread clones the `Arc` for each message and the receiving thread
//! drops it. Each clone and each drop is an atomic operation on the same
//! cache line from two cores, so the line crossed between them twice per
//! message (4% of a 64-byte tcp stream's receiving process sat on that one
//! increment). [`ArcBatch`] takes [`BATCH`] strong references at a time,
//! while the line is in its own cache, and hands them out one by one with
//! no atomic operation; the receiving thread's drops then find the line
//! where the last drop left it.

use std::sync::Arc;

/// References taken at once when the prepaid ones run out.
pub const BATCH: usize = 64;

/// One `Arc<T>` that one owner clones often (see the module doc). Besides
/// the `Arc` itself it holds one more strong reference, as the raw pointer
/// the prepaid ones are counted on, plus the prepaid ones not handed out
/// yet, and gives all of them back when dropped.
pub struct ArcBatch<T> {
    arc: Arc<T>,
    /// From `Arc::into_raw` of a clone of `arc`, valid while we live.
    raw: *const T,
    /// Strong references taken and not handed out yet.
    prepaid: usize,
}

// SAFETY: ArcBatch<T> is an Arc<T> plus further references to the same
// allocation; it is Send and Sync exactly when Arc<T> is.
unsafe impl<T: Send + Sync> Send for ArcBatch<T> {}
// SAFETY: as above; `&ArcBatch` only gives out `&Arc<T>` (see `arc`).
unsafe impl<T: Send + Sync> Sync for ArcBatch<T> {}

impl<T> ArcBatch<T> {
    /// Takes over `arc`.
    pub fn new(arc: Arc<T>) -> ArcBatch<T> {
        ArcBatch {
            raw: Arc::into_raw(Arc::clone(&arc)),
            arc,
            prepaid: 0,
        }
    }

    /// The `Arc`, to look at or clone the ordinary way.
    pub fn arc(&self) -> &Arc<T> {
        &self.arc
    }

    /// Another reference, as `Arc::clone` would give it.
    #[inline]
    pub fn clone_arc(&mut self) -> Arc<T> {
        if self.prepaid == 0 {
            for _ in 0..BATCH {
                // SAFETY: `raw` came from `Arc::into_raw` and the reference
                // it stands for keeps the count at least 1.
                unsafe { Arc::increment_strong_count(self.raw) };
            }
            self.prepaid = BATCH;
        }
        self.prepaid -= 1;
        // SAFETY: this consumes one of the prepaid strong references taken
        // above for this very pointer, so the counts stay balanced.
        unsafe { Arc::from_raw(self.raw) }
    }
}

impl<T> Drop for ArcBatch<T> {
    fn drop(&mut self) {
        for _ in 0..self.prepaid {
            // SAFETY: one prepaid strong reference each, taken in
            // `clone_arc` and never handed out.
            unsafe { Arc::decrement_strong_count(self.raw) };
        }
        // SAFETY: the reference `raw` stands for, from `Arc::into_raw` in
        // `new`.
        drop(unsafe { Arc::from_raw(self.raw) });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_is_counted_and_given_back() {
        let arc = Arc::new(7u32);
        let mut batch = ArcBatch::new(Arc::clone(&arc));
        assert_eq!(Arc::strong_count(&arc), 3);
        let refs: Vec<Arc<u32>> = (0..BATCH + 3).map(|_| batch.clone_arc()).collect();
        assert!(refs.iter().all(|r| Arc::ptr_eq(r, &arc) && **r == 7));
        // Ours, the batch's two, the ones handed out and the prepaid rest.
        assert_eq!(Arc::strong_count(&arc), 3 + BATCH * 2);
        assert!(Arc::ptr_eq(batch.arc(), &arc));
        drop(batch);
        assert_eq!(Arc::strong_count(&arc), 1 + refs.len());
        drop(refs);
        assert_eq!(Arc::strong_count(&arc), 1);
    }

    #[test]
    fn the_value_lives_as_long_as_any_reference() {
        let mut batch = ArcBatch::new(Arc::new(String::from("peer")));
        let r = batch.clone_arc();
        drop(batch);
        assert_eq!(r.as_str(), "peer");
        assert_eq!(Arc::strong_count(&r), 1);
    }
}
