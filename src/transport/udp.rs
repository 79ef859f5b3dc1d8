//! UDP for RADIO, DISH and DGRAM, without I/O: datagram formats and the
//! `udp://` address rules of libzmq 4.3.5 (src/udp_engine.cpp,
//! src/udp_address.cpp, src/ip_resolver.cpp).
//!
//! **RADIO/DISH datagram**: one message per datagram,
//! `[group length: u8][group][body]` (`udp_engine_t::out_event` /
//! `in_event`). See [`encode`] and [`decode`].
//!
//! **DGRAM datagram**: the datagram is the body alone; the peer's address
//! travels as the first frame of the message, the text `a.b.c.d:port`
//! (`udp_engine_t::sockaddr_to_msg` adds a terminating NUL to it on
//! receive; `resolve_raw_address` reads it on send). IPv4 only, as libzmq.
//! See [`dgram_decode`] and [`parse_dgram_address`].
//!
//! **Addresses** ([`UdpAddress::resolve`]): `host:port`, `*:port` (bind),
//! `[ipv6]:port`, `iface;multicast:port` (source interface, only with a
//! multicast destination), interface names on bind. Which socket types may
//! bind or connect is [`check_socket_type`].

use crate::util::c_parse::{self, After};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};

use crate::constants::*;
use crate::error::{Error, Result};
use crate::msg::{flags, Message};

/// Largest datagram libzmq sends or receives (`MAX_UDP_MSG`): its buffers
/// have this size, so a longer datagram reaches a libzmq peer truncated.
pub const MAX_UDP_MSG: usize = 8192;

// ---- RADIO / DISH ---------------------------------------------------------

/// The datagram for a RADIO message: group length, group, body. `None`
/// when it would exceed [`MAX_UDP_MSG`]; the message is then dropped (libzmq
/// overruns its buffer instead).
pub fn encode(msg: &Message) -> Option<Vec<u8>> {
    encode_parts(msg.group_cstr().to_bytes(), msg.as_slice())
}

/// [`encode`] from a group and a body.
pub fn encode_parts(group: &[u8], body: &[u8]) -> Option<Vec<u8>> {
    let glen = u8::try_from(group.len()).ok()?;
    let size = 1 + group.len() + body.len();
    if size > MAX_UDP_MSG {
        return None;
    }
    let mut out = Vec::with_capacity(size);
    out.push(glen);
    out.extend_from_slice(group);
    out.extend_from_slice(body);
    Some(out)
}

/// The message in a RADIO datagram, with its group set. `None` for an
/// empty datagram or one shorter than its group length claims (libzmq
/// ignores those).
///
/// The length byte is read unsigned; libzmq reads it through a signed
/// `char`, so on x86 a libzmq DISH fails on groups of 128 bytes or more.
pub fn decode(datagram: &[u8]) -> Option<Message> {
    let (&glen, rest) = datagram.split_first()?;
    let glen = glen as usize;
    if rest.len() < glen {
        return None;
    }
    let (group, body) = rest.split_at(glen);
    let mut m = Message::from_slice(body);
    // At most 255 bytes, always accepted.
    m.set_group(group).ok()?;
    Some(m)
}

// ---- DGRAM ----------------------------------------------------------------

/// The address frame of a received DGRAM datagram: `a.b.c.d:port` plus a
/// terminating NUL, with MORE (libzmq `sockaddr_to_msg`). IPv4 only:
/// libzmq asserts the sender is IPv4; a v4-mapped IPv6 sender is shown in
/// its IPv4 form, other IPv6 senders give `None` (drop the datagram).
pub fn dgram_address_frame(from: &SocketAddr) -> Option<Message> {
    let v4 = match from {
        SocketAddr::V4(a) => *a,
        SocketAddr::V6(a) => SocketAddrV4::new(a.ip().to_ipv4_mapped()?, a.port()),
    };
    let mut text = format!("{}:{}", v4.ip(), v4.port()).into_bytes();
    text.push(0);
    let mut m = Message::from_vec(text);
    m.set_flags(flags::MORE);
    Some(m)
}

