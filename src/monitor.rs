//! Socket monitoring (`zmq_socket_monitor`): the events of one socket and
//! its connections, encoded as libzmq does (event format versions 1 and 2),
//! and the sink they are posted into.
//!
//! The monitored socket (in the user's thread) and the sessions of its
//! connections (in I/O threads) post events into a [`Monitor`]. It writes
//! each one into a pipe whose other end belongs to the monitor socket: the
//! PAIR, PUB or PUSH bound to the user's inproc endpoint, which the
//! context's reaper owns and which forwards the events to whoever connected
//! (see `socket::monitor`). The sink's end of that pipe sits behind a small
//! lock, held to write one event or to process one of its pipe commands;
//! nothing here calls out while holding it but the pipe itself.
//!
//! Events are never waited for: past the pipe's limit they are dropped.
//! The monitor socket holds what its readers cannot take yet and stops
//! reading the pipe meanwhile, so that an event raised before the reader
//! connected still reaches it, as with libzmq 4.3.5, whose monitor socket
//! blocks the raising thread instead.

use std::sync::Arc;

use crate::constants::*;
use crate::endpoint::EndpointPair;
use crate::msg::Message;
use crate::pipe::{Pipe, PipeCommand, PipeEvent, PipeSink};
use crate::util::sync::Mutex;

/// How many events may wait in the pipe for the monitor socket to forward
/// them; more are dropped (the reaper forwards as soon as it is woken, and
/// while its readers cannot take an event, it holds that one and the rest
/// of its batch and leaves the pipe to fill).
pub(crate) const FEED_HWM: i32 = 10_000;

/// The monitor of one socket, shared with its sessions.
#[derive(Default)]
pub(crate) struct Monitor {
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    feed: Option<Feed>,
    /// Ends of earlier feeds still finishing their termination handshake.
    closing: Vec<(u64, Pipe)>,
    next_key: u64,
}

/// The pipe into the monitor socket, and what it wants.
struct Feed {
    key: u64,
    pipe: Pipe,
    events: u64,
    version: i32,
}

impl Monitor {
    /// Starts posting the `events` (a bit mask) in format `version` into
    /// `pipe`, this end of a pipe to a monitor socket. The caller stops any
    /// earlier monitoring first.
    pub fn start(self: &Arc<Self>, pipe: Pipe, events: u64, version: i32) {
        let sink: Arc<dyn PipeSink> = self.clone();
        let mut state = self.state.lock();
        state.next_key += 1;
        let key = state.next_key;
        // Attach under the lock: a command for this end waits for it.
        let queued = pipe.attach(sink, key);
        state.feed = Some(Feed {
            key,
            pipe,
            events,
            version,
        });
        for cmd in queued {
            state.process(key, cmd);
        }
    }

    /// Stops monitoring, first posting MONITOR_STOPPED if it was asked for
    /// (and `send_stopped`). The monitor socket closes once it has
    /// forwarded what is still in the pipe.
    pub fn stop(&self, send_stopped: bool) {
        let mut state = self.state.lock();
        let Some(mut feed) = state.feed.take() else {
            return;
        };
        if send_stopped && feed.events & ZMQ_EVENT_MONITOR_STOPPED as u64 != 0 {
            feed.post(
                ZMQ_EVENT_MONITOR_STOPPED as u64,
                &[0],
                &EndpointPair::default(),
            );
        }
        feed.pipe.terminate(false);
        state.closing.push((feed.key, feed.pipe));
    }

    /// Whether anyone listens for `event`.
    pub fn wants(&self, event: i32) -> bool {
        self.state
            .lock()
            .feed
            .as_ref()
            .is_some_and(|f| f.events & event as u32 as u64 != 0)
    }

    /// Posts an event with one value.
    pub fn event(&self, event: i32, value: u64, ep: &EndpointPair) {
        self.event_values(event as u64, &[value], ep);
    }

    /// Posts an event with any number of values (version 2 carries them all).
    pub fn event_values(&self, event: u64, values: &[u64], ep: &EndpointPair) {
        crate::diag::monitor_event(event, values, ep);
        let mut state = self.state.lock();
        if let Some(feed) = state.feed.as_mut() {
            if feed.events & event != 0 {
                feed.post(event, values, ep);
            }
        }
    }
}

impl State {
    /// A command for the feed's end (or an earlier feed's), processed here
    /// and now: no thread owns these ends.
    fn process(&mut self, key: u64, cmd: PipeCommand) {
        if let Some(feed) = self.feed.as_mut().filter(|f| f.key == key) {
            if feed.pipe.process(cmd) == Some(PipeEvent::Terminated) {
                self.feed = None;
            }
            return;
        }
        if let Some(i) = self.closing.iter().position(|(k, _)| *k == key) {
            if self.closing[i].1.process(cmd) == Some(PipeEvent::Terminated) {
                // Dropping the end breaks the Monitor -> Pipe -> link ->
                // Monitor reference cycle.
                self.closing.swap_remove(i);
            }
        }
    }
}

impl PipeSink for Monitor {
    fn deliver(&self, key: u64, cmd: PipeCommand) {
        self.state.lock().process(key, cmd);
    }
}

impl Feed {
    /// Writes one event as a whole message, or not at all.
    fn post(&mut self, event: u64, values: &[u64], ep: &EndpointPair) {
        for m in encode(self.version, event, values, ep) {
            if let Err(_dropped) = self.pipe.write(m) {
                self.pipe.rollback();
                return;
            }
        }
        self.pipe.flush();
    }
}

