#!/bin/sh
# Builds and runs this crate's programs and tests against the real `zmq`
# crate (rust-zmq 0.10.0 on the system's libzmq, found with pkg-config):
# a copy of the crate whose one dependency line says `zmq = "=0.10.0"`
# instead of zmqrs. That the same sources compile and pass there shows that
# the programs are genuine rust-zmq programs and that api_table.rs states
# rust-zmq's real signatures. zmqrs_extras.rs (our additions) is left out.
#
# Needs network access to crates.io (once) and libzmq's development files.
# Usage: tests/rust-zmq-programs/against-rust-zmq.sh [cargo test arguments]
set -eu
here=$(cd "$(dirname "$0")" && pwd)
work=${TMPDIR:-/tmp}/rust-zmq-programs-real
rm -rf "$work"
mkdir -p "$work"
cp -r "$here/src" "$here/tests" "$work/"
rm "$work/tests/zmqrs_extras.rs"
sed -e 's|^zmq = { package = "zmqrs", path = "../.." }$|zmq = "=0.10.0"|' \
    "$here/Cargo.toml" > "$work/Cargo.toml"
grep -q '^zmq = "=0.10.0"$' "$work/Cargo.toml"
# A workspace of its own: zmqrs's lock file and target stay untouched.
printf '\n[workspace]\n' >> "$work/Cargo.toml"
cd "$work"
CARGO_TARGET_DIR=${RUST_ZMQ_TARGET_DIR:-$work/target} cargo test "$@"
