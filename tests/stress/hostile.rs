//! 1,000 hostile connections against a CURVE ROUTER while legitimate CURVE
//! clients keep being served; their latency beside the quiet case.
//!
//! The hostile clients: 1,000 that hold a connection open and 250 whose
//! connections the server drops at once, which come straight back:
//! * slow greeting (500): a valid CURVE greeting one byte every 200 ms;
//! * endless handshake (500): a valid CURVE greeting, then silence;
//! * garbage (125): random bytes instead of a greeting, more now and then;
//! * bad HELLO (125): a greeting and a well-formed HELLO whose box does not
//!   open (the server pays for the crypto and drops it).
//!
//! The holders are cut by the server after ZMQ_HANDSHAKE_IVL (30 s by
//! default) and come back too.
//!
//! The legitimate load: four CURVE DEALERs in round trips (100 bytes,
//! a round trip every 2 ms each), and a fifth thread that opens a new
//! CURVE connection every 20 ms for one round trip (handshake included).

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use zmqrs::{Context, CurveKeyPair, Socket, SocketType};

use crate::common::{self, percentile, us, Mode, Outcome, Rng};

/// Hostile clients holding a connection open, and churning ones.
const HOSTILE: usize = 1000;
const CHURNING: usize = 250;

/// The kind of hostile slot `i`: 1 slow greeting, 2 endless handshake,
/// 0 garbage, 3 bad HELLO.
fn kind_of(i: usize) -> usize {
    match i {
        i if i < HOSTILE / 2 => 1,
        i if i < HOSTILE => 2,
        i if i < HOSTILE + CHURNING / 2 => 0,
        _ => 3,
    }
}

fn curve_greeting() -> Vec<u8> {
    let mut g = vec![0u8; 64];
    g[0] = 0xFF;
    g[9] = 0x7F;
    g[10] = 3;
    g[11] = 0;
    g[12..17].copy_from_slice(b"CURVE");
    g
}

/// A HELLO command of the right shape whose box is noise.
fn bad_hello(rng: &mut Rng) -> Vec<u8> {
    let mut body = Vec::with_capacity(200);
    body.push(5);
    body.extend_from_slice(b"HELLO");
    body.extend_from_slice(&[1, 0]);
    body.extend_from_slice(&[0u8; 72]);
    let mut noise = [0u8; 120];
    rng.fill(&mut noise);
    body.extend_from_slice(&noise);
    let mut f = vec![0x04, body.len() as u8];
    f.extend_from_slice(&body);
    f
}

/// One hostile connection.
struct Hostile {
    kind: usize,
    stream: Option<TcpStream>,
    /// Bytes still to trickle (slow greeting).
    pending: Vec<u8>,
    next_action: Instant,
}

#[derive(Default)]
struct HostileStats {
    connects: AtomicU64,
    cut: AtomicU64,
    open: AtomicU64,
    /// Connections of the holding kinds open now.
    held: AtomicU64,
    failed_connects: AtomicU64,
    /// The most open at once, and the sum and number of samples of the
    /// open count (for its average).
    peak: AtomicU64,
    open_sum: AtomicU64,
    samples: AtomicU64,
    /// Connections cut, by kind.
    cut_by_kind: [AtomicU64; 4],
}

