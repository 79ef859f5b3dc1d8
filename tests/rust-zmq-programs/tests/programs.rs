//! Runs each program of src/bin (written for the `zmq` crate, built on
//! zmqrs) as its own process, with a time limit, and checks what it prints.
//! Multi-process patterns (hello world, pipeline) connect over tcp on
//! 127.0.0.1 with ports the system picks, and over ipc in a private
//! directory; every program ends by itself.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// Longest a program may run (debug builds on a busy machine are slow).
const LIMIT: Duration = Duration::from_secs(120);

macro_rules! bin {
    ($name:ident) => {
        env!(concat!("CARGO_BIN_EXE_", stringify!($name)))
    };
}

/// A running program whose standard output is read line by line.
struct Program {
    name: String,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Receiver<String>,
    seen: Vec<String>,
    started: Instant,
}

impl Program {
    fn start(path: &str, args: &[&str]) -> Program {
        let mut child = Command::new(path)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {path}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = mpsc::channel();
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let name = PathBuf::from(path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Program {
            name,
            stdin: child.stdin.take(),
            child,
            lines,
            seen: Vec::new(),
            started: Instant::now(),
        }
    }

    fn deadline(&self) -> Instant {
        self.started + LIMIT
    }

    /// Waits for a line that satisfies `want`; returns it.
    fn expect_line(&mut self, want: impl Fn(&str) -> bool) -> String {
        loop {
            let left = self.deadline().saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if want(&line) {
                        return line;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    let _ = self.child.kill();
                    panic!(
                        "{}: expected line never came; saw {:#?}",
                        self.name, self.seen
                    );
                }
                Err(RecvTimeoutError::Disconnected) => {
                    panic!(
                        "{}: ended before the expected line; saw {:#?}",
                        self.name, self.seen
                    );
                }
            }
        }
    }

    /// Writes a line to the program's standard input.
    fn type_line(&mut self, line: &str) {
        let stdin = self.stdin.as_mut().expect("stdin still open");
        writeln!(stdin, "{line}").expect("write to stdin");
        stdin.flush().expect("flush stdin");
    }

