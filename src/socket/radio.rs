//! RADIO (RFC 48, draft): one-way distribution of single-frame messages to
//! the DISH peers that joined the message's group (libzmq 4.3.5
//! src/radio.cpp, `radio_t`).
//!
//! * Memberships arrive from each pipe as JOIN/LEAVE command frames (see
//!   [`crate::zmtp::radio_dish`]); anything else a DISH sends is discarded.
//!   Like libzmq's multimap, a pipe that joins a group twice (a DISH resends
//!   its joins after reconnecting to a RADIO that kept its pipe) is listed
//!   twice and needs two LEAVEs; matching a pipe twice is harmless.
//! * Pipes that cannot carry memberships (UDP: libzmq's
//!   `subscribe_to_all`) receive every message; the DISH filters.
//! * Sending with ZMQ_SNDMORE is EINVAL. Full pipes drop the message,
//!   unless ZMQ_XPUB_NODROP is set: then a send waits (or EAGAIN) while any
//!   matching pipe is at its HWM.
//! * Receiving is ENOTSUP.

use std::collections::HashMap;

use super::dist::Dist;
use super::pipes::{PipeIdx, Pipes};
use super::{Pattern, SendFail};
use crate::constants::*;
use crate::error::{Error, Result};
use crate::msg::Message;
use crate::options::{as_int, OptVal, Options};
use crate::zmtp::radio_dish::{message_group, parse_group_command, GroupCommand};

pub(crate) struct Radio {
    /// Group -> the pipes that joined it, once per JOIN (libzmq's multimap).
    subscriptions: HashMap<Vec<u8>, Vec<PipeIdx>>,
    /// Pipes that get every message (UDP).
    udp_pipes: Vec<PipeIdx>,
    dist: Dist,
    /// Drop at HWM (default) rather than make the sender wait.
    lossy: bool,
}

impl Default for Radio {
    fn default() -> Self {
        Radio::new()
    }
}

impl Radio {
    /// A RADIO with no peers.
    pub fn new() -> Radio {
        Radio {
            subscriptions: HashMap::new(),
            udp_pipes: Vec::new(),
            dist: Dist::default(),
            lossy: true,
        }
    }

    /// Attaches a pipe (libzmq `radio_t::xattach_pipe`). With
    /// `subscribe_to_all` (a UDP connect) the pipe receives every message
    /// and its inbound side is never read; otherwise the memberships it
    /// already carries are applied now.
    pub fn attach_pipe(&mut self, pipes: &mut Pipes, p: PipeIdx, subscribe_to_all: bool) {
        // Nobody reads what a DISH sends beyond its memberships, so the pipe
        // need not wait for the peer's delimiter to go away.
        pipes.get(p).set_nodelay();
        self.dist.attach(p);
        if subscribe_to_all {
            self.udp_pipes.push(p);
        } else {
            self.read_memberships(pipes, p);
        }
    }

    /// Applies every JOIN/LEAVE waiting in the pipe; drops anything else.
    fn read_memberships(&mut self, pipes: &mut Pipes, p: PipeIdx) {
        while let Some(msg) = pipes.get(p).read() {
            match parse_group_command(&msg) {
                Some((GroupCommand::Join, group)) => {
                    self.subscriptions
                        .entry(group.to_vec())
                        .or_default()
                        .push(p);
                }
                Some((GroupCommand::Leave, group)) => {
                    if let Some(list) = self.subscriptions.get_mut(group) {
                        if let Some(i) = list.iter().position(|&x| x == p) {
                            list.swap_remove(i);
                        }
                        if list.is_empty() {
                            self.subscriptions.remove(group);
                        }
                    }
                }
                None => {}
            }
        }
    }

    #[cfg(test)]
    /// Number of (group, pipe) memberships, counting repeats (for tests).
    fn membership_count(&self) -> usize {
        self.subscriptions.values().map(Vec::len).sum()
    }
}