/// Keeps HOSTILE connections going until `stop`.
fn hostile_driver(addr: String, stop: Arc<AtomicBool>, stats: Arc<HostileStats>) {
    let mut rng = Rng::from_clock();
    let now = Instant::now();
    let mut conns: Vec<Hostile> = (0..HOSTILE + CHURNING)
        .map(|i| Hostile {
            kind: kind_of(i),
            stream: None,
            pending: Vec::new(),
            next_action: now,
        })
        .collect();
    let mut buf = [0u8; 4096];
    let Ok(target) = addr.parse::<std::net::SocketAddr>() else {
        return;
    };
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        let mut open = 0;
        // New connections per tick, at most: a burst beyond the server's
        // accept backlog would stall this thread in connect.
        let mut budget = 100;
        // A different slot goes first each tick, so that the connect budget
        // is shared (the quick-cut slots would take it all).
        conns.rotate_left(97);
        for c in conns.iter_mut() {
            if let Some(s) = c.stream.as_mut() {
                // Whatever the server says; 0 bytes: it closed on us.
                let closed = loop {
                    match s.read(&mut buf) {
                        Ok(0) => break true,
                        Ok(_) => continue,
                        Err(e) if e.kind() == ErrorKind::WouldBlock => break false,
                        Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                        Err(_) => break true,
                    }
                };
                if closed {
                    // Back at once (within a tick or two): the pressure stays.
                    c.stream = None;
                    stats.cut.fetch_add(1, Ordering::Relaxed);
                    stats.cut_by_kind[c.kind].fetch_add(1, Ordering::Relaxed);
                    c.next_action = now + Duration::from_millis(rng.range(0, 30));
                    continue;
                }
                open += 1;
                if now < c.next_action {
                    continue;
                }
                let wrote = match c.kind {
                    0 => {
                        let mut junk = [0u8; 64];
                        rng.fill(&mut junk);
                        c.next_action = now + Duration::from_secs(1);
                        s.write(&junk).map(drop)
                    }
                    1 if !c.pending.is_empty() => {
                        let b = c.pending.remove(0);
                        c.next_action = now + Duration::from_millis(200);
                        s.write(&[b]).map(drop)
                    }
                    _ => {
                        c.next_action = now + Duration::from_secs(3600);
                        Ok(())
                    }
                };
                if wrote.is_err() {
                    c.stream = None;
                    stats.cut.fetch_add(1, Ordering::Relaxed);
                    c.next_action = now + Duration::from_millis(rng.range(100, 500));
                }
            } else if now >= c.next_action && budget > 0 {
                budget -= 1;
                match TcpStream::connect_timeout(&target, Duration::from_millis(200)) {
                    Ok(mut s) => {
                        stats.connects.fetch_add(1, Ordering::Relaxed);
                        let _ = s.set_nodelay(true);
                        let first = match c.kind {
                            0 => {
                                let mut junk = vec![0u8; 64];
                                rng.fill(&mut junk);
                                // Not a ZMTP 3 signature.
                                junk[0] = 0x01;
                                junk
                            }
                            1 => {
                                c.pending = curve_greeting();
                                c.pending.extend_from_slice(&bad_hello(&mut rng));
                                Vec::new()
                            }
                            2 => curve_greeting(),
                            _ => {
                                let mut g = curve_greeting();
                                g.extend_from_slice(&bad_hello(&mut rng));
                                g
                            }
                        };
                        let _ = s.write_all(&first);
                        let _ = s.set_nonblocking(true);
                        c.stream = Some(s);
                        c.next_action = now + Duration::from_millis(200);
                        open += 1;
                    }
                    Err(_) => {
                        stats.failed_connects.fetch_add(1, Ordering::Relaxed);
                        c.next_action = now + Duration::from_millis(rng.range(100, 500));
                    }
                }
            }
        }
        let held = conns
            .iter()
            .filter(|c| c.stream.is_some() && (c.kind == 1 || c.kind == 2))
            .count() as u64;
        stats.held.store(held, Ordering::Relaxed);
        stats.open.store(open, Ordering::Relaxed);
        stats.peak.fetch_max(open, Ordering::Relaxed);
        stats.open_sum.fetch_add(open, Ordering::Relaxed);
        stats.samples.fetch_add(1, Ordering::Relaxed);
        thread::sleep(Duration::from_millis(20));
    }
}

/// The server: echoes what the CURVE ROUTER receives until `stop`.
fn serve(router: Socket, stop: Arc<AtomicBool>) {
    let _ = router.set_rcvtimeo(20);
    while !stop.load(Ordering::Relaxed) {
        if let Ok(parts) = router.recv_multipart(0) {
            let _ = router.send_multipart(&parts, zmqrs::DONTWAIT);
        }
    }
}

/// What the legitimate clients measured.
#[derive(Default)]
struct Legit {
    rtt: Vec<Duration>,
    fresh: Vec<Duration>,
    failures: u64,
}

