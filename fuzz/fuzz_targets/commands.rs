//! Traffic after a completed NULL handshake: commands (PING with TTL and
//! context, PONG, SUBSCRIBE, CANCEL, JOIN, LEAVE, ERROR, unknown ones) and
//! data frames, with heartbeats and timers. The peer's greeting and READY
//! are scripted; the fuzz bytes follow them.
//! Input: [config][chunk seed][frames after the handshake]; config bit 7
//! picks a ZMTP 3.0 peer (2.0-style subscriptions).
#![no_main]
use libfuzzer_sys::fuzz_target;
use zmqrs_fuzz::*;

fuzz_target!(|data: &[u8]| {
    let [config, seed, rest @ ..] = data else {
        return;
    };
    // No ZAP here: the handshake must complete; bit 7 means ZMTP 3.0.
    let cfg = engine_config(Mech::Null, *config & !cfgbits::ZAP);
    let minor = if config & 0x80 != 0 { 0 } else { 1 };
    let mut stream = null_peer_prefix(peer_type(cfg.socket_type), minor);
    stream.extend_from_slice(rest);
    drive(cfg, &stream, *seed, ZapAnswer::None);
});