/// An event as the frames libzmq sends for it. Version 1: the event number
/// (16 bits) and its value (32 bits) in one frame, then the endpoint (the
/// bound address for binds, the connected one for connects). Version 2:
/// the event (64 bits), the number of values, each value (64 bits), the
/// local and the remote endpoint. Numbers are in host byte order.
pub(crate) fn encode(version: i32, event: u64, values: &[u64], ep: &EndpointPair) -> Vec<Message> {
    let mut frames = Vec::with_capacity(4 + values.len());
    if version == 1 {
        let mut head = Vec::with_capacity(6);
        head.extend_from_slice(&(event as u16).to_ne_bytes());
        head.extend_from_slice(&(values.first().copied().unwrap_or(0) as u32).to_ne_bytes());
        frames.push(Message::from_vec(head));
        frames.push(Message::from_slice(ep.identifier().as_bytes()));
    } else {
        frames.push(Message::from_slice(&event.to_ne_bytes()));
        frames.push(Message::from_slice(&(values.len() as u64).to_ne_bytes()));
        for v in values {
            frames.push(Message::from_slice(&v.to_ne_bytes()));
        }
        frames.push(Message::from_slice(ep.local.as_bytes()));
        frames.push(Message::from_slice(ep.remote.as_bytes()));
    }
    let last = frames.len() - 1;
    for f in &mut frames[..last] {
        f.set_more(true);
    }
    frames
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(bound: bool) -> EndpointPair {
        EndpointPair {
            local: "tcp://127.0.0.1:5555".into(),
            remote: "tcp://127.0.0.1:40000".into(),
            bound,
        }
    }

    #[test]
    fn version_1_frames() {
        let f = encode(1, ZMQ_EVENT_ACCEPTED as u64, &[7], &pair(true));
        assert_eq!(f.len(), 2);
        let mut head = (ZMQ_EVENT_ACCEPTED as u16).to_ne_bytes().to_vec();
        head.extend_from_slice(&7u32.to_ne_bytes());
        assert_eq!(f[0].to_vec(), head);
        assert!(f[0].more());
        assert_eq!(f[1].to_vec(), b"tcp://127.0.0.1:5555");
        assert!(!f[1].more());
        // A connect names its remote end.
        let f = encode(1, ZMQ_EVENT_CONNECTED as u64, &[7], &pair(false));
        assert_eq!(f[1].to_vec(), b"tcp://127.0.0.1:40000");
    }

    #[test]
    fn version_2_frames() {
        let f = encode(2, ZMQ_EVENT_PIPES_STATS as u64, &[3, 4], &pair(true));
        assert_eq!(f.len(), 6);
        assert_eq!(f[0].to_vec(), (ZMQ_EVENT_PIPES_STATS as u64).to_ne_bytes());
        assert_eq!(f[1].to_vec(), 2u64.to_ne_bytes());
        assert_eq!(f[2].to_vec(), 3u64.to_ne_bytes());
        assert_eq!(f[3].to_vec(), 4u64.to_ne_bytes());
        assert_eq!(f[4].to_vec(), b"tcp://127.0.0.1:5555");
        assert_eq!(f[5].to_vec(), b"tcp://127.0.0.1:40000");
        assert!(f[..5].iter().all(|m| m.more()) && !f[5].more());
    }

    #[test]
    fn events_flow_through_the_feed_and_stop_ends_it() {
        /// Stands in for the monitor socket's mailbox.
        #[derive(Default)]
        struct Keep(Mutex<Vec<PipeCommand>>);
        impl PipeSink for Keep {
            fn deliver(&self, _: u64, cmd: PipeCommand) {
                self.0.lock().push(cmd);
            }
        }
        let m = Arc::new(Monitor::default());
        let (w, mut r) = crate::pipe::pipepair([FEED_HWM, 0], [false, false]);
        let keep = Arc::new(Keep::default());
        r.attach(keep.clone(), 0);
        assert!(!m.wants(ZMQ_EVENT_CONNECTED));
        m.start(
            w,
            ZMQ_EVENT_CONNECTED as u64 | ZMQ_EVENT_MONITOR_STOPPED as u64,
            1,
        );
        assert!(m.wants(ZMQ_EVENT_CONNECTED));
        m.event(ZMQ_EVENT_ACCEPTED, 1, &pair(true)); // not asked for
        m.event(ZMQ_EVENT_CONNECTED, 9, &pair(false));
        m.stop(true);
        let got: Vec<Vec<u8>> = std::iter::from_fn(|| r.read())
            .map(|f| f.to_vec())
            .collect();
        assert_eq!(got.len(), 4);
        assert_eq!(&got[0][..2], &(ZMQ_EVENT_CONNECTED as u16).to_ne_bytes());
        assert_eq!(
            &got[2][..2],
            &(ZMQ_EVENT_MONITOR_STOPPED as u16).to_ne_bytes()
        );
        assert!(!m.wants(ZMQ_EVENT_CONNECTED));
        // The monitor socket's side of the termination handshake: its ack
        // drops the closing end and with it the Monitor -> pipe -> Monitor
        // cycle (LeakSanitizer reported the cycle when this was left out).
        let cmds = std::mem::take(&mut *keep.0.lock());
        for cmd in cmds {
            r.process(cmd);
        }
        assert!(m.state.lock().closing.is_empty());
    }
}
