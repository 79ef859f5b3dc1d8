//! The core's only system-call layer: the eventfd signaler behind every
//! socket mailbox (and `ZMQ_FD`), `poll(2)`, and the C library's error text;
//! and its counterpart for threads, the [`EventCount`] that wakes every
//! thread blocked on a thread-safe socket.
//!
//! Everything here is a thin, checked wrapper; every `unsafe` block says why
//! it is sound. Nothing above this module calls `libc` for these directly.

use std::collections::HashMap;
use std::ffi::CStr;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::time::Duration;

use std::sync::Mutex;

mod eventcount;
pub use eventcount::EventCount;

/// Converts a `-1` return of a libc call into the thread's `io::Error`.
macro_rules! syscall {
    ($e:expr) => {{
        let res = $e;
        if res == -1 {
            Err(io::Error::last_os_error())
        } else {
            Ok(res)
        }
    }};
}

/// The C library's message for an errno number, kept for the whole process
/// (each distinct number is copied once).
pub fn os_strerror(raw: i32) -> &'static CStr {
    // std's Mutex directly: sys is the bottom layer (util builds on it).
    static CACHE: Mutex<Option<HashMap<i32, &'static CStr>>> = Mutex::new(None);
    let mut guard = CACHE
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let map = guard.get_or_insert_with(HashMap::new);
    if let Some(s) = map.get(&raw) {
        return s;
    }
    let text = io::Error::from_raw_os_error(raw).to_string();
    // std appends " (os error N)"; libzmq gives strerror's bare text.
    let bare = match text.rfind(" (os error") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    let owned = std::ffi::CString::new(bare.replace('\0', "")).unwrap_or_default();
    let leaked: &'static CStr = Box::leak(owned.into_boxed_c_str());
    map.insert(raw, leaked);
    leaked
}

/// A pollable wake-up flag: a non-blocking eventfd in semaphore mode.
/// Readable while signalled.
///
/// Used by one reader (the mailbox owner) and any number of writers. Each
/// `recv` takes back exactly one `send` (EFD_SEMAPHORE), so the owner can
/// match the raises it is owed one for one: with a plain counter, one read
/// could also swallow a raise that a later disarm still expects, and the
/// mailbox's owner would then wait for it forever (see `Mailbox::arm`).
#[derive(Debug)]
pub struct Signaler {
    fd: OwnedFd,
}

impl Signaler {
    /// Creates an unsignalled signaler.
    pub fn new() -> io::Result<Signaler> {
        // SAFETY: eventfd takes no pointers; the flags are valid constants.
        let fd = syscall!(unsafe {
            libc::eventfd(
                0,
                libc::EFD_CLOEXEC | libc::EFD_NONBLOCK | libc::EFD_SEMAPHORE,
            )
        })?;
        // SAFETY: fd was just returned by eventfd and is owned by nobody else.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        Ok(Signaler { fd })
    }

    /// The file descriptor, readable while signalled (what `ZMQ_FD` returns).
    pub fn fd(&self) -> RawFd {
        self.fd.as_raw_fd()
    }

    /// Makes the fd readable (one more raise for `recv` to take back).
    pub fn send(&self) {
        let one: u64 = 1;
        loop {
            // SAFETY: writes 8 bytes from a live u64 to an fd we own.
            let rc = unsafe {
                libc::write(
                    self.fd(),
                    (&one as *const u64).cast(),
                    std::mem::size_of::<u64>(),
                )
            };
            if rc >= 0 {
                return;
            }
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EINTR) => continue,
                // The counter is saturated: it is signalled anyway.
                Some(libc::EAGAIN) => return,
                _ => panic!("eventfd write failed: {err}"),
            }
        }
    }

    /// Takes back one raise; returns whether there was one. The fd stays
    /// readable while raises remain.
    pub fn recv(&self) -> bool {
        let mut value: u64 = 0;
        loop {
            // SAFETY: reads 8 bytes into a live u64 from an fd we own.
            let rc = unsafe {
                libc::read(
                    self.fd(),
                    (&mut value as *mut u64).cast(),
                    std::mem::size_of::<u64>(),
                )
            };
            if rc >= 0 {
                return true;
            }
            let err = io::Error::last_os_error();
            match err.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EAGAIN) => return false,
                _ => panic!("eventfd read failed: {err}"),
            }
        }
    }

    /// Waits until signalled or the timeout passes (`None` waits forever).
    /// Returns whether the fd is readable. EINTR is reported as an error.
    pub fn wait(&self, timeout: Option<Duration>) -> io::Result<bool> {
        let mut pfd = [libc::pollfd {
            fd: self.fd(),
            events: libc::POLLIN,
            revents: 0,
        }];
        let n = poll(&mut pfd, timeout)?;
        Ok(n > 0)
    }
}

