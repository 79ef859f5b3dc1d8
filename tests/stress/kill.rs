//! Peers killed with SIGKILL and restarted under load, with every message
//! accounted for.
//!
//! The test process binds the receiving socket (PULL, SUB, or an echoing
//! ROUTER); two peers, each a child process (this program with `--peer`),
//! connect and send numbered messages as fast as a rate limit allows: a
//! steady one that runs to the end, and a victim killed with SIGKILL at
//! random moments and started again (a new generation each time). The last
//! generation of the victim ends by itself.
//!
//! Each peer keeps its counters in shared memory, which its parent still
//! reads after the kill: how many messages its application was about to
//! send and had sent, how many replies it received. Each message carries
//! (peer, generation, sequence number). The accounting, per generation:
//!
//! * delivered: received by the other side's application, in order;
//! * lost in the killed peer: a killed generation's tail, sent by its
//!   application (or, for replies, sent to it) but not delivered: what sat
//!   in the killed connection's buffers;
//! * unaccounted: anything else, which is a bug: a gap or a duplicate in a
//!   sequence, a reordering, a loss on a connection that was not killed,
//!   a message delivered that was never sent.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use zmqrs::{Context, Error, Socket, SocketType};

use crate::common::{self, slot, Mode, Outcome, Rng, Shared};

/// The header of every message: peer, generation, sequence number.
const HEADER: usize = 13;

fn encode(peer: u8, gen: u32, seq: u64, len: usize) -> Vec<u8> {
    let mut b = vec![0u8; len.max(HEADER)];
    b[0] = peer;
    b[1..5].copy_from_slice(&gen.to_le_bytes());
    b[5..13].copy_from_slice(&seq.to_le_bytes());
    // The rest is a pattern the receiver can check.
    for (i, x) in b[HEADER..].iter_mut().enumerate() {
        *x = (seq as usize).wrapping_add(i) as u8;
    }
    b
}

/// (peer, generation, sequence) of a message whose body is intact.
fn decode(b: &[u8]) -> Option<(u8, u32, u64)> {
    let head = b.get(..HEADER)?;
    let gen = u32::from_le_bytes(head[1..5].try_into().ok()?);
    let seq = u64::from_le_bytes(head[5..13].try_into().ok()?);
    let intact = b[HEADER..]
        .iter()
        .enumerate()
        .all(|(i, x)| *x == (seq as usize).wrapping_add(i) as u8);
    intact.then_some((head[0], gen, seq))
}

/// A message length: mostly small, now and then large.
fn length(rng: &mut Rng) -> usize {
    if rng.below(100) == 0 {
        rng.range(8_000, 70_000) as usize
    } else {
        rng.range(HEADER as u64, 300) as usize
    }
}

/// Messages per second a peer sends at most.
const RATE: u64 = 20_000;

/// Keeps a loop at or under `RATE` iterations per second.
struct Pacer {
    t0: Instant,
    n: u64,
}

impl Pacer {
    fn new() -> Pacer {
        Pacer {
            t0: Instant::now(),
            n: 0,
        }
    }

    fn tick(&mut self) {
        self.n += 1;
        if self.n % 64 == 0 {
            let due = Duration::from_micros(self.n * 1_000_000 / RATE);
            if let Some(ahead) = due.checked_sub(self.t0.elapsed()) {
                thread::sleep(ahead);
            }
        }
    }
}

/// A peer process: `--peer <pattern> <endpoint> <peer> <gen> <shm> <run_ms>`.
pub fn peer_main(args: &[String]) -> ! {
    common::die_with_parent();
    let [pattern, endpoint, peer, gen, shm, run_ms] = args else {
        eprintln!("peer: bad arguments {args:?}");
        std::process::exit(2);
    };
    let peer: u8 = peer.parse().unwrap_or(0);
    let gen: u32 = gen.parse().unwrap_or(0);
    let run = Duration::from_millis(run_ms.parse().unwrap_or(1000));
    let shm = Shared::open(shm).unwrap_or_else(|e| {
        eprintln!("peer: {e}");
        std::process::exit(2)
    });
    let ctx = Context::new();
    let r = match pattern.as_str() {
        "push" => sender(&ctx, SocketType::PUSH, endpoint, peer, gen, &shm, run),
        "pub" => sender(&ctx, SocketType::XPUB, endpoint, peer, gen, &shm, run),
        "dealer" => dealer(&ctx, endpoint, peer, gen, &shm, run),
        other => {
            eprintln!("peer: unknown pattern {other}");
            std::process::exit(2)
        }
    };
    if let Err(e) = r {
        eprintln!("peer {peer} gen {gen}: {e}");
        std::process::exit(1);
    }
    // Dropping the context waits for linger (-1: everything is delivered).
    drop(ctx);
    shm.set(slot::DONE, 1);
    std::process::exit(0)
}

