fn main() {
    // The drop-in name: programs linked against libzmq ask for libzmq.so.5.
    println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libzmq.so.5");
    println!("cargo::rerun-if-changed=build.rs");
}
