//! The PLAIN mechanism (RFC 24): the client sends HELLO with a user name
//! and password, the server asks its ZAP handler and answers WELCOME (or
//! ERROR), the client sends INITIATE with its metadata and the server
//! answers READY with its own. No confidentiality: for trusted networks.
//! libzmq src/plain_client.cpp and src/plain_server.cpp settle the details:
//! a server without a ZAP handler refuses every client.

use super::null::{accept_properties, parse_error_command, ready_command};
use super::{zap, Config, Failure, Mechanism, PeerState, Status};
use crate::constants::*;
use crate::msg::{flags, Message};

const HELLO: &[u8] = b"\x05HELLO";
const WELCOME: &[u8] = b"\x07WELCOME";
const INITIATE: &[u8] = b"\x08INITIATE";
const READY: &[u8] = b"\x05READY";
const ERROR: &[u8] = b"\x05ERROR";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    // Client.
    SendingHello,
    WaitingForWelcome,
    SendingInitiate,
    WaitingForReady,
    ErrorReceived,
    // Server.
    WaitingForHello,
    WaitingForZapReply,
    SendingWelcome,
    WaitingForInitiate,
    SendingReady,
    SendingError,
    ErrorSent,
    // Both.
    Ready,
}

/// PLAIN, client or server side.
pub struct Plain {
    cfg: Config,
    state: State,
    /// What the handshake learned of the peer, and the ZAP exchange.
    peer: PeerState,
}

impl Plain {
    /// A fresh handshake; `cfg.as_server` picks the side.
    pub fn new(cfg: Config) -> Plain {
        let state = if cfg.as_server {
            State::WaitingForHello
        } else {
            State::SendingHello
        };
        Plain {
            cfg,
            state,
            peer: PeerState::default(),
        }
    }

    fn hello(&self) -> Message {
        let user = &self.cfg.plain_username[..self.cfg.plain_username.len().min(255)];
        let pass = &self.cfg.plain_password[..self.cfg.plain_password.len().min(255)];
        let mut b = Vec::with_capacity(HELLO.len() + 2 + user.len() + pass.len());
        b.extend_from_slice(HELLO);
        b.push(user.len() as u8);
        b.extend_from_slice(user);
        b.push(pass.len() as u8);
        b.extend_from_slice(pass);
        command(b)
    }

    fn process_hello(&mut self, data: &[u8]) -> Result<(), Failure> {
        let malformed = Failure::Protocol(ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO);
        let rest = &data[HELLO.len()..];
        let (&ulen, rest) = rest.split_first().ok_or(malformed)?;
        let user = rest.get(..ulen as usize).ok_or(malformed)?;
        let rest = &rest[ulen as usize..];
        let (&plen, pass) = rest.split_first().ok_or(malformed)?;
        if pass.len() != plen as usize {
            return Err(malformed);
        }
        if !self.cfg.zap_handler {
            return Err(Failure::NoDetail(libc::EFAULT));
        }
        self.peer.zap_request = Some(zap::request(&self.cfg, b"PLAIN", &[user, pass]));
        self.state = State::WaitingForZapReply;
        Ok(())
    }
}

fn command(body: Vec<u8>) -> Message {
    let mut m = Message::from_vec(body);
    m.set_flags(flags::COMMAND);
    m
}

fn unexpected() -> Failure {
    Failure::Protocol(ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND)
}

impl Mechanism for Plain {
    fn next_handshake_command(&mut self) -> Result<Option<Message>, Failure> {
        let (msg, next) = match self.state {
            State::SendingHello => (self.hello(), State::WaitingForWelcome),
            State::SendingInitiate => (
                ready_command(
                    INITIATE,
                    self.cfg.socket_type,
                    &self.cfg.routing_id,
                    &self.cfg.app_metadata,
                ),
                State::WaitingForReady,
            ),
            State::SendingWelcome => (command(WELCOME.to_vec()), State::WaitingForInitiate),
            State::SendingReady => (
                ready_command(
                    READY,
                    self.cfg.socket_type,
                    &self.cfg.routing_id,
                    &self.cfg.app_metadata,
                ),
                State::Ready,
            ),
            State::SendingError => {
                self.state = State::ErrorSent;
                let status = self.peer.zap.as_ref().map_or(*b"500", |r| r.status);
                return Ok(zap::error_command(&status));
            }
            _ => return Ok(None),
        };
        self.state = next;
        Ok(Some(msg))
    }

