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

#[cfg(test)]
mod tests {
    use super::super::push::Push;
    use super::super::test_util::Harness;
    use super::super::{Pattern, SendFail};
    use crate::msg::Message;

    fn msg(s: &str, more: bool) -> Message {
        let mut m = Message::from_slice(s.as_bytes());
        m.set_more(more);
        m
    }

    fn texts(ms: Vec<Message>) -> Vec<String> {
        ms.iter()
            .map(|m| String::from_utf8_lossy(m.as_slice()).into_owned())
            .collect()
    }

    fn send(h: &mut Harness<Push>, m: Message) -> Result<(), SendFail> {
        h.pattern.send(&mut h.pipes, &h.opts, m)
    }

    #[test]
    fn round_robin_over_the_pipes() {
        let mut h = Harness::new(Push::default());
        let pipes: Vec<_> = (0..3).map(|_| h.add_pipe(0)).collect();
        for i in 0..6 {
            assert!(send(&mut h, msg(&i.to_string(), false)).is_ok());
        }
        let got: Vec<Vec<String>> = pipes.iter().map(|&p| texts(h.drain_far(p))).collect();
        assert_eq!(got, vec![vec!["0", "3"], vec!["1", "4"], vec!["2", "5"]]);
    }

    #[test]
    fn a_full_pipe_is_skipped_until_it_has_room() {
        let mut h = Harness::new(Push::default());
        let a = h.add_pipe(1);
        let b = h.add_pipe(1);
        assert!(send(&mut h, msg("1", false)).is_ok());
        assert!(send(&mut h, msg("2", false)).is_ok());
        // Both pipes are at their HWM: the message comes back.
        match send(&mut h, msg("3", false)) {
            Err(SendFail::Again(m)) => assert_eq!(m.as_slice(), b"3"),
            _ => panic!("expected EAGAIN"),
        }
        assert!(!h.pattern.has_out(&mut h.pipes, &h.opts));
        // b's reader takes its message; credit flows back and b is active.
        assert_eq!(texts(h.drain_far(b)), vec!["2"]);
        assert!(h.pattern.has_out(&mut h.pipes, &h.opts));
        assert!(send(&mut h, msg("3", false)).is_ok());
        assert_eq!(texts(h.drain_far(b)), vec!["3"]);
        assert_eq!(texts(h.drain_far(a)), vec!["1"]);
    }

    #[test]
    fn a_multipart_message_stays_on_one_pipe() {
        let mut h = Harness::new(Push::default());
        let a = h.add_pipe(0);
        let b = h.add_pipe(0);
        for (s, more) in [("a1", true), ("a2", true), ("a3", false), ("b1", false)] {
            assert!(send(&mut h, msg(s, more)).is_ok());
        }
        assert_eq!(texts(h.drain_far(a)), vec!["a1", "a2", "a3"]);
        assert_eq!(texts(h.drain_far(b)), vec!["b1"]);
    }

    #[test]
    fn the_rest_of_a_message_whose_pipe_left_is_dropped() {
        let mut h = Harness::new(Push::default());
        let a = h.add_pipe(0);
        let b = h.add_pipe(0);
        assert!(send(&mut h, msg("part", true)).is_ok());
        // a goes away in the middle of the message.
        h.pattern.pipe_terminated(&mut h.pipes, a);
        assert!(send(&mut h, msg("rest", false)).is_ok());
        // The next message starts clean, on the remaining pipe.
        assert!(send(&mut h, msg("next", false)).is_ok());
        assert_eq!(texts(h.drain_far(b)), vec!["next"]);
    }
}
