//! Every public item of rust-zmq 0.10 (the `zmq` crate) with its exact
//! signature, checked at compile time: each function is assigned to a
//! function pointer of the type rust-zmq gives it, each type is checked for
//! the traits rust-zmq implements, each constant and variant for its type.
//! If this file compiles, a program using these items compiles too.
//!
//! The file uses nothing but rust-zmq 0.10's API, so that it also compiles
//! against the real crate (../against-rust-zmq.sh does that), which proves
//! the table itself right. Our extras are tested in zmqrs_extras.rs.
#![allow(deprecated)]

use std::ffi::{c_void, NulError};
use std::fmt::{Debug, Display};
use std::ops::{BitAnd, BitOr, Deref, DerefMut, Not, Sub};
use std::os::unix::io::{AsRawFd, RawFd};
use std::string::FromUtf8Error;

use zmq::{Context, Message, PollEvents, PollItem, Socket, SocketType};

type R<T> = zmq::Result<T>;
type Text = Result<String, Vec<u8>>;

fn is_send<T: Send>() {}
fn is_sync<T: Sync>() {}
fn is_clone<T: Clone>() {}
fn is_copy<T: Copy>() {}
fn is_default<T: Default>() {}
fn is_debug<T: Debug>() {}
fn is_display<T: Display>() {}
fn is_eq<T: Eq + PartialEq>() {}
fn is_error<T: std::error::Error + 'static>() {}
fn is_bytes<T: Deref<Target = [u8]> + DerefMut>() {}
fn is_raw_fd<T: AsRawFd>() {}
fn into_message<T: Into<Message>>() {}
fn sendable<T: zmq::Sendable>() {}
fn into_io_error<T: Into<std::io::Error>>() {}
fn from<T, U: From<T>>() {}
fn flags<
    T: Copy + Eq + Debug + BitOr<Output = T> + BitAnd<Output = T> + Not<Output = T> + Sub<Output = T>,
>() {
}

#[test]
fn crate_functions() {
    let _: fn() -> (i32, i32, i32) = zmq::version;
    let _: fn(&str) -> Option<bool> = zmq::has;
    let _: for<'a, 'b> fn(&'a mut [PollItem<'b>], i64) -> R<i32> = zmq::poll;
    let _: fn(&Socket, &Socket) -> R<()> = zmq::proxy;
    let _: fn(&mut Socket, &mut Socket, &mut Socket) -> R<()> = zmq::proxy_with_capture;
    let _: fn(&mut Socket, &mut Socket, &mut Socket) -> R<()> = zmq::proxy_steerable;
    let _: fn(&mut Socket, &mut Socket, &mut Socket, &mut Socket) -> R<()> =
        zmq::proxy_steerable_with_capture;
    let _: fn(&[u8]) -> Result<String, zmq::EncodeError> = zmq::z85_encode;
    let _: fn(&str) -> Result<Vec<u8>, zmq::DecodeError> = zmq::z85_decode;
}

#[test]
fn crate_constants() {
    let _: i32 = zmq::DONTWAIT;
    let _: i32 = zmq::SNDMORE;
    let _: &'static i32 = &zmq::DONTWAIT;
    let _: [PollEvents; 3] = [zmq::POLLIN, zmq::POLLOUT, zmq::POLLERR];
    let _: [SocketType; 12] = [
        zmq::PAIR,
        zmq::PUB,
        zmq::SUB,
        zmq::REQ,
        zmq::REP,
        zmq::DEALER,
        zmq::ROUTER,
        zmq::PULL,
        zmq::PUSH,
        zmq::XPUB,
        zmq::XSUB,
        zmq::STREAM,
    ];
    let _: [SocketType; 12] = [
        SocketType::PAIR,
        SocketType::PUB,
        SocketType::SUB,
        SocketType::REQ,
        SocketType::REP,
        SocketType::DEALER,
        SocketType::ROUTER,
        SocketType::PULL,
        SocketType::PUSH,
        SocketType::XPUB,
        SocketType::XSUB,
        SocketType::STREAM,
    ];
    let _: zmq::Result<()> = Ok(());
}

