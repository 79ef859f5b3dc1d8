//! Helpers for driving a socket pattern against real pipes without a
//! socket: the test holds the far ends and delivers pipe commands by hand.
//! Compiled for tests only.

use std::sync::{Arc, Mutex};

use super::pipes::{PipeIdx, Pipes};
use super::Pattern;
use crate::options::Options;
use crate::pipe::{pipepair, Pipe, PipeCommand, PipeEvent, PipeSink};

/// Collects the commands sent to the socket's pipe ends.
#[derive(Default)]
pub struct Inbox(Mutex<Vec<(u64, PipeCommand)>>);

impl PipeSink for Inbox {
    fn deliver(&self, key: u64, cmd: PipeCommand) {
        if let Ok(mut q) = self.0.lock() {
            q.push((key, cmd));
        }
    }
}

/// A pattern with its pipes and the far ends of them.
pub struct Harness<P: Pattern> {
    pub pattern: P,
    pub pipes: Pipes,
    pub opts: Options,
    inbox: Arc<Inbox>,
    far_inbox: Arc<Inbox>,
    /// (socket-side index, far end)
    pub peers: Vec<(PipeIdx, Pipe)>,
}

impl<P: Pattern> Harness<P> {
    pub fn new(pattern: P) -> Harness<P> {
        Harness {
            pattern,
            pipes: Pipes::default(),
            opts: Options::default(),
            inbox: Arc::new(Inbox::default()),
            far_inbox: Arc::new(Inbox::default()),
            peers: Vec::new(),
        }
    }

    /// Makes a pipe with the given HWM (both ways) and returns the
    /// socket-side index; the far end is kept in `peers`. `attach`
    /// decides how the pattern learns of it.
    pub fn add_pipe_with(
        &mut self,
        hwm: i32,
        before: impl FnOnce(&mut Pipe),
        attach: impl FnOnce(&mut P, &mut Pipes, &mut Options, PipeIdx),
    ) -> PipeIdx {
        let (ours, mut far) = pipepair([hwm, hwm], [false, false]);
        before(&mut far);
        let (idx, key) = self.pipes.insert(ours);
        let sink: Arc<dyn PipeSink> = self.inbox.clone();
        let _ = self.pipes.get(idx).attach(sink, key);
        let far_sink: Arc<dyn PipeSink> = self.far_inbox.clone();
        let _ = far.attach(far_sink, idx as u64);
        attach(&mut self.pattern, &mut self.pipes, &mut self.opts, idx);
        self.peers.push((idx, far));
        self.deliver();
        idx
    }

    /// A pipe attached through `Pattern::attach`.
    pub fn add_pipe(&mut self, hwm: i32) -> PipeIdx {
        self.add_pipe_with(
            hwm,
            |_| {},
            |p, pipes, opts, idx| p.attach(pipes, opts, idx, false),
        )
    }

    pub fn far(&mut self, idx: PipeIdx) -> &mut Pipe {
        let i = self
            .peers
            .iter()
            .position(|(x, _)| *x == idx)
            .expect("test pipe");
        &mut self.peers[i].1
    }

    /// Delivers queued pipe commands both ways until none are left,
    /// reporting socket-side events to the pattern.
    pub fn deliver(&mut self) {
        loop {
            let cmds: Vec<(u64, PipeCommand)> = match self.inbox.0.lock() {
                Ok(mut q) => q.drain(..).collect(),
                Err(_) => Vec::new(),
            };
            let far_cmds: Vec<(u64, PipeCommand)> = match self.far_inbox.0.lock() {
                Ok(mut q) => q.drain(..).collect(),
                Err(_) => Vec::new(),
            };
            if cmds.is_empty() && far_cmds.is_empty() {
                return;
            }
            for (key, cmd) in cmds {
                let Some(idx) = self.pipes.by_key(key) else {
                    continue;
                };
                match self.pipes.get(idx).process(cmd) {
                    Some(PipeEvent::ReadActivated) => {
                        self.pattern.read_activated(&mut self.pipes, idx)
                    }
                    Some(PipeEvent::WriteActivated) => {
                        self.pattern.write_activated(&mut self.pipes, idx)
                    }
                    Some(PipeEvent::Hiccuped) => self.pattern.hiccuped(&mut self.pipes, idx),
                    Some(PipeEvent::Terminated) => {
                        self.pattern.pipe_terminated(&mut self.pipes, idx);
                        self.pipes.remove(idx);
                    }
                    _ => {}
                }
            }
            for (idx, cmd) in far_cmds {
                let idx = idx as PipeIdx;
                if let Some(i) = self.peers.iter().position(|(x, _)| *x == idx) {
                    if self.peers[i].1.process(cmd) == Some(PipeEvent::Terminated) {
                        self.peers.remove(i);
                    }
                }
            }
        }
    }

    /// Writes frames from the far end of `idx` and lets the pattern
    /// know.
    pub fn push_from(&mut self, idx: PipeIdx, msgs: Vec<crate::msg::Message>) {
        let far = self.far(idx);
        for m in msgs {
            let _ = far.write(m);
        }
        far.flush();
        self.deliver();
    }

    /// Everything the far end of `idx` has received so far.
    pub fn drain_far(&mut self, idx: PipeIdx) -> Vec<crate::msg::Message> {
        // Wake-ups for the far end first (the pattern wrote since).
        self.deliver();
        let mut out = Vec::new();
        let far = self.far(idx);
        while let Some(m) = far.read() {
            out.push(m);
        }
        // Reading may have returned credit to the socket side.
        self.deliver();
        out
    }
}
