//! TCP endpoints: address syntax and resolution with libzmq's rules
//! (src/tcp_address.cpp, src/ip_resolver.cpp), socket creation and tuning.
//!
//! Addresses are `host:port`, `[v6]:port`, `*:port`, `iface:port` (bind),
//! with `*` or `0` as an ephemeral port, an optional `%zone`, and for
//! connects an optional `source;destination` pair.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::os::fd::AsRawFd;

use socket2::{Domain, Protocol as SockProtocol, SockAddr, Socket, Type};

use crate::error::{Error, Result};
use crate::options::Options;

/// A resolved TCP address, with the source address of `src;dst` connects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TcpAddr {
    /// Where to bind or connect.
    pub addr: SocketAddr,
    /// The local address to bind before connecting, if given.
    pub src: Option<SocketAddr>,
}

/// The canonical text of an address: `tcp://1.2.3.4:5` or `tcp://[::1]:5`.
pub fn to_uri(a: &SocketAddr) -> String {
    match a {
        SocketAddr::V4(v4) => format!("tcp://{}:{}", v4.ip(), v4.port()),
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            // libzmq prints v4-mapped addresses in their v6 form too.
            Some(_) | None => format!("tcp://[{}]:{}", v6.ip(), v6.port()),
        },
    }
}

/// libzmq's syntax check of a connect address (before any resolution).
pub fn check_connect_syntax(address: &str) -> Result<()> {
    let b = address.as_bytes();
    let ok_first = |c: u8| c.is_ascii_alphanumeric() || c == b'[' || c == b':';
    let ok_rest = |c: u8| c.is_ascii_alphanumeric() || b".-:%;[]_*".contains(&c);
    let mut i = 0;
    if !b.is_empty() && ok_first(b[0]) {
        i = 1;
        while i < b.len() && ok_rest(b[i]) {
            i += 1;
        }
    }
    if i != b.len() {
        return Err(Error::EINVAL);
    }
    match address.rfind(':') {
        Some(p)
            if address[p + 1..]
                .bytes()
                .next()
                .is_some_and(|c| c.is_ascii_digit()) =>
        {
            Ok(())
        }
        _ => Err(Error::EINVAL),
    }
}

/// Resolves `name` as libzmq does: `bindable` for bind (allows `*` and
/// interface names), connect otherwise (host names through the resolver).
pub fn resolve(name: &str, bindable: bool, ipv6: bool) -> Result<TcpAddr> {
    let (src, dst) = match name.rfind(';') {
        Some(p) => (Some(&name[..p]), &name[p + 1..]),
        None => (None, name),
    };
    let src = match src {
        Some(s) => Some(resolve_one(s, true, false, true, ipv6)?),
        None => None,
    };
    let addr = resolve_one(dst, bindable, true, bindable, ipv6)?;
    Ok(TcpAddr { addr, src })
}

fn resolve_one(
    name: &str,
    bindable: bool,
    allow_dns: bool,
    allow_nic: bool,
    ipv6: bool,
) -> Result<SocketAddr> {
    let delim = name.rfind(':').ok_or(Error::EINVAL)?;
    let (host, port_s) = (&name[..delim], &name[delim + 1..]);
    let port: u16 = match port_s {
        "*" if bindable => 0,
        "*" => return Err(Error::EINVAL),
        "0" => 0,
        p => {
            let digits: String = p.chars().take_while(|c| c.is_ascii_digit()).collect();
            match digits.parse::<u32>() {
                Ok(n) if n != 0 && (n as u16) != 0 => n as u16,
                _ => return Err(Error::EINVAL),
            }
        }
    };
    let mut host = host;
    if host.len() >= 2 && host.starts_with('[') && host.ends_with(']') {
        host = &host[1..host.len() - 1];
    }
    let mut zone = 0u32;
    if let Some(p) = host.rfind('%') {
        let iface = &host[p + 1..];
        if iface.is_empty() {
            return Err(Error::EINVAL);
        }
        zone = if iface.as_bytes()[0].is_ascii_alphabetic() {
            crate::sys::if_nametoindex(iface)
        } else {
            iface.parse().unwrap_or(0)
        };
        if zone == 0 {
            return Err(Error::EINVAL);
        }
        host = &host[..p];
    }
    let ip: IpAddr = if bindable && host == "*" {
        if ipv6 {
            IpAddr::V6(Ipv6Addr::UNSPECIFIED)
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        }
    } else if let Some(ip) = allow_nic
        .then(|| crate::sys::interface_address(host, ipv6))
        .flatten()
    {
        ip
    } else if let Ok(ip) = host.parse::<IpAddr>() {
        match ip {
            IpAddr::V6(_) if !ipv6 => {
                return Err(if bindable {
                    Error::ENODEV
                } else {
                    Error::EINVAL
                })
            }
            IpAddr::V4(v4) if ipv6 => IpAddr::V6(v4.to_ipv6_mapped()),
            ip => ip,
        }
    } else if allow_dns && !host.is_empty() && !host.contains(' ') {
        lookup(host, ipv6).ok_or(if bindable {
            Error::ENODEV
        } else {
            Error::EINVAL
        })?
    } else {
        return Err(if bindable {
            Error::ENODEV
        } else {
            Error::EINVAL
        });
    };
    Ok(match ip {
        IpAddr::V4(v4) => SocketAddr::new(IpAddr::V4(v4), port),
        IpAddr::V6(v6) => SocketAddr::V6(SocketAddrV6::new(v6, port, 0, zone)),
    })
}

