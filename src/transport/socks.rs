//! SOCKS5 client handshake (RFC 1928, with RFC 1929 username/password),
//! sans-I/O, byte-compatible with libzmq 4.3.5's socks connecter.
//!
//! The caller owns the TCP connection to the proxy: it writes
//! [`SocksClient::output`], reports what was written with
//! [`SocksClient::consume_output`], and feeds what it reads with
//! [`SocksClient::feed`]. Once either of those returns `Ok(true)` the tunnel
//! to the target is up and the connection belongs to the ZMTP engine, which
//! must first be given [`SocksClient::take_leftover`].
//!
//! What goes on the wire, as libzmq sends it:
//!
//! * greeting `05 01 m`: exactly one method, `02` (username/password) when
//!   `ZMQ_SOCKS_USERNAME` is non-empty, else `00` (no authentication); the
//!   password alone never turns authentication on;
//! * after the proxy picks `02`: `01 ulen user plen pass` (plen may be 0);
//! * CONNECT `05 01 00 atyp addr port_hi port_lo`, where the target host is
//!   never resolved locally: a numeric IPv4 literal (in any form the C
//!   library's `inet_aton` takes, e.g. `127.1`) goes as ATYP 1, a numeric
//!   IPv6 literal (bracketed or not, an optional `%zone` dropped) as ATYP 4,
//!   anything else as a domain name, ATYP 3, for the proxy to resolve.
//!
//! Replies are checked as libzmq checks them, with each reply read to its
//! exact legal length so that nothing the proxy sends is buffered without
//! bound; bytes after the CONNECT reply are the peer's and are kept.

use crate::util::c_parse::{self, After};
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

use zeroize::Zeroize;

/// SOCKS protocol version, first byte of every RFC 1928 message.
const SOCKS_VERSION: u8 = 0x05;
/// Version byte of the RFC 1929 sub-negotiation.
const USERPASS_VERSION: u8 = 0x01;
/// Method: no authentication required.
pub const METHOD_NO_AUTH: u8 = 0x00;
/// Method: username/password (RFC 1929).
pub const METHOD_USERPASS: u8 = 0x02;
/// The proxy's answer when none of the offered methods is acceptable.
pub const METHOD_NO_ACCEPTABLE: u8 = 0xFF;
/// The only command libzmq issues.
const CMD_CONNECT: u8 = 0x01;
const ATYP_IPV4: u8 = 0x01;
const ATYP_DOMAIN: u8 = 0x03;
const ATYP_IPV6: u8 = 0x04;
/// Highest reply code RFC 1928 defines; libzmq treats a larger one as a
/// malformed reply rather than a refusal.
const MAX_REP: u8 = 0x08;

/// Length of the method selection and of the RFC 1929 status reply.
const SHORT_REPLY_LEN: usize = 2;
/// Largest legal CONNECT reply: header, length byte, 255-byte domain, port.
const MAX_CONNECT_REPLY_LEN: usize = 4 + 1 + 255 + 2;
/// The most a well-behaved proxy can have sent ahead of our next request:
/// the status reply plus the CONNECT reply. More than this before the tunnel
/// exists cannot be SOCKS and is refused rather than stored.
const MAX_EARLY_LEN: usize = SHORT_REPLY_LEN + MAX_CONNECT_REPLY_LEN;

/// Why a SOCKS handshake cannot go on. The connection to the proxy is then
/// useless; libzmq closes it and retries after the reconnect interval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SocksError {
    /// The target endpoint cannot be put into a CONNECT request (no port,
    /// port 0, host name longer than 255 bytes).
    BadTarget(&'static str),
    /// Username or password longer than the 255 bytes RFC 1929 can carry.
    CredentialsTooLong,
    /// The proxy sent something that is not a valid reply at this point.
    Malformed(&'static str),
    /// The proxy accepted none of the offered methods (it answered `0xFF`).
    NoAcceptableMethod,
    /// The proxy picked a method we did not offer.
    MethodNotOffered(u8),
    /// The proxy refused the username/password (RFC 1929 status, non-zero).
    AuthFailed(u8),
    /// The proxy could not connect to the target (RFC 1928 REP, 1..=8).
    ConnectFailed(u8),
    /// The proxy sent more than any remaining reply could hold before the
    /// request it answers had even been written.
    UnexpectedData,
}

impl SocksError {
    fn rep_text(rep: u8) -> &'static str {
        match rep {
            1 => "general SOCKS server failure",
            2 => "connection not allowed by ruleset",
            3 => "network unreachable",
            4 => "host unreachable",
            5 => "connection refused",
            6 => "TTL expired",
            7 => "command not supported",
            8 => "address type not supported",
            _ => "unknown failure",
        }
    }
}

impl fmt::Display for SocksError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SocksError::BadTarget(why) => write!(f, "SOCKS: bad target address: {why}"),
            SocksError::CredentialsTooLong => {
                write!(f, "SOCKS: username or password longer than 255 bytes")
            }
            SocksError::Malformed(why) => write!(f, "SOCKS: malformed proxy reply: {why}"),
            SocksError::NoAcceptableMethod => {
                write!(f, "SOCKS: proxy accepts none of the offered auth methods")
            }
            SocksError::MethodNotOffered(m) => {
                write!(
                    f,
                    "SOCKS: proxy chose auth method {m:#04x}, which was not offered"
                )
            }
            SocksError::AuthFailed(s) => {
                write!(f, "SOCKS: username/password rejected (status {s:#04x})")
            }
            SocksError::ConnectFailed(rep) => write!(
                f,
                "SOCKS: proxy failed to connect: {} (REP {rep:#04x})",
                SocksError::rep_text(*rep)
            ),
            SocksError::UnexpectedData => {
                write!(f, "SOCKS: proxy sent unsolicited data during the handshake")
            }
        }
    }
}

