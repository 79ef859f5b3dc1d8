//! The one pipe of a multicast endpoint (pgm://, epgm://, norm://): made
//! with the endpoint, attached when the I/O loop starts the object, and
//! ended the way libzmq's pgm and norm engines end: a sender passes on
//! what the pipe still holds within ZMQ_LINGER, a receiver stops at once.

use std::time::{Duration, Instant};

use super::Env;
use crate::pipe::{Pipe, PipeCommand, PipeEvent};

/// A multicast endpoint's pipe and where its ending stands.
#[derive(Default)]
pub(crate) struct EndpointPipe {
    pipe: Option<(u64, Pipe)>,
    initial: Option<Pipe>,
    /// A receiver's pipe is full: it waits for WriteActivated.
    pub blocked: bool,
    /// Unbind, disconnect or close has begun, or the pipe ended.
    pub terminating: bool,
    /// A closing sender's linger deadline, while it runs.
    pub linger_at: Option<Instant>,
    /// A closing sender's linger is over: what is left is dropped.
    pub linger_over: bool,
}

impl EndpointPipe {
    /// Hands over the endpoint's end of the pipe, attached by [`Self::attach`].
    pub fn set(&mut self, pipe: Pipe) {
        self.initial = Some(pipe);
    }

    /// Attaches the pipe to this I/O thread and processes the commands it
    /// received before.
    pub fn attach(&mut self, env: &mut Env<'_>) {
        if let Some(pipe) = self.initial.take() {
            let key = env.new_pipe_key();
            let queued = pipe.attach(env.sink.clone(), key);
            self.pipe = Some((key, pipe));
            for cmd in queued {
                self.command(env, key, cmd);
            }
        }
    }

    /// The pipe, while it lasts.
    pub fn get(&mut self) -> Option<&mut Pipe> {
        self.pipe.as_mut().map(|(_, p)| p)
    }

    /// Whether the pipe has ended (or never was).
    pub fn is_gone(&self) -> bool {
        self.pipe.is_none()
    }

    /// The pipe and the receiver's `blocked` flag, borrowed together.
    pub fn parts(&mut self) -> (Option<&mut Pipe>, &mut bool) {
        (self.pipe.as_mut().map(|(_, p)| p), &mut self.blocked)
    }

    /// A command for the pipe under `key`.
    pub fn command(&mut self, env: &mut Env<'_>, key: u64, cmd: PipeCommand) {
        let Some((k, p)) = self.pipe.as_mut() else {
            return;
        };
        if *k != key {
            return;
        }
        match p.process(cmd) {
            Some(PipeEvent::Terminated) => {
                env.drop_pipe_key(key);
                self.pipe = None;
                self.terminating = true;
            }
            Some(PipeEvent::WriteActivated) => self.blocked = false,
            _ => {}
        }
    }

    /// Unbind, disconnect or close: a sender (`sends`) keeps the pipe's
    /// messages for `linger` ms (-1: until sent); a receiver drops them.
    /// False when the ending had already run its course.
    pub fn term(&mut self, now: Instant, linger: i32, sends: bool) -> bool {
        if self.terminating && self.pipe.is_none() {
            return false;
        }
        self.terminating = true;
        let flush = linger != 0 && sends;
        if flush && linger > 0 {
            self.linger_at = Some(now + Duration::from_millis(linger as u64));
        }
        if !flush {
            self.linger_over = true;
        }
        if let Some((_, p)) = self.pipe.as_mut() {
            p.terminate(flush);
        }
        true
    }

    /// Marks the linger over once its deadline has passed.
    pub fn check_linger(&mut self, now: Instant) {
        if self.linger_at.is_some_and(|t| t <= now) {
            self.linger_at = None;
            self.linger_over = true;
        }
    }

    /// The endpoint's handler panicked: end the pipe at once (attaching it
    /// first if the loop never started the object). False when there is
    /// no pipe left to end.
    pub fn abandon(&mut self, env: &mut Env<'_>) -> bool {
        if let Some(pipe) = self.initial.take() {
            let key = env.new_pipe_key();
            // Commands queued before attaching matter no more: it ends now.
            let _ = pipe.attach(env.sink.clone(), key);
            self.pipe = Some((key, pipe));
        }
        self.terminating = true;
        self.linger_over = true;
        match self.pipe.as_mut() {
            Some((_, p)) => {
                p.terminate(false);
                true
            }
            None => false,
        }
    }
}
