//! `zmq_setsockopt` / `zmq_getsockopt` on a socket: the socket type's own
//! options first, then the common ones; ZMQ_EVENTS and the pipes' stats.

use super::wait::Wait;
use super::*;
use crate::constants::*;
use crate::error::{Error, Result};
use crate::options::{self, OptVal};

impl SocketCore {
    /// `zmq_setsockopt`.
    pub(crate) fn setsockopt(&mut self, option: i32, v: OptVal<'_>) -> Result<()> {
        self.term_check()?;
        if let Some(done) = self
            .pattern
            .setsockopt(&mut self.pipes, &mut self.options, option, v)
        {
            return done;
        }
        self.options.set(option, v)?;
        if option == ZMQ_SNDHWM || option == ZMQ_RCVHWM {
            let (snd, rcv) = (self.options.sndhwm, self.options.rcvhwm);
            for idx in self.pipes.indices() {
                let p = self.pipes.get(idx);
                p.set_hwms(rcv, snd);
                p.send_hwms_to_peer(snd, rcv);
            }
        }
        Ok(())
    }

    /// `zmq_getsockopt`: writes the value into `buf` and returns its length.
    pub(crate) fn getsockopt(&mut self, option: i32, buf: &mut [u8]) -> Result<usize> {
        self.term_check()?;
        if let Some(done) = self.pattern.getsockopt(&self.options, option, buf) {
            return done;
        }
        // The socket's own values accept any buffer at least as large and
        // report their size, unlike the common int options (libzmq quirk).
        let int = |buf: &mut [u8], v: i32| options::put_bytes(buf, &v.to_ne_bytes());
        match option {
            ZMQ_RCVMORE => int(buf, self.rcvmore as i32),
            ZMQ_FD if is_thread_safe(self.options.socket_type) => Err(Error::EINVAL),
            ZMQ_FD => int(buf, self.fd()),
            ZMQ_EVENTS => {
                self.process_commands(Wait::No)?;
                let ev = self.events();
                int(buf, ev)
            }
            ZMQ_LAST_ENDPOINT => {
                let ep = self.last_endpoint.clone();
                options::put_str(buf, &ep)
            }
            ZMQ_THREAD_SAFE => int(buf, is_thread_safe(self.options.socket_type) as i32),
            _ => self.options.get(option, buf),
        }
    }

    /// ZMQ_POLLIN / ZMQ_POLLOUT readiness, after processing pending commands.
    pub(crate) fn poll_events(&mut self) -> Result<i32> {
        self.term_check()?;
        self.process_commands(Wait::No)?;
        Ok(self.events())
    }

    pub(super) fn events(&mut self) -> i32 {
        let mut ev = 0;
        if self.pattern.has_out(&mut self.pipes, &self.options) {
            ev |= ZMQ_POLLOUT;
        }
        if self.pattern.has_in(&mut self.pipes, &self.options) {
            ev |= ZMQ_POLLIN;
        }
        ev
    }

    /// `zmq_socket_monitor_pipes_stats`: every pipe reports its queue lengths
    /// as a ZMQ_EVENT_PIPES_STATS event.
    pub(crate) fn pipes_stats(&mut self) -> Result<()> {
        if !self.monitor.wants(ZMQ_EVENT_PIPES_STATS) {
            return Err(Error::EINVAL);
        }
        let idxs = self.pipes.indices();
        if idxs.is_empty() {
            return Err(Error::EAGAIN);
        }
        for i in idxs {
            self.pipes.peek(i).request_stats();
        }
        Ok(())
    }
}