impl std::error::Error for SocksError {}

/// The destination host as it goes into the CONNECT request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TargetHost {
    /// ATYP 1.
    V4(Ipv4Addr),
    /// ATYP 4.
    V6(Ipv6Addr),
    /// ATYP 3: resolved by the proxy, not by us. May be empty, as libzmq
    /// sends `tcp://:port` that way too.
    Domain(Vec<u8>),
}

/// A parsed target endpoint: what the CONNECT request asks the proxy for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Address or name of the destination.
    pub host: TargetHost,
    /// Destination port, never 0.
    pub port: u16,
}

/// Splits the `host:port` of a `tcp://` endpoint the way libzmq's socks
/// connecter does: at the last `:`, brackets removed only when they enclose
/// the whole host, the port read like C `atoi` (so `80x` is 80 and 65537
/// wraps to 1, as in libzmq) and 0 refused. The host is classified without
/// any lookup: see [`TargetHost`].
///
/// A `source;` prefix gets no special treatment here, as in libzmq: it
/// simply becomes part of the domain name.
pub fn parse_target(target: &str) -> Result<Target, SocksError> {
    let idx = target
        .rfind(':')
        .ok_or(SocksError::BadTarget("no ':' before the port"))?;
    let b = target.as_bytes();
    // The bracket test mirrors libzmq's: `[` first and `]` right before the
    // port colon; otherwise the text is taken as is (so `[::1` stays a name).
    let host = if idx >= 2 && b[0] == b'[' && b[idx - 1] == b']' {
        &target[1..idx - 1]
    } else {
        &target[..idx]
    };
    let port = c_parse::atoi(&target.as_bytes()[idx + 1..]) as u16;
    if port == 0 {
        return Err(SocksError::BadTarget("port is 0 or not a number"));
    }
    let host = if let Some(v4) = c_parse::inet_aton(host.as_bytes(), After::Nothing) {
        TargetHost::V4(v4)
    } else if let Some(v6) = numeric_ipv6(host) {
        TargetHost::V6(v6)
    } else if host.len() > 255 {
        // libzmq asserts (aborts) here; a failed connect is kinder.
        return Err(SocksError::BadTarget("host name longer than 255 bytes"));
    } else {
        TargetHost::Domain(host.as_bytes().to_vec())
    };
    Ok(Target { host, port })
}

/// The parts of a `ZMQ_SOCKS_PROXY` value, split as libzmq's TCP resolver
/// splits a connect address (`[source;]host:port`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProxyAddress<'a> {
    /// Local address to bind before connecting (text before the last `;`),
    /// to be resolved as a bindable literal or interface name, no DNS.
    pub source: Option<&'a str>,
    /// Proxy host: brackets removed, any `%zone` kept; may need DNS.
    pub host: &'a str,
    /// Proxy port. 0 is accepted when written as `0`, as libzmq does.
    pub port: u16,
}

/// Splits a `ZMQ_SOCKS_PROXY` value without resolving anything, with the
/// checks libzmq's resolver makes before its lookup: a `:port` is required,
/// `*` is not a port for a connect, `0` is, any other port goes through
/// `atoi` and must not come out 0; an empty host or empty `%zone` fails.
///
/// libzmq reads the option as a C string, so anything from a NUL byte on
/// is ignored. libzmq only parses the value when it opens the proxy
/// connection; on failure it opens nothing and just schedules a reconnect
/// (the connect call itself succeeded long before).
pub fn parse_proxy_address(value: &str) -> Option<ProxyAddress<'_>> {
    let value = value.split('\0').next().unwrap_or("");
    let (source, dst) = match value.rfind(';') {
        Some(p) => (Some(&value[..p]), &value[p + 1..]),
        None => (None, value),
    };
    let delim = dst.rfind(':')?;
    let (host, port_s) = (&dst[..delim], &dst[delim + 1..]);
    let port = match port_s {
        "*" => return None,
        "0" => 0,
        p => match c_parse::atoi(p.as_bytes()) as u16 {
            0 => return None,
            n => n,
        },
    };
    let host = if host.len() >= 2 && host.starts_with('[') && host.ends_with(']') {
        &host[1..host.len() - 1]
    } else {
        host
    };
    // A zone must be non-empty, and so must what it qualifies.
    let bare = host.rfind('%').map_or(host, |p| &host[..p]);
    if bare.is_empty() || host.ends_with('%') {
        return None;
    }
    Some(ProxyAddress { source, host, port })
}

/// A numeric IPv6 address as `getaddrinfo (AI_NUMERICHOST)` takes it, with
/// an optional `%zone`. glibc also checks that a named zone is an existing
/// interface; we accept any non-empty zone so that this stays pure (the zone
/// is not sent to the proxy anyway).
fn numeric_ipv6(host: &str) -> Option<Ipv6Addr> {
    let addr = match host.find('%') {
        Some(p) if p + 1 < host.len() => &host[..p],
        Some(_) => return None,
        None => host,
    };
    addr.parse().ok()
}

