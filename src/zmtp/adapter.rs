//! What a session does to messages because of its socket's type, between
//! the socket's pipe and the ZMTP engine: libzmq's req_session_t,
//! radio_session_t and dish_session_t, the filtering of session_base_t's
//! push_msg, and the hello, hiccup and disconnect messages (draft
//! ZMQ_HELLO_MSG, ZMQ_HICCUP_MSG, ZMQ_DISCONNECT_MSG).
//!
//! Sans-I/O: one [`Adapter`] per session, fed the frames the engine decodes
//! and the messages the socket queues; the I/O driver only moves what it
//! returns.

use std::sync::Arc;

use crate::constants::*;
use crate::msg::{flags, Message, Metadata};
use crate::options::Options;
use crate::pipe::Pipe;

use super::radio_dish::{radio_accepts_from_wire, radio_to_wire, DishWireDecoder};

/// What becomes of a frame from the peer.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// Hand it to the socket.
    Deliver(Message),
    /// Nothing for the socket (yet): dropped, or held until its other half.
    Skip,
    /// The peer broke the socket type's framing: close the connection as a
    /// protocol error.
    Error,
}

/// The verdict of [`Adapter::check`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Check {
    /// Hand the frame to the socket as it is.
    Deliver,
    /// Drop it.
    Skip,
    /// Run it through [`Adapter::inbound`] (DISH joins frames).
    Transform,
}

/// libzmq's req_session_t: a reply is [request id,] empty delimiter, body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReqState {
    Bottom,
    RequestId,
    Body,
}

/// The per-connection rules of one socket type.
pub(crate) struct Adapter {
    socket_type: i32,
    req: ReqState,
    dish: DishWireDecoder,
    /// The last message taken from the socket ended with MORE: on a
    /// disconnect the rest of it must be dropped, not sent on the next
    /// connection.
    outbound_incomplete: bool,
}

impl Adapter {
    /// The rules of `socket_type`.
    pub fn new(socket_type: i32) -> Adapter {
        Adapter {
            socket_type,
            req: ReqState::Bottom,
            dish: DishWireDecoder::new(),
            outbound_incomplete: false,
        }
    }

    /// A new connection starts: forget any half-received message.
    pub fn reset(&mut self) {
        self.req = ReqState::Bottom;
        self.dish.reset();
    }

    /// What to do with a frame the engine decoded, judged in place: every
    /// socket type but DISH only lets a frame through or drops it, and the
    /// frame need not move for that (this runs once per received message).
    #[inline]
    pub fn check(&mut self, m: &Message) -> Check {
        match self.socket_type {
            ZMQ_DISH => return Check::Transform,
            ZMQ_RADIO if !radio_accepts_from_wire(m) => return Check::Skip,
            _ => {}
        }
        if m.flags() & (flags::SUBSCRIBE | flags::CANCEL) != 0
            && !matches!(self.socket_type, ZMQ_PUB | ZMQ_XPUB)
        {
            return Check::Skip;
        }
        if self.socket_type == ZMQ_REQ && !self.req_check(m) {
            return Check::Skip;
        }
        Check::Deliver
    }

    /// A frame the engine decoded.
    pub fn inbound(&mut self, m: Message) -> Inbound {
        let m = match self.socket_type {
            ZMQ_DISH => {
                if m.flags() & flags::COMMAND != 0 {
                    return Inbound::Skip;
                }
                match self.dish.push(m) {
                    Ok(Some(m)) => m,
                    Ok(None) => return Inbound::Skip,
                    Err(_) => return Inbound::Error,
                }
            }
            ZMQ_RADIO if !radio_accepts_from_wire(&m) => return Inbound::Skip,
            _ => m,
        };
        if m.flags() & (flags::SUBSCRIBE | flags::CANCEL) != 0
            && !matches!(self.socket_type, ZMQ_PUB | ZMQ_XPUB)
        {
            // SUBSCRIBE/CANCEL commands mean something only to publishers;
            // anyone else would see their topic as data.
            return Inbound::Skip;
        }
        if self.socket_type == ZMQ_REQ && !self.req_check(&m) {
            // A malformed reply: dropped silently, as an unexpected command
            // would be; the REQ socket itself skips broken envelopes.
            return Inbound::Skip;
        }
        Inbound::Deliver(m)
    }

