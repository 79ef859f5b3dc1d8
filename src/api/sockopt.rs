//! Typed socket option accessors, with the `zmq` crate's names and
//! signatures: `get_x`/`is_x` read an option, `set_x` writes it.
//!
//! Options libzmq can only write (ROUTER_MANDATORY, PROBE_ROUTER,
//! REQ_RELAXED, ...) have getters only where the `zmq` crate has them;
//! those fail with EINVAL, as with libzmq. The GSSAPI options fail with
//! EINVAL too: like a libzmq built without GSSAPI, this library has none
//! (`has("gssapi")` is false).

use std::os::fd::RawFd;

use crate::constants::*;
use crate::error::{Error, Result};

use super::{Mechanism, PollEvents, Socket, SocketType};

/// Fixed-size option values, in the host's byte order as libzmq uses them.
trait Scalar: Sized {
    const SIZE: usize;
    fn decode(bytes: &[u8]) -> Option<Self>;
    fn encode(self) -> Vec<u8>;
}

impl Scalar for i32 {
    const SIZE: usize = 4;
    fn decode(bytes: &[u8]) -> Option<i32> {
        bytes.try_into().ok().map(i32::from_ne_bytes)
    }
    fn encode(self) -> Vec<u8> {
        self.to_ne_bytes().to_vec()
    }
}

impl Scalar for i64 {
    const SIZE: usize = 8;
    fn decode(bytes: &[u8]) -> Option<i64> {
        bytes.try_into().ok().map(i64::from_ne_bytes)
    }
    fn encode(self) -> Vec<u8> {
        self.to_ne_bytes().to_vec()
    }
}

impl Scalar for u64 {
    const SIZE: usize = 8;
    fn decode(bytes: &[u8]) -> Option<u64> {
        bytes.try_into().ok().map(u64::from_ne_bytes)
    }
    fn encode(self) -> Vec<u8> {
        self.to_ne_bytes().to_vec()
    }
}

/// Booleans travel as C ints, 0 or 1.
impl Scalar for bool {
    const SIZE: usize = 4;
    fn decode(bytes: &[u8]) -> Option<bool> {
        i32::decode(bytes).map(|v| v != 0)
    }
    fn encode(self) -> Vec<u8> {
        i32::from(self).encode()
    }
}

