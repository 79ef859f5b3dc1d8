//! Socket options through the `zmq` crate's typed accessors: libzmq's
//! default values, and values read back as they were set. Uses only
//! rust-zmq 0.10's API, so that ../against-rust-zmq.sh can run it against
//! the real crate on the real libzmq and show the same answers.

use zmq::{Context, Mechanism, SocketType};

fn socket(ctx: &Context, t: SocketType) -> zmq::Socket {
    ctx.socket(t).expect("socket")
}

#[test]
fn defaults_are_libzmq_defaults() {
    let ctx = Context::new();
    let s = socket(&ctx, zmq::DEALER);
    assert_eq!(s.get_socket_type().unwrap(), zmq::DEALER);
    assert!(!s.get_rcvmore().unwrap());
    assert!(s.get_fd().unwrap() >= 0);
    assert_eq!(s.get_sndhwm().unwrap(), 1000);
    assert_eq!(s.get_rcvhwm().unwrap(), 1000);
    assert_eq!(s.get_affinity().unwrap(), 0);
    assert_eq!(s.get_rate().unwrap(), 100);
    assert_eq!(s.get_recovery_ivl().unwrap(), 10000);
    assert_eq!(s.get_sndbuf().unwrap(), -1);
    assert_eq!(s.get_rcvbuf().unwrap(), -1);
    assert_eq!(s.get_tos().unwrap(), 0);
    assert_eq!(s.get_linger().unwrap(), -1);
    assert_eq!(s.get_reconnect_ivl().unwrap(), 100);
    assert_eq!(s.get_reconnect_ivl_max().unwrap(), 0);
    assert_eq!(s.get_backlog().unwrap(), 100);
    assert_eq!(s.get_maxmsgsize().unwrap(), -1);
    assert_eq!(s.get_multicast_hops().unwrap(), 1);
    assert_eq!(s.get_rcvtimeo().unwrap(), -1);
    assert_eq!(s.get_sndtimeo().unwrap(), -1);
    assert!(!s.is_ipv6().unwrap());
    assert!(!s.is_immediate().unwrap());
    assert!(!s.is_conflate().unwrap());
    assert_eq!(s.get_tcp_keepalive().unwrap(), -1);
    assert_eq!(s.get_tcp_keepalive_cnt().unwrap(), -1);
    assert_eq!(s.get_tcp_keepalive_idle().unwrap(), -1);
    assert_eq!(s.get_tcp_keepalive_intvl().unwrap(), -1);
    assert_eq!(s.get_handshake_ivl().unwrap(), 30000);
    assert_eq!(s.get_heartbeat_ivl().unwrap(), 0);
    assert_eq!(s.get_heartbeat_ttl().unwrap(), 0);
    assert_eq!(s.get_heartbeat_timeout().unwrap(), -1);
    assert_eq!(s.get_connect_timeout().unwrap(), 0);
    assert_eq!(s.get_identity().unwrap(), b"");
    assert_eq!(s.get_mechanism().unwrap(), Mechanism::ZMQ_NULL);
    assert!(!s.is_plain_server().unwrap());
    if zmq::has("curve") == Some(true) {
        assert!(!s.is_curve_server().unwrap());
    }
    assert_eq!(s.get_plain_username().unwrap(), Ok(String::new()));
    assert_eq!(s.get_plain_password().unwrap(), Ok(String::new()));
    assert_eq!(s.get_zap_domain().unwrap(), Ok(String::new()));
    assert_eq!(s.get_socks_proxy().unwrap(), Ok(String::new()));
    assert_eq!(s.get_last_endpoint().unwrap(), Ok(String::new()));
    assert!(!s.get_events().unwrap().contains(zmq::POLLIN));
}