    fn process_handshake_command(&mut self, msg: Message) -> Result<(), Failure> {
        let data = msg.as_slice();
        if self.cfg.as_server {
            return match self.state {
                State::WaitingForHello => {
                    if data.len() <= 1 || data.len() <= data[0] as usize {
                        return Err(Failure::Protocol(
                            ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED,
                        ));
                    }
                    if !data.starts_with(HELLO) {
                        return Err(unexpected());
                    }
                    self.process_hello(data)
                }
                State::WaitingForInitiate => {
                    if !data.starts_with(INITIATE) {
                        return Err(unexpected());
                    }
                    accept_properties(
                        &data[INITIATE.len()..],
                        self.cfg.socket_type,
                        self.cfg.recv_routing_id,
                        &mut self.peer.peer_id,
                        &mut self.peer.props,
                    )?;
                    self.state = State::SendingReady;
                    Ok(())
                }
                _ => Err(Failure::Protocol(ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED)),
            };
        }
        if data.starts_with(WELCOME) {
            if self.state != State::WaitingForWelcome {
                return Err(unexpected());
            }
            if data.len() != WELCOME.len() {
                return Err(Failure::Protocol(
                    ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME,
                ));
            }
            self.state = State::SendingInitiate;
            Ok(())
        } else if data.starts_with(READY) {
            if self.state != State::WaitingForReady {
                return Err(unexpected());
            }
            accept_properties(
                &data[READY.len()..],
                self.cfg.socket_type,
                self.cfg.recv_routing_id,
                &mut self.peer.peer_id,
                &mut self.peer.props,
            )
            .map_err(|f| match f {
                Failure::Protocol(_) => Failure::Protocol(ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA),
                other => other,
            })?;
            self.state = State::Ready;
            Ok(())
        } else if data.starts_with(ERROR) {
            if !matches!(
                self.state,
                State::WaitingForWelcome | State::WaitingForReady
            ) {
                return Err(unexpected());
            }
            self.peer.failure = Some(parse_error_command(data)?);
            self.state = State::ErrorReceived;
            Ok(())
        } else {
            Err(unexpected())
        }
    }

    fn peer(&self) -> &PeerState {
        &self.peer
    }

    fn peer_mut(&mut self) -> &mut PeerState {
        &mut self.peer
    }

    fn status(&self) -> Status {
        match self.state {
            State::Ready => Status::Ready,
            State::ErrorReceived | State::ErrorSent => Status::Error,
            _ => Status::Handshaking,
        }
    }

