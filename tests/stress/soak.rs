//! The soak: peers connect, exchange a message and disconnect, over and
//! over, for a fixed time; memory in use and descriptors must stay flat
//! (nothing may leak per cycle).
//!
//! A server thread runs an echoing ROUTER (tcp and ipc) and a REP (tcp).
//! The clients come from a second context: DEALERs over tcp and ipc, REQs,
//! DEALERs that hang up without waiting for the answer, and now and then
//! a whole new context of their own. After a warm-up (maps and free lists
//! reach their working size) the memory in use (glibc's mallinfo2, over
//! every arena), the resident size and the descriptors are measured with
//! the closing connections drained, at intervals and at the end. A leak
//! is: any descriptor more at the end than after the warm-up; memory in
//! use growing 2 bytes per cycle or more over the second half of the run
//! (the median over its intervals: a leak of one small allocation every
//! few cycles; what merely reaches its working size slowly, or by a step,
//! has all but stopped growing by then); the
//! resident size growing by a quarter over the second half.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use zmqrs::{Context, Socket, SocketType};

use crate::common::{self, Mode, Outcome};

/// Runs the echo server until `stop`.
fn serve(router: Socket, rep: Socket, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::Relaxed) {
        let mut items = [
            router.as_poll_item(zmqrs::POLLIN),
            rep.as_poll_item(zmqrs::POLLIN),
        ];
        if zmqrs::poll(&mut items, 20).is_err() {
            continue;
        }
        while let Ok(parts) = router.recv_multipart(zmqrs::DONTWAIT) {
            let _ = router.send_multipart(&parts, zmqrs::DONTWAIT);
        }
        while let Ok(m) = rep.recv_bytes(zmqrs::DONTWAIT) {
            let _ = rep.send(m, 0);
        }
    }
}

/// Endpoints of the server.
struct Server {
    router_tcp: String,
    router_ipc: String,
    rep_tcp: String,
}

/// One client visit; false if it was not served.
fn visit(ctx: &Context, srv: &Server, cycle: u64) -> bool {
    let body = vec![(cycle % 251) as u8; 100];
    let setup = |ty: SocketType, ep: &str| -> Option<Socket> {
        let s = ctx.socket(ty).ok()?;
        s.set_linger(0).ok()?;
        s.set_rcvtimeo(10_000).ok()?;
        s.connect(ep).ok()?;
        Some(s)
    };
    let round_trip = |s: &Socket| -> bool {
        s.send(&body[..], 0).is_ok() && s.recv_bytes(0).is_ok_and(|r| r == body)
    };
    match kind(cycle) {
        0 => setup(SocketType::DEALER, &srv.router_tcp).is_some_and(|s| round_trip(&s)),
        1 => setup(SocketType::DEALER, &srv.router_ipc).is_some_and(|s| round_trip(&s)),
        2 => setup(SocketType::REQ, &srv.rep_tcp).is_some_and(|s| round_trip(&s)),
        // Hangs up at once: the answer goes to a peer that is gone.
        3 => {
            setup(SocketType::DEALER, &srv.router_tcp).is_some_and(|s| s.send(&body[..], 0).is_ok())
        }
        4 => setup(SocketType::DEALER, &srv.router_tcp).is_some_and(|s| round_trip(&s)),
        _ => {
            // A context of its own, terminated at the end.
            let mut own = Context::new();
            let ok = {
                let s = own.socket(SocketType::DEALER).ok();
                s.is_some_and(|s| {
                    s.set_linger(0).is_ok()
                        && s.set_rcvtimeo(10_000).is_ok()
                        && s.connect(&srv.router_ipc).is_ok()
                        && round_trip(&s)
                })
            };
            own.destroy().is_ok() && ok
        }
    }
}

/// The kind of visit of cycle `cycle`: 0-4 in turn, and every 50th a
/// context of its own (5). `STRESS_SOAK_KINDS=0,2` (a diagnostic) keeps
/// only the kinds listed, in turn.
fn kind(cycle: u64) -> u64 {
    static KINDS: std::sync::OnceLock<Option<Vec<u64>>> = std::sync::OnceLock::new();
    let kinds = KINDS.get_or_init(|| {
        std::env::var("STRESS_SOAK_KINDS")
            .ok()
            .map(|k| k.split(',').filter_map(|x| x.parse().ok()).collect())
    });
    match kinds {
        Some(list) if !list.is_empty() => list[(cycle % list.len() as u64) as usize],
        _ if cycle % 50 == 49 => 5,
        _ => cycle % 5,
    }
}

/// Waits until the connections still closing have gone: the descriptor
/// count at or under `target` (or, with None, unchanged) for 100 ms.
fn drained(target: Option<usize>) -> usize {
    // Closing connections go in milliseconds; 10 s is for a busy machine.
    // (A descriptor that leaked never settles: each sample then costs the
    // full wait, which the scenario's time limit allows for.)
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut quiet = 0;
    let mut last = common::open_fds();
    while quiet < 20 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
        let n = common::open_fds();
        let settled = match target {
            Some(t) => n <= t,
            None => n == last,
        };
        quiet = if settled { quiet + 1 } else { 0 };
        last = n;
    }
    if quiet < 20 {
        eprintln!(
            "soak: descriptors did not settle (target {target:?}, now {last}):\n{}",
            common::describe_fds()
        );
    }
    last
}

/// A measurement: memory in use, resident KiB, descriptors.
#[derive(Clone, Copy, Debug)]
struct Sample {
    heap: u64,
    rss: u64,
    fds: usize,
}

fn sample(target: Option<usize>) -> Sample {
    let fds = drained(target);
    Sample {
        heap: common::heap_in_use(),
        rss: common::rss_kib(),
        fds,
    }
}

