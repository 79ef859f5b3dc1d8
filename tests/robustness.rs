//! Defects that a new user hit, each kept as a test that failed before its
//! fix: context termination races, signals, leaks per connection.
//!
//! A test that could hang runs its body on a helper thread and fails when
//! the body does not finish within a generous bound: a hang must be reported
//! as a failure, not stall the whole test run.

use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use zmqrs::{Context, SocketType};

/// Runs `body` on a thread; panics if it has not returned after `limit`.
fn within<T: Send + 'static>(
    limit: Duration,
    what: &str,
    body: impl FnOnce() -> T + Send + 'static,
) -> T {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let _ = tx.send(body());
    });
    match rx.recv_timeout(limit) {
        Ok(v) => v,
        Err(_) => panic!("{what}: still running after {limit:?} (hang)"),
    }
}

/// Defect 1 of the robustness issue: 50 pairs of threads race an inproc
/// connect and a bind on the same name, each closing its socket at once;
/// `zmq_ctx_term` must then return. It used to wait forever when the binder
/// was reaped between the connecter finding its endpoint and announcing the
/// new pipe to it.
#[test]
fn ctx_term_after_racing_inproc_connect_bind_close() {
    for round in 0..60 {
        let types = if round % 2 == 0 {
            (SocketType::SUB, SocketType::PUB)
        } else {
            (SocketType::PAIR, SocketType::PAIR)
        };
        within(
            Duration::from_secs(30),
            &format!("round {round}"),
            move || {
                let mut ctx = Context::new();
                let mut threads = Vec::new();
                for n in 0..50 {
                    let endpoint = format!("inproc://foo_{n}");
                    let c = ctx.clone();
                    let e = endpoint.clone();
                    threads.push(thread::spawn(move || {
                        let s = c.socket(types.0).unwrap();
                        s.connect(&e).unwrap();
                        drop(s);
                    }));
                    let c = ctx.clone();
                    threads.push(thread::spawn(move || {
                        let s = c.socket(types.1).unwrap();
                        s.bind(&endpoint).unwrap();
                        drop(s);
                    }));
                }
                for t in threads {
                    t.join().unwrap();
                }
                ctx.destroy().unwrap();
            },
        );
    }
}
