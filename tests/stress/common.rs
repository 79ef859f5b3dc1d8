//! What the scenarios share: their result line, bounded waits, counters in
//! shared memory that outlive a killed process, measurements of the
//! process (memory in use, descriptors), a small random generator.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// How long a scenario runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// A round for CI: every scenario, the whole run under 5 minutes.
    Short,
    /// The full rounds (500 races, a 10-minute soak...).
    Long,
}

impl Mode {
    pub fn parse(s: &str) -> Option<Mode> {
        match s {
            "short" => Some(Mode::Short),
            "long" => Some(Mode::Long),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Short => "short",
            Mode::Long => "long",
        }
    }

    /// `short` in short mode, else `long`.
    pub fn pick<T>(self, short: T, long: T) -> T {
        match self {
            Mode::Short => short,
            Mode::Long => long,
        }
    }
}

/// What a scenario reports: one line on stdout, `RESULT` then tab-separated
/// `key=value` fields, read back by the orchestrator for its table.
#[derive(Clone, Debug, Default)]
pub struct Outcome {
    pub scenario: String,
    pub seconds: f64,
    pub rounds: u64,
    pub hangs: u64,
    pub leaks: u64,
    pub sent: u64,
    pub delivered: u64,
    pub lost_killed: u64,
    pub unaccounted: u64,
    /// Failures that are none of the above (a panic in a worker thread, a
    /// legitimate client not served...).
    pub errors: u64,
    pub latency: String,
    pub note: String,
}

impl Outcome {
    pub fn new(scenario: &str) -> Outcome {
        Outcome {
            scenario: scenario.to_string(),
            ..Outcome::default()
        }
    }

    /// Whether the scenario met its goal.
    pub fn ok(&self) -> bool {
        self.hangs == 0 && self.leaks == 0 && self.unaccounted == 0 && self.errors == 0
    }

    fn clean(s: &str) -> String {
        s.chars()
            .map(|c| if c == '\t' || c.is_control() { ' ' } else { c })
            .collect()
    }

    pub fn to_line(&self) -> String {
        let mut l = String::from("RESULT");
        let _ = write!(
            l,
            "\tscenario={}\tseconds={:.1}\trounds={}\thangs={}\tleaks={}\tsent={}\tdelivered={}\tlost_killed={}\tunaccounted={}\terrors={}\tlatency={}\tnote={}",
            Self::clean(&self.scenario),
            self.seconds,
            self.rounds,
            self.hangs,
            self.leaks,
            self.sent,
            self.delivered,
            self.lost_killed,
            self.unaccounted,
            self.errors,
            Self::clean(&self.latency),
            Self::clean(&self.note),
        );
        l
    }

    pub fn from_line(line: &str) -> Option<Outcome> {
        let rest = line.strip_prefix("RESULT\t")?;
        let mut o = Outcome::default();
        for field in rest.split('\t') {
            let (k, v) = field.split_once('=')?;
            let n = || v.parse::<u64>().unwrap_or(0);
            match k {
                "scenario" => o.scenario = v.to_string(),
                "seconds" => o.seconds = v.parse().unwrap_or(0.0),
                "rounds" => o.rounds = n(),
                "hangs" => o.hangs = n(),
                "leaks" => o.leaks = n(),
                "sent" => o.sent = n(),
                "delivered" => o.delivered = n(),
                "lost_killed" => o.lost_killed = n(),
                "unaccounted" => o.unaccounted = n(),
                "errors" => o.errors = n(),
                "latency" => o.latency = v.to_string(),
                "note" => o.note = v.to_string(),
                _ => {}
            }
        }
        Some(o)
    }

    /// Adds a remark to the note.
    pub fn remark(&mut self, text: impl AsRef<str>) {
        if !self.note.is_empty() {
            self.note.push_str("; ");
        }
        self.note.push_str(text.as_ref());
    }
}

/// Runs `body` on a thread of its own and waits at most `limit` for it.
/// None means it was still running (a hang; the thread is left behind).
pub fn within<T: Send + 'static>(
    limit: Duration,
    body: impl FnOnce() -> T + Send + 'static,
) -> Option<std::thread::Result<T>> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
        let _ = tx.send(r);
    });
    rx.recv_timeout(limit).ok()
}

