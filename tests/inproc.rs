//! The Rust API end to end over inproc: every request-reply and pipeline
//! pattern, connect-before-bind, HWM, and context termination.

use std::thread;
use std::time::Duration;

use zmqrs::{Context, Error, SocketType, DONTWAIT, SNDMORE};

#[test]
fn pair_both_ways() {
    let ctx = Context::new();
    let a = ctx.socket(SocketType::PAIR).unwrap();
    let b = ctx.socket(SocketType::PAIR).unwrap();
    a.bind("inproc://pair").unwrap();
    b.connect("inproc://pair").unwrap();
    a.send("hello", 0).unwrap();
    assert_eq!(b.recv_bytes(0).unwrap(), b"hello");
    b.send_multipart(["x", "y"], 0).unwrap();
    assert_eq!(
        a.recv_multipart(0).unwrap(),
        vec![b"x".to_vec(), b"y".to_vec()]
    );
}

#[test]
fn connect_before_bind() {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::PUSH).unwrap();
    push.connect("inproc://later").unwrap();
    push.send("queued", 0).unwrap();
    let pull = ctx.socket(SocketType::PULL).unwrap();
    pull.bind("inproc://later").unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"queued");
}

#[test]
fn req_rep_round_trips() {
    let ctx = Context::new();
    let rep = ctx.socket(SocketType::REP).unwrap();
    rep.bind("inproc://rr").unwrap();
    let req = ctx.socket(SocketType::REQ).unwrap();
    req.connect("inproc://rr").unwrap();
    for i in 0..100 {
        req.send(format!("ping {i}").as_str(), 0).unwrap();
        assert_eq!(rep.recv_bytes(0).unwrap(), format!("ping {i}").as_bytes());
        rep.send("pong", 0).unwrap();
        assert_eq!(req.recv_bytes(0).unwrap(), b"pong");
    }
    // Strict state machine.
    assert_eq!(req.recv_bytes(DONTWAIT).unwrap_err(), Error::EFSM);
    assert_eq!(rep.send("x", 0).unwrap_err(), Error::EFSM);
}

#[test]
fn dealer_router_envelopes() {
    let ctx = Context::new();
    let router = ctx.socket(SocketType::ROUTER).unwrap();
    router.bind("inproc://dr").unwrap();
    let dealer = ctx.socket(SocketType::DEALER).unwrap();
    dealer.set_identity(b"D1").unwrap();
    dealer.connect("inproc://dr").unwrap();
    dealer.send_multipart(["", "hi"], 0).unwrap();
    let parts = router.recv_multipart(0).unwrap();
    assert_eq!(parts, vec![b"D1".to_vec(), vec![], b"hi".to_vec()]);
    router.send("D1", SNDMORE).unwrap();
    router.send("", SNDMORE).unwrap();
    router.send("back", 0).unwrap();
    assert_eq!(
        dealer.recv_multipart(0).unwrap(),
        vec![vec![], b"back".to_vec()]
    );
    // Unknown peer: dropped silently, or EHOSTUNREACH with ROUTER_MANDATORY.
    router.send("nobody", SNDMORE).unwrap();
    router.send("lost", 0).unwrap();
    router.set_router_mandatory(true).unwrap();
    assert_eq!(
        router.send("nobody", SNDMORE).unwrap_err(),
        Error::EHOSTUNREACH
    );
}

#[test]
fn push_blocks_at_hwm_then_resumes() {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::PUSH).unwrap();
    push.set_sndhwm(5).unwrap();
    push.bind("inproc://hwm").unwrap();
    let pull = ctx.socket(SocketType::PULL).unwrap();
    pull.set_rcvhwm(5).unwrap();
    pull.connect("inproc://hwm").unwrap();
    let mut sent = 0;
    while push.send("m", DONTWAIT).is_ok() {
        sent += 1;
        assert!(sent <= 1000, "HWM never reached");
    }
    assert_eq!(sent, 10); // inproc HWMs of both sides add up
    for _ in 0..sent {
        pull.recv_bytes(0).unwrap();
    }
    // As in libzmq, a non-blocking send looks at the reader's credit at most
    // once a millisecond; ZMQ_EVENTS (what zmq_poll asks) looks at it now.
    assert!(push.get_events().unwrap().contains(zmqrs::POLLOUT));
    assert!(push.send("again", DONTWAIT).is_ok());
}

#[test]
fn many_messages_across_threads() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::PULL).unwrap();
    pull.bind("inproc://stream").unwrap();
    let ctx2 = ctx.clone();
    let n = 100_000;
    let t = thread::spawn(move || {
        let push = ctx2.socket(SocketType::PUSH).unwrap();
        push.connect("inproc://stream").unwrap();
        for i in 0..n {
            push.send(format!("{i}").as_str(), 0).unwrap();
        }
    });
    for i in 0..n {
        assert_eq!(pull.recv_bytes(0).unwrap(), format!("{i}").as_bytes());
    }
    t.join().unwrap();
}

#[test]
fn blocked_recv_returns_eterm() {
    let mut ctx = Context::new();
    let ctx2 = ctx.clone();
    let t = thread::spawn(move || {
        let s = ctx2.socket(SocketType::PULL).unwrap();
        s.bind("inproc://term").unwrap();
        let r = s.recv_bytes(0);
        drop(s);
        r
    });
    thread::sleep(Duration::from_millis(100));
    ctx.shutdown();
    assert_eq!(t.join().unwrap().unwrap_err(), Error::ETERM);
    ctx.destroy().unwrap();
}

#[test]
fn rcvtimeo_expires() {
    let ctx = Context::new();
    let s = ctx.socket(SocketType::PULL).unwrap();
    s.set_rcvtimeo(50).unwrap();
    s.bind("inproc://timeo").unwrap();
    let t0 = std::time::Instant::now();
    assert_eq!(s.recv_bytes(0).unwrap_err(), Error::EAGAIN);
    assert!(t0.elapsed() >= Duration::from_millis(45));
}

#[test]
fn poll_sees_readable_socket() {
    let ctx = Context::new();
    let a = ctx.socket(SocketType::PAIR).unwrap();
    let b = ctx.socket(SocketType::PAIR).unwrap();
    a.bind("inproc://poll").unwrap();
    b.connect("inproc://poll").unwrap();
    let mut items = [b.as_poll_item(zmqrs::POLLIN)];
    assert_eq!(zmqrs::poll(&mut items, 0).unwrap(), 0);
    a.send("x", 0).unwrap();
    assert_eq!(zmqrs::poll(&mut items, 1000).unwrap(), 1);
    assert!(items[0].is_readable());
}

#[test]
fn close_delivers_pending_messages() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::PULL).unwrap();
    pull.bind("inproc://linger").unwrap();
    {
        let push = ctx.socket(SocketType::PUSH).unwrap();
        push.connect("inproc://linger").unwrap();
        for i in 0..10 {
            push.send(format!("{i}").as_str(), 0).unwrap();
        }
    }
    for i in 0..10 {
        assert_eq!(pull.recv_bytes(0).unwrap(), format!("{i}").as_bytes());
    }
}