/// PUSH or XPUB: sends numbered messages until `run` is over. An XPUB
/// waits for the subscriber's subscription first (nothing sent before it
/// would pass the filter).
fn sender(
    ctx: &Context,
    ty: SocketType,
    endpoint: &str,
    peer: u8,
    gen: u32,
    shm: &Shared,
    run: Duration,
) -> zmqrs::Result<()> {
    let s = ctx.socket(ty)?;
    if ty == SocketType::XPUB {
        // No limit: a publisher drops at HWM by design, which is not what
        // is measured here. The rate limit keeps the queues short.
        s.set_sndhwm(0)?;
    }
    s.set_sndtimeo(100)?;
    s.connect(endpoint)?;
    let t0 = Instant::now();
    if ty == SocketType::XPUB {
        s.set_rcvtimeo(10_000)?;
        let sub = s.recv_bytes(0)?;
        if sub.first() != Some(&1) {
            return Err(Error::EPROTO);
        }
    }
    shm.set(slot::READY, 1);
    let mut rng = Rng::new(u64::from(gen) << 8 | u64::from(peer) | 1);
    let mut pacer = Pacer::new();
    let mut seq = 0u64;
    while t0.elapsed() < run {
        let body = encode(peer, gen, seq, length(&mut rng));
        shm.set(slot::ATTEMPT, seq + 1);
        match s.send(body, 0) {
            Ok(()) => {
                seq += 1;
                shm.set(slot::SENT, seq);
                pacer.tick();
            }
            // At HWM: try the same message again.
            Err(Error::EAGAIN) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Requests in flight per DEALER: well under the HWM, so that the ROUTER
/// never finds a peer's queue full.
const WINDOW: u64 = 64;

/// DEALER: numbered requests with up to WINDOW unanswered; checks that the
/// echoes come back in order. At the end, waits for the last replies.
fn dealer(
    ctx: &Context,
    endpoint: &str,
    peer: u8,
    gen: u32,
    shm: &Shared,
    run: Duration,
) -> zmqrs::Result<()> {
    let s = ctx.socket(SocketType::DEALER)?;
    s.connect(endpoint)?;
    shm.set(slot::READY, 1);
    let t0 = Instant::now();
    let mut rng = Rng::new(u64::from(gen) << 8 | u64::from(peer) | 1);
    let mut pacer = Pacer::new();
    let (mut sent, mut replies) = (0u64, 0u64);
    loop {
        let sending = t0.elapsed() < run;
        if sending && sent - replies < WINDOW {
            let body = encode(peer, gen, sent, length(&mut rng));
            shm.set(slot::ATTEMPT, sent + 1);
            s.send(body, 0)?;
            sent += 1;
            shm.set(slot::SENT, sent);
            pacer.tick();
            continue;
        }
        if !sending && replies == sent {
            return Ok(());
        }
        if !sending && t0.elapsed() > run + Duration::from_secs(20) {
            // Replies missing: the parent counts them.
            return Ok(());
        }
        s.set_rcvtimeo(if sending { 5 } else { 100 })?;
        match s.recv_bytes(0) {
            Ok(b) => {
                if decode(&b) != Some((peer, gen, replies)) {
                    shm.add(slot::DISORDER, 1);
                }
                replies += 1;
                shm.set(slot::RECEIVED, replies);
            }
            Err(Error::EAGAIN) => {}
            Err(e) => return Err(e),
        }
    }
}

/// What the test process saw of one peer generation.
struct Generation {
    shm: Shared,
    child: Option<Child>,
    killed: bool,
    /// Next sequence number expected.
    next: u64,
    received: u64,
    gaps: u64,
    disorder: u64,
    replies_sent: u64,
    replies_failed: u64,
}

fn spawn_peer(
    pattern: &str,
    endpoint: &str,
    peer: u8,
    gen: u32,
    run: Duration,
) -> std::io::Result<Generation> {
    let shm = Shared::create(&format!("{pattern}-{peer}-{gen}"))?;
    let child = Command::new(std::env::current_exe()?)
        .arg("--peer")
        .args([
            pattern,
            endpoint,
            &peer.to_string(),
            &gen.to_string(),
            shm.path(),
            &run.as_millis().to_string(),
        ])
        .stdin(Stdio::null())
        .spawn()?;
    Ok(Generation {
        shm,
        child: Some(child),
        killed: false,
        next: 0,
        received: 0,
        gaps: 0,
        disorder: 0,
        replies_sent: 0,
        replies_failed: 0,
    })
}

/// The receiving side's socket for `pattern`.
fn receiver(ctx: &Context, pattern: &str) -> zmqrs::Result<Socket> {
    let s = match pattern {
        "push" => ctx.socket(SocketType::PULL)?,
        "pub" => {
            let s = ctx.socket(SocketType::SUB)?;
            s.set_rcvhwm(0)?;
            s.set_subscribe(b"")?;
            s
        }
        _ => {
            let s = ctx.socket(SocketType::ROUTER)?;
            s.set_router_mandatory(true)?;
            s
        }
    };
    s.set_linger(0)?;
    Ok(s)
}

/// Takes what has arrived; for a ROUTER, echoes each request.
fn drain(s: &Socket, router: bool, gens: &mut HashMap<(u8, u32), Generation>, stray: &mut u64) {
    loop {
        let parts = match s.recv_multipart(zmqrs::DONTWAIT) {
            Ok(p) => p,
            Err(_) => return,
        };
        let body = if router { parts.get(1) } else { parts.first() };
        let Some((peer, gen, seq)) = body.and_then(|b| decode(b)) else {
            *stray += 1;
            continue;
        };
        let Some(g) = gens.get_mut(&(peer, gen)) else {
            *stray += 1;
            continue;
        };
        if seq == g.next {
            g.next += 1;
            g.received += 1;
        } else if seq > g.next {
            g.gaps += seq - g.next;
            g.next = seq + 1;
            g.received += 1;
        } else {
            g.disorder += 1;
        }
        if router {
            match s.send_multipart(&parts, zmqrs::DONTWAIT) {
                Ok(()) => g.replies_sent += 1,
                Err(_) => g.replies_failed += 1,
            }
        }
    }
}

/// One pattern over one transport.
pub fn kill_restart(mode: Mode, pattern: &str, transport: &str) -> Outcome {
    let label = match pattern {
        "push" => "PUSH->PULL",
        "pub" => "PUB->SUB",
        _ => "DEALER<->ROUTER",
    };
    let mut o = Outcome::new(&format!("SIGKILL+restart {label} over {transport}"));
    let t0 = Instant::now();
    let run = Duration::from_secs(mode.pick(10, 60));
    let ctx = Context::new();
    let s = match receiver(&ctx, pattern) {
        Ok(s) => s,
        Err(e) => {
            o.errors += 1;
            o.remark(format!("socket: {e}"));
            return o;
        }
    };
    let ipc_path = format!("/tmp/zmqrs-stress-{}-{pattern}.sock", std::process::id());
    let bind = match transport {
        "tcp" => "tcp://127.0.0.1:*".to_string(),
        _ => format!("ipc://{ipc_path}"),
    };
    if let Err(e) = s.bind(&bind) {
        o.errors += 1;
        o.remark(format!("bind: {e}"));
        return o;
    }
    let endpoint = s.last_endpoint().unwrap_or_default();
    let router = pattern == "dealer";
    let fds0 = common::open_fds();
    let mut rng = Rng::from_clock();
    let mut gens: HashMap<(u8, u32), Generation> = HashMap::new();
    let mut stray = 0u64;
    let mut failed_spawns = 0u64;
    // Peer 0 is steady; peer 1 is the victim.
    match spawn_peer(pattern, &endpoint, 0, 0, run) {
        Ok(g) => {
            gens.insert((0, 0), g);
        }
        Err(_) => failed_spawns += 1,
    }
    let end = Instant::now() + run;
    let mut victim_gen = 0u32;
    let spawn_victim = |gen: u32, gens: &mut HashMap<(u8, u32), Generation>| {
        let left = end.saturating_duration_since(Instant::now());
        match spawn_peer(pattern, &endpoint, 1, gen, left) {
            Ok(g) => {
                gens.insert((1, gen), g);
                true
            }
            Err(e) => {
                eprintln!("kill: cannot start a peer: {e}");
                false
            }
        }
    };
    if !spawn_victim(victim_gen, &mut gens) {
        failed_spawns += 1;
    }
    let mut next_kill = Instant::now() + Duration::from_millis(rng.range(100, 700));
    let mut kills = 0u64;
    while Instant::now() < end {
        let _ = s.poll(zmqrs::POLLIN, 5);
        drain(&s, router, &mut gens, &mut stray);
        let now = Instant::now();
        // No kill in the last second: the last generation ends by itself.
        if now >= next_kill && now + Duration::from_secs(1) < end {
            if let Some(g) = gens.get_mut(&(1, victim_gen)) {
                if let Some(mut c) = g.child.take() {
                    let _ = c.kill();
                    let _ = c.wait();
                    // It may have finished before the signal: then it was
                    // not killed (its counters say so).
                    g.killed = g.shm.get(slot::DONE) == 0;
                    kills += 1;
                }
            }
            victim_gen += 1;
            if !spawn_victim(victim_gen, &mut gens) {
                failed_spawns += 1;
            }
            next_kill = now + Duration::from_millis(rng.range(100, 700));
        }
    }
    // Every peer ends by itself now; one that does not is a hang.
    let give_up = Instant::now() + Duration::from_secs(60);
    loop {
        drain(&s, router, &mut gens, &mut stray);
        let mut running = 0;
        for g in gens.values_mut() {
            if let Some(c) = g.child.as_mut() {
                match c.try_wait() {
                    Ok(Some(status)) => {
                        if !status.success() {
                            o.errors += 1;
                            o.remark(format!("a peer exited with {status}"));
                        }
                        g.child = None;
                    }
                    _ => running += 1,
                }
            }
        }
        if running == 0 {
            break;
        }
        if Instant::now() > give_up {
            o.hangs += running;
            o.remark(format!("{running} peers did not end by themselves"));
            for g in gens.values_mut() {
                if let Some(mut c) = g.child.take() {
                    let _ = c.kill();
                    let _ = c.wait();
                    g.killed = true;
                }
            }
            break;
        }
        let _ = s.poll(zmqrs::POLLIN, 5);
    }
    // What is still on its way.
    let mut quiet = Instant::now();
    let last = Instant::now() + Duration::from_secs(30);
    let mut before = 0;
    while quiet.elapsed() < Duration::from_secs(2) && Instant::now() < last {
        let _ = s.poll(zmqrs::POLLIN, 20);
        drain(&s, router, &mut gens, &mut stray);
        let now: u64 = gens.values().map(|g| g.received).sum();
        if now != before {
            before = now;
            quiet = Instant::now();
        }
    }
    // The accounting.
    let mut max_tail = 0u64;
    for g in gens.values() {
        let attempted = g.shm.get(slot::ATTEMPT);
        let accepted = g.shm.get(slot::SENT);
        let got = g.received;
        if got > attempted.max(accepted) {
            o.unaccounted += got - attempted.max(accepted);
        }
        // A kill between the send and the count: the attempt went out.
        let sent = accepted.max(got.min(attempted));
        let lost = sent.saturating_sub(got);
        let replies_got = g.shm.get(slot::RECEIVED);
        let replies_lost = g.replies_sent.saturating_sub(replies_got) + g.replies_failed;
        if replies_got > g.replies_sent {
            o.unaccounted += replies_got - g.replies_sent;
        }
        o.sent += sent + g.replies_sent + g.replies_failed;
        o.delivered += got + replies_got.min(g.replies_sent);
        o.unaccounted += g.gaps + g.disorder + g.shm.get(slot::DISORDER);
        if g.killed {
            o.lost_killed += lost + replies_lost;
            max_tail = max_tail.max(lost + replies_lost);
        } else {
            o.unaccounted += lost + replies_lost;
        }
    }
    o.unaccounted += stray;
    if failed_spawns > 0 {
        o.errors += failed_spawns;
        o.remark(format!("{failed_spawns} peers could not be started"));
    }
    o.rounds = kills;
    o.remark(format!(
        "{kills} kills, {} generations, largest loss in one killed peer {max_tail}",
        gens.len()
    ));
    // The connections of the killed peers must all be closed by now.
    let deadline = Instant::now() + Duration::from_secs(10);
    while common::open_fds() > fds0 && Instant::now() < deadline {
        let _ = s.poll(zmqrs::POLLIN, 20);
        drain(&s, router, &mut gens, &mut stray);
    }
    let fds1 = common::open_fds();
    if fds1 > fds0 {
        o.leaks += 1;
        o.remark(format!("descriptors {fds0} -> {fds1}"));
    }
    if !common::closed_in_time((s, ctx)) {
        o.hangs += 1;
        o.remark("zmq_ctx_term did not return within 30 s");
    }
    if transport == "ipc" {
        let _ = std::fs::remove_file(&ipc_path);
    }
    o.seconds = common::secs(t0);
    o
}
