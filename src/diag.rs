//! Diagnostics a user can turn on: connection-level events and drops at
//! the high-water mark, as records of the `log` facade.
//!
//! libzmq says nothing unless asked (through a monitor socket); so does
//! this: without a logger nothing is formatted, and the check for one is an
//! atomic load. Rust programs install any `log` logger (env_logger, ...)
//! and see records under the targets [`CONNECTION`] and [`HWM`]; C programs
//! get them on stderr when `ZMQRS_LOG` is set (capi installs that logger).
//!
//! Every monitor event passes through [`monitor_event`], wherever it was
//! raised (the socket's thread or an I/O thread), so the log says what a
//! monitor socket would, plus what a monitor event cannot carry: why a
//! connection ended ([`disconnected`]) and which peer is losing messages to
//! a full pipe ([`hwm_drop`]).

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use log::Level;

use crate::constants::*;
use crate::endpoint::EndpointPair;

/// The `log` target of connection events: connect, accept, handshake
/// success and failure, disconnect, reconnect back-off, bind and listen.
pub const CONNECTION: &str = "zmqrs::connection";

/// The `log` target of messages dropped at the high-water mark.
pub const HWM: &str = "zmqrs::hwm";

/// Logs what a monitor event says (events nobody monitors included).
pub(crate) fn monitor_event(event: u64, values: &[u64], ep: &EndpointPair) {
    let Ok(event) = i32::try_from(event) else {
        return; // ZMQ_EVENT_PIPES_STATS and other draft statistics
    };
    let level = match event {
        ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL
        | ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL
        | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH
        | ZMQ_EVENT_BIND_FAILED
        | ZMQ_EVENT_ACCEPT_FAILED
        | ZMQ_EVENT_CLOSE_FAILED => Level::Warn,
        ZMQ_EVENT_CONNECTED | ZMQ_EVENT_ACCEPTED | ZMQ_EVENT_HANDSHAKE_SUCCEEDED => Level::Info,
        ZMQ_EVENT_LISTENING
        | ZMQ_EVENT_CONNECT_DELAYED
        | ZMQ_EVENT_CONNECT_RETRIED
        | ZMQ_EVENT_CLOSED => Level::Debug,
        // DISCONNECTED is logged with its cause by `disconnected`.
        _ => return,
    };
    if !log::log_enabled!(target: CONNECTION, level) {
        return;
    }
    let value = values.first().copied().unwrap_or(0);
    let what = match event {
        ZMQ_EVENT_CONNECTED => format!("connected (fd {value})"),
        ZMQ_EVENT_ACCEPTED => format!("accepted (fd {value})"),
        ZMQ_EVENT_HANDSHAKE_SUCCEEDED => "handshake succeeded".to_string(),
        ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL => {
            format!("handshake failed: {}", errno_text(value))
        }
        ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL => format!(
            "handshake failed: protocol error {}",
            protocol_error_name(value as u32 as i32)
        ),
        ZMQ_EVENT_HANDSHAKE_FAILED_AUTH => {
            format!("handshake failed: authentication refused (ZAP status {value})")
        }
        ZMQ_EVENT_BIND_FAILED => format!("bind failed: {}", errno_text(value)),
        ZMQ_EVENT_ACCEPT_FAILED => format!("accept failed: {}", errno_text(value)),
        ZMQ_EVENT_CLOSE_FAILED => format!("close failed: {}", errno_text(value)),
        ZMQ_EVENT_LISTENING => format!("listening (fd {value})"),
        ZMQ_EVENT_CONNECT_DELAYED => "connect in progress".to_string(),
        ZMQ_EVENT_CONNECT_RETRIED => format!("reconnecting in {value} ms"),
        _ => format!("closed (fd {value})"),
    };
    log::log!(target: CONNECTION, level, "{}: {what}", name(ep));
}

/// Logs the end of a connection and its cause, as DISCONNECTED does not
/// say it (`why`: "closed by the peer", "protocol error", ...).
pub(crate) fn disconnected(ep: &EndpointPair, why: std::fmt::Arguments<'_>) {
    log::info!(target: CONNECTION, "{}: disconnected: {why}", name(ep));
}