impl Pattern for Radio {
    fn attach(&mut self, pipes: &mut Pipes, _opts: &mut Options, p: PipeIdx, _local: bool) {
        self.attach_pipe(pipes, p, false);
    }

    fn attach_subscribe_all(&mut self, pipes: &mut Pipes, _opts: &mut Options, p: PipeIdx) {
        self.attach_pipe(pipes, p, true);
    }

    fn read_activated(&mut self, pipes: &mut Pipes, p: PipeIdx) {
        self.read_memberships(pipes, p);
    }

    fn write_activated(&mut self, _pipes: &mut Pipes, p: PipeIdx) {
        self.dist.activated(p);
    }

    fn pipe_terminated(&mut self, _pipes: &mut Pipes, p: PipeIdx) {
        self.subscriptions.retain(|_, list| {
            list.retain(|&x| x != p);
            !list.is_empty()
        });
        self.udp_pipes.retain(|&x| x != p);
        self.dist.pipe_terminated(p);
    }

    fn setsockopt(
        &mut self,
        _pipes: &mut Pipes,
        _opts: &mut Options,
        option: i32,
        v: OptVal<'_>,
    ) -> Option<Result<()>> {
        // libzmq's radio accepts only ZMQ_XPUB_NODROP here; any EINVAL (a
        // bad value included) falls through to the common options, which
        // refuse it again.
        match (option, as_int(v)) {
            (ZMQ_XPUB_NODROP, Some(x)) if x >= 0 => {
                self.lossy = x == 0;
                Some(Ok(()))
            }
            _ => None,
        }
    }

    fn send(
        &mut self,
        pipes: &mut Pipes,
        _opts: &Options,
        msg: Message,
    ) -> std::result::Result<(), SendFail> {
        // Thread-safe sockets send whole messages in one call only.
        if msg.more() {
            return Err(SendFail::Fail(Error::EINVAL, msg));
        }
        self.dist.unmatch();
        if let Some(list) = self.subscriptions.get(message_group(&msg)) {
            for &p in list {
                self.dist.match_pipe(p);
            }
        }
        for &p in &self.udp_pipes {
            self.dist.match_pipe(p);
        }
        if self.lossy || self.dist.check_hwm(pipes) {
            self.dist.send_to_matching(pipes, msg);
            Ok(())
        } else {
            Err(SendFail::Again(msg))
        }
    }

    fn recv(&mut self, _pipes: &mut Pipes, _opts: &Options) -> Result<Message> {
        Err(Error::ENOTSUP)
    }

    fn has_in(&mut self, _pipes: &mut Pipes, _opts: &Options) -> bool {
        false
    }

