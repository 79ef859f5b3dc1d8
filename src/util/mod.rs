//! Small self-contained helpers: Z85, the atomic counter, the stopwatch.

pub mod arc_batch;
pub mod c_parse;
pub mod ip_mask;
pub mod sync;

pub use crate::sys::with_signals_blocked;
pub mod z85;

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::sync::atomic::{AtomicU64, Ordering};

/// A random 32-bit number for ids and sequence starts (libzmq's
/// generate_random); not for cryptography.
pub fn random_u32() -> u32 {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if let Ok(t) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(t.as_nanos());
    }
    h.finish() as u32
}

/// Ticks of a cheap monotonic-enough clock, for throttling only: the CPU's
/// time-stamp counter where there is one (a few cycles to read, unlike a
/// system call), nanoseconds elsewhere. May jump backwards when a thread
/// migrates between cores; callers must tolerate that.
#[inline]
pub fn ticks() -> u64 {
    #[cfg(target_arch = "x86_64")]
    {
        // SAFETY: RDTSC exists on every x86_64 CPU and only reads a counter.
        unsafe { core::arch::x86_64::_rdtsc() }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        use std::sync::OnceLock;
        use std::time::Instant;
        static START: OnceLock<Instant> = OnceLock::new();
        START.get_or_init(Instant::now).elapsed().as_nanos() as u64
    }
}

/// About a millisecond in [`ticks`] (libzmq's max_command_delay: 3 M cycles
/// of a 3 GHz counter).
#[cfg(target_arch = "x86_64")]
pub const TICKS_PER_MS: u64 = 3_000_000;
/// About a millisecond in [`ticks`].
#[cfg(not(target_arch = "x86_64"))]
pub const TICKS_PER_MS: u64 = 1_000_000;
