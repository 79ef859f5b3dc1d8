//! Criterion micro-benchmarks of zmqrs's hot paths, through the public API.
//!
//! ```sh
//! cargo bench --bench micro                  # full run (results in target/criterion)
//! cargo bench --bench micro -- --test        # every bench once (what CI runs)
//! cargo bench --bench micro -- zmtp/decode   # one group (a substring filter)
//! cargo bench --bench micro -- --warm-up-time 1 --measurement-time 2
//! ```
//!
//! Groups:
//!
//! * `msg`: [`Message`] init + drop, clone (`zmq_msg_copy`) + drop, for an
//!   inline body (≤ [`INLINE_CAPACITY`] = 38 B, no allocation) and for
//!   reference-counted bodies (1 KiB, 64 KiB).
//! * `pipe`: one thread sends then receives on an inproc pair, so every
//!   message goes through the pipe and, the queue being empty each time, the
//!   writer's wake-up of the reader (a command through the reader's mailbox
//!   and an eventfd signal). `batch1000` sends 1000 messages, then receives
//!   them: one wake-up per batch, the rest is the lock-free queue.
//! * `mailbox`: the mailbox itself is crate-private; what the public API
//!   reaches is (a) `ZMQ_EVENTS` on an idle socket, which drains the (empty)
//!   mailbox, and (b) a ping-pong with an echo thread over inproc PAIR, where
//!   each message wakes a thread blocked on its mailbox: one round trip is two
//!   cross-thread wake-ups.
//! * `zmtp`: the sans-I/O codec (`zmqrs::zmtp::codec`): encoding one frame
//!   into an `OutQueue` and taking it out as the slices of a vectored write
//!   (bodies over 1 KiB by reference, so the cost does not grow with the
//!   size), decoding one frame from bytes read into an `InBuf` (large bodies
//!   straight into the message), and two handshaken `Engine`s passing one
//!   message (encode, copy as the kernel would, decode), for 1 B, 64 B,
//!   64 KiB and 1 MiB.

use std::hint::black_box;
use std::io::IoSlice;
use std::thread;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use zmqrs::constants::{ZMQ_PULL, ZMQ_PUSH};
use zmqrs::zmtp::codec::{Decoder, Framing, InBuf, OutQueue};
use zmqrs::zmtp::engine::{Engine, EngineConfig};
use zmqrs::{Context, Message, SocketType, INLINE_CAPACITY};

const KIB: usize = 1024;
const MIB: usize = 1024 * 1024;

fn label(size: usize) -> String {
    if size >= MIB && size % MIB == 0 {
        format!("{}MiB", size / MIB)
    } else if size >= KIB && size % KIB == 0 {
        format!("{}KiB", size / KIB)
    } else {
        format!("{size}B")
    }
}

// ---------------------------------------------------------------------------
// Messages