/// Encodes `05 01 00 atyp addr port` for a target.
fn encode_connect(t: &Target) -> Vec<u8> {
    let mut v = Vec::with_capacity(4 + 1 + 255 + 2);
    v.extend_from_slice(&[SOCKS_VERSION, CMD_CONNECT, 0x00]);
    match &t.host {
        TargetHost::V4(a) => {
            v.push(ATYP_IPV4);
            v.extend_from_slice(&a.octets());
        }
        TargetHost::V6(a) => {
            v.push(ATYP_IPV6);
            v.extend_from_slice(&a.octets());
        }
        TargetHost::Domain(d) => {
            v.push(ATYP_DOMAIN);
            // parse_target capped the name at 255 bytes.
            v.push(d.len().min(255) as u8);
            v.extend_from_slice(&d[..d.len().min(255)]);
        }
    }
    v.extend_from_slice(&t.port.to_be_bytes());
    v
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum State {
    SendGreeting,
    AwaitChoice,
    SendAuth,
    AwaitAuthReply,
    SendRequest,
    AwaitReply,
    Established,
    Failed(SocksError),
}

/// One SOCKS5 handshake with a proxy, from greeting to established tunnel.
///
/// Create it once the TCP connection to the proxy is up (libzmq encodes the
/// greeting at that moment), then alternate: write all of [`output`], then
/// read and [`feed`]. Every error is final; the handshake is then over and
/// the connection must be closed.
///
/// [`output`]: SocksClient::output
/// [`feed`]: SocksClient::feed
pub struct SocksClient {
    state: State,
    method: u8,
    username: Vec<u8>,
    password: Vec<u8>,
    request: Vec<u8>,
    out: Vec<u8>,
    out_pos: usize,
    /// The reply being read; never longer than the largest legal reply.
    reply: [u8; MAX_CONNECT_REPLY_LEN],
    reply_len: usize,
    /// Bytes that arrived while our next request was still unwritten.
    early: Vec<u8>,
    /// Bytes after the CONNECT reply: the start of the ZMTP stream.
    leftover: Vec<u8>,
}

impl fmt::Debug for SocksClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Credentials stay out of logs.
        f.debug_struct("SocksClient")
            .field("state", &self.state)
            .field("method", &self.method)
            .field("pending_output", &(self.out.len() - self.out_pos))
            .field("early", &self.early.len())
            .field("leftover", &self.leftover.len())
            .finish_non_exhaustive()
    }
}

impl Drop for SocksClient {
    fn drop(&mut self) {
        self.wipe_secrets();
    }
}

impl SocksClient {
    /// Starts a handshake asking the proxy to connect to `target`, the
    /// `host:port` of the `tcp://` endpoint (see [`parse_target`]).
    ///
    /// Username/password is offered, and then the only method offered, when
    /// `username` is non-empty (`ZMQ_SOCKS_USERNAME`); `password` is only
    /// used then and may be empty.
    ///
    /// libzmq parses the target only after method negotiation, so a bad one
    /// costs it a greeting round trip before the close; here it fails first.
    pub fn new(target: &str, username: &[u8], password: &[u8]) -> Result<SocksClient, SocksError> {
        let request = encode_connect(&parse_target(target)?);
        let method = if username.is_empty() {
            METHOD_NO_AUTH
        } else {
            if username.len() > 255 || password.len() > 255 {
                return Err(SocksError::CredentialsTooLong);
            }
            METHOD_USERPASS
        };
        let (username, password) = if method == METHOD_USERPASS {
            (username.to_vec(), password.to_vec())
        } else {
            (Vec::new(), Vec::new())
        };
        Ok(SocksClient {
            state: State::SendGreeting,
            method,
            username,
            password,
            request,
            out: vec![SOCKS_VERSION, 1, method],
            out_pos: 0,
            reply: [0; MAX_CONNECT_REPLY_LEN],
            reply_len: 0,
            early: Vec::new(),
            leftover: Vec::new(),
        })
    }

    /// Bytes to write to the proxy now; empty when waiting for a reply.
    pub fn output(&self) -> &[u8] {
        self.out.get(self.out_pos..).unwrap_or(&[])
    }

    /// Records that `n` bytes of [`output`](SocksClient::output) were
    /// written (more than pending counts as all of it).
    ///
    /// When that completes a request and the proxy's answer had already been
    /// fed, the answer is processed now, so this can also report the tunnel
    /// established (`Ok(true)`) or fail.
    pub fn consume_output(&mut self, n: usize) -> Result<bool, SocksError> {
        self.out_pos = self.out_pos.saturating_add(n).min(self.out.len());
        if self.out_pos < self.out.len() {
            return Ok(false);
        }
        let next = match self.state {
            State::SendGreeting => State::AwaitChoice,
            State::SendAuth => State::AwaitAuthReply,
            State::SendRequest => State::AwaitReply,
            _ => return self.current(),
        };
        // The auth request carries the password: do not leave it around.
        self.out.zeroize();
        self.out_pos = 0;
        self.state = next;
        let early = std::mem::take(&mut self.early);
        self.input(&early)
    }

    /// Feeds bytes read from the proxy. `Ok(true)` once the proxy reported
    /// the CONNECT successful: the tunnel is up and any bytes past the reply
    /// are in [`take_leftover`](SocksClient::take_leftover). After an error,
    /// every call returns that error again.
    pub fn feed(&mut self, data: &[u8]) -> Result<bool, SocksError> {
        match self.state {
            State::SendGreeting | State::SendAuth | State::SendRequest => {
                // Our request is still unwritten, so this can only be the
                // proxy running ahead; hold it for when the request is out.
                self.keep_early(data)?;
                Ok(false)
            }
            _ => self.input(data),
        }
    }

    /// True once the tunnel to the target is established.
    pub fn is_established(&self) -> bool {
        self.state == State::Established
    }

