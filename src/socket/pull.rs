//! PULL (RFC 30): fair-queues messages from its peers; never sends.

use super::fq::FairQueue;
use super::pipes::{PipeIdx, Pipes};
use super::Pattern;
use crate::error::{Error, Result};
use crate::msg::Message;
use crate::options::Options;

#[derive(Default)]
pub(crate) struct Pull {
    fq: FairQueue,
}

impl Pattern for Pull {
    fn attach(&mut self, _pipes: &mut Pipes, _opts: &mut Options, p: PipeIdx, _local: bool) {
        self.fq.attach(p);
    }

    fn read_activated(&mut self, _pipes: &mut Pipes, p: PipeIdx) {
        self.fq.activated(p);
    }

    fn pipe_terminated(&mut self, _pipes: &mut Pipes, p: PipeIdx) {
        self.fq.pipe_terminated(p);
    }

    fn recv(&mut self, pipes: &mut Pipes, _opts: &Options) -> Result<Message> {
        self.fq.recv(pipes).ok_or(Error::EAGAIN)
    }

    fn has_in(&mut self, pipes: &mut Pipes, _opts: &Options) -> bool {
        self.fq.has_in(pipes)
    }
}
