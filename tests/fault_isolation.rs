//! An internal fault costs one connection, not the process: a panic while
//! an I/O thread serves one connection (a bug of ours) closes that
//! connection, with a monitor event and one line on stderr, and the
//! context, its other connections and `zmq_ctx_term` keep working. The
//! panics are injected through the `fault-injection` hooks (src/fault.rs),
//! which the crate's dev-dependency on itself turns on for its tests only.
//!
//! A test runs its scenario in a child process (this binary, run again
//! with `FAULT_ISOLATION_CHILD` set) so that its stderr can be checked for
//! the report line, and fails if the child does not finish in time.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use zmqrs::constants::*;
use zmqrs::fault::{self, Fault};
use zmqrs::{Context, Socket, SocketType};

/// A fresh endpoint of `transport` to bind to.
fn endpoint(transport: &str) -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    let n = N.fetch_add(1, Ordering::Relaxed);
    match transport {
        "tcp" => "tcp://127.0.0.1:*".to_string(),
        _ => format!("ipc:///tmp/zmqrs-fault-{}-{n}.sock", std::process::id()),
    }
}

/// The next monitor event (number, value, endpoint) within `d`.
fn next_event(mon: &Socket, d: Duration) -> Option<(i32, u32, String)> {
    mon.set_rcvtimeo(d.as_millis() as i32).unwrap();
    let parts = mon.recv_multipart(0).ok()?;
    let number = i32::from(u16::from_le_bytes([parts[0][0], parts[0][1]]));
    let value = u32::from_le_bytes([parts[0][2], parts[0][3], parts[0][4], parts[0][5]]);
    Some((
        number,
        value,
        String::from_utf8_lossy(&parts[1]).into_owned(),
    ))
}

/// Waits for monitor event `number` (others are skipped).
fn wait_event(mon: &Socket, number: i32, d: Duration) -> Option<(i32, u32, String)> {
    let deadline = Instant::now() + d;
    while let Some(left) = deadline.checked_duration_since(Instant::now()) {
        match next_event(mon, left.max(Duration::from_millis(1))) {
            Some(e) if e.0 == number => return Some(e),
            Some(_) => {}
            None => return None,
        }
    }
    None
}

fn dealer(ctx: &Context, id: &str, ep: &str) -> Socket {
    let s = ctx.socket(SocketType::DEALER).unwrap();
    s.set_identity(id.as_bytes()).unwrap();
    s.set_linger(0).unwrap();
    s.set_rcvtimeo(5_000).unwrap();
    s.set_sndtimeo(5_000).unwrap();
    s.connect(ep).unwrap();
    s
}

/// A round trip between `d` (identity `id`) and the ROUTER.
fn round_trip(router: &Socket, d: &Socket, id: &str, body: &str) {
    d.send(body, 0).unwrap();
    let parts = router.recv_multipart(0).unwrap();
    assert_eq!(
        parts,
        vec![id.as_bytes().to_vec(), body.as_bytes().to_vec()]
    );
    router
        .send_multipart([id.as_bytes(), body.as_bytes()], 0)
        .unwrap();
    assert_eq!(d.recv_bytes(0).unwrap(), body.as_bytes());
}

/// The scenario: two DEALERs served by one ROUTER; a panic while the I/O
/// thread serves the first one's connection; the ROUTER reports it
/// DISCONNECTED, the second keeps exchanging messages, a new connection
/// works, the first reconnects by itself, and the context terminates.
fn session_panic(transport: &str) {
    let mut ctx = Context::new();
    let router = ctx.socket(SocketType::ROUTER).unwrap();
    router.set_rcvtimeo(5_000).unwrap();
    router.set_sndtimeo(5_000).unwrap();
    router.set_router_mandatory(true).unwrap();
    // A reconnecting peer takes its routing id over from its old pipe,
    // which may not have finished ending yet.
    router.set_router_handover(true).unwrap();
    router
        .monitor(
            "inproc://fault-mon",
            ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_ACCEPTED,
        )
        .unwrap();
    let mon = ctx.socket(SocketType::PAIR).unwrap();
    mon.connect("inproc://fault-mon").unwrap();
    router.bind(&endpoint(transport)).unwrap();
    let ep = router.last_endpoint().unwrap();

    let a = dealer(&ctx, "a", &ep);
    let b = dealer(&ctx, "b", &ep);
    round_trip(&router, &a, "a", "hello");
    round_trip(&router, &b, "b", "hello");

    let boom = format!("boom-{}-{transport}", std::process::id());
    fault::arm(Fault::MessageBody(boom.clone().into_bytes()));
    a.send(boom.as_str(), 0).unwrap();
    let (_, _, disconnected) = wait_event(&mon, ZMQ_EVENT_DISCONNECTED, Duration::from_secs(5))
        .expect("no DISCONNECTED for the connection whose session panicked");
    assert!(
        !fault::is_armed(&Fault::MessageBody(boom.into_bytes())),
        "the fault did not fire"
    );
    eprintln!("child: DISCONNECTED {disconnected}");

    // The other connection is untouched.
    for i in 0..100 {
        round_trip(&router, &b, "b", &format!("after {i}"));
    }
    // A new connection works.
    let c = dealer(&ctx, "c", &ep);
    round_trip(&router, &c, "c", "new");
    // The first DEALER reconnects by itself (it saw its connection close);
    // what it sends once back is served.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match router.send_multipart([b"a".as_slice(), b"again"], 0) {
            Ok(()) => break,
            // EHOSTUNREACH until it is back, EAGAIN while its old pipe
            // is still ending.
            Err(_) if Instant::now() < deadline => thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("a never came back: {e}"),
        }
    }
    assert_eq!(a.recv_bytes(0).unwrap(), b"again");
    round_trip(&router, &a, "a", "back");

    drop((a, b, c, router, mon));
    ctx.destroy().unwrap();
    eprintln!("child: context terminated");
}

