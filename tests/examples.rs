//! Runs the examples in examples/ and checks what they print.
//!
//! Each example is compiled into this test (included as a module, so it is
//! always the current source) and run in a child process of this test with
//! `--run-example=<name>`, whose standard output is captured and checked;
//! a child that outlives the time limit is killed and fails the test.
//! (No libtest harness: `harness = false` in Cargo.toml.) Arguments that do
//! not start with `-` select examples by name, as test filters do.

use std::process::{Command, ExitCode, Stdio};
use std::thread;
use std::time::{Duration, Instant};

mod lbbroker {
    include!("../examples/lbbroker.rs");
    pub fn run() {
        main()
    }
}

mod asyncsrv {
    include!("../examples/asyncsrv.rs");
    pub fn run() {
        main()
    }
}

mod identity {
    include!("../examples/identity.rs");
    pub fn run() {
        main()
    }
}

/// Longest an example may run (debug builds on a busy machine are slow).
const LIMIT: Duration = Duration::from_secs(120);

struct Case {
    name: &'static str,
    run: fn(),
    check: fn(&[&str]) -> Result<(), String>,
}

// The checks are shared with the C versions of the examples (tests/demo).
include!("demo/checks.rs");

const CASES: &[Case] = &[
    Case {
        name: "lbbroker",
        run: lbbroker::run,
        check: check_lbbroker,
    },
    Case {
        name: "asyncsrv",
        run: asyncsrv::run,
        check: check_asyncsrv,
    },
    Case {
        name: "identity",
        run: identity::run,
        check: check_identity,
    },
];

/// Runs one example in a child process; returns its standard output.
fn run_child(name: &str) -> Result<String, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .arg(format!("--run-example={name}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| e.to_string())?;
    let mut stdout = child.stdout.take().ok_or("no stdout")?;
    let reader = thread::spawn(move || {
        let mut out = String::new();
        let _ = std::io::Read::read_to_string(&mut stdout, &mut out);
        out
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if start.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("still running after {LIMIT:?}"));
        }
        thread::sleep(Duration::from_millis(20));
    };
    let out = reader.join().map_err(|_| "reader thread panicked")?;
    if !status.success() {
        return Err(format!("{status}; printed:\n{out}"));
    }
    Ok(out)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(name) = args.iter().find_map(|a| a.strip_prefix("--run-example=")) {
        return match CASES.iter().find(|c| c.name == name) {
            Some(case) => {
                (case.run)();
                ExitCode::SUCCESS
            }
            None => ExitCode::FAILURE,
        };
    }
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let mut failed = 0;
    for case in CASES {
        if !filters.is_empty() && !filters.iter().any(|f| case.name.contains(f.as_str())) {
            continue;
        }
        let result = run_child(case.name).and_then(|out| {
            let lines: Vec<&str> = out.lines().collect();
            (case.check)(&lines).map_err(|e| format!("{e}; printed:\n{out}"))
        });
        match result {
            Ok(()) => println!("example {} ... ok", case.name),
            Err(e) => {
                println!("example {} ... FAILED: {e}", case.name);
                failed += 1;
            }
        }
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
