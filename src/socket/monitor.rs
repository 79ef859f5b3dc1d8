//! `zmq_socket_monitor`: the monitor socket, bound to the user's inproc
//! endpoint and fed through a pipe by the monitored socket's [`Monitor`]
//! (see [`crate::monitor`]). The reaper owns it from birth: it forwards the
//! events as they arrive, and closes once the feed ends (the monitored
//! socket closed, or stopped or restarted monitoring).
//!
//! [`Monitor`]: crate::monitor::Monitor

use std::sync::Arc;

use super::pattern::SendFail;
use super::{create, SocketCore};
use crate::constants::*;
use crate::error::{Error, Result};
use crate::monitor::FEED_HWM;
use crate::pipe::{pipepair, Pipe, PipeCommand, PipeEvent, PipeSink};
use crate::transport::{parse_uri, Protocol};

/// The key the feed's commands carry in the monitor socket's mailbox,
/// outside the range of the pipe slab's keys.
pub(super) const FEED_KEY: u64 = u64::MAX;

impl SocketCore {
    /// `zmq_socket_monitor_versioned`: events of this socket go to a new
    /// monitor socket of `socket_type` bound at `endpoint` (`None` stops).
    pub(crate) fn monitor(
        &mut self,
        endpoint: Option<&str>,
        events: u64,
        version: i32,
        socket_type: i32,
    ) -> Result<()> {
        self.term_check()?;
        if version == 1 && events >> 16 != 0 {
            return Err(Error::EINVAL);
        }
        if version != 1 && version != 2 {
            return Err(Error::EINVAL);
        }
        let Some(endpoint) = endpoint else {
            self.monitor.stop(true);
            return Ok(());
        };
        let (proto, _) = parse_uri(endpoint)?;
        if proto != Protocol::Inproc {
            return Err(Error::EPROTONOSUPPORT);
        }
        self.monitor.stop(true);
        if !matches!(socket_type, ZMQ_PAIR | ZMQ_PUB | ZMQ_PUSH) {
            return Err(Error::EINVAL);
        }
        let mut s = create(&self.ctx, socket_type)?;
        s.options.linger = 0;
        if let Err(e) = s.bind(endpoint) {
            self.ctx.reap(Box::new(s));
            return Err(e);
        }
        let (feed_in, feed_out) = pipepair([FEED_HWM, 0], [false, false]);
        s.adopt_feed(feed_out);
        self.monitor.start(feed_in, events, version);
        self.ctx.reap(Box::new(s));
        Ok(())
    }

    fn adopt_feed(&mut self, pipe: Pipe) {
        let sink: Arc<dyn PipeSink> = self.shared.clone();
        let queued = pipe.attach(sink, FEED_KEY);
        self.feed = Some(pipe);
        for cmd in queued {
            self.feed_command(cmd);
        }
    }

    /// Whether this is a monitor socket still forwarding its feed.
    pub(super) fn is_forwarding(&self) -> bool {
        self.feed.is_some()
    }

    /// A command for the feed. Once the feed has ended, the monitor socket
    /// closes like any other, but only after [`Self::forward_events`] has
    /// sent what it already took from the feed (see there).
    pub(super) fn feed_command(&mut self, cmd: PipeCommand) {
        let Some(feed) = self.feed.as_mut() else {
            return;
        };
        if feed.process(cmd) == Some(PipeEvent::Terminated) {
            self.feed = None;
            self.feed_ended = true;
        }
    }