/// The connecting side: a DEALER's session panics on a message from its
/// ROUTER. The DEALER reports DISCONNECTED and forgets the endpoint (no
/// reconnect: the endpoint's session is gone); connecting again works.
fn connecter_panic(transport: &str) {
    let mut ctx = Context::new();
    let router = ctx.socket(SocketType::ROUTER).unwrap();
    router.set_rcvtimeo(5_000).unwrap();
    router.set_sndtimeo(5_000).unwrap();
    router.set_router_handover(true).unwrap();
    router.bind(&endpoint(transport)).unwrap();
    let ep = router.last_endpoint().unwrap();
    let a = dealer(&ctx, "a", &ep);
    a.monitor("inproc://fault-mon-c", ZMQ_EVENT_DISCONNECTED)
        .unwrap();
    let mon = ctx.socket(SocketType::PAIR).unwrap();
    mon.connect("inproc://fault-mon-c").unwrap();
    round_trip(&router, &a, "a", "hello");
    let boom = format!("boom-c-{}-{transport}", std::process::id());
    fault::arm(Fault::MessageBody(boom.clone().into_bytes()));
    router
        .send_multipart([b"a".as_slice(), boom.as_bytes()], 0)
        .unwrap();
    wait_event(&mon, ZMQ_EVENT_DISCONNECTED, Duration::from_secs(5))
        .expect("no DISCONNECTED for the connection whose session panicked");
    let deadline = Instant::now() + Duration::from_secs(5);
    while a.disconnect(&ep).is_ok() {
        assert!(Instant::now() < deadline, "the DEALER still has {ep}");
    }
    a.connect(&ep).unwrap();
    round_trip(&router, &a, "a", "again");
    drop((a, router, mon));
    ctx.destroy().unwrap();
    eprintln!("child: context terminated");
}

/// A listener's handler panics when a connection arrives: that endpoint is
/// closed as by an unbind (CLOSED on the monitor, the socket forgets it),
/// the socket's other endpoint keeps serving.
fn listener_panic(transport: &str) {
    let mut ctx = Context::new();
    let router = ctx.socket(SocketType::ROUTER).unwrap();
    router.set_rcvtimeo(5_000).unwrap();
    router.set_sndtimeo(5_000).unwrap();
    router
        .monitor("inproc://fault-mon-l", ZMQ_EVENT_CLOSED)
        .unwrap();
    let mon = ctx.socket(SocketType::PAIR).unwrap();
    mon.connect("inproc://fault-mon-l").unwrap();
    router.bind(&endpoint(transport)).unwrap();
    let broken = router.last_endpoint().unwrap();
    router.bind(&endpoint(transport)).unwrap();
    let good = router.last_endpoint().unwrap();

    let b = dealer(&ctx, "b", &good);
    round_trip(&router, &b, "b", "hello");
    fault::arm(Fault::Accept(broken.clone()));
    let a = dealer(&ctx, "a", &broken);
    let (_, _, closed) = wait_event(&mon, ZMQ_EVENT_CLOSED, Duration::from_secs(5))
        .expect("no CLOSED for the listener that panicked");
    assert_eq!(closed, broken);
    for i in 0..100 {
        round_trip(&router, &b, "b", &format!("after {i}"));
    }
    // The socket forgot the endpoint, as after an unbind.
    let deadline = Instant::now() + Duration::from_secs(5);
    while router.unbind(&broken).is_ok() {
        assert!(Instant::now() < deadline, "the socket still has {broken}");
    }
    assert_eq!(router.unbind(&broken), Err(zmqrs::Error::ENOENT));
    // It can be bound again (tcp: the port is free; ipc: the file is gone).
    if transport == "ipc" {
        router.bind(&broken).unwrap();
        round_trip(&router, &a, "a", "rebound");
    }
    drop((a, b, router, mon));
    ctx.destroy().unwrap();
    eprintln!("child: context terminated");
}

