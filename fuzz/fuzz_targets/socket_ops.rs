//! Random sequences of socket calls over inproc through the public Rust
//! API: create sockets of any type, bind/connect/unbind/disconnect a few
//! inproc endpoints, send and receive (always DONTWAIT), set options,
//! join/leave groups, poll without waiting, close, shut the context down,
//! and finally terminate it. Nothing may block: every call is
//! non-blocking, linger is 0 before every close, at most 48 calls.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zmqrs::constants::*;
use zmqrs::{Context, Socket, DONTWAIT, POLLIN, POLLOUT, SNDMORE};

const ENDPOINTS: [&str; 4] = [
    "inproc://a",
    "inproc://b",
    "inproc://zeromq.zap.01",
    "inproc://",
];
const MAX_SOCKETS: usize = 6;

/// Options worth changing mid-flight (all harmless for a non-blocking run).
const OPTIONS: [i32; 24] = [
    ZMQ_SUBSCRIBE,
    ZMQ_UNSUBSCRIBE,
    ZMQ_ROUTING_ID,
    ZMQ_CONNECT_ROUTING_ID,
    ZMQ_SNDHWM,
    ZMQ_RCVHWM,
    ZMQ_CONFLATE,
    ZMQ_ROUTER_MANDATORY,
    ZMQ_ROUTER_HANDOVER,
    ZMQ_PROBE_ROUTER,
    ZMQ_REQ_CORRELATE,
    ZMQ_REQ_RELAXED,
    ZMQ_XPUB_VERBOSE,
    ZMQ_XPUB_VERBOSER,
    ZMQ_XPUB_MANUAL,
    ZMQ_XPUB_NODROP,
    ZMQ_XPUB_WELCOME_MSG,
    ZMQ_INVERT_MATCHING,
    ZMQ_IMMEDIATE,
    ZMQ_MAXMSGSIZE,
    ZMQ_LINGER,
    ZMQ_RCVTIMEO,
    ZMQ_SNDTIMEO,
    ZMQ_ROUTER_NOTIFY,
];

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
    fn bytes(&mut self, max: usize) -> &[u8] {
        let n = usize::from(self.byte().unwrap_or(0))
            .min(max)
            .min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
}

fn pick(sockets: &[Option<Socket>], b: u8) -> Option<&Socket> {
    sockets.get(usize::from(b) % MAX_SOCKETS)?.as_ref()
}

fn close(s: Socket) {
    let _ = s.setsockopt_raw(ZMQ_LINGER, Some(&0i32.to_ne_bytes()));
    let _ = s.close();
}

fuzz_target!(|data: &[u8]| {
    let mut input = Input(data);
    let mut ctx = Context::new();
    let mut sockets: Vec<Option<Socket>> = (0..MAX_SOCKETS).map(|_| None).collect();
    for _ in 0..48 {
        let Some(op) = input.byte() else { break };
        let arg = input.byte().unwrap_or(0);
        match op % 13 {
            0 | 1 => {
                let slot = usize::from(arg) % MAX_SOCKETS;
                let t = i32::from(input.byte().unwrap_or(0) % 21);
                if let Some(old) = sockets[slot].take() {
                    close(old);
                }
                sockets[slot] = ctx.socket_raw(t).ok();
            }
            2 => {
                let e = ENDPOINTS[usize::from(input.byte().unwrap_or(0)) % ENDPOINTS.len()];
                if let Some(s) = pick(&sockets, arg) {
                    let _ = s.bind(e);
                }
            }
            3 => {
                let e = ENDPOINTS[usize::from(input.byte().unwrap_or(0)) % ENDPOINTS.len()];
                if let Some(s) = pick(&sockets, arg) {
                    let _ = s.connect(e);
                }
            }
            4 | 5 => {
                let flags = input.byte().unwrap_or(0);
                let body = input.bytes(64).to_vec();
                if let Some(s) = pick(&sockets, arg) {
                    let f = DONTWAIT | if flags & 1 != 0 { SNDMORE } else { 0 };
                    let mut m = zmqrs::Message::from(body);
                    if flags & 2 != 0 {
                        let _ = m.set_group(b"grp");
                    }
                    let _ = s.send_msg_or_return(m, f);
                }
            }
            6 | 7 => {
                if let Some(s) = pick(&sockets, arg) {
                    if let Ok(m) = s.recv_msg(DONTWAIT) {
                        let _ = std::hint::black_box((m.len(), m.more(), s.get_rcvmore()));
                    }
                }
            }
            8 => {
                let opt = OPTIONS[usize::from(input.byte().unwrap_or(0)) % OPTIONS.len()];
                let value = input.bytes(16).to_vec();
                if let Some(s) = pick(&sockets, arg) {
                    let _ = s.setsockopt_raw(opt, Some(&value));
                    let mut buf = [0u8; 64];
                    let _ = s.getsockopt_raw(opt, &mut buf);
                }
            }
            9 => {
                if let Some(s) = sockets
                    .get_mut(usize::from(arg) % MAX_SOCKETS)
                    .and_then(Option::take)
                {
                    close(s);
                }
            }
            10 => {
                let e = ENDPOINTS[usize::from(input.byte().unwrap_or(0)) % ENDPOINTS.len()];
                if let Some(s) = pick(&sockets, arg) {
                    if arg & 0x80 != 0 {
                        let _ = s.unbind(e);
                    } else {
                        let _ = s.disconnect(e);
                    }
                }
            }
            11 => {
                let group = input.bytes(20).to_vec();
                if let Some(s) = pick(&sockets, arg) {
                    let _ = if arg & 0x80 != 0 {
                        s.join(&group)
                    } else {
                        s.leave(&group)
                    };
                    let _ = std::hint::black_box((s.poll_events(), s.get_events()));
                    let mut items = [s.as_poll_item(POLLIN | POLLOUT)];
                    let _ = zmqrs::poll(&mut items, 0);
                }
            }
            _ => {
                if arg & 0x0f == 0 {
                    ctx.shutdown();
                }
            }
        }
    }
    for s in sockets.into_iter().flatten() {
        close(s);
    }
    let _ = ctx.destroy();
});