/// Host name resolution, IPv4 only unless `ipv6` (then v4 answers are mapped).
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
                addrs.first().map(|a| match a.ip() {
                    IpAddr::V4(v4) => IpAddr::V6(v4.to_ipv6_mapped()),
                    ip => ip,
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

/// Creates a TCP socket for `addr` with the socket-level options of `o`
/// (TOS, priority, device, buffers); non-blocking, close-on-exec.
pub fn open_socket(addr: &SocketAddr, o: &Options) -> Result<Socket> {
    let domain = if addr.is_ipv6() {
        Domain::IPV6
    } else {
        Domain::IPV4
    };
    let s = Socket::new(domain, Type::STREAM.cloexec(), Some(SockProtocol::TCP))?;
    if addr.is_ipv6() {
        // Dual stack: accept IPv4 peers on IPv6 sockets.
        let _ = s.set_only_v6(false);
    }
    if o.tos != 0 {
        if addr.is_ipv6() {
            let _ = s.set_tclass_v6(o.tos as u32);
        }
        let _ = s.set_tos(o.tos as u32);
    }
    if o.priority != 0 {
        crate::sys::set_int_sockopt(
            s.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_PRIORITY,
            o.priority,
        );
    }
    if !o.bound_device.is_empty() {
        s.bind_device(Some(o.bound_device.as_bytes()))?;
    }
    if o.sndbuf >= 0 {
        let _ = s.set_send_buffer_size(o.sndbuf as usize);
    }
    if o.rcvbuf >= 0 {
        let _ = s.set_recv_buffer_size(o.rcvbuf as usize);
    }
    s.set_nonblocking(true)?;
    Ok(s)
}

/// Binds and listens (the listening half of `zmq_bind`).
pub fn listen(addr: &SocketAddr, o: &Options) -> Result<Socket> {
    let s = open_socket(addr, o)?;
    s.set_reuse_address(true)?;
    s.bind(&SockAddr::from(*addr))?;
    s.listen(o.backlog.max(0))?;
    Ok(s)
}

/// Starts a non-blocking connect; returns the socket and whether the
/// connect already completed (else it is in progress).
pub fn connect(a: &TcpAddr, o: &Options) -> Result<(Socket, bool)> {
    let s = open_socket(&a.addr, o)?;
    if let Some(src) = a.src {
        s.set_reuse_address(true)?;
        s.bind(&SockAddr::from(src))?;
    }
    match s.connect(&SockAddr::from(a.addr)) {
        Ok(()) => Ok((s, true)),
        Err(e)
            if e.raw_os_error() == Some(libc::EINPROGRESS)
                || e.raw_os_error() == Some(libc::EINTR) =>
        {
            Ok((s, false))
        }
        Err(e) => Err(Error::from_io(&e)),
    }
}

/// Per-connection tuning, the same for accepted and connected sockets (as
/// libzmq's tune_tcp_socket / tune_tcp_keepalives / tune_tcp_maxrt): no
/// Nagle, keepalives with their idle time, interval and count,
/// TCP_USER_TIMEOUT.
pub fn tune_connection(s: socket2::SockRef<'_>, o: &Options) {
    let _ = s.set_nodelay(true);
    if o.tcp_keepalive != -1 {
        let _ = s.set_keepalive(o.tcp_keepalive != 0);
        if o.tcp_keepalive != 0 {
            let mut ka = socket2::TcpKeepalive::new();
            if o.tcp_keepalive_idle != -1 {
                ka = ka.with_time(std::time::Duration::from_secs(o.tcp_keepalive_idle as u64));
            }
            if o.tcp_keepalive_intvl != -1 {
                ka = ka.with_interval(std::time::Duration::from_secs(o.tcp_keepalive_intvl as u64));
            }
            if o.tcp_keepalive_cnt != -1 {
                ka = ka.with_retries(o.tcp_keepalive_cnt as u32);
            }
            let _ = s.set_tcp_keepalive(&ka);
        }
    }
    if o.tcp_maxrt > 0 {
        let _ = s.set_tcp_user_timeout(Some(std::time::Duration::from_millis(o.tcp_maxrt as u64)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn syntax() {
        assert!(check_connect_syntax("localhost:1234").is_ok());
        assert!(check_connect_syntax("[::1]:1234").is_ok());
        assert!(check_connect_syntax("localhost:invalid").is_err());
        assert!(check_connect_syntax("in val id:1234").is_err());
        assert!(check_connect_syntax("").is_err());
        assert!(check_connect_syntax("192.168.0.200:*").is_err());
        assert!(check_connect_syntax("127.0.0.1:5555;127.0.0.1:5556").is_ok());
    }

    #[test]
    fn resolution() {
        let a = resolve("*:5555", true, false).unwrap();
        assert_eq!(a.addr, "0.0.0.0:5555".parse().unwrap());
        assert_eq!(resolve("*:*", true, false).unwrap().addr.port(), 0);
        assert!(resolve("127.0.0.1:*", false, false).is_err());
        assert_eq!(
            resolve("[::1]:7", false, true).unwrap().addr,
            "[::1]:7".parse().unwrap()
        );
        assert!(resolve("[::1]:7", false, false).is_err());
        assert_eq!(
            resolve("lo:9", true, false).unwrap().addr,
            "127.0.0.1:9".parse().unwrap()
        );
        assert_eq!(
            resolve("localhost:9", false, false).unwrap().addr.ip(),
            IpAddr::V4(Ipv4Addr::LOCALHOST)
        );
        let sd = resolve("127.0.0.1:1;127.0.0.1:2", false, false).unwrap();
        assert_eq!(sd.src.unwrap().port(), 1);
        assert_eq!(
            resolve("nonexistent-iface-xyz:1", true, false).unwrap_err(),
            Error::ENODEV
        );
        assert_eq!(to_uri(&"[::1]:5".parse().unwrap()), "tcp://[::1]:5");
    }
}
