//! The core and the Rust API always have libzmq's draft items, as libzmq's
//! own sources always have them (its internal zmq_draft.h). The
//! `zmq_draft_api` cfg, always set, only marks them, so that the generated
//! include/zmq.h puts them behind ZMQ_BUILD_DRAFT_API (capi/cbindgen.toml
//! maps the cfg to that macro). Whether the C library offers the draft API
//! is the `draft` feature of capi.
fn main() {
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(zmq_draft_api)");
    println!("cargo::rustc-cfg=zmq_draft_api");
}
