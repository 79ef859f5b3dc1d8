//! Library-wide functions: version, capabilities, errors, Z85 and CURVE
//! keys, atomic counters, stopwatch, sleep, threads, timers.

use std::ffi::{c_char, c_int, c_long, c_ulong, c_void, CStr};
use std::ptr;
use std::sync::atomic::{AtomicI32, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use zmqrs::util::sync::Mutex;
use zmqrs::Error;

use crate::fail;
use crate::handle::{Pool, COUNTER_TAG, STOPWATCH_TAG, THREAD_TAG, TIMERS_TAG};

/// `len` readable bytes at `p` as a slice; `None` for NULL.
///
/// # Safety
/// When `p` is not NULL it must point to `len` readable bytes.
pub(crate) unsafe fn bytes<'a>(p: *const c_void, len: usize) -> Option<&'a [u8]> {
    if p.is_null() {
        return None;
    }
    // SAFETY: per the contract.
    Some(unsafe { std::slice::from_raw_parts(p as *const u8, len) })
}

/// `len` writable bytes at `p` as a slice; `None` for NULL with `len > 0`.
///
/// # Safety
/// When `p` is not NULL it must point to `len` writable bytes.
pub(crate) unsafe fn bytes_mut<'a>(p: *mut c_void, len: usize) -> Option<&'a mut [u8]> {
    if p.is_null() {
        return if len == 0 { Some(&mut []) } else { None };
    }
    // SAFETY: per the contract.
    Some(unsafe { std::slice::from_raw_parts_mut(p as *mut u8, len) })
}

entry! {
    /// The library version: 4.3.5.
    fn zmq_version(major: *mut c_int, minor: *mut c_int, patch: *mut c_int) {
        let (a, b, c) = zmqrs::version();
        // SAFETY: each pointer is checked for NULL before the write.
        unsafe {
            if !major.is_null() {
                *major = a;
            }
            if !minor.is_null() {
                *minor = b;
            }
            if !patch.is_null() {
                *patch = c;
            }
        }
    }
}

entry! {
    /// The calling thread's errno.
    fn zmq_errno() -> c_int {
        // SAFETY: __errno_location returns the calling thread's errno slot.
        unsafe { *libc::__errno_location() }
    }
}

entry! {
    /// The text for an error number, including 0MQ's own errors.
    fn zmq_strerror(errnum: c_int) -> *const c_char {
        zmqrs::strerror_cstr(errnum).as_ptr()
    } else {
        crate::entry::internal_error_text()
    }
}

entry! {
    /// 1 if the library supports a capability ("ipc", "curve", "draft", ...), else 0.
    fn zmq_has(capability: *const c_char) -> c_int {
        if capability.is_null() {
            return 0;
        }
        // SAFETY: the caller passes a NUL-terminated string.
        let c = unsafe { CStr::from_ptr(capability) }.to_string_lossy();
        // The Rust API always has the draft API; this library only when
        // built with it (bindings such as pyzmq decide by this answer).
        if c == "draft" {
            return cfg!(feature = "draft") as c_int;
        }
        zmqrs::has(&c).unwrap_or(false) as c_int
    }
}

entry! {
    /// Encodes `size` bytes (a multiple of 4) as Z85 into `dest` (size*5/4+1 bytes).
    fn zmq_z85_encode(dest: *mut c_char, data: *const u8, size: usize) -> *mut c_char {
        if !size.is_multiple_of(4) {
            return fail(Error::EINVAL, ptr::null_mut());
        }
        if dest.is_null() || (data.is_null() && size != 0) {
            return fail(Error::EINVAL, ptr::null_mut());
        }
        // SAFETY: the caller passes size readable bytes at data.
        let input = unsafe { bytes(data as *const c_void, size) }.unwrap_or(&[]);
        let Some(text) = zmqrs::util::z85::encode(input) else {
            return fail(Error::EINVAL, ptr::null_mut());
        };
        // SAFETY: the caller provides size*5/4+1 writable bytes at dest.
        unsafe {
            ptr::copy_nonoverlapping(text.as_ptr(), dest as *mut u8, text.len());
            *dest.add(text.len()) = 0;
        }
        dest
    }
}

entry! {
    /// Decodes a Z85 string into `dest` (strlen*4/5 bytes); NULL with EINVAL if invalid.
    fn zmq_z85_decode(dest: *mut u8, string: *const c_char) -> *mut u8 {
        if dest.is_null() || string.is_null() {
            return fail(Error::EINVAL, ptr::null_mut());
        }
        // SAFETY: the caller passes a NUL-terminated string.
        let text = unsafe { CStr::from_ptr(string) }.to_bytes();
        let Some(out) = zmqrs::util::z85::decode(text) else {
            return fail(Error::EINVAL, ptr::null_mut());
        };
        // SAFETY: the caller provides strlen*4/5 writable bytes at dest.
        unsafe { ptr::copy_nonoverlapping(out.as_ptr(), dest, out.len()) };
        dest
    }
}

/// Writes a key as 40 Z85 characters and a NUL at `dest`.
///
/// # Safety
/// `dest` must have 41 writable bytes.
unsafe fn put_z85_key(dest: *mut c_char, key: &[u8; 32]) {
    let text = zmqrs::util::z85::encode(key).unwrap_or_default();
    // SAFETY: the caller provides 41 writable bytes; Z85 of 32 bytes is 40.
    unsafe {
        ptr::copy_nonoverlapping(text.as_ptr(), dest as *mut u8, text.len().min(40));
        *dest.add(40) = 0;
    }
}

entry! {
    /// Generates a CURVE key pair as two Z85 strings of 41 bytes each.
    fn zmq_curve_keypair(z85_public_key: *mut c_char, z85_secret_key: *mut c_char) -> c_int {
        if z85_public_key.is_null() || z85_secret_key.is_null() {
            return fail(Error::EINVAL, -1);
        }
        let (public, secret) = zmqrs::security::curve::keypair();
        // SAFETY: the caller provides 41 writable bytes at each.
        unsafe {
            put_z85_key(z85_public_key, &public);
            put_z85_key(z85_secret_key, &secret);
        }
        0
    }
}

entry! {
    /// Derives the Z85 public key (41 bytes) of a Z85 secret key.
    fn zmq_curve_public(z85_public_key: *mut c_char, z85_secret_key: *const c_char) -> c_int {
        if z85_public_key.is_null() || z85_secret_key.is_null() {
            return fail(Error::EINVAL, -1);
        }
        // SAFETY: the caller passes a NUL-terminated Z85 string.
        let text = unsafe { CStr::from_ptr(z85_secret_key) }.to_bytes();
        let secret: Option<[u8; 32]> = zmqrs::util::z85::decode(text)
            .filter(|_| text.len() == 40)
            .and_then(|k| k.try_into().ok());
        let Some(secret) = secret else {
            return fail(Error::EINVAL, -1);
        };
        let public = zmqrs::security::curve::public_key(&secret);
        // SAFETY: the caller provides 41 writable bytes.
        unsafe { put_z85_key(z85_public_key, &public) };
        0
    }
}

// ---- atomic counters, stopwatches, threads ----------------------------------
//
// libzmq dereferences these handles unchecked (a NULL or stale one crashes
// it); here they are pool handles like every other. A bad handle makes the
// call fail with EFAULT where the signature can say so (-1, or 0 for the
// stopwatch's elapsed time) and makes a void call do nothing (errno EFAULT).

/// The atomic counters.
static COUNTERS: Pool<AtomicI32> = Pool::new(COUNTER_TAG);
/// The stopwatches: when each started.
static STOPWATCHES: Pool<Instant> = Pool::new(STOPWATCH_TAG);
/// The threads of zmq_threadstart, until zmq_threadclose joins them.
static THREADS: Pool<JoinHandle<()>> = Pool::new(THREAD_TAG);

/// The counter behind a handle, or EFAULT.
///
/// # Safety
/// No thread destroys this counter while the result is in use.
unsafe fn counter_of(counter: *mut c_void) -> Option<&'static AtomicI32> {
    // SAFETY: forwarded contract: no concurrent release of this handle.
    let c = unsafe { COUNTERS.get(counter) };
    if c.is_none() {
        crate::set_errno(Error::EFAULT.to_raw());
    }
    c
}

