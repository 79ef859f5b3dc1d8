//! XSUB and SUB (RFC 29): receive what matches the subscriptions, send
//! subscriptions to every publisher, resend them after a reconnect
//! (libzmq src/xsub.cpp, src/sub.cpp). SUB filters locally too, so old
//! publishers that do not filter still deliver only what was asked for.

use super::dist::Dist;
use super::fq::FairQueue;
use super::pipes::{PipeIdx, Pipes};
use super::trie::SubTrie;
use super::{Pattern, SendFail};
use crate::constants::*;
use crate::error::{Error, Result};
use crate::msg::{flags, Message};
use crate::options::{as_int, OptVal, Options};
use crate::zmtp::subscription_kind;

pub(crate) struct XSub {
    is_sub: bool,
    fq: FairQueue,
    dist: Dist,
    subs: SubTrie,
    verbose_unsubs: bool,
    prefetched: Option<Message>,
    more_send: bool,
    more_recv: bool,
    process_subscribe: bool,
    only_first_subscribe: bool,
}

impl XSub {
    pub fn new(is_sub: bool) -> XSub {
        XSub {
            is_sub,
            fq: FairQueue::default(),
            dist: Dist::default(),
            subs: SubTrie::default(),
            verbose_unsubs: false,
            prefetched: None,
            more_send: false,
            more_recv: false,
            process_subscribe: false,
            only_first_subscribe: false,
        }
    }

    fn send_subscriptions(&self, pipes: &mut Pipes, p: PipeIdx) {
        let pipe = pipes.get(p);
        self.subs.apply(|topic| {
            let mut m = Message::from_slice(topic);
            m.set_flags(flags::SUBSCRIBE);
            let _ = pipe.write(m);
        });
        pipe.flush();
    }

    fn xsend(&mut self, pipes: &mut Pipes, msg: Message) {
        let first_part = !self.more_send;
        self.more_send = msg.more();
        if first_part {
            self.process_subscribe = !self.only_first_subscribe;
        } else if !self.process_subscribe {
            self.dist.send_to_all(pipes, msg);
            return;
        }
        let kind = subscription_kind(&msg);
        let (subscribe, topic): (Option<bool>, &[u8]) = match kind {
            Some(s) => (Some(s), msg.as_slice()),
            None => match msg.first() {
                Some(1) => (Some(true), &msg[1..]),
                Some(0) => (Some(false), &msg[1..]),
                _ => (None, &[]),
            },
        };
        match subscribe {
            Some(true) => {
                self.subs.add(topic);
                self.process_subscribe = true;
                self.dist.send_to_all(pipes, msg);
            }
            Some(false) => {
                self.process_subscribe = true;
                let removed = self.subs.rm(topic);
                if removed || self.verbose_unsubs {
                    self.dist.send_to_all(pipes, msg);
                }
            }
            None => self.dist.send_to_all(pipes, msg),
        }
    }

    fn matches(&self, msg: &Message, opts: &Options) -> bool {
        self.subs.check(msg) ^ opts.invert_matching
    }

    /// The next message that passes the filter (SUB), whole messages only.
    fn next_filtered(&mut self, pipes: &mut Pipes, opts: &Options) -> Option<Message> {
        loop {
            let m = self.fq.recv(pipes)?;
            if self.more_recv || !opts.filter || self.matches(&m, opts) {
                return Some(m);
            }
            let mut more = m.more();
            while more {
                match self.fq.recv(pipes) {
                    Some(rest) => more = rest.more(),
                    None => break,
                }
            }
        }
    }
}

impl Pattern for XSub {
    fn attach(&mut self, pipes: &mut Pipes, _opts: &mut Options, p: PipeIdx, _local: bool) {
        self.fq.attach(p);
        self.dist.attach(p);
        self.send_subscriptions(pipes, p);
    }

    fn read_activated(&mut self, _pipes: &mut Pipes, p: PipeIdx) {
        self.fq.activated(p);
    }

    fn write_activated(&mut self, _pipes: &mut Pipes, p: PipeIdx) {
        self.dist.activated(p);
    }

    fn pipe_terminated(&mut self, _pipes: &mut Pipes, p: PipeIdx) {
        self.fq.pipe_terminated(p);
        self.dist.pipe_terminated(p);
    }

    fn hiccuped(&mut self, pipes: &mut Pipes, p: PipeIdx) {
        self.send_subscriptions(pipes, p);
    }

    fn setsockopt(
        &mut self,
        pipes: &mut Pipes,
        _opts: &mut Options,
        option: i32,
        v: OptVal<'_>,
    ) -> Option<Result<()>> {
        if self.is_sub {
            if option != ZMQ_SUBSCRIBE && option != ZMQ_UNSUBSCRIBE {
                return None;
            }
            let mut m = Message::from_slice(v.unwrap_or(&[]));
            m.set_flags(if option == ZMQ_SUBSCRIBE {
                flags::SUBSCRIBE
            } else {
                flags::CANCEL
            });
            self.xsend(pipes, m);
            return Some(Ok(()));
        }
        match (option, as_int(v)) {
            (ZMQ_ONLY_FIRST_SUBSCRIBE, Some(x)) if x >= 0 => {
                self.only_first_subscribe = x != 0;
                Some(Ok(()))
            }
            (ZMQ_XSUB_VERBOSE_UNSUBSCRIBE, Some(x)) => {
                self.verbose_unsubs = x != 0;
                Some(Ok(()))
            }
            _ => None,
        }
    }

    fn getsockopt(
        &mut self,
        _opts: &Options,
        option: i32,
        buf: &mut [u8],
    ) -> Option<Result<usize>> {
        match option {
            ZMQ_TOPICS_COUNT => Some(crate::options::put_bytes(
                buf,
                &(self.subs.num_prefixes() as i32).to_ne_bytes(),
            )),
            _ => None,
        }
    }

    fn send(
        &mut self,
        pipes: &mut Pipes,
        _opts: &Options,
        msg: Message,
    ) -> std::result::Result<(), SendFail> {
        if self.is_sub {
            return Err(SendFail::Fail(Error::ENOTSUP, msg));
        }
        self.xsend(pipes, msg);
        Ok(())
    }

    fn recv(&mut self, pipes: &mut Pipes, opts: &Options) -> Result<Message> {
        let m = match self.prefetched.take() {
            Some(m) => m,
            None => self.next_filtered(pipes, opts).ok_or(Error::EAGAIN)?,
        };
        self.more_recv = m.more();
        Ok(m)
    }

    fn has_in(&mut self, pipes: &mut Pipes, opts: &Options) -> bool {
        if self.more_recv || self.prefetched.is_some() {
            return true;
        }
        match self.next_filtered(pipes, opts) {
            Some(m) => {
                self.prefetched = Some(m);
                true
            }
            None => false,
        }
    }

    fn has_out(&mut self, _pipes: &mut Pipes, _opts: &Options) -> bool {
        !self.is_sub
    }
}
