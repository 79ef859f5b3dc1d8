//! DISH (RFC 48, draft): receives the messages of the groups it joined,
//! fair-queued from all its RADIO peers (libzmq 4.3.5 src/dish.cpp,
//! `dish_t`).
//!
//! * `zmq_join` / `zmq_leave` keep the set of groups and announce each
//!   change to every peer as a JOIN/LEAVE command frame (see
//!   [`crate::zmtp::radio_dish`]); a new pipe, or one whose peer reconnected
//!   (hiccup), is sent a JOIN for every group.
//! * Errors, as libzmq: a group longer than `ZMQ_GROUP_MAX_LENGTH` is
//!   EINVAL, joining a group twice is EINVAL, leaving a group not joined is
//!   EINVAL. Groups are C strings there, so a group is cut at its first NUL.
//! * Received messages whose group was not joined are dropped: a RADIO
//!   over UDP sends everything, and over a stream the RADIO may still send
//!   a group we just left.
//! * Sending is ENOTSUP; the socket is always writable (a join can be made
//!   at any time).
//!
//! The socket type also sets ZMQ_LINGER to 0 (libzmq's constructor): the
//! socket factory must do that.

use std::collections::BTreeSet;

use super::dist::Dist;
use super::fq::FairQueue;
use super::pipes::{PipeIdx, Pipes};
use super::{Pattern, SendFail};
use crate::error::{Error, Result};
use crate::msg::{Message, GROUP_MAX_LENGTH};
use crate::options::Options;
use crate::zmtp::radio_dish::{group_command, group_name, message_group, GroupCommand};

#[derive(Default)]
pub(crate) struct Dish {
    fq: FairQueue,
    /// Distributes JOIN/LEAVE to all peers.
    dist: Dist,
    /// The joined groups (ordered like libzmq's std::set, so joins are
    /// re-sent in the same order).
    subscriptions: BTreeSet<Vec<u8>>,
    /// A matching message fetched by `has_in`, returned by the next `recv`.
    prefetched: Option<Message>,
}

impl Dish {
    /// A DISH with no groups and no peers.
    pub fn new() -> Dish {
        Dish::default()
    }

    /// Writes a JOIN for every group to one pipe (new or hiccuped). Joins
    /// that do not fit under the HWM are lost, as in libzmq.
    fn send_subscriptions(&self, pipes: &mut Pipes, p: PipeIdx) {
        let pipe = pipes.get(p);
        for g in &self.subscriptions {
            if let Ok(m) = group_command(GroupCommand::Join, g) {
                let _ = pipe.write(m);
            }
        }
        pipe.flush();
    }

    /// The next message of a joined group, skipping the others.
    fn next_matching(&mut self, pipes: &mut Pipes) -> Option<Message> {
        loop {
            let m = self.fq.recv(pipes)?;
            if self.subscriptions.contains(message_group(&m)) {
                return Some(m);
            }
        }
    }

    /// Checks a group given to join/leave; returns it as stored.
    fn checked(group: &[u8]) -> Result<&[u8]> {
        let g = group_name(group);
        if g.len() > GROUP_MAX_LENGTH {
            return Err(Error::EINVAL);
        }
        Ok(g)
    }
}

impl Pattern for Dish {
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

    fn join(&mut self, pipes: &mut Pipes, group: &[u8]) -> Result<()> {
        let g = Self::checked(group)?;
        if self.subscriptions.contains(g) {
            return Err(Error::EINVAL);
        }
        let m = group_command(GroupCommand::Join, g)?;
        self.subscriptions.insert(g.to_vec());
        self.dist.send_to_all(pipes, m);
        Ok(())
    }

    fn leave(&mut self, pipes: &mut Pipes, group: &[u8]) -> Result<()> {
        let g = Self::checked(group)?;
        if !self.subscriptions.remove(g) {
            return Err(Error::EINVAL);
        }
        let m = group_command(GroupCommand::Leave, g)?;
        self.dist.send_to_all(pipes, m);
        Ok(())
    }

    fn send(
        &mut self,
        _pipes: &mut Pipes,
        _opts: &Options,
        msg: Message,
    ) -> std::result::Result<(), SendFail> {
        Err(SendFail::Fail(Error::ENOTSUP, msg))
    }

    fn recv(&mut self, pipes: &mut Pipes, _opts: &Options) -> Result<Message> {
        if let Some(m) = self.prefetched.take() {
            return Ok(m);
        }
        self.next_matching(pipes).ok_or(Error::EAGAIN)
    }

    fn has_in(&mut self, pipes: &mut Pipes, _opts: &Options) -> bool {
        if self.prefetched.is_some() {
            return true;
        }
        match self.next_matching(pipes) {
            Some(m) => {
                self.prefetched = Some(m);
                true
            }
            None => false,
        }
    }

    fn has_out(&mut self, _pipes: &mut Pipes, _opts: &Options) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::Harness;
    use super::*;
    use crate::zmtp::radio_dish::{parse_group_command, GroupCommand};

    fn gmsg(group: &str, body: &str) -> Message {
        let mut m = Message::from_slice(body.as_bytes());
        m.set_group(group.as_bytes()).unwrap();
        m
    }

    fn commands(ms: &[Message]) -> Vec<(GroupCommand, String)> {
        ms.iter()
            .filter_map(|m| {
                parse_group_command(m).map(|(k, g)| (k, String::from_utf8_lossy(g).into_owned()))
            })
            .collect()
    }

    fn recv(h: &mut Harness<Dish>) -> Result<Message> {
        h.pattern.recv(&mut h.pipes, &h.opts)
    }

