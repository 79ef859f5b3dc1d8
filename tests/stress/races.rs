//! Races with `zmq_ctx_term`: defect 1's inproc connect/bind/close race
//! beside CPU hogs, and storms of socket creation and closing on many
//! threads while the context terminates.

use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use zmqrs::{Context, Error, SocketType};

use crate::common::{self, percentile, within, Mode, Outcome, Rng};

/// Busy-looping processes (this program with `--hog`), killed on drop.
pub struct Hogs(Vec<Child>);

impl Hogs {
    pub fn start(n: usize) -> Hogs {
        let exe = std::env::current_exe().expect("own path");
        Hogs(
            (0..n)
                .filter_map(|_| {
                    Command::new(&exe)
                        .arg("--hog")
                        .stdin(Stdio::null())
                        .spawn()
                        .ok()
                })
                .collect(),
        )
    }

    pub fn count(&self) -> usize {
        self.0.len()
    }
}

impl Drop for Hogs {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The body of a hog process: spin until killed (or the parent dies).
pub fn hog() -> ! {
    common::die_with_parent();
    let mut x = 0u64;
    loop {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
}

/// Defect 1 (tests/robustness.rs ctx_term_after_racing_inproc_connect_bind_close):
/// 50 pairs of threads race an inproc connect and a bind on the same name,
/// each closing its socket at once; then `zmq_ctx_term` must return.
fn race_round(round: u64) {
    let types = if round % 2 == 0 {
        (SocketType::SUB, SocketType::PUB)
    } else {
        (SocketType::PAIR, SocketType::PAIR)
    };
    let mut ctx = Context::new();
    let mut threads = Vec::new();
    for n in 0..50 {
        let endpoint = format!("inproc://foo_{n}");
        let c = ctx.clone();
        let e = endpoint.clone();
        threads.push(thread::spawn(move || {
            let s = c.socket(types.0).expect("socket");
            s.connect(&e).expect("connect");
            drop(s);
        }));
        let c = ctx.clone();
        threads.push(thread::spawn(move || {
            let s = c.socket(types.1).expect("socket");
            s.bind(&endpoint).expect("bind");
            drop(s);
        }));
    }
    for t in threads {
        t.join().expect("a racing thread panicked");
    }
    ctx.destroy().expect("zmq_ctx_term");
}

/// Rounds of defect 1's scenario beside two CPU hogs; a round that has not
/// finished within 30 s is a hang.
pub fn inproc_race(mode: Mode) -> Outcome {
    let mut o = Outcome::new("inproc connect/bind/close race + ctx_term, 2 CPU hogs");
    let rounds = mode.pick(200, 500);
    let t0 = Instant::now();
    let hogs = Hogs::start(2);
    if hogs.count() != 2 {
        o.errors += 1;
        o.remark("could not start the CPU hogs");
    }
    let fds0 = common::open_fds();
    let mut times = Vec::new();
    for round in 0..rounds {
        let start = Instant::now();
        match within(Duration::from_secs(30), move || race_round(round)) {
            None => {
                o.hangs += 1;
                eprintln!("inproc race: round {round} still running after 30 s (hang)");
                if o.hangs >= 3 {
                    o.remark("stopped after 3 hangs");
                    break;
                }
            }
            Some(Err(_)) => {
                o.errors += 1;
                eprintln!("inproc race: round {round} panicked");
            }
            Some(Ok(())) => times.push(start.elapsed()),
        }
        o.rounds += 1;
        if round % 50 == 49 {
            eprintln!("inproc race: {} rounds", round + 1);
        }
    }
    drop(hogs);
    if o.hangs == 0 {
        // Every context was terminated: nothing of theirs may stay open.
        let fds1 = common::open_fds();
        if fds1 > fds0 {
            o.leaks += 1;
            o.remark(format!("descriptors {fds0} -> {fds1}"));
        }
    }
    o.seconds = common::secs(t0);
    o.latency = format!(
        "round p50 {} ms, p99 {} ms",
        ms(percentile(&mut times, 50.0)),
        ms(percentile(&mut times, 99.0))
    );
    o
}

fn ms(d: Option<Duration>) -> String {
    d.map(|d| d.as_millis().to_string())
        .unwrap_or_else(|| "-".into())
}

const STORM_TYPES: [SocketType; 12] = [
    SocketType::PAIR,
    SocketType::PUB,
    SocketType::SUB,
    SocketType::REQ,
    SocketType::REP,
    SocketType::DEALER,
    SocketType::ROUTER,
    SocketType::PULL,
    SocketType::PUSH,
    SocketType::XPUB,
    SocketType::XSUB,
    SocketType::STREAM,
];

/// What one storm thread did.
#[derive(Default)]
struct StormStats {
    sockets: u64,
    eterm: bool,
}

/// One storm thread: create a socket, do one random thing with it, close
/// it; again, until the context is terminated (any ETERM).
fn storm_thread(ctx: Context, round: u64, me: u64, threads: u64, seed: u64) -> StormStats {
    let mut rng = Rng::new(seed);
    let mut st = StormStats::default();
    let name = |t: u64, i: u64| format!("inproc://storm-{round}-{t}-{i}");
    for i in 0.. {
        let ty = STORM_TYPES[rng.below(STORM_TYPES.len() as u64) as usize];
        let s = match ctx.socket(ty) {
            Ok(s) => s,
            Err(_) => {
                st.eterm = true;
                break;
            }
        };
        st.sockets += 1;
        let linger = rng.below(20) as i32;
        let r = s.set_linger(linger).and_then(|()| match rng.below(20) {
            0..=4 => s.bind(&name(me, i)),
            5..=9 => s.connect(&name(rng.below(threads), rng.below(i + 1))),
            10..=11 => s.bind("tcp://127.0.0.1:*"),
            12 => s.connect("tcp://127.0.0.1:1"),
            // A wildcard ipc bind removes its file and directory on close.
            13 => s.bind("ipc://*"),
            14 => {
                // Blocks until the context terminates (or a peer sends).
                s.set_rcvtimeo(if rng.below(2) == 0 { -1 } else { 5 })
                    .and_then(|()| s.bind(&name(me, i)))
                    .and_then(|()| s.recv_bytes(0).map(drop))
            }
            15..=16 => s
                .connect(&name(rng.below(threads), rng.below(i + 1)))
                .and_then(|()| s.send("x", zmqrs::DONTWAIT)),
            _ => Ok(()),
        });
        drop(s);
        if matches!(r, Err(Error::ETERM)) {
            st.eterm = true;
            break;
        }
    }
    st
}

/// One storm: `threads` threads churn sockets; after a random moment the
/// main thread terminates the context (sometimes after zmq_ctx_shutdown).
fn storm_round(round: u64, seed: u64) -> u64 {
    let mut rng = Rng::new(seed);
    let threads = rng.range(8, 24);
    let mut ctx = Context::new();
    if rng.below(3) == 0 {
        let _ = ctx.set_io_threads(2);
    }
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let c = ctx.clone();
            let s = rng.next();
            thread::spawn(move || storm_thread(c, round, t, threads, s))
        })
        .collect();
    thread::sleep(Duration::from_millis(rng.below(40)));
    if rng.below(4) == 0 {
        ctx.shutdown();
    }
    ctx.destroy().expect("zmq_ctx_term");
    let mut sockets = 0;
    for h in handles {
        let st = h.join().expect("a storm thread panicked");
        assert!(st.eterm, "a storm thread ended without ETERM");
        sockets += st.sockets;
    }
    sockets
}

