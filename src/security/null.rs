//! The NULL mechanism (RFC 37): each side sends READY with its metadata
//! (Socket-Type, Identity for REQ/DEALER/ROUTER, application `X-` keys);
//! the handshake is done when both READYs have crossed. An ERROR command
//! ends it. With a ZAP domain and a handler bound, the server asks the
//! handler first (libzmq src/null_mechanism.cpp) and answers a refusal with
//! ERROR instead of READY.

use super::{zap, Config, Failure, Mechanism, PeerState, Status};
use crate::constants::*;
use crate::msg::{flags, Message};
use crate::security::properties::{self, Property};

/// The NULL mechanism's state.
pub struct Null {
    cfg: Config,
    ready_sent: bool,
    error_sent: bool,
    ready_received: bool,
    error_received: bool,
    /// What the handshake learned of the peer, and the ZAP exchange.
    peer: PeerState,
    zap_requested: bool,
}

impl Null {
    /// A fresh handshake.
    pub fn new(cfg: Config) -> Null {
        Null {
            cfg,
            ready_sent: false,
            error_sent: false,
            ready_received: false,
            error_received: false,
            peer: PeerState::default(),
            zap_requested: false,
        }
    }
}

/// The READY command body for a socket (also used by other mechanisms).
pub fn ready_command(
    name: &[u8],
    socket_type: i32,
    routing_id: &[u8],
    app: &[(String, String)],
) -> Message {
    let mut b = Vec::with_capacity(64);
    b.extend_from_slice(name);
    properties::encode(
        &mut b,
        "Socket-Type",
        properties::socket_type_name(socket_type).as_bytes(),
    );
    if matches!(socket_type, ZMQ_REQ | ZMQ_DEALER | ZMQ_ROUTER) {
        properties::encode(&mut b, "Identity", routing_id);
    }
    for (k, v) in app {
        properties::encode(&mut b, k, v.as_bytes());
    }
    let mut m = Message::from_vec(b);
    m.set_flags(flags::COMMAND);
    m
}

/// Parses a property list, applying the rules every mechanism shares: the
/// peer's Socket-Type must be compatible, Identity becomes its routing id.
pub fn accept_properties(
    data: &[u8],
    socket_type: i32,
    recv_routing_id: bool,
    peer_id: &mut Vec<u8>,
    props: &mut Vec<Property>,
) -> Result<(), Failure> {
    let parsed = properties::parse(data).ok_or(Failure::Protocol(
        ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY,
    ))?;
    for (name, value) in parsed {
        if name == "Identity" && recv_routing_id {
            *peer_id = value.clone();
        } else if name == "Socket-Type" && !properties::compatible(socket_type, &value) {
            return Err(Failure::Other);
        }
        props.push((name, value));
    }
    Ok(())
}

/// What an ERROR command's reason means for the monitor.
pub fn error_reason_failure(reason: &[u8]) -> Failure {
    if reason.len() == 3
        && reason[1] == b'0'
        && reason[2] == b'0'
        && (b'3'..=b'5').contains(&reason[0])
    {
        Failure::Auth(i32::from(reason[0] - b'0') * 100)
    } else {
        Failure::Other
    }
}

impl Mechanism for Null {
    fn next_handshake_command(&mut self) -> Result<Option<Message>, Failure> {
        if self.ready_sent || self.error_sent {
            return Ok(None);
        }
        // ZAP only with a domain (libzmq's zap_required), and only when a
        // handler is bound, unless ZMQ_ZAP_ENFORCE_DOMAIN demands one.
        if !self.cfg.zap_domain.is_empty() && self.peer.zap.is_none() {
            if self.zap_requested {
                return Ok(None);
            }
            if self.cfg.zap_handler {
                self.zap_requested = true;
                self.peer.zap_request = Some(zap::request(&self.cfg, b"NULL", &[]));
                return Ok(None);
            }
            if self.cfg.zap_enforce_domain {
                return Err(Failure::NoDetail(libc::EFAULT));
            }
        }
        if let Some(reply) = self.peer.zap.as_ref().filter(|r| !r.ok()) {
            self.error_sent = true;
            return Ok(zap::error_command(&reply.status));
        }
        self.ready_sent = true;
        Ok(Some(ready_command(
            b"\x05READY",
            self.cfg.socket_type,
            &self.cfg.routing_id,
            &self.cfg.app_metadata,
        )))
    }