#[test]
fn types_and_traits() {
    is_send::<Context>();
    is_sync::<Context>();
    is_clone::<Context>();
    is_default::<Context>();

    is_send::<Socket>();
    is_raw_fd::<Socket>();

    is_send::<Message>();
    is_sync::<Message>();
    is_debug::<Message>();
    is_eq::<Message>();
    is_bytes::<Message>();

    is_copy::<zmq::Error>();
    is_eq::<zmq::Error>();
    is_debug::<zmq::Error>();
    is_display::<zmq::Error>();
    is_error::<zmq::Error>();
    into_io_error::<zmq::Error>();

    for_enum::<SocketType>();
    for_enum::<zmq::SocketEvent>();
    for_enum::<zmq::Mechanism>();
    fn for_enum<T: Copy + Debug + Eq>() {}

    flags::<PollEvents>();
    is_debug::<zmq::CurveKeyPair>();

    is_debug::<zmq::EncodeError>();
    is_error::<zmq::EncodeError>();
    from::<FromUtf8Error, zmq::EncodeError>();
    is_debug::<zmq::DecodeError>();
    is_error::<zmq::DecodeError>();
    from::<NulError, zmq::DecodeError>();
}

#[test]
fn message_conversions() {
    into_message::<&[u8]>();
    into_message::<Vec<u8>>();
    into_message::<Box<[u8]>>();
    into_message::<&str>();
    into_message::<&String>();
    // By cloning: any reference to something that converts.
    into_message::<&Vec<u8>>();
    into_message::<&Box<[u8]>>();
    into_message::<&&str>();
    into_message::<&&[u8]>();

    sendable::<Message>();
    sendable::<&str>();
    sendable::<&String>();
    sendable::<&[u8]>();
    sendable::<Vec<u8>>();
    sendable::<&Vec<u8>>();
    let _: fn(&'static str, &Socket, i32) -> R<()> = <&str as zmq::Sendable>::send;
}

#[test]
fn message_methods() {
    let _: fn() -> Message = Message::new;
    let _: fn(usize) -> Message = Message::with_size;
    let _: fn(usize) -> Message = Message::with_capacity;
    let _: unsafe fn(usize) -> Message = Message::with_capacity_unallocated;
    let _: fn(&[u8]) -> Message = Message::from_slice;
    let _: for<'a> fn(&'a Message) -> Option<&'a str> = Message::as_str;
    let _: fn(&Message) -> bool = Message::get_more;
    let _: for<'a, 'b> fn(&'a mut Message, &'b str) -> Option<&'a str> = Message::gets;
}

#[test]
fn context_methods() {
    let _: fn() -> Context = Context::new;
    let _: fn(&Context) -> R<i32> = Context::get_io_threads;
    let _: fn(&Context, i32) -> R<()> = Context::set_io_threads;
    let _: fn(&Context, SocketType) -> R<Socket> = Context::socket;
    let _: fn(&mut Context) -> R<()> = Context::destroy;
}

#[test]
fn socket_methods() {
    let _: fn(Socket) -> *mut c_void = Socket::into_raw;
    let _: unsafe fn(*mut c_void) -> Socket = Socket::from_raw;
    let _: fn(&mut Socket) -> *mut c_void = Socket::as_mut_ptr;

    let _: fn(&Socket, &str) -> R<()> = Socket::bind;
    let _: fn(&Socket, &str) -> R<()> = Socket::unbind;
    let _: fn(&Socket, &str) -> R<()> = Socket::connect;
    let _: fn(&Socket, &str) -> R<()> = Socket::disconnect;
    let _: fn(&Socket, &str, i32) -> R<()> = Socket::monitor;

    let _: fn(&Socket, Message, i32) -> R<()> = Socket::send::<Message>;
    let _: fn(&Socket, &'static str, i32) -> R<()> = Socket::send::<&str>;
    let _: fn(&Socket, &'static [u8], i32) -> R<()> = Socket::send::<&[u8]>;
    let _: fn(&Socket, Vec<u8>, i32) -> R<()> = Socket::send::<Vec<u8>>;
    let _: fn(&Socket, Message, i32) -> R<()> = Socket::send_msg;
    let _: fn(&Socket, &str, i32) -> R<()> = Socket::send_str;
    let _: fn(&Socket, Vec<Vec<u8>>, i32) -> R<()> =
        Socket::send_multipart::<Vec<Vec<u8>>, Vec<u8>>;
    let _: fn(&Socket, &'static [&'static str; 2], i32) -> R<()> =
        Socket::send_multipart::<&[&str; 2], &&str>;

    let _: fn(&Socket, &mut Message, i32) -> R<()> = Socket::recv;
    let _: fn(&Socket, &mut [u8], i32) -> R<usize> = Socket::recv_into;
    let _: fn(&Socket, i32) -> R<Message> = Socket::recv_msg;
    let _: fn(&Socket, i32) -> R<Vec<u8>> = Socket::recv_bytes;
    let _: fn(&Socket, i32) -> R<Text> = Socket::recv_string;
    let _: fn(&Socket, i32) -> R<Vec<Vec<u8>>> = Socket::recv_multipart;

    let _: for<'a> fn(&'a Socket, PollEvents) -> PollItem<'a> = Socket::as_poll_item;
    let _: fn(&Socket, PollEvents, i64) -> R<i32> = Socket::poll;
}