    /// Sends on the events that arrived.
    ///
    /// An event the readers cannot take yet is held, not dropped: libzmq
    /// 4.3.5 sends to its monitor socket without ZMQ_DONTWAIT, so a PAIR or
    /// PUSH monitor with no reader yet (or one at its HWM) blocks the thread
    /// that raised the event until a reader takes it. Programs count on
    /// that: libzmq's own tests connect a socket, then start monitoring it
    /// and connect the reader, and wait for the handshake's event, which
    /// may well come before the reader does (seen in CI: a CURVE client's
    /// HANDSHAKE_FAILED_AUTH in test_security_zap). Here no thread waits:
    /// while an event is held the feed is not read, so it fills up to its
    /// limit and the [`Monitor`] drops newer events. PUB drops what no
    /// subscriber wants, as in libzmq.
    ///
    /// The events are taken out of the feed first and the mailbox is looked
    /// at after: a reader that connected before an event was raised has its
    /// pipe in the mailbox by then, so it gets the event (for PUB this is
    /// what decides; seen in CI: a monitor that connected before `zmq_bind`
    /// missed LISTENING, ACCEPTED and HANDSHAKE_SUCCEEDED). libzmq's monitor
    /// socket processes its commands before each send, to the same effect.
    ///
    /// The end of the feed may be among the commands that drain brings; the
    /// socket closes only after the events taken before it are sent, or the
    /// last of them (MONITOR_STOPPED) would be cut off with the readers'
    /// pipes. What is still held then is dropped, as libzmq's monitor
    /// socket closes with linger 0.
    ///
    /// [`Monitor`]: crate::monitor::Monitor
    pub(super) fn forward_events(&mut self) {
        loop {
            // The commands that let held events go (a reader connected or
            // made room) or the feed be read again (a reader that found it
            // empty waits for its writer's activation). Events read in one
            // round are sent in the next, after this drain.
            self.drain_mailbox();
            if !self.send_held() {
                self.read_ended_feed();
                break;
            }
            let Some(feed) = self.feed.as_mut() else {
                break;
            };
            while let Some(m) = feed.read() {
                self.feed_held.push_back(m);
            }
            if self.feed_held.is_empty() {
                break;
            }
        }
        if std::mem::take(&mut self.feed_ended) {
            self.feed_held.clear();
            self.start_termination();
        }
    }

    /// Reads the rest of a feed that its writer ended while an event is
    /// held, so that the feed can end and the socket close: otherwise a
    /// monitor nobody reads would keep the context from terminating. The
    /// writer is done, so this is bounded by the feed's limit.
    fn read_ended_feed(&mut self) {
        if let Some(feed) = self.feed.as_mut().filter(|f| f.peer_ended()) {
            while let Some(m) = feed.read() {
                self.feed_held.push_back(m);
            }
        }
    }

