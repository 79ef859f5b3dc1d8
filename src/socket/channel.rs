//! CHANNEL (RFC 52, draft): PAIR made thread-safe, single-part messages
//! only. Sending a multipart message is EINVAL; a multipart message from the
//! peer is dropped whole (libzmq src/channel.cpp).

use super::pair::Pair;
use super::pipes::{PipeIdx, Pipes};
use super::{Pattern, SendFail};
use crate::error::{Error, Result};
use crate::msg::Message;
use crate::options::Options;

#[derive(Default)]
pub(crate) struct Channel {
    pair: Pair,
}

impl Pattern for Channel {
    fn attach(&mut self, pipes: &mut Pipes, opts: &mut Options, p: PipeIdx, local: bool) {
        self.pair.attach(pipes, opts, p, local);
    }

    fn pipe_terminated(&mut self, pipes: &mut Pipes, p: PipeIdx) {
        self.pair.pipe_terminated(pipes, p);
    }

    fn send(
        &mut self,
        pipes: &mut Pipes,
        opts: &Options,
        msg: Message,
    ) -> std::result::Result<(), SendFail> {
        if msg.more() {
            return Err(SendFail::Fail(Error::EINVAL, msg));
        }
        self.pair.send(pipes, opts, msg)
    }

    fn recv(&mut self, pipes: &mut Pipes, opts: &Options) -> Result<Message> {
        loop {
            let m = self.pair.recv(pipes, opts)?;
            if !m.more() {
                return Ok(m);
            }
            // Skip the rest of this multipart message.
            let mut more = true;
            while more {
                more = self.pair.recv(pipes, opts)?.more();
            }
        }
    }

    fn has_in(&mut self, pipes: &mut Pipes, opts: &Options) -> bool {
        self.pair.has_in(pipes, opts)
    }

    fn has_out(&mut self, pipes: &mut Pipes, opts: &Options) -> bool {
        self.pair.has_out(pipes, opts)
    }
}