/// The two frames a DGRAM socket receives for a datagram from `from`:
/// the address frame (MORE) and the body.
pub fn dgram_decode(datagram: &[u8], from: &SocketAddr) -> Option<[Message; 2]> {
    Some([dgram_address_frame(from)?, Message::from_slice(datagram)])
}

/// Where a DGRAM message goes: its address frame `host:port`, read as
/// libzmq's `resolve_raw_address` does. The port is after the last ':'
/// (read like `atoi`, 0 refused); the host must be an IPv4 address in
/// `inet_addr` syntax (so 255.255.255.255 is refused, as libzmq). A
/// trailing NUL, as in received address frames, is accepted. `None`: the
/// message is dropped.
pub fn parse_dgram_address(frame: &[u8]) -> Option<SocketAddrV4> {
    let delim = frame.iter().rposition(|&b| b == b':')?;
    let host = c_parse::c_str(&frame[..delim]);
    let port = c_parse::atoi(&frame[delim + 1..]) as u16;
    if port == 0 {
        return None;
    }
    let ip = c_parse::inet_aton(host, After::Space)?;
    if ip == Ipv4Addr::BROADCAST {
        // inet_addr cannot tell this address from its error value.
        return None;
    }
    Some(SocketAddrV4::new(ip, port))
}

// ---- addresses ------------------------------------------------------------

/// Whether `socket_type` may use udp:// this way (libzmq socket_base_t):
/// DISH and DGRAM bind, RADIO connects; anything else is ENOCOMPATPROTO.
/// libzmq checks this before it parses the address.
pub fn check_socket_type(socket_type: i32, bind: bool) -> Result<()> {
    let ok = if bind {
        matches!(socket_type, ZMQ_DISH | ZMQ_DGRAM)
    } else {
        socket_type == ZMQ_RADIO
    };
    if ok {
        Ok(())
    } else {
        Err(Error::ENOCOMPATPROTO)
    }
}

/// What the UDP engine of a socket type does (libzmq
/// `session_base_t::start_connecting`): (sends, receives).
pub fn engine_directions(socket_type: i32) -> Option<(bool, bool)> {
    match socket_type {
        ZMQ_RADIO => Some((true, false)),
        ZMQ_DISH => Some((false, true)),
        ZMQ_DGRAM => Some((true, true)),
        _ => None,
    }
}

/// A resolved `udp://` address (libzmq `udp_address_t`).
///
/// Without an interface part the address is read by role: a multicast
/// address is always the group (receivers bind ANY on its port and join
/// it); otherwise it is the local address for a bind and the destination
/// for a connect (whose local address is ANY on the same port, never used
/// for sending).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UdpAddress {
    /// The text after `udp://` as given; libzmq reports this, not a
    /// resolved form, as ZMQ_LAST_ENDPOINT.
    pub address: String,
    /// Where a sender sends (the destination or multicast group); for a
    /// unicast bind, the same as `bind`.
    pub target: SocketAddr,
    /// The local address: the interface part if given (with the target's
    /// port), else ANY or the bind address.
    pub bind: SocketAddr,
    /// Interface index for IPv6 multicast membership and sending: -1
    /// unknown (the interface part was an address, not a name), 0 any,
    /// more: that interface.
    pub bind_if: i32,
    /// Whether the target is a multicast address (224.0.0.0/4, ff00::/8).
    pub multicast: bool,
}

