//! Every socket option's raw value through the option table
//! (Options::set / Options::get) over all option numbers, as
//! zmq_setsockopt / zmq_getsockopt pass them.
//! Input: [socket type] then ops [kind][option][length][value bytes].
#![no_main]
use libfuzzer_sys::fuzz_target;
use zmqrs::options::Options;

fuzz_target!(|data: &[u8]| {
    let [t, all_ops @ ..] = data else {
        return;
    };
    let mut ops = all_ops;
    let mut o = Options {
        socket_type: i32::from(*t % 21),
        ..Options::default()
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
            // setsockopt with the next `len` bytes (or NULL).
            let n = len.min(rest.len());
            let value = if kind & 2 != 0 {
                None
            } else {
                Some(&rest[..n])
            };
            let _ = o.set(option, value);
            ops = &rest[n..];
        } else {
            // getsockopt into a buffer of `len` bytes.
            let len = len.min(buf.len());
            if let Ok(n) = o.get(option, &mut buf[..len]) {
                assert!(
                    n <= len,
                    "option {option}: {n} bytes reported for a {len}-byte buffer"
                );
            }
            ops = rest;
        }
    }
});
