//! Every socket option's raw value through the public Rust API
//! (Socket::setsockopt_raw / getsockopt_raw), which gives each socket
//! type its own options first (SUBSCRIBE, ROUTER_*, XPUB_*, ...), then the
//! common table. Input: [socket type] then ops [kind][option][length][value].
#![no_main]
use libfuzzer_sys::fuzz_target;
use zmqrs::constants::ZMQ_LINGER;
use zmqrs::Context;

thread_local! {
    static CTX: Context = Context::new();
}

fuzz_target!(|data: &[u8]| {
    let [t, all_ops @ ..] = data else {
        return;
    };
    let mut ops = all_ops;
    CTX.with(|ctx| {
        let Ok(s) = ctx.socket_raw(i32::from(*t % 21)) else {
            return;
        };
        let mut buf = [0u8; 300];
        for _ in 0..64 {
            let [kind, opt, len, rest @ ..] = ops else {
                break;
            };
            let option = if kind & 0x80 != 0 {
                i32::from(*opt) - 128
            } else {
                i32::from(*opt)
            };
            let len = usize::from(*len);
            if kind & 1 == 0 {
                let n = len.min(rest.len());
                let value = if kind & 2 != 0 {
                    None
                } else {
                    Some(&rest[..n])
                };
                let _ = s.setsockopt_raw(option, value);
                ops = &rest[n..];
            } else {
                let len = len.min(buf.len());
                if let Ok(n) = s.getsockopt_raw(option, &mut buf[..len]) {
                    assert!(
                        n <= len,
                        "option {option}: {n} bytes reported for a {len}-byte buffer"
                    );
                }
                ops = rest;
            }
        }
        let _ = s.setsockopt_raw(ZMQ_LINGER, Some(&0i32.to_ne_bytes()));
        let _ = s.close();
    });
});
