//! XPUB and PUB (RFC 29): distribute messages to the subscribers whose
//! subscriptions match; XPUB also passes subscriptions up to the user
//! (libzmq src/xpub.cpp, src/pub.cpp).
//!
//! Options: XPUB_VERBOSE / VERBOSER (pass duplicates), XPUB_NODROP (block
//! or EAGAIN at HWM instead of dropping), XPUB_MANUAL and
//! XPUB_MANUAL_LAST_VALUE (the user decides subscriptions),
//! XPUB_WELCOME_MSG, ONLY_FIRST_SUBSCRIBE, INVERT_MATCHING, TOPICS_COUNT.

use std::collections::VecDeque;
use std::sync::Arc;

use super::dist::Dist;
use super::pipes::{PipeIdx, Pipes};
use super::trie::{MTrie, RmResult};
use super::{Pattern, SendFail};
use crate::constants::*;
use crate::error::{Error, Result};
use crate::msg::{Message, Metadata};
use crate::options::{as_int, OptVal, Options};
use crate::zmtp::subscription_kind;

pub(crate) struct XPub {
    is_pub: bool,
    dist: Dist,
    subs: MTrie,
    manual_subs: MTrie,
    verbose_subs: bool,
    verbose_unsubs: bool,
    more_send: bool,
    more_recv: bool,
    process_subscribe: bool,
    only_first_subscribe: bool,
    lossy: bool,
    manual: bool,
    send_last_pipe: bool,
    pending: VecDeque<(Vec<u8>, Option<Arc<Metadata>>, u8)>,
    pending_pipes: VecDeque<Option<PipeIdx>>,
    last_pipe: Option<PipeIdx>,
    welcome: Option<Message>,
}

impl XPub {
    pub fn new(is_pub: bool) -> XPub {
        XPub {
            is_pub,
            dist: Dist::default(),
            subs: MTrie::default(),
            manual_subs: MTrie::default(),
            verbose_subs: false,
            verbose_unsubs: false,
            more_send: false,
            more_recv: false,
            process_subscribe: false,
            only_first_subscribe: false,
            lossy: true,
            manual: false,
            send_last_pipe: false,
            pending: VecDeque::new(),
            pending_pipes: VecDeque::new(),
            last_pipe: None,
            welcome: None,
        }
    }

    /// Reads everything the pipe has: subscriptions and, for XPUB, other
    /// messages from subscribers.
    fn read_subscriptions(&mut self, pipes: &mut Pipes, p: PipeIdx) {
        while let Some(msg) = pipes.get(p).read() {
            let first_part = !self.more_recv;
            self.more_recv = msg.more();
            let mut sub: Option<(bool, &[u8])> = None;
            if first_part || self.process_subscribe {
                if let Some(subscribe) = subscription_kind(&msg) {
                    sub = Some((subscribe, msg.as_slice()));
                } else if let Some(&b) = msg.first() {
                    if b == 0 || b == 1 {
                        sub = Some((b == 1, &msg[1..]));
                    }
                }
            }
            if first_part {
                self.process_subscribe = !self.only_first_subscribe || sub.is_some();
            }
            if let Some((subscribe, topic)) = sub {
                let mut notify = false;
                if self.manual {
                    if subscribe {
                        self.manual_subs.add(topic, p);
                    } else {
                        self.manual_subs.rm(topic, p);
                    }
                    self.pending_pipes.push_back(Some(p));
                } else if subscribe {
                    notify = self.subs.add(topic, p) || self.verbose_subs;
                } else {
                    let r = self.subs.rm(topic, p);
                    notify = r != RmResult::ValuesRemain || self.verbose_unsubs;
                }
                if self.manual || (!self.is_pub && notify) {
                    let mut n = Vec::with_capacity(topic.len() + 1);
                    n.push(subscribe as u8);
                    n.extend_from_slice(topic);
                    self.pending.push_back((n, msg.metadata().cloned(), 0));
                }
            } else if !self.is_pub {
                self.pending
                    .push_back((msg.to_vec(), msg.metadata().cloned(), msg.flags()));
            }
        }
    }
}

impl Pattern for XPub {
    fn attach(&mut self, pipes: &mut Pipes, _opts: &mut Options, p: PipeIdx, _local: bool) {
        if self.is_pub {
            pipes.get(p).set_nodelay();
        }
        self.dist.attach(p);
        if let Some(w) = &self.welcome {
            let _ = pipes.get(p).write(w.clone());
            pipes.get(p).flush();
        }
        self.read_subscriptions(pipes, p);
    }

    /// A pgm/epgm pipe: subscribed to everything at once (libzmq
    /// `xpub_t::xattach_pipe` with `subscribe_to_all`), without telling the
    /// user.
    fn attach_subscribe_all(&mut self, pipes: &mut Pipes, opts: &mut Options, p: PipeIdx) {
        self.attach(pipes, opts, p, true);
        self.subs.add(b"", p);
    }

