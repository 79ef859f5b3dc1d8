//! The small vocabulary types of the `zmq` crate: [`SocketType`],
//! [`SocketEvent`], [`Mechanism`] and the send/receive flags.

use crate::constants::*;

/// Socket types (`zmq_socket`'s second argument).
///
/// Every variant is also a crate-level constant, as in the `zmq` crate:
/// `zmqrs::REQ` is `SocketType::REQ`. The variants after `STREAM` are
/// libzmq's draft socket types, which this library always supports; code
/// that matches on a `SocketType` exhaustively needs a `_` arm for them.
///
/// ```
/// let ctx = zmqrs::Context::new();
/// let s = ctx.socket(zmqrs::DEALER).unwrap();
/// assert_eq!(s.get_socket_type().unwrap(), zmqrs::SocketType::DEALER);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[allow(clippy::upper_case_acronyms)]
pub enum SocketType {
    /// Exclusive pair (RFC 31).
    PAIR,
    /// Publisher (RFC 29).
    PUB,
    /// Subscriber (RFC 29).
    SUB,
    /// Requester (RFC 28).
    REQ,
    /// Replier (RFC 28).
    REP,
    /// Asynchronous requester (RFC 28).
    DEALER,
    /// Asynchronous replier (RFC 28).
    ROUTER,
    /// Pipeline sink (RFC 30).
    PULL,
    /// Pipeline source (RFC 30).
    PUSH,
    /// Publisher that sees subscriptions.
    XPUB,
    /// Subscriber that sends raw subscriptions.
    XSUB,
    /// Raw TCP peer.
    STREAM,
    /// Thread-safe server of CLIENT peers (draft, RFC 41).
    SERVER,
    /// Thread-safe client of a SERVER (draft, RFC 41).
    CLIENT,
    /// Group publisher (draft, RFC 48).
    RADIO,
    /// Group subscriber (draft, RFC 48).
    DISH,
    /// Fair-queueing sink of SCATTER peers (draft, RFC 49).
    GATHER,
    /// Load-balancing source for GATHER peers (draft, RFC 49).
    SCATTER,
    /// UDP datagram socket (draft).
    DGRAM,
    /// Peer-to-peer socket addressed by routing id (draft, RFC 51).
    PEER,
    /// Thread-safe exclusive pair (draft, RFC 52).
    CHANNEL,
}

impl SocketType {
    /// The `ZMQ_*` number of this type.
    pub fn to_raw(self) -> i32 {
        match self {
            SocketType::PAIR => ZMQ_PAIR,
            SocketType::PUB => ZMQ_PUB,
            SocketType::SUB => ZMQ_SUB,
            SocketType::REQ => ZMQ_REQ,
            SocketType::REP => ZMQ_REP,
            SocketType::DEALER => ZMQ_DEALER,
            SocketType::ROUTER => ZMQ_ROUTER,
            SocketType::PULL => ZMQ_PULL,
            SocketType::PUSH => ZMQ_PUSH,
            SocketType::XPUB => ZMQ_XPUB,
            SocketType::XSUB => ZMQ_XSUB,
            SocketType::STREAM => ZMQ_STREAM,
            SocketType::SERVER => ZMQ_SERVER,
            SocketType::CLIENT => ZMQ_CLIENT,
            SocketType::RADIO => ZMQ_RADIO,
            SocketType::DISH => ZMQ_DISH,
            SocketType::GATHER => ZMQ_GATHER,
            SocketType::SCATTER => ZMQ_SCATTER,
            SocketType::DGRAM => ZMQ_DGRAM,
            SocketType::PEER => ZMQ_PEER,
            SocketType::CHANNEL => ZMQ_CHANNEL,
        }
    }