    fn zap_reply(&mut self, reply: zap::Reply) -> Result<(), Failure> {
        if self.state != State::WaitingForZapReply {
            return Err(Failure::Protocol(ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED));
        }
        self.state = match reply.status[0] {
            b'2' => State::SendingWelcome,
            b'3' => State::ErrorSent,
            _ => State::SendingError,
        };
        self.peer.record_zap_reply(reply);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::properties;

    fn client() -> Plain {
        Plain::new(Config {
            socket_type: ZMQ_DEALER,
            routing_id: b"C".to_vec(),
            recv_routing_id: true,
            plain_username: b"admin".to_vec(),
            plain_password: b"secret".to_vec(),
            ..Config::default()
        })
    }

    fn server(handler: bool) -> Plain {
        Plain::new(Config {
            socket_type: ZMQ_ROUTER,
            recv_routing_id: true,
            as_server: true,
            zap_handler: handler,
            zap_domain: b"global".to_vec(),
            peer_address: "127.0.0.1".into(),
            ..Config::default()
        })
    }

    fn reply(status: &[u8], user: &[u8]) -> zap::Reply {
        let mut md = Vec::new();
        properties::encode(&mut md, "Hello", b"World");
        zap::Reply {
            status: status.try_into().unwrap(),
            user_id: user.to_vec(),
            metadata: properties::parse(&md).unwrap(),
        }
    }

    /// Moves every pending command from `a` to `b`.
    fn pass(a: &mut Plain, b: &mut Plain) -> Result<usize, Failure> {
        let mut n = 0;
        while let Some(cmd) = a.next_handshake_command()? {
            b.process_handshake_command(cmd)?;
            n += 1;
        }
        Ok(n)
    }

    #[test]
    fn accepted_by_zap() {
        let (mut c, mut s) = (client(), server(true));
        assert_eq!(pass(&mut c, &mut s), Ok(1));
        let req = s.take_zap_request().unwrap();
        let bodies: Vec<&[u8]> = req.iter().map(|m| m.as_slice()).collect();
        assert_eq!(&bodies[6..], &[&b"PLAIN"[..], b"admin", b"secret"]);
        assert_eq!(pass(&mut s, &mut c), Ok(0));
        s.zap_reply(reply(b"200", b"admin")).unwrap();
        assert_eq!(pass(&mut s, &mut c), Ok(1)); // WELCOME
        assert_eq!(pass(&mut c, &mut s), Ok(1)); // INITIATE
        assert_eq!(pass(&mut s, &mut c), Ok(1)); // READY
        assert_eq!(c.status(), Status::Ready);
        assert_eq!(s.status(), Status::Ready);
        assert_eq!(s.peer_routing_id(), b"C");
        assert_eq!(s.user_id(), b"admin");
        assert!(s
            .zap_properties()
            .iter()
            .any(|(k, v)| k == "Hello" && v == b"World"));
    }

    #[test]
    fn refused_by_zap() {
        let (mut c, mut s) = (client(), server(true));
        pass(&mut c, &mut s).unwrap();
        s.take_zap_request().unwrap();
        s.zap_reply(reply(b"400", b"")).unwrap();
        assert_eq!(s.take_failure_event(), Some(Failure::Auth(400)));
        assert_eq!(pass(&mut s, &mut c), Ok(1)); // ERROR 400
        assert_eq!(s.status(), Status::Error);
        assert_eq!(c.status(), Status::Error);
        assert_eq!(c.take_failure_event(), Some(Failure::Auth(400)));
        // 300: no ERROR command, the server just closes.
        let (mut c, mut s) = (client(), server(true));
        pass(&mut c, &mut s).unwrap();
        s.zap_reply(reply(b"300", b"")).unwrap();
        assert_eq!(pass(&mut s, &mut c), Ok(0));
        assert_eq!(s.status(), Status::Error);
    }

    #[test]
    fn no_handler_refuses() {
        let (mut c, mut s) = (client(), server(false));
        assert_eq!(pass(&mut c, &mut s), Err(Failure::NoDetail(libc::EFAULT)));
    }

    #[test]
    fn malformed_commands() {
        let code = |body: &[u8]| {
            let mut s = server(true);
            match s.process_handshake_command(Message::from_slice(body)) {
                Err(Failure::Protocol(c)) => c,
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(
            code(b"\x05HELLO\x05adm"),
            ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO
        );
        assert_eq!(
            code(b"\x05HELLO\x01a\x02b"),
            ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO
        );
        assert_eq!(
            code(b"\x05HELLX\x00\x00"),
            ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND
        );
        assert_eq!(
            code(b"\x09"),
            ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED
        );
        let mut c = client();
        c.next_handshake_command().unwrap();
        assert_eq!(
            c.process_handshake_command(Message::from_slice(b"\x07WELCOMEx")),
            Err(Failure::Protocol(
                ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME
            ))
        );
        assert_eq!(
            c.process_handshake_command(Message::from_slice(b"\x05READY")),
            Err(Failure::Protocol(
                ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND
            ))
        );
    }
}
