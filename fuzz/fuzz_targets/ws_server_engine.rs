//! A whole ws server connection (libzmq's test_bind_ws_fuzzer): the upgrade, then ZWS traffic, from arbitrary client bytes.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    zmqrs::ws::fuzz_server_engine(data);
});
