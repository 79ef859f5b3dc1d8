//! Library-wide functions: version, capabilities, errors, Z85 and CURVE
//! keys, atomic counters, stopwatch, sleep, threads, timers.

use std::ffi::{c_char, c_int, c_long, c_ulong, c_void, CStr};
use std::ptr;
use std::sync::atomic::{AtomicI32, Ordering};
use std::time::{Duration, Instant};

use zmqrs::util::sync::Mutex;
use zmqrs::Error;

use crate::{boundary, fail};

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

/// The library version: 4.3.5.
#[no_mangle]
pub unsafe extern "C" fn zmq_version(major: *mut c_int, minor: *mut c_int, patch: *mut c_int) {
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

/// The calling thread's errno.
#[no_mangle]
pub extern "C" fn zmq_errno() -> c_int {
    // SAFETY: __errno_location returns the calling thread's errno slot.
    unsafe { *libc::__errno_location() }
}

/// The text for an error number, including 0MQ's own errors.
#[no_mangle]
pub extern "C" fn zmq_strerror(errnum: c_int) -> *const c_char {
    boundary("zmq_strerror", || zmqrs::strerror_cstr(errnum).as_ptr())
}

/// 1 if the library supports a capability ("ipc", "curve", "draft", ...), else 0.
#[no_mangle]
pub unsafe extern "C" fn zmq_has(capability: *const c_char) -> c_int {
    boundary("zmq_has", || {
        if capability.is_null() {
            return 0;
        }
        // SAFETY: the caller passes a NUL-terminated string.
        let c = unsafe { CStr::from_ptr(capability) }.to_string_lossy();
        zmqrs::has(&c).unwrap_or(false) as c_int
    })
}

/// Encodes `size` bytes (a multiple of 4) as Z85 into `dest` (size*5/4+1 bytes).
#[no_mangle]
pub unsafe extern "C" fn zmq_z85_encode(
    dest: *mut c_char,
    data: *const u8,
    size: usize,
) -> *mut c_char {
    boundary("zmq_z85_encode", || {
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
    })
}

/// Decodes a Z85 string into `dest` (strlen*4/5 bytes); NULL with EINVAL if invalid.
#[no_mangle]
pub unsafe extern "C" fn zmq_z85_decode(dest: *mut u8, string: *const c_char) -> *mut u8 {
    boundary("zmq_z85_decode", || {
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
    })
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

/// Generates a CURVE key pair as two Z85 strings of 41 bytes each.
#[no_mangle]
pub unsafe extern "C" fn zmq_curve_keypair(
    z85_public_key: *mut c_char,
    z85_secret_key: *mut c_char,
) -> c_int {
    boundary("zmq_curve_keypair", || {
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
    })
}

/// Derives the Z85 public key (41 bytes) of a Z85 secret key.
#[no_mangle]
pub unsafe extern "C" fn zmq_curve_public(
    z85_public_key: *mut c_char,
    z85_secret_key: *const c_char,
) -> c_int {
    boundary("zmq_curve_public", || {
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
    })
}

/// A new atomic counter, initially 0.
#[no_mangle]
pub extern "C" fn zmq_atomic_counter_new() -> *mut c_void {
    boundary("zmq_atomic_counter_new", || {
        Box::into_raw(Box::new(AtomicI32::new(0))) as *mut c_void
    })
}

/// Sets a counter's value.
#[no_mangle]
pub unsafe extern "C" fn zmq_atomic_counter_set(counter: *mut c_void, value: c_int) {
    if !counter.is_null() {
        // SAFETY: counter was returned by zmq_atomic_counter_new.
        unsafe { &*(counter as *const AtomicI32) }.store(value, Ordering::SeqCst);
    }
}

/// Increments a counter; returns the value before.
#[no_mangle]
pub unsafe extern "C" fn zmq_atomic_counter_inc(counter: *mut c_void) -> c_int {
    if counter.is_null() {
        return fail(Error::EFAULT, -1);
    }
    // SAFETY: counter was returned by zmq_atomic_counter_new.
    unsafe { &*(counter as *const AtomicI32) }.fetch_add(1, Ordering::SeqCst)
}

/// Decrements a counter; returns 1 if it is still above zero, else 0.
#[no_mangle]
pub unsafe extern "C" fn zmq_atomic_counter_dec(counter: *mut c_void) -> c_int {
    if counter.is_null() {
        return fail(Error::EFAULT, -1);
    }
    // SAFETY: counter was returned by zmq_atomic_counter_new.
    let before = unsafe { &*(counter as *const AtomicI32) }.fetch_sub(1, Ordering::SeqCst);
    (before - 1 > 0) as c_int
}

/// A counter's value.
#[no_mangle]
pub unsafe extern "C" fn zmq_atomic_counter_value(counter: *mut c_void) -> c_int {
    if counter.is_null() {
        return fail(Error::EFAULT, -1);
    }
    // SAFETY: counter was returned by zmq_atomic_counter_new.
    unsafe { &*(counter as *const AtomicI32) }.load(Ordering::SeqCst)
}

/// Frees a counter and sets `*counter_p` to NULL.
#[no_mangle]
pub unsafe extern "C" fn zmq_atomic_counter_destroy(counter_p: *mut *mut c_void) {
    if counter_p.is_null() {
        return;
    }
    // SAFETY: counter_p points to a pointer returned by zmq_atomic_counter_new (or NULL).
    unsafe {
        let p = *counter_p;
        if !p.is_null() {
            drop(Box::from_raw(p as *mut AtomicI32));
        }
        *counter_p = ptr::null_mut();
    }
}

/// Starts a stopwatch.
#[no_mangle]
pub extern "C" fn zmq_stopwatch_start() -> *mut c_void {
    Box::into_raw(Box::new(Instant::now())) as *mut c_void
}

/// Microseconds since the stopwatch started.
#[no_mangle]
pub unsafe extern "C" fn zmq_stopwatch_intermediate(watch: *mut c_void) -> c_ulong {
    if watch.is_null() {
        return 0;
    }
    // SAFETY: watch was returned by zmq_stopwatch_start and not stopped.
    unsafe { &*(watch as *const Instant) }.elapsed().as_micros() as c_ulong
}

/// Microseconds since the stopwatch started; frees it.
#[no_mangle]
pub unsafe extern "C" fn zmq_stopwatch_stop(watch: *mut c_void) -> c_ulong {
    if watch.is_null() {
        return 0;
    }
    // SAFETY: watch was returned by zmq_stopwatch_start and is freed once.
    let w = unsafe { Box::from_raw(watch as *mut Instant) };
    w.elapsed().as_micros() as c_ulong
}

/// Sleeps for `seconds`.
#[no_mangle]
pub extern "C" fn zmq_sleep(seconds: c_int) {
    std::thread::sleep(Duration::from_secs(seconds.max(0) as u64));
}

struct ThreadArg(unsafe extern "C" fn(*mut c_void), *mut c_void);
// SAFETY: the caller of zmq_threadstart hands the argument to the new thread.
unsafe impl Send for ThreadArg {}

/// Starts a thread running `func(arg)`.
#[no_mangle]
pub extern "C" fn zmq_threadstart(
    func: Option<unsafe extern "C" fn(arg: *mut c_void)>,
    arg: *mut c_void,
) -> *mut c_void {
    boundary("zmq_threadstart", || {
        let Some(f) = func else {
            return fail(Error::EINVAL, ptr::null_mut());
        };
        let a = ThreadArg(f, arg);
        let handle = std::thread::spawn(move || {
            let a = a;
            // SAFETY: the caller's thread function with its own argument.
            unsafe { (a.0)(a.1) }
        });
        Box::into_raw(Box::new(handle)) as *mut c_void
    })
}

/// Waits for a thread started by zmq_threadstart and frees it.
#[no_mangle]
pub unsafe extern "C" fn zmq_threadclose(thread: *mut c_void) {
    if thread.is_null() {
        return;
    }
    // SAFETY: thread was returned by zmq_threadstart and is joined once.
    let h = unsafe { Box::from_raw(thread as *mut std::thread::JoinHandle<()>) };
    let _ = h.join();
}

// ---- timers ---------------------------------------------------------------

struct Timer {
    id: c_int,
    interval: Duration,
    due: Instant,
    handler: unsafe extern "C" fn(c_int, *mut c_void),
    arg: *mut c_void,
}

#[derive(Default)]
struct Timers {
    next_id: c_int,
    list: Vec<Timer>,
}

const TIMERS_TAG: u32 = 0xCAFE_DADA;

struct TimersHandle {
    tag: u32,
    inner: Mutex<Timers>,
}

unsafe fn timers_of<'a>(t: *mut c_void) -> Option<&'a TimersHandle> {
    if t.is_null() {
        return None;
    }
    // SAFETY: t was returned by zmq_timers_new (and not destroyed).
    let h = unsafe { &*(t as *const TimersHandle) };
    (h.tag == TIMERS_TAG).then_some(h)
}

/// A new timer set.
#[no_mangle]
pub extern "C" fn zmq_timers_new() -> *mut c_void {
    Box::into_raw(Box::new(TimersHandle {
        tag: TIMERS_TAG,
        inner: Mutex::new(Timers::default()),
    })) as *mut c_void
}

/// Frees a timer set and sets `*timers_p` to NULL.
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_destroy(timers_p: *mut *mut c_void) -> c_int {
    if timers_p.is_null() {
        return fail(Error::EFAULT, -1);
    }
    // SAFETY: timers_p points to a pointer from zmq_timers_new (or NULL).
    let t = unsafe { *timers_p };
    // SAFETY: as above.
    if unsafe { timers_of(t) }.is_none() {
        return fail(Error::EFAULT, -1);
    }
    // SAFETY: t is a live timer set, freed once here.
    unsafe {
        drop(Box::from_raw(t as *mut TimersHandle));
        *timers_p = ptr::null_mut();
    }
    0
}

/// Adds a timer that calls `handler(id, arg)` every `interval` ms; returns its id.
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_add(
    timers: *mut c_void,
    interval: usize,
    handler: Option<unsafe extern "C" fn(timer_id: c_int, arg: *mut c_void)>,
    arg: *mut c_void,
) -> c_int {
    // SAFETY: timers is NULL or from zmq_timers_new.
    let Some(t) = (unsafe { timers_of(timers) }) else {
        return fail(Error::EFAULT, -1);
    };
    let Some(handler) = handler else {
        return fail(Error::EFAULT, -1);
    };
    let mut t = t.inner.lock();
    t.next_id += 1;
    let id = t.next_id;
    let interval = Duration::from_millis(interval as u64);
    t.list.push(Timer {
        id,
        interval,
        due: Instant::now() + interval,
        handler,
        arg,
    });
    id
}

/// Cancels a timer.
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_cancel(timers: *mut c_void, timer_id: c_int) -> c_int {
    // SAFETY: timers is NULL or from zmq_timers_new.
    let Some(t) = (unsafe { timers_of(timers) }) else {
        return fail(Error::EFAULT, -1);
    };
    let mut t = t.inner.lock();
    let before = t.list.len();
    t.list.retain(|x| x.id != timer_id);
    if t.list.len() == before {
        return fail(Error::EINVAL, -1);
    }
    0
}

/// Changes a timer's interval (takes effect after the next expiry or reset).
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_set_interval(
    timers: *mut c_void,
    timer_id: c_int,
    interval: usize,
) -> c_int {
    // SAFETY: timers is NULL or from zmq_timers_new.
    let Some(t) = (unsafe { timers_of(timers) }) else {
        return fail(Error::EFAULT, -1);
    };
    let mut t = t.inner.lock();
    match t.list.iter_mut().find(|x| x.id == timer_id) {
        Some(x) => {
            x.interval = Duration::from_millis(interval as u64);
            x.due = Instant::now() + x.interval;
            0
        }
        None => fail(Error::EINVAL, -1),
    }
}

/// Restarts a timer's interval from now.
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_reset(timers: *mut c_void, timer_id: c_int) -> c_int {
    // SAFETY: timers is NULL or from zmq_timers_new.
    let Some(t) = (unsafe { timers_of(timers) }) else {
        return fail(Error::EFAULT, -1);
    };
    let mut t = t.inner.lock();
    match t.list.iter_mut().find(|x| x.id == timer_id) {
        Some(x) => {
            x.due = Instant::now() + x.interval;
            0
        }
        None => fail(Error::EINVAL, -1),
    }
}

/// Milliseconds until the next timer is due, -1 if there is none.
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_timeout(timers: *mut c_void) -> c_long {
    // SAFETY: timers is NULL or from zmq_timers_new.
    let Some(t) = (unsafe { timers_of(timers) }) else {
        return fail(Error::EFAULT, -1);
    };
    let t = t.inner.lock();
    match t.list.iter().map(|x| x.due).min() {
        // Rounded up: sleeping that long must make the timer due.
        Some(due) => due
            .saturating_duration_since(Instant::now())
            .as_micros()
            .div_ceil(1000) as c_long,
        None => -1,
    }
}

/// Runs the handlers of all timers that are due.
#[no_mangle]
pub unsafe extern "C" fn zmq_timers_execute(timers: *mut c_void) -> c_int {
    // SAFETY: timers is NULL or from zmq_timers_new.
    let Some(t) = (unsafe { timers_of(timers) }) else {
        return fail(Error::EFAULT, -1);
    };
    let now = Instant::now();
    // Handlers run without the lock held: they may add or cancel timers.
    let due: Vec<(c_int, unsafe extern "C" fn(c_int, *mut c_void), *mut c_void)> = {
        let mut g = t.inner.lock();
        g.list.sort_by_key(|x| x.due);
        let mut due = Vec::new();
        for x in g.list.iter_mut() {
            if x.due <= now {
                due.push((x.id, x.handler, x.arg));
                x.due = now + x.interval;
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
