//! `ZMQRS_LOG`: a C program has no `log` logger, so the library writes its
//! diagnostics to stderr when this variable asks for them, and nothing at
//! all otherwise (as libzmq writes nothing).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

/// Binds, connects, moves one message over tcp, closes: a connection
/// comes up and goes down on both sides.
const PROGRAM: &str = r#"
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <zmq.h>

int main(void) {
    void *ctx = zmq_ctx_new();
    void *pull = zmq_socket(ctx, ZMQ_PULL);
    void *push = zmq_socket(ctx, ZMQ_PUSH);
    int linger = 0;
    zmq_setsockopt(push, ZMQ_LINGER, &linger, sizeof linger);
    assert(zmq_bind(pull, "tcp://127.0.0.1:*") == 0);
    char ep[256];
    size_t len = sizeof ep;
    assert(zmq_getsockopt(pull, ZMQ_LAST_ENDPOINT, ep, &len) == 0);
    assert(zmq_connect(push, ep) == 0);
    assert(zmq_send(push, "hi", 2, 0) == 2);
    char buf[8];
    assert(zmq_recv(pull, buf, sizeof buf, 0) == 2);
    zmq_close(push);
    zmq_close(pull);
    zmq_ctx_term(ctx);
    printf("done\n");
    return 0;
}
"#;

/// Runs the program with `ZMQRS_LOG` set to `value` (unset for None); its
/// stderr.
fn stderr_with(exe: &Path, libdir: &Path, value: Option<&str>) -> String {
    let mut cmd = Command::new(exe);
    cmd.env("LD_LIBRARY_PATH", libdir).env_remove("ZMQRS_LOG");
    if let Some(v) = value {
        cmd.env("ZMQRS_LOG", v);
    }
    let out = cmd.output().expect("run the program");
    assert!(
        out.status.success(),
        "the program failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "done\n");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn zmqrs_log_writes_connection_events_to_stderr_and_nothing_by_default() {
    let dir = scratch("stderr_log");
    let libdir = soname_dir(&dir);
    let exe = compile_c(&dir, "stderr_log", PROGRAM);

    assert_eq!(stderr_with(&exe, &libdir, None), "", "unset: silent");
    assert_eq!(stderr_with(&exe, &libdir, Some("off")), "", "off: silent");

    let debug = stderr_with(&exe, &libdir, Some("debug"));
    let pid_prefix = |l: &str| l.starts_with("zmq[") && l.contains("] ");
    for line in debug.lines() {
        assert!(pid_prefix(line), "every line is a record: {line:?}");
    }
    let has = |level: &str, what: &str| {
        debug
            .lines()
            .any(|l| l.contains(level) && l.contains("zmqrs::connection") && l.contains(what))
    };
    assert!(has("DEBUG", "listening"), "the bind:\n{debug}");
    assert!(has("INFO", "connected"), "the connect:\n{debug}");
    assert!(has("INFO", "accepted"), "the accept:\n{debug}");

    // At warn, a clean run has nothing to say.
    assert_eq!(stderr_with(&exe, &libdir, Some("warn")), "", "warn: silent");
}
