//! Endpoint addresses: parsing `transport://address` and the per-transport
//! address forms (tcp, ipc, inproc, udp, pgm/epgm).

pub mod ipc;
pub mod norm;
pub mod pgm;
pub mod socks;
pub mod tcp;
/// Accept-filter masks (kept under their old path; they live in util).
pub use crate::util::ip_mask as tcp_address;
pub mod udp;

use crate::error::{Error, Result};

/// The transports this library speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protocol {
    /// In-process: two sockets of one context share a pipe.
    Inproc,
    /// TCP over IPv4 or IPv6.
    Tcp,
    /// Unix-domain stream sockets (filesystem path or abstract `@name`).
    Ipc,
    /// UDP datagrams (RADIO, DISH and DGRAM only).
    Udp,
    /// ZMTP over WebSocket (ZWS 2.0, RFC 45) over tcp.
    Ws,
    /// ZMTP over WebSocket over TLS.
    Wss,
    /// PGM (RFC 3208) over raw IP (PUB, XPUB, SUB, XSUB only).
    Pgm,
    /// PGM encapsulated in UDP.
    Epgm,
    /// NORM (RFC 5740) over UDP, through libnorm (PUB, XPUB, SUB, XSUB only).
    Norm,
}

/// Splits `proto://address`, with libzmq's errors: EINVAL for a malformed
/// URI, EPROTONOSUPPORT for a transport we do not have.
pub fn parse_uri(uri: &str) -> Result<(Protocol, &str)> {
    let pos = uri.find("://").ok_or(Error::EINVAL)?;
    let (proto, rest) = (&uri[..pos], &uri[pos + 3..]);
    if proto.is_empty() || rest.is_empty() {
        return Err(Error::EINVAL);
    }
    let p = match proto {
        "inproc" => Protocol::Inproc,
        "tcp" => Protocol::Tcp,
        "ipc" => Protocol::Ipc,
        "udp" => Protocol::Udp,
        "ws" => Protocol::Ws,
        "wss" => Protocol::Wss,
        "pgm" => Protocol::Pgm,
        "epgm" => Protocol::Epgm,
        "norm" => Protocol::Norm,
        _ => return Err(Error::EPROTONOSUPPORT),
    };
    Ok((p, rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris() {
        assert_eq!(parse_uri("inproc://a").unwrap(), (Protocol::Inproc, "a"));
        assert_eq!(
            parse_uri("tcp://1.2.3.4:5").unwrap(),
            (Protocol::Tcp, "1.2.3.4:5")
        );
        assert_eq!(parse_uri("inproc://"), Err(Error::EINVAL));
        assert_eq!(parse_uri("://x"), Err(Error::EINVAL));
        assert_eq!(parse_uri("inproc:/x"), Err(Error::EINVAL));
        assert_eq!(parse_uri("pgm://x").unwrap(), (Protocol::Pgm, "x"));
        assert_eq!(parse_uri("epgm://x").unwrap(), (Protocol::Epgm, "x"));
        assert_eq!(parse_uri("tipc://x"), Err(Error::EPROTONOSUPPORT));
        assert_eq!(parse_uri("ws://h:1/p").unwrap(), (Protocol::Ws, "h:1/p"));
        assert_eq!(parse_uri("wss://h:1").unwrap(), (Protocol::Wss, "h:1"));
    }
}
