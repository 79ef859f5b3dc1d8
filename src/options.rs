//! Socket options shared by every socket type, with libzmq's exact rules for
//! which values and sizes are accepted (src/options.cpp).
//!
//! Options are set and read as raw bytes, the way `zmq_setsockopt` and
//! `zmq_getsockopt` pass them; the Rust API encodes its typed values into the
//! same path, so both faces apply identical validation. Options that belong
//! to one socket type (ROUTER_MANDATORY, SUBSCRIBE, ...) are handled by that
//! type first; whatever it does not claim comes here.
//!
//! Owned by the socket's owning thread; sessions get a copy at creation.

use std::collections::{BTreeMap, BTreeSet};

use crate::constants::*;
use crate::error::{Error, Result};

/// Length of a binary CURVE key.
pub const CURVE_KEYSIZE: usize = 32;
/// Length of a Z85-encoded CURVE key.
pub const CURVE_KEYSIZE_Z85: usize = 40;

/// Whether this build supports the CURVE mechanism.
pub const HAVE_CURVE: bool = true;

/// The draft options that a libzmq 4.3.5 built without the draft API (its
/// release tarballs' default, and every distribution's build) refuses with
/// EINVAL, to set and to read. Its other draft options (ZMQ_ZAP_ENFORCE_DOMAIN,
/// ZMQ_LOOPBACK_FASTPATH, ZMQ_METADATA, ZMQ_MULTICAST_LOOP,
/// ZMQ_XPUB_MANUAL_LAST_VALUE, ZMQ_SOCKS_USERNAME/PASSWORD,
/// ZMQ_ONLY_FIRST_SUBSCRIBE, ZMQ_RECONNECT_STOP, ZMQ_TOPICS_COUNT) and its
/// draft socket types work in such a build too, so they are not listed.
///
/// The Rust API always has the draft API; the C ABI (capi) refuses these
/// when it is built without its `draft` feature.
pub const STABLE_BUILD_REFUSES: [i32; 22] = [
    ZMQ_ROUTER_NOTIFY,
    ZMQ_IN_BATCH_SIZE,
    ZMQ_OUT_BATCH_SIZE,
    ZMQ_WSS_KEY_PEM,
    ZMQ_WSS_CERT_PEM,
    ZMQ_WSS_TRUST_PEM,
    ZMQ_WSS_HOSTNAME,
    ZMQ_WSS_TRUST_SYSTEM,
    ZMQ_HELLO_MSG,
    ZMQ_DISCONNECT_MSG,
    ZMQ_PRIORITY,
    ZMQ_BUSY_POLL,
    ZMQ_HICCUP_MSG,
    ZMQ_XSUB_VERBOSE_UNSUBSCRIBE,
    ZMQ_NORM_MODE,
    ZMQ_NORM_UNICAST_NACK,
    ZMQ_NORM_BUFFER_SIZE,
    ZMQ_NORM_SEGMENT_SIZE,
    ZMQ_NORM_BLOCK_SIZE,
    ZMQ_NORM_NUM_PARITY,
    ZMQ_NORM_NUM_AUTOPARITY,
    ZMQ_NORM_PUSH,
];

/// Whether a libzmq built without the draft API refuses this option
/// ([`STABLE_BUILD_REFUSES`]).
pub fn draft_only(option: i32) -> bool {
    STABLE_BUILD_REFUSES.contains(&option)
}

