//! Reliable multicast end to end: pgm:// and epgm:// between our library
//! and Debian's libzmq5 (built with OpenPGM) in another process, both
//! ways, with packet loss injected so that NAKs and repairs are exercised;
//! and between two of our own sockets; closing at once; libzmq's errors.
//!
//! Each test runs in a network namespace of its own: the test re-executes
//! itself under `unshare -n`, then brings up `lo` with multicast and a
//! route for 224.0.0.0/4, so no multicast leaves the machine. Once both
//! sides are up, an nftables rule drops 5% of the packets at prerouting
//! (data, repairs, NAKs, NCFs and SPMs alike), and counters at output count
//! ODATA, RDATA, NAKs and NCFs: a run passes only when every message
//! arrived whole and in order *and* packets were dropped and repaired.
//! Without root, `unshare` or `ip` the tests say why and pass without
//! running; with `ZMQRS_MCAST_REQUIRE=1` they fail instead (.ci/run sets
//! it). Without `nft` they fail.
//!
//! The libzmq side is tests/interop/mcast_peer.c; it and [`message`] make
//! the same messages from a seed, so each side checks every frame.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

use zmqrs::{Context, Socket, SocketType};

const NETNS_ENV: &str = "ZMQRS_MCAST_NETNS";
const GROUP: &str = "239.192.1.1";
/// Messages per interop run.
const COUNT: u64 = 10_000;
/// Loss injected once both sides are up, in percent.
const LOSS: u32 = 5;
/// ZMQ_RATE for the runs, kbit/s.
const RATE: i32 = 500_000;
/// ZMQ_RATE of Debian's libzmq5 as the publisher, kbit/s. OpenPGM sends at
/// whatever rate it is given; our receiver in a debug build, on a shared
/// machine, takes about 5 MB/s, and beyond what the receiver takes the
/// kernel drops far more than the injected loss and the run turns into a
/// storm of NAKs and repairs.
const LIBZMQ_PUB_RATE: i32 = 40_000;

// ---- the namespace --------------------------------------------------------

fn run(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    unsafe { libc::geteuid() == 0 }
}

/// Whether this process is the copy running inside the namespace; the
/// outer call re-runs `test` there and checks that it passed.
fn in_netns(test: &str) -> bool {
    if std::env::var_os(NETNS_ENV).is_some() {
        setup_netns();
        return true;
    }
    let required = std::env::var_os("ZMQRS_MCAST_REQUIRE").is_some();
    let why = if !is_root() {
        Some("not root")
    } else if !run("unshare", &["--version"]) || !run("ip", &["-V"]) {
        Some("no unshare or ip")
    } else {
        None
    };
    if let Some(why) = why {
        assert!(
            !required,
            "{test}: cannot run ({why}) and ZMQRS_MCAST_REQUIRE is set"
        );
        eprintln!("SKIPPED {test}: needs root, unshare and ip for a network namespace ({why})");
        return false;
    }
    // One namespace at a time: the runs are timed against a receiver that
    // keeps up, and two at once on a small machine would starve each other.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new("unshare")
        .arg("-n")
        .arg(exe)
        .args([test, "--exact", "--nocapture", "--test-threads=1"])
        .env(NETNS_ENV, "1")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("unshare runs");
    let out = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut text = String::new();
        for line in BufReader::new(out).lines().map_while(|l| l.ok()) {
            println!("  | {line}");
            text.push_str(&line);
            text.push('\n');
        }
        let _ = tx.send(text);
    });
    let deadline = Instant::now() + Duration::from_secs(280);
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{test}: no result within 280 s");
        }
        thread::sleep(Duration::from_millis(50));
    };
    let text = rx.recv_timeout(Duration::from_secs(5)).unwrap_or_default();
    assert!(status.success(), "{test} failed in its namespace");
    assert!(
        text.contains("1 passed"),
        "{test} did not run in its namespace"
    );
    false
}