/// Getter and setter pairs of a fixed-size type.
macro_rules! scalar_options {
    ($( $(#[$doc:meta])* $get:ident, $set:ident: $ty:ty = $opt:ident, $what:literal; )*) => {
        $(
            #[doc = concat!("Reads ", $what, " (`", stringify!($opt), "`).")]
            $(#[$doc])*
            pub fn $get(&self) -> Result<$ty> {
                self.get_scalar::<$ty>($opt)
            }

            #[doc = concat!("Sets ", $what, " (`", stringify!($opt), "`).")]
            $(#[$doc])*
            pub fn $set(&self, value: $ty) -> Result<()> {
                self.set_scalar($opt, value)
            }
        )*
    };
}

/// Setters of options that cannot be read back.
macro_rules! scalar_setters {
    ($( $(#[$doc:meta])* $set:ident: $ty:ty = $opt:ident, $what:literal; )*) => {
        $(
            #[doc = concat!("Sets ", $what, " (`", stringify!($opt), "`, write-only).")]
            $(#[$doc])*
            pub fn $set(&self, value: $ty) -> Result<()> {
                self.set_scalar($opt, value)
            }
        )*
    };
}

/// Getters of text options, as the `zmq` crate has them: the inner `Err`
/// holds a value that is not UTF-8.
macro_rules! string_getters {
    ($( $(#[$doc:meta])* $get:ident = $opt:ident, $what:literal; )*) => {
        $(
            #[doc = concat!("Reads ", $what, " (`", stringify!($opt), "`); the inner `Err` holds a value that is not UTF-8.")]
            $(#[$doc])*
            pub fn $get(&self) -> Result<std::result::Result<String, Vec<u8>>> {
                self.get_text($opt)
            }
        )*
    };
}

/// Setters whose value is a string, a byte string, or an optional string
/// (`None` clears the option, as a NULL value in C).
macro_rules! bytes_setters {
    ($( $(#[$doc:meta])* $set:ident: $ty:ty = $opt:ident, $what:literal; )*) => {
        $(
            #[doc = concat!("Sets ", $what, " (`", stringify!($opt), "`).")]
            $(#[$doc])*
            pub fn $set(&self, value: $ty) -> Result<()> {
                self.set_value($opt, value)
            }
        )*
    };
}

/// What a byte-valued setter accepts.
trait OptionBytes {
    fn bytes(&self) -> Option<&[u8]>;
}

impl OptionBytes for &[u8] {
    fn bytes(&self) -> Option<&[u8]> {
        Some(self)
    }
}

impl OptionBytes for &str {
    fn bytes(&self) -> Option<&[u8]> {
        Some(self.as_bytes())
    }
}

impl OptionBytes for Option<&str> {
    fn bytes(&self) -> Option<&[u8]> {
        self.map(str::as_bytes)
    }
}

/// The largest text option value we read (a long inproc or ipc endpoint).
const MAX_TEXT: usize = 1 << 16;

impl Socket {
    fn get_scalar<T: Scalar>(&self, option: i32) -> Result<T> {
        let mut buf = [0u8; 8];
        let n = self.getsockopt_raw(option, &mut buf[..T::SIZE])?;
        buf.get(..n).and_then(T::decode).ok_or(Error::EINVAL)
    }

    fn set_scalar<T: Scalar>(&self, option: i32, value: T) -> Result<()> {
        self.setsockopt_raw(option, Some(&value.encode()))
    }

    fn set_value(&self, option: i32, value: impl OptionBytes) -> Result<()> {
        self.setsockopt_raw(option, value.bytes())
    }

    /// A binary option value of at most `max` bytes.
    fn get_blob(&self, option: i32, max: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; max];
        let n = self.getsockopt_raw(option, &mut buf)?;
        buf.truncate(n);
        Ok(buf)
    }

    /// A text option value, without its terminating NUL. Text options say
    /// EINVAL when the buffer is too small, so the buffer grows until the
    /// value fits (or it is clear that the option itself is refused).
    fn get_text(&self, option: i32) -> Result<std::result::Result<String, Vec<u8>>> {
        let mut size = 256;
        let mut bytes = loop {
            match self.get_blob(option, size) {
                Ok(b) => break b,
                Err(Error::EINVAL) if size < MAX_TEXT => size *= 4,
                Err(e) => return Err(e),
            }
        };
        if bytes.last() == Some(&0) {
            bytes.pop();
        }
        Ok(String::from_utf8(bytes).map_err(|e| e.into_bytes()))
    }

    /// The socket's type (`ZMQ_TYPE`).
    pub fn get_socket_type(&self) -> Result<SocketType> {
        SocketType::from_raw(self.get_scalar(ZMQ_TYPE)?).ok_or(Error::EINVAL)
    }

    /// Whether more frames of the message being received follow
    /// (`ZMQ_RCVMORE`).
    pub fn get_rcvmore(&self) -> Result<bool> {
        self.get_scalar(ZMQ_RCVMORE)
    }

    /// The descriptor that signals that the socket's state may have changed
    /// (`ZMQ_FD`): poll it for readability, then look at
    /// [`Socket::get_events`]; it is edge-triggered, as in libzmq.
    pub fn get_fd(&self) -> Result<RawFd> {
        self.get_scalar(ZMQ_FD)
    }

    /// What the socket can do now without blocking (`ZMQ_EVENTS`): a set of
    /// [`POLLIN`](crate::POLLIN) and [`POLLOUT`](crate::POLLOUT).
    ///
    /// ```
    /// let ctx = zmqrs::Context::new();
    /// let socket = ctx.socket(zmqrs::REQ).unwrap();
    /// let events = socket.get_events().unwrap();
    /// assert!(!events.contains(zmqrs::POLLIN));
    /// ```
    pub fn get_events(&self) -> Result<PollEvents> {
        self.get_scalar::<i32>(ZMQ_EVENTS)
            .map(|bits| PollEvents::from_bits_truncate(bits as i16))
    }

    /// The socket's security mechanism (`ZMQ_MECHANISM`).
    pub fn get_mechanism(&self) -> Result<Mechanism> {
        Mechanism::from_raw(self.get_scalar(ZMQ_MECHANISM)?).ok_or(Error::EINVAL)
    }

    /// The routing id (`ZMQ_ROUTING_ID`, formerly `ZMQ_IDENTITY`).
    pub fn get_identity(&self) -> Result<Vec<u8>> {
        self.get_blob(ZMQ_ROUTING_ID, 255)
    }

    /// The endpoint last bound or connected (`ZMQ_LAST_ENDPOINT`), with
    /// wildcards resolved: `tcp://127.0.0.1:*` comes back with its port.
    /// The inner `Err` holds a value that is not UTF-8.
    ///
    /// ```
    /// let ctx = zmqrs::Context::new();
    /// let socket = ctx.socket(zmqrs::REP).unwrap();
    /// socket.bind("tcp://127.0.0.1:*").unwrap();
    /// let endpoint = socket.get_last_endpoint().unwrap().unwrap();
    /// assert!(endpoint.starts_with("tcp://127.0.0.1:") && !endpoint.ends_with('*'));
    /// ```
    pub fn get_last_endpoint(&self) -> Result<std::result::Result<String, Vec<u8>>> {
        self.get_text(ZMQ_LAST_ENDPOINT)
    }

    /// [`Socket::get_last_endpoint`] as one `Result` (a value that is not
    /// UTF-8, which no endpoint of this library is, is converted lossily).
    pub fn last_endpoint(&self) -> Result<String> {
        Ok(self
            .get_last_endpoint()?
            .unwrap_or_else(|b| String::from_utf8_lossy(&b).into_owned()))
    }

    /// The CURVE public key, 32 raw bytes (`ZMQ_CURVE_PUBLICKEY`); see
    /// [`z85_encode`](crate::z85_encode) for its text form.
    pub fn get_curve_publickey(&self) -> Result<Vec<u8>> {
        self.get_blob(ZMQ_CURVE_PUBLICKEY, 32)
    }

    /// The CURVE secret key, 32 raw bytes (`ZMQ_CURVE_SECRETKEY`).
    pub fn get_curve_secretkey(&self) -> Result<Vec<u8>> {
        self.get_blob(ZMQ_CURVE_SECRETKEY, 32)
    }

    /// The server's CURVE public key, 32 raw bytes (`ZMQ_CURVE_SERVERKEY`).
    pub fn get_curve_serverkey(&self) -> Result<Vec<u8>> {
        self.get_blob(ZMQ_CURVE_SERVERKEY, 32)
    }

    string_getters! {
        get_socks_proxy = ZMQ_SOCKS_PROXY, "the SOCKS5 proxy address";
        get_plain_username = ZMQ_PLAIN_USERNAME, "the PLAIN user name";
        get_plain_password = ZMQ_PLAIN_PASSWORD, "the PLAIN password";
        get_zap_domain = ZMQ_ZAP_DOMAIN, "the ZAP domain";
        /// Always EINVAL: this library has no GSSAPI.
        get_gssapi_principal = ZMQ_GSSAPI_PRINCIPAL, "the GSSAPI principal";
        /// Always EINVAL: this library has no GSSAPI.
        get_gssapi_service_principal = ZMQ_GSSAPI_SERVICE_PRINCIPAL, "the GSSAPI service principal";
        get_bindtodevice = ZMQ_BINDTODEVICE, "the network interface bound to";
    }

    bytes_setters! {
        /// A ROUTER addresses this socket's messages by it; 1 to 255 bytes.
        set_identity: &[u8] = ZMQ_ROUTING_ID, "the routing id";
        /// Subscribes a SUB socket to messages starting with the prefix
        /// (empty: all messages).
        set_subscribe: &[u8] = ZMQ_SUBSCRIBE, "a subscription";
        /// Removes one earlier subscription with the same prefix.
        set_unsubscribe: &[u8] = ZMQ_UNSUBSCRIBE, "a removed subscription";
        /// `None` connects directly.
        set_socks_proxy: Option<&str> = ZMQ_SOCKS_PROXY, "the SOCKS5 proxy address (`host:port`)";
        /// `None` turns PLAIN off again.
        set_plain_username: Option<&str> = ZMQ_PLAIN_USERNAME, "the PLAIN user name, making this a PLAIN client";
        /// `None` turns PLAIN off again.
        set_plain_password: Option<&str> = ZMQ_PLAIN_PASSWORD, "the PLAIN password, making this a PLAIN client";
        set_zap_domain: &str = ZMQ_ZAP_DOMAIN, "the ZAP domain";
        /// `None`: no welcome message.
        set_xpub_welcome_msg: Option<&str> = ZMQ_XPUB_WELCOME_MSG, "the message an XPUB sends to each new subscriber";
        /// 32 raw bytes or 40 Z85 characters.
        set_curve_publickey: &[u8] = ZMQ_CURVE_PUBLICKEY, "the CURVE public key";
        /// 32 raw bytes or 40 Z85 characters.
        set_curve_secretkey: &[u8] = ZMQ_CURVE_SECRETKEY, "the CURVE secret key";
        /// 32 raw bytes or 40 Z85 characters; this makes the socket a CURVE
        /// client.
        set_curve_serverkey: &[u8] = ZMQ_CURVE_SERVERKEY, "the server's CURVE public key";
        /// Always EINVAL: this library has no GSSAPI.
        set_gssapi_principal: &str = ZMQ_GSSAPI_PRINCIPAL, "the GSSAPI principal";
        /// Always EINVAL: this library has no GSSAPI.
        set_gssapi_service_principal: &str = ZMQ_GSSAPI_SERVICE_PRINCIPAL, "the GSSAPI service principal";
        /// For a ROUTER (or STREAM) connecting: the routing id to give the
        /// next peer connected.
        set_connect_routing_id: &[u8] = ZMQ_CONNECT_ROUTING_ID, "the routing id of the next connection";
        /// `None` clears it.
        set_socks_username: Option<&str> = ZMQ_SOCKS_USERNAME, "the SOCKS5 user name";
        /// `None` clears it.
        set_socks_password: Option<&str> = ZMQ_SOCKS_PASSWORD, "the SOCKS5 password";
        /// Each call adds one `X-key:value` property sent in the handshake.
        set_metadata: &str = ZMQ_METADATA, "application metadata";
        /// Each call adds one address or `address/bits` mask; `None`
        /// clears the list.
        set_tcp_accept_filter: Option<&str> = ZMQ_TCP_ACCEPT_FILTER, "a TCP accept filter";
        /// `None` clears it.
        set_bindtodevice: Option<&str> = ZMQ_BINDTODEVICE, "the network interface to bind to";
        set_hello_msg: &[u8] = ZMQ_HELLO_MSG, "the message sent to each new peer";
        set_disconnect_msg: &[u8] = ZMQ_DISCONNECT_MSG, "the message received when a peer disconnects";
        set_hiccup_msg: &[u8] = ZMQ_HICCUP_MSG, "the message received when a connection is remade";
    }

    scalar_options! {
        /// Also accept IPv6 addresses.
        is_ipv6, set_ipv6: bool = ZMQ_IPV6, "whether IPv6 is used as well as IPv4";
        /// Queue messages only to completed connections.
        is_immediate, set_immediate: bool = ZMQ_IMMEDIATE, "whether messages wait for a completed connection";
        is_plain_server, set_plain_server: bool = ZMQ_PLAIN_SERVER, "whether this is a PLAIN server";
        is_conflate, set_conflate: bool = ZMQ_CONFLATE, "whether only the last message is kept";
        /// EINVAL on reading: libzmq cannot read it back.
        is_probe_router, set_probe_router: bool = ZMQ_PROBE_ROUTER, "whether an empty message announces a new connection";
        /// EINVAL on reading: libzmq cannot read it back.
        is_router_mandatory, set_router_mandatory: bool = ZMQ_ROUTER_MANDATORY, "whether a ROUTER fails on unroutable messages";
        /// EINVAL on reading: libzmq cannot read it back.
        is_router_handover, set_router_handover: bool = ZMQ_ROUTER_HANDOVER, "whether a ROUTER hands a taken routing id to the new peer";
        /// Needs [`Socket::set_curve_secretkey`] too.
        is_curve_server, set_curve_server: bool = ZMQ_CURVE_SERVER, "whether this is a CURVE server";
        /// Always EINVAL: this library has no GSSAPI.
        is_gssapi_server, set_gssapi_server: bool = ZMQ_GSSAPI_SERVER, "whether this is a GSSAPI server";
        /// Always EINVAL: this library has no GSSAPI.
        is_gssapi_plaintext, set_gssapi_plaintext: bool = ZMQ_GSSAPI_PLAINTEXT, "whether GSSAPI skips encryption";
        is_invert_matching, set_invert_matching: bool = ZMQ_INVERT_MATCHING, "whether PUB/SUB matching is inverted";
        is_zap_enforce_domain, set_zap_enforce_domain: bool = ZMQ_ZAP_ENFORCE_DOMAIN, "whether ZAP requires a domain";

        /// -1: no limit.
        get_maxmsgsize, set_maxmsgsize: i64 = ZMQ_MAXMSGSIZE, "the largest message accepted from a peer";
        get_affinity, set_affinity: u64 = ZMQ_AFFINITY, "the I/O thread affinity bit mask";

        get_sndhwm, set_sndhwm: i32 = ZMQ_SNDHWM, "the high-water mark of outgoing messages";
        get_rcvhwm, set_rcvhwm: i32 = ZMQ_RCVHWM, "the high-water mark of incoming messages";
        /// In kilobits per second (PGM, which this library lacks).
        get_rate, set_rate: i32 = ZMQ_RATE, "the multicast data rate";
        /// In milliseconds (PGM, which this library lacks).
        get_recovery_ivl, set_recovery_ivl: i32 = ZMQ_RECOVERY_IVL, "the multicast recovery interval";
        /// -1: the system's default.
        get_sndbuf, set_sndbuf: i32 = ZMQ_SNDBUF, "the kernel send buffer size";
        /// -1: the system's default.
        get_rcvbuf, set_rcvbuf: i32 = ZMQ_RCVBUF, "the kernel receive buffer size";
        get_tos, set_tos: i32 = ZMQ_TOS, "the IP type of service";
        /// In milliseconds; -1: until delivered, 0: drop at once.
        get_linger, set_linger: i32 = ZMQ_LINGER, "how long pending messages are kept after close";
        /// In milliseconds; -1: never reconnect.
        get_reconnect_ivl, set_reconnect_ivl: i32 = ZMQ_RECONNECT_IVL, "the reconnect interval";
        /// In milliseconds; 0: no back-off.
        get_reconnect_ivl_max, set_reconnect_ivl_max: i32 = ZMQ_RECONNECT_IVL_MAX, "the largest reconnect interval";
        get_backlog, set_backlog: i32 = ZMQ_BACKLOG, "the listen backlog";
        get_multicast_hops, set_multicast_hops: i32 = ZMQ_MULTICAST_HOPS, "the multicast hop limit";
        /// In milliseconds; -1: no limit.
        get_rcvtimeo, set_rcvtimeo: i32 = ZMQ_RCVTIMEO, "the receive timeout";
        /// In milliseconds; -1: no limit.
        get_sndtimeo, set_sndtimeo: i32 = ZMQ_SNDTIMEO, "the send timeout";
        /// -1: the system's default, 0: off, 1: on.
        get_tcp_keepalive, set_tcp_keepalive: i32 = ZMQ_TCP_KEEPALIVE, "TCP keep-alive";
        /// -1: the system's default.
        get_tcp_keepalive_cnt, set_tcp_keepalive_cnt: i32 = ZMQ_TCP_KEEPALIVE_CNT, "the number of unanswered TCP keep-alive probes before a drop";
        /// In seconds; -1: the system's default.
        get_tcp_keepalive_idle, set_tcp_keepalive_idle: i32 = ZMQ_TCP_KEEPALIVE_IDLE, "the idle time before TCP keep-alive probes";
        /// In seconds; -1: the system's default.
        get_tcp_keepalive_intvl, set_tcp_keepalive_intvl: i32 = ZMQ_TCP_KEEPALIVE_INTVL, "the interval of TCP keep-alive probes";
        /// In milliseconds; 0: no limit.
        get_handshake_ivl, set_handshake_ivl: i32 = ZMQ_HANDSHAKE_IVL, "the handshake time limit";
        /// In milliseconds; 0: no heartbeats.
        get_heartbeat_ivl, set_heartbeat_ivl: i32 = ZMQ_HEARTBEAT_IVL, "the ZMTP heartbeat interval";
        /// In milliseconds, rounded down to tenths of seconds.
        get_heartbeat_ttl, set_heartbeat_ttl: i32 = ZMQ_HEARTBEAT_TTL, "the heartbeat time-to-live asked of the peer";
        /// In milliseconds.
        get_heartbeat_timeout, set_heartbeat_timeout: i32 = ZMQ_HEARTBEAT_TIMEOUT, "how long to wait for a heartbeat reply";
        /// In milliseconds; 0: the system's limit.
        get_connect_timeout, set_connect_timeout: i32 = ZMQ_CONNECT_TIMEOUT, "the TCP connect timeout";
        /// In milliseconds; 0: the system's default.
        get_tcp_maxrt, set_tcp_maxrt: i32 = ZMQ_TCP_MAXRT, "the TCP retransmission time limit";
        get_multicast_maxtpdu, set_multicast_maxtpdu: i32 = ZMQ_MULTICAST_MAXTPDU, "the largest multicast transport data unit";
        /// `ZMQ_RECONNECT_STOP_*` flags.
        get_reconnect_stop, set_reconnect_stop: i32 = ZMQ_RECONNECT_STOP, "when reconnecting stops";
        /// `ZMQ_NOTIFY_CONNECT | ZMQ_NOTIFY_DISCONNECT` flags.
        get_router_notify, set_router_notify: i32 = ZMQ_ROUTER_NOTIFY, "which peer events a ROUTER reports as messages";
        get_in_batch_size, set_in_batch_size: i32 = ZMQ_IN_BATCH_SIZE, "the receive batch size in bytes";
        get_out_batch_size, set_out_batch_size: i32 = ZMQ_OUT_BATCH_SIZE, "the send batch size in bytes";
    }

    scalar_setters! {
        /// A REQ may send a new request before the reply to the last one.
        set_req_relaxed: bool = ZMQ_REQ_RELAXED, "whether a REQ is relaxed";
        /// A REQ tags requests and drops replies to older ones.
        set_req_correlate: bool = ZMQ_REQ_CORRELATE, "whether a REQ matches replies to requests";
        /// An XPUB passes duplicate subscriptions up too.
        set_xpub_verbose: bool = ZMQ_XPUB_VERBOSE, "whether an XPUB passes every subscription";
        /// An XPUB passes duplicate subscriptions and unsubscriptions up.
        set_xpub_verboser: bool = ZMQ_XPUB_VERBOSER, "whether an XPUB passes every (un)subscription";
        /// An XPUB blocks (or says EAGAIN) at the high-water mark instead of
        /// dropping.
        set_xpub_nodrop: bool = ZMQ_XPUB_NODROP, "whether an XPUB never drops";
        /// Subscriptions take effect only when the application sets them.
        set_xpub_manual: bool = ZMQ_XPUB_MANUAL, "whether an XPUB manages subscriptions itself";
        /// A ROUTER talks raw TCP, as STREAM.
        set_router_raw: bool = ZMQ_ROUTER_RAW, "whether a ROUTER is raw";
        /// A STREAM socket reports connects and disconnects.
        set_stream_notify: bool = ZMQ_STREAM_NOTIFY, "whether a STREAM socket reports connections";
    }
}