fn bench_msg(c: &mut Criterion) {
    let mut g = c.benchmark_group("msg");
    g.bench_function("new_drop", |b| b.iter(|| black_box(Message::new())));
    for size in [1, INLINE_CAPACITY, KIB, 64 * KIB] {
        let body = vec![0xA5u8; size];
        // zmq_msg_init_buffer: inline copy, or an allocation + copy + refcount.
        g.bench_function(format!("from_slice_drop/{}", label(size)), |b| {
            b.iter(|| black_box(Message::from_slice(black_box(&body))))
        });
        // zmq_msg_init_size: zeroed inline body, or calloc.
        g.bench_function(format!("with_size_drop/{}", label(size)), |b| {
            b.iter(|| black_box(Message::with_size(black_box(size))))
        });
        // zmq_msg_copy + zmq_msg_close of the copy: a 64-byte copy inline, an
        // Arc increment and decrement when shared.
        let m = Message::from_slice(&body);
        let copy = m.clone();
        assert_eq!(m.is_shared(), size > INLINE_CAPACITY, "body kind");
        drop(copy);
        g.bench_function(format!("clone_drop/{}", label(size)), |b| {
            b.iter(|| black_box(black_box(&m).clone()))
        });
    }
    // zmq_msg_init_data-style: take over a Vec without copying.
    g.bench_function("from_vec_drop/1KiB", |b| {
        b.iter_batched(
            || vec![0xA5u8; KIB],
            |v| black_box(Message::from_vec(v)),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

// ---------------------------------------------------------------------------
// Pipes (inproc), through the public socket API

fn bench_pipe(c: &mut Criterion) {
    let ctx = Context::new();
    let mut g = c.benchmark_group("pipe");
    {
        let a = ctx.socket(SocketType::PAIR).unwrap();
        let b = ctx.socket(SocketType::PAIR).unwrap();
        a.bind("inproc://micro-pipe-pair").unwrap();
        b.connect("inproc://micro-pipe-pair").unwrap();
        for size in [1, KIB] {
            let body = vec![0x5Au8; size];
            let proto = Message::from_slice(&body);
            g.throughput(Throughput::Elements(1));
            g.bench_function(format!("pair_send_recv/{}", label(size)), |bch| {
                bch.iter(|| {
                    a.send(proto.clone(), 0).unwrap();
                    black_box(b.recv_msg(0).unwrap())
                })
            });
        }
    }
    {
        let push = ctx.socket(SocketType::PUSH).unwrap();
        let pull = ctx.socket(SocketType::PULL).unwrap();
        push.bind("inproc://micro-pipe-pushpull").unwrap();
        pull.connect("inproc://micro-pipe-pushpull").unwrap();
        for size in [1, KIB] {
            let proto = Message::from_slice(&vec![0x5Au8; size]);
            g.throughput(Throughput::Elements(1));
            g.bench_function(format!("push_pull_send_recv/{}", label(size)), |bch| {
                bch.iter(|| {
                    push.send(proto.clone(), 0).unwrap();
                    black_box(pull.recv_msg(0).unwrap())
                })
            });
            // 1000 < the default inproc capacity (SNDHWM + RCVHWM = 2000),
            // so the sends never block.
            g.throughput(Throughput::Elements(1000));
            g.bench_function(format!("push_pull_batch1000/{}", label(size)), |bch| {
                bch.iter(|| {
                    for _ in 0..1000 {
                        push.send(proto.clone(), 0).unwrap();
                    }
                    for _ in 0..1000 {
                        black_box(pull.recv_msg(0).unwrap());
                    }
                })
            });
        }
    }
    g.finish();
}

// ---------------------------------------------------------------------------
// Mailbox wake-ups, as far as the public API reaches them

fn bench_mailbox(c: &mut Criterion) {
    let ctx = Context::new();
    let mut g = c.benchmark_group("mailbox");

    let idle = ctx.socket(SocketType::PAIR).unwrap();
    idle.bind("inproc://micro-mailbox-idle").unwrap();
    g.bench_function("events_idle", |b| {
        b.iter(|| black_box(idle.get_events().unwrap()))
    });

    // An echo thread: a round trip is two cross-thread wake-ups (each side
    // sleeps in its mailbox until the other's message arrives). An empty
    // message stops it.
    let me = ctx.socket(SocketType::PAIR).unwrap();
    me.bind("inproc://micro-mailbox-echo").unwrap();
    let echo_ctx = ctx.clone();
    let echo = thread::spawn(move || {
        let s = echo_ctx.socket(SocketType::PAIR).unwrap();
        s.connect("inproc://micro-mailbox-echo").unwrap();
        loop {
            let m = s.recv_msg(0).unwrap();
            if m.is_empty() {
                break;
            }
            s.send(m, 0).unwrap();
        }
    });
    let ping = Message::from_slice(b"p");
    g.throughput(Throughput::Elements(1));
    g.bench_function("pingpong_thread/1B", |b| {
        b.iter(|| {
            me.send(ping.clone(), 0).unwrap();
            black_box(me.recv_msg(0).unwrap())
        })
    });
    g.finish();
    me.send(Message::new(), 0).unwrap();
    echo.join().unwrap();
}

// ---------------------------------------------------------------------------
// ZMTP codec and engine (sans I/O)

const SIZES: [usize; 4] = [1, 64, 64 * KIB, MIB];

/// What the I/O thread does with encoded output: gather it as the slices of
/// one vectored write, "write" all of it, and advance.
fn drain(q: &mut OutQueue) -> usize {
    let mut total = 0;
    while !q.is_empty() {
        let mut slices = [IoSlice::new(&[]); 16];
        let n = q.slices(&mut slices);
        let len: usize = slices[..n].iter().map(|s| black_box(s.len())).sum();
        q.advance(len);
        total += len;
    }
    total
}

fn encoded(size: usize) -> Vec<u8> {
    let mut q = OutQueue::default();
    q.push_frame(Framing::V3_1, Message::from_slice(&vec![0x33u8; size]));
    q.take_all()
}

/// Feeds `bytes` as reads of at most the buffer's size (as the I/O thread's
/// reads of ZMQ_IN_BATCH_SIZE, or straight into a large body) and decodes.
fn decode_one(d: &mut Decoder, inbuf: &mut InBuf, bytes: &[u8]) -> Message {
    let mut pos = 0;
    loop {
        if let Some(m) = d.decode(inbuf).unwrap() {
            return m;
        }
        let buf = d.read_buf(inbuf);
        let n = buf.len().min(bytes.len() - pos);
        assert!(n > 0, "decoder wants more than one frame's bytes");
        buf[..n].copy_from_slice(&bytes[pos..pos + n]);
        d.filled(inbuf, n);
        pos += n;
    }
}

fn engine_cfg(socket_type: i32) -> EngineConfig {
    EngineConfig {
        socket_type,
        ..EngineConfig::default()
    }
}

/// Copies everything `from` has to write into `to`, as a socket would.
fn transfer(from: &mut Engine, to: &mut Engine, now: Instant) -> usize {
    let mut moved = 0;
    loop {
        let mut slices = [IoSlice::new(&[]); 16];
        let n = from.output(&mut slices);
        if n == 0 {
            return moved;
        }
        let mut written = 0;
        'slices: for s in &slices[..n] {
            let mut rest: &[u8] = s;
            while !rest.is_empty() {
                let buf = to.read_buf();
                let k = buf.len().min(rest.len());
                if k == 0 {
                    break 'slices; // the receiver's input is full
                }
                buf[..k].copy_from_slice(&rest[..k]);
                to.advance_read(k, now).unwrap();
                rest = &rest[k..];
                written += k;
            }
        }
        from.advance_write(written);
        moved += written;
        if written == 0 {
            return moved;
        }
    }
}

fn handshaken_pair(now: Instant) -> (Engine, Engine) {
    let mut a = Engine::new(engine_cfg(ZMQ_PUSH), now);
    let mut b = Engine::new(engine_cfg(ZMQ_PULL), now);
    for _ in 0..100 {
        if transfer(&mut a, &mut b, now) + transfer(&mut b, &mut a, now) == 0 {
            break;
        }
    }
    assert!(!a.is_handshaking() && !b.is_handshaking());
    while a.poll_event().is_some() {}
    while b.poll_event().is_some() {}
    (a, b)
}

fn bench_zmtp(c: &mut Criterion) {
    let mut g = c.benchmark_group("zmtp");
    for size in SIZES {
        let msg = Message::from_slice(&vec![0x33u8; size]);

        // Frames per second: bodies over 1 KiB are queued by reference, so
        // bytes per second would say nothing.
        g.throughput(Throughput::Elements(1));
        let mut q = OutQueue::default();
        g.bench_function(format!("encode/{}", label(size)), |b| {
            b.iter_batched(
                || msg.clone(),
                |m| {
                    q.push_frame(Framing::V3_1, m);
                    black_box(drain(&mut q))
                },
                BatchSize::SmallInput,
            )
        });

        g.throughput(Throughput::Bytes(size as u64));
        let bytes = encoded(size);
        let mut d = Decoder::new(Framing::V3_1, -1);
        let mut inbuf = InBuf::new(8192);
        g.bench_function(format!("decode/{}", label(size)), |b| {
            b.iter(|| {
                let m = decode_one(&mut d, &mut inbuf, &bytes);
                debug_assert_eq!(m.len(), size);
                black_box(m)
            })
        });

        let now = Instant::now();
        let (mut tx, mut rx) = handshaken_pair(now);
        g.bench_function(format!("engine_send_recv/{}", label(size)), |b| {
            b.iter_batched(
                || msg.clone(),
                |m| {
                    tx.send_msg(m);
                    let mut got = None;
                    while got.is_none() {
                        transfer(&mut tx, &mut rx, now);
                        got = rx.next_msg(now).unwrap();
                    }
                    black_box(got)
                },
                BatchSize::SmallInput,
            )
        });
    }
    g.finish();
}

criterion_group!(benches, bench_msg, bench_pipe, bench_mailbox, bench_zmtp);
criterion_main!(benches);
