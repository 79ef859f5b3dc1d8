//! Stress, chaos and soak scenarios, each bounded in time and ending by
//! itself; run on demand by `tests/stress/run [--short|--long]` (a short
//! round is a step of tests/run-all).
//!
//! ```text
//! stress --short|--long [--only NAME[,NAME...]]   run the scenarios, print the table
//! stress --list                                   the scenario names
//! ```
//!
//! Each scenario runs in a child process of this program (`--scenario`),
//! so that a crash or a hang costs that scenario only and is reported as
//! such: a child that outlives its time limit is killed and counted as a
//! hang. The child prints one `RESULT` line per scenario (see
//! `common::Outcome`). The kill scenarios start their peers as further
//! children (`--peer`), the race scenario its CPU hogs (`--hog`).

mod common;
mod hostile;
mod kill;
mod races;
mod soak;

use std::io::{BufRead, BufReader};
use std::process::{Command, ExitCode, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::{Mode, Outcome};

/// The scenarios, in the order they run.
const SCENARIOS: [&str; 10] = [
    "inproc-race",
    "ctx-storm",
    "kill-push-tcp",
    "kill-push-ipc",
    "kill-pub-tcp",
    "kill-pub-ipc",
    "kill-dealer-tcp",
    "kill-dealer-ipc",
    "soak",
    "hostile",
];

fn run_scenario(name: &str, mode: Mode) -> Option<Outcome> {
    Some(match name {
        "inproc-race" => races::inproc_race(mode),
        "ctx-storm" => races::ctx_term_storm(mode),
        "soak" => soak::soak(mode),
        "hostile" => hostile::hostile(mode),
        _ => {
            let rest = name.strip_prefix("kill-")?;
            let (pattern, transport) = rest.split_once('-')?;
            kill::kill_restart(mode, pattern, transport)
        }
    })
}

/// The longest a scenario's process may run before it counts as hung.
fn limit(name: &str, mode: Mode) -> Duration {
    Duration::from_secs(match (name, mode) {
        ("soak", Mode::Long) => 900,
        ("soak", Mode::Short) => 240,
        ("inproc-race" | "ctx-storm", Mode::Long) => 1200,
        ("inproc-race" | "ctx-storm", Mode::Short) => 200,
        (_, Mode::Long) => 400,
        (_, Mode::Short) => 150,
    })
}

/// Runs scenario `name` in a child process; its stderr goes to ours.
fn in_child(name: &str, mode: Mode) -> Outcome {
    let t0 = Instant::now();
    let mut failed = Outcome::new(name);
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            failed.errors += 1;
            failed.remark(format!("own path: {e}"));
            return failed;
        }
    };
    let mut child = match Command::new(exe)
        .args(["--scenario", name, "--mode", mode.name()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
    {
        Ok(c) => c,
        Err(e) => {
            failed.errors += 1;
            failed.remark(format!("spawn: {e}"));
            return failed;
        }
    };
    let stdout = child.stdout.take();
    let reader = thread::spawn(move || {
        let mut found = None;
        if let Some(out) = stdout {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                match Outcome::from_line(&line) {
                    Some(o) => found = Some(o),
                    None => println!("{line}"),
                }
            }
        }
        found
    });
    let limit = limit(name, mode);
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if t0.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => thread::sleep(Duration::from_millis(100)),
            Err(_) => break None,
        }
    };
    let found = reader.join().ok().flatten();
    match (status, found) {
        (Some(s), Some(o)) if s.success() => o,
        (Some(s), found) => {
            let mut o = found.unwrap_or(failed);
            o.errors += 1;
            o.remark(format!("the scenario's process ended with {s} (crash)"));
            o.seconds = t0.elapsed().as_secs_f64();
            o
        }
        (None, _) => {
            failed.hangs += 1;
            failed.remark(format!("still running after {limit:?}: killed (hang)"));
            failed.seconds = t0.elapsed().as_secs_f64();
            failed
        }
    }
}