/// Socket options (libzmq's `options_t`).
#[derive(Clone, Debug)]
pub struct Options {
    /// ZMQ_SNDHWM: most messages queued per outgoing pipe (0: no limit).
    pub sndhwm: i32,
    /// ZMQ_RCVHWM: most messages queued per incoming pipe (0: no limit).
    pub rcvhwm: i32,
    /// ZMQ_AFFINITY: bit mask of the I/O threads new connections may use.
    pub affinity: u64,
    /// ZMQ_ROUTING_ID: the id this socket announces to ROUTER peers (empty: none).
    pub routing_id: Vec<u8>,
    /// ZMQ_RATE: multicast rate in kbit/s (PGM sources pace to it; it also
    /// sizes the PGM windows with ZMQ_RECOVERY_IVL).
    pub rate: i32,
    /// ZMQ_RECOVERY_IVL: how long, in ms, PGM data stays repairable.
    pub recovery_ivl: i32,
    /// ZMQ_MULTICAST_HOPS: TTL of outgoing multicast packets.
    pub multicast_hops: i32,
    /// ZMQ_MULTICAST_MAXTPDU: largest multicast transport data unit.
    pub multicast_maxtpdu: i32,
    /// ZMQ_SNDBUF: kernel send buffer size (-1: the system default).
    pub sndbuf: i32,
    /// ZMQ_RCVBUF: kernel receive buffer size (-1: the system default).
    pub rcvbuf: i32,
    /// ZMQ_TOS: IP type-of-service byte of outgoing packets.
    pub tos: i32,
    /// ZMQ_PRIORITY: SO_PRIORITY of the socket's connections.
    pub priority: i32,
    /// ZMQ_TYPE: the socket type number.
    pub socket_type: i32,
    /// ZMQ_LINGER in ms: how long unsent messages outlive close (-1: until sent).
    pub linger: i32,
    /// ZMQ_CONNECT_TIMEOUT in ms (0: the system's).
    pub connect_timeout: i32,
    /// ZMQ_TCP_MAXRT in ms: TCP_USER_TIMEOUT (0: the system's).
    pub tcp_maxrt: i32,
    /// ZMQ_RECONNECT_STOP flags: when a connecter gives up.
    pub reconnect_stop: i32,
    /// ZMQ_RECONNECT_IVL in ms (-1: never reconnect).
    pub reconnect_ivl: i32,
    /// ZMQ_RECONNECT_IVL_MAX in ms: back-off ceiling (0: no back-off).
    pub reconnect_ivl_max: i32,
    /// ZMQ_BACKLOG: listen(2) backlog.
    pub backlog: i32,
    /// ZMQ_MAXMSGSIZE: largest message accepted from a peer (-1: no limit).
    pub maxmsgsize: i64,
    /// ZMQ_RCVTIMEO in ms (-1: block forever).
    pub rcvtimeo: i32,
    /// ZMQ_SNDTIMEO in ms (-1: block forever).
    pub sndtimeo: i32,
    /// ZMQ_IPV6: resolve and accept IPv6 as well as IPv4.
    pub ipv6: bool,
    /// ZMQ_IMMEDIATE: queue only to completed connections (0 or 1).
    pub immediate: i32,
    /// Whether the socket filters messages by subscription (PUB/XPUB side).
    pub filter: bool,
    /// ZMQ_INVERT_MATCHING: deliver what does not match a subscription.
    pub invert_matching: bool,
    /// Whether peers announce a routing id to this socket (ROUTER, STREAM...).
    pub recv_routing_id: bool,
    /// Whether the socket speaks raw bytes instead of ZMTP (STREAM, ROUTER_RAW).
    pub raw_socket: bool,
    /// Raw sockets: announce connects and disconnects with empty messages.
    pub raw_notify: bool,
    /// ZMQ_SOCKS_PROXY: `host:port` of a SOCKS5 proxy (empty: none).
    pub socks_proxy_address: String,
    /// Raw bytes: SOCKS credentials need not be UTF-8.
    pub socks_proxy_username: Vec<u8>,
    /// ZMQ_SOCKS_PASSWORD.
    pub socks_proxy_password: Vec<u8>,
    /// ZMQ_WSS_KEY_PEM, ZMQ_WSS_CERT_PEM, ZMQ_WSS_TRUST_PEM,
    /// ZMQ_WSS_HOSTNAME and ZMQ_WSS_TRUST_SYSTEM (set only, as in libzmq).
    pub wss: WssOptions,
    /// ZMQ_TCP_KEEPALIVE: -1 system default, 0 off, 1 on.
    pub tcp_keepalive: i32,
    /// ZMQ_TCP_KEEPALIVE_CNT (-1: the system's).
    pub tcp_keepalive_cnt: i32,
    /// ZMQ_TCP_KEEPALIVE_IDLE in s (-1: the system's).
    pub tcp_keepalive_idle: i32,
    /// ZMQ_TCP_KEEPALIVE_INTVL in s (-1: the system's).
    pub tcp_keepalive_intvl: i32,
    /// ZMQ_TCP_ACCEPT_FILTER: address masks a listener accepts (empty: all).
    pub tcp_accept_filters: Vec<String>,
    /// ZMQ_IPC_FILTER_UID: peer user ids an ipc listener accepts (empty: all).
    pub ipc_uid_accept_filters: BTreeSet<u32>,
    /// ZMQ_IPC_FILTER_GID: peer group ids an ipc listener accepts (empty: all).
    pub ipc_gid_accept_filters: BTreeSet<u32>,
    /// ZMQ_IPC_FILTER_PID: peer process ids an ipc listener accepts (empty: all).
    pub ipc_pid_accept_filters: BTreeSet<i32>,
    /// ZMQ_MECHANISM: ZMQ_NULL, ZMQ_PLAIN or ZMQ_CURVE.
    pub mechanism: i32,
    /// ZMQ_PLAIN_SERVER / ZMQ_CURVE_SERVER: 1 if this side is the security server.
    pub as_server: i32,
    /// ZMQ_ZAP_DOMAIN.
    pub zap_domain: String,
    /// ZMQ_PLAIN_USERNAME.
    pub plain_username: String,
    /// ZMQ_PLAIN_PASSWORD.
    pub plain_password: String,
    /// ZMQ_CURVE_PUBLICKEY (binary).
    pub curve_public_key: [u8; CURVE_KEYSIZE],
    /// ZMQ_CURVE_SECRETKEY (binary).
    pub curve_secret_key: [u8; CURVE_KEYSIZE],
    /// ZMQ_CURVE_SERVERKEY (binary).
    pub curve_server_key: [u8; CURVE_KEYSIZE],
    /// The socket's number within its context.
    pub socket_id: i32,
    /// ZMQ_CONFLATE: keep only the last message.
    pub conflate: bool,
    /// ZMQ_HANDSHAKE_IVL in ms (0: no limit).
    pub handshake_ivl: i32,
    /// Whether the socket has been bound or connected at least once.
    pub connected: bool,
    /// ZMQ_HEARTBEAT_TTL in deciseconds, as sent in PING.
    pub heartbeat_ttl: u16,
    /// ZMQ_HEARTBEAT_IVL in ms (0: no heartbeats).
    pub heartbeat_interval: i32,
    /// ZMQ_HEARTBEAT_TIMEOUT in ms (-1: the interval).
    pub heartbeat_timeout: i32,
    /// ZMQ_USE_FD: a ready listening descriptor to use for the next bind (-1: none).
    pub use_fd: i32,
    /// ZMQ_BINDTODEVICE: interface name (empty: any).
    pub bound_device: String,
    /// ZMQ_ZAP_ENFORCE_DOMAIN: ZAP is asked only with a domain set.
    pub zap_enforce_domain: bool,
    /// ZMQ_LOOPBACK_FASTPATH (Windows only in libzmq; kept).
    pub loopback_fastpath: bool,
    /// ZMQ_MULTICAST_LOOP: receive our own multicast.
    pub multicast_loop: bool,
    /// ZMQ_IN_BATCH_SIZE: bytes read per batch.
    pub in_batch_size: i32,
    /// ZMQ_OUT_BATCH_SIZE: bytes written per batch.
    pub out_batch_size: i32,
    /// Whether large received messages may keep the read buffer (no copy).
    pub zero_copy: bool,
    /// ZMQ_ROUTER_NOTIFY: ZMQ_NOTIFY_CONNECT / ZMQ_NOTIFY_DISCONNECT flags.
    pub router_notify: i32,
    /// ZMQ_METADATA: application `X-` properties sent in the handshake.
    pub app_metadata: BTreeMap<String, String>,
    /// Event format of the monitor (1 or 2).
    pub monitor_event_version: i32,
    /// ZMQ_HELLO_MSG: sent to each new peer (empty: none).
    pub hello_msg: Vec<u8>,
    /// Whether this socket type may send a hello message.
    pub can_send_hello_msg: bool,
    /// ZMQ_DISCONNECT_MSG: delivered when a peer goes away (empty: none).
    pub disconnect_msg: Vec<u8>,
    /// Whether this socket type may deliver a disconnect message.
    pub can_recv_disconnect_msg: bool,
    /// ZMQ_HICCUP_MSG: delivered when a connection is remade (empty: none).
    pub hiccup_msg: Vec<u8>,
    /// Whether this socket type may deliver a hiccup message.
    pub can_recv_hiccup_msg: bool,
    /// ZMQ_BUSY_POLL: SO_BUSY_POLL of tcp connections.
    pub busy_poll: i32,
    /// ZMQ_NORM_MODE: NORM rate control (ZMQ_NORM_FIXED at ZMQ_RATE, or a
    /// congestion control mode).
    pub norm_mode: i32,
    /// ZMQ_NORM_UNICAST_NACK: NORM receivers NACK by unicast.
    pub norm_unicast_nack: bool,
    /// ZMQ_NORM_BUFFER_SIZE: NORM buffers, in KiB.
    pub norm_buffer_size: i32,
    /// ZMQ_NORM_SEGMENT_SIZE: NORM payload bytes per packet.
    pub norm_segment_size: i32,
    /// ZMQ_NORM_BLOCK_SIZE: NORM source packets per FEC block.
    pub norm_block_size: i32,
    /// ZMQ_NORM_NUM_PARITY: NORM parity packets per block for repair.
    pub norm_num_parity: i32,
    /// ZMQ_NORM_NUM_AUTOPARITY: NORM parity packets sent unasked.
    pub norm_num_autoparity: i32,
    /// ZMQ_NORM_PUSH: a full NORM stream drops its oldest data instead of
    /// making the sender wait.
    pub norm_push: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            sndhwm: 1000,
            rcvhwm: 1000,
            affinity: 0,
            routing_id: Vec::new(),
            rate: 100,
            recovery_ivl: 10000,
            multicast_hops: 1,
            multicast_maxtpdu: 1500,
            norm_mode: ZMQ_NORM_CC,
            norm_unicast_nack: false,
            norm_buffer_size: 2048,
            norm_segment_size: 1400,
            norm_block_size: 16,
            norm_num_parity: 4,
            norm_num_autoparity: 0,
            norm_push: false,
            sndbuf: -1,
            rcvbuf: -1,
            tos: 0,
            priority: 0,
            socket_type: -1,
            linger: -1,
            connect_timeout: 0,
            tcp_maxrt: 0,
            reconnect_stop: 0,
            reconnect_ivl: 100,
            reconnect_ivl_max: 0,
            backlog: 100,
            maxmsgsize: -1,
            rcvtimeo: -1,
            sndtimeo: -1,
            ipv6: false,
            immediate: 0,
            filter: false,
            invert_matching: false,
            recv_routing_id: false,
            raw_socket: false,
            raw_notify: true,
            socks_proxy_address: String::new(),
            socks_proxy_username: Vec::new(),
            socks_proxy_password: Vec::new(),
            wss: WssOptions::default(),
            tcp_keepalive: -1,
            tcp_keepalive_cnt: -1,
            tcp_keepalive_idle: -1,
            tcp_keepalive_intvl: -1,
            tcp_accept_filters: Vec::new(),
            ipc_uid_accept_filters: BTreeSet::new(),
            ipc_gid_accept_filters: BTreeSet::new(),
            ipc_pid_accept_filters: BTreeSet::new(),
            mechanism: ZMQ_NULL,
            as_server: 0,
            zap_domain: String::new(),
            plain_username: String::new(),
            plain_password: String::new(),
            curve_public_key: [0; CURVE_KEYSIZE],
            curve_secret_key: [0; CURVE_KEYSIZE],
            curve_server_key: [0; CURVE_KEYSIZE],
            socket_id: 0,
            conflate: false,
            handshake_ivl: 30000,
            connected: false,
            heartbeat_ttl: 0,
            heartbeat_interval: 0,
            heartbeat_timeout: -1,
            use_fd: -1,
            bound_device: String::new(),
            zap_enforce_domain: false,
            loopback_fastpath: false,
            multicast_loop: true,
            in_batch_size: 8192,
            out_batch_size: 8192,
            zero_copy: true,
            router_notify: 0,
            app_metadata: BTreeMap::new(),
            monitor_event_version: 1,
            hello_msg: Vec::new(),
            can_send_hello_msg: false,
            disconnect_msg: Vec::new(),
            can_recv_disconnect_msg: false,
            hiccup_msg: Vec::new(),
            can_recv_hiccup_msg: false,
            busy_poll: 0,
        }
    }
}

