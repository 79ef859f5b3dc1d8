//! `zmq_proxy` and `zmq_proxy_steerable`: forward messages between a
//! frontend and a backend socket, optionally copying them to a capture
//! socket and obeying PAUSE / RESUME / TERMINATE / STATISTICS on a control
//! socket (libzmq src/proxy.cpp).
//!
//! Runs on the caller's thread until the context terminates (ETERM) or a
//! TERMINATE command arrives. A side is read only while the other side can
//! take a message, so HWMs hold end to end.
//!
//! The public functions are the `zmq` crate's four (whose signatures they
//! keep, `&mut` included) and [`proxy_with`], which takes the optional
//! sockets as options.

use crate::api::{poll, PollEvents, Socket, SocketType, POLLIN, POLLOUT};
use crate::constants::*;
use crate::error::{Error, Result};

/// Messages forwarded in one go before looking at the other direction.
const BURST: usize = 1000;

#[derive(Default, Clone, Copy)]
struct Counter {
    count: u64,
    bytes: u64,
}

#[derive(Default)]
struct Stats {
    front_recv: Counter,
    front_send: Counter,
    back_recv: Counter,
    back_send: Counter,
}

#[derive(PartialEq, Eq)]
enum State {
    Active,
    Paused,
    Terminated,
}

fn forward(
    from: &Socket,
    to: &Socket,
    capture: Option<&Socket>,
    rx: &mut Counter,
    tx: &mut Counter,
) -> Result<()> {
    for i in 0..BURST {
        loop {
            let msg = match from.recv_msg(ZMQ_DONTWAIT) {
                Ok(m) => m,
                Err(Error::EAGAIN) if i > 0 => return Ok(()),
                Err(Error::EAGAIN) => return Ok(()),
                Err(e) => return Err(e),
            };
            let n = msg.len() as u64;
            rx.count += 1;
            rx.bytes += n;
            let more = from.get_rcvmore()?;
            let flags = if more { ZMQ_SNDMORE } else { 0 };
            if let Some(c) = capture {
                c.send(msg.clone(), flags)?;
            }
            to.send_msg_or_return(msg, flags).map_err(|(e, _)| e)?;
            tx.count += 1;
            tx.bytes += n;
            if !more {
                break;
            }
        }
    }
    Ok(())
}

fn handle_control(control: &Socket, state: &mut State, stats: &Stats) -> Result<()> {
    let cmd = match control.recv_msg(ZMQ_DONTWAIT) {
        Ok(m) => m,
        Err(Error::EAGAIN) => return Ok(()),
        Err(e) => return Err(e),
    };
    if &cmd[..] == b"STATISTICS" {
        let vals = [
            stats.front_recv.count,
            stats.front_recv.bytes,
            stats.front_send.count,
            stats.front_send.bytes,
            stats.back_recv.count,
            stats.back_recv.bytes,
            stats.back_send.count,
            stats.back_send.bytes,
        ];
        for (i, v) in vals.iter().enumerate() {
            let flags = if i < 7 { ZMQ_SNDMORE } else { 0 };
            control.send(&v.to_ne_bytes()[..], flags)?;
        }
        return Ok(());
    }
    match &cmd[..] {
        b"PAUSE" => *state = State::Paused,
        b"RESUME" => *state = State::Active,
        b"TERMINATE" => *state = State::Terminated,
        _ => {}
    }
    // Only a REP control socket owes a reply (libzmq after 4.3.5): PAIR and
    // SUB control sockets work too.
    if control.get_socket_type()? == SocketType::REP {
        control.send(&b""[..], 0)?;
    }
    Ok(())
}

fn can_send(s: &Socket) -> Result<bool> {
    Ok(s.poll_events()? & POLLOUT.bits() != 0)
}

