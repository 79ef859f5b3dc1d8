//! Socket monitoring (`zmq_socket_monitor`): a PAIR, PUB or PUSH socket bound
//! to an inproc endpoint, onto which the monitored socket and its sessions
//! post connection events.
//!
//! The monitor socket sits behind a mutex shared (`Arc`) by the monitored
//! socket and the sessions of its connections in the I/O threads, since
//! events arise in both. Events are sent without blocking: a monitor nobody
//! reads loses events instead of stalling an I/O thread.

use std::sync::Arc;

use crate::util::sync::Mutex;

pub(crate) use crate::endpoint::EndpointPair;

use crate::constants::*;
use crate::ctx::Ctx;
use crate::error::{Error, Result};
use crate::msg::Message;
use crate::socket::SocketCore;
use crate::transport::{parse_uri, Protocol};

struct Active {
    socket: Box<SocketCore>,
    events: u64,
    version: i32,
}

/// The monitor of one socket, shared with its sessions.
#[derive(Default)]
pub(crate) struct Monitor {
    active: Mutex<Option<Active>>,
}

impl Monitor {
    /// Starts (or, with `endpoint` None, stops) monitoring.
    pub(crate) fn start(
        &self,
        ctx: &Arc<Ctx>,
        endpoint: Option<&str>,
        events: u64,
        version: i32,
        socket_type: i32,
    ) -> Result<()> {
        if version == 1 && events >> 16 != 0 {
            return Err(Error::EINVAL);
        }
        if version != 1 && version != 2 {
            return Err(Error::EINVAL);
        }
        let Some(endpoint) = endpoint else {
            self.stop(true);
            return Ok(());
        };
        let (proto, _) = parse_uri(endpoint)?;
        if proto != Protocol::Inproc {
            return Err(Error::EPROTONOSUPPORT);
        }
        self.stop(true);
        if !matches!(socket_type, ZMQ_PAIR | ZMQ_PUB | ZMQ_PUSH) {
            return Err(Error::EINVAL);
        }
        let mut s = crate::socket::create(ctx, socket_type)?;
        s.setsockopt(ZMQ_LINGER, Some(&0i32.to_ne_bytes()))?;
        if let Err(e) = s.bind(endpoint) {
            ctx.reap(Box::new(s));
            return Err(e);
        }
        *self.active.lock() = Some(Active {
            socket: Box::new(s),
            events,
            version,
        });
        Ok(())
    }

    /// Stops monitoring, first posting MONITOR_STOPPED if it was asked for.
    pub(crate) fn stop(&self, send_stopped: bool) {
        let mut guard = self.active.lock();
        if let Some(mut a) = guard.take() {
            if send_stopped && a.events & ZMQ_EVENT_MONITOR_STOPPED as u64 != 0 {
                post(
                    &mut a,
                    ZMQ_EVENT_MONITOR_STOPPED as u64,
                    &[0],
                    &EndpointPair::default(),
                );
            }
            let ctx = a.socket.ctx().clone();
            ctx.reap(a.socket);
        }
    }

    /// Whether anyone listens for `event`.
    pub(crate) fn wants(&self, event: i32) -> bool {
        self.active
            .lock()
            .as_ref()
            .is_some_and(|a| a.events & event as u32 as u64 != 0)
    }

    /// Posts an event with one value.
    pub(crate) fn event(&self, event: i32, value: u64, ep: &EndpointPair) {
        self.event_values(event as u64, &[value], ep);
    }

    /// Posts an event with any number of values (version 2 carries them all).
    pub(crate) fn event_values(&self, event: u64, values: &[u64], ep: &EndpointPair) {
        let mut guard = self.active.lock();
        if let Some(a) = guard.as_mut() {
            if a.events & event != 0 {
                post(a, event, values, ep);
            }
        }
    }
}

fn post(a: &mut Active, event: u64, values: &[u64], ep: &EndpointPair) {
    let s = &mut a.socket;
    let send = |s: &mut Box<SocketCore>, m: Message, more: bool| {
        let flags = ZMQ_DONTWAIT | if more { ZMQ_SNDMORE } else { 0 };
        let _ = s.send(m, flags);
    };
    if a.version == 1 {
        let mut head = Vec::with_capacity(6);
        head.extend_from_slice(&(event as u16).to_ne_bytes());
        head.extend_from_slice(&(values.first().copied().unwrap_or(0) as u32).to_ne_bytes());
        send(s, Message::from_vec(head), true);
        send(s, Message::from_slice(ep.identifier().as_bytes()), false);
    } else {
        send(s, Message::from_slice(&event.to_ne_bytes()), true);
        send(
            s,
            Message::from_slice(&(values.len() as u64).to_ne_bytes()),
            true,
        );
        for v in values {
            send(s, Message::from_slice(&v.to_ne_bytes()), true);
        }
        send(s, Message::from_slice(ep.local.as_bytes()), true);
        send(s, Message::from_slice(ep.remote.as_bytes()), false);
    }
}