    /// The type for a `ZMQ_*` number, `None` if there is none.
    pub fn from_raw(raw: i32) -> Option<SocketType> {
        Some(match raw {
            ZMQ_PAIR => SocketType::PAIR,
            ZMQ_PUB => SocketType::PUB,
            ZMQ_SUB => SocketType::SUB,
            ZMQ_REQ => SocketType::REQ,
            ZMQ_REP => SocketType::REP,
            ZMQ_DEALER => SocketType::DEALER,
            ZMQ_ROUTER => SocketType::ROUTER,
            ZMQ_PULL => SocketType::PULL,
            ZMQ_PUSH => SocketType::PUSH,
            ZMQ_XPUB => SocketType::XPUB,
            ZMQ_XSUB => SocketType::XSUB,
            ZMQ_STREAM => SocketType::STREAM,
            ZMQ_SERVER => SocketType::SERVER,
            ZMQ_CLIENT => SocketType::CLIENT,
            ZMQ_RADIO => SocketType::RADIO,
            ZMQ_DISH => SocketType::DISH,
            ZMQ_GATHER => SocketType::GATHER,
            ZMQ_SCATTER => SocketType::SCATTER,
            ZMQ_DGRAM => SocketType::DGRAM,
            ZMQ_PEER => SocketType::PEER,
            ZMQ_CHANNEL => SocketType::CHANNEL,
            _ => return None,
        })
    }

    /// Whether this is a draft socket type (one the `zmq` crate lacks).
    pub fn is_draft(self) -> bool {
        self.to_raw() >= ZMQ_SERVER
    }
}

/// Connection events reported by [`Socket::monitor`](crate::Socket::monitor).
///
/// A version-1 monitor message is two frames: six bytes (the event number
/// as a native-endian `u16`, then a `u32` value such as a descriptor or an
/// errno) and the endpoint. The discriminants are the `ZMQ_EVENT_*`
/// numbers, so `SocketEvent::ALL as i32` is the mask that asks for all of
/// them.
///
/// ```
/// use zmqrs::SocketEvent;
/// assert_eq!(SocketEvent::from_raw(0x0001), SocketEvent::CONNECTED);
/// assert_eq!(SocketEvent::HANDSHAKE_SUCCEEDED.to_raw(), 0x1000);
/// assert_eq!(SocketEvent::ALL as i32, 0xFFFF);
/// ```
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SocketEvent {
    /// A connection to a remote peer was established.
    CONNECTED = ZMQ_EVENT_CONNECTED as isize,
    /// A connect could not complete at once and goes on in the background.
    CONNECT_DELAYED = ZMQ_EVENT_CONNECT_DELAYED as isize,
    /// A reconnect was scheduled; the value is the interval in milliseconds.
    CONNECT_RETRIED = ZMQ_EVENT_CONNECT_RETRIED as isize,
    /// The socket is listening on an endpoint.
    LISTENING = ZMQ_EVENT_LISTENING as isize,
    /// A bind failed; the value is the errno.
    BIND_FAILED = ZMQ_EVENT_BIND_FAILED as isize,
    /// A connection from a peer was accepted.
    ACCEPTED = ZMQ_EVENT_ACCEPTED as isize,
    /// Accepting a connection failed; the value is the errno.
    ACCEPT_FAILED = ZMQ_EVENT_ACCEPT_FAILED as isize,
    /// A listening or connected descriptor was closed.
    CLOSED = ZMQ_EVENT_CLOSED as isize,
    /// Closing a descriptor failed.
    CLOSE_FAILED = ZMQ_EVENT_CLOSE_FAILED as isize,
    /// A session with a peer ended.
    DISCONNECTED = ZMQ_EVENT_DISCONNECTED as isize,
    /// Monitoring stopped; the last event a monitor sends.
    MONITOR_STOPPED = ZMQ_EVENT_MONITOR_STOPPED as isize,
    /// A handshake failed without a more precise reason.
    HANDSHAKE_FAILED_NO_DETAIL = ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL as isize,
    /// The ZMTP and security handshake succeeded.
    HANDSHAKE_SUCCEEDED = ZMQ_EVENT_HANDSHAKE_SUCCEEDED as isize,
    /// A handshake failed on a protocol error; the value says which.
    HANDSHAKE_FAILED_PROTOCOL = ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL as isize,
    /// A handshake failed because authentication was refused.
    HANDSHAKE_FAILED_AUTH = ZMQ_EVENT_HANDSHAKE_FAILED_AUTH as isize,
    /// Every event (a mask for `monitor`, never an event itself).
    ALL = ZMQ_EVENT_ALL as isize,
}

impl SocketEvent {
    /// The `ZMQ_EVENT_*` number.
    pub fn to_raw(self) -> u16 {
        self as u16
    }