/// A xorshift generator: the scenarios need variety, not quality.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.max(1))
    }

    /// Seeded from the clock and the process id.
    pub fn from_clock() -> Rng {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(1);
        Rng::new(t ^ (u64::from(std::process::id()) << 32))
    }

    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..n` (0 if n is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.next() % n
        }
    }

    /// A number in `lo..=hi`.
    pub fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi.saturating_sub(lo) + 1)
    }

    pub fn fill(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b = self.next() as u8;
        }
    }
}

/// Descriptors this process has open.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Resident memory of this process, in KiB.
pub fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Bytes the process has allocated and not freed (glibc's count over
/// every arena).
pub fn heap_in_use() -> u64 {
    // SAFETY: mallinfo2 only reads the allocator's statistics.
    let m = unsafe { libc::mallinfo2() };
    (m.uordblks + m.hblkhd) as u64
}

/// The `p`th percentile (0..=100) of `v`, sorted in place; None if empty.
pub fn percentile(v: &mut [Duration], p: f64) -> Option<Duration> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let i = ((v.len() - 1) as f64 * p / 100.0).round() as usize;
    v.get(i).copied()
}

/// A duration in microseconds, for tables.
pub fn us(d: Option<Duration>) -> String {
    match d {
        Some(d) => format!("{}", d.as_micros()),
        None => "-".to_string(),
    }
}

/// Counters in a shared file mapping: a peer process updates them, and
/// they stay readable by its parent after the peer is killed.
pub struct Shared {
    ptr: *mut AtomicU64,
    path: std::path::PathBuf,
    owner: bool,
}

// SAFETY: the mapping is only accessed through atomics, and lives as long
// as the value.
unsafe impl Send for Shared {}

/// Slots of a [`Shared`] block.
pub mod slot {
    /// Messages the peer's application is about to send (seq of the send
    /// under way, plus one).
    pub const ATTEMPT: usize = 0;
    /// Messages the peer's send call accepted.
    pub const SENT: usize = 1;
    /// Messages the peer's application received (replies).
    pub const RECEIVED: usize = 2;
    /// Set once the peer is ready (its subscription seen, or connected).
    pub const READY: usize = 3;
    /// Set when the peer finished on its own (not killed).
    pub const DONE: usize = 4;
    /// Replies that arrived out of order or duplicated.
    pub const DISORDER: usize = 5;
}

const SLOTS: usize = 8;

impl Shared {
    /// Creates a fresh block in /dev/shm (or /tmp); the creator removes the
    /// file when the value is dropped.
    pub fn create(tag: &str) -> std::io::Result<Shared> {
        let dir = if std::path::Path::new("/dev/shm").is_dir() {
            "/dev/shm"
        } else {
            "/tmp"
        };
        let path =
            std::path::PathBuf::from(format!("{dir}/zmqrs-stress-{}-{tag}", std::process::id()));
        // Read and write: a shared writable mapping needs both.
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&path)?;
        f.set_len((SLOTS * 8) as u64)?;
        Shared::map(&f, path, true)
    }

    /// Maps a block made by [`Shared::create`] (in a peer process).
    pub fn open(path: &str) -> std::io::Result<Shared> {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)?;
        Shared::map(&f, path.into(), false)
    }

    fn map(f: &std::fs::File, path: std::path::PathBuf, owner: bool) -> std::io::Result<Shared> {
        use std::os::fd::AsRawFd;
        // SAFETY: a fresh shared mapping of a file of SLOTS*8 bytes; the
        // kernel picks the address; failure is checked below.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                SLOTS * 8,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED,
                f.as_raw_fd(),
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return Err(std::io::Error::last_os_error());
        }
        Ok(Shared {
            ptr: p.cast(),
            path,
            owner,
        })
    }

    pub fn path(&self) -> &str {
        self.path.to_str().unwrap_or_default()
    }

    fn at(&self, i: usize) -> &AtomicU64 {
        assert!(i < SLOTS);
        // SAFETY: i < SLOTS, the mapping holds SLOTS page-aligned u64s and
        // lives as long as self; AtomicU64 has the layout of u64.
        unsafe { &*self.ptr.add(i) }
    }

    pub fn get(&self, i: usize) -> u64 {
        self.at(i).load(Ordering::Acquire)
    }

    pub fn set(&self, i: usize, v: u64) {
        self.at(i).store(v, Ordering::Release)
    }

    pub fn add(&self, i: usize, v: u64) {
        self.at(i).fetch_add(v, Ordering::AcqRel);
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        // SAFETY: ptr came from mmap of SLOTS*8 bytes and is unmapped once.
        unsafe {
            libc::munmap(self.ptr.cast(), SLOTS * 8);
        }
        if self.owner {
            let _ = std::fs::remove_file(&self.path);
        }
    }
}

/// Seconds since `t0`.
pub fn secs(t0: Instant) -> f64 {
    t0.elapsed().as_secs_f64()
}

/// Kills the calling process with SIGKILL when its parent dies, so that no
/// peer or hog outlives an interrupted run.
pub fn die_with_parent() {
    // SAFETY: prctl with PR_SET_PDEATHSIG takes a signal number only.
    unsafe {
        libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
    }
}

/// This process's descriptors, one per line, with what they are (for a
/// socket, its state and addresses from /proc/net), to report a leak.
pub fn describe_fds() -> String {
    let mut sockets = std::collections::HashMap::new();
    for table in ["tcp", "tcp6", "unix"] {
        let Ok(text) = std::fs::read_to_string(format!("/proc/net/{table}")) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let inode = if table == "unix" { f.get(6) } else { f.get(9) };
            if let Some(inode) = inode {
                sockets.insert(inode.to_string(), format!("{table}: {line}"));
            }
        }
    }
    let mut out = String::new();
    if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
        for e in dir.flatten() {
            let target = std::fs::read_link(e.path())
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let detail = target
                .strip_prefix("socket:[")
                .and_then(|i| i.strip_suffix(']'))
                .and_then(|i| sockets.get(i))
                .cloned()
                .unwrap_or_default();
            let _ = writeln!(
                out,
                "  fd {} -> {target} {detail}",
                e.file_name().to_string_lossy()
            );
        }
    }
    out
}

/// Closes what `close` holds (sockets, then their context) on a thread of
/// its own; false if that did not finish within 30 s: `zmq_ctx_term` hung.
pub fn closed_in_time<T: Send + 'static>(close: T) -> bool {
    within(Duration::from_secs(30), move || drop(close)).is_some()
}