fn client(ctx: &Context, server_key: &[u8], ep: &str) -> Option<Socket> {
    let keys = CurveKeyPair::new().ok()?;
    let s = ctx.socket(SocketType::DEALER).ok()?;
    s.set_curve_serverkey(server_key).ok()?;
    s.set_curve_publickey(&keys.public_key).ok()?;
    s.set_curve_secretkey(&keys.secret_key).ok()?;
    s.set_linger(0).ok()?;
    s.set_rcvtimeo(5_000).ok()?;
    s.connect(ep).ok()?;
    Some(s)
}

/// Runs the legitimate load for `d`.
fn legit_load(ctx: &Context, server_key: &[u8], ep: &str, d: Duration) -> Legit {
    let out = Arc::new(Mutex::new(Legit::default()));
    let end = Instant::now() + d;
    let mut threads = Vec::new();
    for t in 0..4 {
        let (ctx, key, ep, out) = (
            ctx.clone(),
            server_key.to_vec(),
            ep.to_string(),
            Arc::clone(&out),
        );
        threads.push(thread::spawn(move || {
            let mut rtt = Vec::new();
            let mut failures = 0;
            let Some(s) = client(&ctx, &key, &ep) else {
                out.lock().unwrap().failures += 1;
                return;
            };
            // The first round trip includes the handshake: not counted.
            let _ = s.send(&b"warm"[..], 0).and_then(|()| s.recv_bytes(0));
            let mut n = 0u64;
            while Instant::now() < end {
                let body = format!("{t}-{n}");
                let t0 = Instant::now();
                match s.send(body.as_bytes(), 0).and_then(|()| s.recv_bytes(0)) {
                    Ok(r) if r == body.as_bytes() => rtt.push(t0.elapsed()),
                    _ => failures += 1,
                }
                n += 1;
                thread::sleep(Duration::from_millis(2));
            }
            let mut o = out.lock().unwrap();
            o.rtt.extend(rtt);
            o.failures += failures;
        }));
    }
    {
        let (ctx, key, ep, out) = (
            ctx.clone(),
            server_key.to_vec(),
            ep.to_string(),
            Arc::clone(&out),
        );
        threads.push(thread::spawn(move || {
            let mut fresh = Vec::new();
            let mut failures = 0;
            while Instant::now() < end {
                let t0 = Instant::now();
                let ok = client(&ctx, &key, &ep).is_some_and(|s| {
                    s.send(&b"hello"[..], 0).is_ok() && s.recv_bytes(0).is_ok_and(|r| r == b"hello")
                });
                if ok {
                    fresh.push(t0.elapsed());
                } else {
                    failures += 1;
                }
                thread::sleep(Duration::from_millis(20));
            }
            let mut o = out.lock().unwrap();
            o.fresh.extend(fresh);
            o.failures += failures;
        }));
    }
    for t in threads {
        let _ = t.join();
    }
    let mut o = out.lock().unwrap();
    std::mem::take(&mut *o)
}

