//! How RADIO/DISH groups and memberships travel between a socket, its
//! sessions and a stream transport (tcp, ipc). Behaviour of libzmq 4.3.5's
//! `radio_session_t` (src/radio.cpp) and `dish_session_t` (src/dish.cpp).
//!
//! **In a pipe** (socket <-> session, or socket <-> socket over inproc):
//!
//! * a data message is a single frame whose group rides in
//!   [`Message::group`];
//! * a membership change is a COMMAND frame whose body is exactly the ZMTP
//!   command: `0x04 "JOIN" group` or `0x05 "LEAVE" group`. libzmq uses
//!   dedicated message types (`msg_t::join` / `msg_t::leave`) in its pipes
//!   and translates them in the sessions; carrying the wire form instead
//!   needs no new message flag and lets the frame cross a session as is.
//!
//! **On a stream connection**:
//!
//! * RADIO -> DISH: every message becomes two ordinary frames, the group
//!   (MORE set, up to 255 bytes, no terminating NUL) then the body
//!   (`radio_session_t::pull_msg`). See [`radio_to_wire`] and
//!   [`DishWireDecoder`].
//! * DISH -> RADIO: ZMTP command frames `JOIN` / `LEAVE` whose data is the
//!   group (`dish_session_t::pull_msg`, `radio_session_t::push_msg`); there
//!   is no length field, the group is the rest of the frame. See
//!   [`group_command`] and [`parse_group_command`].
//!
//! Groups are C strings in libzmq (`msg_t::group()` is NUL-terminated), so
//! a group is cut at its first NUL byte wherever one is compared or framed.

use crate::error::{Error, Result};
use crate::msg::{flags, Message, GROUP_MAX_LENGTH};

/// The head of a JOIN command frame: name length, then the name.
pub(crate) const JOIN_PREFIX: &[u8] = b"\x04JOIN";
/// The head of a LEAVE command frame: name length, then the name.
pub(crate) const LEAVE_PREFIX: &[u8] = b"\x05LEAVE";

/// A DISH's membership change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GroupCommand {
    /// Start receiving the group's messages.
    Join,
    /// Stop receiving them.
    Leave,
}

/// The group as libzmq sees it: the bytes before the first NUL.
pub(crate) fn group_name(group: &[u8]) -> &[u8] {
    match group.iter().position(|&b| b == 0) {
        Some(end) => &group[..end],
        None => group,
    }
}

/// The group of a message as compared and framed (never longer than 255
/// bytes, since [`Message::set_group`] refuses more).
pub(crate) fn message_group(msg: &Message) -> &[u8] {
    msg.group_cstr().to_bytes()
}

/// The JOIN or LEAVE frame for `group`, as a DISH writes it to its pipes
/// and as it goes on the wire. EINVAL when the group (up to its first NUL)
/// is longer than `ZMQ_GROUP_MAX_LENGTH`.
pub(crate) fn group_command(kind: GroupCommand, group: &[u8]) -> Result<Message> {
    let group = group_name(group);
    if group.len() > GROUP_MAX_LENGTH {
        return Err(Error::EINVAL);
    }
    let prefix = match kind {
        GroupCommand::Join => JOIN_PREFIX,
        GroupCommand::Leave => LEAVE_PREFIX,
    };
    let mut body = Vec::with_capacity(prefix.len() + group.len());
    body.extend_from_slice(prefix);
    body.extend_from_slice(group);
    let mut m = Message::from_vec(body);
    m.set_flags(flags::COMMAND);
    Ok(m)
}

/// Recognises a JOIN or LEAVE command frame and returns the group it names
/// (cut at its first NUL, as libzmq's `set_group` + `group()` do).
///
/// `None` for anything else: data frames (only COMMAND frames carry
/// memberships, so a DISH cannot forge one with a message body), other
/// commands, and groups longer than 255 bytes. libzmq's radio session
/// aborts the process on such an over-long group (`errno_assert` after
/// `set_group` fails); dropping the command is the safe equivalent.
pub(crate) fn parse_group_command(msg: &Message) -> Option<(GroupCommand, &[u8])> {
    if msg.flags() & flags::COMMAND == 0 {
        return None;
    }
    let data = msg.as_slice();
    let (kind, rest) = if let Some(rest) = data.strip_prefix(JOIN_PREFIX) {
        (GroupCommand::Join, rest)
    } else if let Some(rest) = data.strip_prefix(LEAVE_PREFIX) {
        (GroupCommand::Leave, rest)
    } else {
        return None;
    };
    if rest.len() > GROUP_MAX_LENGTH {
        return None;
    }
    Some((kind, group_name(rest)))
}

/// Whether a frame decoded from a DISH peer goes on to the RADIO socket
/// (libzmq `radio_session_t::push_msg`): JOIN/LEAVE commands do, other
/// commands are dropped (as `session_base_t::push_msg` drops them), data
/// frames do (the RADIO socket reads and discards them).
pub(crate) fn radio_accepts_from_wire(msg: &Message) -> bool {
    msg.flags() & flags::COMMAND == 0 || parse_group_command(msg).is_some()
}

