//! Findings of the fuzz targets (fuzz/) that live outside the sans-I/O
//! code, each replayed through the public API.

use std::sync::mpsc;
use std::time::Duration;

use zmqrs::{Context, SocketType};

/// Binds `inproc://race`, closes the binder, connects a second socket to
/// the same name, closes it and terminates the context.
fn connect_to_closing_binder() {
    let mut ctx = Context::new();
    let binder = ctx.socket(SocketType::XPUB).unwrap();
    binder.bind("inproc://race").unwrap();
    binder.set_linger(0).unwrap();
    binder.close().unwrap();
    let late = ctx.socket(SocketType::XSUB).unwrap();
    let _ = late.connect("inproc://race");
    late.set_linger(0).unwrap();
    late.close().unwrap();
    ctx.destroy().unwrap();
}

/// fuzz/artifacts-regressions/socket_ops/: zmq_ctx_term sometimes never
/// returned (about once in 1000-2000 tries) when a socket connected to an
/// inproc endpoint whose binder was being closed: the connecter found the
/// endpoint and only later, outside the endpoint lock, counted the bind it
/// was about to send. In between, the reaper could finish the binder, and
/// the bind landed in a mailbox nobody read. Fixed by counting under the
/// lock, as libzmq does (inproc::Registry::find); the same defect was
/// found by hand (tests/robustness.rs).
#[test]
fn inproc_connect_racing_binder_close_never_hangs_term() {
    for i in 0..5000 {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            connect_to_closing_binder();
            let _ = tx.send(());
        });
        assert!(
            rx.recv_timeout(Duration::from_secs(10)).is_ok(),
            "zmq_ctx_term hung at iteration {i}"
        );
    }
}
