//! ZAP (RFC 27) messages: the request a server-side mechanism sends to the
//! handler bound at `inproc://zeromq.zap.01`, and the checks libzmq applies
//! to the reply before trusting it.

use super::{Config, Failure};
use crate::constants::*;
use crate::msg::{flags, Message};
use crate::security::properties::{self, Property};

/// The ZAP endpoint every handler binds.
pub const ENDPOINT: &str = "inproc://zeromq.zap.01";

const VERSION: &[u8] = b"1.0";
/// libzmq sends one request per connection, always with id "1".
const REQUEST_ID: &[u8] = b"1";
const REPLY_FRAMES: usize = 7;

/// A checked ZAP reply.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reply {
    /// "200", "300", "400" or "500".
    pub status: [u8; 3],
    /// The user id (becomes the User-Id property).
    pub user_id: Vec<u8>,
    /// The metadata frame's properties.
    pub metadata: Vec<Property>,
}

impl Reply {
    /// Whether the handler accepted the peer.
    pub fn ok(&self) -> bool {
        self.status[0] == b'2'
    }

    /// The monitor event for a refusal (libzmq raises it for 3xx-5xx).
    pub fn failure(&self) -> Option<Failure> {
        match self.status[0] {
            b'2' => None,
            d => Some(Failure::Auth(i32::from(d - b'0') * 100)),
        }
    }

    /// The properties the connection's metadata gets from ZAP: User-Id
    /// first, then the handler's metadata.
    pub fn properties(&self) -> Vec<Property> {
        let mut props = vec![("User-Id".to_string(), self.user_id.clone())];
        props.extend(self.metadata.iter().cloned());
        props
    }
}

/// The whole request: delimiter, version, id, domain, address, our routing
/// id, mechanism and its credential frames.
pub fn request(cfg: &Config, mechanism: &[u8], credentials: &[&[u8]]) -> Vec<Message> {
    let mut parts: Vec<&[u8]> = vec![
        b"",
        VERSION,
        REQUEST_ID,
        &cfg.zap_domain,
        cfg.peer_address.as_bytes(),
        &cfg.routing_id,
        mechanism,
    ];
    parts.extend_from_slice(credentials);
    let n = parts.len();
    parts
        .into_iter()
        .enumerate()
        .map(|(i, p)| {
            let mut m = Message::from_slice(p);
            if i + 1 < n {
                m.set_flags(flags::MORE);
            }
            m
        })
        .collect()
}

/// Checks a reply as libzmq does; each defect has its protocol error code.
pub fn parse_reply(frames: &[Message]) -> Result<Reply, Failure> {
    let malformed = Failure::Protocol(ZMQ_PROTOCOL_ERROR_ZAP_MALFORMED_REPLY);
    if frames.len() != REPLY_FRAMES {
        return Err(malformed);
    }
    for (i, f) in frames.iter().enumerate() {
        if f.more() != (i + 1 < REPLY_FRAMES) {
            return Err(malformed);
        }
    }
    if !frames[0].is_empty() {
        return Err(Failure::Protocol(ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED));
    }
    if frames[1].as_slice() != VERSION {
        return Err(Failure::Protocol(ZMQ_PROTOCOL_ERROR_ZAP_BAD_VERSION));
    }
    if frames[2].as_slice() != REQUEST_ID {
        return Err(Failure::Protocol(ZMQ_PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID));
    }
    let status: [u8; 3] = match frames[3].as_slice() {
        s @ [b'2'..=b'5', b'0', b'0'] => [s[0], s[1], s[2]],
        _ => {
            return Err(Failure::Protocol(
                ZMQ_PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE,
            ))
        }
    };
    let metadata = properties::parse(frames[6].as_slice())
        .ok_or(Failure::Protocol(ZMQ_PROTOCOL_ERROR_ZAP_INVALID_METADATA))?;
    Ok(Reply {
        status,
        user_id: frames[5].as_slice().to_vec(),
        metadata,
    })
}

/// The ERROR command a server sends after a refusal (none for 300, which
/// libzmq treats as a temporary failure and answers by closing).
pub fn error_command(status: &[u8; 3]) -> Option<Message> {
    if status == b"300" {
        return None;
    }
    let mut b = Vec::with_capacity(10);
    b.extend_from_slice(b"\x05ERROR\x03");
    b.extend_from_slice(status);
    let mut m = Message::from_vec(b);
    m.set_flags(flags::COMMAND);
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(parts: &[&[u8]]) -> Vec<Message> {
        let n = parts.len();
        parts
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut m = Message::from_slice(p);
                if i + 1 < n {
                    m.set_flags(flags::MORE);
                }
                m
            })
            .collect()
    }

    #[test]
    fn request_frames() {
        let cfg = Config {
            zap_domain: b"dom".to_vec(),
            peer_address: "127.0.0.1".into(),
            routing_id: b"me".to_vec(),
            ..Config::default()
        };
        let r = request(&cfg, b"PLAIN", &[b"user", b"pw"]);
        let bodies: Vec<&[u8]> = r.iter().map(|m| m.as_slice()).collect();
        assert_eq!(
            bodies,
            vec![
                &b""[..],
                b"1.0",
                b"1",
                b"dom",
                b"127.0.0.1",
                b"me",
                b"PLAIN",
                b"user",
                b"pw"
            ]
        );
        assert!(r[..8].iter().all(|m| m.more()));
        assert!(!r[8].more());
    }

    #[test]
    fn replies_are_checked() {
        let ok = parse_reply(&reply(&[b"", b"1.0", b"1", b"200", b"OK", b"joe", b""])).unwrap();
        assert!(ok.ok());
        assert_eq!(ok.user_id, b"joe");
        let md = {
            let mut v = Vec::new();
            properties::encode(&mut v, "Hello", b"World");
            v
        };
        let r = parse_reply(&reply(&[b"", b"1.0", b"1", b"400", b"no", b"", &md])).unwrap();
        assert_eq!(r.failure(), Some(Failure::Auth(400)));
        assert_eq!(r.metadata, vec![("Hello".to_string(), b"World".to_vec())]);
        let code = |parts: &[&[u8]]| match parse_reply(&reply(parts)) {
            Err(Failure::Protocol(c)) => c,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            code(&[b"", b"1.0", b"1", b"200", b"OK", b""]),
            ZMQ_PROTOCOL_ERROR_ZAP_MALFORMED_REPLY
        );
        assert_eq!(
            code(&[b"x", b"1.0", b"1", b"200", b"OK", b"", b""]),
            ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED
        );
        assert_eq!(
            code(&[b"", b"2.0", b"1", b"200", b"OK", b"", b""]),
            ZMQ_PROTOCOL_ERROR_ZAP_BAD_VERSION
        );
        assert_eq!(
            code(&[b"", b"1.0", b"7", b"200", b"OK", b"", b""]),
            ZMQ_PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID
        );
        assert_eq!(
            code(&[b"", b"1.0", b"1", b"201", b"OK", b"", b""]),
            ZMQ_PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE
        );
        assert_eq!(
            code(&[b"", b"1.0", b"1", b"200", b"OK", b"", b"\x05abc"]),
            ZMQ_PROTOCOL_ERROR_ZAP_INVALID_METADATA
        );
        assert_eq!(error_command(b"300"), None);
        assert_eq!(
            error_command(b"400").unwrap().as_slice(),
            b"\x05ERROR\x03400"
        );
    }
}
