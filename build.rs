//! Turns on the draft API, as libzmq built with ENABLE_DRAFTS: the draft
//! items are always compiled in. The `zmq_draft_api` cfg only marks them, so
//! that the generated include/zmq.h puts them behind ZMQ_BUILD_DRAFT_API
//! (capi/cbindgen.toml maps the cfg to that macro).
fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(zmq_draft_api)");
    println!("cargo::rustc-cfg=zmq_draft_api");
}
