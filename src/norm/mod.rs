//! NORM (RFC 5740) for the `norm://` transport: the part that is ours and
//! sans-I/O, libzmq's framing of messages inside a NORM stream.
//!
//! The NORM protocol itself (packets, FEC, NACKs, repair, congestion
//! control) comes from libnorm, loaded at run time by `io/libnorm.rs` and
//! driven by `io/norm.rs`; DESIGN.md says why NORM, unlike PGM, is not our
//! own. What libnorm hands us is a reliable byte stream per remote sender,
//! which a receiver may join mid-way or lose a stretch of; [`framing`] turns
//! messages into that stream and back, exactly as libzmq's `norm_engine_t`
//! does, so that both talk to each other.
//!
//! Threads: an encoder or decoder belongs to the I/O thread running its
//! endpoint.

pub mod framing;
