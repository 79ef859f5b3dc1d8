//! ws:// wire compatibility with the real libzmq: our sans-I/O ws engine
//! (src/ws), driven here by a small blocking loop over a std TcpStream,
//! against tests/interop/peer.c linked to the system's libzmq (Debian's
//! libzmq5 has the ws transport; it has no wss, which needs GnuTLS). Both
//! roles, NULL and CURVE, multipart and large messages, subscriptions and
//! WebSocket heartbeats. Until the I/O layer wires ws in, this is where the
//! protocol layer meets libzmq.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use zmqrs::constants::*;
use zmqrs::ws::{StreamEngine, WsEngine};
use zmqrs::zmtp::engine::EngineConfig;
use zmqrs::Message;

fn peer_binary() -> &'static PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
        let bin = dir.join(format!("ws-interop-peer-{}", std::process::id()));
        let src = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/interop/peer.c");
        let out = Command::new("gcc")
            .args(["-std=c99", "-O1", "-Wall", "-DZMQ_BUILD_DRAFT_API", "-o"])
            .arg(&bin)
            .arg(src)
            .args(["-lzmq", "-ldl"])
            .output()
            .expect("gcc runs");
        assert!(
            out.status.success(),
            "compiling the interop peer failed:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        bin
    })
}

/// A libzmq socket in another process; its replies arrive on a channel
/// so that our engine can keep turning while the peer blocks.
struct Peer {
    child: Child,
    stdin: ChildStdin,
    lines: Receiver<String>,
}

impl Peer {
    fn new(socket_type: &str) -> Peer {
        let mut child = Command::new(peer_binary())
            .env_remove("LD_LIBRARY_PATH")
            .env_remove("LD_PRELOAD")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start peer");
        let stdin = child.stdin.take().unwrap();
        let stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in stdout.lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut p = Peer {
            child,
            stdin,
            lines,
        };
        p.ok(&format!("socket {socket_type}"));
        p
    }

    fn start(&mut self, line: &str) {
        writeln!(self.stdin, "{line}").unwrap();
        self.stdin.flush().unwrap();
    }

    fn cmd(&mut self, line: &str) -> String {
        self.start(line);
        self.lines
            .recv_timeout(Duration::from_secs(10))
            .unwrap_or_else(|_| panic!("peer silent after {line:.80}"))
    }

    fn ok(&mut self, line: &str) -> String {
        let reply = self.cmd(line);
        assert!(
            reply == "ok" || reply.starts_with("ok "),
            "peer: {line:.80} -> {reply:.200}"
        );
        reply.get(3..).unwrap_or("").to_string()
    }

    fn set_bin(&mut self, opt: i32, value: &[u8]) {
        self.ok(&format!("sets {opt} {}", hex(value)));
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        let _ = writeln!(self.stdin, "quit");
        let _ = self.stdin.flush();
        let _ = self.child.wait();
    }
}

