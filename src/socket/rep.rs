//! REP (RFC 28): a ROUTER that receives one request, keeps its envelope,
//! and sends the reply back along it.

use super::pipes::{PipeIdx, Pipes};
use super::router::Router;
use super::{Pattern, SendFail};
use crate::error::{Error, Result};
use crate::msg::Message;
use crate::options::{OptVal, Options};

pub(crate) struct Rep {
    router: Router,
    sending_reply: bool,
    request_begins: bool,
}

impl Rep {
    pub fn new() -> Rep {
        Rep {
            router: Router::new(),
            sending_reply: false,
            request_begins: true,
        }
    }
}

impl Pattern for Rep {
    fn attach(&mut self, pipes: &mut Pipes, opts: &mut Options, p: PipeIdx, local: bool) {
        self.router.attach(pipes, opts, p, local);
    }

    fn setsockopt(
        &mut self,
        _pipes: &mut Pipes,
        opts: &mut Options,
        option: i32,
        v: OptVal<'_>,
    ) -> Option<Result<()>> {
        self.router.setsockopt(_pipes, opts, option, v)
    }

    fn send(
        &mut self,
        pipes: &mut Pipes,
        opts: &Options,
        msg: Message,
    ) -> std::result::Result<(), SendFail> {
        if !self.sending_reply {
            return Err(SendFail::Fail(Error::EFSM, msg));
        }
        let more = msg.more();
        self.router.send(pipes, opts, msg)?;
        if !more {
            self.sending_reply = false;
        }
        Ok(())
    }

    fn recv(&mut self, pipes: &mut Pipes, opts: &Options) -> Result<Message> {
        if self.sending_reply {
            return Err(Error::EFSM);
        }
        if self.request_begins {
            // Copy the envelope (up to the empty delimiter) straight back
            // into the reply path; a request without one is dropped.
            loop {
                let m = self.router.recv(pipes, opts)?;
                if m.more() {
                    let bottom = m.is_empty();
                    let _ = self.router.send(pipes, opts, m);
                    if bottom {
                        break;
                    }
                } else {
                    self.router.rollback(pipes);
                }
            }
            self.request_begins = false;
        }
        let m = self.router.recv(pipes, opts)?;
        if !m.more() {
            self.sending_reply = true;
            self.request_begins = true;
        }
        Ok(m)
    }

    fn has_in(&mut self, pipes: &mut Pipes, _opts: &Options) -> bool {
        !self.sending_reply && self.router.has_in(pipes, _opts)
    }

    fn has_out(&mut self, pipes: &mut Pipes, _opts: &Options) -> bool {
        self.sending_reply && self.router.has_out(pipes, _opts)
    }

    fn read_activated(&mut self, pipes: &mut Pipes, p: PipeIdx) {
        self.router.read_activated(pipes, p);
    }

    fn write_activated(&mut self, pipes: &mut Pipes, p: PipeIdx) {
        self.router.write_activated(pipes, p);
    }

    fn pipe_terminated(&mut self, pipes: &mut Pipes, p: PipeIdx) {
        self.router.pipe_terminated(pipes, p);
    }

    fn peer_state(&mut self, pipes: &mut Pipes, routing_id: &[u8]) -> Result<i32> {
        self.router.peer_state(pipes, routing_id)
    }
}