/// Storms of socket creation and closing racing zmq_ctx_term; a round not
/// done within 30 s is a hang. Reports the sockets made.
pub fn ctx_term_storm(mode: Mode) -> Outcome {
    let mut o = Outcome::new("socket create/close storm on 8-24 threads racing ctx_term");
    let rounds = mode.pick(200, 2000);
    let t0 = Instant::now();
    let fds0 = common::open_fds();
    let sockets = Arc::new(AtomicU64::new(0));
    let mut rng = Rng::from_clock();
    let mut times = Vec::new();
    for round in 0..rounds {
        let seed = rng.next();
        let start = Instant::now();
        let counted = Arc::clone(&sockets);
        match within(Duration::from_secs(30), move || {
            counted.fetch_add(storm_round(round, seed), Ordering::Relaxed)
        }) {
            None => {
                o.hangs += 1;
                eprintln!(
                    "ctx_term storm: round {round} (seed {seed}) still running after 30 s (hang)"
                );
                if o.hangs >= 3 {
                    o.remark("stopped after 3 hangs");
                    break;
                }
            }
            Some(Err(_)) => {
                o.errors += 1;
                eprintln!("ctx_term storm: round {round} (seed {seed}) failed");
            }
            Some(Ok(_)) => times.push(start.elapsed()),
        }
        o.rounds += 1;
        if round % 50 == 49 {
            eprintln!("ctx_term storm: {} rounds", round + 1);
        }
    }
    if o.hangs == 0 {
        let fds1 = common::open_fds();
        if fds1 > fds0 {
            o.leaks += 1;
            o.remark(format!("descriptors {fds0} -> {fds1}"));
        }
    }
    o.seconds = common::secs(t0);
    o.remark(format!(
        "{} sockets made and closed",
        sockets.load(Ordering::Relaxed)
    ));
    o.latency = format!(
        "round p50 {} ms, p99 {} ms",
        ms(percentile(&mut times, 50.0)),
        ms(percentile(&mut times, 99.0))
    );
    o
}
