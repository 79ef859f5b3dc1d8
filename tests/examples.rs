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

fn ensure(ok: bool, what: &str) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(what.to_string())
    }
}

fn check_lbbroker(lines: &[&str]) -> Result<(), String> {
    for n in 0..10 {
        ensure(
            lines.contains(&format!("Client-{n}: OK").as_str()),
            &format!("Client-{n} got no OK"),
        )?;
    }
    let answered = lines
        .iter()
        .filter(|l| l.starts_with("broker: Worker-"))
        .count();
    ensure(answered == 10, "the broker did not route 10 replies")?;
    let last = lines.last().copied().unwrap_or("");
    ensure(
        last.starts_with("served per worker: [") && last.ends_with("], total 10"),
        "no summary of 10 requests served",
    )
}

fn check_asyncsrv(lines: &[&str]) -> Result<(), String> {
    // Requests 0..5 get 1, 2, 3, 1, 2 replies: 9 per client.
    for client in ["client-A", "client-B", "client-C"] {
        let received = lines
            .iter()
            .filter(|l| l.starts_with(&format!("{client} received: request #")))
            .count();
        ensure(
            received == 9,
            &format!("{client} received {received} replies, not 9"),
        )?;
        ensure(
            lines.contains(&format!("{client} done: 9 replies").as_str()),
            &format!("{client} did not finish"),
        )?;
        for (n, copies) in [(0, 1), (1, 2), (2, 3), (3, 1), (4, 2)] {
            let prefix = format!("{client} received: request #{n} (reply ");
            let got = lines.iter().filter(|l| l.starts_with(&prefix)).count();
            ensure(
                got == copies,
                &format!("{client} request #{n}: {got} replies"),
            )?;
        }
    }
    ensure(
        lines.last() == Some(&"proxy ended: Err(ETERM)"),
        "the proxy did not end with ETERM",
    )
}

fn check_identity(lines: &[&str]) -> Result<(), String> {
    let rule = "----------------------------------------";
    ensure(
        lines.iter().filter(|l| **l == rule).count() == 3,
        "three dumps",
    )?;
    let generated = lines.get(1).copied().unwrap_or("");
    let hex = generated.strip_prefix("[005] 00").unwrap_or("");
    ensure(
        hex.len() == 8 && hex.chars().all(|c| c.is_ascii_hexdigit()),
        &format!("a generated 5-byte routing id, not {generated:?}"),
    )?;
    let expected_rest = [
        "[000] ",
        "[039] ROUTER uses a generated 5 byte identity",
        "anonymous REQ got: the reply reaches the anonymous REQ",
        rule,
        "[005] PEER2",
        "[000] ",
        "[040] ROUTER socket uses REQ's socket identity",
        rule,
        "[007] DEALER3",
        "[025] DEALER sends no delimiter",
        "[024] and any number of frames",
        "DEALER got: hello by name",
    ];
    ensure(
        lines.get(2..) == Some(&expected_rest[..]),
        "the envelopes as expected",
    )
}

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
