//! ZMTP, sans I/O: framing ([`codec`]), metadata ([`properties`], defined
//! with the security mechanisms) and the
//! per-connection state machine ([`engine`]). Nothing here touches a socket,
//! a thread or the clock; every rule is tested on byte vectors.

pub mod codec;
pub mod engine;
/// ZMTP metadata (RFC 37 section "Metadata"), shared with the security
/// mechanisms, which sit below this layer and define it.
pub use crate::security::properties;

pub(crate) mod adapter;
pub(crate) mod radio_dish;

pub use codec::subscription_kind;