    fn read_activated(&mut self, pipes: &mut Pipes, p: PipeIdx) {
        self.read_subscriptions(pipes, p);
    }

    fn write_activated(&mut self, _pipes: &mut Pipes, p: PipeIdx) {
        self.dist.activated(p);
    }

    fn pipe_terminated(&mut self, _pipes: &mut Pipes, p: PipeIdx) {
        let mut unsubs = Vec::new();
        if self.manual {
            self.manual_subs
                .rm_pipe(p, false, |t| unsubs.push(t.to_vec()));
            self.subs.rm_pipe(p, false, |_| {});
            if self.last_pipe == Some(p) {
                self.last_pipe = None;
            }
        } else {
            self.subs
                .rm_pipe(p, !self.verbose_unsubs, |t| unsubs.push(t.to_vec()));
        }
        if !self.is_pub {
            for t in unsubs {
                let mut n = Vec::with_capacity(t.len() + 1);
                n.push(0);
                n.extend_from_slice(&t);
                self.pending.push_back((n, None, 0));
                if self.manual {
                    self.last_pipe = None;
                    self.pending_pipes.push_back(None);
                }
            }
        }
        self.dist.pipe_terminated(p);
    }

    fn setsockopt(
        &mut self,
        _pipes: &mut Pipes,
        _opts: &mut Options,
        option: i32,
        v: OptVal<'_>,
    ) -> Option<Result<()>> {
        match option {
            ZMQ_XPUB_VERBOSE
            | ZMQ_XPUB_VERBOSER
            | ZMQ_XPUB_MANUAL_LAST_VALUE
            | ZMQ_XPUB_NODROP
            | ZMQ_XPUB_MANUAL
            | ZMQ_ONLY_FIRST_SUBSCRIBE => {
                let x = match as_int(v) {
                    Some(x) if x >= 0 => x != 0,
                    _ => return None,
                };
                match option {
                    ZMQ_XPUB_VERBOSE => {
                        self.verbose_subs = x;
                        self.verbose_unsubs = false;
                    }
                    ZMQ_XPUB_VERBOSER => {
                        self.verbose_subs = x;
                        self.verbose_unsubs = x;
                    }
                    ZMQ_XPUB_MANUAL_LAST_VALUE => {
                        self.manual = x;
                        self.send_last_pipe = x;
                    }
                    ZMQ_XPUB_NODROP => self.lossy = !x,
                    ZMQ_XPUB_MANUAL => self.manual = x,
                    _ => self.only_first_subscribe = x,
                }
                Some(Ok(()))
            }
            ZMQ_SUBSCRIBE | ZMQ_UNSUBSCRIBE if self.manual => {
                if let Some(p) = self.last_pipe {
                    let topic = v.unwrap_or(&[]);
                    if option == ZMQ_SUBSCRIBE {
                        self.subs.add(topic, p);
                    } else {
                        self.subs.rm(topic, p);
                    }
                }
                Some(Ok(()))
            }
            ZMQ_XPUB_WELCOME_MSG => {
                self.welcome = match v {
                    Some(b) if !b.is_empty() => Some(Message::from_slice(b)),
                    _ => None,
                };
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
        opts: &Options,
        msg: Message,
    ) -> std::result::Result<(), SendFail> {
        let more = msg.more();
        if !self.more_send {
            self.dist.unmatch();
            let dist = &mut self.dist;
            if self.manual && self.last_pipe.is_some() && self.send_last_pipe {
                let last = self.last_pipe;
                self.subs.match_each(&msg, |p| {
                    if Some(p) == last {
                        dist.match_pipe(p);
                    }
                });
                self.last_pipe = None;
            } else {
                self.subs.match_each(&msg, |p| dist.match_pipe(p));
            }
            if opts.invert_matching {
                self.dist.reverse_match();
            }
        }
        if self.lossy || self.dist.check_hwm(pipes) {
            self.dist.send_to_matching(pipes, msg);
            if !more {
                self.dist.unmatch();
            }
            self.more_send = more;
            Ok(())
        } else {
            Err(SendFail::Again(msg))
        }
    }

    fn recv(&mut self, _pipes: &mut Pipes, _opts: &Options) -> Result<Message> {
        if self.is_pub {
            return Err(Error::ENOTSUP);
        }
        let Some((data, meta, flags)) = self.pending.pop_front() else {
            return Err(Error::EAGAIN);
        };
        if self.manual {
            if let Some(p) = self.pending_pipes.pop_front() {
                self.last_pipe = p.filter(|&p| self.dist.has_pipe(p));
            }
        }
        let mut m = Message::from_vec(data);
        m.set_metadata(meta);
        m.set_flags(flags & crate::msg::flags::MORE);
        Ok(m)
    }

    fn has_in(&mut self, _pipes: &mut Pipes, _opts: &Options) -> bool {
        !self.is_pub && !self.pending.is_empty()
    }

    fn has_out(&mut self, _pipes: &mut Pipes, _opts: &Options) -> bool {
        true
    }
}