    fn req_check(&mut self, m: &Message) -> bool {
        if m.flags() & flags::COMMAND != 0 {
            return true;
        }
        let more_only = m.more() && m.flags() & !flags::MORE == 0;
        let plain = m.flags() == 0;
        let next = match self.req {
            ReqState::Bottom if more_only && m.len() == 4 => Some(ReqState::RequestId),
            ReqState::Bottom if more_only && m.is_empty() => Some(ReqState::Body),
            ReqState::RequestId if more_only && m.is_empty() => Some(ReqState::Body),
            ReqState::Body if more_only => Some(ReqState::Body),
            ReqState::Body if plain => Some(ReqState::Bottom),
            _ => None,
        };
        match next {
            Some(s) => {
                self.req = s;
                true
            }
            None => false,
        }
    }

    /// A message the socket queued, as the frames the engine sends.
    #[inline]
    pub fn outbound(&mut self, m: Message, mut send: impl FnMut(Message)) {
        if self.socket_type == ZMQ_RADIO {
            // Group and body as two frames on the wire.
            for f in radio_to_wire(m) {
                send(f);
            }
        } else {
            self.outbound_incomplete = m.more();
            send(m);
        }
    }

    /// Whether the socket's last message was taken only in part; clears it.
    pub fn take_outbound_incomplete(&mut self) -> bool {
        std::mem::take(&mut self.outbound_incomplete)
    }

    /// What the socket's pipe gets when a connection ends: the notices the
    /// options ask for (ZMQ_STREAM_NOTIFY's empty message on a raw
    /// connection, ZMQ_ROUTER_NOTIFY's on a greeted one), no half-delivered
    /// message in either direction, then the disconnect or hiccup message.
    pub fn disconnected(&mut self, pipe: &mut Pipe, o: &Options, d: Disconnect) {
        if let Some(metadata) = d.raw_notice {
            let mut m = Message::new();
            m.set_metadata(metadata);
            let _ = pipe.write(m);
            pipe.flush();
        }
        if d.handshaked && o.router_notify & ZMQ_NOTIFY_DISCONNECT != 0 {
            pipe.rollback();
            let _ = pipe.write(Message::new());
        }
        pipe.rollback();
        pipe.flush();
        if self.take_outbound_incomplete() {
            while let Some(m) = pipe.read() {
                if !m.more() {
                    break;
                }
            }
        }
        if let Some(m) = disconnect_message(o, d.connecter, d.handshaked) {
            pipe.set_disconnect_msg(Some(m));
            pipe.send_disconnect_msg();
        }
        if let Some(m) = hiccup_message(o, d.connecter, d.handshaked) {
            let _ = pipe.write(m);
            pipe.flush();
        }
    }
}

/// How a connection ended, for [`Adapter::disconnected`].
pub(crate) struct Disconnect {
    /// The session connects (and will reconnect), as opposed to accepted.
    pub connecter: bool,
    /// The handshake had completed.
    pub handshaked: bool,
    /// A raw connection whose socket wants an empty message announcing
    /// the disconnect, with the connection's metadata.
    pub raw_notice: Option<Option<Arc<Metadata>>>,
}

/// The message a new connection starts with (ZMQ_HELLO_MSG), if any. Raw
/// sockets send none.
pub(crate) fn hello_message(o: &Options) -> Option<Message> {
    (o.can_send_hello_msg && !o.hello_msg.is_empty() && !o.raw_socket)
        .then(|| Message::from_slice(&o.hello_msg))
}

