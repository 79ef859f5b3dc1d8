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
                    // No division per message: current < active always.
                    self.current += 1;
                    if self.current >= self.set.active {
                        self.current = 0;
                    }
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

#[cfg(test)]
mod tests {
    use super::super::pull::Pull;
    use super::super::test_util::Harness;
    use super::super::Pattern;
    use crate::error::Error;
    use crate::msg::Message;

    fn msg(s: &str, more: bool) -> Message {
        let mut m = Message::from_slice(s.as_bytes());
        m.set_more(more);
        m
    }

    fn recv_all(h: &mut Harness<Pull>) -> Vec<String> {
        let mut out = Vec::new();
        loop {
            match h.pattern.recv(&mut h.pipes, &h.opts) {
                Ok(m) => out.push(String::from_utf8_lossy(m.as_slice()).into_owned()),
                Err(Error::EAGAIN) => return out,
                Err(e) => panic!("{e}"),
            }
        }
    }

    #[test]
    fn takes_one_message_from_each_pipe_in_turn() {
        let mut h = Harness::new(Pull::default());
        let pipes: Vec<_> = (0..3).map(|_| h.add_pipe(0)).collect();
        for (i, &p) in pipes.iter().enumerate() {
            let n = ["a", "b", "c"][i];
            h.push_from(
                p,
                vec![msg(&format!("{n}1"), false), msg(&format!("{n}2"), false)],
            );
        }
        assert_eq!(recv_all(&mut h), vec!["a1", "b1", "c1", "a2", "b2", "c2"]);
        assert!(!h.pattern.has_in(&mut h.pipes, &h.opts));
    }

    #[test]
    fn never_interleaves_the_frames_of_two_messages() {
        let mut h = Harness::new(Pull::default());
        let a = h.add_pipe(0);
        let b = h.add_pipe(0);
        h.push_from(a, vec![msg("a1", true), msg("a2", false)]);
        h.push_from(b, vec![msg("b1", true), msg("b2", false)]);
        assert_eq!(recv_all(&mut h), vec!["a1", "a2", "b1", "b2"]);
    }

    #[test]
    fn a_pipe_that_goes_away_is_skipped() {
        let mut h = Harness::new(Pull::default());
        let a = h.add_pipe(0);
        let b = h.add_pipe(0);
        h.push_from(a, vec![msg("a", false)]);
        h.push_from(b, vec![msg("b", false)]);
        h.pattern.pipe_terminated(&mut h.pipes, a);
        assert_eq!(recv_all(&mut h), vec!["b"]);
    }
}
