//! What the C-program tests share: the library under test (built for the
//! test's profile), scratch directories, running commands.
#![allow(dead_code)] // each test file uses a different part

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The repository root.
pub fn root_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("capi/ has a parent")
        .to_path_buf()
}

/// The repository's include/ (zmq.h, zmq_utils.h).
pub fn our_include() -> PathBuf {
    root_dir().join("include")
}

/// A fresh scratch directory for one check; removed when the check passes,
/// kept (under target/tmp/abi-<pid>/) for a look when it fails.
pub struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = fs::remove_dir_all(&self.0);
            if let Some(parent) = self.0.parent() {
                let _ = fs::remove_dir(parent);
            }
        }
    }
}

pub fn scratch(name: &str) -> Scratch {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("{}-{}", test_name(), std::process::id()))
        .join(name);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create scratch directory");
    Scratch(dir)
}

/// Runs a command; its stdout, or a panic with its stderr.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 output")
}

// ---- the library under test ----------------------------------------------

/// target/<profile>/libzmq.so, built for the profile of this test.
pub fn library() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        // This test runs as target/<profile>/deps/abi-<hash>.
        let exe = std::env::current_exe().expect("test executable path");
        let profile_dir = exe
            .parent()
            .and_then(Path::parent)
            .expect("target/<profile>")
            .to_path_buf();
        let profile = profile_dir
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("debug")
            .to_string();
        let target_dir = profile_dir.parent().expect("target dir");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut cmd = Command::new(cargo);
        cmd.args(["build", "-p", "zmq-capi", "--target-dir"])
            .arg(target_dir)
            .current_dir(root_dir());
        // The library of the same build as this test: with the draft API
        // or without.
        if cfg!(feature = "draft") {
            cmd.args(["--features", "draft"]);
        }
        match profile.as_str() {
            "debug" => {}
            "release" => {
                cmd.arg("--release");
            }
            other => {
                cmd.args(["--profile", other]);
            }
        }
        run(&mut cmd);
        let lib = profile_dir.join("libzmq.so");
        assert!(
            lib.is_file(),
            "{} is missing after cargo build -p zmq-capi",
            lib.display()
        );
        lib
    })
}

/// A directory under `dir` where the library under test is found by its
/// SONAME, libzmq.so.5, as the dynamic linker looks for it.
pub fn soname_dir(dir: &Path) -> PathBuf {
    let libdir = dir.join("lib");
    fs::create_dir_all(&libdir).expect("create lib dir");
    std::os::unix::fs::symlink(library(), libdir.join("libzmq.so.5")).expect("symlink libzmq.so.5");
    libdir
}

/// The name of the running test binary (abi, defects, ...), for scratch paths.
fn test_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .map(|s| s.split('-').next().unwrap_or("test").to_string())
        .unwrap_or_else(|| "test".into())
}

/// Compiles a C program against our zmq.h (with the draft API when the
/// library under test has it) and links it to the library under test;
/// returns the executable.
pub fn compile_c(dir: &Path, name: &str, source: &str) -> PathBuf {
    let src = dir.join(format!("{name}.c"));
    fs::write(&src, source).expect("write source");
    let exe = dir.join(name);
    let mut cmd = Command::new("gcc");
    cmd.args(["-std=gnu11", "-Wall", "-Werror", "-pthread", "-I"])
        .arg(our_include());
    if cfg!(feature = "draft") {
        cmd.arg("-DZMQ_BUILD_DRAFT_API");
    }
    cmd.arg(&src).arg("-o").arg(&exe).arg(library());
    run(&mut cmd);
    exe
}

/// Runs a compiled program against the library under test (found through
/// `libdir`); returns its stdout, or panics with how it ended (a signal
/// shows as such).
pub fn run_c(exe: &Path, libdir: &Path) -> String {
    use std::os::unix::process::ExitStatusExt;
    let out = Command::new(exe)
        .env("LD_LIBRARY_PATH", libdir)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", exe.display()));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if let Some(sig) = out.status.signal() {
        panic!(
            "{} was killed by signal {sig}:\n{stdout}{}",
            exe.display(),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert!(
        out.status.success(),
        "{} failed ({}):\n{stdout}{}",
        exe.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}
