//! The C versions of the zguide examples (tests/demo/*.c: the
//! load-balancing broker, the asynchronous client/server, the identity
//! walk-through) compiled against our zmq.h, run on our libzmq.so, and
//! checked with the same checks as their Rust twins in examples/.
//!
//! Where the system has libzmq (libzmq3-dev), each program is also built
//! and run against it first: the checks then hold for libzmq itself, so a
//! failure on ours is ours and not the program's.

mod common;

use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::*;

include!("../../tests/demo/checks.rs");

/// Longest a program may run (a busy two-core machine included).
const LIMIT: Duration = Duration::from_secs(120);

fn source(name: &str) -> String {
    let path = root_dir().join("tests/demo").join(format!("{name}.c"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Runs `exe` with `LD_LIBRARY_PATH=libdir` (if given), kills it after
/// LIMIT; its standard output, or a panic saying how it ended.
fn run_limited(exe: &Path, libdir: Option<&Path>) -> String {
    let mut cmd = Command::new(exe);
    if let Some(dir) = libdir {
        cmd.env("LD_LIBRARY_PATH", dir);
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()));
    let mut stdout = child.stdout.take().expect("piped stdout");
    let mut stderr = child.stderr.take().expect("piped stderr");
    let out = thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut s);
        s
    });
    let err = thread::spawn(move || {
        let mut s = String::new();
        let _ = std::io::Read::read_to_string(&mut stderr, &mut s);
        s
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break Some(status);
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        thread::sleep(Duration::from_millis(20));
    };
    let (out, err) = (out.join().expect("reader"), err.join().expect("reader"));
    match status {
        None => panic!("{} still ran after {LIMIT:?}:\n{out}{err}", exe.display()),
        Some(s) if s.signal().is_some() => {
            panic!(
                "{} died of signal {:?}:\n{out}{err}",
                exe.display(),
                s.signal()
            )
        }
        Some(s) if !s.success() => panic!("{} failed ({s}):\n{out}{err}", exe.display()),
        Some(_) => out,
    }
}

/// Builds the program against the system's libzmq; None where there is
/// none (no libzmq3-dev).
fn build_on_system_libzmq(dir: &Path, name: &str) -> Option<PathBuf> {
    if !Path::new("/usr/include/zmq.h").is_file() {
        eprintln!("no system libzmq: {name} runs on ours only");
        return None;
    }
    let src = dir.join(format!("{name}-system.c"));
    std::fs::write(&src, source(name)).expect("write source");
    let exe = dir.join(format!("{name}-system"));
    run(Command::new("gcc")
        .args(["-std=gnu11", "-Wall", "-Werror", "-pthread"])
        .arg(&src)
        .arg("-o")
        .arg(&exe)
        .arg("-lzmq"));
    Some(exe)
}

fn check_program(name: &str, check: fn(&[&str]) -> Result<(), String>) {
    let dir = scratch(name);
    let verdict = |who: &str, out: &str| {
        let lines: Vec<&str> = out.lines().collect();
        if let Err(why) = check(&lines) {
            panic!("{name} on {who}: {why}; it printed:\n{out}");
        }
    };
    if let Some(exe) = build_on_system_libzmq(&dir, name) {
        verdict("the system's libzmq", &run_limited(&exe, None));
    }
    let libdir = soname_dir(&dir);
    let exe = compile_c(&dir, name, &source(name));
    verdict("ours", &run_limited(&exe, Some(&libdir)));
}

#[test]
fn load_balancing_broker_in_c() {
    check_program("lbbroker", check_lbbroker);
}

#[test]
fn asynchronous_client_server_in_c() {
    check_program("asyncsrv", check_asyncsrv);
}

#[test]
fn identities_and_envelopes_in_c() {
    check_program("identity", check_identity);
}
