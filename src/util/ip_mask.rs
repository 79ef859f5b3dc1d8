//! TCP address forms: accept-filter masks (`ZMQ_TCP_ACCEPT_FILTER`).

use std::net::IpAddr;

use crate::error::{Error, Result};

/// A network and prefix length, as `ZMQ_TCP_ACCEPT_FILTER` takes it
/// (`192.168.0.0/16`, `::1`, `10.0.0.1`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mask {
    /// The network address.
    pub addr: IpAddr,
    /// Prefix length in bits.
    pub bits: u8,
}

/// Parses a mask; IPv6 networks only when `ipv6` is set, as libzmq.
pub fn parse_mask(s: &str, ipv6: bool) -> Result<Mask> {
    let (addr_s, bits_s) = match s.find('/') {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let addr: IpAddr = addr_s.parse().map_err(|_| Error::EINVAL)?;
    if addr.is_ipv6() && !ipv6 {
        return Err(Error::EINVAL);
    }
    let full = if addr.is_ipv6() { 128 } else { 32 };
    let bits = match bits_s {
        None => full,
        Some("") => return Err(Error::EINVAL),
        Some("0") => 0,
        Some(b) => match b.parse::<u32>() {
            Ok(n) if n >= 1 && n <= full => n,
            _ => return Err(Error::EINVAL),
        },
    };
    Ok(Mask {
        addr,
        bits: bits as u8,
    })
}

/// Checks that a mask parses (used by setsockopt).
pub fn check_mask(s: &str, ipv6: bool) -> Result<()> {
    parse_mask(s, ipv6).map(|_| ())
}

impl Mask {
    /// Whether `peer` lies within this network.
    pub fn matches(&self, peer: IpAddr) -> bool {
        let peer = match (self.addr, peer) {
            (IpAddr::V4(_), IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
                Some(v4) => IpAddr::V4(v4),
                None => return false,
            },
            (_, p) => p,
        };
        let (a, b, full): (u128, u128, u32) = match (self.addr, peer) {
            (IpAddr::V4(a), IpAddr::V4(b)) => (u32::from(a) as u128, u32::from(b) as u128, 32),
            (IpAddr::V6(a), IpAddr::V6(b)) => (u128::from(a), u128::from(b), 128),
            _ => return false,
        };
        let bits = u32::from(self.bits);
        if bits == 0 {
            return true;
        }
        let shift = full - bits;
        (a >> shift) == (b >> shift)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks() {
        let m = parse_mask("192.168.0.0/16", false).unwrap();
        assert!(m.matches("192.168.3.4".parse().unwrap()));
        assert!(!m.matches("10.0.0.1".parse().unwrap()));
        assert!(parse_mask("::1", false).is_err());
        assert!(parse_mask("::1", true).is_ok());
        assert!(parse_mask("1.2.3.4/33", false).is_err());
        assert!(parse_mask("1.2.3.4/x", false).is_err());
        assert!(parse_mask("localhost", false).is_err());
        assert!(parse_mask("1.2.3.4/0", false)
            .unwrap()
            .matches("9.9.9.9".parse().unwrap()));
    }
}