    /// Bytes the proxy sent after its CONNECT reply, which belong to the
    /// peer (ZMTP); the engine must see them before anything read later.
    pub fn take_leftover(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.leftover)
    }

    fn current(&self) -> Result<bool, SocksError> {
        match &self.state {
            State::Established => Ok(true),
            State::Failed(e) => Err(e.clone()),
            _ => Ok(false),
        }
    }

    fn keep_early(&mut self, data: &[u8]) -> Result<(), SocksError> {
        if self.early.len() + data.len() > MAX_EARLY_LEN {
            return Err(self.fail(SocksError::UnexpectedData));
        }
        self.early.extend_from_slice(data);
        Ok(())
    }

    /// Consumes input while a reply is awaited; the first byte past a
    /// complete reply goes to `early` (a request must be written first) or
    /// to `leftover` (the tunnel is up).
    fn input(&mut self, data: &[u8]) -> Result<bool, SocksError> {
        let mut i = 0;
        while i < data.len() {
            match self.state {
                State::AwaitChoice | State::AwaitAuthReply | State::AwaitReply => {
                    let b = data[i];
                    i += 1;
                    if let Err(e) = self.reply_byte(b) {
                        return Err(self.fail(e));
                    }
                }
                State::SendAuth | State::SendRequest => {
                    self.keep_early(&data[i..])?;
                    return Ok(false);
                }
                State::Established => {
                    self.leftover.extend_from_slice(&data[i..]);
                    return Ok(true);
                }
                State::SendGreeting | State::Failed(_) => break,
            }
        }
        self.current()
    }

    /// Takes one reply byte, validating it as soon as it is known (as libzmq
    /// does after each read) and acting on the reply once it is complete.
    fn reply_byte(&mut self, b: u8) -> Result<(), SocksError> {
        let Some(slot) = self.reply.get_mut(self.reply_len) else {
            // Unreachable: each reply completes at its exact legal length,
            // which is never beyond the buffer.
            return Err(SocksError::Malformed("reply longer than any legal reply"));
        };
        *slot = b;
        let i = self.reply_len;
        self.reply_len += 1;
        match self.state {
            State::AwaitChoice => {
                if i == 0 && b != SOCKS_VERSION {
                    return Err(SocksError::Malformed("method selection version is not 5"));
                }
                if self.reply_len == SHORT_REPLY_LEN {
                    self.reply_len = 0;
                    return self.on_choice(b);
                }
            }
            State::AwaitAuthReply => {
                if i == 0 && b != USERPASS_VERSION {
                    return Err(SocksError::Malformed("auth reply version is not 1"));
                }
                if self.reply_len == SHORT_REPLY_LEN {
                    self.reply_len = 0;
                    if b != 0 {
                        return Err(SocksError::AuthFailed(b));
                    }
                    self.start_output(State::SendRequest);
                }
            }
            State::AwaitReply => {
                match (i, b) {
                    (0, v) if v != SOCKS_VERSION => {
                        return Err(SocksError::Malformed("reply version is not 5"))
                    }
                    (1, rep) if rep > MAX_REP => {
                        return Err(SocksError::Malformed("reply code out of range"))
                    }
                    (2, rsv) if rsv != 0 => {
                        return Err(SocksError::Malformed("reserved byte is not 0"))
                    }
                    (3, atyp) if !matches!(atyp, ATYP_IPV4 | ATYP_DOMAIN | ATYP_IPV6) => {
                        return Err(SocksError::Malformed("unknown address type"))
                    }
                    _ => {}
                }
                if Some(self.reply_len) == self.connect_reply_len() {
                    self.reply_len = 0;
                    // Like libzmq, a refusal is only acted on once its whole
                    // reply has arrived; the bound address is not needed.
                    let rep = self.reply[1];
                    if rep != 0 {
                        return Err(SocksError::ConnectFailed(rep));
                    }
                    self.wipe_secrets();
                    self.state = State::Established;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Total length of the CONNECT reply being read, once known.
    fn connect_reply_len(&self) -> Option<usize> {
        if self.reply_len < 4 {
            return None;
        }
        match self.reply[3] {
            ATYP_IPV4 => Some(4 + 4 + 2),
            ATYP_IPV6 => Some(4 + 16 + 2),
            ATYP_DOMAIN if self.reply_len >= 5 => Some(4 + 1 + usize::from(self.reply[4]) + 2),
            _ => None,
        }
    }

    fn on_choice(&mut self, method: u8) -> Result<(), SocksError> {
        // libzmq takes either 00 or 02 whatever it offered; a proxy has to
        // pick one of the offered methods (RFC 1928 section 3), so a
        // different pick means it is not talking to us sensibly.
        if method == METHOD_NO_ACCEPTABLE {
            return Err(SocksError::NoAcceptableMethod);
        }
        if method != self.method {
            return Err(SocksError::MethodNotOffered(method));
        }
        if method == METHOD_USERPASS {
            self.start_output(State::SendAuth);
        } else {
            self.start_output(State::SendRequest);
        }
        Ok(())
    }

    fn start_output(&mut self, next: State) {
        self.out.zeroize();
        self.out.clear();
        self.out_pos = 0;
        match next {
            State::SendAuth => {
                // Lengths were checked against 255 in new().
                self.out.push(USERPASS_VERSION);
                self.out.push(self.username.len() as u8);
                self.out.extend_from_slice(&self.username);
                self.out.push(self.password.len() as u8);
                self.out.extend_from_slice(&self.password);
            }
            _ => self.out.extend_from_slice(&self.request),
        }
        self.state = next;
    }

    fn fail(&mut self, e: SocksError) -> SocksError {
        self.wipe_secrets();
        self.out.clear();
        self.out_pos = 0;
        self.early = Vec::new();
        self.state = State::Failed(e.clone());
        e
    }

    fn wipe_secrets(&mut self) {
        self.username.zeroize();
        self.password.zeroize();
        self.out.zeroize();
        self.out_pos = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PORT: u16 = 5555; // 0x15b3
    const OK_V4: [u8; 10] = [5, 0, 0, 1, 127, 0, 0, 1, 0x04, 0x38];

    fn drain(c: &mut SocksClient) -> Result<bool, SocksError> {
        let n = c.output().len();
        c.consume_output(n)
    }

    fn connect_v4(a: [u8; 4]) -> Vec<u8> {
        let mut v = vec![5, 1, 0, 1];
        v.extend_from_slice(&a);
        v.extend_from_slice(&PORT.to_be_bytes());
        v
    }

    fn connect_domain(name: &[u8], port: u16) -> Vec<u8> {
        let mut v = vec![5, 1, 0, 3, name.len() as u8];
        v.extend_from_slice(name);
        v.extend_from_slice(&port.to_be_bytes());
        v
    }

    fn loopback_v6() -> [u8; 16] {
        let mut a = [0u8; 16];
        a[15] = 1;
        a
    }

    /// Runs a no-auth handshake up to the CONNECT request; returns it.
    fn to_request(c: &mut SocksClient) -> Vec<u8> {
        assert_eq!(c.output(), &[5, 1, 0]);
        assert_eq!(drain(c), Ok(false));
        assert!(c.output().is_empty());
        assert_eq!(c.feed(&[5, 0]), Ok(false));
        c.output().to_vec()
    }

    #[test]
    fn no_auth_ipv4() {
        let mut c = SocksClient::new(&format!("127.0.0.1:{PORT}"), b"", b"").unwrap();
        assert_eq!(to_request(&mut c), connect_v4([127, 0, 0, 1]));
        assert_eq!(drain(&mut c), Ok(false));
        assert!(!c.is_established());
        assert_eq!(c.feed(&OK_V4), Ok(true));
        assert!(c.is_established());
        assert!(c.output().is_empty());
        assert!(c.take_leftover().is_empty());
    }

    #[test]
    fn ipv6_plain_and_bracketed() {
        let mut want = vec![5, 1, 0, 4];
        want.extend_from_slice(&loopback_v6());
        want.extend_from_slice(&PORT.to_be_bytes());
        for t in ["::1:5555", "[::1]:5555", "[0:0::1]:5555"] {
            let mut c = SocksClient::new(t, b"", b"").unwrap();
            assert_eq!(to_request(&mut c), want, "{t}");
            assert_eq!(drain(&mut c), Ok(false));
            // The proxy answers with an IPv6 bound address.
            let mut reply = vec![5, 0, 0, 4];
            reply.extend_from_slice(&loopback_v6());
            reply.extend_from_slice(&[0x12, 0x34]);
            assert_eq!(c.feed(&reply), Ok(true));
        }
        // Zone ids are dropped, a v4-mapped literal stays IPv6.
        let t = parse_target("[fe80::1%eth0]:1").unwrap();
        assert_eq!(t.host, TargetHost::V6("fe80::1".parse().unwrap()));
        let t = parse_target("::ffff:1.2.3.4:1").unwrap();
        assert_eq!(t.host, TargetHost::V6("::ffff:1.2.3.4".parse().unwrap()));
        // An empty zone is not numeric: the proxy gets the text.
        let t = parse_target("fe80::1%:1").unwrap();
        assert_eq!(t.host, TargetHost::Domain(b"fe80::1%".to_vec()));
    }

    #[test]
    fn domain_name_goes_to_proxy() {
        let mut c = SocksClient::new("somedomainname.org:5555", b"", b"").unwrap();
        assert_eq!(
            to_request(&mut c),
            connect_domain(b"somedomainname.org", PORT)
        );
        assert_eq!(drain(&mut c), Ok(false));
        // A reply carrying a domain name as the bound address.
        let mut reply = connect_domain(b"localhost", 80);
        reply[1] = 0; // REP: succeeded
        assert_eq!(c.feed(&reply), Ok(true));
        // `localhost` is not numeric: never resolved here.
        let t = parse_target("localhost:1").unwrap();
        assert_eq!(t.host, TargetHost::Domain(b"localhost".to_vec()));
        // Empty host: libzmq sends a zero-length name.
        assert_eq!(
            encode_connect(&parse_target(":7").unwrap()),
            vec![5, 1, 0, 3, 0, 0, 7]
        );
    }

    #[test]
    fn ipv4_literals_as_getaddrinfo_takes_them() {
        let v4 = |s: &str| match parse_target(&format!("{s}:1")).unwrap().host {
            TargetHost::V4(a) => Some(a),
            _ => None,
        };
        assert_eq!(v4("127.1"), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(v4("0x7f.0.0.1"), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(v4("0X7F.1"), Some(Ipv4Addr::new(127, 0, 0, 1)));
        assert_eq!(v4("01.02.03.010"), Some(Ipv4Addr::new(1, 2, 3, 8)));
        assert_eq!(v4("4294967295"), Some(Ipv4Addr::new(255, 255, 255, 255)));
        assert_eq!(v4("0"), Some(Ipv4Addr::new(0, 0, 0, 0)));
        assert_eq!(v4("1.2.65535"), Some(Ipv4Addr::new(1, 2, 255, 255)));
        assert_eq!(v4("1.16777215"), Some(Ipv4Addr::new(1, 255, 255, 255)));
        for bad in [
            "08.1.1.1",
            "1.2.3.256",
            "1.2.3.4.",
            "1..2",
            "1.2.3.4.5",
            "4294967296",
            "0x",
            "0x1g",
            "1.2.3.4 ",
            " 1.2.3.4",
            "1.2.16777216",
            "256.1",
            "99999999999999999999999",
            "",
            "[1.2.3.4]x",
        ] {
            assert_eq!(v4(bad), None, "{bad:?}");
        }
        // Brackets are stripped before classification, whatever is inside.
        assert_eq!(v4("[1.2.3.4]"), Some(Ipv4Addr::new(1, 2, 3, 4)));
    }

    #[test]
    fn target_ports_and_errors() {
        assert!(matches!(
            parse_target("host"),
            Err(SocksError::BadTarget(_))
        ));
        assert!(matches!(
            parse_target("host:0"),
            Err(SocksError::BadTarget(_))
        ));
        assert!(matches!(
            parse_target("host:"),
            Err(SocksError::BadTarget(_))
        ));
        assert!(matches!(
            parse_target("host:x1"),
            Err(SocksError::BadTarget(_))
        ));
        assert!(matches!(
            parse_target("host:65536"),
            Err(SocksError::BadTarget(_))
        ));
        // atoi: trailing junk ignored, values wrap through int then uint16.
        assert_eq!(parse_target("host:80abc").unwrap().port, 80);
        assert_eq!(parse_target("host:65537").unwrap().port, 1);
        assert_eq!(parse_target("host:65535").unwrap().port, 65535);
        assert_eq!(parse_target("host:4294967297").unwrap().port, 1);
        assert_eq!(
            parse_target("host:99999999999999999999").unwrap().port,
            65535
        );
        assert_eq!(parse_target("host:-65535").unwrap().port, 1);
        // The last ':' separates the port; `[` without `]` is just text.
        let t = parse_target("[::1:80").unwrap();
        assert_eq!(t.host, TargetHost::Domain(b"[::1".to_vec()));
        // A source prefix is not special (libzmq sends it as a name).
        let t = parse_target("127.0.0.1:0;host:80").unwrap();
        assert_eq!(t.host, TargetHost::Domain(b"127.0.0.1:0;host".to_vec()));
        // Name length limit: 255 is the most a length byte can say.
        let long = "a".repeat(255);
        let req = encode_connect(&parse_target(&format!("{long}:1")).unwrap());
        assert_eq!(req.len(), 4 + 1 + 255 + 2);
        assert_eq!(req[4], 255);
        let longer = "a".repeat(256);
        assert!(matches!(
            SocksClient::new(&format!("{longer}:1"), b"", b""),
            Err(SocksError::BadTarget(_))
        ));
    }

    #[test]
    fn userpass_success() {
        let mut c = SocksClient::new("127.0.0.1:5555", b"someuser", b"somepass").unwrap();
        assert_eq!(c.output(), &[5, 1, 2]);
        assert_eq!(drain(&mut c), Ok(false));
        assert_eq!(c.feed(&[5, 2]), Ok(false));
        let mut auth = vec![1, 8];
        auth.extend_from_slice(b"someuser");
        auth.push(8);
        auth.extend_from_slice(b"somepass");
        assert_eq!(c.output(), &auth[..]);
        assert_eq!(drain(&mut c), Ok(false));
        assert_eq!(c.feed(&[1, 0]), Ok(false));
        assert_eq!(c.output(), &connect_v4([127, 0, 0, 1])[..]);
        assert_eq!(drain(&mut c), Ok(false));
        assert_eq!(c.feed(&OK_V4), Ok(true));
        assert!(c.username.is_empty() && c.password.is_empty());
    }

    #[test]
    fn userpass_failure_is_final() {
        let mut c = SocksClient::new("h:1", b"u", b"p").unwrap();
        drain(&mut c).unwrap();
        c.feed(&[5, 2]).unwrap();
        assert_eq!(c.output(), &[1, 1, b'u', 1, b'p']);
        drain(&mut c).unwrap();
        assert_eq!(c.feed(&[1, 1]), Err(SocksError::AuthFailed(1)));
        assert_eq!(c.feed(&OK_V4), Err(SocksError::AuthFailed(1)));
        assert_eq!(c.consume_output(5), Err(SocksError::AuthFailed(1)));
        assert!(c.output().is_empty());
        assert!(!c.is_established());
        // Wrong sub-negotiation version.
        let mut c = SocksClient::new("h:1", b"u", b"p").unwrap();
        drain(&mut c).unwrap();
        c.feed(&[5, 2]).unwrap();
        drain(&mut c).unwrap();
        assert!(matches!(c.feed(&[5]), Err(SocksError::Malformed(_))));
    }

    #[test]
    fn when_userpass_is_offered() {
        // Empty username: no authentication, password ignored.
        let c = SocksClient::new("h:1", b"", b"secret").unwrap();
        assert_eq!(c.output(), &[5, 1, 0]);
        assert!(c.password.is_empty());
        // A 256-byte password is irrelevant without a username.
        assert!(SocksClient::new("h:1", b"", &[b'p'; 256]).is_ok());
        // Username with empty password: plen 0.
        let mut c = SocksClient::new("h:1", b"someuser", b"").unwrap();
        assert_eq!(c.output(), &[5, 1, 2]);
        drain(&mut c).unwrap();
        c.feed(&[5, 2]).unwrap();
        let mut auth = vec![1, 8];
        auth.extend_from_slice(b"someuser");
        auth.push(0);
        assert_eq!(c.output(), &auth[..]);
        // 255 bytes each fit; 256 do not.
        let mut c = SocksClient::new("h:1", &[b'u'; 255], &[b'p'; 255]).unwrap();
        drain(&mut c).unwrap();
        c.feed(&[5, 2]).unwrap();
        assert_eq!(c.output().len(), 1 + 1 + 255 + 1 + 255);
        assert_eq!(
            SocksClient::new("h:1", &[b'u'; 256], b"").err(),
            Some(SocksError::CredentialsTooLong)
        );
        assert_eq!(
            SocksClient::new("h:1", b"u", &[b'p'; 256]).err(),
            Some(SocksError::CredentialsTooLong)
        );
    }

    #[test]
    fn unoffered_or_refused_method() {
        let picked = |user: &[u8], choice: [u8; 2]| {
            let mut c = SocksClient::new("h:1", user, b"").unwrap();
            drain(&mut c).unwrap();
            c.feed(&choice)
        };
        assert_eq!(picked(b"", [5, 2]), Err(SocksError::MethodNotOffered(2)));
        assert_eq!(picked(b"u", [5, 0]), Err(SocksError::MethodNotOffered(0)));
        assert_eq!(picked(b"", [5, 1]), Err(SocksError::MethodNotOffered(1)));
        assert_eq!(picked(b"", [5, 0xff]), Err(SocksError::NoAcceptableMethod));
        assert_eq!(picked(b"u", [5, 0xff]), Err(SocksError::NoAcceptableMethod));
        // Wrong version is caught on the first byte.
        let mut c = SocksClient::new("h:1", b"", b"").unwrap();
        drain(&mut c).unwrap();
        assert!(matches!(c.feed(&[4]), Err(SocksError::Malformed(_))));
    }

    #[test]
    fn rep_failures() {
        for rep in 1..=8u8 {
            let mut c = SocksClient::new("h:1", b"", b"").unwrap();
            to_request(&mut c);
            drain(&mut c).unwrap();
            let mut r = OK_V4;
            r[1] = rep;
            // Not acted on until the whole reply is in, as libzmq.
            assert_eq!(c.feed(&r[..9]), Ok(false));
            assert_eq!(c.feed(&r[9..]), Err(SocksError::ConnectFailed(rep)));
            assert!(SocksError::ConnectFailed(rep).to_string().contains("REP"));
        }
        let bad = |prefix: &[u8]| {
            let mut c = SocksClient::new("h:1", b"", b"").unwrap();
            to_request(&mut c);
            drain(&mut c).unwrap();
            c.feed(prefix)
        };
        // Out-of-range REP, bad version, reserved byte, ATYP: caught at once.
        assert!(matches!(bad(&[5, 9]), Err(SocksError::Malformed(_))));
        assert!(matches!(bad(&[4]), Err(SocksError::Malformed(_))));
        assert!(matches!(bad(&[5, 0, 1]), Err(SocksError::Malformed(_))));
        assert!(matches!(bad(&[5, 0, 0, 2]), Err(SocksError::Malformed(_))));
        assert!(matches!(bad(&[5, 0, 0, 0]), Err(SocksError::Malformed(_))));
    }

    /// Whole userpass conversation with every proxy byte fed on its own and
    /// every output byte written on its own.
    #[test]
    fn byte_at_a_time() {
        let mut v6_reply = vec![5, 0, 0, 4];
        v6_reply.extend_from_slice(&loopback_v6());
        v6_reply.extend_from_slice(&[0, 1]);
        let mut long_domain = vec![5, 0, 0, 3, 255];
        long_domain.extend_from_slice(&[b'x'; 255]);
        long_domain.extend_from_slice(&[0, 1]);
        let replies: Vec<Vec<u8>> = vec![
            OK_V4.to_vec(),
            v6_reply,
            vec![5, 0, 0, 3, 0, 0, 1],
            vec![5, 0, 0, 3, 3, b'a', b'b', b'c', 0, 1],
            long_domain,
        ];
        for reply in replies {
            let mut c = SocksClient::new("example.org:5555", b"user", b"pw").unwrap();
            let mut written = Vec::new();
            let step = |c: &mut SocksClient, written: &mut Vec<u8>| {
                while let Some(&b) = c.output().first() {
                    written.push(b);
                    c.consume_output(1).unwrap();
                }
            };
            step(&mut c, &mut written);
            for &b in &[5u8, 2] {
                assert_eq!(c.feed(&[b]), Ok(false));
            }
            step(&mut c, &mut written);
            for &b in &[1u8, 0] {
                assert_eq!(c.feed(&[b]), Ok(false));
            }
            step(&mut c, &mut written);
            let (last, head) = reply.split_last().unwrap();
            for &b in head {
                assert_eq!(c.feed(&[b]), Ok(false));
            }
            assert_eq!(c.feed(&[*last]), Ok(true));
            let mut want = vec![5, 1, 2, 1, 4];
            want.extend_from_slice(b"user");
            want.push(2);
            want.extend_from_slice(b"pw");
            want.extend_from_slice(&connect_domain(b"example.org", PORT));
            assert_eq!(written, want);
            assert!(c.take_leftover().is_empty());
        }
    }

    #[test]
    fn trailing_bytes_are_leftover() {
        let mut c = SocksClient::new("h:1", b"", b"").unwrap();
        to_request(&mut c);
        drain(&mut c).unwrap();
        // ZMTP signature right behind the reply.
        let zmtp = [0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f];
        let mut data = OK_V4.to_vec();
        data.extend_from_slice(&zmtp);
        assert_eq!(c.feed(&data), Ok(true));
        // Fed after establishment: kept in order too.
        assert_eq!(c.feed(&[3]), Ok(true));
        let mut want = zmtp.to_vec();
        want.push(3);
        assert_eq!(c.take_leftover(), want);
        assert!(c.take_leftover().is_empty());
        // Domain reply with a long name: the length byte decides where the
        // reply ends, not the chunk.
        let mut c = SocksClient::new("h:1", b"", b"").unwrap();
        to_request(&mut c);
        drain(&mut c).unwrap();
        let mut data = vec![5, 0, 0, 3, 200];
        data.extend_from_slice(&[b'n'; 200]);
        data.extend_from_slice(&[0, 80, 0xAA, 0xBB]);
        assert_eq!(c.feed(&data), Ok(true));
        assert_eq!(c.take_leftover(), vec![0xAA, 0xBB]);
    }

    /// A proxy that answers ahead of our requests: the answers wait until
    /// the request they answer has been written, as they would in the
    /// kernel buffer for libzmq.
    #[test]
    fn pipelined_proxy_answers() {
        let mut c = SocksClient::new("h:1", b"u", b"p").unwrap();
        // Fed before even the greeting went out.
        let mut all = vec![5, 2, 1, 0];
        all.extend_from_slice(&OK_V4);
        all.extend_from_slice(b"zmtp");
        assert_eq!(c.feed(&all[..3]), Ok(false));
        assert_eq!(c.output(), &[5, 1, 2]);
        // Partial write: still holding.
        assert_eq!(c.consume_output(2), Ok(false));
        assert_eq!(c.consume_output(1), Ok(false));
        assert_eq!(c.output(), &[1, 1, b'u', 1, b'p']);
        assert_eq!(c.feed(&all[3..]), Ok(false));
        assert_eq!(drain(&mut c), Ok(false));
        assert_eq!(c.output(), &[5, 1, 0, 3, 1, b'h', 0, 1]);
        // Writing the request lets the buffered reply complete the tunnel.
        assert_eq!(drain(&mut c), Ok(true));
        assert!(c.is_established());
        assert_eq!(c.take_leftover(), b"zmtp");
        // Over-consumption is clamped, not a panic.
        assert_eq!(c.consume_output(100), Ok(true));
    }

    #[test]
    fn early_data_is_bounded() {
        let mut c = SocksClient::new("h:1", b"", b"").unwrap();
        assert_eq!(c.feed(&[0u8; MAX_EARLY_LEN]), Ok(false));
        assert_eq!(c.feed(&[0]), Err(SocksError::UnexpectedData));
        assert!(c.early.is_empty());
        // The same bound applies to what trails a method selection.
        let mut c = SocksClient::new("h:1", b"", b"").unwrap();
        drain(&mut c).unwrap();
        let mut data = vec![5, 0];
        data.extend_from_slice(&[0u8; MAX_EARLY_LEN + 1]);
        assert_eq!(c.feed(&data), Err(SocksError::UnexpectedData));
        let mut c = SocksClient::new("h:1", b"", b"").unwrap();
        drain(&mut c).unwrap();
        let mut data = vec![5, 0];
        data.extend_from_slice(&[0u8; MAX_EARLY_LEN]);
        assert_eq!(c.feed(&data), Ok(false));
        // ... and those zero bytes then fail as a reply (version 0).
        assert!(matches!(drain(&mut c), Err(SocksError::Malformed(_))));
    }

    #[test]
    fn truncated_replies_wait() {
        let mut c = SocksClient::new("h:1", b"", b"").unwrap();
        to_request(&mut c);
        drain(&mut c).unwrap();
        assert_eq!(c.feed(&[5, 0, 0, 3]), Ok(false));
        assert_eq!(c.feed(&[4, b'a']), Ok(false));
        assert_eq!(c.feed(&[b'b', b'c', b'd', 0]), Ok(false));
        assert!(!c.is_established());
        assert_eq!(c.feed(&[9]), Ok(true));
        assert_eq!(c.feed(&[]), Ok(true));
    }

    /// Random proxies: whatever arrives, in whatever chunks, no panic, no
    /// growth past the bounds, and success only through a valid reply.
    #[test]
    fn garbage_never_panics() {
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for round in 0..3000 {
            let user: &[u8] = if round % 2 == 0 { b"" } else { b"user" };
            let mut c = SocksClient::new("example.org:1", user, b"pw").unwrap();
            // Bias towards plausible prefixes so deep states get reached.
            let mut stream: Vec<u8> = match round % 4 {
                0 => vec![],
                1 => vec![5, if user.is_empty() { 0 } else { 2 }, 1, 0, 5, 0, 0],
                2 => vec![5, 0, 5, 0, 0, 3],
                _ => vec![5],
            };
            let extra = (rnd() % 400) as usize;
            for _ in 0..extra {
                stream.push(rnd() as u8);
            }
            let mut pos = 0;
            let mut result = Ok(false);
            while pos < stream.len() {
                if rnd() % 3 == 0 {
                    let n = (rnd() % 4) as usize;
                    result = c.consume_output(n);
                } else {
                    let n = 1 + (rnd() % 300) as usize;
                    let end = (pos + n).min(stream.len());
                    result = c.feed(&stream[pos..end]);
                    pos = end;
                }
                assert!(c.early.len() <= MAX_EARLY_LEN);
                assert!(c.reply_len < MAX_CONNECT_REPLY_LEN);
                if result.is_err() {
                    break;
                }
            }
            if let Ok(true) = result {
                assert!(c.is_established());
                assert!(c.leftover.len() <= stream.len());
            }
        }
    }

    #[test]
    fn proxy_option_values() {
        let p = parse_proxy_address;
        assert_eq!(
            p("somehost:1080"),
            Some(ProxyAddress {
                source: None,
                host: "somehost",
                port: 1080
            })
        );
        assert_eq!(p("[::1]:1080").map(|a| a.host), Some("::1"));
        assert_eq!(p("::1:1080").map(|a| a.host), Some("::1"));
        assert_eq!(p("[fe80::1%eth0]:1").map(|a| a.host), Some("fe80::1%eth0"));
        let a = p("127.0.0.1:0;127.0.0.1:1080").unwrap();
        assert_eq!(a.source, Some("127.0.0.1:0"));
        assert_eq!((a.host, a.port), ("127.0.0.1", 1080));
        assert_eq!(p("host:0").map(|a| a.port), Some(0));
        assert_eq!(p("host:1080x").map(|a| a.port), Some(1080));
        assert_eq!(p("host:1080\0junk").map(|a| a.port), Some(1080));
        for bad in [
            "host", "host:*", "host:", "host:x", "host:00", ":1080", "[]:1", "h%:1", "%x:1", "",
        ] {
            assert_eq!(p(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn debug_hides_credentials() {
        let c = SocksClient::new("h:1", b"someuser", b"hunter2").unwrap();
        let s = format!("{c:?}");
        assert!(!s.contains("hunter2") && !s.contains("someuser"));
    }
}