/// The soak.
pub fn soak(mode: Mode) -> Outcome {
    let total = Duration::from_secs(mode.pick(60, 600));
    let warm = Duration::from_secs(mode.pick(10, 60));
    let mut o = Outcome::new(&format!(
        "soak: connect/disconnect churn for {} s",
        total.as_secs()
    ));
    let t0 = Instant::now();
    let server_ctx = Context::new();
    let router = server_ctx.socket(SocketType::ROUTER).expect("socket");
    let rep = server_ctx.socket(SocketType::REP).expect("socket");
    let ipc = format!("ipc:///tmp/zmqrs-soak-{}.sock", std::process::id());
    router.bind("tcp://127.0.0.1:*").expect("bind");
    let router_tcp = router.last_endpoint().expect("endpoint");
    router.bind(&ipc).expect("bind");
    rep.bind("tcp://127.0.0.1:*").expect("bind");
    let srv = Server {
        router_tcp,
        router_ipc: ipc.clone(),
        rep_tcp: rep.last_endpoint().expect("endpoint"),
    };
    let stop = Arc::new(AtomicBool::new(false));
    let st = Arc::clone(&stop);
    let server = thread::spawn(move || serve(router, rep, st));
    let ctx = Context::new();

    let mut cycles = 0u64;
    let mut unserved = 0u64;
    let run = |until: Instant, cycles: &mut u64, unserved: &mut u64, fds_cap: usize| {
        while Instant::now() < until {
            // Closing finishes in the background; do not let a backlog of
            // closing connections build up when the machine is busy.
            while common::open_fds() > fds_cap {
                thread::sleep(Duration::from_micros(200));
            }
            if !visit(&ctx, &srv, *cycles) {
                *unserved += 1;
            }
            *cycles += 1;
        }
    };
    // Warm-up: maps and free lists reach their working size.
    run(t0 + warm, &mut cycles, &mut unserved, usize::MAX);
    let base = sample(None);
    let cap = base.fds + 64;
    let warm_cycles = cycles;
    eprintln!(
        "soak: after warm-up ({warm_cycles} cycles): heap {} B, rss {} KiB, fds {}",
        base.heap, base.rss, base.fds
    );
    let steps = 10;
    let step = (total.saturating_sub(warm)) / steps;
    let mut samples = Vec::new();
    // Cycles done at each sample, the warm-up's end first.
    let mut at = vec![warm_cycles];
    for i in 1..=steps {
        run(t0 + warm + step * i, &mut cycles, &mut unserved, cap);
        let s = sample(Some(base.fds));
        at.push(cycles);
        eprintln!(
            "soak: {:>4} s, {} cycles: heap {} B, rss {} KiB, fds {}",
            t0.elapsed().as_secs(),
            cycles,
            s.heap,
            s.rss,
            s.fds
        );
        samples.push(s);
    }
    let end = *samples.last().unwrap_or(&base);
    let measured = cycles - warm_cycles;
    let per_cycle = end.heap.saturating_sub(base.heap) as f64 / measured.max(1) as f64;
    // The verdict on memory comes from the second half of the run: caches,
    // maps and the allocator's free lists keep growing for a while after
    // the warm-up (ever more slowly, up to their working size, and by steps
    // when a map doubles after a burst of closing connections on a busy
    // machine), while a leak grows as fast in the second half as in the
    // first, in every interval. So: the median growth per cycle over the
    // intervals of the second half.
    let half = steps as usize / 2;
    let mid = samples.get(half - 1).copied().unwrap_or(base);
    let mut rates: Vec<f64> = (half..samples.len())
        .map(|i| {
            let grew = samples[i].heap as f64 - samples[i - 1].heap as f64;
            grew / (at[i + 1] - at[i]).max(1) as f64
        })
        .collect();
    rates.sort_by(f64::total_cmp);
    let late = rates.get(rates.len() / 2).copied().unwrap_or(0.0);
    let rss_max = samples.iter().map(|s| s.rss).max().unwrap_or(base.rss);
    if late >= 2.0 {
        o.leaks += 1;
        o.remark(format!(
            "memory in use grew {late:.2} B/cycle (median) in the second half"
        ));
    }
    // Resident size moves by pages and never gives back a high-water mark;
    // only a gross growth in the second half counts.
    if end.rss > mid.rss + mid.rss / 4 {
        o.leaks += 1;
        o.remark(format!(
            "resident size grew {} -> {} KiB in the second half",
            mid.rss, end.rss
        ));
    }
    if end.fds > base.fds {
        o.leaks += 1;
        o.remark(format!("descriptors {} -> {}", base.fds, end.fds));
    }
    if unserved > 0 {
        o.errors += unserved;
        o.remark(format!("{unserved} visits not served"));
    }
    o.rounds = cycles;
    o.remark(format!(
        "heap {} -> {} B ({per_cycle:.3} B/cycle over {measured}, median {late:.3} B/cycle over the second half), rss {} -> {} KiB (max {rss_max}), fds {} -> {}",
        base.heap, end.heap, base.rss, end.rss, base.fds, end.fds
    ));
    o.latency = format!("{:.0} cycles/s", cycles as f64 / t0.elapsed().as_secs_f64());
    stop.store(true, Ordering::Relaxed);
    let _ = server.join();
    if !common::closed_in_time(ctx) || !common::closed_in_time(server_ctx) {
        o.hangs += 1;
        o.remark("zmq_ctx_term did not return within 30 s");
    }
    let _ = std::fs::remove_file(ipc.trim_start_matches("ipc://"));
    o.seconds = common::secs(t0);
    o
}
