//! What libzmq's master (after 4.3.5, reported as 4.3.6) changed, and what
//! we do the same way: `zmq_disconnect_peer`, zmq_proxy_steerable with PAIR
//! and SUB control sockets, ZMQ_RECONNECT_STOP_AFTER_DISCONNECT, and a tcp
//! connect that meets itself. ZMQ_VERSION stays 4.3.5 (see README.md).

use std::thread;
use std::time::{Duration, Instant};

use zmqrs::constants::*;
use zmqrs::{Context, Error, Message, Socket, SocketType};

/// libzmq master's tests/test_peer_disconnect.cpp, through the Rust API.
#[test]
fn peer_disconnect() {
    let ctx = Context::new();
    let peer1 = ctx.socket(SocketType::PEER).unwrap();
    peer1.bind("tcp://127.0.0.1:*").unwrap();
    let ep = peer1.last_endpoint().unwrap();
    let peer2 = ctx.socket(SocketType::PEER).unwrap();
    let peer1_id = peer2.connect_peer(&ep).unwrap();
    assert_ne!(peer1_id, 0);

    let mut m = Message::from("X");
    m.set_routing_id(peer1_id).unwrap();
    peer2.send_msg_or_return(m, 0).unwrap();
    let got = peer1.recv_msg(0).unwrap();
    assert_eq!(&got[..], b"X");
    let peer2_id = got.routing_id();
    assert_ne!(peer2_id, 0);

    peer1.disconnect_peer(peer2_id).unwrap();
    let mut m = Message::from("HELLO");
    m.set_routing_id(peer2_id).unwrap();
    let (e, back) = peer1.send_msg_or_return(m, 0).unwrap_err();
    assert_eq!(e, Error::EHOSTUNREACH);
    assert_eq!(&back[..], b"HELLO");

    // An id nobody has, and socket types without routing ids.
    assert_eq!(peer1.disconnect_peer(12345), Err(Error::EHOSTUNREACH));
    let server = ctx.socket(SocketType::SERVER).unwrap();
    assert_eq!(server.disconnect_peer(1), Err(Error::EHOSTUNREACH));
    let dealer = ctx.socket(SocketType::DEALER).unwrap();
    assert_eq!(dealer.disconnect_peer(1), Err(Error::ENOTSUP));
}

/// A steerable proxy over inproc whose control socket is `control_type`;
/// `command` sends one command to it. Returns the client and the worker.
fn steered(
    ctx: &Context,
    control_type: SocketType,
    name: &str,
) -> (Socket, Socket, thread::JoinHandle<zmqrs::Result<()>>) {
    let mut frontend = ctx.socket(SocketType::PULL).unwrap();
    frontend.bind(&format!("inproc://{name}-front")).unwrap();
    let mut backend = ctx.socket(SocketType::PUSH).unwrap();
    backend.bind(&format!("inproc://{name}-back")).unwrap();
    let mut control = ctx.socket(control_type).unwrap();
    control.bind(&format!("inproc://{name}-ctl")).unwrap();
    if control_type == SocketType::SUB {
        control.set_subscribe(b"").unwrap();
    }
    let proxy =
        thread::spawn(move || zmqrs::proxy_steerable(&mut frontend, &mut backend, &mut control));
    let client = ctx.socket(SocketType::PUSH).unwrap();
    client.connect(&format!("inproc://{name}-front")).unwrap();
    let worker = ctx.socket(SocketType::PULL).unwrap();
    worker.connect(&format!("inproc://{name}-back")).unwrap();
    worker.set_rcvtimeo(5_000).unwrap();
    (client, worker, proxy)
}

fn steer_and_check(control_type: SocketType, commander_type: SocketType, name: &str) {
    let ctx = Context::new();
    let (client, worker, proxy) = steered(&ctx, control_type, name);
    let commander = ctx.socket(commander_type).unwrap();
    commander.connect(&format!("inproc://{name}-ctl")).unwrap();
    client.send("one", 0).unwrap();
    assert_eq!(worker.recv_bytes(0).unwrap(), b"one");
    // A SUB control socket may still be taking its subscription in: send
    // PAUSE until a message stops flowing.
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        assert!(Instant::now() < deadline, "PAUSE never took effect");
        commander.send("PAUSE", 0).unwrap();
        thread::sleep(Duration::from_millis(50));
        client.send("probe", 0).unwrap();
        worker.set_rcvtimeo(200).unwrap();
        match worker.recv_bytes(0) {
            Err(Error::EAGAIN) => break,
            Ok(m) => assert_eq!(m, b"probe"),
            Err(e) => panic!("{e}"),
        }
    }
    worker.set_rcvtimeo(5_000).unwrap();
    commander.send("RESUME", 0).unwrap();
    // The message held while paused comes through after RESUME.
    assert_eq!(worker.recv_bytes(0).unwrap(), b"probe");
    commander.send("TERMINATE", 0).unwrap();
    assert_eq!(proxy.join().unwrap(), Ok(()));
    // Only a REP control socket gets replies: a PAIR commander has none.
    if commander_type == SocketType::PAIR {
        commander.set_rcvtimeo(100).unwrap();
        assert_eq!(commander.recv_bytes(0), Err(Error::EAGAIN));
    }
}