#[test]
fn values_read_back() {
    let ctx = Context::new();
    let s = socket(&ctx, zmq::DEALER);
    s.set_sndhwm(5).unwrap();
    assert_eq!(s.get_sndhwm().unwrap(), 5);
    s.set_rcvhwm(6).unwrap();
    assert_eq!(s.get_rcvhwm().unwrap(), 6);
    s.set_affinity(3).unwrap();
    assert_eq!(s.get_affinity().unwrap(), 3);
    s.set_rate(200).unwrap();
    assert_eq!(s.get_rate().unwrap(), 200);
    s.set_recovery_ivl(500).unwrap();
    assert_eq!(s.get_recovery_ivl().unwrap(), 500);
    s.set_sndbuf(65536).unwrap();
    assert_eq!(s.get_sndbuf().unwrap(), 65536);
    s.set_rcvbuf(32768).unwrap();
    assert_eq!(s.get_rcvbuf().unwrap(), 32768);
    s.set_tos(0x28).unwrap();
    assert_eq!(s.get_tos().unwrap(), 0x28);
    s.set_linger(250).unwrap();
    assert_eq!(s.get_linger().unwrap(), 250);
    s.set_reconnect_ivl(150).unwrap();
    assert_eq!(s.get_reconnect_ivl().unwrap(), 150);
    s.set_reconnect_ivl_max(2000).unwrap();
    assert_eq!(s.get_reconnect_ivl_max().unwrap(), 2000);
    s.set_backlog(50).unwrap();
    assert_eq!(s.get_backlog().unwrap(), 50);
    s.set_maxmsgsize(4096).unwrap();
    assert_eq!(s.get_maxmsgsize().unwrap(), 4096);
    s.set_multicast_hops(3).unwrap();
    assert_eq!(s.get_multicast_hops().unwrap(), 3);
    s.set_rcvtimeo(1500).unwrap();
    assert_eq!(s.get_rcvtimeo().unwrap(), 1500);
    s.set_sndtimeo(1600).unwrap();
    assert_eq!(s.get_sndtimeo().unwrap(), 1600);
    s.set_ipv6(true).unwrap();
    assert!(s.is_ipv6().unwrap());
    s.set_immediate(true).unwrap();
    assert!(s.is_immediate().unwrap());
    s.set_conflate(true).unwrap();
    assert!(s.is_conflate().unwrap());
    s.set_tcp_keepalive(1).unwrap();
    assert_eq!(s.get_tcp_keepalive().unwrap(), 1);
    s.set_tcp_keepalive_cnt(5).unwrap();
    assert_eq!(s.get_tcp_keepalive_cnt().unwrap(), 5);
    s.set_tcp_keepalive_idle(60).unwrap();
    assert_eq!(s.get_tcp_keepalive_idle().unwrap(), 60);
    s.set_tcp_keepalive_intvl(10).unwrap();
    assert_eq!(s.get_tcp_keepalive_intvl().unwrap(), 10);
    s.set_handshake_ivl(2500).unwrap();
    assert_eq!(s.get_handshake_ivl().unwrap(), 2500);
    s.set_heartbeat_ivl(300).unwrap();
    assert_eq!(s.get_heartbeat_ivl().unwrap(), 300);
    // Kept in tenths of a second, as sent on the wire.
    s.set_heartbeat_ttl(1234).unwrap();
    assert_eq!(s.get_heartbeat_ttl().unwrap(), 1200);
    s.set_heartbeat_timeout(900).unwrap();
    assert_eq!(s.get_heartbeat_timeout().unwrap(), 900);
    s.set_connect_timeout(700).unwrap();
    assert_eq!(s.get_connect_timeout().unwrap(), 700);
    s.set_identity(b"me").unwrap();
    assert_eq!(s.get_identity().unwrap(), b"me");
    s.set_socks_proxy(Some("127.0.0.1:1080")).unwrap();
    assert_eq!(
        s.get_socks_proxy().unwrap(),
        Ok("127.0.0.1:1080".to_string())
    );
    s.set_socks_proxy(None).unwrap();
    assert_eq!(s.get_socks_proxy().unwrap(), Ok(String::new()));
    s.set_zap_domain("global").unwrap();
    assert_eq!(s.get_zap_domain().unwrap(), Ok("global".to_string()));
}

#[test]
fn invalid_values_are_refused() {
    let ctx = Context::new();
    let s = socket(&ctx, zmq::DEALER);
    assert_eq!(s.set_sndhwm(-1), Err(zmq::Error::EINVAL));
    assert_eq!(s.set_linger(-2), Err(zmq::Error::EINVAL));
    assert_eq!(s.set_identity(b""), Err(zmq::Error::EINVAL));
    assert_eq!(s.set_tcp_keepalive(2), Err(zmq::Error::EINVAL));
    assert_eq!(s.set_zap_domain(""), Err(zmq::Error::EINVAL));
}

