//! DGRAM (draft): raw UDP datagrams as two-frame messages, the peer's
//! address ("a.b.c.d:port") then the body (libzmq 4.3.5 src/dgram.cpp,
//! `dgram_t`). The address/body codec is in [`crate::transport::udp`].
//!
//! * One pipe only (its bound UDP endpoint); further pipes are refused.
//! * Sending: the first frame (address) must have ZMQ_SNDMORE and the
//!   second (body) must not, else EINVAL. Any other count of frames is
//!   refused the same way, so every message is exactly two frames.
//! * Receiving yields the address frame (MORE) then the body.
//!
//! The socket type also sets ZMQ_RAW (`options.raw_socket`) in libzmq's
//! constructor: the socket factory must do that.

use super::pipes::{PipeIdx, Pipes};
use super::{Pattern, SendFail};
use crate::error::{Error, Result};
use crate::msg::Message;
use crate::options::Options;

#[derive(Default)]
pub(crate) struct Dgram {
    pipe: Option<PipeIdx>,
    /// The address frame went out; the body is next.
    more_out: bool,
}

impl Dgram {
    /// A DGRAM socket with no endpoint yet.
    pub fn new() -> Dgram {
        Dgram::default()
    }
}

impl Pattern for Dgram {
    fn attach(&mut self, pipes: &mut Pipes, _opts: &mut Options, p: PipeIdx, _local: bool) {
        if self.pipe.is_none() {
            self.pipe = Some(p);
        } else {
            pipes.get(p).terminate(false);
        }
    }

    fn pipe_terminated(&mut self, _pipes: &mut Pipes, p: PipeIdx) {
        if self.pipe == Some(p) {
            self.pipe = None;
            // A half-sent message died with its pipe (the pipe drops the
            // unfinished frames); the next frame starts a new message.
            self.more_out = false;
        }
    }

    fn send(
        &mut self,
        pipes: &mut Pipes,
        _opts: &Options,
        msg: Message,
    ) -> std::result::Result<(), SendFail> {
        // libzmq closes the message and fails with a stale errno when
        // there is no pipe (nothing bound yet). Waiting (or EAGAIN) like
        // PAIR is the defined equivalent.
        let Some(p) = self.pipe else {
            return Err(SendFail::Again(msg));
        };
        // The address must come with MORE, the body without.
        if msg.more() == self.more_out {
            return Err(SendFail::Fail(Error::EINVAL, msg));
        }
        let more = msg.more();
        let pipe = pipes.get(p);
        pipe.write(msg).map_err(SendFail::Again)?;
        if !more {
            pipe.flush();
        }
        self.more_out = !self.more_out;
        Ok(())
    }

    fn recv(&mut self, pipes: &mut Pipes, _opts: &Options) -> Result<Message> {
        let p = self.pipe.ok_or(Error::EAGAIN)?;
        pipes.get(p).read().ok_or(Error::EAGAIN)
    }

    fn has_in(&mut self, pipes: &mut Pipes, _opts: &Options) -> bool {
        self.pipe.is_some_and(|p| pipes.get(p).check_read())
    }

    fn has_out(&mut self, pipes: &mut Pipes, _opts: &Options) -> bool {
        self.pipe.is_some_and(|p| pipes.get(p).check_write())
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::Harness;
    use super::*;

    fn part(data: &str, more: bool) -> Message {
        let mut m = Message::from_slice(data.as_bytes());
        m.set_more(more);
        m
    }

    fn send(h: &mut Harness<Dgram>, m: Message) -> std::result::Result<(), SendFail> {
        h.pattern.send(&mut h.pipes, &h.opts, m)
    }

    #[test]
    fn two_part_rules() {
        let mut h = Harness::new(Dgram::new());
        // No pipe yet: try again later.
        assert!(matches!(
            send(&mut h, part("127.0.0.1:5559", true)),
            Err(SendFail::Again(_))
        ));
        assert!(!h.pattern.has_out(&mut h.pipes, &h.opts));
        let a = h.add_pipe(0);
        assert!(h.pattern.has_out(&mut h.pipes, &h.opts));
        // Body first: EINVAL.
        assert!(matches!(
            send(&mut h, part("body", false)),
            Err(SendFail::Fail(Error::EINVAL, _))
        ));
        assert!(send(&mut h, part("127.0.0.1:5559", true)).is_ok());
        // A third part: EINVAL, the message stays open.
        assert!(matches!(
            send(&mut h, part("more", true)),
            Err(SendFail::Fail(Error::EINVAL, _))
        ));
        assert!(send(&mut h, part("Is someone there ?", false)).is_ok());
        let got = h.drain_far(a);
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].as_slice(), b"127.0.0.1:5559");
        assert!(got[0].more());
        assert_eq!(got[1].as_slice(), b"Is someone there ?");
        assert!(!got[1].more());
    }

    #[test]
    fn receives_both_parts() {
        let mut h = Harness::new(Dgram::new());
        assert_eq!(
            h.pattern.recv(&mut h.pipes, &h.opts).unwrap_err(),
            Error::EAGAIN
        );
        let a = h.add_pipe(0);
        assert!(!h.pattern.has_in(&mut h.pipes, &h.opts));
        h.push_from(a, vec![part("127.0.0.1:5560\0", true), part("Yes", false)]);
        assert!(h.pattern.has_in(&mut h.pipes, &h.opts));
        let addr = h.pattern.recv(&mut h.pipes, &h.opts).unwrap();
        assert!(addr.more());
        let body = h.pattern.recv(&mut h.pipes, &h.opts).unwrap();
        assert_eq!(body.as_slice(), b"Yes");
        assert!(!body.more());
    }

    #[test]
    fn second_pipe_is_refused() {
        let mut h = Harness::new(Dgram::new());
        let a = h.add_pipe(0);
        let _b = h.add_pipe(0);
        assert_eq!(h.pattern.pipe, Some(a));
    }
}
