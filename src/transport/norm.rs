//! `norm://` addresses (libzmq `norm_engine_t::init`):
//! `[id,][interface;]address:port`.
//!
//! * `id`: our NORM node id, read with `atoi` as libzmq does; without it
//!   libnorm derives one from the host's address.
//! * `interface`: the multicast interface, a name (`eth0`) or an address,
//!   passed to libnorm as it is.
//! * `address`: a multicast group (or a unicast address) and `port` after
//!   the last ':' (`atoi`, kept to 16 bits as libzmq does). No ':' is
//!   EINVAL, as in libzmq; so are an empty address and port 0, which
//!   libnorm could not use (libzmq passes them on and aborts).

use crate::error::{Error, Result};
use crate::util::c_parse;

/// A parsed NORM address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NormAddress {
    /// Our NORM node id; `None`: libnorm's choice.
    pub node_id: Option<u32>,
    /// The multicast interface, as given.
    pub interface: Option<String>,
    /// The group or unicast address.
    pub address: String,
    /// The UDP port.
    pub port: u16,
}

/// libzmq's limits on the parts it copies into fixed buffers.
const ID_MAX: usize = 31;
const NAME_MAX: usize = 255;

/// Parses the part of a `norm://` endpoint after the scheme.
pub fn parse(addr: &str) -> Result<NormAddress> {
    let (node_id, rest) = match addr.split_once(',') {
        Some((id, rest)) => {
            let id = &id.as_bytes()[..id.len().min(ID_MAX)];
            (Some(c_parse::atoi(id) as u32), rest)
        }
        None => (None, addr),
    };
    let (interface, rest) = match rest.split_once(';') {
        Some((i, rest)) => {
            if i.is_empty() || i.len() > NAME_MAX {
                return Err(Error::EINVAL);
            }
            (Some(i.to_owned()), rest)
        }
        None => (None, rest),
    };
    let delim = rest.rfind(':').ok_or(Error::EINVAL)?;
    let address = &rest[..delim];
    let port = c_parse::atoi(&rest.as_bytes()[delim + 1..]) as u16;
    if address.is_empty() || address.len() > NAME_MAX || port == 0 {
        return Err(Error::EINVAL);
    }
    Ok(NormAddress {
        node_id,
        interface,
        address: address.to_owned(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_libzmq_forms() {
        assert_eq!(
            parse("239.192.1.1:5555").unwrap(),
            NormAddress {
                node_id: None,
                interface: None,
                address: "239.192.1.1".into(),
                port: 5555
            }
        );
        assert_eq!(
            parse("7,eth0;239.192.1.1:5555").unwrap(),
            NormAddress {
                node_id: Some(7),
                interface: Some("eth0".into()),
                address: "239.192.1.1".into(),
                port: 5555
            }
        );
        let a = parse("lo;224.1.2.3:99999").unwrap();
        assert_eq!((a.interface.as_deref(), a.port), (Some("lo"), 34463));
    }

    #[test]
    fn refuses_what_libnorm_cannot_use() {
        for bad in [
            "239.192.1.1",
            ":5555",
            "239.192.1.1:0",
            "239.192.1.1:x",
            ";1.2.3.4:5",
        ] {
            assert_eq!(parse(bad), Err(Error::EINVAL), "{bad}");
        }
    }
}