#[test]
fn socket_options() {
    type Get<T> = fn(&Socket) -> R<T>;
    type Set<T> = fn(&Socket, T) -> R<()>;

    let _: Get<bool> = Socket::is_ipv6;
    let _: Set<bool> = Socket::set_ipv6;
    let _: Get<bool> = Socket::is_immediate;
    let _: Set<bool> = Socket::set_immediate;
    let _: Get<bool> = Socket::is_plain_server;
    let _: Set<bool> = Socket::set_plain_server;
    let _: Get<bool> = Socket::is_conflate;
    let _: Set<bool> = Socket::set_conflate;
    let _: Get<bool> = Socket::is_probe_router;
    let _: Set<bool> = Socket::set_probe_router;
    let _: Get<bool> = Socket::is_router_mandatory;
    let _: Set<bool> = Socket::set_router_mandatory;
    let _: Get<bool> = Socket::is_router_handover;
    let _: Set<bool> = Socket::set_router_handover;
    let _: Get<bool> = Socket::is_curve_server;
    let _: Set<bool> = Socket::set_curve_server;
    let _: Get<bool> = Socket::is_gssapi_server;
    let _: Set<bool> = Socket::set_gssapi_server;
    let _: Get<bool> = Socket::is_gssapi_plaintext;
    let _: Set<bool> = Socket::set_gssapi_plaintext;
    let _: Set<bool> = Socket::set_req_relaxed;
    let _: Set<bool> = Socket::set_req_correlate;

    let _: Get<SocketType> = Socket::get_socket_type;
    let _: Get<bool> = Socket::get_rcvmore;

    let _: Get<i64> = Socket::get_maxmsgsize;
    let _: Set<i64> = Socket::set_maxmsgsize;
    let _: Get<i32> = Socket::get_sndhwm;
    let _: Set<i32> = Socket::set_sndhwm;
    let _: Get<i32> = Socket::get_rcvhwm;
    let _: Set<i32> = Socket::set_rcvhwm;
    let _: Get<u64> = Socket::get_affinity;
    let _: Set<u64> = Socket::set_affinity;
    let _: Get<i32> = Socket::get_rate;
    let _: Set<i32> = Socket::set_rate;
    let _: Get<i32> = Socket::get_recovery_ivl;
    let _: Set<i32> = Socket::set_recovery_ivl;
    let _: Get<i32> = Socket::get_sndbuf;
    let _: Set<i32> = Socket::set_sndbuf;
    let _: Get<i32> = Socket::get_rcvbuf;
    let _: Set<i32> = Socket::set_rcvbuf;
    let _: Get<i32> = Socket::get_tos;
    let _: Set<i32> = Socket::set_tos;
    let _: Get<i32> = Socket::get_linger;
    let _: Set<i32> = Socket::set_linger;
    let _: Get<i32> = Socket::get_reconnect_ivl;
    let _: Set<i32> = Socket::set_reconnect_ivl;
    let _: Get<i32> = Socket::get_reconnect_ivl_max;
    let _: Set<i32> = Socket::set_reconnect_ivl_max;
    let _: Get<i32> = Socket::get_backlog;
    let _: Set<i32> = Socket::set_backlog;
    let _: Get<RawFd> = Socket::get_fd;
    let _: Get<PollEvents> = Socket::get_events;
    let _: Get<i32> = Socket::get_multicast_hops;
    let _: Set<i32> = Socket::set_multicast_hops;
    let _: Get<i32> = Socket::get_rcvtimeo;
    let _: Set<i32> = Socket::set_rcvtimeo;
    let _: Get<i32> = Socket::get_sndtimeo;
    let _: Set<i32> = Socket::set_sndtimeo;
    let _: Get<i32> = Socket::get_tcp_keepalive;
    let _: Set<i32> = Socket::set_tcp_keepalive;
    let _: Get<i32> = Socket::get_tcp_keepalive_cnt;
    let _: Set<i32> = Socket::set_tcp_keepalive_cnt;
    let _: Get<i32> = Socket::get_tcp_keepalive_idle;
    let _: Set<i32> = Socket::set_tcp_keepalive_idle;
    let _: Get<i32> = Socket::get_tcp_keepalive_intvl;
    let _: Set<i32> = Socket::set_tcp_keepalive_intvl;
    let _: Get<i32> = Socket::get_handshake_ivl;
    let _: Set<i32> = Socket::set_handshake_ivl;
    let _: for<'a> fn(&Socket, &'a [u8]) -> R<()> = Socket::set_identity;
    let _: for<'a> fn(&Socket, &'a [u8]) -> R<()> = Socket::set_subscribe;
    let _: for<'a> fn(&Socket, &'a [u8]) -> R<()> = Socket::set_unsubscribe;
    let _: Get<i32> = Socket::get_heartbeat_ivl;
    let _: Set<i32> = Socket::set_heartbeat_ivl;
    let _: Get<i32> = Socket::get_heartbeat_ttl;
    let _: Set<i32> = Socket::set_heartbeat_ttl;
    let _: Get<i32> = Socket::get_heartbeat_timeout;
    let _: Set<i32> = Socket::set_heartbeat_timeout;
    let _: Get<i32> = Socket::get_connect_timeout;
    let _: Set<i32> = Socket::set_connect_timeout;

    let _: Get<Vec<u8>> = Socket::get_identity;
    let _: Get<Text> = Socket::get_socks_proxy;
    let _: Get<zmq::Mechanism> = Socket::get_mechanism;
    let _: Get<Text> = Socket::get_plain_username;
    let _: Get<Text> = Socket::get_plain_password;
    let _: Get<Text> = Socket::get_zap_domain;
    let _: Get<Text> = Socket::get_last_endpoint;
    let _: Get<Vec<u8>> = Socket::get_curve_publickey;
    let _: Get<Vec<u8>> = Socket::get_curve_secretkey;
    let _: Get<Vec<u8>> = Socket::get_curve_serverkey;
    let _: Get<Text> = Socket::get_gssapi_principal;
    let _: Get<Text> = Socket::get_gssapi_service_principal;

    let _: for<'a> fn(&Socket, Option<&'a str>) -> R<()> = Socket::set_socks_proxy;
    let _: for<'a> fn(&Socket, Option<&'a str>) -> R<()> = Socket::set_plain_username;
    let _: for<'a> fn(&Socket, Option<&'a str>) -> R<()> = Socket::set_plain_password;
    let _: for<'a> fn(&Socket, &'a str) -> R<()> = Socket::set_zap_domain;
    let _: for<'a> fn(&Socket, Option<&'a str>) -> R<()> = Socket::set_xpub_welcome_msg;
    let _: Set<bool> = Socket::set_xpub_verbose;
    let _: for<'a> fn(&Socket, &'a [u8]) -> R<()> = Socket::set_curve_publickey;
    let _: for<'a> fn(&Socket, &'a [u8]) -> R<()> = Socket::set_curve_secretkey;
    let _: for<'a> fn(&Socket, &'a [u8]) -> R<()> = Socket::set_curve_serverkey;
    let _: for<'a> fn(&Socket, &'a str) -> R<()> = Socket::set_gssapi_principal;
    let _: for<'a> fn(&Socket, &'a str) -> R<()> = Socket::set_gssapi_service_principal;
}

