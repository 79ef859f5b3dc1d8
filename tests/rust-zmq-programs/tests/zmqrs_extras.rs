//! What zmqrs adds to the `zmq` crate's API, through the same `zmq::` path:
//! the draft socket types, messages that hand themselves back, optional
//! proxy sockets, and where zmqrs answers with a value where the `zmq`
//! crate would panic. (../against-rust-zmq.sh leaves this file out.)

use std::os::unix::io::AsRawFd;

#[test]
fn draft_socket_types_are_variants() {
    let ctx = zmq::Context::new();
    let server = ctx.socket(zmq::SERVER).unwrap();
    server.bind("inproc://extras-server").unwrap();
    let client = ctx.socket(zmq::CLIENT).unwrap();
    client.connect("inproc://extras-server").unwrap();
    client.send("hi", 0).unwrap();
    let msg = server.recv_msg(0).unwrap();
    assert_ne!(msg.routing_id(), 0);
    let mut reply = zmq::Message::from("ho");
    reply.set_routing_id(msg.routing_id()).unwrap();
    server.send(reply, 0).unwrap();
    assert_eq!(client.recv_bytes(0).unwrap(), b"ho");
    assert_eq!(server.get_socket_type().unwrap(), zmq::SERVER);
    assert!(zmq::SocketType::SERVER.is_draft() && !zmq::REQ.is_draft());
    assert_eq!(zmq::has("draft"), Some(true));
}

#[test]
fn messages_convert_from_more_types() {
    let owned = String::from("owned");
    let ctx = zmq::Context::new();
    let a = ctx.socket(zmq::PAIR).unwrap();
    a.bind("inproc://extras-convert").unwrap();
    let b = ctx.socket(zmq::PAIR).unwrap();
    b.connect("inproc://extras-convert").unwrap();
    a.send(owned, 0).unwrap();
    a.send(b"array", 0).unwrap();
    let shared = zmq::Message::from("shared body, cloned without a copy");
    a.send(&shared, 0).unwrap();
    assert_eq!(b.recv_bytes(0).unwrap(), b"owned");
    assert_eq!(b.recv_bytes(0).unwrap(), b"array");
    assert_eq!(b.recv_msg(0).unwrap(), shared);
}

#[test]
fn a_failed_send_hands_the_message_back() {
    let ctx = zmq::Context::new();
    let push = ctx.socket(zmq::PUSH).unwrap();
    let (err, back) = push
        .send_msg_or_return(zmq::Message::from("keep me"), zmq::DONTWAIT)
        .unwrap_err();
    assert_eq!(err, zmq::Error::EAGAIN);
    assert_eq!(back.as_str(), Some("keep me"));
}

#[test]
fn raw_pointers_round_trip() {
    let ctx = zmq::Context::new();
    let mut socket = ctx.socket(zmq::PUB).unwrap();
    let p = socket.as_mut_ptr();
    assert_eq!(p, &mut socket as *mut zmq::Socket as *mut std::ffi::c_void);
    let raw = socket.into_raw();
    // SAFETY: raw comes from into_raw and is reclaimed once.
    let socket = unsafe { zmq::Socket::from_raw(raw) };
    assert_eq!(socket.get_socket_type().unwrap(), zmq::PUB);
    assert!(socket.as_raw_fd() >= 0);
}

#[test]
fn answers_where_the_zmq_crate_panics() {
    assert_eq!(zmq::Error::from_raw(123_456), zmq::Error::Os(123_456));
    assert_eq!(zmq::Error::from_raw(-7), zmq::Error::EINVAL);
    assert_eq!(zmq::Error::try_from_raw(123_456), None);
    assert_eq!(zmq::SocketEvent::from_raw(0x8000), zmq::SocketEvent::ALL);
    assert_eq!(zmq::SocketEvent::try_from_raw(0x8000), None);
    assert_eq!(zmq::SocketType::from_raw(99), None);
    // A text option longer than the zmq crate's fixed buffer.
    let ctx = zmq::Context::new();
    let s = ctx.socket(zmq::PAIR).unwrap();
    let name = format!("inproc://{}", "n".repeat(5000));
    s.bind(&name).unwrap();
    assert_eq!(s.get_last_endpoint().unwrap(), Ok(name));
}

#[test]
fn proxy_with_optional_sockets_and_statistics() {
    let ctx = zmq::Context::new();
    let front = ctx.socket(zmq::PULL).unwrap();
    front.bind("inproc://extras-front").unwrap();
    let back = ctx.socket(zmq::PUSH).unwrap();
    back.bind("inproc://extras-back").unwrap();
    let control = ctx.socket(zmq::PAIR).unwrap();
    control.bind("inproc://extras-control").unwrap();
    let proxy = std::thread::spawn(move || zmq::proxy_with(&front, &back, None, Some(&control)));

    let input = ctx.socket(zmq::PUSH).unwrap();
    input.connect("inproc://extras-front").unwrap();
    let output = ctx.socket(zmq::PULL).unwrap();
    output.connect("inproc://extras-back").unwrap();
    input.send("one", 0).unwrap();
    assert_eq!(output.recv_bytes(0).unwrap(), b"one");

    let steer = ctx.socket(zmq::PAIR).unwrap();
    steer.connect("inproc://extras-control").unwrap();
    steer.send("STATISTICS", 0).unwrap();
    let stats = steer.recv_multipart(0).unwrap();
    assert_eq!(stats.len(), 8);
    let frontend_in = u64::from_ne_bytes(stats[0].clone().try_into().unwrap());
    assert_eq!(frontend_in, 1);
    steer.send("TERMINATE", 0).unwrap();
    assert_eq!(proxy.join().unwrap(), Ok(()));
}

#[test]
fn newer_options() {
    let ctx = zmq::Context::new();
    let s = ctx.socket(zmq::ROUTER).unwrap();
    s.set_tcp_maxrt(1000).unwrap();
    assert_eq!(s.get_tcp_maxrt().unwrap(), 1000);
    s.set_router_notify(3).unwrap();
    assert_eq!(s.get_router_notify().unwrap(), 3);
    s.set_connect_routing_id(b"peer").unwrap();
    let x = ctx.socket(zmq::XPUB).unwrap();
    x.set_xpub_nodrop(true).unwrap();
    x.set_xpub_manual(true).unwrap();
    x.set_invert_matching(true).unwrap();
    assert!(x.is_invert_matching().unwrap());
    assert_eq!(s.last_endpoint().unwrap(), "");
}
