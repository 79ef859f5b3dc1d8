//! STREAM: raw TCP with a routing-id envelope (libzmq src/stream.cpp).
//! Each received chunk comes as [routing id, data]; sending [routing id,
//! data] writes the data to that peer, and an empty data frame closes the
//! connection. With ZMQ_STREAM_NOTIFY (default on) a connect and a
//! disconnect show up as an empty data frame.

use std::collections::HashMap;

use super::fq::FairQueue;
use super::pipes::{PipeIdx, Pipes};
use super::{Pattern, SendFail};
use crate::constants::*;
use crate::error::{Error, Result};
use crate::msg::Message;
use crate::options::{as_int, OptVal, Options};

pub(crate) struct Stream {
    fq: FairQueue,
    out_pipes: HashMap<Vec<u8>, PipeIdx>,
    prefetched: Option<Message>,
    prefetched_id: Option<Message>,
    current_out: Option<PipeIdx>,
    more_out: bool,
    next_integral_id: u32,
    connect_routing_id: Vec<u8>,
}

impl Stream {
    pub fn new() -> Stream {
        Stream {
            fq: FairQueue::default(),
            out_pipes: HashMap::new(),
            prefetched: None,
            prefetched_id: None,
            current_out: None,
            more_out: false,
            next_integral_id: crate::util::random_u32(),
            connect_routing_id: Vec::new(),
        }
    }

    fn prefetch(&mut self, pipes: &mut Pipes) -> bool {
        if self.prefetched.is_some() {
            return true;
        }
        let Some((m, p)) = self.fq.recvpipe(pipes) else {
            return false;
        };
        let mut id = Message::from_slice(pipes.peek(p).routing_id());
        id.set_more(true);
        id.set_metadata(m.metadata().cloned());
        self.prefetched_id = Some(id);
        self.prefetched = Some(m);
        true
    }
}

impl Pattern for Stream {
    fn attach(
        &mut self,
        pipes: &mut Pipes,
        opts: &mut Options,
        p: PipeIdx,
        locally_initiated: bool,
    ) {
        let id = if locally_initiated && !self.connect_routing_id.is_empty() {
            std::mem::take(&mut self.connect_routing_id)
        } else {
            let mut id = vec![0u8; 5];
            id[1..].copy_from_slice(&self.next_integral_id.to_be_bytes());
            self.next_integral_id = self.next_integral_id.wrapping_add(1);
            // libzmq reports the newest peer's id as the socket's ZMQ_ROUTING_ID.
            opts.routing_id = id.clone();
            id
        };
        pipes.get(p).set_routing_id(id.clone());
        self.out_pipes.insert(id, p);
        self.fq.attach(p);
    }

    fn pipe_terminated(&mut self, pipes: &mut Pipes, p: PipeIdx) {
        let id = pipes.peek(p).routing_id().to_vec();
        if self.out_pipes.get(&id) == Some(&p) {
            self.out_pipes.remove(&id);
        }
        self.fq.pipe_terminated(p);
        if self.current_out == Some(p) {
            self.current_out = None;
        }
    }

    fn read_activated(&mut self, _pipes: &mut Pipes, p: PipeIdx) {
        self.fq.activated(p);
    }

    fn setsockopt(
        &mut self,
        _pipes: &mut Pipes,
        opts: &mut Options,
        option: i32,
        v: OptVal<'_>,
    ) -> Option<Result<()>> {
        match option {
            ZMQ_STREAM_NOTIFY => match as_int(v) {
                Some(x) if x == 0 || x == 1 => {
                    opts.raw_notify = x == 1;
                    Some(Ok(()))
                }
                _ => None,
            },
            ZMQ_CONNECT_ROUTING_ID => match v {
                Some(b) if !b.is_empty() => {
                    self.connect_routing_id = b.to_vec();
                    Some(Ok(()))
                }
                _ => None,
            },
            _ => None,
        }
    }

    fn send(
        &mut self,
        pipes: &mut Pipes,
        _opts: &Options,
        mut msg: Message,
    ) -> std::result::Result<(), SendFail> {
        if !self.more_out {
            if msg.more() {
                match self.out_pipes.get(msg.as_slice()).copied() {
                    Some(p) => {
                        if !pipes.get(p).check_write() {
                            return Err(SendFail::Again(msg));
                        }
                        self.current_out = Some(p);
                    }
                    None => return Err(SendFail::Fail(Error::EHOSTUNREACH, msg)),
                }
            }
            self.more_out = true;
            return Ok(());
        }
        msg.set_more(false);
        self.more_out = false;
        if let Some(p) = self.current_out.take() {
            if msg.is_empty() {
                pipes.get(p).terminate(false);
                return Ok(());
            }
            if pipes.get(p).write(msg).is_ok() {
                pipes.get(p).flush();
            }
        }
        Ok(())
    }

    fn recv(&mut self, pipes: &mut Pipes, _opts: &Options) -> Result<Message> {
        if let Some(id) = self.prefetched_id.take() {
            return Ok(id);
        }
        if let Some(m) = self.prefetched.take() {
            return Ok(m);
        }
        if !self.prefetch(pipes) {
            return Err(Error::EAGAIN);
        }
        Ok(self.prefetched_id.take().unwrap_or_default())
    }

    fn has_in(&mut self, pipes: &mut Pipes, _opts: &Options) -> bool {
        self.prefetched.is_some() || self.prefetch(pipes)
    }

    fn has_out(&mut self, _pipes: &mut Pipes, _opts: &Options) -> bool {
        true
    }
}