    #[test]
    fn join_leave_errors() {
        let mut h = Harness::new(Dish::new());
        assert_eq!(
            h.pattern.leave(&mut h.pipes, b"Movies").unwrap_err(),
            Error::EINVAL
        );
        h.pattern.join(&mut h.pipes, b"Movies").unwrap();
        assert_eq!(
            h.pattern.join(&mut h.pipes, b"Movies").unwrap_err(),
            Error::EINVAL
        );
        assert_eq!(
            h.pattern.join(&mut h.pipes, &[b'A'; 256]).unwrap_err(),
            Error::EINVAL
        );
        assert_eq!(
            h.pattern.leave(&mut h.pipes, &[b'A'; 256]).unwrap_err(),
            Error::EINVAL
        );
        h.pattern.join(&mut h.pipes, &[b'A'; 255]).unwrap();
        h.pattern.leave(&mut h.pipes, b"Movies").unwrap();
        assert_eq!(
            h.pattern.leave(&mut h.pipes, b"Movies").unwrap_err(),
            Error::EINVAL
        );
        // A NUL ends the group, as for a C string.
        h.pattern.join(&mut h.pipes, b"ab\0cd").unwrap();
        assert_eq!(
            h.pattern.join(&mut h.pipes, b"ab").unwrap_err(),
            Error::EINVAL
        );
    }

    #[test]
    fn joins_go_to_all_peers_and_new_ones() {
        let mut h = Harness::new(Dish::new());
        h.pattern.join(&mut h.pipes, b"TV").unwrap();
        let a = h.add_pipe(0);
        assert_eq!(
            commands(&h.drain_far(a)),
            vec![(GroupCommand::Join, "TV".into())]
        );
        let b = h.add_pipe(0);
        h.pattern.join(&mut h.pipes, b"Movies").unwrap();
        h.pattern.leave(&mut h.pipes, b"TV").unwrap();
        assert_eq!(
            commands(&h.drain_far(a)),
            vec![
                (GroupCommand::Join, "Movies".into()),
                (GroupCommand::Leave, "TV".into())
            ]
        );
        assert_eq!(
            commands(&h.drain_far(b)),
            vec![
                (GroupCommand::Join, "TV".into()),
                (GroupCommand::Join, "Movies".into()),
                (GroupCommand::Leave, "TV".into())
            ]
        );
    }

    #[test]
    fn hiccup_resends_joins() {
        let mut h = Harness::new(Dish::new());
        let a = h.add_pipe(0);
        h.pattern.join(&mut h.pipes, b"b").unwrap();
        h.pattern.join(&mut h.pipes, b"a").unwrap();
        let _ = h.drain_far(a);
        h.pattern.hiccuped(&mut h.pipes, a);
        assert_eq!(
            commands(&h.drain_far(a)),
            vec![
                (GroupCommand::Join, "a".into()),
                (GroupCommand::Join, "b".into())
            ]
        );
    }

    #[test]
    fn filters_and_fair_queues() {
        let mut h = Harness::new(Dish::new());
        let a = h.add_pipe(0);
        let b = h.add_pipe(0);
        h.pattern.join(&mut h.pipes, b"Movies").unwrap();
        h.push_from(
            a,
            vec![
                gmsg("TV", "Friends"),
                gmsg("Movies", "a1"),
                gmsg("Movies", "a2"),
            ],
        );
        h.push_from(b, vec![gmsg("Movies", "b1"), Message::from("nogroup")]);
        let mut got = Vec::new();
        while let Ok(m) = recv(&mut h) {
            assert_eq!(m.group(), "Movies");
            got.push(String::from_utf8_lossy(m.as_slice()).into_owned());
        }
        // Round robin: a (TV, skipped), b, a, b (no group, skipped), a.
        assert_eq!(got, vec!["b1", "a1", "a2"]);
        assert_eq!(recv(&mut h).unwrap_err(), Error::EAGAIN);
    }

    #[test]
    fn has_in_prefetches_a_match() {
        let mut h = Harness::new(Dish::new());
        let a = h.add_pipe(0);
        assert!(!h.pattern.has_in(&mut h.pipes, &h.opts));
        h.pattern.join(&mut h.pipes, b"Movies").unwrap();
        h.push_from(a, vec![gmsg("TV", "Friends"), gmsg("Movies", "Godfather")]);
        assert!(h.pattern.has_in(&mut h.pipes, &h.opts));
        assert!(h.pattern.has_in(&mut h.pipes, &h.opts));
        assert_eq!(recv(&mut h).unwrap().as_slice(), b"Godfather");
        assert!(!h.pattern.has_in(&mut h.pipes, &h.opts));
    }

    #[test]
    fn left_group_is_dropped() {
        let mut h = Harness::new(Dish::new());
        let a = h.add_pipe(0);
        h.pattern.join(&mut h.pipes, b"TV").unwrap();
        h.pattern.leave(&mut h.pipes, b"TV").unwrap();
        h.push_from(a, vec![gmsg("TV", "late")]);
        assert_eq!(recv(&mut h).unwrap_err(), Error::EAGAIN);
    }

    #[test]
    fn send_is_enotsup_and_always_writable() {
        let mut h = Harness::new(Dish::new());
        match h.pattern.send(&mut h.pipes, &h.opts, Message::from("x")) {
            Err(SendFail::Fail(Error::ENOTSUP, _)) => {}
            _ => panic!("expected ENOTSUP"),
        }
        assert!(h.pattern.has_out(&mut h.pipes, &h.opts));
    }

    #[test]
    fn terminated_pipe_is_forgotten() {
        let mut h = Harness::new(Dish::new());
        let a = h.add_pipe(0);
        let b = h.add_pipe(0);
        h.pattern.pipe_terminated(&mut h.pipes, a);
        h.pipes.remove(a);
        h.pattern.join(&mut h.pipes, b"TV").unwrap();
        assert_eq!(commands(&h.drain_far(b)).len(), 1);
    }
}
