//! Load-balancing: each complete message goes to the next pipe that can take
//! it, round-robin over the active pipes (libzmq src/lb.cpp). Used by PUSH,
//! DEALER and REQ.

use super::pipes::{ActiveSet, PipeIdx, Pipes};
use super::SendFail;
use crate::msg::Message;

#[derive(Default)]
pub(crate) struct LoadBalancer {
    set: ActiveSet,
    current: usize,
    more: bool,
    dropping: bool,
}

impl LoadBalancer {
    pub fn attach(&mut self, p: PipeIdx) {
        self.set.push(p);
        self.activated(p);
    }

    pub fn pipe_terminated(&mut self, p: PipeIdx) {
        let index = self.set.index(p);
        if index == self.current && self.more {
            self.dropping = true;
        }
        if index < self.set.active {
            self.set.active -= 1;
            self.set.swap(index, self.set.active);
            if self.current == self.set.active {
                self.current = 0;
            }
        }
        self.set.erase(p);
    }

    pub fn activated(&mut self, p: PipeIdx) {
        let i = self.set.index(p);
        self.set.swap(i, self.set.active);
        self.set.active += 1;
    }

    pub fn send(&mut self, pipes: &mut Pipes, msg: Message) -> Result<(), SendFail> {
        self.sendpipe(pipes, msg).map(|_| ())
    }

    /// Sends a frame; returns the pipe it went to (`None` when it was
    /// dropped as the rest of a message whose pipe went away).
    pub fn sendpipe(
        &mut self,
        pipes: &mut Pipes,
        mut msg: Message,
    ) -> Result<Option<PipeIdx>, SendFail> {
        let more = msg.more();
        if self.dropping {
            self.more = more;
            self.dropping = more;
            return Ok(None);
        }
        while self.set.active > 0 {
            let p = self.set.at(self.current);
            match pipes.get(p).write(msg) {
                Ok(()) => {
                    self.more = more;
                    if !more {
                        pipes.get(p).flush();
                        self.current += 1;
                        if self.current >= self.set.active {
                            self.current = 0;
                        }
                    }
                    return Ok(Some(p));
                }
                Err(back) => msg = back,
            }
            if self.more {
                // The pipe filled up or went away in the middle of a message:
                // drop what was written and the rest of the message.
                pipes.get(p).rollback();
                self.dropping = more;
                self.more = false;
                return Err(SendFail::Dropped(msg));
            }
            self.set.active -= 1;
            if self.current < self.set.active {
                self.set.swap(self.current, self.set.active);
            } else {
                self.current = 0;
            }
        }
        Err(SendFail::Again(msg))
    }

    pub fn has_out(&mut self, pipes: &mut Pipes) -> bool {
        if self.more {
            return true;
        }
        while self.set.active > 0 {
            let p = self.set.at(self.current);
            if pipes.get(p).check_write() {
                return true;
            }
            self.set.active -= 1;
            self.set.swap(self.current, self.set.active);
            if self.current == self.set.active {
                self.current = 0;
            }
        }
        false
    }
}
