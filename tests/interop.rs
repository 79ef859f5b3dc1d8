//! Interoperability with the real libzmq: every socket pair, both bind and
//! connect roles, over tcp, ipc, ws and wss, with single-part, multipart,
//! empty-frame and 1 MiB messages. Our side runs in this process through
//! the Rust API; the other side is tests/interop/peer.c in its own process,
//! linked to the system's libzmq (Debian's libzmq5 4.3.4, installed by
//! .ci/run) for tcp, ipc and ws, and to libzmq 4.3.5 built from the
//! zeromq-src crate with GnuTLS (tests/libzmq/build-reference, into
//! target/libzmq-ref) for wss, which Debian's libzmq5 does not have.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::OnceLock;

use zmqrs::{Context, Socket, SocketType};

const SNDMORE: i32 = 2;

/// Which real libzmq a peer runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lib {
    /// The system's (Debian's libzmq5 4.3.4).
    System,
    /// libzmq 4.3.5 as tests/libzmq/build-reference builds it (ws and wss).
    Reference,
}

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// target/libzmq-ref, built (incrementally) on first use.
fn reference_prefix() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let out = Command::new(repo().join("tests/libzmq/build-reference"))
            .output()
            .expect("run tests/libzmq/build-reference");
        assert!(
            out.status.success(),
            "building the reference libzmq 4.3.5 failed (needs cmake, libsodium-dev, \
             libgnutls28-dev):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let target = std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| repo().join("target"));
        let target = if target.is_absolute() {
            target
        } else {
            repo().join(target)
        };
        target.join("libzmq-ref")
    })
}

/// Compiles the peer once per test run against the chosen libzmq.
fn peer_binary(lib: Lib) -> &'static PathBuf {
    static SYSTEM: OnceLock<PathBuf> = OnceLock::new();
    static REFERENCE: OnceLock<PathBuf> = OnceLock::new();
    let cell = match lib {
        Lib::System => &SYSTEM,
        Lib::Reference => &REFERENCE,
    };
    cell.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let bin = dir.join(format!("interop-peer-{lib:?}-{}", std::process::id()));
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/peer.c");
        let mut cmd = Command::new("gcc");
        cmd.args(["-std=c99", "-O1", "-Wall", "-o"])
            .arg(&bin)
            .arg(src);
        if lib == Lib::Reference {
            let prefix = reference_prefix();
            cmd.arg("-DZMQ_BUILD_DRAFT_API")
                .arg(format!("-I{}", prefix.join("include").display()))
                .arg(format!("-L{}", prefix.join("lib").display()))
                .arg(format!("-Wl,-rpath,{}", prefix.join("lib").display()));
        }
        // Otherwise the system's libzmq, found in the system's paths only.
        let out = cmd.args(["-lzmq", "-ldl"]).output().expect("gcc runs");
        assert!(
            out.status.success(),
            "compiling the interop peer against {lib:?} libzmq failed \
             (is libzmq3-dev installed?):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        bin
    })
}

/// A real-libzmq socket in another process.
struct Peer {
    child: Child,
    stdin: ChildStdin,
    stdout: BufReader<ChildStdout>,
}

impl Peer {
    fn new(socket_type: &str) -> Peer {
        Peer::on(Lib::System, socket_type)
    }

