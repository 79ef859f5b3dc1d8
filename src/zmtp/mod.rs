//! ZMTP, sans I/O: framing ([`codec`]), metadata ([`properties`]) and the
//! per-connection state machine ([`engine`]). Nothing here touches a socket,
//! a thread or the clock; every rule is tested on byte vectors.

pub mod codec;
pub mod engine;
pub mod properties;

pub use codec::subscription_kind;
