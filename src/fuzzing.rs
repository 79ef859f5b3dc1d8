//! Crate-private pieces the fuzz targets (fuzz/) drive directly. Compiled
//! only with `--cfg fuzzing`, which cargo-fuzz sets; not an API.
//!
//! The RADIO/DISH stream framing lives in the socket layer, which keeps its
//! items crate-private; these thin wrappers let a target feed it frames
//! decoded by a real [`Engine`](crate::zmtp::engine::Engine).

use crate::msg::Message;
use crate::zmtp::radio_dish::{self as wire, DishWireDecoder, GroupCommand};

/// A DISH session's reassembly of (group, body) frame pairs.
#[derive(Default)]
pub struct DishWire(DishWireDecoder);

impl DishWire {
    /// A decoder waiting for a group frame.
    pub fn new() -> DishWire {
        DishWire(DishWireDecoder::new())
    }

    /// Takes one frame; `Err(())` means the connection would be dropped.
    #[allow(clippy::result_unit_err)]
    pub fn push(&mut self, frame: Message) -> Result<Option<Message>, ()> {
        self.0.push(frame).map_err(|_| ())
    }

    /// Forgets a half-received message.
    pub fn reset(&mut self) {
        self.0.reset()
    }
}

/// A RADIO session's reading of a JOIN/LEAVE command frame: `(join, group)`.
pub fn parse_group_command(msg: &Message) -> Option<(bool, Vec<u8>)> {
    wire::parse_group_command(msg).map(|(k, g)| (k == GroupCommand::Join, g.to_vec()))
}

/// Whether a frame from a DISH peer goes on to the RADIO socket.
pub fn radio_accepts_from_wire(msg: &Message) -> bool {
    wire::radio_accepts_from_wire(msg)
}

/// The JOIN (`join`) or LEAVE frame for `group`, as a DISH sends it.
pub fn group_command(join: bool, group: &[u8]) -> Option<Message> {
    let kind = if join {
        GroupCommand::Join
    } else {
        GroupCommand::Leave
    };
    wire::group_command(kind, group).ok()
}

/// The two frames a RADIO's message becomes on a stream connection.
pub fn radio_to_wire(msg: Message) -> [Message; 2] {
    wire::radio_to_wire(msg)
}