fn setup_netns() {
    for args in [
        &["link", "set", "lo", "up"][..],
        &["link", "set", "lo", "multicast", "on"],
        &["route", "replace", "224.0.0.0/4", "dev", "lo"],
    ] {
        assert!(run("ip", args), "ip {args:?} failed in the namespace");
    }
}

/// Drops `pct` percent of the packets on `lo` from now on (nftables, at
/// prerouting: data, repairs, NAKs, NCFs and SPMs alike), and counts the
/// PGM packets sent by type (at output, before the drop), so that a run can
/// show that loss happened and was repaired.
fn inject_loss(proto: &str, pct: u32) {
    // Where the PGM type byte is: after the UDP header for epgm, at the
    // start of the transport header for pgm (protocol 113).
    let (l4, at) = if proto == "epgm" {
        ("udp", 96)
    } else {
        ("113", 32)
    };
    let mut script = format!(
        "table ip zmqrs_mcast {{\n\
         chain pre {{ type filter hook prerouting priority 0; \
         numgen random mod 100 < {pct} counter drop comment \"dropped\"; }}\n\
         chain out {{ type filter hook output priority 0;\n"
    );
    if proto == "norm" {
        // NORM (RFC 5740) over UDP: the message type is the low nibble of
        // the first byte. libnorm repairs with FEC parity: NORM_DATA (2)
        // whose encoding symbol id (the 20th byte, with Reed-Solomon's
        // FEC payload id) is at or past the block size of 16 source
        // segments is a repair, sent in answer to NACKs (type 4); NORM_CMD
        // (FLUSH, CC probes) is type 3. Counted as odata, rdata, nak and
        // ncf, their PGM counterparts.
        script.push_str(
            "udp dport != 53 @th,68,4 2 @th,216,8 0-15 counter comment \"odata\"\n\
             udp dport != 53 @th,68,4 2 @th,216,8 16-255 counter comment \"rdata\"\n\
             udp dport != 53 @th,68,4 4 counter comment \"nak\"\n\
             udp dport != 53 @th,68,4 3 counter comment \"ncf\"\n",
        );
    } else {
        for (name, ty) in [("odata", 4), ("rdata", 5), ("nak", 8), ("ncf", 10)] {
            script.push_str(&format!(
                "meta l4proto {l4} @th,{at},8 {ty} counter comment \"{name}\"\n"
            ));
        }
    }
    script.push_str("}\n}\n");
    let ok = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            c.stdin
                .take()
                .expect("stdin")
                .write_all(script.as_bytes())?;
            c.wait()
        })
        .is_ok_and(|s| s.success());
    assert!(ok, "nft cannot set up the loss and the counters:\n{script}");
}

/// What the counters of [`inject_loss`] saw.
#[derive(Debug, Default)]
struct Wire {
    dropped: u64,
    odata: u64,
    rdata: u64,
    nak: u64,
    ncf: u64,
}

impl Wire {
    fn read() -> Wire {
        let out = Command::new("nft")
            .args(["list", "table", "ip", "zmqrs_mcast"])
            .output()
            .expect("nft runs");
        let text = String::from_utf8_lossy(&out.stdout);
        let mut w = Wire::default();
        for line in text.lines() {
            let Some(n) = line
                .split_whitespace()
                .skip_while(|t| *t != "packets")
                .nth(1)
                .and_then(|n| n.parse().ok())
            else {
                continue;
            };
            for (name, field) in [
                ("\"dropped\"", &mut w.dropped),
                ("\"odata\"", &mut w.odata),
                ("\"rdata\"", &mut w.rdata),
                ("\"nak\"", &mut w.nak),
                ("\"ncf\"", &mut w.ncf),
            ] {
                if line.contains(name) {
                    *field = n;
                }
            }
        }
        w
    }

    /// Loss happened and was repaired: packets were dropped, receivers
    /// NAKed, the source confirmed and sent repairs.
    fn check(self, what: &str) -> Wire {
        println!("{what}: on the wire {self:?}");
        assert!(
            self.dropped > 0 && self.nak > 0 && self.ncf > 0 && self.rdata > 0,
            "{what}: loss and repair were not exercised: {self:?}"
        );
        self
    }
}

