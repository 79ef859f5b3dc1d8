//! The HTTP upgrade, both sides: any bytes a client sends to a ws listener (whole and one at a time), and any reply a server sends to our request.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    zmqrs::ws::fuzz_server_handshake(data);
    zmqrs::ws::fuzz_client_handshake(data);
});