entry! {
    /// A new atomic counter, initially 0.
    fn zmq_atomic_counter_new() -> *mut c_void {
        COUNTERS.alloc(AtomicI32::new(0))
    }
}

entry! {
    /// Sets a counter's value.
    fn zmq_atomic_counter_set(counter: *mut c_void, value: c_int) {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        if let Some(c) = unsafe { counter_of(counter) } {
            c.store(value, Ordering::SeqCst);
        }
    }
}

entry! {
    /// Increments a counter; returns the value before.
    fn zmq_atomic_counter_inc(counter: *mut c_void) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        unsafe { counter_of(counter) }.map_or(-1, |c| c.fetch_add(1, Ordering::SeqCst))
    }
}

entry! {
    /// Decrements a counter; returns 1 if it is still above zero, else 0.
    fn zmq_atomic_counter_dec(counter: *mut c_void) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(c) = (unsafe { counter_of(counter) }) else {
            return -1;
        };
        // As libzmq (whose counter is unsigned): 1 unless it is now zero.
        (c.fetch_sub(1, Ordering::SeqCst).wrapping_sub(1) != 0) as c_int
    }
}

entry! {
    /// A counter's value.
    fn zmq_atomic_counter_value(counter: *mut c_void) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        unsafe { counter_of(counter) }.map_or(-1, |c| c.load(Ordering::SeqCst))
    }
}

