//! Security mechanisms over real connections: NULL with ZAP, PLAIN, and the
//! ZAP handler dialogue (RFC 27) with its effect on metadata and monitor
//! events.

use std::thread;

use zmqrs::constants::*;
use zmqrs::{Context, Socket, SocketType};

/// A ZAP handler answering `status` (and user id "user") to every request,
/// until it gets a request for domain "STOP" or its context terminates.
/// Returns the requests it saw.
fn spawn_handler(ctx: &Context, status: &'static str) -> thread::JoinHandle<Vec<Vec<Vec<u8>>>> {
    let handler = ctx.socket(SocketType::REP).unwrap();
    handler.bind("inproc://zeromq.zap.01").unwrap();
    thread::spawn(move || {
        let mut seen = Vec::new();
        while let Ok(req) = handler.recv_multipart(0) {
            if req.get(2).map(|d| d.as_slice()) == Some(b"STOP") {
                break;
            }
            let mut md = Vec::new();
            md.push(5u8);
            md.extend_from_slice(b"Hello");
            md.extend_from_slice(&5u32.to_be_bytes());
            md.extend_from_slice(b"World");
            handler
                .send_multipart(
                    [
                        b"1.0".to_vec(),
                        req[1].clone(),
                        status.as_bytes().to_vec(),
                        b"text".to_vec(),
                        b"user".to_vec(),
                        md,
                    ],
                    0,
                )
                .unwrap();
            seen.push(req);
        }
        seen
    })
}

fn stop_handler(ctx: &Context, h: thread::JoinHandle<Vec<Vec<Vec<u8>>>>) -> Vec<Vec<Vec<u8>>> {
    let req = ctx.socket(SocketType::REQ).unwrap();
    req.connect("inproc://zeromq.zap.01").unwrap();
    req.send_multipart(["1.0", "1", "STOP", "", "", "NULL"], 0)
        .unwrap();
    h.join().unwrap()
}

fn pair(
    ctx: &Context,
    server_setup: impl Fn(&Socket),
    client_setup: impl Fn(&Socket),
) -> (Socket, Socket) {
    let server = ctx.socket(SocketType::DEALER).unwrap();
    server_setup(&server);
    server.set_rcvtimeo(2000).unwrap();
    server.set_linger(0).unwrap();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let client = ctx.socket(SocketType::DEALER).unwrap();
    client_setup(&client);
    client.set_rcvtimeo(2000).unwrap();
    client.set_linger(0).unwrap();
    client.connect(&server.last_endpoint().unwrap()).unwrap();
    (server, client)
}

#[test]
fn null_with_zap_accepts_and_sets_metadata() {
    let ctx = Context::new();
    let h = spawn_handler(&ctx, "200");
    let (server, client) = pair(
        &ctx,
        |s| s.setsockopt_raw(ZMQ_ZAP_DOMAIN, Some(b"DOMAIN")).unwrap(),
        |_| {},
    );
    client.send("hi", 0).unwrap();
    let msg = server.recv_msg(0).unwrap();
    assert_eq!(msg.as_slice(), b"hi");
    assert_eq!(msg.property("User-Id"), Some("user"));
    assert_eq!(msg.property("Hello"), Some("World"));
    assert_eq!(msg.property("Socket-Type"), Some("DEALER"));
    let seen = stop_handler(&ctx, h);
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0][2], b"DOMAIN");
    assert_eq!(seen[0][3], b"127.0.0.1");
    assert_eq!(seen[0][5], b"NULL");
}

#[test]
fn null_with_zap_refusal_blocks_traffic() {
    let ctx = Context::new();
    let h = spawn_handler(&ctx, "400");
    let (server, client) = pair(
        &ctx,
        |s| s.setsockopt_raw(ZMQ_ZAP_DOMAIN, Some(b"DOMAIN")).unwrap(),
        |_| {},
    );
    client.set_sndtimeo(500).unwrap();
    let _ = client.send("hi", 0);
    assert!(server.recv_msg(0).is_err());
    assert!(!stop_handler(&ctx, h).is_empty());
}

#[test]
fn plain_accepted_and_refused() {
    for (status, works) in [("200", true), ("400", false)] {
        let ctx = Context::new();
        let h = spawn_handler(&ctx, status);
        let (server, client) = pair(
            &ctx,
            |s| {
                s.setsockopt_raw(ZMQ_PLAIN_SERVER, Some(&1i32.to_ne_bytes()))
                    .unwrap()
            },
            |c| {
                c.setsockopt_raw(ZMQ_PLAIN_USERNAME, Some(b"admin"))
                    .unwrap();
                c.setsockopt_raw(ZMQ_PLAIN_PASSWORD, Some(b"password"))
                    .unwrap();
            },
        );
        client.set_sndtimeo(500).unwrap();
        let _ = client.send("hi", 0);
        let got = server.recv_msg(0);
        assert_eq!(got.is_ok(), works, "status {status}");
        if let Ok(msg) = got {
            assert_eq!(msg.property("User-Id"), Some("user"));
        }
        let seen = stop_handler(&ctx, h);
        assert_eq!(seen[0][5], b"PLAIN");
        assert_eq!(seen[0][6], b"admin");
        assert_eq!(seen[0][7], b"password");
    }
}

#[test]
fn plain_without_handler_refuses() {
    let ctx = Context::new();
    let (server, client) = pair(
        &ctx,
        |s| {
            s.setsockopt_raw(ZMQ_PLAIN_SERVER, Some(&1i32.to_ne_bytes()))
                .unwrap()
        },
        |c| {
            c.setsockopt_raw(ZMQ_PLAIN_USERNAME, Some(b"admin"))
                .unwrap();
        },
    );
    client.set_sndtimeo(500).unwrap();
    let _ = client.send("hi", 0);
    assert!(server.recv_msg(0).is_err());
}