#[test]
fn proxy_steerable_with_a_pair_control_socket() {
    steer_and_check(SocketType::PAIR, SocketType::PAIR, "steer-pair");
}

#[test]
fn proxy_steerable_with_a_sub_control_socket() {
    steer_and_check(SocketType::SUB, SocketType::PUB, "steer-sub");
}

/// Events from a monitor PAIR, until `d` has passed.
fn events(mon: &Socket, d: Duration) -> Vec<i32> {
    let mut out = Vec::new();
    mon.set_rcvtimeo(50).unwrap();
    let deadline = Instant::now() + d;
    while Instant::now() < deadline {
        if let Ok(parts) = mon.recv_multipart(0) {
            out.push(i32::from(u16::from_ne_bytes([parts[0][0], parts[0][1]])));
        }
    }
    out
}

/// With ZMQ_RECONNECT_STOP_AFTER_DISCONNECT, once the socket disconnected
/// an endpoint, its ipc connects stop at their next refused attempt (libzmq
/// 4.3.5's ipc connecter; master fixed the flag's initialisation).
#[test]
fn reconnect_stop_after_disconnect() {
    let ctx = Context::new();
    let sub = ctx.socket(SocketType::SUB).unwrap();
    sub.set_reconnect_ivl(20).unwrap();
    sub.setsockopt_raw(
        ZMQ_RECONNECT_STOP,
        Some(&ZMQ_RECONNECT_STOP_AFTER_DISCONNECT.to_ne_bytes()),
    )
    .unwrap();
    sub.monitor("inproc://stop-after-mon", ZMQ_EVENT_ALL)
        .unwrap();
    let mon = ctx.socket(SocketType::PAIR).unwrap();
    mon.connect("inproc://stop-after-mon").unwrap();
    let tag = std::process::id();
    let a = format!("ipc://@zmqrs-nobody-a-{tag}");
    let b = format!("ipc://@zmqrs-nobody-b-{tag}");
    sub.connect(&a).unwrap();
    sub.connect(&b).unwrap();
    // Both keep retrying.
    let before = events(&mon, Duration::from_millis(300));
    let retried = |ev: &[i32]| {
        ev.iter()
            .filter(|&&e| e == ZMQ_EVENT_CONNECT_RETRIED)
            .count()
    };
    assert!(retried(&before) >= 4, "{before:?}");
    // After a disconnect, b's next refusal is its last.
    sub.disconnect(&a).unwrap();
    let _ = events(&mon, Duration::from_millis(200));
    let after = events(&mon, Duration::from_millis(300));
    assert_eq!(retried(&after), 0, "still retrying: {after:?}");
}

/// A tcp connect that meets itself (source and destination the same
/// address and port) hands a REQ a REQ peer: a protocol error in libzmq
/// 4.3.5, which ended the connect for good; libzmq master (and we) keep
/// reconnecting.
#[test]
fn a_connection_to_itself_does_not_stop_reconnecting() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let ctx = Context::new();
    let req = ctx.socket(SocketType::REQ).unwrap();
    req.set_reconnect_ivl(20).unwrap();
    req.monitor("inproc://self-mon", ZMQ_EVENT_ALL).unwrap();
    let mon = ctx.socket(SocketType::PAIR).unwrap();
    mon.connect("inproc://self-mon").unwrap();
    req.connect(&format!("tcp://127.0.0.1:{port};127.0.0.1:{port}"))
        .unwrap();
    let ev = events(&mon, Duration::from_millis(600));
    let count = |want: i32| ev.iter().filter(|&&e| e == want).count();
    // Every attempt connects (to itself), fails its handshake, and the
    // session tries again.
    assert!(
        count(ZMQ_EVENT_CONNECTED) >= 2,
        "reconnecting stopped: {ev:?}"
    );
    assert!(
        count(ZMQ_EVENT_CONNECT_RETRIED) >= 2,
        "reconnecting stopped: {ev:?}"
    );
}