/// Forwards messages between `frontend` and `backend` on this thread
/// (`zmq_proxy`), in both directions, until the context is terminated;
/// then it returns `Err(ETERM)`.
///
/// A ROUTER frontend and a DEALER backend make a shared queue for REQ
/// clients and REP workers; XSUB and XPUB make a pub/sub forwarder.
///
/// ```
/// use std::thread;
/// let mut ctx = zmqrs::Context::new();
/// let frontend = ctx.socket(zmqrs::ROUTER).unwrap();
/// frontend.bind("inproc://proxy-front").unwrap();
/// let backend = ctx.socket(zmqrs::DEALER).unwrap();
/// backend.bind("inproc://proxy-back").unwrap();
/// let broker = thread::spawn(move || zmqrs::proxy(&frontend, &backend));
///
/// let worker = ctx.socket(zmqrs::REP).unwrap();
/// worker.connect("inproc://proxy-back").unwrap();
/// let client = ctx.socket(zmqrs::REQ).unwrap();
/// client.connect("inproc://proxy-front").unwrap();
/// client.send("ping", 0).unwrap();
/// assert_eq!(worker.recv_bytes(0).unwrap(), b"ping");
/// worker.send("pong", 0).unwrap();
/// assert_eq!(client.recv_bytes(0).unwrap(), b"pong");
///
/// drop((worker, client));
/// ctx.destroy().unwrap();
/// assert_eq!(broker.join().unwrap(), Err(zmqrs::Error::ETERM));
/// ```
pub fn proxy(frontend: &Socket, backend: &Socket) -> Result<()> {
    proxy_with(frontend, backend, None, None)
}

/// [`proxy`] that also sends a copy of every message it forwards, either
/// way, to `capture` (a PUB, PUSH, DEALER or PAIR socket).
pub fn proxy_with_capture(
    frontend: &mut Socket,
    backend: &mut Socket,
    capture: &mut Socket,
) -> Result<()> {
    proxy_with(frontend, backend, Some(capture), None)
}

/// [`proxy`] steered by messages on `control` (`zmq_proxy_steerable`):
/// `PAUSE` stops forwarding, `RESUME` resumes it, `TERMINATE` makes it
/// return `Ok(())`, and `STATISTICS` is answered with eight frames of
/// message and byte counts. Each command gets an empty reply, so `control`
/// is usually a REP (or PAIR) socket.
pub fn proxy_steerable(
    frontend: &mut Socket,
    backend: &mut Socket,
    control: &mut Socket,
) -> Result<()> {
    proxy_with(frontend, backend, None, Some(control))
}

/// [`proxy_steerable`] with a capture socket, as [`proxy_with_capture`].
pub fn proxy_steerable_with_capture(
    frontend: &mut Socket,
    backend: &mut Socket,
    capture: &mut Socket,
    control: &mut Socket,
) -> Result<()> {
    proxy_with(frontend, backend, Some(capture), Some(control))
}

/// The proxy with the capture and control sockets optional and all sockets
/// shared (`zmq_proxy_steerable` with NULLs allowed): returns `Err(ETERM)`
/// when the context terminates, `Ok(())` on TERMINATE.
pub fn proxy_with(
    frontend: &Socket,
    backend: &Socket,
    capture: Option<&Socket>,
    control: Option<&Socket>,
) -> Result<()> {
    let same = std::ptr::eq(frontend, backend);
    let mut stats = Stats::default();
    let mut state = State::Active;
    // A side known to have input that waits for the other side's room.
    let mut front_pending = false;
    let mut back_pending = false;
    while state != State::Terminated {
        let active = state == State::Active;
        let mut fe = PollEvents::empty();
        let mut be = PollEvents::empty();
        if active {
            if !front_pending {
                fe |= POLLIN;
            }
            if !same {
                if !back_pending {
                    be |= POLLIN;
                }
                if front_pending {
                    be |= POLLOUT;
                }
                if back_pending {
                    fe |= POLLOUT;
                }
            }
        }
        let mut items = vec![frontend.as_poll_item(fe)];
        if !same {
            items.push(backend.as_poll_item(be));
        }
        if let Some(c) = control {
            items.push(c.as_poll_item(POLLIN));
        }
        poll(&mut items, -1)?;
        if items[0].is_readable() {
            front_pending = true;
        }
        if !same && items[1].is_readable() {
            back_pending = true;
        }
        let ctl_ready = control.is_some() && items[items.len() - 1].is_readable();
        drop(items);
        if ctl_ready {
            if let Some(c) = control {
                handle_control(c, &mut state, &stats)?;
            }
        }
        if state != State::Active {
            continue;
        }
        if front_pending && (same || can_send(backend)?) {
            forward(
                frontend,
                backend,
                capture,
                &mut stats.front_recv,
                &mut stats.back_send,
            )?;
            front_pending = false;
        }
        if back_pending && can_send(frontend)? {
            forward(
                backend,
                frontend,
                capture,
                &mut stats.back_recv,
                &mut stats.front_send,
            )?;
            back_pending = false;
        }
    }
    Ok(())
}