#[test]
fn security_options() {
    let ctx = Context::new();
    let s = socket(&ctx, zmq::DEALER);
    s.set_plain_username(Some("user")).unwrap();
    s.set_plain_password(Some("secret")).unwrap();
    assert_eq!(s.get_mechanism().unwrap(), Mechanism::ZMQ_PLAIN);
    assert_eq!(s.get_plain_username().unwrap(), Ok("user".to_string()));
    assert_eq!(s.get_plain_password().unwrap(), Ok("secret".to_string()));
    assert!(!s.is_plain_server().unwrap());
    s.set_plain_username(None).unwrap();
    assert_eq!(s.get_mechanism().unwrap(), Mechanism::ZMQ_NULL);

    let server = socket(&ctx, zmq::ROUTER);
    server.set_plain_server(true).unwrap();
    assert!(server.is_plain_server().unwrap());
    assert_eq!(server.get_mechanism().unwrap(), Mechanism::ZMQ_PLAIN);

    if zmq::has("curve") == Some(true) {
        let pair = zmq::CurveKeyPair::new().unwrap();
        let c = socket(&ctx, zmq::DEALER);
        c.set_curve_publickey(&pair.public_key).unwrap();
        c.set_curve_secretkey(&pair.secret_key).unwrap();
        c.set_curve_serverkey(&pair.public_key).unwrap();
        assert_eq!(c.get_curve_publickey().unwrap(), pair.public_key);
        assert_eq!(c.get_curve_secretkey().unwrap(), pair.secret_key);
        assert_eq!(c.get_curve_serverkey().unwrap(), pair.public_key);
        assert_eq!(c.get_mechanism().unwrap(), Mechanism::ZMQ_CURVE);
        assert!(!c.is_curve_server().unwrap());
        // The Z85 text of a key is accepted too.
        let text = zmq::z85_encode(&pair.public_key).unwrap();
        c.set_curve_serverkey(text.as_bytes()).unwrap();
        assert_eq!(c.get_curve_serverkey().unwrap(), pair.public_key);
        assert_eq!(c.set_curve_serverkey(b"short"), Err(zmq::Error::EINVAL));
        let srv = socket(&ctx, zmq::ROUTER);
        srv.set_curve_server(true).unwrap();
        assert!(srv.is_curve_server().unwrap());
    }

    if zmq::has("gssapi") == Some(false) {
        let g = socket(&ctx, zmq::DEALER);
        assert_eq!(g.set_gssapi_server(true), Err(zmq::Error::EINVAL));
        assert_eq!(g.is_gssapi_server(), Err(zmq::Error::EINVAL));
        assert_eq!(g.set_gssapi_plaintext(true), Err(zmq::Error::EINVAL));
        assert_eq!(g.is_gssapi_plaintext(), Err(zmq::Error::EINVAL));
        assert_eq!(g.set_gssapi_principal("p"), Err(zmq::Error::EINVAL));
        assert_eq!(g.get_gssapi_principal(), Err(zmq::Error::EINVAL));
        assert_eq!(g.set_gssapi_service_principal("s"), Err(zmq::Error::EINVAL));
        assert_eq!(g.get_gssapi_service_principal(), Err(zmq::Error::EINVAL));
    }
}

#[test]
fn socket_type_options() {
    let ctx = Context::new();
    let req = socket(&ctx, zmq::REQ);
    req.set_req_relaxed(true).unwrap();
    req.set_req_correlate(true).unwrap();

    let router = socket(&ctx, zmq::ROUTER);
    router.set_router_mandatory(true).unwrap();
    router.set_router_handover(true).unwrap();
    router.set_probe_router(true).unwrap();
    // libzmq cannot read these back.
    assert_eq!(router.is_router_mandatory(), Err(zmq::Error::EINVAL));
    assert_eq!(router.is_router_handover(), Err(zmq::Error::EINVAL));
    assert_eq!(router.is_probe_router(), Err(zmq::Error::EINVAL));

    let xpub = socket(&ctx, zmq::XPUB);
    xpub.set_xpub_verbose(true).unwrap();
    xpub.set_xpub_welcome_msg(Some("welcome")).unwrap();
    xpub.set_xpub_welcome_msg(None).unwrap();

    let sub = socket(&ctx, zmq::SUB);
    sub.set_subscribe(b"topic").unwrap();
    sub.set_unsubscribe(b"topic").unwrap();
    // Subscribing is for SUB sockets only.
    assert_eq!(req.set_subscribe(b"x"), Err(zmq::Error::EINVAL));
}

#[test]
fn last_endpoint_and_events() {
    let ctx = Context::new();
    let a = socket(&ctx, zmq::PAIR);
    let name = format!("inproc://{}", "n".repeat(200));
    a.bind(&name).unwrap();
    assert_eq!(a.get_last_endpoint().unwrap(), Ok(name.clone()));
    let b = socket(&ctx, zmq::PAIR);
    b.connect(&name).unwrap();
    assert!(b.get_events().unwrap().contains(zmq::POLLOUT));
    b.send("x", 0).unwrap();
    assert_eq!(a.poll(zmq::POLLIN, 5000).unwrap(), 1);
    assert!(a.get_events().unwrap().contains(zmq::POLLIN));

    let t = socket(&ctx, zmq::REP);
    t.bind("tcp://127.0.0.1:*").unwrap();
    let ep = t.get_last_endpoint().unwrap().unwrap();
    assert!(ep.starts_with("tcp://127.0.0.1:"));
    let port: u16 = ep.rsplit(':').next().unwrap().parse().unwrap();
    assert!(port > 0);
}