/// `poll(2)` over raw descriptors; `None` waits forever. Returns the number
/// of ready descriptors; EINTR is returned as an error for the caller to map.
pub fn poll(fds: &mut [libc::pollfd], timeout: Option<Duration>) -> io::Result<usize> {
    let ms: libc::c_int = match timeout {
        None => -1,
        Some(d) => {
            // Round up so that a 0.5 ms wait does not become a busy loop.
            let ms = d.as_nanos().div_ceil(1_000_000);
            ms.min(libc::c_int::MAX as u128) as libc::c_int
        }
    };
    // SAFETY: the pointer and length describe a live, exclusively borrowed slice of pollfd.
    let n = syscall!(unsafe { libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, ms) })?;
    Ok(n as usize)
}

/// Runs `spawn` with every signal blocked in the calling thread, so that
/// the thread it starts inherits a mask that blocks them all (a thread
/// blocking them itself would leave a window where a signal meant for the
/// application lands on it). The caller's mask is restored afterwards.
///
/// libzmq's background threads block every signal: a signal handler of the
/// application then never runs on a library thread, and a write to a
/// connection the peer has closed cannot kill the process with SIGPIPE.
pub fn with_signals_blocked<T>(spawn: impl FnOnce() -> T) -> T {
    // SAFETY: sigset_t is plain data; sigfillset initialises it fully.
    let mut all: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    let mut old: libc::sigset_t = unsafe { std::mem::zeroed() };
    // SAFETY: both point to live sigset_t values of this frame.
    let blocked = unsafe {
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut old) == 0
    };
    let result = spawn();
    if blocked {
        // SAFETY: restores the mask saved above from a live sigset_t.
        unsafe { libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut()) };
    }
    result
}

/// Applies ZMQ_THREAD_SCHED_POLICY, ZMQ_THREAD_PRIORITY and
/// ZMQ_THREAD_AFFINITY_CPU_* to the calling thread, best effort as libzmq
/// does (a refusal by the system is not an error).
pub fn apply_thread_scheduling(policy: i32, priority: i32, cpus: &std::collections::BTreeSet<i32>) {
    if policy >= 0 || priority >= 0 {
        let pol = if policy >= 0 {
            policy
        } else {
            libc::SCHED_OTHER
        };
        // SAFETY: sched_param is plain data; zeroed is a valid value.
        let mut param: libc::sched_param = unsafe { std::mem::zeroed() };
        if priority >= 0 && pol != libc::SCHED_OTHER {
            param.sched_priority = priority;
        }
        // SAFETY: pthread_self is always valid; param points to a live struct.
        let _ = unsafe { libc::pthread_setschedparam(libc::pthread_self(), pol, &param) };
        if pol == libc::SCHED_OTHER && priority >= 0 {
            // SAFETY: nice takes an integer only.
            let _ = unsafe { libc::nice(-priority) };
        }
    }
    if !cpus.is_empty() {
        // SAFETY: cpu_set_t is plain data; zeroed is the empty set.
        let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
        for &c in cpus {
            if (0..libc::CPU_SETSIZE).contains(&c) {
                // SAFETY: c is within CPU_SETSIZE, the bound CPU_SET requires.
                unsafe { libc::CPU_SET(c as usize, &mut set) };
            }
        }
        // SAFETY: set is a live cpu_set_t of the size we pass.
        let _ = unsafe { libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) };
    }
}

/// The index of a network interface, 0 if there is none by that name.
pub fn if_nametoindex(name: &str) -> u32 {
    let Ok(c) = std::ffi::CString::new(name) else {
        return 0;
    };
    // SAFETY: c is a valid NUL-terminated string.
    unsafe { libc::if_nametoindex(c.as_ptr()) }
}

