//! The pipes a session holds: the one to its socket, and those it has let
//! go of (on a ZMQ_IMMEDIATE reconnect, or the ZAP link of an ended
//! connection) that must stay until their peer acknowledges the end. A
//! pipe's commands come back to the session under the key it was attached
//! with.

use super::Env;
use crate::pipe::{Pipe, PipeCommand, PipeEvent};

/// A session's pipes.
#[derive(Default)]
pub(crate) struct SessionPipes {
    current: Option<(u64, Pipe)>,
    retired: Vec<(u64, Pipe)>,
}

impl SessionPipes {
    /// Makes `pipe` the pipe to the socket; returns the commands it had
    /// received before it was attached, to process now.
    pub fn adopt(&mut self, env: &mut Env<'_>, pipe: Pipe) -> (u64, Vec<PipeCommand>) {
        let key = env.new_pipe_key();
        let queued = pipe.attach(env.sink.clone(), key);
        self.current = Some((key, pipe));
        (key, queued)
    }

    /// The pipe to the socket, if there is one.
    #[inline]
    pub fn current(&mut self) -> Option<&mut Pipe> {
        self.current.as_mut().map(|(_, p)| p)
    }

    /// Whether there is a pipe to the socket.
    pub fn has_current(&self) -> bool {
        self.current.is_some()
    }

    /// Whether no pipe at all is left.
    pub fn is_empty(&self) -> bool {
        self.current.is_none() && self.retired.is_empty()
    }

    /// Processes a command for the pipe with `key`: the event it raised,
    /// and whether that pipe is the current one.
    pub fn process(&mut self, key: u64, cmd: PipeCommand) -> Option<(PipeEvent, bool)> {
        if let Some((_, p)) = self.current.as_mut().filter(|(k, _)| *k == key) {
            return p.process(cmd).map(|ev| (ev, true));
        }
        let (_, p) = self.retired.iter_mut().find(|(k, _)| *k == key)?;
        p.process(cmd).map(|ev| (ev, false))
    }

    /// Forgets a pipe whose termination is complete; true if it was the
    /// current one.
    pub fn remove(&mut self, env: &mut Env<'_>, key: u64) -> bool {
        env.drop_pipe_key(key);
        if self.current.as_ref().is_some_and(|(k, _)| *k == key) {
            self.current = None;
            return true;
        }
        self.retired.retain(|(k, _)| *k != key);
        false
    }

    /// Terminates the pipe to the socket and keeps it until the socket
    /// acknowledges.
    pub fn retire_current(&mut self) {
        if let Some((key, mut p)) = self.current.take() {
            p.terminate(false);
            self.retired.push((key, p));
        }
    }

    /// Keeps a terminated pipe (with its key) until its peer acknowledges.
    pub fn retire(&mut self, pipe: (u64, Pipe)) {
        self.retired.push(pipe);
    }
}