/// The frames a RADIO's message becomes on a stream connection: the group
/// (MORE) and the body (libzmq `radio_session_t::pull_msg`). A message
/// without a group gets an empty group frame.
pub(crate) fn radio_to_wire(msg: Message) -> [Message; 2] {
    let mut group = Message::from_slice(message_group(&msg));
    group.set_flags(flags::MORE);
    [group, msg]
}

/// Why a DISH's stream peer was cut off. libzmq's dish session answers each
/// with EFAULT, which its engine turns into a protocol error: the
/// connection is closed (and, when it is an accepted one, not re-made).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WireError {
    /// A group frame without MORE: the message has no body.
    GroupWithoutBody,
    /// A group frame longer than `ZMQ_GROUP_MAX_LENGTH`.
    GroupTooLong,
    /// A body frame with MORE: the sockets do not carry multi-part messages.
    MultipartBody,
}

/// Reassembles the (group, body) frame pairs a RADIO sends into single
/// messages with their group set (libzmq `dish_session_t::push_msg`).
#[derive(Default)]
pub(crate) struct DishWireDecoder {
    /// The group frame of the message in progress.
    group: Option<Message>,
}

impl DishWireDecoder {
    /// A decoder waiting for a group frame.
    pub fn new() -> DishWireDecoder {
        DishWireDecoder::default()
    }

    /// Takes the next frame from the engine. Returns the complete message
    /// after its body frame, `None` after a group frame; an error means the
    /// connection must be dropped as a protocol error.
    ///
    /// Command frames are ignored. libzmq's dish session would treat one
    /// arriving between messages as a malformed group (so a heartbeat PING
    /// reaching it kills the connection); here the engine answers PING
    /// itself, and any other command carries nothing for a DISH.
    pub fn push(&mut self, frame: Message) -> std::result::Result<Option<Message>, WireError> {
        if frame.flags() & flags::COMMAND != 0 {
            return Ok(None);
        }
        let Some(group) = self.group.take() else {
            if !frame.more() {
                return Err(WireError::GroupWithoutBody);
            }
            if frame.len() > GROUP_MAX_LENGTH {
                return Err(WireError::GroupTooLong);
            }
            self.group = Some(frame);
            return Ok(None);
        };
        if frame.more() {
            return Err(WireError::MultipartBody);
        }
        let mut body = frame;
        // libzmq keeps a group that is already set; frames from an engine
        // never have one, but a transport that sets it must not be overruled.
        if body.group_cstr().is_empty() {
            // Cannot fail: the group frame was checked against the limit.
            if body.set_group(group.as_slice()).is_err() {
                return Err(WireError::GroupTooLong);
            }
        }
        Ok(Some(body))
    }

    /// Forgets a half-received message (the connection was lost; libzmq's
    /// `dish_session_t::reset`).
    pub fn reset(&mut self) {
        self.group = None;
    }

