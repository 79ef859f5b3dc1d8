//! ZMTP metadata properties (RFC 37 "Commands"): a sequence of
//! name (1-byte length) and value (4-byte length) pairs, carried by READY,
//! INITIATE and WELCOME commands.

use crate::constants::*;

/// One property: name and raw value.
pub type Property = (String, Vec<u8>);

/// Appends one property in wire form.
pub fn encode(out: &mut Vec<u8>, name: &str, value: &[u8]) {
    let name = &name.as_bytes()[..name.len().min(255)];
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out.extend_from_slice(&(value.len() as u32).to_be_bytes());
    out.extend_from_slice(value);
}

/// Parses a property list. A trailing single byte is tolerated (libzmq
/// stops at fewer than two bytes); anything else malformed is an error.
pub fn parse(mut data: &[u8]) -> Option<Vec<Property>> {
    let mut props = Vec::new();
    while data.len() > 1 {
        let name_len = data[0] as usize;
        data = &data[1..];
        if data.len() < name_len {
            return None;
        }
        let name = String::from_utf8_lossy(&data[..name_len]).into_owned();
        data = &data[name_len..];
        if data.len() < 4 {
            return None;
        }
        let value_len = u32::from_be_bytes([data[0], data[1], data[2], data[3]]) as usize;
        data = &data[4..];
        if data.len() < value_len {
            return None;
        }
        props.push((name, data[..value_len].to_vec()));
        data = &data[value_len..];
    }
    if !data.is_empty() {
        return None;
    }
    Some(props)
}

/// The ZMTP name of a socket type.
pub fn socket_type_name(t: i32) -> &'static str {
    match t {
        ZMQ_PAIR => "PAIR",
        ZMQ_PUB => "PUB",
        ZMQ_SUB => "SUB",
        ZMQ_REQ => "REQ",
        ZMQ_REP => "REP",
        ZMQ_DEALER => "DEALER",
        ZMQ_ROUTER => "ROUTER",
        ZMQ_PULL => "PULL",
        ZMQ_PUSH => "PUSH",
        ZMQ_XPUB => "XPUB",
        ZMQ_XSUB => "XSUB",
        ZMQ_STREAM => "STREAM",
        ZMQ_SERVER => "SERVER",
        ZMQ_CLIENT => "CLIENT",
        ZMQ_RADIO => "RADIO",
        ZMQ_DISH => "DISH",
        ZMQ_GATHER => "GATHER",
        ZMQ_SCATTER => "SCATTER",
        ZMQ_DGRAM => "DGRAM",
        ZMQ_PEER => "PEER",
        ZMQ_CHANNEL => "CHANNEL",
        _ => "",
    }
}

/// Whether a peer of type `peer` may talk to a socket of type `ours`
/// (the compatibility table of RFC 37 and libzmq).
pub fn compatible(ours: i32, peer: &[u8]) -> bool {
    let ok: &[&str] = match ours {
        ZMQ_REQ => &["REP", "ROUTER"],
        ZMQ_REP => &["REQ", "DEALER"],
        ZMQ_DEALER => &["REP", "DEALER", "ROUTER"],
        ZMQ_ROUTER => &["REQ", "DEALER", "ROUTER"],
        ZMQ_PUSH => &["PULL"],
        ZMQ_PULL => &["PUSH"],
        ZMQ_PUB => &["SUB", "XSUB"],
        ZMQ_SUB => &["PUB", "XPUB"],
        ZMQ_XPUB => &["SUB", "XSUB"],
        ZMQ_XSUB => &["PUB", "XPUB"],
        ZMQ_PAIR => &["PAIR"],
        ZMQ_SERVER => &["CLIENT"],
        ZMQ_CLIENT => &["SERVER"],
        ZMQ_RADIO => &["DISH"],
        ZMQ_DISH => &["RADIO"],
        ZMQ_GATHER => &["SCATTER"],
        ZMQ_SCATTER => &["GATHER"],
        ZMQ_DGRAM => &["DGRAM"],
        ZMQ_PEER => &["PEER"],
        ZMQ_CHANNEL => &["CHANNEL"],
        _ => &[],
    };
    ok.iter().any(|n| n.as_bytes() == peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut b = Vec::new();
        encode(&mut b, "Socket-Type", b"DEALER");
        encode(&mut b, "Identity", b"");
        let p = parse(&b).unwrap();
        assert_eq!(p[0], ("Socket-Type".to_string(), b"DEALER".to_vec()));
        assert_eq!(p[1].1, b"");
        assert!(parse(&b[..b.len() - 2]).is_none());
        assert!(parse(&[5, b'a']).is_none());
        assert!(parse(&[]).unwrap().is_empty());
    }

    #[test]
    fn compatibility() {
        assert!(compatible(ZMQ_REQ, b"ROUTER"));
        assert!(!compatible(ZMQ_REQ, b"REQ"));
        assert!(!compatible(ZMQ_PAIR, b"PAIRX"));
    }
}
