//! The SOCKS5 client handshake (RFC 1928/1929) against a fuzzed proxy: the
//! method choice, the username/password reply and the CONNECT reply with
//! every address type, cut into reads at random, with our requests
//! written in random slices too.
//! Input: [config: bit 0 username/password, bits 1-2 target kind][chunk seed][proxy bytes].
#![no_main]
use libfuzzer_sys::fuzz_target;
use zmqrs::transport::socks::SocksClient;
use zmqrs_fuzz::{Chunker, Rng};

const TARGETS: [&str; 4] = ["127.0.0.1:5555", "[::1]:5555", "example.com:5555", ":1"];

fuzz_target!(|data: &[u8]| {
    let [config, seed, stream @ ..] = data else {
        return;
    };
    let (user, pass): (&[u8], &[u8]) = if config & 1 != 0 {
        (b"user", b"secret")
    } else {
        (b"", b"")
    };
    let Ok(mut c) = SocksClient::new(TARGETS[usize::from((config >> 1) & 3)], user, pass) else {
        return;
    };
    let mut chunker = Chunker::new(*seed);
    let mut rng = Rng::new(*config);
    let mut rest = stream;
    for _ in 0..10_000 {
        // Write some or all of what is pending (config bit 3: in slices).
        let pending = c.output().len();
        if pending > 0 {
            let n = if config & 8 != 0 {
                1 + rng.below(pending as u64) as usize
            } else {
                pending
            };
            match c.consume_output(n) {
                Ok(true) => break,
                Ok(false) => {}
                Err(_) => return,
            }
            continue;
        }
        if rest.is_empty() {
            break;
        }
        let n = chunker.next_len(rest.len());
        match c.feed(&rest[..n]) {
            Ok(true) => {
                rest = &rest[n..];
                break;
            }
            Ok(false) => rest = &rest[n..],
            Err(_) => {
                // Every error is final.
                assert!(c.feed(b"x").is_err());
                return;
            }
        }
    }
    if c.is_established() {
        std::hint::black_box(c.take_leftover());
    }
    std::hint::black_box(format!("{c:?}"));
    std::hint::black_box(rest);
});
