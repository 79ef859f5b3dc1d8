//! PUSH (RFC 30): load-balances messages to its peers; never receives.

use super::lb::LoadBalancer;
use super::pipes::{PipeIdx, Pipes};
use super::{Pattern, SendFail};
use crate::msg::Message;
use crate::options::Options;

#[derive(Default)]
pub(crate) struct Push {
    lb: LoadBalancer,
}

impl Pattern for Push {
    fn attach(&mut self, pipes: &mut Pipes, _opts: &mut Options, p: PipeIdx, _local: bool) {
        // We never read, so don't wait for the peer's pending messages on termination.
        pipes.get(p).set_nodelay();
        self.lb.attach(p);
    }

    fn write_activated(&mut self, _pipes: &mut Pipes, p: PipeIdx) {
        self.lb.activated(p);
    }

    fn pipe_terminated(&mut self, _pipes: &mut Pipes, p: PipeIdx) {
        self.lb.pipe_terminated(p);
    }

    fn send(&mut self, pipes: &mut Pipes, _opts: &Options, msg: Message) -> Result<(), SendFail> {
        self.lb.send(pipes, msg)
    }

    fn has_out(&mut self, pipes: &mut Pipes, _opts: &Options) -> bool {
        self.lb.has_out(pipes)
    }
}