// ---- the messages (same generator as mcast_peer.c) -------------------------

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
}

fn parts(i: u64) -> usize {
    if i % 7 == 3 {
        3
    } else {
        1
    }
}

/// The largest frame the messages have (each test runs in a process of
/// its own). Debian's libzmq5 as a NORM publisher cannot send larger
/// frames than about 2 KB (see `norm_libzmq_pub_to_our_sub`).
static MAX_FRAME: AtomicUsize = AtomicUsize::new(65536);

/// Message `i`: its frames, drawing sizes from `rng` as the C peer does.
fn message(i: u64, rng: &mut Rng) -> Vec<Vec<u8>> {
    (0..parts(i))
        .map(|p| {
            let bits = rng.next() % 17;
            let mut size = (1usize << bits) + (rng.next() % (1u32 << bits)) as usize;
            size = size.min(65536);
            if i == 0 {
                size = 1;
            }
            if i == 1 {
                size = 65536;
            }
            size = size.min(MAX_FRAME.load(Ordering::Relaxed));
            (0..size)
                .map(|j| (i.wrapping_mul(31) as usize + p * 7 + j * 13) as u8)
                .collect()
        })
        .collect()
}

// ---- the libzmq peer ------------------------------------------------------

fn peer_binary() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let bin = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("mcast-peer-{}", std::process::id()));
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/mcast_peer.c");
        let out = Command::new("gcc")
            .args(["-std=gnu99", "-O2", "-Wall", "-o"])
            .arg(&bin)
            .arg(src)
            .arg("-lzmq")
            .output()
            .expect("gcc runs");
        assert!(
            out.status.success(),
            "compiling mcast_peer.c against the system libzmq failed (libzmq3-dev?):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        bin
    })
}

struct Peer {
    child: Child,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
}

impl Peer {
    fn start(role: &str, endpoint: &str, seed: u64) -> Peer {
        let mut child = Command::new(peer_binary())
            .args([
                role,
                endpoint,
                &COUNT.to_string(),
                &seed.to_string(),
                &if role == "pub" { LIBZMQ_PUB_RATE } else { RATE }.to_string(),
                &MAX_FRAME.load(Ordering::Relaxed).to_string(),
            ])
            .env_remove("LD_LIBRARY_PATH")
            .env_remove("LD_PRELOAD")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start mcast_peer");
        let stdin = child.stdin.take().expect("stdin");
        let out = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(|l| l.ok()) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Peer {
            child,
            stdin,
            lines,
        }
    }

    fn expect(&mut self, prefix: &str, within: Duration) -> String {
        let line = self.lines.recv_timeout(within).unwrap_or_else(|_| {
            panic!("peer said nothing within {within:?} (waiting for {prefix})")
        });
        assert!(line.starts_with(prefix), "peer: {line} (wanted {prefix})");
        line
    }