    #[cfg(test)]
    /// Whether a group frame is waiting for its body.
    pub fn in_message(&self) -> bool {
        self.group.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(data: &[u8], f: u8) -> Message {
        let mut m = Message::from_slice(data);
        m.set_flags(f);
        m
    }

    #[test]
    fn join_and_leave_frames() {
        let j = group_command(GroupCommand::Join, b"Movies").unwrap();
        assert_eq!(j.as_slice(), b"\x04JOINMovies");
        assert_eq!(j.flags(), flags::COMMAND);
        let l = group_command(GroupCommand::Leave, b"TV").unwrap();
        assert_eq!(l.as_slice(), b"\x05LEAVETV");
        assert_eq!(l.flags(), flags::COMMAND);
        let e = group_command(GroupCommand::Join, b"").unwrap();
        assert_eq!(e.as_slice(), b"\x04JOIN");
        // Cut at NUL like a C string.
        let n = group_command(GroupCommand::Join, b"ab\0cd").unwrap();
        assert_eq!(n.as_slice(), b"\x04JOINab");
        assert!(group_command(GroupCommand::Join, &[b'A'; 255]).is_ok());
        assert_eq!(
            group_command(GroupCommand::Join, &[b'A'; 256]).unwrap_err(),
            Error::EINVAL
        );
    }

    #[test]
    fn parse_commands() {
        let m = frame(b"\x04JOINMovies", flags::COMMAND);
        assert_eq!(
            parse_group_command(&m),
            Some((GroupCommand::Join, &b"Movies"[..]))
        );
        let m = frame(b"\x05LEAVEMovies", flags::COMMAND);
        assert_eq!(
            parse_group_command(&m),
            Some((GroupCommand::Leave, &b"Movies"[..]))
        );
        let m = frame(b"\x04JOIN", flags::COMMAND);
        assert_eq!(
            parse_group_command(&m),
            Some((GroupCommand::Join, &b""[..]))
        );
        let m = frame(b"\x04JOINa\0b", flags::COMMAND);
        assert_eq!(
            parse_group_command(&m),
            Some((GroupCommand::Join, &b"a"[..]))
        );
        // Data frames never count, whatever they hold.
        assert_eq!(parse_group_command(&frame(b"\x04JOINMovies", 0)), None);
        // Other or truncated commands.
        assert_eq!(
            parse_group_command(&frame(b"\x04PING\0\0", flags::COMMAND)),
            None
        );
        assert_eq!(
            parse_group_command(&frame(b"\x04JOI", flags::COMMAND)),
            None
        );
        assert_eq!(
            parse_group_command(&frame(b"\x05LEAV", flags::COMMAND)),
            None
        );
        assert_eq!(parse_group_command(&frame(b"", flags::COMMAND)), None);
        // Over-long groups are dropped, not fatal.
        let mut long = b"\x04JOIN".to_vec();
        long.extend_from_slice(&[b'x'; 256]);
        assert_eq!(parse_group_command(&frame(&long, flags::COMMAND)), None);
        long.pop();
        assert!(parse_group_command(&frame(&long, flags::COMMAND)).is_some());
    }

    #[test]
    fn radio_session_filter() {
        assert!(radio_accepts_from_wire(&frame(
            b"\x04JOINa",
            flags::COMMAND
        )));
        assert!(radio_accepts_from_wire(&frame(
            b"\x05LEAVEa",
            flags::COMMAND
        )));
        assert!(!radio_accepts_from_wire(&frame(
            b"\x04PING\0\0",
            flags::COMMAND
        )));
        assert!(radio_accepts_from_wire(&frame(b"data", 0)));
    }

    #[test]
    fn radio_frames() {
        let mut m = Message::from_slice(b"Godfather");
        m.set_group(b"Movies").unwrap();
        let [g, b] = radio_to_wire(m);
        assert_eq!(g.as_slice(), b"Movies");
        assert!(g.more());
        assert_eq!(b.as_slice(), b"Godfather");
        assert!(!b.more());
        // No group: an empty group frame.
        let [g, b] = radio_to_wire(Message::from_slice(b"x"));
        assert!(g.is_empty() && g.more());
        assert_eq!(b.as_slice(), b"x");
        // Long groups are kept whole.
        let mut m = Message::from_slice(b"HELLO");
        m.set_group(b"0123456789ABCDEFGH").unwrap();
        let [g, _] = radio_to_wire(m);
        assert_eq!(g.as_slice(), b"0123456789ABCDEFGH");
    }

    #[test]
    fn dish_decoder_roundtrip() {
        let mut d = DishWireDecoder::new();
        let mut m = Message::from_slice(b"Friends");
        m.set_group(b"TV").unwrap();
        let [g, b] = radio_to_wire(m);
        assert_eq!(d.push(g), Ok(None));
        assert!(d.in_message());
        let out = d.push(b).unwrap().unwrap();
        assert_eq!(out.as_slice(), b"Friends");
        assert_eq!(out.group(), "TV");
        assert!(!out.more());
        assert!(!d.in_message());
        // Empty group and empty body.
        assert_eq!(d.push(frame(b"", flags::MORE)), Ok(None));
        let out = d.push(frame(b"", 0)).unwrap().unwrap();
        assert_eq!(out.group(), "");
        assert!(out.is_empty());
    }

    #[test]
    fn dish_decoder_errors() {
        let mut d = DishWireDecoder::new();
        assert_eq!(d.push(frame(b"TV", 0)), Err(WireError::GroupWithoutBody));
        let mut d = DishWireDecoder::new();
        assert_eq!(
            d.push(frame(&[b'g'; 256], flags::MORE)),
            Err(WireError::GroupTooLong)
        );
        let mut d = DishWireDecoder::new();
        assert_eq!(d.push(frame(&[b'g'; 255], flags::MORE)), Ok(None));
        assert_eq!(
            d.push(frame(b"a", flags::MORE)),
            Err(WireError::MultipartBody)
        );
    }

    #[test]
    fn dish_decoder_ignores_commands_and_resets() {
        let mut d = DishWireDecoder::new();
        assert_eq!(d.push(frame(b"\x04PING\0\0", flags::COMMAND)), Ok(None));
        assert_eq!(d.push(frame(b"TV", flags::MORE)), Ok(None));
        assert_eq!(d.push(frame(b"\x04PONG", flags::COMMAND)), Ok(None));
        assert!(d.in_message());
        d.reset();
        assert!(!d.in_message());
        // After a reset the next frame is a group again.
        assert_eq!(d.push(frame(b"body", 0)), Err(WireError::GroupWithoutBody));
    }

    #[test]
    fn group_frame_with_nul() {
        // libzmq stores the group with strncpy: it ends at the first NUL.
        let mut d = DishWireDecoder::new();
        assert_eq!(d.push(frame(b"a\0b", flags::MORE)), Ok(None));
        let out = d.push(frame(b"x", 0)).unwrap().unwrap();
        assert_eq!(out.group_cstr().to_bytes(), b"a");
    }
}
