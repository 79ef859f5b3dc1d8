//! ZMTP greeting, NULL handshake and traffic through the sans-I/O engine.
//! Input: [config][chunk seed][peer bytes]; config bit 0 picks the side
//! (server: ZAP may be asked), bits 1-4 the socket type.
#![no_main]
use libfuzzer_sys::fuzz_target;
use zmqrs_fuzz::*;

fuzz_target!(|data: &[u8]| {
    let [config, seed, stream @ ..] = data else {
        return;
    };
    let zap = if seed & 0x80 != 0 {
        ZapAnswer::Refuse
    } else {
        ZapAnswer::Accept
    };
    drive(engine_config(Mech::Null, *config), stream, *seed, zap);
});