    fn has_out(&mut self, _pipes: &mut Pipes, _opts: &Options) -> bool {
        // As libzmq's dist_t::has_out: a RADIO can always send (full pipes
        // drop, or the send itself waits with XPUB_NODROP).
        true
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::Harness;
    use super::*;
    use crate::msg::flags;
    use crate::zmtp::radio_dish::{group_command, GroupCommand};

    fn gmsg(group: &str, body: &str) -> Message {
        let mut m = Message::from_slice(body.as_bytes());
        m.set_group(group.as_bytes()).unwrap();
        m
    }

    fn join(g: &str) -> Message {
        group_command(GroupCommand::Join, g.as_bytes()).unwrap()
    }

    fn leave(g: &str) -> Message {
        group_command(GroupCommand::Leave, g.as_bytes()).unwrap()
    }

    fn send(h: &mut Harness<Radio>, m: Message) -> std::result::Result<(), SendFail> {
        h.pattern.send(&mut h.pipes, &h.opts, m)
    }

    fn bodies(ms: &[Message]) -> Vec<(String, String)> {
        ms.iter()
            .map(|m| {
                (
                    m.group().to_owned(),
                    String::from_utf8_lossy(m.as_slice()).into_owned(),
                )
            })
            .collect()
    }

    #[test]
    fn sends_only_to_joined_pipes() {
        let mut h = Harness::new(Radio::new());
        let a = h.add_pipe(0);
        let b = h.add_pipe(0);
        h.push_from(a, vec![join("Movies")]);
        h.push_from(b, vec![join("TV"), join("Movies")]);
        assert!(send(&mut h, gmsg("TV", "Friends")).is_ok());
        assert!(send(&mut h, gmsg("Movies", "Godfather")).is_ok());
        assert!(send(&mut h, gmsg("News", "none")).is_ok());
        assert_eq!(
            bodies(&h.drain_far(a)),
            vec![("Movies".into(), "Godfather".into())]
        );
        assert_eq!(
            bodies(&h.drain_far(b)),
            vec![
                ("TV".into(), "Friends".into()),
                ("Movies".into(), "Godfather".into())
            ]
        );
    }

    #[test]
    fn memberships_before_attach_are_applied() {
        let mut h = Harness::new(Radio::new());
        let a = h.add_pipe_with(
            0,
            |far| {
                let _ = far.write(join("TV"));
                far.flush();
            },
            |p, pipes, opts, idx| p.attach(pipes, opts, idx, false),
        );
        assert_eq!(h.pattern.membership_count(), 1);
        assert!(send(&mut h, gmsg("TV", "x")).is_ok());
        assert_eq!(h.drain_far(a).len(), 1);
    }

    #[test]
    fn leave_stops_delivery_and_counts_repeats() {
        let mut h = Harness::new(Radio::new());
        let a = h.add_pipe(0);
        h.push_from(a, vec![join("TV"), join("TV")]);
        assert_eq!(h.pattern.membership_count(), 2);
        // Matched twice, delivered once.
        assert!(send(&mut h, gmsg("TV", "1")).is_ok());
        assert_eq!(h.drain_far(a).len(), 1);
        h.push_from(a, vec![leave("TV")]);
        assert!(send(&mut h, gmsg("TV", "2")).is_ok());
        assert_eq!(h.drain_far(a).len(), 1);
        h.push_from(a, vec![leave("TV"), leave("TV"), leave("Other")]);
        assert_eq!(h.pattern.membership_count(), 0);
        assert!(send(&mut h, gmsg("TV", "3")).is_ok());
        assert!(h.drain_far(a).is_empty());
    }

    #[test]
    fn data_and_forged_joins_are_ignored() {
        let mut h = Harness::new(Radio::new());
        let a = h.add_pipe(0);
        // A data frame that looks like a JOIN is not one.
        h.push_from(
            a,
            vec![Message::from_slice(b"\x04JOINTV"), Message::from("junk")],
        );
        let mut other = Message::from_slice(b"\x04PING\0\0");
        other.set_flags(flags::COMMAND);
        h.push_from(a, vec![other]);
        assert_eq!(h.pattern.membership_count(), 0);
        assert!(send(&mut h, gmsg("TV", "x")).is_ok());
        assert!(h.drain_far(a).is_empty());
    }

    #[test]
    fn empty_group_matches_groupless_messages() {
        let mut h = Harness::new(Radio::new());
        let a = h.add_pipe(0);
        h.push_from(a, vec![join("")]);
        assert!(send(&mut h, Message::from("plain")).is_ok());
        assert_eq!(h.drain_far(a).len(), 1);
    }

    #[test]
    fn udp_pipes_get_everything_and_are_not_read() {
        let mut h = Harness::new(Radio::new());
        let u = h.add_pipe_with(
            0,
            |far| {
                let _ = far.write(join("ignored"));
                far.flush();
            },
            |p, pipes, _opts, idx| p.attach_pipe(pipes, idx, true),
        );
        assert_eq!(h.pattern.membership_count(), 0);
        assert!(send(&mut h, gmsg("A", "1")).is_ok());
        assert!(send(&mut h, Message::from("2")).is_ok());
        assert_eq!(
            bodies(&h.drain_far(u)),
            vec![("A".into(), "1".into()), ("".into(), "2".into())]
        );
    }

    #[test]
    fn multipart_is_einval_and_recv_enotsup() {
        let mut h = Harness::new(Radio::new());
        let mut m = gmsg("TV", "x");
        m.set_more(true);
        match send(&mut h, m) {
            Err(SendFail::Fail(Error::EINVAL, back)) => assert_eq!(back.as_slice(), b"x"),
            _ => panic!("expected EINVAL"),
        }
        assert_eq!(
            h.pattern.recv(&mut h.pipes, &h.opts).unwrap_err(),
            Error::ENOTSUP
        );
        assert!(!h.pattern.has_in(&mut h.pipes, &h.opts));
        assert!(h.pattern.has_out(&mut h.pipes, &h.opts));
        assert_eq!(
            h.pattern.join(&mut h.pipes, b"TV").unwrap_err(),
            Error::ENOTSUP
        );
    }

    #[test]
    fn lossy_by_default_nodrop_waits() {
        let mut h = Harness::new(Radio::new());
        let a = h.add_pipe(1);
        h.push_from(a, vec![join("TV")]);
        assert!(send(&mut h, gmsg("TV", "1")).is_ok());
        // Pipe full: dropped silently.
        assert!(send(&mut h, gmsg("TV", "2")).is_ok());
        assert_eq!(bodies(&h.drain_far(a)), vec![("TV".into(), "1".into())]);

        let mut opts = Options::default();
        let one = 1i32.to_ne_bytes();
        assert_eq!(
            h.pattern
                .setsockopt(&mut h.pipes, &mut opts, ZMQ_XPUB_NODROP, Some(&one)),
            Some(Ok(()))
        );
        assert!(send(&mut h, gmsg("TV", "3")).is_ok());
        match send(&mut h, gmsg("TV", "4")) {
            Err(SendFail::Again(back)) => assert_eq!(back.as_slice(), b"4"),
            _ => panic!("expected EAGAIN"),
        }
        assert_eq!(h.drain_far(a).len(), 1);
        assert!(send(&mut h, gmsg("TV", "4")).is_ok());
        assert_eq!(bodies(&h.drain_far(a)), vec![("TV".into(), "4".into())]);
    }

    #[test]
    fn setsockopt_rules() {
        let mut h = Harness::new(Radio::new());
        let mut opts = Options::default();
        let neg = (-1i32).to_ne_bytes();
        // A bad value falls through to the common options, which refuse
        // it, as in libzmq.
        assert!(h
            .pattern
            .setsockopt(&mut h.pipes, &mut opts, ZMQ_XPUB_NODROP, Some(&neg))
            .is_none());
        assert!(h
            .pattern
            .setsockopt(&mut h.pipes, &mut opts, ZMQ_XPUB_NODROP, Some(&[1u8]))
            .is_none());
        let zero = 0i32.to_ne_bytes();
        // Other options are for the common ones.
        assert!(h
            .pattern
            .setsockopt(&mut h.pipes, &mut opts, ZMQ_SNDHWM, Some(&zero))
            .is_none());
        assert_eq!(
            h.pattern
                .setsockopt(&mut h.pipes, &mut opts, ZMQ_XPUB_NODROP, Some(&zero)),
            Some(Ok(()))
        );
        assert!(h.pattern.lossy);
    }

    #[test]
    fn terminated_pipe_is_forgotten() {
        let mut h = Harness::new(Radio::new());
        let a = h.add_pipe(0);
        let b = h.add_pipe(0);
        h.push_from(a, vec![join("TV")]);
        h.push_from(b, vec![join("TV")]);
        h.pattern.pipe_terminated(&mut h.pipes, a);
        h.pipes.remove(a);
        assert_eq!(h.pattern.membership_count(), 1);
        assert!(send(&mut h, gmsg("TV", "x")).is_ok());
        assert_eq!(h.drain_far(b).len(), 1);
    }
}
