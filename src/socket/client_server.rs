//! CLIENT, SERVER, SCATTER and GATHER (draft RFC 41 and 49): single-part
//! messages only. CLIENT load-balances and fair-queues like a DEALER;
//! SERVER tags each received message with its peer's numeric routing id
//! and sends back by that id; SCATTER and GATHER are single-part PUSH and
//! PULL. A multi-part send is EINVAL; multi-part input is dropped whole.

use std::collections::HashMap;

use super::fq::FairQueue;
use super::lb::LoadBalancer;
use super::pipes::{PipeIdx, Pipes};
use super::{Pattern, SendFail};
use crate::error::{Error, Result};
use crate::msg::Message;
use crate::options::Options;

/// Receives the next single-part message, dropping multi-part ones whole.
fn recv_single(fq: &mut FairQueue, pipes: &mut Pipes) -> Option<(Message, PipeIdx)> {
    loop {
        let (m, p) = fq.recvpipe(pipes)?;
        if !m.more() {
            return Some((m, p));
        }
        let mut more = true;
        while more {
            match fq.recvpipe(pipes) {
                Some((rest, _)) => more = rest.more(),
                None => return None,
            }
        }
    }
}

fn refuse_multipart(msg: Message) -> std::result::Result<Message, SendFail> {
    if msg.more() {
        Err(SendFail::Fail(Error::EINVAL, msg))
    } else {
        Ok(msg)
    }
}

/// CLIENT, or with `scatter` SCATTER (send only), or with `gather` GATHER.
#[derive(Default)]
pub(crate) struct Client {
    fq: FairQueue,
    lb: LoadBalancer,
    can_send: bool,
    can_recv: bool,
}

impl Client {
    pub fn new_client() -> Client {
        Client {
            can_send: true,
            can_recv: true,
            ..Client::default()
        }
    }

    pub fn scatter() -> Client {
        Client {
            can_send: true,
            can_recv: false,
            ..Client::default()
        }
    }

    pub fn gather() -> Client {
        Client {
            can_send: false,
            can_recv: true,
            ..Client::default()
        }
    }
}

impl Pattern for Client {
    fn attach(&mut self, pipes: &mut Pipes, _opts: &mut Options, p: PipeIdx, _local: bool) {
        if !self.can_recv {
            pipes.get(p).set_nodelay();
        }
        if self.can_recv {
            self.fq.attach(p);
        }
        if self.can_send {
            self.lb.attach(p);
        }
    }

    fn pipe_terminated(&mut self, _pipes: &mut Pipes, p: PipeIdx) {
        if self.can_recv {
            self.fq.pipe_terminated(p);
        }
        if self.can_send {
            self.lb.pipe_terminated(p);
        }
    }

    fn read_activated(&mut self, _pipes: &mut Pipes, p: PipeIdx) {
        if self.can_recv {
            self.fq.activated(p);
        }
    }

    fn write_activated(&mut self, _pipes: &mut Pipes, p: PipeIdx) {
        if self.can_send {
            self.lb.activated(p);
        }
    }

    fn send(
        &mut self,
        pipes: &mut Pipes,
        _opts: &Options,
        msg: Message,
    ) -> std::result::Result<(), SendFail> {
        if !self.can_send {
            return Err(SendFail::Fail(Error::ENOTSUP, msg));
        }
        let msg = refuse_multipart(msg)?;
        self.lb.send(pipes, msg)
    }

    fn recv(&mut self, pipes: &mut Pipes, _opts: &Options) -> Result<Message> {
        if !self.can_recv {
            return Err(Error::ENOTSUP);
        }
        recv_single(&mut self.fq, pipes)
            .map(|(m, _)| m)
            .ok_or(Error::EAGAIN)
    }

    fn has_in(&mut self, pipes: &mut Pipes, _opts: &Options) -> bool {
        self.can_recv && self.fq.has_in(pipes)
    }

    fn has_out(&mut self, pipes: &mut Pipes, _opts: &Options) -> bool {
        self.can_send && self.lb.has_out(pipes)
    }
}

/// SERVER.
pub(crate) struct Server {
    fq: FairQueue,
    out_pipes: HashMap<u32, PipeIdx>,
    next_id: u32,
}

impl Server {
    pub fn new() -> Server {
        Server {
            fq: FairQueue::default(),
            out_pipes: HashMap::new(),
            next_id: crate::util::random_u32(),
        }
    }
}

impl Pattern for Server {
    fn attach(&mut self, pipes: &mut Pipes, _opts: &mut Options, p: PipeIdx, _local: bool) {
        let mut id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        if id == 0 {
            id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1);
        }
        pipes.get(p).set_server_routing_id(id);
        self.out_pipes.insert(id, p);
        self.fq.attach(p);
    }

    fn pipe_terminated(&mut self, pipes: &mut Pipes, p: PipeIdx) {
        let id = pipes.peek(p).server_routing_id();
        self.out_pipes.remove(&id);
        self.fq.pipe_terminated(p);
    }

    fn disconnect_peer(&mut self, pipes: &mut Pipes, routing_id: u32) -> Result<()> {
        // The routing id goes at once (a send to it is EHOSTUNREACH); the
        // pipe follows when its termination completes.
        let p = self
            .out_pipes
            .remove(&routing_id)
            .ok_or(Error::EHOSTUNREACH)?;
        pipes.get(p).terminate(false);
        Ok(())
    }

    fn read_activated(&mut self, _pipes: &mut Pipes, p: PipeIdx) {
        self.fq.activated(p);
    }

    fn send(
        &mut self,
        pipes: &mut Pipes,
        _opts: &Options,
        msg: Message,
    ) -> std::result::Result<(), SendFail> {
        let mut msg = refuse_multipart(msg)?;
        let Some(&p) = self.out_pipes.get(&msg.routing_id()) else {
            return Err(SendFail::Fail(Error::EHOSTUNREACH, msg));
        };
        if !pipes.get(p).check_write() {
            return Err(SendFail::Again(msg));
        }
        msg.reset_routing_id();
        if pipes.get(p).write(msg).is_ok() {
            pipes.get(p).flush();
        }
        Ok(())
    }

    fn recv(&mut self, pipes: &mut Pipes, _opts: &Options) -> Result<Message> {
        let (mut m, p) = recv_single(&mut self.fq, pipes).ok_or(Error::EAGAIN)?;
        let id = pipes.peek(p).server_routing_id();
        let _ = m.set_routing_id(id);
        Ok(m)
    }

    fn has_in(&mut self, pipes: &mut Pipes, _opts: &Options) -> bool {
        self.fq.has_in(pipes)
    }

    fn has_out(&mut self, _pipes: &mut Pipes, _opts: &Options) -> bool {
        true
    }
}
