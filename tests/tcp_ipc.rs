//! The Rust API end to end over tcp and ipc: every pattern, large and
//! multi-part messages, reconnects, unbind/disconnect, LAST_ENDPOINT.

use std::thread;
use std::time::Duration;

use zmqrs::{Context, Error, SocketType};

fn tmp_ipc(name: &str) -> String {
    let dir = std::env::temp_dir().join(format!("zmqrs-test-{}-{name}", std::process::id()));
    let _ = std::fs::create_dir_all(&dir);
    format!("ipc://{}/sock", dir.display())
}

fn bound(s: &zmqrs::Socket, ep: &str) -> String {
    s.bind(ep).unwrap();
    s.last_endpoint().unwrap()
}

#[test]
fn push_pull_tcp() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::PULL).unwrap();
    let ep = bound(&pull, "tcp://127.0.0.1:*");
    assert!(ep.starts_with("tcp://127.0.0.1:"), "{ep}");
    let push = ctx.socket(SocketType::PUSH).unwrap();
    push.connect(&ep).unwrap();
    for i in 0..1000 {
        push.send(format!("msg {i}").as_str(), 0).unwrap();
    }
    for i in 0..1000 {
        assert_eq!(pull.recv_bytes(0).unwrap(), format!("msg {i}").as_bytes());
    }
}

#[test]
fn req_rep_ipc_and_tcp() {
    for ep in [tmp_ipc("reqrep"), "tcp://127.0.0.1:*".to_string()] {
        let ctx = Context::new();
        let rep = ctx.socket(SocketType::REP).unwrap();
        let ep = bound(&rep, &ep);
        let req = ctx.socket(SocketType::REQ).unwrap();
        req.connect(&ep).unwrap();
        for _ in 0..50 {
            req.send_multipart(["a", "", "b"], 0).unwrap();
            assert_eq!(
                rep.recv_multipart(0).unwrap(),
                vec![b"a".to_vec(), vec![], b"b".to_vec()]
            );
            rep.send("ok", 0).unwrap();
            assert_eq!(req.recv_bytes(0).unwrap(), b"ok");
        }
    }
}

#[test]
fn dealer_router_identities_and_big_messages() {
    let ctx = Context::new();
    let router = ctx.socket(SocketType::ROUTER).unwrap();
    let ep = bound(&router, "tcp://127.0.0.1:*");
    let dealer = ctx.socket(SocketType::DEALER).unwrap();
    dealer.set_identity(b"dealer").unwrap();
    dealer.connect(&ep).unwrap();
    let big = vec![0xAB; 1 << 20];
    dealer.send_multipart([&b""[..], &big[..]], 0).unwrap();
    let parts = router.recv_multipart(0).unwrap();
    assert_eq!(parts[0], b"dealer");
    assert_eq!(parts[1], b"");
    assert_eq!(parts[2], big);
    router
        .send_multipart([&b"dealer"[..], b"", b"reply"], 0)
        .unwrap();
    assert_eq!(
        dealer.recv_multipart(0).unwrap(),
        vec![vec![], b"reply".to_vec()]
    );
}

#[test]
fn reconnect_keeps_queued_messages() {
    let ctx = Context::new();
    let push = ctx.socket(SocketType::PUSH).unwrap();
    push.set_reconnect_ivl(20).unwrap();
    let ep = {
        let pull = ctx.socket(SocketType::PULL).unwrap();
        let ep = bound(&pull, "tcp://127.0.0.1:*");
        push.connect(&ep).unwrap();
        push.send("first", 0).unwrap();
        assert_eq!(pull.recv_bytes(0).unwrap(), b"first");
        ep
    };
    // The peer is gone; messages queue in the pipe until it comes back.
    thread::sleep(Duration::from_millis(50));
    push.send("queued", 0).unwrap();
    let pull = ctx.socket(SocketType::PULL).unwrap();
    pull.bind(&ep).unwrap();
    pull.set_rcvtimeo(5000).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"queued");
}

#[test]
fn connect_before_bind_tcp() {
    let ctx = Context::new();
    let probe = ctx.socket(SocketType::PULL).unwrap();
    let ep = bound(&probe, "tcp://127.0.0.1:*");
    probe.unbind(&ep).unwrap();
    drop(probe);
    let push = ctx.socket(SocketType::PUSH).unwrap();
    push.set_reconnect_ivl(10).unwrap();
    push.connect(&ep).unwrap();
    push.send("early", 0).unwrap();
    thread::sleep(Duration::from_millis(30));
    let pull = ctx.socket(SocketType::PULL).unwrap();
    pull.set_rcvtimeo(5000).unwrap();
    pull.bind(&ep).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"early");
}