fn hex(b: &[u8]) -> String {
    if b.is_empty() {
        return "-".into();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// One TCP connection and its engine, driven by blocking calls.
struct Conn<E: StreamEngine> {
    stream: TcpStream,
    engine: E,
    inbox: Vec<Message>,
}

impl<E: StreamEngine> Conn<E> {
    fn new(stream: TcpStream, engine: E) -> Self {
        stream
            .set_read_timeout(Some(Duration::from_millis(5)))
            .unwrap();
        stream.set_nodelay(true).unwrap();
        Conn {
            stream,
            engine,
            inbox: Vec::new(),
        }
    }

    /// One turn: write, read, decode, timers.
    fn turn(&mut self) {
        let now = Instant::now();
        let out = self.engine.take_output();
        if !out.is_empty() {
            self.stream.write_all(&out).unwrap();
        }
        let buf = self.engine.read_buf();
        if !buf.is_empty() {
            match self.stream.read(buf) {
                Ok(0) => panic!("peer closed the connection"),
                Ok(n) => self.engine.advance_read(n, now).unwrap(),
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => panic!("read: {e}"),
            }
        }
        while let Some(m) = self.engine.next_msg(now).unwrap() {
            self.inbox.push(m);
        }
        while self.engine.poll_event().is_some() {}
        if self.engine.next_timeout().is_some_and(|t| t <= now) {
            self.engine.on_timer(now).unwrap();
        }
    }

    fn run_until(&mut self, mut done: impl FnMut(&mut Self) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done(self) {
            assert!(Instant::now() < deadline, "timed out");
            self.turn();
        }
    }

    fn handshake(&mut self) {
        self.run_until(|c| !c.engine.is_handshaking());
    }

    fn send(&mut self, frames: &[&[u8]]) {
        for (i, f) in frames.iter().enumerate() {
            let mut m = Message::from_slice(f);
            m.set_more(i + 1 < frames.len());
            self.engine.send_msg(m);
        }
        self.turn();
    }

    fn recv(&mut self, n: usize) -> Vec<Message> {
        self.run_until(|c| c.inbox.len() >= n);
        self.inbox.drain(..n).collect()
    }
}

fn cfg(socket_type: i32) -> EngineConfig {
    EngineConfig {
        socket_type,
        ..EngineConfig::default()
    }
}

/// Runs a peer command that completes only once our side has done its
/// part, turning our engine until the peer answers.
fn peer_round(peer: &mut Peer, line: &str, conn: &mut Conn<impl StreamEngine>) -> String {
    peer.start(line);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        if let Ok(r) = peer.lines.try_recv() {
            return r;
        }
        assert!(Instant::now() < deadline, "peer stuck on {line:.60}");
        conn.turn();
    }
}

fn port_of(endpoint: &str) -> u16 {
    let after = &endpoint[endpoint.rfind(':').unwrap() + 1..];
    after.split('/').next().unwrap().parse().unwrap()
}

#[test]
fn our_client_libzmq_server_null() {
    let mut peer = Peer::new("DEALER");
    let ep = peer.ok("bind ws://127.0.0.1:*/interop");
    assert!(
        ep.starts_with("ws://127.0.0.1:") && ep.ends_with("/interop"),
        "{ep}"
    );
    let stream = TcpStream::connect(("127.0.0.1", port_of(&ep))).unwrap();
    // Our PINGs every 20 ms, 100 ms to answer: libzmq (no heartbeats of
    // its own here) must PONG them, or the loop below fails on a timeout.
    let mut c = cfg(ZMQ_DEALER);
    c.heartbeat_ivl = Duration::from_millis(20);
    c.heartbeat_timeout = Duration::from_millis(100);
    let engine = WsEngine::client(c, "127.0.0.1", "/interop", Instant::now());
    let mut conn = Conn::new(stream, engine);
    conn.handshake();
    let until = Instant::now() + Duration::from_millis(400);
    conn.run_until(|_| Instant::now() >= until);
    let big = vec![0x5Au8; 100_000];
    conn.send(&[b"hello", b"", &big]);
    let got = peer_round(&mut peer, "recv 5000", &mut conn);
    assert_eq!(got, format!("msg {} - {}", hex(b"hello"), hex(&big)));
    let reply = peer_round(
        &mut peer,
        &format!("send {} {}", hex(b"a"), hex(&[7; 300])),
        &mut conn,
    );
    assert_eq!(reply, "ok");
    let m = conn.recv(2);
    assert_eq!(&m[0][..], b"a");
    assert!(m[0].more());
    assert_eq!(&m[1][..], &[7; 300][..]);
    assert_eq!(m[1].property("Socket-Type"), Some("DEALER"));
}

#[test]
fn libzmq_client_our_server_null_with_heartbeats() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut peer = Peer::new("DEALER");
    // libzmq pings every 20 ms; we ping every 30 ms and give up after
    // 200 ms without an answer.
    peer.ok(&format!("set {ZMQ_HEARTBEAT_IVL} 20"));
    peer.ok(&format!("connect ws://127.0.0.1:{port}/any/path"));
    let (stream, _) = listener.accept().unwrap();
    let mut c = cfg(ZMQ_DEALER);
    c.heartbeat_ivl = Duration::from_millis(30);
    c.heartbeat_timeout = Duration::from_millis(200);
    let mut conn = Conn::new(stream, WsEngine::server(c, Instant::now()));
    conn.handshake();
    // Half a second of heartbeats both ways: nobody times out.
    let until = Instant::now() + Duration::from_millis(500);
    conn.run_until(|_| Instant::now() >= until);
    let reply = peer_round(&mut peer, &format!("send {}", hex(b"ping?")), &mut conn);
    assert_eq!(reply, "ok");
    assert_eq!(&conn.recv(1)[0][..], b"ping?");
    conn.send(&[b"pong!"]);
    let got = peer_round(&mut peer, "recv 5000", &mut conn);
    assert_eq!(got, format!("msg {}", hex(b"pong!")));
}