entry! {
    /// Frees a counter and sets `*counter_p` to NULL.
    fn zmq_atomic_counter_destroy(counter_p: *mut *mut c_void) {
        if counter_p.is_null() {
            return crate::set_errno(Error::EFAULT.to_raw());
        }
        // SAFETY: counter_p is non-null and points to the caller's pointer.
        let p = unsafe { *counter_p };
        // SAFETY: any pointer; the pool checks it (handle.rs).
        if unsafe { COUNTERS.release(p) }.is_none() && !p.is_null() {
            crate::set_errno(Error::EFAULT.to_raw());
        }
        // SAFETY: as above.
        unsafe { *counter_p = ptr::null_mut() };
    }
}

entry! {
    /// Starts a stopwatch.
    fn zmq_stopwatch_start() -> *mut c_void {
        STOPWATCHES.alloc(Instant::now())
    }
}

/// Microseconds since `start`.
fn micros_since(start: Instant) -> c_ulong {
    start.elapsed().as_micros().min(c_ulong::MAX as u128) as c_ulong
}

entry! {
    /// Microseconds since the stopwatch started.
    fn zmq_stopwatch_intermediate(watch: *mut c_void) -> c_ulong {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        match unsafe { STOPWATCHES.get(watch) } {
            Some(start) => micros_since(*start),
            None => fail(Error::EFAULT, 0),
        }
    }
}

entry! {
    /// Microseconds since the stopwatch started; frees it.
    fn zmq_stopwatch_stop(watch: *mut c_void) -> c_ulong {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        match unsafe { STOPWATCHES.release(watch) } {
            Some(start) => micros_since(start),
            None => fail(Error::EFAULT, 0),
        }
    }
}

entry! {
    /// Sleeps for `seconds`.
    fn zmq_sleep(seconds: c_int) {
        std::thread::sleep(Duration::from_secs(seconds.max(0) as u64));
    }
}

