//! `pgm://` and `epgm://` addresses (libzmq doc/zmq_pgm.txt and
//! `pgm_socket_t::init_address`): `interface;group:port`.
//!
//! * The port is what `atoi` reads after the last ':', kept to 16 bits as
//!   libzmq does (`5555x` is 5555, `99999` is 34463); no ':' or a port of 0
//!   is EINVAL (libzmq returns -1 there with a stale errno).
//! * The interface is an IPv4 address or an interface name (its IPv4
//!   address), or empty for the one the route to the group uses. Names are
//!   ours to resolve: OpenPGM in Debian's libzmq5 refused every name we
//!   tried (`lo`, a veth) with EINVAL.
//! * The group part is OpenPGM's: `group`, `group,group...` (receive from
//!   several, send to the first) or `receive-groups;send-group`. Groups are
//!   IPv4 multicast addresses, as zmq_pgm(7) says; anything else is EINVAL.
//!   Without a ';' at all there is no group: EINVAL (libzmq accepts the
//!   address and aborts when it connects).
//! * The whole text before the port must be under 255 bytes (libzmq's
//!   buffer).

use std::net::Ipv4Addr;

use crate::constants::*;
use crate::error::{Error, Result};
use crate::util::c_parse;

/// Whether `socket_type` may use pgm/epgm (libzmq `socket_base_t::
/// check_protocol`): PUB and XPUB send, SUB and XSUB receive; anything else
/// is ENOCOMPATPROTO, checked before the address is read.
pub fn check_socket_type(socket_type: i32) -> Result<()> {
    match socket_type {
        ZMQ_PUB | ZMQ_XPUB | ZMQ_SUB | ZMQ_XSUB => Ok(()),
        _ => Err(Error::ENOCOMPATPROTO),
    }
}

/// A parsed PGM or EPGM address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PgmAddress {
    /// The interface's address; `None`: the one the route to the group
    /// uses.
    pub interface: Option<Ipv4Addr>,
    /// Groups to join (receivers).
    pub recv_groups: Vec<Ipv4Addr>,
    /// The group data is sent to.
    pub send_group: Ipv4Addr,
    /// The port (UDP port for epgm, PGM ports for pgm).
    pub port: u16,
}

/// Parses the part of a `pgm://` or `epgm://` endpoint after the scheme.
pub fn parse(addr: &str) -> Result<PgmAddress> {
    let delim = addr.rfind(':').ok_or(Error::EINVAL)?;
    let port = c_parse::atoi(&addr.as_bytes()[delim + 1..]) as u16;
    let network = &addr[..delim];
    if network.len() >= 255 || port == 0 {
        return Err(Error::EINVAL);
    }
    let parts: Vec<&str> = network.split(';').collect();
    let (iface, recv, send) = match parts.as_slice() {
        [iface, recv] => (*iface, *recv, None),
        [iface, recv, send] => (*iface, *recv, Some(*send)),
        _ => return Err(Error::EINVAL),
    };
    let interface = match iface {
        "" => None,
        name => Some(interface(name)?),
    };
    let recv_groups = recv.split(',').map(group).collect::<Result<Vec<_>>>()?;
    let send_group = match send {
        Some(s) => group(s)?,
        None => *recv_groups.first().ok_or(Error::EINVAL)?,
    };
    Ok(PgmAddress {
        interface,
        recv_groups,
        send_group,
        port,
    })
}

fn interface(name: &str) -> Result<Ipv4Addr> {
    let ip = match name.parse::<Ipv4Addr>() {
        Ok(ip) => ip,
        Err(_) => match crate::sys::interface_address(name, false) {
            Some(std::net::IpAddr::V4(ip)) => ip,
            _ => return Err(Error::EINVAL),
        },
    };
    if ip.is_multicast() || ip.is_broadcast() {
        return Err(Error::EINVAL);
    }
    Ok(ip)
}

fn group(text: &str) -> Result<Ipv4Addr> {
    match text.parse::<Ipv4Addr>() {
        Ok(ip) if ip.is_multicast() => Ok(ip),
        _ => Err(Error::EINVAL),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(s: &str) -> Ipv4Addr {
        s.parse().unwrap()
    }

    #[test]
    fn libzmq_forms() {
        let a = parse("127.0.0.1;239.192.1.1:5555").unwrap();
        assert_eq!(a.interface, Some(Ipv4Addr::LOCALHOST));
        assert_eq!(a.recv_groups, vec![g("239.192.1.1")]);
        assert_eq!(a.send_group, g("239.192.1.1"));
        assert_eq!(a.port, 5555);
        let a = parse(";239.192.1.1:5555").unwrap();
        assert_eq!(a.interface, None);
        let a = parse("127.0.0.1;239.192.1.1,239.192.1.2:5561").unwrap();
        assert_eq!(a.recv_groups, vec![g("239.192.1.1"), g("239.192.1.2")]);
        assert_eq!(a.send_group, g("239.192.1.1"));
        let a = parse("127.0.0.1;239.192.1.1;239.192.1.3:5562").unwrap();
        assert_eq!(a.send_group, g("239.192.1.3"));
        // atoi and 16 bits, as libzmq.
        assert_eq!(parse("127.0.0.1;239.192.1.1:5555x").unwrap().port, 5555);
        assert_eq!(parse("127.0.0.1;239.192.1.1:99999").unwrap().port, 34463);
        assert_eq!(
            parse("lo;239.192.1.1:1").unwrap().interface,
            Some(Ipv4Addr::LOCALHOST)
        );
    }

    #[test]
    fn refusals() {
        for bad in [
            "127.0.0.1;239.192.1.1",
            "127.0.0.1;239.192.1.1:0",
            "127.0.0.1;239.192.1.1:abc",
            "239.192.1.1:5557",
            "lo:5570",
            "127.0.0.1;127.0.0.1:5559",
            "eth9-no-such;239.192.1.1:1",
            "foo.example;239.192.1.1:1",
            "239.1.1.1;239.192.1.1:1",
            "127.0.0.1;ff08::1:5565",
            "127.0.0.1;;239.192.1.1:1",
            "a;b;c;d:1",
            "127.0.0.1;239.192.1.1,:1",
        ] {
            assert_eq!(parse(bad), Err(Error::EINVAL), "{bad}");
        }
        let long = format!("{};239.192.1.1:1", "1".repeat(250));
        assert_eq!(parse(&long), Err(Error::EINVAL));
    }
}