    /// The event for a `ZMQ_EVENT_*` number, `None` if it is not one.
    pub fn try_from_raw(raw: u16) -> Option<SocketEvent> {
        use SocketEvent::*;
        const EVENTS: [SocketEvent; 16] = [
            CONNECTED,
            CONNECT_DELAYED,
            CONNECT_RETRIED,
            LISTENING,
            BIND_FAILED,
            ACCEPTED,
            ACCEPT_FAILED,
            CLOSED,
            CLOSE_FAILED,
            DISCONNECTED,
            MONITOR_STOPPED,
            HANDSHAKE_FAILED_NO_DETAIL,
            HANDSHAKE_SUCCEEDED,
            HANDSHAKE_FAILED_PROTOCOL,
            HANDSHAKE_FAILED_AUTH,
            ALL,
        ];
        EVENTS.into_iter().find(|e| e.to_raw() == raw)
    }

    /// The event for a `ZMQ_EVENT_*` number. A number that is no single
    /// event (only a corrupt monitor message has one) gives
    /// [`SocketEvent::ALL`] where the `zmq` crate panics; use
    /// [`SocketEvent::try_from_raw`] to tell.
    pub fn from_raw(raw: u16) -> SocketEvent {
        SocketEvent::try_from_raw(raw).unwrap_or(SocketEvent::ALL)
    }
}

/// The security mechanism of a socket ([`Socket::get_mechanism`](crate::Socket::get_mechanism)).
/// The discriminants are libzmq's `ZMQ_NULL` ... `ZMQ_GSSAPI`.
#[allow(non_camel_case_types)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// No security (RFC 23).
    ZMQ_NULL = ZMQ_NULL as isize,
    /// Clear-text user name and password (RFC 24).
    ZMQ_PLAIN = ZMQ_PLAIN as isize,
    /// CurveZMQ encryption and authentication (RFC 26).
    ZMQ_CURVE = ZMQ_CURVE as isize,
    /// Kerberos (RFC 38); never set here, as this library has no GSSAPI.
    ZMQ_GSSAPI = ZMQ_GSSAPI as isize,
}

impl Mechanism {
    /// The mechanism for its `ZMQ_*` number.
    pub fn from_raw(raw: i32) -> Option<Mechanism> {
        match raw {
            ZMQ_NULL => Some(Mechanism::ZMQ_NULL),
            ZMQ_PLAIN => Some(Mechanism::ZMQ_PLAIN),
            ZMQ_CURVE => Some(Mechanism::ZMQ_CURVE),
            ZMQ_GSSAPI => Some(Mechanism::ZMQ_GSSAPI),
            _ => None,
        }
    }

    /// The `ZMQ_*` number of the mechanism.
    pub fn to_raw(self) -> i32 {
        self as i32
    }
}

/// Send/receive flag: fail with EAGAIN instead of blocking (`ZMQ_DONTWAIT`).
pub const DONTWAIT: i32 = ZMQ_DONTWAIT;
/// Send flag: more frames of this message follow (`ZMQ_SNDMORE`).
pub const SNDMORE: i32 = ZMQ_SNDMORE;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_types_round_trip() {
        for raw in -1..=25 {
            if let Some(t) = SocketType::from_raw(raw) {
                assert_eq!(t.to_raw(), raw);
                assert_eq!(t.is_draft(), raw >= ZMQ_SERVER);
            } else {
                assert!(!(0..=20).contains(&raw));
            }
        }
    }

    #[test]
    fn events_round_trip() {
        for bit in 0..15 {
            let raw = 1u16 << bit;
            assert_eq!(SocketEvent::from_raw(raw).to_raw(), raw);
        }
        assert_eq!(SocketEvent::try_from_raw(0x8000), None);
        assert_eq!(SocketEvent::from_raw(0x0003), SocketEvent::ALL);
        assert_eq!(SocketEvent::from_raw(0xFFFF), SocketEvent::ALL);
    }

    #[test]
    fn mechanisms() {
        for m in [
            Mechanism::ZMQ_NULL,
            Mechanism::ZMQ_PLAIN,
            Mechanism::ZMQ_CURVE,
            Mechanism::ZMQ_GSSAPI,
        ] {
            assert_eq!(Mechanism::from_raw(m.to_raw()), Some(m));
        }
        assert_eq!(Mechanism::from_raw(4), None);
    }
}