    fn say(&mut self, line: &str) {
        let _ = writeln!(self.stdin, "{line}");
        let _ = self.stdin.flush();
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---- our side -------------------------------------------------------------

/// NORM runs of ours: a fixed rate (kbit/s) instead of congestion control;
/// 0 when the test is not a NORM one. NORM repairs only what the sender
/// still holds: at full speed with 5% loss, data outruns the sender's 2 MiB
/// before the round-trip estimate settles and the stream breaks, with
/// libzmq as with us. (A receiver buffer larger than the sender's made
/// libnorm break streams too: the buffers stay at libzmq's default.) Each
/// test runs in a process of its own.
static NORM_RATE: AtomicI32 = AtomicI32::new(0);

fn tune(s: &Socket) {
    let norm_rate = NORM_RATE.load(Ordering::Relaxed);
    if norm_rate > 0 {
        use zmqrs::constants::*;
        let mut t = [0u8; 4];
        s.getsockopt_raw(ZMQ_TYPE, &mut t).unwrap();
        let sends = matches!(i32::from_ne_bytes(t), ZMQ_PUB | ZMQ_XPUB);
        // Senders keep 16 MiB for repairs; receivers libzmq's 2 MiB.
        let buffer = if sends { 16 * 1024 } else { 2048 };
        for (opt, v) in [
            (ZMQ_NORM_MODE, ZMQ_NORM_FIXED),
            (ZMQ_RATE, norm_rate),
            (ZMQ_NORM_BUFFER_SIZE, buffer),
        ] {
            s.setsockopt_raw(opt, Some(&v.to_ne_bytes())).unwrap();
        }
    } else {
        s.set_rate(RATE).unwrap();
        s.set_sndbuf(4 << 20).unwrap();
        s.set_rcvbuf(4 << 20).unwrap();
    }
    s.set_sndhwm(0).unwrap();
    s.set_rcvhwm(0).unwrap();
}

/// Sends "W" every 20 ms until `go`, then START and the messages.
fn publish(s: &Socket, go: &AtomicBool, seed: u64) {
    while !go.load(Ordering::Acquire) {
        s.send("W", 0).unwrap();
        thread::sleep(Duration::from_millis(20));
    }
    s.send("START", 0).unwrap();
    let mut rng = Rng(seed);
    for i in 0..COUNT {
        let m = message(i, &mut rng);
        s.send_multipart(m, 0).unwrap();
    }
}

/// Receives until START (calling `warm` at the first warm-up), then checks
/// every message.
fn subscribe_and_check(s: &Socket, seed: u64, mut warm: impl FnMut()) {
    s.set_rcvtimeo(30_000).unwrap();
    let mut warmed = false;
    loop {
        let m = s.recv_bytes(0).expect("a warm-up or START within 30 s");
        if m == b"START" {
            break;
        }
        if !warmed {
            warmed = true;
            warm();
        }
    }
    let mut rng = Rng(seed);
    for i in 0..COUNT {
        let want = message(i, &mut rng);
        let got = s
            .recv_multipart(0)
            .unwrap_or_else(|e| panic!("message {i}: {e}"));
        assert_eq!(got.len(), want.len(), "parts of message {i}");
        for (p, (g, w)) in got.iter().zip(&want).enumerate() {
            if g != w {
                // Where it differs tells a splice (a shifted run of stream
                // bytes) from a bad repair (a wrong stretch in place).
                let diff: Vec<usize> = (0..g.len().min(w.len()))
                    .filter(|&k| g[k] != w[k])
                    .collect();
                panic!(
                    "message {i} part {p}: {} bytes, want {}; {} bytes differ, from offset {:?} to {:?}",
                    g.len(),
                    w.len(),
                    diff.len(),
                    diff.first(),
                    diff.last()
                );
            }
        }
    }
}

/// A norm:// endpoint with our NORM node id in front. Without one, libnorm
/// takes the host's address as the id, so every NORM node on one host has
/// the same id, and a sender ignores NACKs that seem to come from itself:
/// nothing lost is ever repaired. (libzmq's endpoint syntax has the id for
/// this.) Other endpoints are left as they are.
fn as_node(ep: &str, id: u32) -> String {
    match ep.strip_prefix("norm://") {
        Some(rest) => format!("norm://{id},{rest}"),
        None => ep.to_owned(),
    }
}

fn endpoint(proto: &str, port: u16) -> String {
    if proto == "norm" {
        // libnorm takes the multicast interface by name.
        return norm_endpoint(port);
    }
    format!("{proto}://127.0.0.1;{GROUP}:{port}")
}

fn our_pub_to_libzmq_sub(proto: &str) {
    let ep = endpoint(proto, 5555);
    let seed = 1;
    let mut peer = Peer::start("sub", &as_node(&ep, 1), seed);
    peer.expect("ready", Duration::from_secs(10));
    let ctx = Context::new();
    let s = ctx.socket(SocketType::PUB).unwrap();
    tune(&s);
    s.connect(&as_node(&ep, 2)).unwrap();
    let go = Arc::new(AtomicBool::new(false));
    let t0 = Instant::now();
    let sender = {
        let go = Arc::clone(&go);
        thread::spawn(move || {
            publish(&s, &go, seed);
            s
        })
    };
    peer.expect("warm", Duration::from_secs(20));
    inject_loss(proto, LOSS);
    go.store(true, Ordering::Release);
    let s = sender.join().unwrap();
    let ok = peer.expect("ok", Duration::from_secs(200));
    println!(
        "{proto}: our PUB -> libzmq SUB: {ok} in {:?}, {LOSS}% loss",
        t0.elapsed()
    );
    Wire::read().check(&format!("{proto}: our PUB -> libzmq SUB"));
    drop(s);
}

/// `loss`: percent of packets dropped once both sides are up (0: none,
/// and no check of the wire counters).
fn libzmq_pub_to_our_sub(proto: &str, loss: u32) {
    let ep = endpoint(proto, 5555);
    let seed = 2;
    let ctx = Context::new();
    let s = ctx.socket(SocketType::SUB).unwrap();
    tune(&s);
    s.set_subscribe(b"").unwrap();
    s.connect(&as_node(&ep, 1)).unwrap();
    let mut peer = Peer::start("pub", &as_node(&ep, 2), seed);
    peer.expect("ready", Duration::from_secs(10));
    let t0 = Instant::now();
    subscribe_and_check(&s, seed, || {
        if loss > 0 {
            inject_loss(proto, loss);
        }
        peer.say("go");
    });
    peer.say("done");
    println!(
        "{proto}: libzmq PUB -> our SUB: {COUNT} messages in {:?}, {loss}% loss",
        t0.elapsed()
    );
    if loss > 0 {
        Wire::read().check(&format!("{proto}: libzmq PUB -> our SUB"));
    }
}

fn ours_to_ours(proto: &str, pub_type: SocketType, sub_type: SocketType) {
    let ep = endpoint(proto, 5600);
    let seed = 3;
    let ctx = Context::new();
    let sub = ctx.socket(sub_type).unwrap();
    tune(&sub);
    if sub_type == SocketType::SUB {
        sub.set_subscribe(b"").unwrap();
    }
    sub.connect(&as_node(&ep, 1)).unwrap();
    let publ = ctx.socket(pub_type).unwrap();
    tune(&publ);
    publ.bind(&as_node(&ep, 2)).unwrap();
    let go = Arc::new(AtomicBool::new(false));
    let sender = {
        let go = Arc::clone(&go);
        thread::spawn(move || {
            publish(&publ, &go, seed);
            publ
        })
    };
    let t0 = Instant::now();
    subscribe_and_check(&sub, seed, || {
        inject_loss(proto, LOSS);
        go.store(true, Ordering::Release);
    });
    drop(sender.join().unwrap());
    println!(
        "{proto}: ours -> ours: {COUNT} messages in {:?}, {LOSS}% loss",
        t0.elapsed()
    );
    Wire::read().check(&format!("{proto}: ours -> ours"));
}

// ---- the tests ------------------------------------------------------------

#[test]
fn epgm_our_pub_to_libzmq_sub() {
    if in_netns("epgm_our_pub_to_libzmq_sub") {
        our_pub_to_libzmq_sub("epgm");
    }
}

#[test]
fn epgm_libzmq_pub_to_our_sub() {
    if in_netns("epgm_libzmq_pub_to_our_sub") {
        libzmq_pub_to_our_sub("epgm", LOSS);
    }
}

#[test]
fn pgm_our_pub_to_libzmq_sub() {
    if in_netns("pgm_our_pub_to_libzmq_sub") {
        our_pub_to_libzmq_sub("pgm");
    }
}

#[test]
fn pgm_libzmq_pub_to_our_sub() {
    if in_netns("pgm_libzmq_pub_to_our_sub") {
        libzmq_pub_to_our_sub("pgm", LOSS);
    }
}

#[test]
fn epgm_ours_to_ours() {
    if in_netns("epgm_ours_to_ours") {
        ours_to_ours("epgm", SocketType::PUB, SocketType::SUB);
    }
}

#[test]
fn pgm_xpub_to_xsub_ours() {
    if in_netns("pgm_xpub_to_xsub_ours") {
        ours_to_ours("pgm", SocketType::XPUB, SocketType::XSUB);
    }
}

// ---- norm:// ---------------------------------------------------------------
//
// NORM runs on libnorm (loaded at run time); without it zmq_has("norm") is
// false and these tests say so and pass, unless ZMQRS_MCAST_REQUIRE is set
// (CI installs libnorm1, as Debian's libzmq5 depends on it).

fn norm_ready(test: &str) -> bool {
    if zmqrs::has("norm") == Some(true) {
        NORM_RATE.store(NORM_FIXED_RATE, Ordering::Relaxed);
        MAX_FRAME.store(NORM_MAX_FRAME, Ordering::Relaxed);
        return true;
    }
    assert!(
        std::env::var_os("ZMQRS_MCAST_REQUIRE").is_none(),
        "{test}: libnorm is not installed and ZMQRS_MCAST_REQUIRE is set"
    );
    eprintln!("SKIPPED {test}: libnorm (libnorm1) is not installed");
    false
}

/// ZMQ_RATE of our NORM senders, kbit/s.
const NORM_FIXED_RATE: i32 = 10_000;
/// Largest frame of the NORM runs.
const NORM_MAX_FRAME: usize = 2000;

fn norm_endpoint(port: u16) -> String {
    format!("norm://lo;{GROUP}:{port}")
}

#[test]
fn norm_our_pub_to_libzmq_sub() {
    if norm_ready("norm_our_pub_to_libzmq_sub") && in_netns("norm_our_pub_to_libzmq_sub") {
        our_pub_to_libzmq_sub("norm");
    }
}

/// Debian's libzmq5 (4.3.4) as a NORM publisher stalls on the first frame
/// that does not fit, with its sync byte and header, the 2 KiB buffer its
/// engine stages data in: its own SUB receives nothing more either
/// (frames of 2,000 bytes pass, 2,040 do not). So the NORM runs' frames
/// stop at 2,000 bytes ([`NORM_MAX_FRAME`]).
///
/// Without injected loss. With 5% loss this direction is not reliable:
/// libnorm, receiving from libzmq5's sender (congestion control, 2 MiB,
/// not configurable in 4.3.4), reports the stream broken early in about
/// half the runs. Our SUB then drops the broken message and goes on
/// (3 runs of 6 delivered all 10,000); Debian's libzmq5 SUB aborts the
/// process on the same break (`zmq_assert (false)` in norm_engine.cpp
/// 4.3.4: 6 runs of 9 aborted). Our PUB to either SUB passes with loss
/// below. Open; see DESIGN.md.
#[test]
fn norm_libzmq_pub_to_our_sub() {
    if norm_ready("norm_libzmq_pub_to_our_sub") && in_netns("norm_libzmq_pub_to_our_sub") {
        libzmq_pub_to_our_sub("norm", 0);
    }
}

#[test]
fn norm_ours_to_ours() {
    if norm_ready("norm_ours_to_ours") && in_netns("norm_ours_to_ours") {
        ours_to_ours("norm", SocketType::PUB, SocketType::SUB);
    }
}

#[test]
fn norm_xpub_to_xsub_ours() {
    if norm_ready("norm_xpub_to_xsub_ours") && in_netns("norm_xpub_to_xsub_ours") {
        ours_to_ours("norm", SocketType::XPUB, SocketType::XSUB);
    }
}

#[test]
fn norm_close_at_once() {
    if norm_ready("norm_close_at_once") && in_netns("norm_close_at_once") {
        close_at_once("norm");
    }
}

/// Forged NACKs on the group: while our PUB sends to our SUB, another
/// socket floods the group port with NACKs of random content for other
/// senders. Every message still arrives whole and in order, and memory
/// stays bounded.
///
/// What this does not cover, found while writing it (libnorm parses every
/// NORM packet; our code sees only the stream it hands over): a flood of
/// NACKs addressed to our sender, or of forged NORM_CMD or NORM_DATA from
/// made-up senders, stopped delivery to the SUB; a flood of random
/// datagrams once delivered a frame of the right length with wrong bytes.
/// Open; see DESIGN.md.
#[test]
fn norm_forged_nacks() {
    if !(norm_ready("norm_forged_nacks") && in_netns("norm_forged_nacks")) {
        return;
    }
    let ep = norm_endpoint(5650);
    let ctx = Context::new();
    let sub = ctx.socket(SocketType::SUB).unwrap();
    tune(&sub);
    sub.set_subscribe(b"").unwrap();
    sub.connect(&as_node(&ep, 1)).unwrap();
    let publ = ctx.socket(SocketType::PUB).unwrap();
    tune(&publ);
    publ.connect(&as_node(&ep, 2)).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let flooder = {
        let stop = Arc::clone(&stop);
        thread::spawn(move || {
            let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let mut rng = Rng(99);

            let mut sent = 0u64;
            while !stop.load(Ordering::Acquire) {
                let len = 16 + (rng.next() % 1400) as usize;
                let mut pkt: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
                // A NACK (version 1, type 4) with a plausible header length
                // and random content, from a made-up node to made-up
                // senders (never node 2, ours).
                pkt[0] = 0x14;
                pkt[1] = (pkt.len() / 4).min(255) as u8;
                if pkt[8..12] == 2u32.to_be_bytes() {
                    pkt[11] = 3;
                }
                let _ = s.send_to(&pkt, (GROUP, 5650));
                sent += 1;
                if sent % 64 == 0 {
                    thread::sleep(Duration::from_millis(1));
                }
            }
            sent
        })
    };
    let go = Arc::new(AtomicBool::new(false));
    let sender = {
        let go = Arc::clone(&go);
        thread::spawn(move || {
            publish(&publ, &go, 4);
            publ
        })
    };
    subscribe_and_check(&sub, 4, || go.store(true, Ordering::Release));
    stop.store(true, Ordering::Release);
    let garbage = flooder.join().unwrap();
    drop(sender.join().unwrap());
    let rss = rss_kib();
    println!(
        "norm: {COUNT} messages whole and in order among {garbage} forged NACKs; RSS {rss} KiB"
    );
    assert!(garbage > 1000, "the flood did not run: {garbage}");
    // The library's own buffers (2 MiB NORM buffers per side, the pipes)
    // and the test's messages: far below this unless something grows.
    assert!(rss < 512 * 1024, "RSS {rss} KiB");
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|n| n.parse().ok())
        })
        .unwrap_or(0)
}

