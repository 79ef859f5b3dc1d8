//! WebSocket frames carrying ZMTP frames, as a server (masked input) and as a client (unmasked), in uneven chunks, with a message size limit.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    zmqrs::ws::fuzz_frame_decoder(data);
});
