//! libnorm (NRL's NORM library, Debian's `libnorm1`), loaded at run time.
//!
//! The `norm://` transport needs it; nothing else does. Loading it with
//! `dlopen` on first use rather than linking it means the library builds
//! and runs where libnorm is absent (`zmq_has("norm")` then answers no and
//! a norm:// endpoint fails with EPROTONOSUPPORT, as in a libzmq built
//! without NORM), and gains norm:// wherever `libnorm.so.1` is installed,
//! as Debian's libzmq5 has it.
//!
//! Every call into libnorm goes through [`Api`], whose function pointers
//! were looked up by name from the one library this module loaded. The
//! signatures are those of `normApi.h` (libnorm 1.5): handles are opaque
//! pointers, `bool` is C's one-byte `_Bool`, enums are `int`. libnorm runs
//! its own protocol thread per instance and locks around each API call, so
//! the calls are safe from the I/O thread that owns the handles.

use std::ffi::{c_char, c_int, c_uint, c_void, CStr};
use std::sync::OnceLock;

/// An instance, session, object or node handle (`const void*`).
pub type Handle = *const c_void;

/// libnorm's invalid handle of every kind (`NORM_*_INVALID` are null).
pub const INVALID: Handle = std::ptr::null();
/// `NORM_NODE_ANY`: let libnorm pick our node id (from the host address).
pub const NODE_ANY: u32 = u32::MAX;

/// `NormObjectType::NORM_OBJECT_STREAM`.
pub const OBJECT_STREAM: c_int = 3;
/// `NormFlushMode::NORM_FLUSH_ACTIVE`.
pub const FLUSH_ACTIVE: c_int = 2;
/// `NormSyncPolicy::NORM_SYNC_STREAM`.
pub const SYNC_STREAM: c_int = 1;

/// `NormEventType` values we act on.
pub mod event {
    /// The stream buffer has room again.
    pub const TX_QUEUE_VACANCY: i32 = 1;
    /// Everything written has been sent once.
    pub const TX_QUEUE_EMPTY: i32 = 2;
    /// A remote sender went quiet.
    pub const REMOTE_SENDER_INACTIVE: i32 = 14;
    /// A remote sender's new stream.
    pub const RX_OBJECT_NEW: i32 = 17;
    /// A remote sender's stream has new data.
    pub const RX_OBJECT_UPDATED: i32 = 19;
    /// A remote sender's stream is gone (timed out, purged).
    pub const RX_OBJECT_ABORTED: i32 = 21;
}

/// `NormEvent`.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct Event {
    /// `NormEventType`.
    pub kind: c_int,
    /// The session it concerns.
    pub session: Handle,
    /// The remote sender it concerns, if any.
    pub sender: Handle,
    /// The object it concerns, if any.
    pub object: Handle,
}

impl Event {
    /// An empty event for libnorm to fill.
    pub fn empty() -> Event {
        Event {
            kind: 0,
            session: INVALID,
            sender: INVALID,
            object: INVALID,
        }
    }
}