/// libzmq's errors for norm://: other socket types are ENOCOMPATPROTO, an
/// address without a port EINVAL; the NORM options are there, with
/// libzmq's defaults and ranges.
#[test]
fn norm_errors_and_options() {
    use zmqrs::Error;
    if !norm_ready("norm_errors_and_options") {
        return;
    }
    let ctx = Context::new();
    for t in [SocketType::REQ, SocketType::PUSH, SocketType::DEALER] {
        let s = ctx.socket(t).unwrap();
        assert_eq!(
            s.connect(&norm_endpoint(5800)).unwrap_err(),
            Error::ENOCOMPATPROTO
        );
    }
    let s = ctx.socket(SocketType::SUB).unwrap();
    for bad in [
        "norm://239.192.1.1",
        "norm://239.192.1.1:0",
        "norm://lo;:5800",
    ] {
        assert_eq!(s.connect(bad).unwrap_err(), Error::EINVAL, "{bad}");
    }
    let get = |opt: i32| {
        let mut b = [0u8; 4];
        assert_eq!(s.getsockopt_raw(opt, &mut b).unwrap(), 4);
        i32::from_ne_bytes(b)
    };
    let set = |opt: i32, v: i32| s.setsockopt_raw(opt, Some(&v.to_ne_bytes()));
    use zmqrs::constants::*;
    for (opt, default) in [
        (ZMQ_NORM_MODE, ZMQ_NORM_CC),
        (ZMQ_NORM_UNICAST_NACK, 0),
        (ZMQ_NORM_BUFFER_SIZE, 2048),
        (ZMQ_NORM_SEGMENT_SIZE, 1400),
        (ZMQ_NORM_BLOCK_SIZE, 16),
        (ZMQ_NORM_NUM_PARITY, 4),
        (ZMQ_NORM_NUM_AUTOPARITY, 0),
        (ZMQ_NORM_PUSH, 0),
    ] {
        assert_eq!(get(opt), default, "option {opt}");
    }
    assert_eq!(set(ZMQ_NORM_MODE, 5).unwrap_err(), Error::EINVAL);
    assert_eq!(set(ZMQ_NORM_BLOCK_SIZE, 256).unwrap_err(), Error::EINVAL);
    assert_eq!(set(ZMQ_NORM_PUSH, 2).unwrap_err(), Error::EINVAL);
    set(ZMQ_NORM_MODE, ZMQ_NORM_FIXED).unwrap();
    assert_eq!(get(ZMQ_NORM_MODE), ZMQ_NORM_FIXED);
}