#[test]
fn unbind_and_disconnect_errors() {
    let ctx = Context::new();
    let s = ctx.socket(SocketType::PAIR).unwrap();
    let ep = bound(&s, "tcp://127.0.0.1:*");
    assert_eq!(s.unbind("tcp://127.0.0.1:1").unwrap_err(), Error::ENOENT);
    s.unbind(&ep).unwrap();
    assert_eq!(s.unbind(&ep).unwrap_err(), Error::ENOENT);
    assert_eq!(
        s.connect("tcp://localhost:invalid").unwrap_err(),
        Error::EINVAL
    );
    assert_eq!(s.bind("tcp://1.2.3.4.5:1").unwrap_err(), Error::ENODEV);
    let other = ctx.socket(SocketType::PAIR).unwrap();
    let ep2 = bound(&other, "tcp://127.0.0.1:*");
    assert_eq!(s.bind(&ep2).unwrap_err(), Error::EADDRINUSE);
}

#[test]
fn pair_ipc_wildcard() {
    let ctx = Context::new();
    let a = ctx.socket(SocketType::PAIR).unwrap();
    let ep = bound(&a, "ipc://*");
    assert!(ep.starts_with("ipc://"), "{ep}");
    let b = ctx.socket(SocketType::PAIR).unwrap();
    b.connect(&ep).unwrap();
    b.send("x", 0).unwrap();
    assert_eq!(a.recv_bytes(0).unwrap(), b"x");
    a.send("y", 0).unwrap();
    assert_eq!(b.recv_bytes(0).unwrap(), b"y");
}

#[test]
fn close_with_linger_delivers() {
    let ctx = Context::new();
    let pull = ctx.socket(SocketType::PULL).unwrap();
    let ep = bound(&pull, "tcp://127.0.0.1:*");
    {
        let push = ctx.socket(SocketType::PUSH).unwrap();
        push.connect(&ep).unwrap();
        for i in 0..100 {
            push.send(format!("{i}").as_str(), 0).unwrap();
        }
    }
    for i in 0..100 {
        assert_eq!(pull.recv_bytes(0).unwrap(), format!("{i}").as_bytes());
    }
}

#[test]
fn peer_connect_returns_routing_id() {
    use zmqrs::constants::{ZMQ_CHANNEL, ZMQ_PEER};
    let ctx = Context::new();
    let a = ctx.socket_raw(ZMQ_PEER).unwrap();
    a.bind("tcp://127.0.0.1:*").unwrap();
    let b = ctx.socket_raw(ZMQ_PEER).unwrap();
    let id = b.connect_peer(&a.last_endpoint().unwrap()).unwrap();
    assert_ne!(id, 0);
    let mut m = zmqrs::Message::from_slice(b"to a");
    m.set_routing_id(id).unwrap();
    b.send(m, 0).unwrap();
    let got = a.recv_msg(0).unwrap();
    assert_eq!(got.as_slice(), b"to a");
    let mut reply = zmqrs::Message::from_slice(b"to b");
    reply.set_routing_id(got.routing_id()).unwrap();
    a.send(reply, 0).unwrap();
    let back = b.recv_msg(0).unwrap();
    assert_eq!((back.as_slice(), back.routing_id()), (&b"to b"[..], id));
    // Only PEER sockets have it.
    let c = ctx.socket_raw(ZMQ_CHANNEL).unwrap();
    assert_eq!(
        c.connect_peer("tcp://127.0.0.1:1").unwrap_err(),
        Error::ENOTSUP
    );
}

/// Closing a sender with linger delivers everything it accepted, even when
/// the kernel's buffers are full at that moment: the session used to make
/// one last write when its pipe was done and drop what did not fit.
#[test]
fn linger_delivers_the_tail_through_full_buffers() {
    const N: usize = 20_000;
    for ep in ["tcp://127.0.0.1:*", tmp_ipc("linger-tail").as_str()] {
        let ctx = Context::new();
        let pull = ctx.socket(SocketType::PULL).unwrap();
        pull.set_rcvhwm(100).unwrap();
        pull.set_rcvbuf(4096).unwrap();
        let ep = bound(&pull, ep);
        let reader = thread::spawn(move || {
            let mut got = 0;
            pull.set_rcvtimeo(3000).unwrap();
            while pull.recv_bytes(0).is_ok() {
                got += 1;
                // A slow reader keeps the sender's kernel buffer full.
                if got % 1000 == 0 {
                    thread::sleep(Duration::from_millis(10));
                }
                if got == N {
                    break;
                }
            }
            got
        });
        let sctx = Context::new();
        let push = sctx.socket(SocketType::PUSH).unwrap();
        push.set_sndbuf(4096).unwrap();
        push.set_sndhwm(0).unwrap();
        push.connect(&ep).unwrap();
        for i in 0..N {
            push.send(format!("{i:010}").as_str(), 0).unwrap();
        }
        // Linger is infinite: closing waits until every byte is written.
        drop(push);
        drop(sctx);
        assert_eq!(reader.join().unwrap(), N, "{ep}: messages lost at close");
    }
}