/// The libnorm functions we use.
#[allow(missing_docs)]
pub struct Api {
    pub create_instance: unsafe extern "C" fn(bool) -> Handle,
    pub destroy_instance: unsafe extern "C" fn(Handle),
    pub stop_instance: unsafe extern "C" fn(Handle),
    pub get_next_event: unsafe extern "C" fn(Handle, *mut Event, bool) -> bool,
    pub get_descriptor: unsafe extern "C" fn(Handle) -> c_int,
    pub create_session: unsafe extern "C" fn(Handle, *const c_char, u16, u32) -> Handle,
    pub destroy_session: unsafe extern "C" fn(Handle),
    pub is_unicast_address: unsafe extern "C" fn(*const c_char) -> bool,
    pub set_ttl: unsafe extern "C" fn(Handle, u8) -> bool,
    pub set_tos: unsafe extern "C" fn(Handle, u8) -> bool,
    pub set_rx_port_reuse: unsafe extern "C" fn(Handle, bool, *const c_char, *const c_char, u16),
    pub set_loopback: unsafe extern "C" fn(Handle, bool) -> bool,
    pub set_multicast_interface: unsafe extern "C" fn(Handle, *const c_char) -> bool,
    pub set_default_unicast_nack: unsafe extern "C" fn(Handle, bool),
    pub set_default_sync_policy: unsafe extern "C" fn(Handle, c_int),
    pub set_tx_socket_buffer: unsafe extern "C" fn(Handle, c_uint) -> bool,
    pub set_rx_socket_buffer: unsafe extern "C" fn(Handle, c_uint) -> bool,
    pub start_receiver: unsafe extern "C" fn(Handle, u32) -> bool,
    pub stop_receiver: unsafe extern "C" fn(Handle),
    pub get_random_session_id: unsafe extern "C" fn() -> u16,
    pub start_sender: unsafe extern "C" fn(Handle, u16, u32, u16, u16, u16, u8) -> bool,
    pub stop_sender: unsafe extern "C" fn(Handle),
    pub set_tx_rate: unsafe extern "C" fn(Handle, f64),
    pub set_congestion_control: unsafe extern "C" fn(Handle, bool, bool),
    pub set_ecn_support: unsafe extern "C" fn(Handle, bool, bool, bool),
    pub set_auto_parity: unsafe extern "C" fn(Handle, u8),
    pub stream_open: unsafe extern "C" fn(Handle, u32, *const c_char, c_uint) -> Handle,
    pub stream_set_push_enable: unsafe extern "C" fn(Handle, bool),
    pub stream_write: unsafe extern "C" fn(Handle, *const c_char, c_uint) -> c_uint,
    pub stream_flush: unsafe extern "C" fn(Handle, bool, c_int),
    pub stream_mark_eom: unsafe extern "C" fn(Handle),
    pub stream_read: unsafe extern "C" fn(Handle, *mut c_char, *mut c_uint) -> bool,
    pub stream_seek_msg_start: unsafe extern "C" fn(Handle) -> bool,
    pub object_get_type: unsafe extern "C" fn(Handle) -> c_int,
    pub node_delete: unsafe extern "C" fn(Handle),
}

/// The names tried, newest soname first.
const SONAMES: [&CStr; 2] = [c"libnorm.so.1", c"libnorm.so"];

/// libnorm, loaded once per process; `None` when it is not installed (or
/// lacks a function we need).
pub fn api() -> Option<&'static Api> {
    static API: OnceLock<Option<Api>> = OnceLock::new();
    API.get_or_init(load).as_ref()
}

/// A function pointer of type `F` from a symbol's address.
///
/// # Safety
/// `p` must be the address of a function whose C signature `F` spells out.
unsafe fn fn_from<F: Copy>(p: *mut c_void) -> F {
    // Function pointers are as wide as data pointers on every target we
    // build for; a mismatch would be a bug here, not a caller's error.
    assert_eq!(std::mem::size_of::<F>(), std::mem::size_of::<*mut c_void>());
    // SAFETY: same size (checked), and the caller vouches for the type.
    unsafe { std::mem::transmute_copy::<*mut c_void, F>(&p) }
}