struct ThreadArg(unsafe extern "C" fn(*mut c_void), *mut c_void);
// SAFETY: the caller of zmq_threadstart hands the argument to the new thread.
unsafe impl Send for ThreadArg {}

entry! {
    /// Starts a thread running `func(arg)`.
    fn zmq_threadstart(
        func: Option<unsafe extern "C" fn(arg: *mut c_void)>,
        arg: *mut c_void,
    ) -> *mut c_void {
        let Some(f) = func else {
            return fail(Error::EINVAL, ptr::null_mut());
        };
        let a = ThreadArg(f, arg);
        // As libzmq's threads, this one blocks every signal.
        let spawned = zmqrs::util::with_signals_blocked(|| {
            std::thread::Builder::new().spawn(move || {
                let a = a;
                // SAFETY: the caller's thread function with its own argument.
                unsafe { (a.0)(a.1) }
            })
        });
        match spawned {
            Ok(handle) => THREADS.alloc(handle),
            // libzmq asserts here; a failure the caller can see is kinder.
            Err(e) => {
                crate::set_errno(e.raw_os_error().unwrap_or(libc::EAGAIN));
                ptr::null_mut()
            }
        }
    }
}

entry! {
    /// Waits for a thread started by zmq_threadstart and frees it.
    fn zmq_threadclose(thread: *mut c_void) {
        // SAFETY: any pointer; the pool checks it, and of two threads
        // closing one handle only one gets the join handle.
        match unsafe { THREADS.release(thread) } {
            Some(h) => {
                let _ = h.join();
            }
            None => crate::set_errno(Error::EFAULT.to_raw()),
        }
    }
}

// ---- timers ---------------------------------------------------------------

struct Timer {
    id: c_int,
    interval: Duration,
    due: Instant,
    handler: unsafe extern "C" fn(c_int, *mut c_void),
    arg: *mut c_void,
}

// SAFETY: `arg` is the caller's opaque value, never dereferenced here, only
// handed back to its handler on whichever thread runs zmq_timers_execute,
// as in libzmq.
unsafe impl Send for Timer {}

/// What a timer set handle holds.
#[derive(Default)]
struct Timers {
    next_id: c_int,
    list: Vec<Timer>,
}

/// The timer sets.
static TIMER_SETS: Pool<Mutex<Timers>> = Pool::new(TIMERS_TAG);

/// The longest interval honoured; a longer one (up to SIZE_MAX ms) means
/// "not within the life of this process".
const MAX_INTERVAL: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

/// When a timer of `interval` started at `now` is due, without overflow.
fn due_after(now: Instant, interval: Duration) -> Instant {
    now.checked_add(interval.min(MAX_INTERVAL)).unwrap_or(now)
}

/// The timer set behind a handle, or EFAULT.
///
/// # Safety
/// No thread destroys this timer set while the result is in use.
unsafe fn timers_of<'a>(t: *mut c_void) -> Option<&'a Mutex<Timers>> {
    // SAFETY: forwarded contract: no concurrent release of this handle.
    let timers = unsafe { TIMER_SETS.get(t) };
    if timers.is_none() {
        crate::set_errno(Error::EFAULT.to_raw());
    }
    timers
}

entry! {
    /// A new timer set.
    fn zmq_timers_new() -> *mut c_void {
        TIMER_SETS.alloc(Mutex::new(Timers::default()))
    }
}

entry! {
    /// Frees a timer set and sets `*timers_p` to NULL.
    fn zmq_timers_destroy(timers_p: *mut *mut c_void) -> c_int {
        if timers_p.is_null() {
            return fail(Error::EFAULT, -1);
        }
        // SAFETY: timers_p is non-null and points to the caller's pointer.
        let t = unsafe { *timers_p };
        // SAFETY: any pointer; the pool checks it (handle.rs).
        match unsafe { TIMER_SETS.release(t) } {
            Some(timers) => {
                drop(timers);
                // SAFETY: as above.
                unsafe { *timers_p = ptr::null_mut() };
                0
            }
            None => fail(Error::EFAULT, -1),
        }
    }
}

