//! Fair-queueing: frames are read round-robin from the active pipes, one
//! whole message at a time (libzmq src/fq.cpp). Used by PULL, DEALER, ROUTER
//! and the request-reply sockets built on them.

use super::pipes::{ActiveSet, PipeIdx, Pipes};
use crate::msg::Message;

#[derive(Default)]
pub(crate) struct FairQueue {
    set: ActiveSet,
    current: usize,
    more: bool,
}

impl FairQueue {
    pub fn attach(&mut self, p: PipeIdx) {
        self.set.push(p);
        let last = self.set.len() - 1;
        self.set.swap(self.set.active, last);
        self.set.active += 1;
    }

    pub fn pipe_terminated(&mut self, p: PipeIdx) {
        let index = self.set.index(p);
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

    pub fn recv(&mut self, pipes: &mut Pipes) -> Option<Message> {
        self.recvpipe(pipes).map(|(m, _)| m)
    }

    /// Reads the next frame and the pipe it came from.
    pub fn recvpipe(&mut self, pipes: &mut Pipes) -> Option<(Message, PipeIdx)> {
        while self.set.active > 0 {
            let p = self.set.at(self.current);
            if let Some(msg) = pipes.get(p).read() {
                self.more = msg.more();
                if !self.more {
                    self.current = (self.current + 1) % self.set.active;
                }
                return Some((msg, p));
            }
            // A message is atomic: a pipe cannot run dry in the middle of one
            // unless it was terminated, in which case the rest is gone anyway.
            self.more = false;
            self.set.active -= 1;
            self.set.swap(self.current, self.set.active);
            if self.current == self.set.active {
                self.current = 0;
            }
        }
        None
    }

    pub fn has_in(&mut self, pipes: &mut Pipes) -> bool {
        if self.more {
            return true;
        }
        while self.set.active > 0 {
            let p = self.set.at(self.current);
            if pipes.get(p).check_read() {
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