#[test]
fn poll_items_and_events() {
    let _: fn(RawFd, PollEvents) -> PollItem<'static> = PollItem::from_fd;
    let _: fn(&mut PollItem<'static>, PollEvents) = PollItem::set_events;
    let _: fn(&PollItem<'static>) -> PollEvents = PollItem::get_revents;
    let _: fn(&PollItem<'static>) -> bool = PollItem::is_readable;
    let _: fn(&PollItem<'static>) -> bool = PollItem::is_writable;
    let _: fn(&PollItem<'static>) -> bool = PollItem::is_error;
    let _: fn(&PollItem<'static>, &Socket) -> bool = PollItem::has_socket;
    let _: fn(&PollItem<'static>, RawFd) -> bool = PollItem::has_fd;

    let _: [PollEvents; 3] = [PollEvents::POLLIN, PollEvents::POLLOUT, PollEvents::POLLERR];
    let _: fn(&PollEvents) -> i16 = PollEvents::bits;
    let _: fn(i16) -> Option<PollEvents> = PollEvents::from_bits;
    let _: fn(i16) -> PollEvents = PollEvents::from_bits_truncate;
    let _: unsafe fn(i16) -> PollEvents = PollEvents::from_bits_unchecked;
    let _: fn() -> PollEvents = PollEvents::empty;
    let _: fn() -> PollEvents = PollEvents::all;
    let _: fn(&PollEvents) -> bool = PollEvents::is_empty;
    let _: fn(&PollEvents) -> bool = PollEvents::is_all;
    let _: fn(&PollEvents, PollEvents) -> bool = PollEvents::contains;
    let _: fn(&PollEvents, PollEvents) -> bool = PollEvents::intersects;
    let _: fn(&mut PollEvents, PollEvents) = PollEvents::insert;
    let _: fn(&mut PollEvents, PollEvents) = PollEvents::remove;
    let _: fn(&mut PollEvents, PollEvents) = PollEvents::toggle;
    let _: fn(&mut PollEvents, PollEvents, bool) = PollEvents::set;
}

#[test]
fn security_and_events() {
    let _: fn() -> R<zmq::CurveKeyPair> = zmq::CurveKeyPair::new;
    let _ =
        |pair: zmq::CurveKeyPair| -> ([u8; 32], [u8; 32]) { (pair.public_key, pair.secret_key) };

    let _: [zmq::Mechanism; 4] = [
        zmq::Mechanism::ZMQ_NULL,
        zmq::Mechanism::ZMQ_PLAIN,
        zmq::Mechanism::ZMQ_CURVE,
        zmq::Mechanism::ZMQ_GSSAPI,
    ];

    use zmq::SocketEvent;
    let _: fn(SocketEvent) -> u16 = SocketEvent::to_raw;
    let _: fn(u16) -> SocketEvent = SocketEvent::from_raw;
    let events = [
        SocketEvent::CONNECTED,
        SocketEvent::CONNECT_DELAYED,
        SocketEvent::CONNECT_RETRIED,
        SocketEvent::LISTENING,
        SocketEvent::BIND_FAILED,
        SocketEvent::ACCEPTED,
        SocketEvent::ACCEPT_FAILED,
        SocketEvent::CLOSED,
        SocketEvent::CLOSE_FAILED,
        SocketEvent::DISCONNECTED,
        SocketEvent::MONITOR_STOPPED,
        SocketEvent::HANDSHAKE_FAILED_NO_DETAIL,
        SocketEvent::HANDSHAKE_SUCCEEDED,
        SocketEvent::HANDSHAKE_FAILED_PROTOCOL,
        SocketEvent::HANDSHAKE_FAILED_AUTH,
        SocketEvent::ALL,
    ];
    // The discriminants are libzmq's event numbers.
    let numbers: Vec<i32> = events.iter().map(|&e| e as i32).collect();
    assert_eq!(
        numbers,
        [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 0xFFFF]
    );
    for e in events {
        assert_eq!(SocketEvent::from_raw(e.to_raw()), e);
    }

    let _ = |e: zmq::EncodeError| match e {
        zmq::EncodeError::BadLength => (),
        zmq::EncodeError::FromUtf8Error(_) => (),
    };
    let _ = |e: zmq::DecodeError| match e {
        zmq::DecodeError::BadLength => (),
        zmq::DecodeError::NulError(_) => (),
    };
}

#[test]
fn errors() {
    let _: fn(zmq::Error) -> i32 = zmq::Error::to_raw;
    let _: fn(i32) -> zmq::Error = zmq::Error::from_raw;
    let _: fn(zmq::Error) -> &'static str = zmq::Error::message;
    use zmq::Error::*;
    let all = [
        EACCES,
        EADDRINUSE,
        EAGAIN,
        EBUSY,
        ECONNREFUSED,
        EFAULT,
        EINTR,
        EHOSTUNREACH,
        EINPROGRESS,
        EINVAL,
        EMFILE,
        EMSGSIZE,
        ENAMETOOLONG,
        ENODEV,
        ENOENT,
        ENOMEM,
        ENOTCONN,
        ENOTSOCK,
        EPROTO,
        EPROTONOSUPPORT,
        ENOTSUP,
        ENOBUFS,
        ENETDOWN,
        EADDRNOTAVAIL,
        EFSM,
        ENOCOMPATPROTO,
        ETERM,
        EMTHREAD,
    ];
    for e in all {
        assert_eq!(zmq::Error::from_raw(e.to_raw()), e);
        assert!(!e.message().is_empty());
    }
    assert_eq!(ETERM.message(), "Context was terminated");
    let io: std::io::Error = EAGAIN.into();
    assert_eq!(io.kind(), std::io::ErrorKind::WouldBlock);
}
