fn main() {
    // The drop-in name: programs linked against libzmq ask for libzmq.so.5.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libzmq.so.5");
    // The draft API is always built (see the root build.rs); the cfg marks
    // draft items for include/zmq.h (ZMQ_BUILD_DRAFT_API).
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rustc-check-cfg=cfg(zmq_draft_api)");
    println!("cargo::rustc-cfg=zmq_draft_api");
}