fn load() -> Option<Api> {
    let lib = SONAMES.iter().find_map(|name| {
        // SAFETY: dlopen takes a NUL-terminated name; loading libnorm runs
        // its (C++) static constructors, which only set up its own globals.
        let h = unsafe { libc::dlopen(name.as_ptr(), libc::RTLD_NOW | libc::RTLD_LOCAL) };
        (!h.is_null()).then_some(h)
    })?;
    macro_rules! sym {
        ($name:literal) => {{
            // SAFETY: `lib` is a live handle (never closed: the functions
            // stay valid for the life of the process) and the name is
            // NUL-terminated.
            let p = unsafe { libc::dlsym(lib, concat!($name, "\0").as_ptr().cast()) };
            if p.is_null() {
                return None;
            }
            // SAFETY: the symbol is the function of that name in normApi.h,
            // whose C signature the field's type spells out.
            unsafe { fn_from(p) }
        }};
    }
    Some(Api {
        create_instance: sym!("NormCreateInstance"),
        destroy_instance: sym!("NormDestroyInstance"),
        stop_instance: sym!("NormStopInstance"),
        get_next_event: sym!("NormGetNextEvent"),
        get_descriptor: sym!("NormGetDescriptor"),
        create_session: sym!("NormCreateSession"),
        destroy_session: sym!("NormDestroySession"),
        is_unicast_address: sym!("NormIsUnicastAddress"),
        set_ttl: sym!("NormSetTTL"),
        set_tos: sym!("NormSetTOS"),
        set_rx_port_reuse: sym!("NormSetRxPortReuse"),
        set_loopback: sym!("NormSetLoopback"),
        set_multicast_interface: sym!("NormSetMulticastInterface"),
        set_default_unicast_nack: sym!("NormSetDefaultUnicastNack"),
        set_default_sync_policy: sym!("NormSetDefaultSyncPolicy"),
        set_tx_socket_buffer: sym!("NormSetTxSocketBuffer"),
        set_rx_socket_buffer: sym!("NormSetRxSocketBuffer"),
        start_receiver: sym!("NormStartReceiver"),
        stop_receiver: sym!("NormStopReceiver"),
        get_random_session_id: sym!("NormGetRandomSessionId"),
        start_sender: sym!("NormStartSender"),
        stop_sender: sym!("NormStopSender"),
        set_tx_rate: sym!("NormSetTxRate"),
        set_congestion_control: sym!("NormSetCongestionControl"),
        set_ecn_support: sym!("NormSetEcnSupport"),
        set_auto_parity: sym!("NormSetAutoParity"),
        stream_open: sym!("NormStreamOpen"),
        stream_set_push_enable: sym!("NormStreamSetPushEnable"),
        stream_write: sym!("NormStreamWrite"),
        stream_flush: sym!("NormStreamFlush"),
        stream_mark_eom: sym!("NormStreamMarkEom"),
        stream_read: sym!("NormStreamRead"),
        stream_seek_msg_start: sym!("NormStreamSeekMsgStart"),
        object_get_type: sym!("NormObjectGetType"),
        node_delete: sym!("NormNodeDelete"),
    })
}

/// Whether norm:// is available: libnorm loads.
pub fn available() -> bool {
    api().is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Our constants agree with the ones libnorm exports, when it is here.
    #[test]
    fn constants_match_libnorm() {
        if api().is_none() {
            eprintln!("libnorm is not installed: nothing to compare");
            return;
        }
        for (name, want) in [
            (c"NORM_INSTANCE_INVALID", 0usize),
            (c"NORM_SESSION_INVALID", 0),
            (c"NORM_OBJECT_INVALID", 0),
            (c"NORM_NODE_INVALID", 0),
        ] {
            // SAFETY: RTLD_DEFAULT searches the loaded objects; the symbol
            // is a `const void*` variable of libnorm's, read once.
            let v = unsafe {
                let h = libc::dlopen(c"libnorm.so.1".as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD);
                assert!(!h.is_null());
                let p = libc::dlsym(h, name.as_ptr()) as *const usize;
                assert!(!p.is_null(), "{name:?}");
                *p
            };
            assert_eq!(v, want, "{name:?}");
        }
        // SAFETY: as above, a `UINT32` variable.
        let any = unsafe {
            let h = libc::dlopen(c"libnorm.so.1".as_ptr(), libc::RTLD_NOW | libc::RTLD_NOLOAD);
            *(libc::dlsym(h, c"NORM_NODE_ANY".as_ptr()) as *const u32)
        };
        assert_eq!(any, NODE_ANY);
        assert_eq!(std::mem::size_of::<Event>(), 32);
    }
}
