//! Publish-subscribe through the Rust API over inproc, tcp and ipc.

use std::thread;
use std::time::Duration;

use zmqrs::{Context, SocketType, DONTWAIT};

fn wait_for<F: FnMut() -> bool>(mut f: F) {
    for _ in 0..500 {
        if f() {
            return;
        }
        thread::sleep(Duration::from_millis(5));
    }
    panic!("condition never became true");
}

#[test]
fn pub_sub_filters_by_prefix() {
    for ep in ["inproc://ps", "tcp://127.0.0.1:*"] {
        let ctx = Context::new();
        let publisher = ctx.socket(SocketType::PUB).unwrap();
        publisher.bind(ep).unwrap();
        let ep = publisher.last_endpoint().unwrap();
        let sub = ctx.socket(SocketType::SUB).unwrap();
        sub.set_subscribe(b"news").unwrap();
        sub.connect(&ep).unwrap();
        // Subscriptions travel asynchronously: publish until one arrives.
        wait_for(|| {
            publisher.send("news: first", 0).unwrap();
            sub.recv_bytes(DONTWAIT).is_ok()
        });
        publisher.send("sport: no", 0).unwrap();
        publisher.send("news: yes", 0).unwrap();
        sub.set_rcvtimeo(2000).unwrap();
        // Earlier probes may still be in flight; the filtered one never comes.
        loop {
            let m = sub.recv_bytes(0).unwrap();
            assert!(m.starts_with(b"news"), "{:?}", String::from_utf8_lossy(&m));
            if m == b"news: yes" {
                break;
            }
        }
    }
}

#[test]
fn xpub_sees_subscriptions_and_cancels() {
    let ctx = Context::new();
    let xpub = ctx.socket(SocketType::XPUB).unwrap();
    xpub.bind("tcp://127.0.0.1:*").unwrap();
    let ep = xpub.last_endpoint().unwrap();
    let sub = ctx.socket(SocketType::SUB).unwrap();
    sub.connect(&ep).unwrap();
    sub.set_subscribe(b"a").unwrap();
    xpub.set_rcvtimeo(2000).unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x01a");
    sub.set_unsubscribe(b"a").unwrap();
    assert_eq!(xpub.recv_bytes(0).unwrap(), b"\x00a");
}

#[test]
fn xsub_forwarding_device() {
    let ctx = Context::new();
    let publisher = ctx.socket(SocketType::PUB).unwrap();
    publisher.bind("inproc://up").unwrap();
    let xsub = ctx.socket(SocketType::XSUB).unwrap();
    xsub.connect("inproc://up").unwrap();
    let xpub = ctx.socket(SocketType::XPUB).unwrap();
    xpub.bind("inproc://down").unwrap();
    let sub = ctx.socket(SocketType::SUB).unwrap();
    sub.connect("inproc://down").unwrap();
    sub.set_subscribe(b"").unwrap();
    // Forward the subscription upstream by hand.
    xpub.set_rcvtimeo(2000).unwrap();
    let s = xpub.recv_bytes(0).unwrap();
    assert_eq!(s, b"\x01");
    xsub.send(s, 0).unwrap();
    wait_for(|| {
        publisher.send("hello", 0).unwrap();
        xsub.recv_bytes(DONTWAIT).is_ok()
    });
    xpub.send("world", 0).unwrap();
    sub.set_rcvtimeo(2000).unwrap();
    assert_eq!(sub.recv_bytes(0).unwrap(), b"world");
}

/// RADIO/DISH (draft): groups over tcp (JOIN/LEAVE on the wire) and udp
/// (one datagram per message), and DGRAM's address frames.
#[test]
fn radio_dish_and_dgram() {
    use zmqrs::constants::{ZMQ_DGRAM, ZMQ_DISH, ZMQ_RADIO};
    use zmqrs::Message;
    let ctx = Context::new();
    for transport in ["tcp", "udp"] {
        let dish = ctx.socket_raw(ZMQ_DISH).unwrap();
        dish.set_rcvtimeo(100).unwrap();
        let radio = ctx.socket_raw(ZMQ_RADIO).unwrap();
        if transport == "tcp" {
            radio.bind("tcp://127.0.0.1:*").unwrap();
            dish.connect(&radio.last_endpoint().unwrap()).unwrap();
        } else {
            dish.bind("udp://127.0.0.1:5577").unwrap();
            radio.connect("udp://127.0.0.1:5577").unwrap();
        }
        dish.join(b"weather").unwrap();
        let send = |group: &[u8], body: &[u8]| {
            let mut m = Message::from_slice(body);
            m.set_group(group).unwrap();
            radio.send(m, 0).unwrap();
        };
        // Until the join reaches the RADIO, messages are dropped.
        wait_for(|| {
            send(b"weather", b"sync");
            dish.recv_msg(0).is_ok()
        });
        while dish.recv_msg(0).is_ok() {}
        send(b"sports", b"not joined");
        send(b"weather", b"sunny");
        let m = dish.recv_msg(0).unwrap();
        assert_eq!(
            (m.group(), m.as_slice()),
            ("weather", &b"sunny"[..]),
            "{transport}"
        );
        assert!(dish.recv_msg(0).is_err(), "{transport}: only joined groups");
    }

    let a = ctx.socket_raw(ZMQ_DGRAM).unwrap();
    let b = ctx.socket_raw(ZMQ_DGRAM).unwrap();
    a.bind("udp://127.0.0.1:5578").unwrap();
    b.bind("udp://127.0.0.1:5579").unwrap();
    b.set_rcvtimeo(2000).unwrap();
    a.send_multipart(["127.0.0.1:5579", "hello"], 0).unwrap();
    let got = b.recv_multipart(0).unwrap();
    assert_eq!(got[0], b"127.0.0.1:5578\0");
    assert_eq!(got[1], b"hello");
}
