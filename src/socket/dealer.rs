//! DEALER (RFC 28): load-balances outgoing and fair-queues incoming
//! messages, with no envelope handling. REQ is built on it.

use super::fq::FairQueue;
use super::lb::LoadBalancer;
use super::pipes::{PipeIdx, Pipes};
use super::{Pattern, SendFail};
use crate::constants::ZMQ_PROBE_ROUTER;
use crate::error::{Error, Result};
use crate::msg::Message;
use crate::options::{as_int, OptVal, Options};

#[derive(Default)]
pub(crate) struct Dealer {
    fq: FairQueue,
    lb: LoadBalancer,
    probe_router: bool,
}

impl Dealer {
    /// Sends a frame; returns the pipe it went to.
    pub fn sendpipe(
        &mut self,
        pipes: &mut Pipes,
        msg: Message,
    ) -> std::result::Result<Option<PipeIdx>, SendFail> {
        self.lb.sendpipe(pipes, msg)
    }

    /// Receives a frame and the pipe it came from.
    pub fn recvpipe(&mut self, pipes: &mut Pipes) -> Option<(Message, PipeIdx)> {
        self.fq.recvpipe(pipes)
    }
}

impl Pattern for Dealer {
    fn attach(&mut self, pipes: &mut Pipes, _opts: &mut Options, p: PipeIdx, _local: bool) {
        if self.probe_router {
            // An empty message tells a ROUTER peer we are here.
            let _ = pipes.get(p).write(Message::new());
            pipes.get(p).flush();
        }
        self.fq.attach(p);
        self.lb.attach(p);
    }

    fn setsockopt(
        &mut self,
        _pipes: &mut Pipes,
        _opts: &mut Options,
        option: i32,
        v: OptVal<'_>,
    ) -> Option<Result<()>> {
        match (option, as_int(v)) {
            (ZMQ_PROBE_ROUTER, Some(x)) if x >= 0 => {
                self.probe_router = x != 0;
                Some(Ok(()))
            }
            _ => None,
        }
    }

    fn send(
        &mut self,
        pipes: &mut Pipes,
        _opts: &Options,
        msg: Message,
    ) -> std::result::Result<(), SendFail> {
        self.lb.send(pipes, msg)
    }

    fn recv(&mut self, pipes: &mut Pipes, _opts: &Options) -> Result<Message> {
        self.fq.recv(pipes).ok_or(Error::EAGAIN)
    }

    fn has_in(&mut self, pipes: &mut Pipes, _opts: &Options) -> bool {
        self.fq.has_in(pipes)
    }

    fn has_out(&mut self, pipes: &mut Pipes, _opts: &Options) -> bool {
        self.lb.has_out(pipes)
    }

    fn read_activated(&mut self, _pipes: &mut Pipes, p: PipeIdx) {
        self.fq.activated(p);
    }

    fn write_activated(&mut self, _pipes: &mut Pipes, p: PipeIdx) {
        self.lb.activated(p);
    }

    fn pipe_terminated(&mut self, _pipes: &mut Pipes, p: PipeIdx) {
        self.fq.pipe_terminated(p);
        self.lb.pipe_terminated(p);
    }
}