    fn process_handshake_command(&mut self, msg: Message) -> Result<(), Failure> {
        if self.ready_received || self.error_received {
            return Err(Failure::Protocol(
                ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND,
            ));
        }
        let data = msg.as_slice();
        if data.starts_with(b"\x05READY") {
            self.ready_received = true;
            accept_properties(
                &data[6..],
                self.cfg.socket_type,
                self.cfg.recv_routing_id,
                &mut self.peer.peer_id,
                &mut self.peer.props,
            )
        } else if data.starts_with(b"\x05ERROR") {
            self.peer.failure = Some(parse_error_command(data)?);
            self.error_received = true;
            Ok(())
        } else {
            Err(Failure::Protocol(
                ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND,
            ))
        }
    }

    fn peer(&self) -> &PeerState {
        &self.peer
    }

    fn peer_mut(&mut self) -> &mut PeerState {
        &mut self.peer
    }

    fn status(&self) -> Status {
        if self.ready_sent && self.ready_received {
            Status::Ready
        } else if (self.ready_sent || self.error_sent)
            && (self.ready_received || self.error_received)
        {
            Status::Error
        } else {
            Status::Handshaking
        }
    }

    fn zap_reply(&mut self, reply: zap::Reply) -> Result<(), Failure> {
        if !self.zap_requested || self.peer.zap.is_some() {
            return Err(Failure::Protocol(ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED));
        }
        self.peer.record_zap_reply(reply);
        Ok(())
    }
}

/// Parses an ERROR command (`\x05ERROR`, reason length, reason) into the
/// monitor event its reason implies.
pub fn parse_error_command(data: &[u8]) -> Result<Failure, Failure> {
    if data.len() < 7 || (data[6] as usize) > data.len() - 7 {
        return Err(Failure::Protocol(
            ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR,
        ));
    }
    Ok(error_reason_failure(&data[7..7 + data[6] as usize]))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(t: i32, id: &[u8]) -> Config {
        Config {
            socket_type: t,
            routing_id: id.to_vec(),
            recv_routing_id: true,
            ..Config::default()
        }
    }

    #[test]
    fn two_nulls_meet() {
        let mut a = Null::new(cfg(ZMQ_DEALER, b"A"));
        let mut b = Null::new(cfg(ZMQ_ROUTER, b""));
        let ra = a.next_handshake_command().unwrap().unwrap();
        let rb = b.next_handshake_command().unwrap().unwrap();
        assert!(a.next_handshake_command().unwrap().is_none());
        b.process_handshake_command(ra).unwrap();
        a.process_handshake_command(rb).unwrap();
        assert_eq!(a.status(), Status::Ready);
        assert_eq!(b.status(), Status::Ready);
        assert_eq!(b.peer_routing_id(), b"A");
    }

    #[test]
    fn incompatible_type_fails() {
        let mut a = Null::new(cfg(ZMQ_PUSH, b""));
        let mut b = Null::new(cfg(ZMQ_PUSH, b""));
        let rb = b.next_handshake_command().unwrap().unwrap();
        a.next_handshake_command().unwrap();
        assert!(a.process_handshake_command(rb).is_err());
    }

    #[test]
    fn error_command() {
        let mut a = Null::new(cfg(ZMQ_REQ, b""));
        a.next_handshake_command().unwrap();
        a.process_handshake_command(Message::from_slice(b"\x05ERROR\x03400"))
            .unwrap();
        assert_eq!(a.status(), Status::Error);
        assert_eq!(a.take_failure_event(), Some(Failure::Auth(400)));
        let mut b = Null::new(cfg(ZMQ_REQ, b""));
        assert!(b
            .process_handshake_command(Message::from_slice(b"\x05ERROR\x09x"))
            .is_err());
        assert!(b
            .process_handshake_command(Message::from_slice(b"\x05HELLO"))
            .is_err());
    }
}
