//! Recycled buffers for large bodies, shared by every thread of the process.
//!
//! A large body is usually allocated by one thread and freed by another (the
//! sender's `zmq_msg_init_size`, the receiver's `zmq_msg_close`; a decoder's
//! receive buffer, the I/O thread that wrote it out). Without recycling each
//! one costs a trip through the allocator's arena lock and, because glibc
//! serves large blocks from its heap once its mmap threshold has adapted, a
//! memset of the whole body for a zeroed one: at 1 MiB that memset was half of
//! inproc_thr's profile, and the decoder's growth by doubling (it cannot trust
//! a length field) cost tcp_lat five reads and re-copies. A freed body of at
//! least [`MIN`] bytes is kept here instead, and the next body of about its
//! size reuses it as it is.
//!
//! A recycled buffer holds the bytes of the body it last carried: always
//! initialised memory, so Rust code may read it, but not zeroed. Only callers
//! that promise to overwrite it, or whose C callers were promised unspecified
//! bytes (`zmq_msg_init_size`, as malloc'ed memory in libzmq), take one
//! without clearing it.
//!
//! The pool is bounded ([`MAX_ENTRIES`] buffers, [`MAX_BYTES`] of capacity),
//! so it never holds more than a few large bodies beyond what the program
//! itself had allocated. Its lock is only ever tried, never waited for: a
//! contended pool is skipped (the allocator takes over), and a child forked
//! while another thread held it simply runs without recycling.

use std::sync::{Mutex, TryLockError};

/// Bodies smaller than this go back to the allocator: below it malloc is
/// cheap and zeroing is short.
pub const MIN: usize = 32 * 1024;
/// At most this many buffers are kept.
const MAX_ENTRIES: usize = 64;
/// At most this much capacity is kept, in bytes.
const MAX_BYTES: usize = 8 << 20;
/// How often a contended lock is retried before the pool is skipped.
const TRIES: usize = 64;

struct Pool {
    bufs: Vec<Vec<u8>>,
    bytes: usize,
}

static POOL: Mutex<Pool> = Mutex::new(Pool {
    bufs: Vec::new(),
    bytes: 0,
});

fn with_pool<R>(f: impl FnOnce(&mut Pool) -> R) -> Option<R> {
    for _ in 0..TRIES {
        match POOL.try_lock() {
            Ok(mut p) => return Some(f(&mut p)),
            // A panic inside the pool's own short sections cannot leave it
            // inconsistent: every section is a Vec push, remove or scan.
            Err(TryLockError::Poisoned(e)) => return Some(f(&mut e.into_inner())),
            Err(TryLockError::WouldBlock) => std::hint::spin_loop(),
        }
    }
    None
}

/// Whether `buf` can carry a body of `len` bytes without wasting more than
/// a quarter of `len`.
fn fits(buf: &Vec<u8>, len: usize) -> bool {
    buf.len() >= len && buf.capacity() - len <= len / 4
}

/// A recycled buffer of exactly `len` initialised bytes (their contents are
/// an earlier body's), if the pool has one whose capacity wastes at most a
/// quarter of `len`.
pub fn take(len: usize) -> Option<Vec<u8>> {
    if len < MIN {
        return None;
    }
    let mut buf = with_pool(|p| {
        let i = p.bufs.iter().position(|b| fits(b, len))?;
        let b = p.bufs.swap_remove(i);
        p.bytes -= b.capacity();
        Some(b)
    })??;
    buf.truncate(len);
    Some(buf)
}

/// Keeps `buf` for a later body if it is large enough and there is room;
/// frees it otherwise. Its first `len()` bytes must be initialised (a Vec's
/// own promise).
pub fn give(buf: Vec<u8>) {
    if buf.len() < MIN || buf.capacity() > MAX_BYTES {
        return;
    }
    // Dropped outside the lock when there is no room, or when the lock is busy.
    let _rejected = with_pool(move |p| {
        if p.bufs.len() >= MAX_ENTRIES || p.bytes + buf.capacity() > MAX_BYTES {
            return Some(buf);
        }
        p.bytes += buf.capacity();
        p.bufs.push(buf);
        None
    });
}

/// Frees every kept buffer, for tests that need room in the pool while
/// other tests fill it.
#[cfg(test)]
pub fn clear() {
    let _ = with_pool(|p| {
        p.bufs.clear();
        p.bytes = 0;
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    // The pool is process-wide and other tests allocate large bodies too, so
    // these tests use sizes nobody else does and look for their own buffers.

    #[test]
    fn a_given_buffer_comes_back_with_its_bytes() {
        let len = MIN + 4093;
        for _ in 0..100 {
            clear();
            give(vec![7u8; len]);
            if let Some(b) = take(len - 100) {
                assert_eq!(b.len(), len - 100);
                assert!(b.iter().all(|&x| x == 7));
                return;
            }
        }
        panic!("never recycled");
    }

    #[test]
    fn small_oversized_or_too_wasteful_buffers_are_not_kept() {
        give(vec![1u8; MIN - 1]);
        assert!(take(MIN - 1).is_none());
        let huge = MAX_BYTES + 1;
        give(vec![1u8; huge]);
        assert!(take(huge).is_none());
        let len = 3 * MIN;
        let buf = vec![1u8; len];
        assert!(fits(&buf, len));
        assert!(fits(&buf, len * 5 / 6));
        // Far smaller than the buffer: it would waste more than a quarter.
        assert!(!fits(&buf, 2 * MIN));
        assert!(!fits(&buf, len + 1));
    }

    #[test]
    fn the_pool_keeps_at_most_its_limit() {
        let len = MIN + 12_289;
        for _ in 0..MAX_ENTRIES + 4 {
            give(vec![2u8; len]);
        }
        let mut got = 0;
        while take(len).is_some() {
            got += 1;
        }
        assert!(got <= MAX_ENTRIES, "{got}");
        let held = with_pool(|p| (p.bufs.len(), p.bytes)).unwrap();
        assert!(held.0 <= MAX_ENTRIES && held.1 <= MAX_BYTES, "{held:?}");
    }
}