/// The first address of the named interface in the wanted family
/// (ZMQ_IPV6 picks IPv6), as libzmq's interface-name resolution.
pub fn interface_address(name: &str, ipv6: bool) -> Option<std::net::IpAddr> {
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list we free below.
    if unsafe { libc::getifaddrs(&mut list) } != 0 {
        return None;
    }
    let mut found = None;
    let mut p = list;
    while !p.is_null() {
        // SAFETY: p walks the list getifaddrs returned; entries stay valid until freeifaddrs.
        let ifa = unsafe { &*p };
        p = ifa.ifa_next;
        if ifa.ifa_addr.is_null() || ifa.ifa_name.is_null() {
            continue;
        }
        // SAFETY: ifa_name is a NUL-terminated string owned by the list.
        let ifname = unsafe { CStr::from_ptr(ifa.ifa_name) };
        if ifname.to_bytes() != name.as_bytes() {
            continue;
        }
        // SAFETY: ifa_addr is non-null and points to a sockaddr of its family.
        let family = i32::from(unsafe { (*ifa.ifa_addr).sa_family });
        if ipv6 && family == libc::AF_INET6 {
            // SAFETY: the family says this is a sockaddr_in6.
            let sa = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in6) };
            found = Some(std::net::IpAddr::V6(std::net::Ipv6Addr::from(
                sa.sin6_addr.s6_addr,
            )));
            break;
        }
        if !ipv6 && family == libc::AF_INET {
            // SAFETY: the family says this is a sockaddr_in.
            let sa = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
            found = Some(std::net::IpAddr::V4(std::net::Ipv4Addr::from(
                u32::from_be(sa.sin_addr.s_addr),
            )));
            break;
        }
    }
    // SAFETY: list came from getifaddrs and is freed once.
    unsafe { libc::freeifaddrs(list) };
    found
}

/// The credentials (uid, gid, pid) of the process at the other end of a
/// Unix-domain socket.
pub fn peer_cred(fd: RawFd) -> Option<(u32, u32, i32)> {
    // SAFETY: ucred is plain data.
    let mut cred: libc::ucred = unsafe { std::mem::zeroed() };
    let mut len = std::mem::size_of::<libc::ucred>() as libc::socklen_t;
    // SAFETY: cred and len are live and sized for SO_PEERCRED.
    let rc = unsafe {
        libc::getsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_PEERCRED,
            (&mut cred as *mut libc::ucred).cast(),
            &mut len,
        )
    };
    (rc == 0).then_some((cred.uid, cred.gid, cred.pid))
}

/// Creates a fresh private directory from a `...XXXXXX` template.
pub fn mkdtemp(template: &str) -> io::Result<std::path::PathBuf> {
    let c =
        std::ffi::CString::new(template).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))?;
    let mut bytes = c.into_bytes_with_nul();
    // SAFETY: bytes is a writable NUL-terminated template owned by us.
    let p = unsafe { libc::mkdtemp(bytes.as_mut_ptr().cast()) };
    if p.is_null() {
        return Err(io::Error::last_os_error());
    }
    bytes.pop();
    Ok(std::path::PathBuf::from(
        String::from_utf8_lossy(&bytes).into_owned(),
    ))
}

/// Sets an integer socket option, ignoring failure (best-effort tuning).
pub fn set_int_sockopt(fd: RawFd, level: i32, name: i32, value: i32) {
    // SAFETY: passes a pointer to a live int of the size given.
    let _ = unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&value as *const i32).cast(),
            std::mem::size_of::<i32>() as libc::socklen_t,
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signaler_edges() {
        let s = Signaler::new().unwrap();
        assert!(!s.wait(Some(Duration::ZERO)).unwrap());
        s.send();
        s.send();
        assert!(s.wait(Some(Duration::ZERO)).unwrap());
        // Semaphore mode: one recv per send.
        assert!(s.recv());
        assert!(s.wait(Some(Duration::ZERO)).unwrap());
        assert!(s.recv());
        assert!(!s.recv());
        assert!(!s.wait(Some(Duration::from_millis(1))).unwrap());
    }

    #[test]
    fn strerror_is_bare() {
        assert_eq!(
            os_strerror(libc::EINVAL).to_str().unwrap(),
            "Invalid argument"
        );
    }
}