impl UdpAddress {
    /// Resolves `name` (the part after `udp://`) for a bind (`bind`) or a
    /// connect, IPv6 allowed with `ipv6` (IPv4 results are then v4-mapped).
    ///
    /// Errors as libzmq: EINVAL for bad syntax, an unknown host on
    /// connect, a multicast interface part, an interface part with a
    /// unicast target, or mixed families; ENODEV for an unknown host or
    /// interface on bind, and for IPv6 multicast whose interface has no
    /// index.
    pub fn resolve(name: &str, bind: bool, ipv6: bool) -> Result<UdpAddress> {
        let mut bind_addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), 0);
        let mut bind_if: i32 = -1;
        let mut has_interface = false;
        let mut target_text = name;

        if let Some(semi) = name.rfind(';') {
            let src = &name[..semi];
            let src_opts = ResolveOpts {
                bindable: true,
                allow_dns: false,
                allow_nic: true,
                expect_port: false,
                ipv6,
            };
            bind_addr = resolve_ip(src, &src_opts)?;
            if is_multicast(&bind_addr.ip()) {
                // A multicast address cannot be a source.
                return Err(Error::EINVAL);
            }
            // IPv6 multicast needs an interface index; it is only known
            // when the interface was named.
            bind_if = if src == "*" {
                0
            } else {
                match crate::sys::if_nametoindex(src) {
                    0 => -1,
                    n => i32::try_from(n).unwrap_or(-1),
                }
            };
            has_interface = true;
            target_text = &name[semi + 1..];
        }

        let target_opts = ResolveOpts {
            bindable: bind,
            allow_dns: true,
            allow_nic: bind,
            expect_port: true,
            ipv6,
        };
        let target = resolve_ip(target_text, &target_opts)?;
        let multicast = is_multicast(&target.ip());
        let port = target.port();

        if has_interface {
            if !multicast {
                return Err(Error::EINVAL);
            }
            bind_addr.set_port(port);
        } else if multicast || !bind {
            bind_addr = SocketAddr::new(any(target.is_ipv6()), port);
            bind_if = 0;
        } else {
            bind_addr = target;
        }

        if bind_addr.is_ipv6() != target.is_ipv6() {
            return Err(Error::EINVAL);
        }
        if ipv6 && multicast && bind_if < 0 {
            return Err(Error::ENODEV);
        }
        Ok(UdpAddress {
            address: name.to_owned(),
            target,
            bind: bind_addr,
            bind_if,
            multicast,
        })
    }

    /// Whether the sockets for this address are IPv6.
    pub fn is_ipv6(&self) -> bool {
        self.bind.is_ipv6()
    }

    /// The address a receiving socket binds (libzmq `udp_engine_t::plug`):
    /// for multicast, ANY on the group's port (membership picks the
    /// interface); otherwise the bind address. Receivers also set
    /// SO_REUSEADDR, and SO_REUSEPORT for multicast.
    pub fn recv_bind_addr(&self) -> SocketAddr {
        if self.multicast {
            SocketAddr::new(any(self.bind.is_ipv6()), self.bind.port())
        } else {
            self.bind
        }
    }

    /// For IPv4 multicast: the interface to join on and send from (the
    /// interface part's address; UNSPECIFIED lets the kernel choose).
    pub fn multicast_if_v4(&self) -> Option<Ipv4Addr> {
        match (self.multicast, self.bind.ip()) {
            (true, IpAddr::V4(a)) => Some(a),
            _ => None,
        }
    }
}

fn any(v6: bool) -> IpAddr {
    if v6 {
        IpAddr::V6(Ipv6Addr::UNSPECIFIED)
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    }
}

fn is_multicast(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => a.is_multicast(),
        // Only ff00::/8; a v4-mapped group is not multicast, as in libzmq.
        IpAddr::V6(a) => a.is_multicast(),
    }
}

/// The knobs of libzmq's `ip_resolver_options_t` that UDP uses.
struct ResolveOpts {
    bindable: bool,
    allow_dns: bool,
    allow_nic: bool,
    expect_port: bool,
    ipv6: bool,
}