    fn on(lib: Lib, socket_type: &str) -> Peer {
        let mut child = Command::new(peer_binary(lib))
            // Cargo puts target dirs on the library path; the peer must load
            // the system's libzmq, not ours.
            .env_remove("LD_LIBRARY_PATH")
            .env_remove("LD_PRELOAD")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start peer");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let mut peer = Peer {
            child,
            stdin,
            stdout,
        };
        let loaded = peer.ok("lib");
        match lib {
            Lib::System => assert!(
                !loaded.contains("/target/"),
                "the peer must use the system libzmq, it loaded {loaded}"
            ),
            Lib::Reference => assert!(
                loaded.starts_with("4.3.5 ") && loaded.contains("libzmq-ref"),
                "the peer must use the reference libzmq, it loaded {loaded}"
            ),
        }
        peer.ok(&format!("socket {socket_type}"));
        peer
    }

    fn cmd(&mut self, line: &str) -> String {
        writeln!(self.stdin, "{line}").expect("peer alive");
        self.stdin.flush().unwrap();
        let mut reply = String::new();
        self.stdout.read_line(&mut reply).expect("peer reply");
        assert!(!reply.is_empty(), "peer died after {line:.80}");
        reply.trim_end().to_string()
    }

    /// Runs a command that must succeed; returns what follows "ok".
    fn ok(&mut self, line: &str) -> String {
        let reply = self.cmd(line);
        assert!(
            reply == "ok" || reply.starts_with("ok "),
            "peer: {line:.80} -> {reply}"
        );
        reply.get(3..).unwrap_or("").to_string()
    }

    fn send(&mut self, msg: &[Vec<u8>]) {
        self.ok(&format!("send {}", frames_to_hex(msg)));
    }

    /// The next message, or None after `timeout_ms`.
    fn recv(&mut self, timeout_ms: i32) -> Option<Vec<Vec<u8>>> {
        let reply = self.cmd(&format!("recv {timeout_ms}"));
        if reply.starts_with("err recv Resource temporarily unavailable") {
            return None;
        }
        let frames = reply
            .strip_prefix("msg ")
            .unwrap_or_else(|| panic!("peer recv: {reply:.200}"));
        Some(frames.split(' ').map(hex_to_frame).collect())
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let _ = self.child.wait();
    }
}

fn frames_to_hex(msg: &[Vec<u8>]) -> String {
    let hex: Vec<String> = msg
        .iter()
        .map(|f| {
            if f.is_empty() {
                "-".to_string()
            } else {
                f.iter().map(|b| format!("{b:02x}")).collect()
            }
        })
        .collect();
    hex.join(" ")
}