/// The message the socket receives when its connect's connection was lost
/// after its handshake and is being re-made (ZMQ_HICCUP_MSG).
pub(crate) fn hiccup_message(o: &Options, connecter: bool, handshaked: bool) -> Option<Message> {
    (connecter && handshaked && o.can_recv_hiccup_msg && !o.hiccup_msg.is_empty())
        .then(|| Message::from_slice(&o.hiccup_msg))
}

/// The message the socket receives when an accepted connection it had
/// greeted goes away (ZMQ_DISCONNECT_MSG).
pub(crate) fn disconnect_message(
    o: &Options,
    connecter: bool,
    handshaked: bool,
) -> Option<Message> {
    (!connecter && handshaked && o.can_recv_disconnect_msg && !o.disconnect_msg.is_empty())
        .then(|| Message::from_slice(&o.disconnect_msg))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(data: &[u8], f: u8) -> Message {
        let mut m = Message::from_slice(data);
        m.set_flags(f);
        m
    }

    fn delivered(i: Inbound) -> Option<Vec<u8>> {
        match i {
            Inbound::Deliver(m) => Some(m.to_vec()),
            _ => None,
        }
    }

    #[test]
    fn req_takes_well_formed_replies_only() {
        let mut a = Adapter::new(ZMQ_REQ);
        // delimiter, body
        assert!(delivered(a.inbound(frame(b"", flags::MORE))).is_some());
        assert_eq!(delivered(a.inbound(frame(b"ok", 0))).unwrap(), b"ok");
        // request id, delimiter, body
        assert!(delivered(a.inbound(frame(b"\0\0\0\x07", flags::MORE))).is_some());
        assert!(delivered(a.inbound(frame(b"", flags::MORE))).is_some());
        assert!(delivered(a.inbound(frame(b"x", 0))).is_some());
        // a body with no envelope is dropped, and so is what follows until
        // a proper start
        assert!(matches!(a.inbound(frame(b"stray", 0)), Inbound::Skip));
        assert!(matches!(
            a.inbound(frame(b"toolong", flags::MORE)),
            Inbound::Skip
        ));
        assert!(delivered(a.inbound(frame(b"", flags::MORE))).is_some());
        assert!(delivered(a.inbound(frame(b"fine", 0))).is_some());
        // a reset forgets a half-received reply
        assert!(delivered(a.inbound(frame(b"", flags::MORE))).is_some());
        a.reset();
        assert!(matches!(a.inbound(frame(b"body", 0)), Inbound::Skip));
    }

    #[test]
    fn only_publishers_see_subscriptions() {
        for (t, seen) in [
            (ZMQ_PUB, true),
            (ZMQ_XPUB, true),
            (ZMQ_SUB, false),
            (ZMQ_DEALER, false),
        ] {
            let mut a = Adapter::new(t);
            for f in [flags::SUBSCRIBE, flags::CANCEL] {
                let r = a.inbound(frame(b"topic", f | flags::COMMAND));
                assert_eq!(matches!(r, Inbound::Deliver(_)), seen, "type {t}");
            }
            assert!(delivered(a.inbound(frame(b"data", 0))).is_some());
        }
    }

    #[test]
    fn dish_joins_group_and_body() {
        let mut a = Adapter::new(ZMQ_DISH);
        assert!(matches!(
            a.inbound(frame(b"weather", flags::MORE)),
            Inbound::Skip
        ));
        match a.inbound(frame(b"sunny", 0)) {
            Inbound::Deliver(m) => {
                assert_eq!(m.to_vec(), b"sunny");
                assert_eq!(m.group_cstr().to_bytes(), b"weather");
            }
            other => panic!("{other:?}"),
        }
        // commands carry nothing for a DISH
        assert!(matches!(
            a.inbound(frame(b"\x04PING", flags::COMMAND)),
            Inbound::Skip
        ));
        // a group without a body breaks the framing
        assert!(matches!(a.inbound(frame(b"g", 0)), Inbound::Error));
        assert!(matches!(a.inbound(frame(b"g", flags::MORE)), Inbound::Skip));
        assert!(matches!(
            a.inbound(frame(b"b", flags::MORE)),
            Inbound::Error
        ));
    }

    #[test]
    fn radio_takes_joins_and_splits_its_messages() {
        let mut a = Adapter::new(ZMQ_RADIO);
        let join = frame(b"\x04JOINgroup", flags::COMMAND);
        assert!(delivered(a.inbound(join)).is_some());
        assert!(matches!(
            a.inbound(frame(b"\x04PING", flags::COMMAND)),
            Inbound::Skip
        ));
        let mut m = Message::from_slice(b"body");
        m.set_group(b"grp").unwrap();
        let mut out = Vec::new();
        a.outbound(m, |f| out.push((f.to_vec(), f.more())));
        assert_eq!(
            out,
            vec![(b"grp".to_vec(), true), (b"body".to_vec(), false)]
        );
        assert!(!a.take_outbound_incomplete());
    }

    #[test]
    fn outbound_remembers_an_unfinished_message() {
        let mut a = Adapter::new(ZMQ_DEALER);
        let mut n = 0;
        a.outbound(frame(b"a", flags::MORE), |_| n += 1);
        assert!(a.take_outbound_incomplete());
        assert!(!a.take_outbound_incomplete());
        a.outbound(frame(b"b", 0), |_| n += 1);
        assert!(!a.take_outbound_incomplete());
        assert_eq!(n, 2);
    }

    #[test]
    fn a_lost_connection_leaves_whole_messages_and_the_notices() {
        struct Drop;
        impl crate::pipe::PipeSink for Drop {
            fn deliver(&self, _: u64, _: crate::pipe::PipeCommand) {}
        }
        let o = Options {
            socket_type: ZMQ_DEALER,
            can_recv_hiccup_msg: true,
            hiccup_msg: b"hic".to_vec(),
            router_notify: ZMQ_NOTIFY_DISCONNECT,
            ..Options::default()
        };
        let (mut session, mut socket) = crate::pipe::pipepair([0, 0], [false, false]);
        session.attach(Arc::new(Drop), 0);
        socket.attach(Arc::new(Drop), 1);
        // The socket queued a two-part message, the session took its first
        // part; the peer had sent half a message.
        socket.write(frame(b"a", flags::MORE)).unwrap();
        socket.write(frame(b"b", 0)).unwrap();
        socket.write(frame(b"next", 0)).unwrap();
        socket.flush();
        let mut a = Adapter::new(ZMQ_DEALER);
        let first = session.read().unwrap();
        a.outbound(first, |_| {});
        session.write(frame(b"half", flags::MORE)).unwrap();
        let d = Disconnect {
            connecter: true,
            handshaked: true,
            raw_notice: None,
        };
        a.disconnected(&mut session, &o, d);
        // The rest of the half-sent message is gone; the next one stays.
        assert_eq!(session.read().unwrap().to_vec(), b"next");
        let got: Vec<Vec<u8>> = std::iter::from_fn(|| socket.read())
            .map(|m| m.to_vec())
            .collect();
        assert_eq!(got, vec![b"".to_vec(), b"hic".to_vec()]);
    }

    #[test]
    fn hello_hiccup_and_disconnect_messages() {
        let mut o = Options {
            can_send_hello_msg: true,
            can_recv_hiccup_msg: true,
            can_recv_disconnect_msg: true,
            hello_msg: b"hi".to_vec(),
            hiccup_msg: b"hic".to_vec(),
            disconnect_msg: b"bye".to_vec(),
            ..Options::default()
        };
        assert_eq!(hello_message(&o).unwrap().to_vec(), b"hi");
        assert_eq!(hiccup_message(&o, true, true).unwrap().to_vec(), b"hic");
        assert!(hiccup_message(&o, false, true).is_none());
        assert!(hiccup_message(&o, true, false).is_none());
        assert_eq!(
            disconnect_message(&o, false, true).unwrap().to_vec(),
            b"bye"
        );
        assert!(disconnect_message(&o, true, true).is_none());
        o.raw_socket = true;
        assert!(hello_message(&o).is_none());
    }
}
