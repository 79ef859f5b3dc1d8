//! PGM (RFC 3208) for the `pgm://` and `epgm://` transports, sans-I/O and
//! wire-compatible with libzmq built with OpenPGM (Debian's libzmq5).
//!
//! libzmq's PGM is OpenPGM driven by `pgm_sender_t`/`pgm_receiver_t`;
//! this module is our own implementation of the part of RFC 3208 those use,
//! checked against what Debian's libzmq5 puts on the wire (the captures
//! quoted in the tests):
//!
//! * [`wire`]: the packets (SPM, ODATA, RDATA, NAK, NCF, SPMR and their
//!   options), parsing that never trusts a length, the checksum.
//! * [`framing`]: libzmq's messages inside TSDUs (ZMTP/1.0 frames, a 2-byte
//!   offset of the first message in each TSDU).
//! * [`sender`]: the source: transmit window, rate, NAK → NCF + RDATA, SPMs.
//! * [`receiver`]: per-source receive windows, NAK state machines, loss,
//!   and delivery of whole messages in order.
//!
//! Nothing here opens a socket, starts a thread or reads the clock: time is
//! passed in (`now`), packets go in as bytes and come out of `poll_*`
//! calls. The I/O lives in `io/pgm.rs`: `epgm://` carries these packets in
//! UDP datagrams to and from the endpoint's port, `pgm://` in raw IP
//! datagrams of protocol 113.
//!
//! Threads: a [`sender::Sender`] or [`receiver::Receiver`] belongs to the
//! I/O thread running its endpoint.

pub mod framing;
pub mod receiver;
pub mod sender;
pub mod wire;

#[cfg(test)]
mod hostile;
#[cfg(test)]
mod tests;