fn print_table(results: &[(String, Outcome)], mode: Mode, total: Duration) {
    println!();
    println!(
        "stress results ({} run, {:.0} s in all)",
        mode.name(),
        total.as_secs_f64()
    );
    println!(
        "{:<16} {:>7} {:>8} {:>5} {:>5} {:>10} {:>10} {:>8} {:>6} {:>6}  latency",
        "scenario",
        "time s",
        "rounds",
        "hangs",
        "leaks",
        "sent",
        "delivered",
        "lost-kp",
        "unacc",
        "errors"
    );
    for (name, o) in results {
        println!(
            "{:<16} {:>7.1} {:>8} {:>5} {:>5} {:>10} {:>10} {:>8} {:>6} {:>6}  {}",
            name,
            o.seconds,
            o.rounds,
            o.hangs,
            o.leaks,
            o.sent,
            o.delivered,
            o.lost_killed,
            o.unaccounted,
            o.errors,
            if o.latency.is_empty() {
                "-"
            } else {
                &o.latency
            }
        );
    }
    println!();
    println!("rounds: race/storm rounds, kills, soak cycles, hostile connects;");
    println!("lost-kp: messages lost in the killed peer's buffers; unacc: unaccounted.");
    for (name, o) in results {
        println!(
            "  {name}: {} -- {}{}",
            o.scenario,
            if o.ok() { "ok" } else { "FAILED" },
            if o.note.is_empty() {
                String::new()
            } else {
                format!(" ({})", o.note)
            }
        );
    }
}

fn usage() -> ExitCode {
    eprintln!("usage: stress --short|--long [--only NAME[,NAME...]] | --list");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--hog") => races::hog(),
        Some("--peer") => kill::peer_main(&args[1..]),
        Some("--scenario") => {
            let name = args.get(1).cloned().unwrap_or_default();
            let mode = args
                .iter()
                .position(|a| a == "--mode")
                .and_then(|i| args.get(i + 1))
                .and_then(|m| Mode::parse(m))
                .unwrap_or(Mode::Short);
            common::die_with_parent();
            return match run_scenario(&name, mode) {
                Some(o) => {
                    println!("{}", o.to_line());
                    ExitCode::SUCCESS
                }
                None => {
                    eprintln!("unknown scenario {name}");
                    ExitCode::from(2)
                }
            };
        }
        Some("--list") => {
            for s in SCENARIOS {
                println!("{s}");
            }
            return ExitCode::SUCCESS;
        }
        _ => {}
    }
    let mut mode = None;
    let mut only: Option<Vec<String>> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--short" => mode = Some(Mode::Short),
            "--long" => mode = Some(Mode::Long),
            "--only" => only = it.next().map(|l| l.split(',').map(String::from).collect()),
            _ => return usage(),
        }
    }
    let Some(mode) = mode else {
        return usage();
    };
    if let Some(only) = &only {
        if let Some(bad) = only.iter().find(|n| !SCENARIOS.contains(&n.as_str())) {
            eprintln!("unknown scenario {bad} (see --list)");
            return ExitCode::from(2);
        }
    }
    let t0 = Instant::now();
    let mut results = Vec::new();
    for name in SCENARIOS {
        if only.as_ref().is_some_and(|o| !o.iter().any(|n| n == name)) {
            continue;
        }
        eprintln!("=== {name} ({})", mode.name());
        let o = in_child(name, mode);
        eprintln!(
            "=== {name}: {} in {:.1} s",
            if o.ok() { "ok" } else { "FAILED" },
            o.seconds
        );
        results.push((name.to_string(), o));
    }
    print_table(&results, mode, t0.elapsed());
    if results.iter().all(|(_, o)| o.ok()) {
        println!("stress: all scenarios met their goal");
        ExitCode::SUCCESS
    } else {
        println!("stress: FAILED");
        ExitCode::FAILURE
    }
}
