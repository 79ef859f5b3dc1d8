//! ZMTP greeting, PLAIN handshake (client or server side by config bit 0)
//! and traffic through the sans-I/O engine. Input: [config][chunk seed][peer bytes].
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
    drive(engine_config(Mech::Plain, *config), stream, *seed, zap);
});