entry! {
    /// Adds a timer that calls `handler(id, arg)` every `interval` ms; returns its id.
    fn zmq_timers_add(
        timers: *mut c_void,
        interval: usize,
        handler: Option<unsafe extern "C" fn(timer_id: c_int, arg: *mut c_void)>,
        arg: *mut c_void,
    ) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(t) = (unsafe { timers_of(timers) }) else {
            return -1;
        };
        let Some(handler) = handler else {
            return fail(Error::EFAULT, -1);
        };
        let mut t = t.lock();
        t.next_id = t.next_id.wrapping_add(1).max(1);
        let id = t.next_id;
        let interval = Duration::from_millis(interval as u64);
        t.list.push(Timer {
            id,
            interval,
            due: due_after(Instant::now(), interval),
            handler,
            arg,
        });
        id
    }
}

entry! {
    /// Cancels a timer.
    fn zmq_timers_cancel(timers: *mut c_void, timer_id: c_int) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(t) = (unsafe { timers_of(timers) }) else {
            return -1;
        };
        let mut t = t.lock();
        let before = t.list.len();
        t.list.retain(|x| x.id != timer_id);
        if t.list.len() == before {
            return fail(Error::EINVAL, -1);
        }
        0
    }
}

entry! {
    /// Changes a timer's interval (takes effect after the next expiry or reset).
    fn zmq_timers_set_interval(timers: *mut c_void, timer_id: c_int, interval: usize) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(t) = (unsafe { timers_of(timers) }) else {
            return -1;
        };
        let mut t = t.lock();
        match t.list.iter_mut().find(|x| x.id == timer_id) {
            Some(x) => {
                x.interval = Duration::from_millis(interval as u64);
                x.due = due_after(Instant::now(), x.interval);
                0
            }
            None => fail(Error::EINVAL, -1),
        }
    }
}

entry! {
    /// Restarts a timer's interval from now.
    fn zmq_timers_reset(timers: *mut c_void, timer_id: c_int) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(t) = (unsafe { timers_of(timers) }) else {
            return -1;
        };
        let mut t = t.lock();
        match t.list.iter_mut().find(|x| x.id == timer_id) {
            Some(x) => {
                x.due = due_after(Instant::now(), x.interval);
                0
            }
            None => fail(Error::EINVAL, -1),
        }
    }
}

entry! {
    /// Milliseconds until the next timer is due, -1 if there is none.
    fn zmq_timers_timeout(timers: *mut c_void) -> c_long {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(t) = (unsafe { timers_of(timers) }) else {
            return -1;
        };
        let t = t.lock();
        match t.list.iter().map(|x| x.due).min() {
            // Rounded up: sleeping that long must make the timer due.
            Some(due) => due
                .saturating_duration_since(Instant::now())
                .as_micros()
                .div_ceil(1000) as c_long,
            None => -1,
        }
    }
}

entry! {
    /// Runs the handlers of all timers that are due.
    fn zmq_timers_execute(timers: *mut c_void) -> c_int {
        // SAFETY: any pointer; the pool checks it (handle.rs).
        let Some(t) = (unsafe { timers_of(timers) }) else {
            return -1;
        };
        let now = Instant::now();
        // Handlers run without the lock held: they may add or cancel timers.
        let due: Vec<(c_int, unsafe extern "C" fn(c_int, *mut c_void), *mut c_void)> = {
            let mut g = t.lock();
            g.list.sort_by_key(|x| x.due);
            let mut due = Vec::new();
            for x in g.list.iter_mut() {
                if x.due <= now {
                    due.push((x.id, x.handler, x.arg));
                    x.due = due_after(now, x.interval);
                }
            }
            due
        };
        for (id, h, arg) in due {
            // SAFETY: the caller's handler with the argument it registered.
            unsafe { h(id, arg) };
        }
        0
    }
}