/// The scenario.
pub fn hostile(mode: Mode) -> Outcome {
    let mut o = Outcome::new("1000 hostile connections held + 250 churning vs a CURVE ROUTER");
    let t0 = Instant::now();
    let phase = Duration::from_secs(mode.pick(15, 60));
    let server_keys = CurveKeyPair::new().expect("keys");
    let server_ctx = Context::new();
    let router = server_ctx.socket(SocketType::ROUTER).expect("socket");
    router.set_curve_server(true).expect("curve");
    router
        .set_curve_secretkey(&server_keys.secret_key)
        .expect("curve");
    router.bind("tcp://127.0.0.1:*").expect("bind");
    let ep = router.last_endpoint().expect("endpoint");
    let addr = ep.trim_start_matches("tcp://").to_string();
    let stop_server = Arc::new(AtomicBool::new(false));
    let st = Arc::clone(&stop_server);
    let server = thread::spawn(move || serve(router, st));
    let ctx = Context::new();
    let key = server_keys.public_key.to_vec();

    let mut quiet = legit_load(&ctx, &key, &ep, phase);
    eprintln!(
        "hostile: quiet phase done: {} round trips, {} new connections",
        quiet.rtt.len(),
        quiet.fresh.len()
    );
    // The baseline, once the quiet phase's connections have closed (the
    // client context's threads have started by now).
    thread::sleep(Duration::from_secs(1));
    let fds0 = common::open_fds();

    let stop = Arc::new(AtomicBool::new(false));
    let stats = Arc::new(HostileStats::default());
    let driver = {
        let (stop, stats, addr) = (Arc::clone(&stop), Arc::clone(&stats), addr.clone());
        thread::spawn(move || hostile_driver(addr, stop, stats))
    };
    let ramp = Instant::now() + Duration::from_secs(30);
    while (stats.held.load(Ordering::Relaxed) as usize) < HOSTILE && Instant::now() < ramp {
        thread::sleep(Duration::from_millis(50));
    }
    eprintln!(
        "hostile: {} hostile connections open ({} held) after {:.1} s",
        stats.open.load(Ordering::Relaxed),
        stats.held.load(Ordering::Relaxed),
        t0.elapsed().as_secs_f64()
    );
    stats.peak.store(0, Ordering::Relaxed);
    stats.open_sum.store(0, Ordering::Relaxed);
    stats.samples.store(0, Ordering::Relaxed);
    let mut loud = legit_load(&ctx, &key, &ep, phase);
    let peak = stats.peak.load(Ordering::Relaxed);
    let avg_open =
        stats.open_sum.load(Ordering::Relaxed) / stats.samples.load(Ordering::Relaxed).max(1);
    stop.store(true, Ordering::Relaxed);
    let _ = driver.join();

    // The server must let go of every hostile connection.
    let deadline = Instant::now() + Duration::from_secs(20);
    while common::open_fds() > fds0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    let fds1 = common::open_fds();
    if fds1 > fds0 {
        o.leaks += 1;
        o.remark(format!("descriptors {fds0} -> {fds1}"));
    }
    o.errors += quiet.failures + loud.failures;
    if quiet.failures + loud.failures > 0 {
        o.remark(format!(
            "legitimate requests failed: {} quiet, {} under attack",
            quiet.failures, loud.failures
        ));
    }
    if (peak as usize) < HOSTILE {
        o.errors += 1;
        o.remark(format!(
            "at most {peak} hostile connections were up at once"
        ));
    }
    o.rounds = stats.connects.load(Ordering::Relaxed);
    o.sent = (quiet.rtt.len() + loud.rtt.len()) as u64;
    o.delivered = o.sent;
    o.latency = format!(
        "rtt p50/p99 quiet {}/{} us, attacked {}/{} us; new conn p50/p99 quiet {}/{} us, attacked {}/{} us",
        us(percentile(&mut quiet.rtt, 50.0)),
        us(percentile(&mut quiet.rtt, 99.0)),
        us(percentile(&mut loud.rtt, 50.0)),
        us(percentile(&mut loud.rtt, 99.0)),
        us(percentile(&mut quiet.fresh, 50.0)),
        us(percentile(&mut quiet.fresh, 99.0)),
        us(percentile(&mut loud.fresh, 50.0)),
        us(percentile(&mut loud.fresh, 99.0)),
    );
    o.remark(format!(
        "{} hostile connects ({} cut by the server (garbage {}, slow greeting {}, endless handshake {}, bad HELLO {}), {} refused), open at once under attack: peak {peak}, mean {avg_open}; {} legit round trips, {} legit new connections",
        stats.connects.load(Ordering::Relaxed),
        stats.cut.load(Ordering::Relaxed),
        stats.cut_by_kind[0].load(Ordering::Relaxed),
        stats.cut_by_kind[1].load(Ordering::Relaxed),
        stats.cut_by_kind[2].load(Ordering::Relaxed),
        stats.cut_by_kind[3].load(Ordering::Relaxed),
        stats.failed_connects.load(Ordering::Relaxed),
        o.sent,
        quiet.fresh.len() + loud.fresh.len()
    ));
    stop_server.store(true, Ordering::Relaxed);
    let _ = server.join();
    if !common::closed_in_time(ctx) || !common::closed_in_time(server_ctx) {
        o.hangs += 1;
        o.remark("zmq_ctx_term did not return within 30 s");
    }
    o.seconds = common::secs(t0);
    o
}
