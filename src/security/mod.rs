//! Security mechanisms (sans-I/O): the handshake that follows the ZMTP 3.x
//! greeting. Each mechanism consumes handshake commands and produces the
//! next ones; no sockets, threads or clock.

pub mod null;

use crate::msg::Message;
use crate::zmtp::properties::Property;

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
    /// A failure without a monitor event of its own.
    Other,
}

/// A security mechanism's handshake.
pub trait Mechanism: Send {
    /// The next handshake command to send, if one is due now.
    fn next_handshake_command(&mut self) -> Result<Option<Message>, Failure>;
    /// Processes a handshake command from the peer.
    fn process_handshake_command(&mut self, msg: Message) -> Result<(), Failure>;
    /// Where the handshake stands.
    fn status(&self) -> Status;
    /// The peer's routing id (its Identity property), if it sent one.
    fn peer_routing_id(&self) -> Vec<u8>;
    /// The peer's metadata properties from the handshake.
    fn properties(&self) -> &[Property];
    /// The authenticated user id (ZAP), if any.
    fn user_id(&self) -> &[u8] {
        &[]
    }
    /// Authentication failure events raised during the handshake (e.g. an
    /// ERROR command with a ZAP status), drained by the engine.
    fn take_failure_event(&mut self) -> Option<Failure> {
        None
    }
}