/// Sockets closed right after connect (or after one message, with the
/// default infinite linger) end, and so does their context: a source sends
/// what it holds and its FIN SPMs, a receiver ends at once. For both
/// transports, as libzmq's bind fuzzer does with pgm:// endpoints.
fn close_at_once(proto: &str) {
    let (tx, rx) = mpsc::channel();
    let name = proto.to_string();
    thread::spawn(move || {
        let proto = name;
        let ctx = Context::new();
        let sub = ctx.socket(SocketType::SUB).unwrap();
        sub.connect(&endpoint(&proto, 5700)).unwrap();
        drop(sub);
        let publ = ctx.socket(SocketType::PUB).unwrap();
        publ.bind(&endpoint(&proto, 5701)).unwrap();
        drop(publ);
        let publ = ctx.socket(SocketType::PUB).unwrap();
        publ.connect(&endpoint(&proto, 5702)).unwrap();
        publ.send("x", 0).unwrap();
        drop(publ);
        let xsub = ctx.socket(SocketType::XSUB).unwrap();
        xsub.connect(&endpoint(&proto, 5703)).unwrap();
        drop(xsub);
        drop(ctx);
        let _ = tx.send(());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{proto}: closing the sockets and the context hangs"));
}

#[test]
fn epgm_close_at_once() {
    if in_netns("epgm_close_at_once") {
        close_at_once("epgm");
    }
}

#[test]
fn pgm_close_at_once() {
    if in_netns("pgm_close_at_once") {
        close_at_once("pgm");
    }
}

/// libzmq's errors through the socket: other socket types, bad addresses,
/// an interface that is not ours. (Parsing itself is unit-tested in
/// src/transport/pgm.rs.) Needs no namespace: nothing gets opened.
#[test]
fn errors_like_libzmq() {
    use zmqrs::Error;
    let ctx = Context::new();
    for proto in ["epgm", "pgm"] {
        for t in [
            SocketType::REQ,
            SocketType::PUSH,
            SocketType::PULL,
            SocketType::DEALER,
            SocketType::PAIR,
        ] {
            let s = ctx.socket(t).unwrap();
            assert_eq!(
                s.connect(&endpoint(proto, 5800)).unwrap_err(),
                Error::ENOCOMPATPROTO,
                "{proto} {t:?}"
            );
        }
        let s = ctx.socket(SocketType::SUB).unwrap();
        for bad in [
            "127.0.0.1;239.192.1.1:0",
            "239.192.1.1:5800",
            "127.0.0.1;10.1.2.3:5800",
        ] {
            assert_eq!(
                s.connect(&format!("{proto}://{bad}")).unwrap_err(),
                Error::EINVAL,
                "{proto}://{bad}"
            );
        }
    }
    // An interface address that is not ours (pgm:// without root fails
    // earlier, on the raw socket: EPERM).
    let s = ctx.socket(SocketType::PUB).unwrap();
    assert_eq!(
        s.connect("epgm://10.255.255.254;239.192.1.1:5800")
            .unwrap_err(),
        Error::EINVAL
    );
}
