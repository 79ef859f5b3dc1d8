//! Security mechanisms (sans-I/O): the handshake that follows the ZMTP 3.x
//! greeting, and for CURVE the encryption of every frame after it. Each
//! mechanism consumes handshake commands and produces the next ones; no
//! sockets, threads or clock. A server-side mechanism that authenticates
//! through ZAP (RFC 27) hands its request to the engine
//! (`take_zap_request`) and resumes when the engine brings the handler's
//! reply (`zap_reply`); the session carries both over an inproc pipe.

pub mod curve;
pub mod null;
pub mod plain;
pub mod properties;
pub mod zap;

use crate::msg::Message;
use crate::security::properties::Property;

/// Where a mechanism is in its handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    /// Still exchanging commands.
    Handshaking,
    /// Done: traffic may flow.
    Ready,
    /// Failed (an ERROR command was sent or received).
    Error,
}

/// Why a handshake failed, for the monitor event libzmq raises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Failure {
    /// ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL with this ZMQ_PROTOCOL_ERROR_* code.
    Protocol(i32),
    /// ZMQ_EVENT_HANDSHAKE_FAILED_AUTH with this ZAP status code.
    Auth(i32),
    /// ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL with this errno.
    NoDetail(i32),
    /// A failure without a monitor event of its own.
    Other,
}

impl Failure {
    /// The monitor event (ZMQ_EVENT_HANDSHAKE_FAILED_*) and value it raises.
    pub fn monitor_event(self) -> Option<(i32, u64)> {
        match self {
            Failure::Protocol(code) => Some((
                crate::constants::ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL,
                code as u32 as u64,
            )),
            Failure::Auth(code) => Some((
                crate::constants::ZMQ_EVENT_HANDSHAKE_FAILED_AUTH,
                code as u64,
            )),
            Failure::NoDetail(errno) => Some((
                crate::constants::ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL,
                errno as u64,
            )),
            Failure::Other => None,
        }
    }
}

/// What a mechanism needs from its socket's options.
#[derive(Clone, Debug, Default)]
pub struct Config {
    /// Our socket type (ZMQ_PAIR, ...), announced as Socket-Type.
    pub socket_type: i32,
    /// Our routing id: sent as Identity by REQ, DEALER and ROUTER, and as
    /// the identity frame of ZAP requests.
    pub routing_id: Vec<u8>,
    /// Application metadata (ZMQ_METADATA), sent in READY/INITIATE.
    pub app_metadata: Vec<(String, String)>,
    /// Whether we keep the peer's Identity as its routing id.
    pub recv_routing_id: bool,
    /// We are the server side of PLAIN or CURVE (ZMQ_PLAIN_SERVER, ...).
    pub as_server: bool,
    /// ZMQ_ZAP_DOMAIN ("" for none).
    pub zap_domain: Vec<u8>,
    /// ZMQ_ZAP_ENFORCE_DOMAIN.
    pub zap_enforce_domain: bool,
    /// Whether a ZAP handler was bound when the connection started.
    pub zap_handler: bool,
    /// The peer's address, the "address" of ZAP requests.
    pub peer_address: String,
    /// ZMQ_PLAIN_USERNAME.
    pub plain_username: Vec<u8>,
    /// ZMQ_PLAIN_PASSWORD.
    pub plain_password: Vec<u8>,
    /// ZMQ_CURVE_PUBLICKEY.
    pub curve_public_key: [u8; 32],
    /// ZMQ_CURVE_SECRETKEY.
    pub curve_secret_key: [u8; 32],
    /// ZMQ_CURVE_SERVERKEY.
    pub curve_server_key: [u8; 32],
}

/// What every mechanism learns of its peer during the handshake, and the
/// ZAP exchange in flight; the [`Mechanism`] accessors read it.
#[derive(Default)]
pub struct PeerState {
    /// A request for the ZAP handler, until the engine takes it.
    pub zap_request: Option<Vec<Message>>,
    /// The ZAP handler's reply, once it came.
    pub zap: Option<zap::Reply>,
    /// Properties from the ZAP reply (metadata frame and User-Id).
    pub zap_props: Vec<Property>,
    /// The peer's routing id (its Identity property).
    pub peer_id: Vec<u8>,
    /// The peer's metadata properties.
    pub props: Vec<Property>,
    /// An authentication failure event for the engine to report.
    pub failure: Option<Failure>,
}

impl PeerState {
    /// Keeps a ZAP reply: its failure event, its properties and itself.
    pub fn record_zap_reply(&mut self, reply: zap::Reply) {
        self.failure = reply.failure();
        self.zap_props = reply.properties();
        self.zap = Some(reply);
    }
}

/// A security mechanism's handshake and, once ready, its framing of traffic.
pub trait Mechanism: Send {
    /// What the handshake learned of the peer so far.
    fn peer(&self) -> &PeerState;
    /// The same, to take events and requests out of.
    fn peer_mut(&mut self) -> &mut PeerState;
    /// The next handshake command to send, if one is due now.
    fn next_handshake_command(&mut self) -> Result<Option<Message>, Failure>;
    /// Processes a handshake command from the peer.
    fn process_handshake_command(&mut self, msg: Message) -> Result<(), Failure>;
    /// Where the handshake stands.
    fn status(&self) -> Status;
    /// The peer's routing id (its Identity property), if it sent one.
    fn peer_routing_id(&self) -> Vec<u8> {
        self.peer().peer_id.clone()
    }
    /// The peer's metadata properties from the handshake.
    fn properties(&self) -> &[Property] {
        &self.peer().props
    }
    /// Properties the ZAP handler returned (its metadata frame and User-Id);
    /// they take precedence over the peer's own.
    fn zap_properties(&self) -> &[Property] {
        &self.peer().zap_props
    }
    /// The authenticated user id (ZAP), if any.
    fn user_id(&self) -> &[u8] {
        self.peer().zap.as_ref().map_or(&[], |r| &r.user_id)
    }
    /// Authentication failure events raised during the handshake (e.g. an
    /// ERROR command with a ZAP status), drained by the engine.
    fn take_failure_event(&mut self) -> Option<Failure> {
        self.peer_mut().failure.take()
    }
    /// A request for the ZAP handler, whole (delimiter first), when one is due.
    fn take_zap_request(&mut self) -> Option<Vec<Message>> {
        self.peer_mut().zap_request.take()
    }
    /// The ZAP handler's reply, already checked for form by `zap::parse_reply`.
    fn zap_reply(&mut self, _reply: zap::Reply) -> Result<(), Failure> {
        Err(Failure::Protocol(
            crate::constants::ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED,
        ))
    }
    /// Whether traffic frames pass through `encode`/`decode` (CURVE). The
    /// engine skips both calls when false, keeping the plain path zero-copy.
    fn encrypts(&self) -> bool {
        false
    }
    /// Wraps one outgoing frame (flags included) for the wire.
    fn encode(&mut self, msg: Message) -> Result<Message, Failure> {
        Ok(msg)
    }
    /// Unwraps one incoming frame, restoring its flags (MORE, COMMAND).
    fn decode(&mut self, msg: Message) -> Result<Message, Failure> {
        Ok(msg)
    }
}
