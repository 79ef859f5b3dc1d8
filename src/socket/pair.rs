//! PAIR (RFC 31): one peer; a second one is refused.

use super::pipes::{PipeIdx, Pipes};
use super::{Pattern, SendFail};
use crate::error::{Error, Result};
use crate::msg::Message;
use crate::options::Options;

#[derive(Default)]
pub(crate) struct Pair {
    pipe: Option<PipeIdx>,
}

impl Pattern for Pair {
    fn attach(&mut self, pipes: &mut Pipes, _opts: &mut Options, p: PipeIdx, _local: bool) {
        if self.pipe.is_none() {
            self.pipe = Some(p);
        } else {
            pipes.get(p).terminate(false);
        }
    }

    fn pipe_terminated(&mut self, _pipes: &mut Pipes, p: PipeIdx) {
        if self.pipe == Some(p) {
            self.pipe = None;
        }
    }

    fn send(
        &mut self,
        pipes: &mut Pipes,
        _opts: &Options,
        msg: Message,
    ) -> std::result::Result<(), SendFail> {
        let Some(p) = self.pipe else {
            return Err(SendFail::Again(msg));
        };
        let more = msg.more();
        let pipe = pipes.get(p);
        pipe.write(msg).map_err(SendFail::Again)?;
        if !more {
            pipe.flush();
        }
        Ok(())
    }

    fn recv(&mut self, pipes: &mut Pipes, _opts: &Options) -> Result<Message> {
        let p = self.pipe.ok_or(Error::EAGAIN)?;
        pipes.get(p).read().ok_or(Error::EAGAIN)
    }

    fn has_in(&mut self, pipes: &mut Pipes, _opts: &Options) -> bool {
        self.pipe.is_some_and(|p| pipes.get(p).check_read())
    }

    fn has_out(&mut self, pipes: &mut Pipes, _opts: &Options) -> bool {
        self.pipe.is_some_and(|p| pipes.get(p).check_write())
    }
}
