//! ws:// and wss:// endpoint addresses (libzmq src/ws_address.cpp): the
//! part after `ws://` is `host:port[/path]`, where `host:port` follows the
//! tcp rules ([`crate::transport::tcp::resolve`]: `*`, interface names and
//! `*`/`0` ports for bind, names through DNS for connect, `[v6]` with
//! brackets) and the path, "/" when absent, is what the client asks for in
//! its GET. The listener serves any path (libzmq does not check it).
//!
//! One deliberate difference: libzmq cuts the path at its *last* '/'
//! (`ws://h:1/a/b` asks for `/b`, and its ZMQ_LAST_ENDPOINT says `/b`);
//! we keep the whole path (`/a/b`). Single-segment paths, the only ones
//! libzmq's tests use, come out the same.

use std::net::SocketAddr;

use crate::error::{Error, Result};

/// A parsed ws/wss endpoint, before resolution.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct WsEndpoint {
    /// `wss://` rather than `ws://`.
    pub secure: bool,
    /// `host:port`, as written: hand it to the tcp resolver.
    pub authority: String,
    /// The host as written (brackets kept for IPv6): the `Host` header,
    /// which libzmq sends without the port.
    pub host: String,
    /// The path, starting with '/'.
    pub path: String,
}

impl WsEndpoint {
    /// Parses the address part of `ws://...` (`secure` false) or
    /// `wss://...`. EINVAL for a missing port separator, an empty host or a
    /// path with bytes that cannot go in a request line.
    pub fn parse(address: &str, secure: bool) -> Result<WsEndpoint> {
        let (authority, path) = match address.find('/') {
            Some(p) => (&address[..p], &address[p..]),
            None => (address, "/"),
        };
        let colon = authority.rfind(':').ok_or(Error::EINVAL)?;
        let host = &authority[..colon];
        if host.is_empty() || authority[colon + 1..].is_empty() {
            return Err(Error::EINVAL);
        }
        // The path goes verbatim into "GET <path> HTTP/1.1".
        if path.bytes().any(|c| c <= b' ' || c == 0x7F) {
            return Err(Error::EINVAL);
        }
        Ok(WsEndpoint {
            secure,
            authority: authority.to_string(),
            host: host.to_string(),
            path: path.to_string(),
        })
    }

    /// The scheme, `ws` or `wss`.
    pub fn scheme(&self) -> &'static str {
        if self.secure {
            "wss"
        } else {
            "ws"
        }
    }

    /// ZMQ_LAST_ENDPOINT for a listener bound at `local`:
    /// `ws://127.0.0.1:5555/path`, `ws://[::1]:5555/`, `wss://0.0.0.0:1/x`.
    pub fn bound_uri(&self, local: &SocketAddr) -> String {
        uri(self.secure, local, &self.path)
    }
}

/// `ws[s]://<numeric host>:<port><path>`, IPv6 in brackets, as libzmq
/// prints its ws addresses (getnameinfo with NI_NUMERICHOST).
pub fn uri(secure: bool, addr: &SocketAddr, path: &str) -> String {
    let scheme = if secure { "wss" } else { "ws" };
    match addr {
        SocketAddr::V4(a) => format!("{scheme}://{}:{}{path}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("{scheme}://[{}]:{}{path}", a.ip(), a.port()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_forms() {
        let e = WsEndpoint::parse("127.0.0.1:5555/roundtrip", false).unwrap();
        assert_eq!(e.authority, "127.0.0.1:5555");
        assert_eq!(e.host, "127.0.0.1");
        assert_eq!(e.path, "/roundtrip");
        let e = WsEndpoint::parse("*:*", false).unwrap();
        assert_eq!(
            (e.authority.as_str(), e.host.as_str(), e.path.as_str()),
            ("*:*", "*", "/")
        );
        let e = WsEndpoint::parse("[::1]:80/", true).unwrap();
        assert_eq!((e.host.as_str(), e.path.as_str()), ("[::1]", "/"));
        assert_eq!(e.scheme(), "wss");
        // What test_wss_transport connects to: LAST_ENDPOINT + "/roundtrip".
        let e = WsEndpoint::parse("0.0.0.0:4242/roundtrip/roundtrip", true).unwrap();
        assert_eq!(e.authority, "0.0.0.0:4242");
        assert_eq!(e.path, "/roundtrip/roundtrip");
        let e = WsEndpoint::parse("localhost:1/a?b=c", false).unwrap();
        assert_eq!(e.path, "/a?b=c");
        assert_eq!(WsEndpoint::parse("nocolon", false), Err(Error::EINVAL));
        assert_eq!(WsEndpoint::parse(":5555", false), Err(Error::EINVAL));
        assert_eq!(WsEndpoint::parse("h:/p", false), Err(Error::EINVAL));
        assert_eq!(WsEndpoint::parse("h:1/a b", false), Err(Error::EINVAL));
        assert_eq!(WsEndpoint::parse("h:1/a\r\n", false), Err(Error::EINVAL));
    }

    #[test]
    fn last_endpoint_format() {
        let e = WsEndpoint::parse("*:*/roundtrip", false).unwrap();
        assert_eq!(
            e.bound_uri(&"0.0.0.0:4000".parse().unwrap()),
            "ws://0.0.0.0:4000/roundtrip"
        );
        let e = WsEndpoint::parse("127.0.0.1:*", false).unwrap();
        assert_eq!(
            e.bound_uri(&"127.0.0.1:4001".parse().unwrap()),
            "ws://127.0.0.1:4001/"
        );
        let e = WsEndpoint::parse("[::1]:*/x", true).unwrap();
        assert_eq!(
            e.bound_uri(&"[::1]:4002".parse().unwrap()),
            "wss://[::1]:4002/x"
        );
    }
}