/// libzmq `ip_resolver_t::resolve`: `[host]:port`, `*`, `%zone`, NIC
/// names, then numeric or DNS (first result of the wanted family).
fn resolve_ip(name: &str, o: &ResolveOpts) -> Result<SocketAddr> {
    let (mut host, port) = if o.expect_port {
        let delim = name.rfind(':').ok_or(Error::EINVAL)?;
        let port_s = &name[delim + 1..];
        let port: u16 = match port_s {
            "*" if o.bindable => 0,
            "*" => return Err(Error::EINVAL),
            "0" => 0,
            p => match c_parse::atoi(p.as_bytes()) as u16 {
                0 => return Err(Error::EINVAL),
                n => n,
            },
        };
        (&name[..delim], port)
    } else {
        (name, 0)
    };
    if host.len() >= 2 && host.starts_with('[') && host.ends_with(']') {
        host = &host[1..host.len() - 1];
    }
    let mut zone: u32 = 0;
    if let Some(p) = host.rfind('%') {
        let iface = &host[p + 1..];
        if iface.is_empty() {
            return Err(Error::EINVAL);
        }
        zone = if iface.as_bytes()[0].is_ascii_alphabetic() {
            crate::sys::if_nametoindex(iface)
        } else {
            c_parse::atoi(iface.as_bytes()) as u32
        };
        if zone == 0 {
            return Err(Error::EINVAL);
        }
        host = &host[..p];
    }
    let not_found = if o.bindable {
        Error::ENODEV
    } else {
        Error::EINVAL
    };
    let ip = if o.bindable && host == "*" {
        any(o.ipv6)
    } else if let Some(ip) = o
        .allow_nic
        .then(|| crate::sys::interface_address(host, o.ipv6))
        .flatten()
    {
        ip
    } else if let Some(ip) = numeric_host(host, o.ipv6) {
        ip
    } else if o.allow_dns && !host.is_empty() {
        lookup(host, o.ipv6).ok_or(not_found)?
    } else {
        return Err(not_found);
    };
    Ok(match ip {
        IpAddr::V4(a) => SocketAddr::V4(SocketAddrV4::new(a, port)),
        IpAddr::V6(a) => SocketAddr::V6(SocketAddrV6::new(a, port, 0, zone)),
    })
}

/// A literal address of the wanted family (getaddrinfo with
/// AI_NUMERICHOST): IPv4 in inet_aton syntax, IPv6 only with `ipv6`, IPv4
/// then v4-mapped (AI_V4MAPPED).
fn numeric_host(host: &str, ipv6: bool) -> Option<IpAddr> {
    if let Some(v4) = c_parse::inet_aton(host.as_bytes(), After::Nothing) {
        return Some(if ipv6 {
            IpAddr::V6(v4.to_ipv6_mapped())
        } else {
            IpAddr::V4(v4)
        });
    }
    match host.parse::<Ipv6Addr>() {
        Ok(v6) if ipv6 => Some(IpAddr::V6(v6)),
        _ => None,
    }
}

/// Host name resolution: the first IPv4 answer, or with `ipv6` the first
/// IPv6 answer else a v4-mapped IPv4 one.
#[cfg(not(fuzzing))]
fn lookup(host: &str, ipv6: bool) -> Option<IpAddr> {
    use std::net::ToSocketAddrs;
    let addrs: Vec<SocketAddr> = (host, 0u16).to_socket_addrs().ok()?.collect();
    if ipv6 {
        addrs
            .iter()
            .find(|a| a.is_ipv6())
            .map(|a| a.ip())
            .or_else(|| {
                addrs.iter().find_map(|a| match a.ip() {
                    IpAddr::V4(v4) => Some(IpAddr::V6(v4.to_ipv6_mapped())),
                    IpAddr::V6(_) => None,
                })
            })
    } else {
        addrs.iter().find(|a| a.is_ipv4()).map(|a| a.ip())
    }
}

