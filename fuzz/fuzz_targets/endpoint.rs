//! Endpoint strings as a caller passes them to bind/connect: the URI split,
//! then every transport's address parser (tcp resolution for bind and
//! connect, v4 and v6, with source parts; the connect syntax check; accept
//! filter masks; ipc paths; udp addresses; ws/wss host and path; pgm/epgm
//! interface, group and port; norm id, interface, address and port; SOCKS
//! targets and proxy
//! values). Fuzz builds of zmqrs never ask DNS, so names fail fast.
#![no_main]
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;
use zmqrs::transport::{ipc, norm, parse_uri, pgm, socks, tcp, tcp_address, udp, Protocol};
use zmqrs::ws::WsEndpoint;

fn address(proto: Protocol, addr: &str) {
    match proto {
        Protocol::Tcp => {
            let _ = tcp::check_connect_syntax(addr);
            for (bind, v6) in [(true, false), (true, true), (false, false), (false, true)] {
                if let Ok(a) = tcp::resolve(addr, bind, v6) {
                    std::hint::black_box(tcp::to_uri(&a.addr));
                }
            }
            let _ = socks::parse_target(addr);
        }
        Protocol::Ipc => {
            let _ = ipc::sockaddr(addr);
        }
        Protocol::Udp => {
            for (bind, v6) in [(true, false), (true, true), (false, false), (false, true)] {
                if let Ok(a) = udp::UdpAddress::resolve(addr, bind, v6) {
                    std::hint::black_box((a.is_ipv6(), a.recv_bind_addr(), a.multicast_if_v4()));
                }
            }
        }
        Protocol::Ws | Protocol::Wss => {
            if let Ok(ep) = WsEndpoint::parse(addr, proto == Protocol::Wss) {
                for (bind, v6) in [(true, false), (false, true)] {
                    if let Ok(a) = tcp::resolve(&ep.authority, bind, v6) {
                        std::hint::black_box(ep.bound_uri(&a.addr));
                    }
                }
            }
        }
        Protocol::Pgm | Protocol::Epgm => {
            if let Ok(a) = pgm::parse(addr) {
                std::hint::black_box(a);
            }
        }
        Protocol::Norm => {
            if let Ok(a) = norm::parse(addr) {
                assert!(a.port != 0 && !a.address.is_empty());
                std::hint::black_box(a);
            }
        }
        Protocol::Inproc => {}
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok((proto, addr)) = parse_uri(s) {
        address(proto, addr);
    }
    // The same text as each transport's address, and as option values.
    for proto in [
        Protocol::Tcp,
        Protocol::Ipc,
        Protocol::Udp,
        Protocol::Ws,
        Protocol::Epgm,
        Protocol::Norm,
    ] {
        address(proto, s);
    }
    let _ = socks::parse_proxy_address(s);
    for v6 in [false, true] {
        if let Ok(m) = tcp_address::parse_mask(s, v6) {
            std::hint::black_box(m.matches(IpAddr::V4(Ipv4Addr::LOCALHOST)));
            std::hint::black_box(m.matches(IpAddr::V6(Ipv6Addr::LOCALHOST)));
        }
    }
});
