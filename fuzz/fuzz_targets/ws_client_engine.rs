//! A whole ws client connection (libzmq's test_connect_ws_fuzzer): arbitrary server bytes after our GET.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    zmqrs::ws::fuzz_client_engine(data);
});
