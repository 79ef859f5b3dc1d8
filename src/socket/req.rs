//! REQ (RFC 28): a DEALER that enforces send-one-request, receive-one-reply,
//! adds the empty delimiter frame, and accepts a reply only from the peer
//! the request went to. REQ_CORRELATE adds a request-id frame and drops
//! stale replies; REQ_RELAXED allows a new request before the reply.

use super::dealer::Dealer;
use super::pipes::{PipeIdx, Pipes};
use super::{Pattern, SendFail};
use crate::constants::*;
use crate::error::{Error, Result};
use crate::msg::Message;
use crate::options::{as_int, OptVal, Options};

pub(crate) struct Req {
    dealer: Dealer,
    receiving_reply: bool,
    message_begins: bool,
    reply_pipe: Option<PipeIdx>,
    request_id_frames: bool,
    request_id: u32,
    strict: bool,
}

impl Req {
    pub fn new() -> Req {
        Req {
            dealer: Dealer::default(),
            receiving_reply: false,
            message_begins: true,
            reply_pipe: None,
            request_id_frames: false,
            request_id: crate::util::random_u32(),
            strict: true,
        }
    }

    /// Reads a frame from the pipe the request went to, dropping others.
    fn recv_reply_pipe(&mut self, pipes: &mut Pipes) -> Result<Message> {
        loop {
            let (m, p) = self.dealer.recvpipe(pipes).ok_or(Error::EAGAIN)?;
            if self.reply_pipe.is_none() || self.reply_pipe == Some(p) {
                return Ok(m);
            }
        }
    }

    /// Skips the rest of a malformed reply.
    fn skip_rest(&mut self, pipes: &mut Pipes, mut m: Message) {
        while m.more() {
            match self.recv_reply_pipe(pipes) {
                Ok(next) => m = next,
                Err(_) => break,
            }
        }
    }
}

impl Pattern for Req {
    fn attach(&mut self, pipes: &mut Pipes, opts: &mut Options, p: PipeIdx, local: bool) {
        self.dealer.attach(pipes, opts, p, local);
    }

    fn setsockopt(
        &mut self,
        _pipes: &mut Pipes,
        opts: &mut Options,
        option: i32,
        v: OptVal<'_>,
    ) -> Option<Result<()>> {
        match (option, as_int(v)) {
            (ZMQ_REQ_CORRELATE, Some(x)) if x >= 0 => {
                self.request_id_frames = x != 0;
                Some(Ok(()))
            }
            (ZMQ_REQ_RELAXED, Some(x)) if x >= 0 => {
                self.strict = x == 0;
                Some(Ok(()))
            }
            _ => self.dealer.setsockopt(_pipes, opts, option, v),
        }
    }

    fn send(
        &mut self,
        pipes: &mut Pipes,
        opts: &Options,
        msg: Message,
    ) -> std::result::Result<(), SendFail> {
        if self.receiving_reply {
            if self.strict {
                return Err(SendFail::Fail(Error::EFSM, msg));
            }
            self.receiving_reply = false;
            self.message_begins = true;
        }
        if self.message_begins {
            self.reply_pipe = None;
            if self.request_id_frames {
                self.request_id = self.request_id.wrapping_add(1);
                let mut id = Message::from_slice(&self.request_id.to_ne_bytes());
                id.set_more(true);
                match self.dealer.sendpipe(pipes, id) {
                    Ok(p) => self.reply_pipe = p,
                    Err(_) => return Err(SendFail::Again(msg)),
                }
            }
            let mut bottom = Message::new();
            bottom.set_more(true);
            match self.dealer.sendpipe(pipes, bottom) {
                Ok(p) => {
                    if p.is_some() {
                        self.reply_pipe = p;
                    }
                }
                Err(_) => return Err(SendFail::Again(msg)),
            }
            self.message_begins = false;
            // Replies to earlier requests are stale now.
            while self.dealer.recv(pipes, opts).is_ok() {}
        }
        let more = msg.more();
        self.dealer.send(pipes, opts, msg)?;
        if !more {
            self.receiving_reply = true;
            self.message_begins = true;
        }
        Ok(())
    }

    fn recv(&mut self, pipes: &mut Pipes, _opts: &Options) -> Result<Message> {
        if !self.receiving_reply {
            return Err(Error::EFSM);
        }
        while self.message_begins {
            if self.request_id_frames {
                let m = self.recv_reply_pipe(pipes)?;
                let ok = m.more() && m.len() == 4 && m.as_slice() == self.request_id.to_ne_bytes();
                if !ok {
                    self.skip_rest(pipes, m);
                    continue;
                }
            }
            let m = self.recv_reply_pipe(pipes)?;
            if !m.more() || !m.is_empty() {
                self.skip_rest(pipes, m);
                continue;
            }
            self.message_begins = false;
        }
        let m = self.recv_reply_pipe(pipes)?;
        if !m.more() {
            self.receiving_reply = false;
            self.message_begins = true;
        }
        Ok(m)
    }

    fn has_in(&mut self, pipes: &mut Pipes, _opts: &Options) -> bool {
        self.receiving_reply && self.dealer.has_in(pipes, _opts)
    }

    fn has_out(&mut self, pipes: &mut Pipes, _opts: &Options) -> bool {
        if self.receiving_reply && self.strict {
            return false;
        }
        self.dealer.has_out(pipes, _opts)
    }

    fn read_activated(&mut self, pipes: &mut Pipes, p: PipeIdx) {
        self.dealer.read_activated(pipes, p);
    }

    fn write_activated(&mut self, pipes: &mut Pipes, p: PipeIdx) {
        self.dealer.write_activated(pipes, p);
    }

    fn pipe_terminated(&mut self, pipes: &mut Pipes, p: PipeIdx) {
        if self.reply_pipe == Some(p) {
            self.reply_pipe = None;
        }
        self.dealer.pipe_terminated(pipes, p);
    }
}