#[test]
fn curve_both_ways() {
    let (server_public, server_secret) = zmqrs::security::curve::keypair();
    let (client_public, client_secret) = zmqrs::security::curve::keypair();
    // libzmq server, our client.
    let mut peer = Peer::new("DEALER");
    peer.ok(&format!("set {ZMQ_CURVE_SERVER} 1"));
    peer.set_bin(ZMQ_CURVE_SECRETKEY, &server_secret);
    let ep = peer.ok("bind ws://127.0.0.1:*/c");
    let mut c = cfg(ZMQ_DEALER);
    c.mechanism = ZMQ_CURVE;
    c.curve_public_key = client_public;
    c.curve_secret_key = client_secret;
    c.curve_server_key = server_public;
    let stream = TcpStream::connect(("127.0.0.1", port_of(&ep))).unwrap();
    let mut conn = Conn::new(
        stream,
        WsEngine::client(c, "127.0.0.1", "/c", Instant::now()),
    );
    conn.handshake();
    conn.send(&[b"boxed", b"twice"]);
    let got = peer_round(&mut peer, "recv 5000", &mut conn);
    assert_eq!(got, format!("msg {} {}", hex(b"boxed"), hex(b"twice")));
    peer_round(&mut peer, &format!("send {}", hex(b"back")), &mut conn);
    assert_eq!(&conn.recv(1)[0][..], b"back");
    drop(peer);

    // libzmq client, our server.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut peer = Peer::new("DEALER");
    peer.set_bin(ZMQ_CURVE_SERVERKEY, &server_public);
    peer.set_bin(ZMQ_CURVE_PUBLICKEY, &client_public);
    peer.set_bin(ZMQ_CURVE_SECRETKEY, &client_secret);
    peer.ok(&format!("connect ws://127.0.0.1:{port}/"));
    let (stream, _) = listener.accept().unwrap();
    let mut s = cfg(ZMQ_DEALER);
    s.mechanism = ZMQ_CURVE;
    s.as_server = true;
    s.curve_secret_key = server_secret;
    s.curve_public_key = server_public;
    let mut conn = Conn::new(stream, WsEngine::server(s, Instant::now()));
    conn.handshake();
    let reply = peer_round(&mut peer, &format!("send {}", hex(&[1; 2000])), &mut conn);
    assert_eq!(reply, "ok");
    assert_eq!(&conn.recv(1)[0][..], &[1; 2000][..]);
    conn.send(&[b"ok"]);
    assert_eq!(
        peer_round(&mut peer, "recv 5000", &mut conn),
        format!("msg {}", hex(b"ok"))
    );
}

#[test]
fn subscriptions_both_ways() {
    // A libzmq SUB subscribes to our XPUB: we get 0x01 + topic.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let mut peer = Peer::new("SUB");
    peer.set_bin(ZMQ_SUBSCRIBE, b"A");
    peer.ok(&format!("connect ws://127.0.0.1:{port}"));
    let (stream, _) = listener.accept().unwrap();
    let mut conn = Conn::new(stream, WsEngine::server(cfg(ZMQ_XPUB), Instant::now()));
    conn.handshake();
    assert_eq!(&conn.recv(1)[0][..], b"\x01A");
    conn.send(&[b"A-news"]);
    assert_eq!(
        peer_round(&mut peer, "recv 5000", &mut conn),
        format!("msg {}", hex(b"A-news"))
    );
    drop(peer);

    // Our SUB subscribes to a libzmq XPUB, which reads 0x01 + topic.
    let mut peer = Peer::new("XPUB");
    let ep = peer.ok("bind ws://127.0.0.1:*");
    assert!(ep.ends_with('/'), "{ep}");
    let stream = TcpStream::connect(("127.0.0.1", port_of(&ep))).unwrap();
    let mut conn = Conn::new(
        stream,
        WsEngine::client(cfg(ZMQ_SUB), "127.0.0.1", "/", Instant::now()),
    );
    conn.handshake();
    // A subscription's wire bytes are those of a data frame holding 0x01
    // and the topic (the unit tests check our encoder writes exactly that
    // for a SUBSCRIBE-flagged message, whose flag this API cannot set).
    conn.send(&[b"\x01B"]);
    assert_eq!(
        peer_round(&mut peer, "recv 5000", &mut conn),
        format!("msg {}", hex(b"\x01B"))
    );
}
