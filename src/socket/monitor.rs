//! `zmq_socket_monitor`: the monitor socket, bound to the user's inproc
//! endpoint and fed through a pipe by the monitored socket's [`Monitor`]
//! (see [`crate::monitor`]). The reaper owns it from birth: it forwards the
//! events as they arrive, and closes once the feed ends (the monitored
//! socket closed, or stopped or restarted monitoring).
//!
//! [`Monitor`]: crate::monitor::Monitor

use std::sync::Arc;

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
    /// closes like any other.
    pub(super) fn feed_command(&mut self, cmd: PipeCommand) {
        let Some(feed) = self.feed.as_mut() else {
            return;
        };
        if feed.process(cmd) == Some(PipeEvent::Terminated) {
            self.feed = None;
            self.start_termination();
        }
    }

    /// Sends on the events that arrived. One the readers cannot take now is
    /// dropped whole, as libzmq's monitor socket does with ZMQ_DONTWAIT.
    pub(super) fn forward_events(&mut self) {
        let Some(feed) = self.feed.as_mut() else {
            return;
        };
        while let Some(m) = feed.read() {
            if self.feed_dropping {
                self.feed_dropping = m.more();
                continue;
            }
            let more = m.more();
            if self
                .pattern
                .send(&mut self.pipes, &self.options, m)
                .is_err()
            {
                self.feed_dropping = more;
            }
        }
    }
}