    /// Sends the held frames in order; false when the readers cannot take
    /// the next event yet.
    fn send_held(&mut self) -> bool {
        while let Some(m) = self.feed_held.pop_front() {
            if self.feed_dropping {
                self.feed_dropping = m.more();
                continue;
            }
            let more = m.more();
            match self.pattern.send(&mut self.pipes, &self.options, m) {
                Ok(()) => self.feed_mid = more,
                Err(SendFail::Again(m)) if !self.feed_mid => {
                    self.feed_held.push_front(m);
                    return false;
                }
                // Part-way through an event, or an error: the rest of the
                // event goes, so that the next one starts whole.
                Err(_) => {
                    self.feed_mid = false;
                    self.feed_dropping = more;
                }
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::ctx::Ctx;
    use crate::endpoint::EndpointPair;
    use crate::monitor::Monitor;

    /// A monitor socket of type `ty` bound at `endpoint`, fed by a new
    /// [`Monitor`] that posts every event in format version 2.
    fn monitor_socket(ctx: &Arc<Ctx>, ty: i32, endpoint: &str) -> (SocketCore, Arc<Monitor>) {
        let mut mon = create(ctx, ty).unwrap();
        mon.options.linger = 0;
        mon.bind(endpoint).unwrap();
        let (feed_in, feed_out) = pipepair([FEED_HWM, 0], [false, false]);
        mon.adopt_feed(feed_out);
        let monitor = Arc::new(Monitor::default());
        monitor.start(feed_in, u64::MAX, 2);
        (mon, monitor)
    }

    /// The reaper's step looked at the monitor socket's mailbox, a reader
    /// connected and the monitored socket raised an event, then the step
    /// forwarded the feed: the event must reach that reader, whose pipe was
    /// in the mailbox before the event was in the feed.
    #[test]
    fn an_event_reaches_a_reader_that_connected_before_it() {
        for (ty, reader_ty) in [
            (ZMQ_PAIR, ZMQ_PAIR),
            (ZMQ_PUSH, ZMQ_PULL),
            (ZMQ_PUB, ZMQ_SUB),
        ] {
            let ctx = Ctx::new();
            let endpoint = format!("inproc://monitor-race-{ty}");
            let (mut mon, monitor) = monitor_socket(&ctx, ty, &endpoint);
            mon.drain_mailbox();

            let mut reader = create(&ctx, reader_ty).unwrap();
            if reader_ty == ZMQ_SUB {
                reader.setsockopt(ZMQ_SUBSCRIBE, Some(b"")).unwrap();
            }
            reader.connect(&endpoint).unwrap();
            let pair = EndpointPair {
                local: "tcp://127.0.0.1:5555".into(),
                remote: String::new(),
                bound: true,
            };
            monitor.event(ZMQ_EVENT_LISTENING, 7, &pair);
            mon.forward_events();

            let first = reader.recv(ZMQ_DONTWAIT);
            assert!(first.is_ok(), "socket type {ty}: event lost");
            let body = first.unwrap();
            assert!(body.more(), "socket type {ty}");
            assert_eq!(
                body.to_vec(),
                (ZMQ_EVENT_LISTENING as u64).to_ne_bytes(),
                "socket type {ty}"
            );

            let mut more = true;
            while more {
                more = reader.recv(ZMQ_DONTWAIT).unwrap().more();
            }

            // The last event and the end of the feed come in one step: the
            // event still goes out before the monitor socket closes.
            monitor.stop(true);
            mon.forward_events();
            let last = reader.recv(ZMQ_DONTWAIT);
            assert!(last.is_ok(), "socket type {ty}: MONITOR_STOPPED lost");
            assert_eq!(
                last.unwrap().to_vec(),
                (ZMQ_EVENT_MONITOR_STOPPED as u64).to_ne_bytes(),
                "socket type {ty}"
            );
            ctx.reap(Box::new(reader));
            ctx.reap(Box::new(mon));
            assert!(ctx.terminate().is_ok());
        }
    }

    /// libzmq 4.3.5 blocks in the monitor socket's send until a reader
    /// takes the event, so an event raised before the reader connected (a
    /// handshake that failed between `zmq_socket_monitor` and the reader's
    /// `zmq_connect`) still arrives. PAIR and PUSH hold it; PUB drops it,
    /// as libzmq's PUB does with no subscriber. Holding stops reading the
    /// feed, so the held events and the feed stay bounded.
    #[test]
    fn an_event_raised_before_the_reader_connected_reaches_it() {
        for (ty, reader_ty) in [
            (ZMQ_PAIR, ZMQ_PAIR),
            (ZMQ_PUSH, ZMQ_PULL),
            (ZMQ_PUB, ZMQ_SUB),
        ] {
            let ctx = Ctx::new();
            let endpoint = format!("inproc://monitor-early-{ty}");
            let (mut mon, monitor) = monitor_socket(&ctx, ty, &endpoint);
            let pair = EndpointPair::default();
            for event in [ZMQ_EVENT_CONNECTED, ZMQ_EVENT_HANDSHAKE_FAILED_AUTH] {
                monitor.event(event, 500, &pair);
                mon.forward_events();
            }
            // Many more while nobody reads: none of this may wait, and what
            // is kept stays within the feed's limit and one batch of it.
            for _ in 0..3 * FEED_HWM {
                monitor.event(ZMQ_EVENT_DISCONNECTED, 0, &pair);
                if mon.feed_held.len() < 100 {
                    mon.forward_events();
                }
            }
            mon.forward_events();
            let frames_per_event = 5; // event, count, value, local, remote
            assert!(
                mon.feed_held.len() <= frames_per_event * FEED_HWM as usize,
                "socket type {ty}: {} frames held",
                mon.feed_held.len()
            );

            let mut reader = create(&ctx, reader_ty).unwrap();
            if reader_ty == ZMQ_SUB {
                reader.setsockopt(ZMQ_SUBSCRIBE, Some(b"")).unwrap();
            }
            reader.connect(&endpoint).unwrap();
            // The reaper's step, woken by the reader's pipe.
            mon.forward_events();
            let mut got = Vec::new();
            while let Ok(m) = reader.recv(ZMQ_DONTWAIT) {
                if got.len() == 2 * frames_per_event {
                    break;
                }
                got.push(m.to_vec());
            }
            if ty == ZMQ_PUB {
                assert!(got.is_empty(), "PUB sent {} frames", got.len());
            } else {
                assert_eq!(got.len(), 2 * frames_per_event, "socket type {ty}");
                assert_eq!(got[0], (ZMQ_EVENT_CONNECTED as u64).to_ne_bytes());
                assert_eq!(
                    got[frames_per_event],
                    (ZMQ_EVENT_HANDSHAKE_FAILED_AUTH as u64).to_ne_bytes()
                );
                assert_eq!(got[frames_per_event + 2], 500u64.to_ne_bytes());
            }
            monitor.stop(true);
            mon.forward_events();
            ctx.reap(Box::new(reader));
            ctx.reap(Box::new(mon));
            assert!(ctx.terminate().is_ok());
        }
    }
}
