//! CURVE client with fixed keys: greeting, HELLO, the server's WELCOME,
//! INITIATE, the server's READY or ERROR, then encrypted traffic.
//! Input: [config][chunk seed][server bytes] (config bit 0 is forced off).
#![no_main]
use libfuzzer_sys::fuzz_target;
use zmqrs_fuzz::*;

fuzz_target!(|data: &[u8]| {
    let [config, seed, stream @ ..] = data else {
        return;
    };
    let config = *config & !cfgbits::SERVER;
    drive(
        engine_config(Mech::Curve, config),
        stream,
        *seed,
        ZapAnswer::None,
    );
});