fn hex_to_frame(s: &str) -> Vec<u8> {
    if s == "-" {
        return Vec::new();
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn send_ours(s: &Socket, msg: &[Vec<u8>]) {
    for (i, f) in msg.iter().enumerate() {
        let flags = if i + 1 < msg.len() { SNDMORE } else { 0 };
        s.send(f.as_slice(), flags).unwrap();
    }
}

/// The messages every conversation carries: single part, multipart with empty
/// frames, and a 1 MiB body.
fn payloads() -> Vec<Vec<Vec<u8>>> {
    let big: Vec<u8> = (0..1 << 20).map(|i: u32| (i * 7 + 3) as u8).collect();
    vec![
        vec![b"hello".to_vec()],
        vec![b"a".to_vec(), Vec::new(), b"c".to_vec(), Vec::new()],
        vec![Vec::new()],
        vec![big],
    ]
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Transport {
    Tcp,
    Ipc,
    Ws,
    Wss,
}

/// Where the binding side binds.
fn bind_endpoint(t: Transport, dir: &std::path::Path) -> String {
    match t {
        Transport::Tcp => "tcp://127.0.0.1:*".to_string(),
        Transport::Ipc => format!("ipc://{}/s", dir.display()),
        Transport::Ws => "ws://127.0.0.1:*/interop".to_string(),
        Transport::Wss => "wss://127.0.0.1:*/interop".to_string(),
    }
}

/// The libzmq a peer must run on for `t`.
fn lib_for(t: Transport) -> Lib {
    match t {
        Transport::Wss => Lib::Reference,
        _ => Lib::System,
    }
}

/// A self-signed certificate for "localhost" and its key (PEM), made once.
fn tls_identity() -> &'static (String, String) {
    static ID: OnceLock<(String, String)> = OnceLock::new();
    ID.get_or_init(|| {
        let key = rcgen::KeyPair::generate().expect("key");
        let params = rcgen::CertificateParams::new(vec!["localhost".to_string()]).expect("params");
        let cert = params.self_signed(&key).expect("certificate");
        (cert.pem(), key.serialize_pem())
    })
}

/// For wss: the binding side serves the certificate, the connecting side
/// trusts it and checks the name "localhost".
fn setup_tls(ours: &Socket, peer: &mut Peer, ours_binds: bool) {
    use zmqrs::constants::*;
    let (cert, key) = tls_identity();
    let set_ours = |opt: i32, v: &[u8]| ours.setsockopt_raw(opt, Some(v)).unwrap();
    if ours_binds {
        set_ours(ZMQ_WSS_CERT_PEM, cert.as_bytes());
        set_ours(ZMQ_WSS_KEY_PEM, key.as_bytes());
        peer.ok(&format!(
            "sets {ZMQ_WSS_TRUST_PEM} {}",
            hex(cert.as_bytes())
        ));
        peer.ok(&format!("sets {ZMQ_WSS_HOSTNAME} {}", hex(b"localhost")));
    } else {
        peer.ok(&format!("sets {ZMQ_WSS_CERT_PEM} {}", hex(cert.as_bytes())));
        peer.ok(&format!("sets {ZMQ_WSS_KEY_PEM} {}", hex(key.as_bytes())));
        set_ours(ZMQ_WSS_TRUST_PEM, cert.as_bytes());
        set_ours(ZMQ_WSS_HOSTNAME, b"localhost");
    }
}

struct Pair {
    ours: Socket,
    peer: Peer,
    _ctx: Context,
    _dir: TempDir,
}

/// Connects our socket of type `ours` with a peer socket of type `theirs`;
/// `ours_binds` chooses the roles.
fn connect_pair(ours: SocketType, theirs: &str, t: Transport, ours_binds: bool) -> Pair {
    let dir = TempDir::new();
    let ctx = Context::new();
    let sock = ctx.socket(ours).unwrap();
    sock.set_linger(1000).unwrap();
    sock.set_rcvtimeo(10_000).unwrap();
    sock.set_sndtimeo(10_000).unwrap();
    let mut peer = Peer::on(lib_for(t), theirs);
    if t == Transport::Wss {
        setup_tls(&sock, &mut peer, ours_binds);
    }
    let ep = bind_endpoint(t, &dir.0);
    if ours_binds {
        sock.bind(&ep).unwrap();
        let ep = sock.last_endpoint().unwrap();
        peer.ok(&format!("connect {ep}"));
    } else {
        let ep = peer.ok(&format!("bind {ep}"));
        sock.connect(&ep).unwrap();
    }
    Pair {
        ours: sock,
        peer,
        _ctx: ctx,
        _dir: dir,
    }
}

struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let p = std::env::temp_dir().join(format!(
            "zmqrs-interop-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        TempDir(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn each_setup(mut f: impl FnMut(Transport, bool)) {
    for t in [
        Transport::Tcp,
        Transport::Ipc,
        Transport::Ws,
        Transport::Wss,
    ] {
        for ours_binds in [true, false] {
            f(t, ours_binds);
        }
    }
}

/// What a client sends so that it reaches the server's application intact:
/// a DEALER talking to REP/ROUTER-as-REP adds the empty delimiter itself.
fn client_frames(client: &str, body: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut msg = Vec::new();
    if client == "DEALER" {
        msg.push(Vec::new());
    }
    msg.extend_from_slice(body);
    msg
}

/// Request-reply where our socket is the client and the peer echoes.
fn ours_client(client: SocketType, cname: &str, server: &str) {
    each_setup(|t, binds| {
        let mut p = connect_pair(client, server, t, binds);
        for body in payloads() {
            let msg = client_frames(cname, &body);
            send_ours(&p.ours, &msg);
            p.peer.ok("echo 1");
            let got = p.ours.recv_multipart(0).unwrap();
            assert_eq!(
                got, msg,
                "{cname} (ours) <- {server} (libzmq), {t:?}, ours binds: {binds}"
            );
        }
    });
}

/// Request-reply where the peer is the client and our socket echoes.
fn ours_server(server: SocketType, sname: &str, client: &str) {
    each_setup(|t, binds| {
        let mut p = connect_pair(server, client, t, binds);
        for body in payloads() {
            let msg = client_frames(client, &body);
            p.peer.send(&msg);
            let req = p.ours.recv_multipart(0).unwrap();
            if sname == "ROUTER" {
                // The envelope: the peer's routing id, then what it sent,
                // after the delimiter a REQ adds.
                let mut wire = msg.clone();
                if client == "REQ" {
                    wire.insert(0, Vec::new());
                }
                assert_eq!(&req[1..], &wire[..], "{sname} (ours) <- {client}, {t:?}");
            } else {
                assert_eq!(req, body, "{sname} (ours) <- {client}, {t:?}");
            }
            send_ours(&p.ours, &req);
            let got = p.peer.recv(10_000).expect("reply reaches the peer");
            assert_eq!(
                got, msg,
                "{client} (libzmq) <- {sname} (ours), {t:?}, ours binds: {binds}"
            );
        }
    });
}

#[test]
fn req_rep() {
    ours_client(SocketType::REQ, "REQ", "REP");
    ours_server(SocketType::REP, "REP", "REQ");
}

#[test]
fn dealer_router() {
    ours_client(SocketType::DEALER, "DEALER", "ROUTER");
    ours_server(SocketType::ROUTER, "ROUTER", "DEALER");
}

#[test]
fn dealer_rep() {
    ours_client(SocketType::DEALER, "DEALER", "REP");
    ours_server(SocketType::REP, "REP", "DEALER");
}

#[test]
fn req_router() {
    ours_client(SocketType::REQ, "REQ", "ROUTER");
    ours_server(SocketType::ROUTER, "ROUTER", "REQ");
}

#[test]
fn router_identities_cross_the_wire() {
    each_setup(|t, binds| {
        // Our DEALER's routing id as the libzmq ROUTER sees it.
        let dir = TempDir::new();
        let ctx = Context::new();
        let dealer = ctx.socket(SocketType::DEALER).unwrap();
        dealer.set_identity(b"ours-id").unwrap();
        dealer.set_rcvtimeo(10_000).unwrap();
        let mut router = Peer::on(lib_for(t), "ROUTER");
        if t == Transport::Wss {
            setup_tls(&dealer, &mut router, binds);
        }
        let ep = bind_endpoint(t, &dir.0);
        if binds {
            dealer.bind(&ep).unwrap();
            router.ok(&format!("connect {}", dealer.last_endpoint().unwrap()));
        } else {
            let ep = router.ok(&format!("bind {ep}"));
            dealer.connect(&ep).unwrap();
        }
        dealer.send("x", 0).unwrap();
        let got = router.recv(10_000).unwrap();
        assert_eq!(got, vec![b"ours-id".to_vec(), b"x".to_vec()]);
        router.send(&[b"ours-id".to_vec(), b"y".to_vec()]);
        assert_eq!(dealer.recv_bytes(0).unwrap(), b"y");

        // The libzmq DEALER's routing id as our ROUTER sees it.
        let router = ctx.socket(SocketType::ROUTER).unwrap();
        router.set_rcvtimeo(10_000).unwrap();
        let mut dealer = Peer::on(lib_for(t), "DEALER");
        dealer.ok(&format!("sets 5 {}", frames_to_hex(&[b"theirs".to_vec()])));
        if t == Transport::Wss {
            setup_tls(&router, &mut dealer, binds);
        }
        let ep = bind_endpoint(t, &dir.0).replace("/s", "/r");
        if binds {
            router.bind(&ep).unwrap();
            dealer.ok(&format!("connect {}", router.last_endpoint().unwrap()));
        } else {
            let ep = dealer.ok(&format!("bind {ep}"));
            router.connect(&ep).unwrap();
        }
        dealer.send(&[b"z".to_vec()]);
        assert_eq!(
            router.recv_multipart(0).unwrap(),
            vec![b"theirs".to_vec(), b"z".to_vec()]
        );
        router.send_multipart(["theirs", "w"], 0).unwrap();
        assert_eq!(dealer.recv(10_000).unwrap(), vec![b"w".to_vec()]);
    });
}

#[test]
fn push_pull() {
    each_setup(|t, binds| {
        let mut p = connect_pair(SocketType::PUSH, "PULL", t, binds);
        for msg in payloads() {
            send_ours(&p.ours, &msg);
            assert_eq!(p.peer.recv(10_000).unwrap(), msg, "PUSH (ours), {t:?}");
        }
        let p = connect_pair(SocketType::PULL, "PUSH", t, binds);
        let mut peer = p.peer;
        for msg in payloads() {
            peer.send(&msg);
            assert_eq!(p.ours.recv_multipart(0).unwrap(), msg, "PULL (ours), {t:?}");
        }
    });
}

#[test]
fn pair() {
    each_setup(|t, binds| {
        let mut p = connect_pair(SocketType::PAIR, "PAIR", t, binds);
        for msg in payloads() {
            send_ours(&p.ours, &msg);
            p.peer.ok("echo 1");
            assert_eq!(p.ours.recv_multipart(0).unwrap(), msg, "PAIR, {t:?}");
            p.peer.send(&msg);
            let got = p.ours.recv_multipart(0).unwrap();
            assert_eq!(got, msg);
        }
    });
}

/// Sends `sync` from the publisher until the subscriber sees it: the
/// subscription has then reached the publisher.
fn wait_subscribed(mut publish: impl FnMut(), mut received: impl FnMut() -> bool) {
    for _ in 0..100 {
        publish();
        if received() {
            return;
        }
    }
    panic!("the subscription never reached the publisher");
}

fn pubsub_messages() -> Vec<Vec<Vec<u8>>> {
    let mut v = vec![
        vec![b"B-filtered".to_vec()],
        vec![b"A1".to_vec(), Vec::new(), b"x".to_vec()],
        vec![b"Bz".to_vec(), b"A".to_vec()],
    ];
    for mut m in payloads() {
        m.insert(0, b"A-topic".to_vec());
        v.push(m);
    }
    v.push(vec![b"A-end".to_vec()]);
    v
}

fn expect_topic_a(got: Vec<Vec<Vec<u8>>>, ctx: &str) {
    let want: Vec<_> = pubsub_messages()
        .into_iter()
        .filter(|m| m[0].starts_with(b"A"))
        .collect();
    assert_eq!(got.len(), want.len(), "{ctx}: message count");
    for (g, w) in got.iter().zip(want.iter()) {
        assert_eq!(g, w, "{ctx}");
    }
}

#[test]
fn pub_sub() {
    each_setup(|t, binds| {
        // Ours publishes, libzmq subscribes.
        let mut p = connect_pair(SocketType::PUB, "SUB", t, binds);
        p.peer
            .ok(&format!("sets 6 {}", frames_to_hex(&[b"A".to_vec()])));
        let ours = &p.ours;
        let peer = std::cell::RefCell::new(&mut p.peer);
        wait_subscribed(
            || ours.send("A-sync", 0).unwrap(),
            || peer.borrow_mut().recv(100).is_some(),
        );
        // Drain the sync messages still in flight.
        while peer.borrow_mut().recv(200).is_some() {}
        for m in pubsub_messages() {
            send_ours(ours, &m);
        }
        let mut got = Vec::new();
        while got.last().is_none_or(|m: &Vec<Vec<u8>>| m[0] != b"A-end") {
            got.push(peer.borrow_mut().recv(10_000).expect("published"));
        }
        expect_topic_a(
            got,
            &format!("PUB (ours) -> SUB, {t:?}, ours binds {binds}"),
        );

        // libzmq publishes, ours subscribes.
        let p = connect_pair(SocketType::SUB, "PUB", t, binds);
        p.ours.set_subscribe(b"A").unwrap();
        p.ours.set_rcvtimeo(100).unwrap();
        let peer = std::cell::RefCell::new(p.peer);
        wait_subscribed(
            || peer.borrow_mut().send(&[b"A-sync".to_vec()]),
            || p.ours.recv_multipart(0).is_ok(),
        );
        while p.ours.recv_multipart(0).is_ok() {}
        for m in pubsub_messages() {
            peer.borrow_mut().send(&m);
        }
        p.ours.set_rcvtimeo(10_000).unwrap();
        let mut got = Vec::new();
        while got.last().is_none_or(|m: &Vec<Vec<u8>>| m[0] != b"A-end") {
            got.push(p.ours.recv_multipart(0).unwrap());
        }
        expect_topic_a(
            got,
            &format!("PUB -> SUB (ours), {t:?}, ours binds {binds}"),
        );
    });
}

#[test]
fn xpub_xsub() {
    each_setup(|t, binds| {
        // Ours XPUB sees libzmq's XSUB subscription and its cancel.
        let mut p = connect_pair(SocketType::XPUB, "XSUB", t, binds);
        p.peer.send(&[b"\x01A".to_vec()]);
        p.ours.set_rcvtimeo(100).unwrap();
        let sub = (0..100)
            .find_map(|_| {
                p.peer.ok("events");
                p.ours.recv_bytes(0).ok()
            })
            .expect("the subscription of the libzmq XSUB reaches our XPUB");
        assert_eq!(sub, b"\x01A", "{t:?}");
        p.ours.set_rcvtimeo(10_000).unwrap();
        for m in pubsub_messages() {
            send_ours(&p.ours, &m);
        }
        let mut got = Vec::new();
        while got.last().is_none_or(|m: &Vec<Vec<u8>>| m[0] != b"A-end") {
            got.push(p.peer.recv(10_000).expect("published"));
        }
        expect_topic_a(got, &format!("XPUB (ours) -> XSUB, {t:?}"));
        p.peer.send(&[b"\x00A".to_vec()]);
        assert_eq!(p.ours.recv_bytes(0).unwrap(), b"\x00A", "{t:?}");

        // libzmq's XPUB sees our XSUB subscription and its cancel.
        let mut p = connect_pair(SocketType::XSUB, "XPUB", t, binds);
        p.ours.send(&b"\x01A"[..], 0).unwrap();
        // A new connection reaches a socket only when its owner calls into it
        // (as in libzmq, where a socket left alone never sees its pipes): our
        // XSUB resends its subscriptions to the new peer at that moment.
        let sub = (0..100)
            .find_map(|_| {
                p.ours.get_events().unwrap();
                p.peer.recv(100)
            })
            .expect("the subscription reaches the libzmq XPUB");
        assert_eq!(sub, vec![b"\x01A".to_vec()]);
        for m in pubsub_messages() {
            p.peer.send(&m);
        }
        let mut got = Vec::new();
        while got.last().is_none_or(|m: &Vec<Vec<u8>>| m[0] != b"A-end") {
            got.push(p.ours.recv_multipart(0).unwrap());
        }
        expect_topic_a(got, &format!("XPUB -> XSUB (ours), {t:?}"));
        p.ours.send(&b"\x00A"[..], 0).unwrap();
        assert_eq!(p.peer.recv(10_000).unwrap(), vec![b"\x00A".to_vec()]);
    });
}

fn hex(b: &[u8]) -> String {
    frames_to_hex(&[b.to_vec()])
}

/// CURVE both ways: each side as server, keys from our keypair(); traffic
/// (encrypted MESSAGE frames) must cross intact, and a wrong server key
/// must keep the handshake from completing.
#[test]
fn curve_security() {
    use zmqrs::constants::*;
    let (server_pub, server_sec) = zmqrs::security::curve::keypair();
    let (client_pub, client_sec) = zmqrs::security::curve::keypair();
    for t in [Transport::Tcp, Transport::Ipc, Transport::Ws] {
        for ours_is_server in [true, false] {
            let dir = TempDir::new();
            let ctx = Context::new();
            let ours = ctx.socket(SocketType::DEALER).unwrap();
            ours.set_rcvtimeo(10_000).unwrap();
            ours.set_linger(0).unwrap();
            let mut peer = Peer::new("DEALER");
            if ours_is_server {
                ours.setsockopt_raw(ZMQ_CURVE_SERVER, Some(&1i32.to_ne_bytes()))
                    .unwrap();
                ours.setsockopt_raw(ZMQ_CURVE_SECRETKEY, Some(&server_sec))
                    .unwrap();
                peer.ok(&format!("sets {ZMQ_CURVE_SERVERKEY} {}", hex(&server_pub)));
                peer.ok(&format!("sets {ZMQ_CURVE_PUBLICKEY} {}", hex(&client_pub)));
                peer.ok(&format!("sets {ZMQ_CURVE_SECRETKEY} {}", hex(&client_sec)));
                ours.bind(&bind_endpoint(t, &dir.0)).unwrap();
                peer.ok(&format!("connect {}", ours.last_endpoint().unwrap()));
            } else {
                peer.ok(&format!("set {ZMQ_CURVE_SERVER} 1"));
                peer.ok(&format!("sets {ZMQ_CURVE_SECRETKEY} {}", hex(&server_sec)));
                ours.setsockopt_raw(ZMQ_CURVE_SERVERKEY, Some(&server_pub))
                    .unwrap();
                ours.setsockopt_raw(ZMQ_CURVE_PUBLICKEY, Some(&client_pub))
                    .unwrap();
                ours.setsockopt_raw(ZMQ_CURVE_SECRETKEY, Some(&client_sec))
                    .unwrap();
                let ep = peer.ok(&format!("bind {}", bind_endpoint(t, &dir.0)));
                ours.connect(&ep).unwrap();
            }
            for msg in payloads() {
                send_ours(&ours, &msg);
                p_echo(&mut peer);
                assert_eq!(
                    ours.recv_multipart(0).unwrap(),
                    msg,
                    "CURVE, {t:?}, ours is server: {ours_is_server}"
                );
            }
        }
        // A client with the wrong server key never gets through.
        let dir = TempDir::new();
        let ctx = Context::new();
        let ours = ctx.socket(SocketType::DEALER).unwrap();
        ours.set_linger(0).unwrap();
        ours.set_sndtimeo(0).unwrap();
        // Pipes only for completed handshakes, so a send shows whether one did.
        ours.set_immediate(true).unwrap();
        let mut peer = Peer::new("DEALER");
        peer.ok(&format!("set {ZMQ_CURVE_SERVER} 1"));
        peer.ok(&format!("sets {ZMQ_CURVE_SECRETKEY} {}", hex(&server_sec)));
        ours.setsockopt_raw(ZMQ_CURVE_SERVERKEY, Some(&client_pub))
            .unwrap();
        ours.setsockopt_raw(ZMQ_CURVE_PUBLICKEY, Some(&client_pub))
            .unwrap();
        ours.setsockopt_raw(ZMQ_CURVE_SECRETKEY, Some(&client_sec))
            .unwrap();
        let ep = peer.ok(&format!("bind {}", bind_endpoint(t, &dir.0)));
        ours.connect(&ep).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(300));
        assert!(ours.send("secret", 0).is_err(), "no peer may be ready");
        assert!(peer.recv(300).is_none());
    }
}

fn p_echo(peer: &mut Peer) {
    peer.ok("echo 1");
}

/// PLAIN: our server with a ZAP handler in this process, libzmq's client.
#[test]
fn plain_security() {
    use zmqrs::constants::*;
    let ctx = Context::new();
    let handler = ctx.socket(SocketType::REP).unwrap();
    handler.bind("inproc://zeromq.zap.01").unwrap();
    let zap = std::thread::spawn(move || {
        let req = handler.recv_multipart(0).unwrap();
        let ok = req[5] == b"PLAIN" && req[6] == b"admin" && req[7] == b"secret";
        let status: &[u8] = if ok { b"200" } else { b"400" };
        handler
            .send_multipart([&b"1.0"[..], &req[1], status, b"", b"admin", b""], 0)
            .unwrap();
        req
    });
    let server = ctx.socket(SocketType::DEALER).unwrap();
    server.set_rcvtimeo(10_000).unwrap();
    server.set_linger(0).unwrap();
    server
        .setsockopt_raw(ZMQ_PLAIN_SERVER, Some(&1i32.to_ne_bytes()))
        .unwrap();
    server.bind("tcp://127.0.0.1:*").unwrap();
    let mut peer = Peer::new("DEALER");
    peer.ok(&format!("sets {ZMQ_PLAIN_USERNAME} {}", hex(b"admin")));
    peer.ok(&format!("sets {ZMQ_PLAIN_PASSWORD} {}", hex(b"secret")));
    peer.ok(&format!("connect {}", server.last_endpoint().unwrap()));
    peer.send(&[b"hello".to_vec()]);
    let msg = server.recv_msg(0).unwrap();
    assert_eq!(msg.as_slice(), b"hello");
    assert_eq!(msg.property("User-Id"), Some("admin"));
    let req = zap.join().unwrap();
    assert_eq!(req[6], b"admin");
}

/// The Python `websockets` package, installed (once) under target/ if the
/// interpreter does not have it; the directory to put on PYTHONPATH.
fn python_websockets() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("pydeps");
        let has = |path: &PathBuf| {
            Command::new("python3")
                .args(["-c", "import websockets"])
                .env("PYTHONPATH", path)
                .status()
                .is_ok_and(|s| s.success())
        };
        if !has(&dir) {
            let out = Command::new("python3")
                .args(["-m", "pip", "install", "--quiet", "--target"])
                .arg(&dir)
                .arg("websockets")
                .output()
                .expect("run pip");
            assert!(
                out.status.success() && has(&dir),
                "pip install websockets failed:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        dir
    })
}

/// A WebSocket client that is not ZeroMQ (Python's `websockets`, as a
/// browser would talk) speaks ZWS 2.0 to our ROUTER over ws://: the framing
/// and the upgrade are what a plain WebSocket stack sends and expects.
#[test]
fn plain_websocket_client_talks_to_our_router() {
    let ctx = Context::new();
    let router = ctx.socket(SocketType::ROUTER).unwrap();
    router.set_rcvtimeo(20_000).unwrap();
    router.bind("ws://127.0.0.1:*/zmq").unwrap();
    let ep = router.last_endpoint().unwrap();
    let script = repo().join("tests/ws_client/zws_client.py");
    let client = Command::new("python3")
        .arg(&script)
        .arg(&ep)
        .env("PYTHONPATH", python_websockets())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start the Python client");
    assert_eq!(
        router.recv_multipart(0).unwrap(),
        vec![b"browser".to_vec(), b"hello".to_vec()]
    );
    assert_eq!(
        router.recv_multipart(0).unwrap(),
        vec![b"browser".to_vec(), b"part1".to_vec(), b"part2".to_vec()]
    );
    router.send_multipart(["browser", "world"], 0).unwrap();
    router.send_multipart(["browser", "p1", "p2"], 0).unwrap();
    // The client bounds itself (asyncio.wait_for), so this wait ends.
    let out = client.wait_with_output().expect("wait for the client");
    assert!(
        out.status.success() && out.stdout == b"ok\n",
        "the WebSocket client failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
