//! Distribution: a message goes to every matching pipe that can take it
//! (libzmq src/dist.cpp). Pipes are ordered so that the first `matching`
//! match the current message, the first `active` can be written, and the
//! first `eligible` may take the next message (a pipe that attached or
//! woke up in the middle of a multi-part message waits for the next one).
//! Large bodies are shared by all copies, never duplicated.

use super::pipes::{ActiveSet, PipeIdx, Pipes};
use crate::msg::Message;

#[derive(Default)]
pub(crate) struct Dist {
    set: ActiveSet,
    matching: usize,
    active: usize,
    eligible: usize,
    more: bool,
}

impl Dist {
    pub fn attach(&mut self, p: PipeIdx) {
        self.set.push(p);
        let last = self.set.len() - 1;
        if self.more {
            self.set.swap(self.eligible, last);
            self.eligible += 1;
        } else {
            self.set.swap(self.active, last);
            self.active += 1;
            self.eligible += 1;
        }
    }

    /// Whether the pipe is attached.
    pub fn has_pipe(&self, p: PipeIdx) -> bool {
        self.set.contains(p)
    }

    /// Marks a pipe as matching the current message.
    pub fn match_pipe(&mut self, p: PipeIdx) {
        let i = self.set.index(p);
        if i < self.matching || i >= self.eligible {
            return;
        }
        self.set.swap(i, self.matching);
        self.matching += 1;
    }

    /// Inverts the match (ZMQ_INVERT_MATCHING).
    pub fn reverse_match(&mut self) {
        let prev = self.matching;
        self.matching = 0;
        for i in prev..self.eligible {
            self.set.swap(i, self.matching);
            self.matching += 1;
        }
    }

    pub fn unmatch(&mut self) {
        self.matching = 0;
    }

    pub fn pipe_terminated(&mut self, p: PipeIdx) {
        if self.set.index(p) < self.matching {
            let i = self.set.index(p);
            self.set.swap(i, self.matching - 1);
            self.matching -= 1;
        }
        if self.set.index(p) < self.active {
            let i = self.set.index(p);
            self.set.swap(i, self.active - 1);
            self.active -= 1;
        }
        if self.set.index(p) < self.eligible {
            let i = self.set.index(p);
            self.set.swap(i, self.eligible - 1);
            self.eligible -= 1;
        }
        self.set.erase(p);
    }

    pub fn activated(&mut self, p: PipeIdx) {
        if self.eligible < self.set.len() {
            let i = self.set.index(p);
            self.set.swap(i, self.eligible);
            self.eligible += 1;
        }
        if !self.more && self.active < self.set.len() {
            self.set.swap(self.eligible - 1, self.active);
            self.active += 1;
        }
    }

    /// Sends to every active pipe.
    pub fn send_to_all(&mut self, pipes: &mut Pipes, msg: Message) {
        self.matching = self.active;
        self.send_to_matching(pipes, msg);
    }

    /// Sends to the matching pipes.
    pub fn send_to_matching(&mut self, pipes: &mut Pipes, msg: Message) {
        let more = msg.more();
        self.distribute(pipes, msg);
        if !more {
            self.active = self.eligible;
        }
        self.more = more;
    }

    fn distribute(&mut self, pipes: &mut Pipes, msg: Message) {
        let more = msg.more();
        let mut original = Some(msg);
        let mut i = 0;
        while i < self.matching {
            let p = self.set.at(i);
            let m = if i + 1 == self.matching {
                match original.take() {
                    Some(m) => m,
                    None => break,
                }
            } else {
                match original.as_ref() {
                    Some(m) => m.clone(),
                    None => break,
                }
            };
            match pipes.get(p).write(m) {
                Ok(()) => {
                    if !more {
                        pipes.get(p).flush();
                    }
                    i += 1;
                }
                Err(back) => {
                    if original.is_none() {
                        original = Some(back);
                    }
                    if !pipes.peek(p).check_hwm() {
                        crate::diag::hwm_drop(pipes.peek(p).endpoint());
                    }
                    // The pipe is full or gone: out of this message and of
                    // the active set until it is activated again.
                    let idx = self.set.index(p);
                    self.set.swap(idx, self.matching - 1);
                    self.matching -= 1;
                    let idx = self.set.index(p);
                    self.set.swap(idx, self.active - 1);
                    self.active -= 1;
                    self.set.swap(self.active, self.eligible - 1);
                    self.eligible -= 1;
                }
            }
        }
    }

    /// Whether every matching pipe is below its HWM.
    pub fn check_hwm(&self, pipes: &Pipes) -> bool {
        (0..self.matching).all(|i| pipes.peek(self.set.at(i)).check_hwm())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::Harness;
    use super::super::xpub::XPub;
    use super::super::Pattern;
    use crate::msg::{flags, Message};

    fn sub(topic: &str) -> Message {
        let mut m = Message::from_slice(topic.as_bytes());
        m.set_flags(flags::SUBSCRIBE);
        m
    }

    fn publish(h: &mut Harness<XPub>, s: &str) {
        assert!(h
            .pattern
            .send(&mut h.pipes, &h.opts, Message::from_slice(s.as_bytes()))
            .is_ok());
    }

    fn texts(ms: Vec<Message>) -> Vec<String> {
        ms.iter()
            .map(|m| String::from_utf8_lossy(m.as_slice()).into_owned())
            .collect()
    }

    #[test]
    fn each_message_goes_to_every_matching_subscriber_once() {
        let mut h = Harness::new(XPub::new(true));
        let a = h.add_pipe(0);
        let b = h.add_pipe(0);
        let c = h.add_pipe(0);
        h.push_from(a, vec![sub("news.")]);
        h.push_from(b, vec![sub("news."), sub("news.sport")]);
        h.push_from(c, vec![sub("")]);
        for s in ["news.sport", "weather", "news.art"] {
            publish(&mut h, s);
        }
        assert_eq!(texts(h.drain_far(a)), vec!["news.sport", "news.art"]);
        assert_eq!(texts(h.drain_far(b)), vec!["news.sport", "news.art"]);
        assert_eq!(
            texts(h.drain_far(c)),
            vec!["news.sport", "weather", "news.art"]
        );
    }

    #[test]
    fn a_subscriber_at_its_hwm_misses_messages_the_others_get() {
        let mut h = Harness::new(XPub::new(true));
        let slow = h.add_pipe(1);
        let fast = h.add_pipe(0);
        h.push_from(slow, vec![sub("")]);
        h.push_from(fast, vec![sub("")]);
        for s in ["1", "2", "3"] {
            publish(&mut h, s);
        }
        assert_eq!(texts(h.drain_far(fast)), vec!["1", "2", "3"]);
        assert_eq!(texts(h.drain_far(slow)), vec!["1"]);
        // Room again: it gets what comes next.
        publish(&mut h, "4");
        assert_eq!(texts(h.drain_far(slow)), vec!["4"]);
    }
}
