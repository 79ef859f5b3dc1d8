//! A session's pipe to the context's ZAP handler (libzmq's zap_pipe, RFC
//! 27): requests out, replies in. It is made like any inproc connect
//! ([`crate::inproc::connect`]), unlimited in both directions so that a
//! request is never refused, and only when the handler is bound.

use super::engine::AnyEngine;
use super::Env;
use crate::inproc::{self, IfUnbound};
use crate::msg::Message;
use crate::options::Options;
use crate::pipe::{Pipe, PipeCommand, PipeEvent};
use crate::security::zap;
use crate::zmtp::engine::EngineError;

/// The link, owned by one session.
pub(crate) struct ZapLink {
    key: u64,
    pipe: Pipe,
    /// The frames of a reply still arriving.
    reply: Vec<Message>,
}

/// What a command for the link's pipe came to.
pub(crate) enum ZapEvent {
    Nothing,
    /// A whole reply arrived.
    Reply(Vec<Message>),
    /// The handler went away; the link is gone.
    Closed,
}

impl ZapLink {
    /// Connects to the handler; `None` if no handler is bound. Commands the
    /// pipe had already received come back with the link.
    pub fn connect(env: &mut Env<'_>) -> Option<(ZapLink, Vec<PipeCommand>)> {
        let o = Options {
            sndhwm: 0,
            rcvhwm: 0,
            ..Options::default()
        };
        let pipe = inproc::connect(env.inproc, zap::ENDPOINT, &o, IfUnbound::Refuse).ok()?;
        let key = env.new_pipe_key();
        let queued = pipe.attach(env.sink.clone(), key);
        Some((
            ZapLink {
                key,
                pipe,
                reply: Vec::new(),
            },
            queued,
        ))
    }

    /// The key the link's pipe commands carry.
    pub fn key(&self) -> u64 {
        self.key
    }

    /// Sends a request (the frames the mechanism built).
    pub fn send(&mut self, frames: Vec<Message>) {
        for m in frames {
            let _ = self.pipe.write(m);
        }
        self.pipe.flush();
    }

    /// A command for the link's pipe.
    pub fn command(&mut self, env: &mut Env<'_>, cmd: PipeCommand) -> ZapEvent {
        match self.pipe.process(cmd) {
            Some(PipeEvent::Terminated) => {
                env.drop_pipe_key(self.key);
                ZapEvent::Closed
            }
            Some(PipeEvent::ReadActivated) => self.read_reply(),
            _ => ZapEvent::Nothing,
        }
    }

    /// Reads what the handler sent; a whole reply is returned. Reading the
    /// pipe dry also puts it to sleep, so that the next reply wakes us.
    pub fn read_reply(&mut self) -> ZapEvent {
        while let Some(m) = self.pipe.read() {
            let last = !m.more();
            self.reply.push(m);
            if last {
                return ZapEvent::Reply(std::mem::take(&mut self.reply));
            }
        }
        ZapEvent::Nothing
    }

    /// Hands what arrived to the engine: a reply, or the link's end.
    fn deliver(
        link: &mut Option<ZapLink>,
        event: ZapEvent,
        engine: Option<&mut AnyEngine>,
        env: &Env<'_>,
    ) -> Result<(), EngineError> {
        match (event, engine) {
            (ZapEvent::Reply(frames), Some(engine)) => engine.zap_reply(&frames, env.now),
            (ZapEvent::Closed, _) => {
                *link = None;
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Lets go of the link (the connection it served has ended). The pipe
    /// terminates; its end must be kept, with its key, until the handler
    /// acknowledges, or the handler socket could never finish closing.
    pub fn close(mut self) -> (u64, Pipe) {
        self.pipe.terminate(false);
        (self.key, self.pipe)
    }
}

/// A ZAP request of `engine` (libzmq's session_base_t::zap_connect and
/// the request's write): connects the link first if needed, sends the
/// request, and hands a reply already there to the engine. An error fails
/// the connection.
pub(crate) fn request(
    link: &mut Option<ZapLink>,
    env: &mut Env<'_>,
    engine: &mut AnyEngine,
    frames: Vec<Message>,
) -> Result<(), EngineError> {
    if link.is_none() {
        let Some((l, queued)) = ZapLink::connect(env) else {
            return Err(engine.zap_unavailable());
        };
        *link = Some(l);
        for cmd in queued {
            command(link, env, Some(engine), cmd)?;
        }
    }
    let event = match link.as_mut() {
        Some(l) => {
            l.send(frames);
            l.read_reply()
        }
        None => ZapEvent::Nothing,
    };
    ZapLink::deliver(link, event, Some(engine), env)
}

/// A command for the link's pipe; a reply goes to `engine` (if the
/// connection still runs).
pub(crate) fn command(
    link: &mut Option<ZapLink>,
    env: &mut Env<'_>,
    engine: Option<&mut AnyEngine>,
    cmd: PipeCommand,
) -> Result<(), EngineError> {
    let event = match link.as_mut() {
        Some(l) => l.command(env, cmd),
        None => return Ok(()),
    };
    ZapLink::deliver(link, event, engine, env)
}