/// Counts a message dropped because the pipe to `peer` was full (PUB,
/// XPUB, RADIO and ROUTER drop rather than wait). Logged at most once a
/// second, with the number dropped since the last record: a publisher
/// outrunning a subscriber drops millions a second.
pub(crate) fn hwm_drop(peer: Option<&EndpointPair>) {
    if !log::log_enabled!(target: HWM, Level::Debug) {
        return;
    }
    static DROPS: AtomicU64 = AtomicU64::new(0);
    static LAST_MS: AtomicU64 = AtomicU64::new(0);
    DROPS.fetch_add(1, Ordering::Relaxed);
    let now = since_start_ms();
    let last = LAST_MS.load(Ordering::Relaxed);
    // A last of 0 means never logged: the first drop is logged at once.
    if last != 0 && now.saturating_sub(last) < 1000 {
        return;
    }
    if LAST_MS
        .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
        .is_err()
    {
        return; // another thread logs this second
    }
    let drops = DROPS.swap(0, Ordering::Relaxed).max(1);
    let to = peer.map_or_else(|| "a peer".to_string(), name);
    log::debug!(
        target: HWM,
        "{drops} message(s) dropped at the high-water mark (latest: {to} is full)"
    );
}

/// Milliseconds since the first call (a process-wide monotonic clock).
fn since_start_ms() -> u64 {
    static START: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    START.get_or_init(Instant::now).elapsed().as_millis() as u64
}

/// A connection as the log names it: "tcp://a:1 -> tcp://b:2" (local,
/// then remote), or the one endpoint known.
fn name(ep: &EndpointPair) -> String {
    match (ep.local.is_empty(), ep.remote.is_empty()) {
        (false, false) => format!("{} -> {}", ep.local, ep.remote),
        (true, false) => ep.remote.clone(),
        (false, true) => ep.local.clone(),
        (true, true) => "(unnamed endpoint)".to_string(),
    }
}

fn errno_text(errno: u64) -> String {
    let errno = errno as i32;
    format!("{} (errno {errno})", crate::error::strerror(errno))
}

/// ZMQ_PROTOCOL_ERROR_* by name, as zmq.h spells it without the prefix.
fn protocol_error_name(code: i32) -> String {
    let name = match code {
        ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED => "ZMTP_UNSPECIFIED",
        ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND => "ZMTP_UNEXPECTED_COMMAND",
        ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE => "ZMTP_INVALID_SEQUENCE",
        ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE => "ZMTP_KEY_EXCHANGE",
        ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED => {
            "ZMTP_MALFORMED_COMMAND_UNSPECIFIED"
        }
        ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE => "ZMTP_MALFORMED_COMMAND_MESSAGE",
        ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO => "ZMTP_MALFORMED_COMMAND_HELLO",
        ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE => "ZMTP_MALFORMED_COMMAND_INITIATE",
        ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR => "ZMTP_MALFORMED_COMMAND_ERROR",
        ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY => "ZMTP_MALFORMED_COMMAND_READY",
        ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME => "ZMTP_MALFORMED_COMMAND_WELCOME",
        ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA => "ZMTP_INVALID_METADATA",
        ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC => "ZMTP_CRYPTOGRAPHIC",
        ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH => "ZMTP_MECHANISM_MISMATCH",
        ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED => "ZAP_UNSPECIFIED",
        ZMQ_PROTOCOL_ERROR_ZAP_MALFORMED_REPLY => "ZAP_MALFORMED_REPLY",
        ZMQ_PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID => "ZAP_BAD_REQUEST_ID",
        ZMQ_PROTOCOL_ERROR_ZAP_BAD_VERSION => "ZAP_BAD_VERSION",
        ZMQ_PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE => "ZAP_INVALID_STATUS_CODE",
        ZMQ_PROTOCOL_ERROR_ZAP_INVALID_METADATA => "ZAP_INVALID_METADATA",
        ZMQ_PROTOCOL_ERROR_WS_UNSPECIFIED => "WS_UNSPECIFIED",
        _ => return format!("{code:#x}"),
    };
    name.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocol_errors_are_named_and_unknown_ones_shown_in_hex() {
        assert_eq!(
            protocol_error_name(ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH),
            "ZMTP_MECHANISM_MISMATCH"
        );
        assert_eq!(protocol_error_name(0x1234), "0x1234");
    }

    #[test]
    fn a_connection_is_named_by_what_is_known_of_it() {
        let both = EndpointPair {
            local: "tcp://127.0.0.1:1".into(),
            remote: "tcp://127.0.0.1:2".into(),
            bound: false,
        };
        assert_eq!(name(&both), "tcp://127.0.0.1:1 -> tcp://127.0.0.1:2");
        let remote = EndpointPair {
            remote: "ipc:///x".into(),
            ..Default::default()
        };
        assert_eq!(name(&remote), "ipc:///x");
        assert_eq!(name(&EndpointPair::default()), "(unnamed endpoint)");
    }
}
