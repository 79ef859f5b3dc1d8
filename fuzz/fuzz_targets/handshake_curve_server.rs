//! CURVE server: greeting, HELLO/WELCOME/INITIATE/READY with a fixed server
//! key, then encrypted traffic. Fuzz builds use fixed short-term keys, so
//! a recorded client conversation replays past HELLO.
//! Input: [config][chunk seed][client bytes] (config bit 0 is forced on).
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
    let config = *config | cfgbits::SERVER;
    drive(engine_config(Mech::Curve, config), stream, *seed, zap);
});