/// Closing a socket panics in the reaper: the socket is dropped and
/// `zmq_ctx_term` still returns.
fn reaper_panic(transport: &str) {
    let mut ctx = Context::new();
    let router = ctx.socket(SocketType::ROUTER).unwrap();
    router.set_rcvtimeo(5_000).unwrap();
    router.bind(&endpoint(transport)).unwrap();
    let ep = router.last_endpoint().unwrap();
    let a = dealer(&ctx, "a", &ep);
    a.set_linger(1_000).unwrap();
    round_trip(&router, &a, "a", "hello");
    fault::arm(Fault::Reap(a.get_fd().unwrap()));
    drop(a);
    let b = dealer(&ctx, "b", &ep);
    round_trip(&router, &b, "b", "hello");
    drop((b, router));
    ctx.destroy().unwrap();
    eprintln!("child: context terminated");
}

const CHILD: &str = "FAULT_ISOLATION_CHILD";

/// Runs `scenario` in a child process (killed if it runs over a minute);
/// returns its stderr.
fn in_child(scenario: &str) -> String {
    use std::io::Read;
    let exe = std::env::current_exe().unwrap();
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "child",
            "--nocapture",
            "--ignored",
            "--test-threads=1",
        ])
        .env(CHILD, scenario)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut pipe = child.stderr.take().unwrap();
    let reader = thread::spawn(move || {
        let mut text = String::new();
        let _ = pipe.read_to_string(&mut text);
        text
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{scenario}: still running after 60 s (hang):\n{}",
                reader.join().unwrap()
            );
        }
        thread::sleep(Duration::from_millis(20));
    };
    let stderr = reader.join().unwrap();
    assert!(status.success(), "{scenario} failed ({status}):\n{stderr}");
    stderr
}

/// The reports of internal errors in a child's stderr.
fn reports(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("zmqrs: internal error"))
        .collect()
}

/// Not a test of its own: the body of the child process.
#[test]
#[ignore]
fn child() {
    let Ok(scenario) = std::env::var(CHILD) else {
        return;
    };
    let (kind, transport) = scenario.split_once('/').unwrap();
    let transport = transport.to_string();
    match kind {
        "session" => session_panic(&transport),
        "connecter" => connecter_panic(&transport),
        "listener" => listener_panic(&transport),
        "reaper" => reaper_panic(&transport),
        other => panic!("unknown scenario {other}"),
    }
}

fn check_session(transport: &str) {
    let stderr = in_child(&format!("session/{transport}"));
    let r = reports(&stderr);
    assert_eq!(r.len(), 1, "one report expected:\n{stderr}");
    assert!(
        r[0].starts_with(&format!(
            "zmqrs: internal error in I/O thread serving {transport}://"
        )) && r[0].contains("injected fault")
            && r[0].ends_with("; connection closed"),
        "{}",
        r[0]
    );
    assert!(stderr.contains("child: context terminated"), "{stderr}");
}

#[test]
fn session_panic_over_tcp_costs_one_connection() {
    check_session("tcp");
}

#[test]
fn session_panic_over_ipc_costs_one_connection() {
    check_session("ipc");
}

#[test]
fn connecter_session_panic_costs_its_endpoint() {
    for transport in ["tcp", "ipc"] {
        let stderr = in_child(&format!("connecter/{transport}"));
        let r = reports(&stderr);
        assert_eq!(r.len(), 1, "one report expected:\n{stderr}");
        assert!(r[0].ends_with("; connection closed"), "{}", r[0]);
        assert!(stderr.contains("child: context terminated"), "{stderr}");
    }
}

fn check_listener(transport: &str) {
    let stderr = in_child(&format!("listener/{transport}"));
    let r = reports(&stderr);
    assert_eq!(r.len(), 1, "one report expected:\n{stderr}");
    assert!(
        r[0].contains("(listener)") && r[0].ends_with("; endpoint closed"),
        "{}",
        r[0]
    );
}

#[test]
fn listener_panic_over_tcp_costs_one_endpoint() {
    check_listener("tcp");
}

#[test]
fn listener_panic_over_ipc_costs_one_endpoint() {
    check_listener("ipc");
}

#[test]
fn reaper_panic_still_lets_the_context_terminate() {
    let stderr = in_child("reaper/tcp");
    let r = reports(&stderr);
    assert_eq!(r.len(), 1, "one report expected:\n{stderr}");
    assert!(
        r[0].starts_with("zmqrs: internal error in the reaper closing socket ")
            && r[0].ends_with("; socket dropped"),
        "{}",
        r[0]
    );
    assert!(stderr.contains("child: context terminated"), "{stderr}");
}
