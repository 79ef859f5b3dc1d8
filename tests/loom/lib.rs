//! Loom models of zmqrs's lock-free pieces: the ypipe (a writer and a
//! reader, the asleep/wake-up rule, chunk recycling), the mailbox's
//! ARMED/SIGNALLED/QUIET word (senders and the owner), and the ownership of
//! a connection's output between its session and a socket's thread writing
//! directly (`src/io/direct_state.rs`).
//!
//! The library's own files are compiled here as they are; `--cfg loom`
//! makes `src/sync_prims.rs` hand them loom's atomics and cells and a model
//! of crossbeam's channel, and `sys.rs` below stands in for the eventfd. The
//! models themselves are `mod loom_models` in src/pipe/ypipe.rs,
//! src/mailbox.rs and src/io/direct_state.rs.
//!
//! `RUSTFLAGS="--cfg loom" cargo test --release` here, or
//! `tests/sanitize/run loom` (which bounds the preemptions and reports how
//! many interleavings each model explored).

#[cfg(not(loom))]
compile_error!("build with RUSTFLAGS=\"--cfg loom\" (see tests/sanitize/run loom)");

// The library's files, as they are; what the models do not use is dead here.
#[allow(dead_code)]
#[path = "../../src/mailbox.rs"]
mod mailbox;
#[allow(dead_code)]
#[path = "../../src/sync_prims.rs"]
mod sync_prims;
mod sys;
#[allow(dead_code)]
#[path = "../../src/pipe/ypipe.rs"]
mod ypipe;
#[allow(dead_code)]
#[path = "../../src/io/direct_state.rs"]
mod direct_state;

/// Runs a model with loom's defaults (LOOM_MAX_PREEMPTIONS and the other
/// LOOM_* variables apply) and prints how many interleavings it explored.
#[cfg(test)]
pub(crate) fn explore(name: &str, f: impl Fn() + Sync + Send + 'static) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let runs = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&runs);
    loom::model(move || {
        counter.fetch_add(1, Ordering::Relaxed);
        f();
    });
    println!(
        "loom model {name}: {} interleavings explored",
        runs.load(Ordering::Relaxed)
    );
}