/// An option value as the C API passes it: `None` is a NULL pointer.
pub type OptVal<'a> = Option<&'a [u8]>;

/// The value as a C `int`, if it is exactly that size.
pub fn as_int(v: OptVal<'_>) -> Option<i32> {
    match v {
        Some(b) if b.len() == 4 => Some(i32::from_ne_bytes([b[0], b[1], b[2], b[3]])),
        _ => None,
    }
}

fn int_if(v: OptVal<'_>, ok: impl Fn(i32) -> bool) -> Result<i32> {
    match as_int(v) {
        Some(x) if ok(x) => Ok(x),
        _ => Err(Error::EINVAL),
    }
}

fn bool_strict(v: OptVal<'_>) -> Result<bool> {
    int_if(v, |x| x == 0 || x == 1).map(|x| x != 0)
}

fn bool_relaxed(v: OptVal<'_>) -> Result<bool> {
    int_if(v, |_| true).map(|x| x != 0)
}

fn string_of(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// libzmq's "allow empty, strict": NULL with length 0 clears; otherwise 1..=max bytes.
fn string_strict(v: OptVal<'_>, max: usize) -> Result<String> {
    match v {
        None => Ok(String::new()),
        Some(b) if !b.is_empty() && b.len() <= max => Ok(string_of(b)),
        _ => Err(Error::EINVAL),
    }
}

fn string_relaxed(v: OptVal<'_>, max: usize) -> Result<String> {
    match v {
        Some(b) if !b.is_empty() && b.len() <= max => Ok(string_of(b)),
        _ => Err(Error::EINVAL),
    }
}

fn set_filter<T: Ord>(
    v: OptVal<'_>,
    set: &mut BTreeSet<T>,
    decode: impl Fn([u8; 4]) -> T,
) -> Result<()> {
    match v {
        None => {
            set.clear();
            Ok(())
        }
        Some(b) if b.len() == 4 => {
            set.insert(decode([b[0], b[1], b[2], b[3]]));
            Ok(())
        }
        _ => Err(Error::EINVAL),
    }
}

/// Writes an option value for `zmq_getsockopt`: an int must be asked for
/// with exactly `sizeof(int)` bytes (the length is left as is).
pub fn put_int(buf: &mut [u8], value: i32) -> Result<usize> {
    if buf.len() != 4 {
        return Err(Error::EINVAL);
    }
    buf.copy_from_slice(&value.to_ne_bytes());
    Ok(4)
}

/// Writes a binary value: the buffer must be large enough; the rest is zeroed
/// and the new length is the value's length.
pub fn put_bytes(buf: &mut [u8], value: &[u8]) -> Result<usize> {
    if buf.len() < value.len() {
        return Err(Error::EINVAL);
    }
    buf[..value.len()].copy_from_slice(value);
    buf[value.len()..].fill(0);
    Ok(value.len())
}

/// Writes bytes and a terminating NUL (length includes it).
pub fn put_cstr_bytes(buf: &mut [u8], value: &[u8]) -> Result<usize> {
    let n = value.len() + 1;
    if buf.len() < n {
        return Err(Error::EINVAL);
    }
    buf[..value.len()].copy_from_slice(value);
    buf[value.len()..].fill(0);
    Ok(n)
}

/// Writes a string value with its terminating NUL (length includes it).
pub fn put_str(buf: &mut [u8], value: &str) -> Result<usize> {
    put_cstr_bytes(buf, value.as_bytes())
}

impl Options {
    /// Whether ZMQ_CONFLATE takes effect: only for the socket types libzmq
    /// allows it for.
    pub fn conflate_applies(&self) -> bool {
        self.conflate
            && matches!(
                self.socket_type,
                ZMQ_DEALER | ZMQ_PULL | ZMQ_PUSH | ZMQ_PUB | ZMQ_SUB
            )
    }

    fn set_curve_key(
        &mut self,
        which: fn(&mut Options) -> &mut [u8; CURVE_KEYSIZE],
        v: OptVal<'_>,
    ) -> Result<()> {
        let b = v.unwrap_or(&[]);
        let key: Option<[u8; CURVE_KEYSIZE]> = match b.len() {
            CURVE_KEYSIZE => b.try_into().ok(),
            n if n == CURVE_KEYSIZE_Z85 || n == CURVE_KEYSIZE_Z85 + 1 => {
                let text = &b[..CURVE_KEYSIZE_Z85];
                if n == CURVE_KEYSIZE_Z85 + 1 && b[CURVE_KEYSIZE_Z85] != 0 {
                    None
                } else {
                    crate::util::z85::decode(text).and_then(|k| k.try_into().ok())
                }
            }
            _ => None,
        };
        match key {
            Some(k) => {
                *which(self) = k;
                self.mechanism = ZMQ_CURVE;
                Ok(())
            }
            None => Err(Error::EINVAL),
        }
    }

    /// Sets a common option (`zmq_setsockopt` after the socket type declined it).
    pub fn set(&mut self, option: i32, v: OptVal<'_>) -> Result<()> {
        match option {
            ZMQ_SNDHWM => self.sndhwm = int_if(v, |x| x >= 0)?,
            ZMQ_RCVHWM => self.rcvhwm = int_if(v, |x| x >= 0)?,
            ZMQ_AFFINITY => match v {
                Some(b) if b.len() == 8 => {
                    self.affinity = u64::from_ne_bytes(b.try_into().map_err(|_| Error::EINVAL)?)
                }
                _ => return Err(Error::EINVAL),
            },
            ZMQ_ROUTING_ID => match v {
                Some(b) if !b.is_empty() && b.len() <= 255 => self.routing_id = b.to_vec(),
                _ => return Err(Error::EINVAL),
            },
            ZMQ_RATE => self.rate = int_if(v, |x| x > 0)?,
            ZMQ_RECOVERY_IVL => self.recovery_ivl = int_if(v, |x| x >= 0)?,
            ZMQ_SNDBUF => self.sndbuf = int_if(v, |x| x >= -1)?,
            ZMQ_RCVBUF => self.rcvbuf = int_if(v, |x| x >= -1)?,
            ZMQ_TOS => self.tos = int_if(v, |x| x >= 0)?,
            ZMQ_LINGER => self.linger = int_if(v, |x| x >= -1)?,
            ZMQ_CONNECT_TIMEOUT => self.connect_timeout = int_if(v, |x| x >= 0)?,
            ZMQ_TCP_MAXRT => self.tcp_maxrt = int_if(v, |x| x >= 0)?,
            ZMQ_RECONNECT_STOP => self.reconnect_stop = int_if(v, |_| true)?,
            ZMQ_RECONNECT_IVL => self.reconnect_ivl = int_if(v, |x| x >= -1)?,
            ZMQ_RECONNECT_IVL_MAX => self.reconnect_ivl_max = int_if(v, |x| x >= 0)?,
            ZMQ_BACKLOG => self.backlog = int_if(v, |x| x >= 0)?,
            ZMQ_MAXMSGSIZE => match v {
                Some(b) if b.len() == 8 => {
                    self.maxmsgsize = i64::from_ne_bytes(b.try_into().map_err(|_| Error::EINVAL)?)
                }
                _ => return Err(Error::EINVAL),
            },
            ZMQ_MULTICAST_HOPS => self.multicast_hops = int_if(v, |x| x > 0)?,
            ZMQ_MULTICAST_MAXTPDU => self.multicast_maxtpdu = int_if(v, |x| x > 0)?,
            ZMQ_RCVTIMEO => self.rcvtimeo = int_if(v, |x| x >= -1)?,
            ZMQ_SNDTIMEO => self.sndtimeo = int_if(v, |x| x >= -1)?,
            ZMQ_IPV4ONLY => self.ipv6 = !bool_strict(v)?,
            ZMQ_IPV6 => self.ipv6 = bool_strict(v)?,
            ZMQ_SOCKS_PROXY => self.socks_proxy_address = string_strict(v, usize::MAX)?,
            ZMQ_SOCKS_USERNAME | ZMQ_SOCKS_PASSWORD => {
                let b = v.unwrap_or(&[]);
                if b.len() > 255 {
                    return Err(Error::EINVAL);
                }
                *if option == ZMQ_SOCKS_USERNAME {
                    &mut self.socks_proxy_username
                } else {
                    &mut self.socks_proxy_password
                } = b.to_vec();
            }
            // Taken as given, as libzmq does; they are checked when a wss
            // endpoint is bound or connected.
            ZMQ_WSS_KEY_PEM => self.wss.key_pem = v.unwrap_or(&[]).to_vec(),
            ZMQ_WSS_CERT_PEM => self.wss.cert_pem = v.unwrap_or(&[]).to_vec(),
            ZMQ_WSS_TRUST_PEM => self.wss.trust_pem = v.unwrap_or(&[]).to_vec(),
            ZMQ_WSS_HOSTNAME => {
                self.wss.hostname = String::from_utf8_lossy(v.unwrap_or(&[])).into_owned()
            }
            ZMQ_WSS_TRUST_SYSTEM => self.wss.trust_system = bool_strict(v)?,
            ZMQ_TCP_KEEPALIVE => self.tcp_keepalive = int_if(v, |x| (-1..=1).contains(&x))?,
            ZMQ_TCP_KEEPALIVE_CNT => self.tcp_keepalive_cnt = int_if(v, |x| x >= -1)?,
            ZMQ_TCP_KEEPALIVE_IDLE => self.tcp_keepalive_idle = int_if(v, |x| x >= -1)?,
            ZMQ_TCP_KEEPALIVE_INTVL => self.tcp_keepalive_intvl = int_if(v, |x| x >= -1)?,
            ZMQ_IMMEDIATE => self.immediate = int_if(v, |x| x == 0 || x == 1)?,
            ZMQ_TCP_ACCEPT_FILTER => {
                let s = string_strict(v, 255)?;
                if s.is_empty() {
                    self.tcp_accept_filters.clear();
                } else {
                    crate::util::ip_mask::check_mask(&s, self.ipv6)?;
                    self.tcp_accept_filters.push(s);
                }
            }
            ZMQ_IPC_FILTER_UID => {
                set_filter(v, &mut self.ipc_uid_accept_filters, u32::from_ne_bytes)?
            }
            ZMQ_IPC_FILTER_GID => {
                set_filter(v, &mut self.ipc_gid_accept_filters, u32::from_ne_bytes)?
            }
            ZMQ_IPC_FILTER_PID => {
                set_filter(v, &mut self.ipc_pid_accept_filters, i32::from_ne_bytes)?
            }
            ZMQ_PLAIN_SERVER => {
                let x = int_if(v, |x| x == 0 || x == 1)?;
                self.as_server = x;
                self.mechanism = if x != 0 { ZMQ_PLAIN } else { ZMQ_NULL };
            }
            ZMQ_PLAIN_USERNAME | ZMQ_PLAIN_PASSWORD => match v {
                None => self.mechanism = ZMQ_NULL,
                Some(b) if !b.is_empty() && b.len() <= 255 => {
                    if option == ZMQ_PLAIN_USERNAME {
                        self.plain_username = string_of(b);
                    } else {
                        self.plain_password = string_of(b);
                    }
                    self.as_server = 0;
                    self.mechanism = ZMQ_PLAIN;
                }
                _ => return Err(Error::EINVAL),
            },
            ZMQ_ZAP_DOMAIN => self.zap_domain = string_relaxed(v, 255)?,
            ZMQ_CURVE_SERVER if HAVE_CURVE => {
                let x = int_if(v, |x| x == 0 || x == 1)?;
                self.as_server = x;
                self.mechanism = if x != 0 { ZMQ_CURVE } else { ZMQ_NULL };
            }
            ZMQ_CURVE_PUBLICKEY if HAVE_CURVE => {
                self.set_curve_key(|o| &mut o.curve_public_key, v)?
            }
            ZMQ_CURVE_SECRETKEY if HAVE_CURVE => {
                self.set_curve_key(|o| &mut o.curve_secret_key, v)?
            }
            ZMQ_CURVE_SERVERKEY if HAVE_CURVE => {
                self.set_curve_key(|o| &mut o.curve_server_key, v)?;
                self.as_server = 0;
            }
            ZMQ_CONFLATE => self.conflate = bool_strict(v)?,
            ZMQ_HANDSHAKE_IVL => self.handshake_ivl = int_if(v, |x| x >= 0)?,
            ZMQ_INVERT_MATCHING => self.invert_matching = bool_relaxed(v)?,
            ZMQ_HEARTBEAT_IVL => self.heartbeat_interval = int_if(v, |x| x >= 0)?,
            ZMQ_HEARTBEAT_TTL => {
                // Stored in deciseconds, as sent on the wire.
                let ds = as_int(v).map(|x| x / 100);
                match ds {
                    Some(ds) if (0..=u16::MAX as i32).contains(&ds) => {
                        self.heartbeat_ttl = ds as u16
                    }
                    _ => return Err(Error::EINVAL),
                }
            }
            ZMQ_HEARTBEAT_TIMEOUT => self.heartbeat_timeout = int_if(v, |x| x >= 0)?,
            ZMQ_USE_FD => self.use_fd = int_if(v, |x| x >= -1)?,
            ZMQ_BINDTODEVICE => self.bound_device = string_strict(v, libc::IFNAMSIZ)?,
            ZMQ_ZAP_ENFORCE_DOMAIN => self.zap_enforce_domain = bool_relaxed(v)?,
            ZMQ_LOOPBACK_FASTPATH => self.loopback_fastpath = bool_relaxed(v)?,
            ZMQ_METADATA => {
                let b = v.unwrap_or(&[]);
                if b.is_empty() || b.len() == 4 {
                    return Err(Error::EINVAL);
                }
                let s = string_of(b);
                let pos = s.find(':').ok_or(Error::EINVAL)?;
                if pos == 0 || pos == s.len() - 1 {
                    return Err(Error::EINVAL);
                }
                let key = &s[..pos];
                if !key.starts_with("X-") || key.len() > 255 {
                    return Err(Error::EINVAL);
                }
                // Like std::map::insert: an existing key keeps its value.
                self.app_metadata
                    .entry(key.to_owned())
                    .or_insert_with(|| s[pos + 1..].to_owned());
            }
            ZMQ_MULTICAST_LOOP => self.multicast_loop = bool_relaxed(v)?,
            ZMQ_IN_BATCH_SIZE => self.in_batch_size = int_if(v, |x| x > 0)?,
            ZMQ_OUT_BATCH_SIZE => self.out_batch_size = int_if(v, |x| x > 0)?,
            ZMQ_BUSY_POLL => self.busy_poll = int_if(v, |_| true)?,
            ZMQ_HELLO_MSG => self.hello_msg = v.unwrap_or(&[]).to_vec(),
            ZMQ_DISCONNECT_MSG => self.disconnect_msg = v.unwrap_or(&[]).to_vec(),
            ZMQ_HICCUP_MSG => self.hiccup_msg = v.unwrap_or(&[]).to_vec(),
            ZMQ_PRIORITY => self.priority = int_if(v, |x| x >= 0)?,
            ZMQ_NORM_MODE => self.norm_mode = int_if(v, |x| (0..=4).contains(&x))?,
            ZMQ_NORM_UNICAST_NACK => self.norm_unicast_nack = bool_strict(v)?,
            ZMQ_NORM_BUFFER_SIZE => self.norm_buffer_size = int_if(v, |x| x > 0)?,
            ZMQ_NORM_SEGMENT_SIZE => self.norm_segment_size = int_if(v, |x| x > 0)?,
            ZMQ_NORM_BLOCK_SIZE => self.norm_block_size = int_if(v, |x| x > 0 && x <= 255)?,
            ZMQ_NORM_NUM_PARITY => self.norm_num_parity = int_if(v, |x| (0..255).contains(&x))?,
            ZMQ_NORM_NUM_AUTOPARITY => {
                self.norm_num_autoparity = int_if(v, |x| (0..255).contains(&x))?
            }
            ZMQ_NORM_PUSH => self.norm_push = bool_strict(v)?,
            _ => return Err(Error::EINVAL),
        }
        Ok(())
    }

    /// Reads a common option into `buf`; returns the value's length.
    pub fn get(&self, option: i32, buf: &mut [u8]) -> Result<usize> {
        let key = |buf: &mut [u8], k: &[u8; CURVE_KEYSIZE]| -> Result<usize> {
            if buf.len() == CURVE_KEYSIZE {
                buf.copy_from_slice(k);
                Ok(CURVE_KEYSIZE)
            } else if buf.len() == CURVE_KEYSIZE_Z85 + 1 {
                let text = crate::util::z85::encode(k).ok_or(Error::EINVAL)?;
                buf[..CURVE_KEYSIZE_Z85].copy_from_slice(text.as_bytes());
                buf[CURVE_KEYSIZE_Z85] = 0;
                Ok(CURVE_KEYSIZE_Z85 + 1)
            } else {
                Err(Error::EINVAL)
            }
        };
        match option {
            ZMQ_SNDHWM => put_int(buf, self.sndhwm),
            ZMQ_RCVHWM => put_int(buf, self.rcvhwm),
            ZMQ_AFFINITY => {
                if buf.len() != 8 {
                    return Err(Error::EINVAL);
                }
                buf.copy_from_slice(&self.affinity.to_ne_bytes());
                Ok(8)
            }
            ZMQ_ROUTING_ID => put_bytes(buf, &self.routing_id),
            ZMQ_RATE => put_int(buf, self.rate),
            ZMQ_RECOVERY_IVL => put_int(buf, self.recovery_ivl),
            ZMQ_SNDBUF => put_int(buf, self.sndbuf),
            ZMQ_RCVBUF => put_int(buf, self.rcvbuf),
            ZMQ_TOS => put_int(buf, self.tos),
            ZMQ_TYPE => put_int(buf, self.socket_type),
            ZMQ_LINGER => put_int(buf, self.linger),
            ZMQ_CONNECT_TIMEOUT => put_int(buf, self.connect_timeout),
            ZMQ_TCP_MAXRT => put_int(buf, self.tcp_maxrt),
            ZMQ_RECONNECT_STOP => put_int(buf, self.reconnect_stop),
            ZMQ_RECONNECT_IVL => put_int(buf, self.reconnect_ivl),
            ZMQ_RECONNECT_IVL_MAX => put_int(buf, self.reconnect_ivl_max),
            ZMQ_BACKLOG => put_int(buf, self.backlog),
            ZMQ_MAXMSGSIZE => {
                if buf.len() != 8 {
                    return Err(Error::EINVAL);
                }
                buf.copy_from_slice(&self.maxmsgsize.to_ne_bytes());
                Ok(8)
            }
            ZMQ_MULTICAST_HOPS => put_int(buf, self.multicast_hops),
            ZMQ_MULTICAST_MAXTPDU => put_int(buf, self.multicast_maxtpdu),
            ZMQ_RCVTIMEO => put_int(buf, self.rcvtimeo),
            ZMQ_SNDTIMEO => put_int(buf, self.sndtimeo),
            ZMQ_IPV4ONLY => put_int(buf, 1 - self.ipv6 as i32),
            ZMQ_IPV6 => put_int(buf, self.ipv6 as i32),
            ZMQ_IMMEDIATE => put_int(buf, self.immediate),
            ZMQ_SOCKS_PROXY => put_str(buf, &self.socks_proxy_address),
            ZMQ_SOCKS_USERNAME => put_cstr_bytes(buf, &self.socks_proxy_username),
            ZMQ_SOCKS_PASSWORD => put_cstr_bytes(buf, &self.socks_proxy_password),
            ZMQ_TCP_KEEPALIVE => put_int(buf, self.tcp_keepalive),
            ZMQ_TCP_KEEPALIVE_CNT => put_int(buf, self.tcp_keepalive_cnt),
            ZMQ_TCP_KEEPALIVE_IDLE => put_int(buf, self.tcp_keepalive_idle),
            ZMQ_TCP_KEEPALIVE_INTVL => put_int(buf, self.tcp_keepalive_intvl),
            ZMQ_MECHANISM => put_int(buf, self.mechanism),
            ZMQ_PLAIN_SERVER => put_int(
                buf,
                (self.as_server != 0 && self.mechanism == ZMQ_PLAIN) as i32,
            ),
            ZMQ_PLAIN_USERNAME => put_str(buf, &self.plain_username),
            ZMQ_PLAIN_PASSWORD => put_str(buf, &self.plain_password),
            ZMQ_ZAP_DOMAIN => put_str(buf, &self.zap_domain),
            ZMQ_CURVE_SERVER if HAVE_CURVE => put_int(
                buf,
                (self.as_server != 0 && self.mechanism == ZMQ_CURVE) as i32,
            ),
            ZMQ_CURVE_PUBLICKEY if HAVE_CURVE => key(buf, &self.curve_public_key),
            ZMQ_CURVE_SECRETKEY if HAVE_CURVE => key(buf, &self.curve_secret_key),
            ZMQ_CURVE_SERVERKEY if HAVE_CURVE => key(buf, &self.curve_server_key),
            ZMQ_CONFLATE => put_int(buf, self.conflate as i32),
            ZMQ_HANDSHAKE_IVL => put_int(buf, self.handshake_ivl),
            ZMQ_INVERT_MATCHING => put_int(buf, self.invert_matching as i32),
            ZMQ_HEARTBEAT_IVL => put_int(buf, self.heartbeat_interval),
            ZMQ_HEARTBEAT_TTL => put_int(buf, self.heartbeat_ttl as i32 * 100),
            ZMQ_HEARTBEAT_TIMEOUT => put_int(buf, self.heartbeat_timeout),
            ZMQ_USE_FD => put_int(buf, self.use_fd),
            ZMQ_BINDTODEVICE => put_str(buf, &self.bound_device),
            ZMQ_ZAP_ENFORCE_DOMAIN => put_int(buf, self.zap_enforce_domain as i32),
            ZMQ_LOOPBACK_FASTPATH => put_int(buf, self.loopback_fastpath as i32),
            ZMQ_MULTICAST_LOOP => put_int(buf, self.multicast_loop as i32),
            ZMQ_ROUTER_NOTIFY => put_int(buf, self.router_notify),
            ZMQ_IN_BATCH_SIZE => put_int(buf, self.in_batch_size),
            ZMQ_OUT_BATCH_SIZE => put_int(buf, self.out_batch_size),
            ZMQ_PRIORITY => put_int(buf, self.priority),
            ZMQ_BUSY_POLL => put_int(buf, self.busy_poll),
            ZMQ_NORM_MODE => put_int(buf, self.norm_mode),
            ZMQ_NORM_UNICAST_NACK => put_int(buf, self.norm_unicast_nack as i32),
            ZMQ_NORM_BUFFER_SIZE => put_int(buf, self.norm_buffer_size),
            ZMQ_NORM_SEGMENT_SIZE => put_int(buf, self.norm_segment_size),
            ZMQ_NORM_BLOCK_SIZE => put_int(buf, self.norm_block_size),
            ZMQ_NORM_NUM_PARITY => put_int(buf, self.norm_num_parity),
            ZMQ_NORM_NUM_AUTOPARITY => put_int(buf, self.norm_num_autoparity),
            ZMQ_NORM_PUSH => put_int(buf, self.norm_push as i32),
            _ => Err(Error::EINVAL),
        }
    }
}

/// The wss socket options (the TLS of `wss://`), as libzmq keeps them; the
/// ws module builds its TLS configurations from them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WssOptions {
    /// ZMQ_WSS_KEY_PEM (103): the server's private key, PEM (PKCS#8,
    /// PKCS#1 or SEC1).
    pub key_pem: Vec<u8>,
    /// ZMQ_WSS_CERT_PEM (104): the server's certificate chain, PEM, leaf
    /// first.
    pub cert_pem: Vec<u8>,
    /// ZMQ_WSS_TRUST_PEM (105): certificates the client trusts, PEM.
    pub trust_pem: Vec<u8>,
    /// ZMQ_WSS_HOSTNAME (106): SNI and the name verified ("" for neither).
    pub hostname: String,
    /// ZMQ_WSS_TRUST_SYSTEM (107): trust the system's store too.
    pub trust_system: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(x: i32) -> [u8; 4] {
        x.to_ne_bytes()
    }

    #[test]
    fn int_rules() {
        let mut o = Options::default();
        assert!(o.set(ZMQ_SNDHWM, Some(&int(-1))).is_err());
        assert!(o.set(ZMQ_SNDHWM, Some(&[0u8; 8])).is_err());
        o.set(ZMQ_SNDHWM, Some(&int(5))).unwrap();
        let mut b = [0u8; 4];
        assert_eq!(o.get(ZMQ_SNDHWM, &mut b).unwrap(), 4);
        assert_eq!(i32::from_ne_bytes(b), 5);
        let mut b8 = [0u8; 8];
        assert_eq!(o.get(ZMQ_SNDHWM, &mut b8), Err(Error::EINVAL));
        assert!(o.set(ZMQ_LINGER, Some(&int(-2))).is_err());
        assert!(o.set(ZMQ_IPV6, Some(&int(2))).is_err());
        o.set(ZMQ_INVERT_MATCHING, Some(&int(7))).unwrap();
        assert!(o.invert_matching);
    }

    #[test]
    fn strings_and_blobs() {
        let mut o = Options::default();
        assert!(o.set(ZMQ_ROUTING_ID, Some(&[])).is_err());
        assert!(o.set(ZMQ_ROUTING_ID, Some(&[1u8; 256])).is_err());
        o.set(ZMQ_ROUTING_ID, Some(b"abc")).unwrap();
        let mut b = [9u8; 5];
        assert_eq!(o.get(ZMQ_ROUTING_ID, &mut b).unwrap(), 3);
        assert_eq!(&b, b"abc\0\0");
        let mut small = [0u8; 2];
        assert_eq!(o.get(ZMQ_ROUTING_ID, &mut small), Err(Error::EINVAL));
        o.set(ZMQ_ZAP_DOMAIN, Some(b"dom")).unwrap();
        assert!(o.set(ZMQ_ZAP_DOMAIN, None).is_err());
        let mut s = [0u8; 4];
        assert_eq!(o.get(ZMQ_ZAP_DOMAIN, &mut s).unwrap(), 4);
        assert_eq!(&s, b"dom\0");
        o.set(ZMQ_SOCKS_PROXY, None).unwrap();
    }

    #[test]
    fn metadata_rules() {
        let mut o = Options::default();
        assert!(o.set(ZMQ_METADATA, Some(b"X-foo:bar")).is_ok());
        assert!(o.set(ZMQ_METADATA, Some(b"foo:bar")).is_err());
        assert!(o.set(ZMQ_METADATA, Some(b"X-foo:")).is_err());
        assert!(o.set(ZMQ_METADATA, Some(b":bar")).is_err());
        assert_eq!(o.app_metadata.get("X-foo").map(String::as_str), Some("bar"));
    }

    #[test]
    fn heartbeat_ttl_in_deciseconds() {
        let mut o = Options::default();
        o.set(ZMQ_HEARTBEAT_TTL, Some(&int(1234))).unwrap();
        let mut b = [0u8; 4];
        o.get(ZMQ_HEARTBEAT_TTL, &mut b).unwrap();
        assert_eq!(i32::from_ne_bytes(b), 1200);
        assert!(o.set(ZMQ_HEARTBEAT_TTL, Some(&int(6_553_600))).is_err());
    }
}
