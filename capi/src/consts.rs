//! The numbers of zmq.h, re-exported from the core so the generated header
//! carries each one once.

pub use zmqrs::constants;