    /// Waits for the program to end successfully; returns all it printed.
    fn finish(mut self) -> Vec<String> {
        drop(self.stdin.take());
        loop {
            match self.child.try_wait().expect("wait") {
                Some(status) => {
                    while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
                        self.seen.push(line);
                    }
                    assert!(
                        status.success(),
                        "{} failed ({status}); printed {:#?}",
                        self.name,
                        self.seen
                    );
                    return std::mem::take(&mut self.seen);
                }
                None if Instant::now() > self.deadline() => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    panic!(
                        "{} did not end in {:?}; printed {:#?}",
                        self.name, LIMIT, self.seen
                    );
                }
                None => {
                    while let Ok(line) = self.lines.try_recv() {
                        self.seen.push(line);
                    }
                    thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        // A failed assertion must not leave a program running.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn run(path: &str, args: &[&str]) -> Vec<String> {
    Program::start(path, args).finish()
}

fn count(lines: &[String], want: impl Fn(&str) -> bool) -> usize {
    lines.iter().filter(|l| want(l)).count()
}

/// A private directory for ipc endpoints, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir =
            std::env::temp_dir().join(format!("rust-zmq-programs-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn hello_world_client_and_server_over_tcp_and_ipc() {
    let dir = TempDir::new("hw");
    let ipc = format!("ipc://{}/hw.ipc", dir.0.display());
    for bind in ["tcp://127.0.0.1:*", ipc.as_str()] {
        let mut server = Program::start(bin!(hwserver), &[bind, "10"]);
        let line = server.expect_line(|l| l.starts_with("listening on "));
        let endpoint = line.trim_start_matches("listening on ").to_string();
        if bind.starts_with("tcp") {
            assert!(endpoint.starts_with("tcp://127.0.0.1:") && !endpoint.ends_with('*'));
        } else {
            assert_eq!(endpoint, bind);
        }
        let client = run(bin!(hwclient), &[&endpoint]);
        let served = server.finish();
        for n in 0..10 {
            assert!(
                client.contains(&format!("Received World {n}")),
                "{client:#?}"
            );
        }
        assert_eq!(count(&served, |l| l == "Received Hello"), 10, "{served:#?}");
    }
}

#[test]
fn pipeline_ventilator_workers_and_sink() {
    let mut sink = Program::start(bin!(tasksink), &[]);
    let results = sink.expect_line(|l| l.starts_with("results on "));
    let results = results.trim_start_matches("results on ").to_string();
    let control = sink.expect_line(|l| l.starts_with("control on "));
    let control = control.trim_start_matches("control on ").to_string();

    let mut vent = Program::start(bin!(taskvent), &[&results]);
    let tasks = vent.expect_line(|l| l.starts_with("tasks on "));
    let tasks = tasks.trim_start_matches("tasks on ").to_string();

    let mut workers: Vec<Program> = (0..3)
        .map(|_| Program::start(bin!(taskwork), &[&tasks, &results, &control]))
        .collect();
    for w in &mut workers {
        w.expect_line(|l| l == "worker ready");
    }
    // No KILL can be lost: every worker's subscription has arrived.
    for _ in 0..3 {
        sink.expect_line(|l| l == "a worker subscribed");
    }
    vent.expect_line(|l| l.starts_with("Press Enter"));
    vent.type_line("");

    let vent_out = vent.finish();
    assert!(vent_out.iter().any(|l| l == "Sending tasks to workers..."));
    let sink_out = sink.finish();
    assert!(
        sink_out
            .iter()
            .any(|l| l.starts_with("Total elapsed time: ")),
        "{sink_out:#?}"
    );
    let progress: String = sink_out
        .iter()
        .filter(|l| l.starts_with(':'))
        .cloned()
        .collect();
    assert_eq!(progress.len(), 100, "one mark per result: {sink_out:#?}");
    let mut done = 0;
    for w in workers {
        let out = w.finish();
        let last = out.last().cloned().unwrap_or_default();
        let n: usize = last
            .strip_prefix("worker killed after ")
            .and_then(|rest| rest.strip_suffix(" tasks"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("worker ended oddly: {out:#?}"));
        done += n;
    }
    assert_eq!(done, 100);
}

#[test]
fn load_balancing_broker_with_poll() {
    let out = run(bin!(lbbroker), &[]);
    for n in 0..10 {
        assert!(out.contains(&format!("Client{n}: OK")), "{out:#?}");
    }
    assert_eq!(
        count(&out, |l| l.starts_with("Worker")
            && l.contains(": HELLO from Client")),
        10
    );
    assert!(out.contains(&"broker done, 10 requests served".to_string()));
}

#[test]
fn pub_sub_envelopes() {
    let out = run(bin!(psenv), &[]);
    assert_eq!(
        count(&out, |l| l == "[B] We would like to see this"),
        5,
        "{out:#?}"
    );
    assert_eq!(count(&out, |l| l.starts_with("[A]")), 0);
    assert_eq!(out.last().map(String::as_str), Some("publisher stopped"));
}

#[test]
fn shared_queue_with_zmq_proxy() {
    let out = run(bin!(msgqueue), &[]);
    for n in 0..10 {
        assert!(
            out.contains(&format!("Received reply {n} [World]")),
            "{out:#?}"
        );
    }
    assert!(
        out.contains(&"proxy ended: Context was terminated".to_string()),
        "{out:#?}"
    );
    assert!(
        out.contains(&"workers served 10 requests".to_string()),
        "{out:#?}"
    );
}

#[test]
fn steerable_proxy_with_capture() {
    let out = run(bin!(wuproxy), &[]);
    assert!(
        out.iter()
            .any(|l| l.starts_with("Average temperature for zipcode '10001' was ")),
        "{out:#?}"
    );
    assert!(
        out.iter().any(|l| l.starts_with("capture saw a ")),
        "{out:#?}"
    );
    assert!(
        out.contains(&"proxy terminated: Ok(())".to_string()),
        "{out:#?}"
    );
}

#[test]
fn curve_encryption() {
    let out = run(bin!(curve), &[]);
    if zmq::has("curve") != Some(true) {
        assert_eq!(out, ["CURVE is not available"]);
        return;
    }
    let expected = [
        "server public key: 40 characters of Z85",
        "server got: secret hello",
        "client socket type: REQ",
        "client got: secret world",
        "wrong server key answered: false",
    ];
    assert_eq!(out, expected, "{out:#?}");
}

#[test]
fn monitor_events() {
    let out = run(bin!(monitor), &[]);
    let position = |event: &str| {
        out.iter()
            .position(|l| l.split(' ').next() == Some(event))
            .unwrap_or_else(|| panic!("no {event} in {out:#?}"))
    };
    let listening = position("LISTENING");
    let accepted = position("ACCEPTED");
    let handshake = position("HANDSHAKE_SUCCEEDED");
    let disconnected = position("DISCONNECTED");
    assert!(
        listening < accepted && accepted < handshake && handshake < disconnected,
        "{out:#?}"
    );
    assert_eq!(out[listening], "LISTENING on the endpoint");
    assert_eq!(out.last().map(String::as_str), Some("MONITOR_STOPPED"));
}