/// Fuzz builds only (`--cfg fuzzing`): no resolver, so that an endpoint
/// fuzz target never waits on the network; names then resolve to nothing.
#[cfg(fuzzing)]
fn lookup(_host: &str, _ipv6: bool) -> Option<IpAddr> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sa(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn radio_datagram_roundtrip() {
        let mut m = Message::from_slice(b"Friends");
        m.set_group(b"TV").unwrap();
        let d = encode(&m).unwrap();
        assert_eq!(d, b"\x02TVFriends");
        let back = decode(&d).unwrap();
        assert_eq!(back.group(), "TV");
        assert_eq!(back.as_slice(), b"Friends");
        assert!(!back.more());
        // No group, empty body.
        assert_eq!(encode(&Message::new()).unwrap(), b"\x00");
        let e = decode(b"\x00").unwrap();
        assert_eq!(e.group(), "");
        assert!(e.is_empty());
        // A 255-byte group.
        let g = vec![b'g'; 255];
        let d = encode_parts(&g, b"x").unwrap();
        assert_eq!(d[0], 255);
        let back = decode(&d).unwrap();
        assert_eq!(back.group_cstr().to_bytes(), &g[..]);
        assert_eq!(back.as_slice(), b"x");
    }

    #[test]
    fn radio_datagram_limits() {
        assert!(decode(b"").is_none());
        assert!(decode(b"\x05abc").is_none());
        assert!(decode(b"\x03abc").is_some());
        assert!(encode_parts(&[b'g'; 256], b"").is_none());
        assert!(encode_parts(b"", &vec![0u8; MAX_UDP_MSG - 1]).is_some());
        assert!(encode_parts(b"", &vec![0u8; MAX_UDP_MSG]).is_none());
        assert!(encode_parts(b"ab", &vec![0u8; MAX_UDP_MSG - 3]).is_some());
        // A NUL in the group ends it (libzmq stores groups as C strings).
        let m = decode(b"\x03a\0bbody").unwrap();
        assert_eq!(m.group(), "a");
        assert_eq!(m.as_slice(), b"body");
    }

    #[test]
    fn dgram_frames() {
        let [a, b] = dgram_decode(b"Is someone there ?", &sa("127.0.0.1:5560")).unwrap();
        assert_eq!(a.as_slice(), b"127.0.0.1:5560\0");
        assert!(a.more());
        assert_eq!(b.as_slice(), b"Is someone there ?");
        assert!(!b.more());
        let a = dgram_address_frame(&sa("[::ffff:10.0.0.1]:7")).unwrap();
        assert_eq!(a.as_slice(), b"10.0.0.1:7\0");
        assert!(dgram_address_frame(&sa("[::1]:7")).is_none());
    }

    #[test]
    fn dgram_addresses() {
        let p = |s: &[u8]| parse_dgram_address(s);
        assert_eq!(
            p(b"127.0.0.1:5559"),
            Some("127.0.0.1:5559".parse().unwrap())
        );
        // As received, with its NUL.
        assert_eq!(
            p(b"127.0.0.1:5560\0"),
            Some("127.0.0.1:5560".parse().unwrap())
        );
        // inet_addr forms.
        assert_eq!(p(b"127.1:80"), Some("127.0.0.1:80".parse().unwrap()));
        assert_eq!(p(b"0x7f.0.0.01:80"), Some("127.0.0.1:80".parse().unwrap()));
        assert_eq!(p(b"10:80"), Some("0.0.0.10:80".parse().unwrap()));
        assert_eq!(p(b"1.2.3.4 :80"), Some("1.2.3.4:80".parse().unwrap()));
        // atoi ports.
        assert_eq!(p(b"1.2.3.4:80abc"), Some("1.2.3.4:80".parse().unwrap()));
        assert_eq!(p(b"1.2.3.4: 81"), Some("1.2.3.4:81".parse().unwrap()));
        assert_eq!(p(b"1.2.3.4:65537"), Some("1.2.3.4:1".parse().unwrap()));
        // Refused.
        assert_eq!(p(b"1.2.3.4:0"), None);
        assert_eq!(p(b"1.2.3.4:"), None);
        assert_eq!(p(b"1.2.3.4:x"), None);
        assert_eq!(p(b"1.2.3.4"), None);
        assert_eq!(p(b""), None);
        assert_eq!(p(b":80"), None);
        assert_eq!(p(b"localhost:80"), None);
        assert_eq!(p(b"255.255.255.255:80"), None);
        assert_eq!(p(b"1.2.3.256:80"), None);
        assert_eq!(p(b"256.1.1.1:80"), None);
        assert_eq!(p(b"1.2.3.4.5:80"), None);
        assert_eq!(p(b"08.1.1.1:80"), None);
        assert_eq!(p(b"0x.1.1.1:80"), None);
        assert_eq!(p(b"1.2.3.4x:80"), None);
        assert_eq!(p(b"[::1]:80"), None);
    }

    #[test]
    fn inet_aton_forms() {
        let a = |s: &str| c_parse::inet_aton(s.as_bytes(), After::Nothing);
        assert_eq!(a("1.2.3.4"), Some(Ipv4Addr::new(1, 2, 3, 4)));
        assert_eq!(a("1.2.772"), Some(Ipv4Addr::new(1, 2, 3, 4)));
        assert_eq!(a("1.131844"), Some(Ipv4Addr::new(1, 2, 3, 4)));
        assert_eq!(a("16909060"), Some(Ipv4Addr::new(1, 2, 3, 4)));
        assert_eq!(a("0"), Some(Ipv4Addr::new(0, 0, 0, 0)));
        assert_eq!(a("4294967296"), None);
        assert_eq!(a("1.2.65536"), None);
        assert_eq!(a("1.2.3.4 "), None);
        assert_eq!(a("1..2"), None);
        assert_eq!(a("1.2."), None);
        assert_eq!(a(""), None);
    }

    #[test]
    fn socket_types() {
        assert!(check_socket_type(ZMQ_DISH, true).is_ok());
        assert!(check_socket_type(ZMQ_DGRAM, true).is_ok());
        assert_eq!(
            check_socket_type(ZMQ_RADIO, true),
            Err(Error::ENOCOMPATPROTO)
        );
        assert!(check_socket_type(ZMQ_RADIO, false).is_ok());
        assert_eq!(
            check_socket_type(ZMQ_DISH, false),
            Err(Error::ENOCOMPATPROTO)
        );
        assert_eq!(
            check_socket_type(ZMQ_DGRAM, false),
            Err(Error::ENOCOMPATPROTO)
        );
        assert_eq!(check_socket_type(ZMQ_PUB, true), Err(Error::ENOCOMPATPROTO));
        assert_eq!(engine_directions(ZMQ_RADIO), Some((true, false)));
        assert_eq!(engine_directions(ZMQ_DISH), Some((false, true)));
        assert_eq!(engine_directions(ZMQ_DGRAM), Some((true, true)));
        assert_eq!(engine_directions(ZMQ_PUB), None);
    }

    #[test]
    fn unicast_bind_and_connect() {
        // DISH bind "*:5556": listen on ANY.
        let a = UdpAddress::resolve("*:5556", true, false).unwrap();
        assert_eq!(a.bind, sa("0.0.0.0:5556"));
        assert_eq!(a.target, sa("0.0.0.0:5556"));
        assert!(!a.multicast);
        assert_eq!(a.address, "*:5556");
        assert_eq!(a.recv_bind_addr(), sa("0.0.0.0:5556"));
        let a = UdpAddress::resolve("*:5556", true, true).unwrap();
        assert_eq!(a.bind, sa("[::]:5556"));
        // Bind to a unicast address: it is the local address.
        let a = UdpAddress::resolve("127.0.0.1:5559", true, false).unwrap();
        assert_eq!(a.bind, sa("127.0.0.1:5559"));
        // RADIO connect: the address is the destination, local is ANY.
        let a = UdpAddress::resolve("127.0.0.1:5556", false, false).unwrap();
        assert_eq!(a.target, sa("127.0.0.1:5556"));
        assert_eq!(a.bind, sa("0.0.0.0:5556"));
        assert_eq!(a.bind_if, 0);
        let a = UdpAddress::resolve("[::1]:5556", false, true).unwrap();
        assert_eq!(a.target, sa("[::1]:5556"));
        assert_eq!(a.bind, sa("[::]:5556"));
        assert!(a.is_ipv6());
        // With ZMQ_IPV6, IPv4 literals are v4-mapped.
        let a = UdpAddress::resolve("127.0.0.1:5556", false, true).unwrap();
        assert_eq!(a.target, sa("[::ffff:127.0.0.1]:5556"));
        // Port 0 / "*" only where libzmq takes them.
        assert_eq!(
            UdpAddress::resolve("*:*", true, false).unwrap().bind.port(),
            0
        );
        assert_eq!(
            UdpAddress::resolve("1.2.3.4:*", false, false),
            Err(Error::EINVAL)
        );
        assert_eq!(
            UdpAddress::resolve("1.2.3.4:0", false, false)
                .unwrap()
                .target,
            sa("1.2.3.4:0")
        );
    }

    #[test]
    fn bad_addresses() {
        assert_eq!(
            UdpAddress::resolve("127.0.0.1", false, false),
            Err(Error::EINVAL)
        );
        assert_eq!(
            UdpAddress::resolve("1.2.3.4:x", false, false),
            Err(Error::EINVAL)
        );
        // IPv6 without ZMQ_IPV6: EINVAL on connect, ENODEV on bind.
        assert_eq!(
            UdpAddress::resolve("[::1]:5556", false, false),
            Err(Error::EINVAL)
        );
        assert_eq!(
            UdpAddress::resolve("[::1]:5556", true, false),
            Err(Error::ENODEV)
        );
        // "*" is a bind-only wildcard.
        assert_eq!(
            UdpAddress::resolve("*:5556", false, false),
            Err(Error::EINVAL)
        );
        assert_eq!(
            UdpAddress::resolve("[::1%]:5556", false, true),
            Err(Error::EINVAL)
        );
        // No host at all.
        assert_eq!(
            UdpAddress::resolve(":5556", true, false),
            Err(Error::ENODEV)
        );
        assert_eq!(
            UdpAddress::resolve(":5556", false, false),
            Err(Error::EINVAL)
        );
    }

    #[test]
    fn multicast() {
        let a = UdpAddress::resolve("226.8.5.5:5555", true, false).unwrap();
        assert!(a.multicast);
        assert_eq!(a.target, sa("226.8.5.5:5555"));
        assert_eq!(a.bind, sa("0.0.0.0:5555"));
        assert_eq!(a.recv_bind_addr(), sa("0.0.0.0:5555"));
        assert_eq!(a.multicast_if_v4(), Some(Ipv4Addr::UNSPECIFIED));
        let a = UdpAddress::resolve("226.8.5.5:5555", false, false).unwrap();
        assert!(a.multicast);
        assert_eq!(a.bind, sa("0.0.0.0:5555"));
        let a = UdpAddress::resolve("[ff02::7a65:726f:6df1:a01]:5555", true, true).unwrap();
        assert!(a.multicast);
        assert_eq!(a.bind, sa("[::]:5555"));
        assert_eq!(a.bind_if, 0);
        // A v4-mapped group is not multicast (libzmq checks ff00::/8 only).
        let a = UdpAddress::resolve("226.8.5.5:5555", true, true).unwrap();
        assert!(!a.multicast);
    }

    #[test]
    fn interface_part() {
        // Source interface by address, multicast target.
        let a = UdpAddress::resolve("127.0.0.1;226.8.5.5:5555", true, false).unwrap();
        assert_eq!(a.bind, sa("127.0.0.1:5555"));
        assert_eq!(a.target, sa("226.8.5.5:5555"));
        assert_eq!(a.bind_if, -1);
        assert_eq!(a.multicast_if_v4(), Some(Ipv4Addr::LOCALHOST));
        assert_eq!(a.recv_bind_addr(), sa("0.0.0.0:5555"));
        let a = UdpAddress::resolve("*;226.8.5.5:5555", false, false).unwrap();
        assert_eq!(a.bind, sa("0.0.0.0:5555"));
        assert_eq!(a.bind_if, 0);
        // Loopback by name (Linux "lo").
        if crate::sys::if_nametoindex("lo") != 0 {
            let a = UdpAddress::resolve("lo;226.8.5.5:5555", true, false).unwrap();
            assert_eq!(a.bind.ip(), IpAddr::V4(Ipv4Addr::LOCALHOST));
            assert!(a.bind_if > 0);
        }
        // The interface part needs a multicast target.
        assert_eq!(
            UdpAddress::resolve("127.0.0.1;127.0.0.2:5555", true, false),
            Err(Error::EINVAL)
        );
        // A multicast source is refused.
        assert_eq!(
            UdpAddress::resolve("226.8.5.6;226.8.5.5:5555", true, false),
            Err(Error::EINVAL)
        );
        // No DNS for the source.
        assert_eq!(
            UdpAddress::resolve("localhost;226.8.5.5:5555", true, false),
            Err(Error::ENODEV)
        );
        // IPv6 multicast with an interface given by address: no index.
        assert_eq!(
            UdpAddress::resolve("[::1];[ff02::1]:5555", true, true),
            Err(Error::ENODEV)
        );
        let a = UdpAddress::resolve("*;[ff02::1]:5555", true, true).unwrap();
        assert_eq!(a.bind_if, 0);
        assert_eq!(a.bind, sa("[::]:5555"));
    }
}
