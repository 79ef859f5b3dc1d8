//! ZMTP 1.0, 2.0/3.0 and 3.1 frame decoding with a MAXMSGSIZE, fed in
//! chunks through the decoder's zero-copy body path; every decoded frame
//! is re-encoded and must decode to the same frames.
//! Input: [framing and limit][chunk seed][bytes].
#![no_main]
use libfuzzer_sys::fuzz_target;
use zmqrs::zmtp::codec::{Decoder, Framing, InBuf, OutQueue};
use zmqrs::Message;
use zmqrs_fuzz::Chunker;

const LIMITS: [i64; 8] = [-1, 0, 1, 255, 256, 1000, 65_536, 1 << 20];

fn decode_all(
    framing: Framing,
    limit: i64,
    data: &[u8],
    seed: u8,
    buf: usize,
) -> (Vec<Message>, bool) {
    let mut inbuf = InBuf::new(buf);
    let mut dec = Decoder::new(framing, limit);
    let mut chunker = Chunker::new(seed);
    let mut out = Vec::new();
    let mut rest = data;
    loop {
        loop {
            match dec.decode(&mut inbuf) {
                Ok(Some(m)) => out.push(m),
                Ok(None) => break,
                Err(_) => return (out, false),
            }
        }
        if rest.is_empty() {
            return (out, true);
        }
        let want = chunker.next_len(rest.len());
        let space = dec.read_buf(&mut inbuf);
        let n = want.min(space.len());
        if n == 0 {
            return (out, true);
        }
        space[..n].copy_from_slice(&rest[..n]);
        dec.filled(&mut inbuf, n);
        rest = &rest[n..];
    }
}

fuzz_target!(|data: &[u8]| {
    let [sel, seed, bytes @ ..] = data else {
        return;
    };
    let framing = match sel & 3 {
        0 => Framing::V1,
        1 => Framing::V2,
        _ => Framing::V3_1,
    };
    let limit = LIMITS[usize::from((sel >> 2) & 7)];
    let buf = if sel & 0x20 != 0 { 64 } else { 8192 };
    let (frames, _) = decode_all(framing, limit, bytes, *seed, buf);
    // Round trip: what we decoded, we encode; it decodes to the same.
    let mut q = OutQueue::default();
    for m in &frames {
        q.push_frame(framing, m.clone());
    }
    let wire = q.take_all();
    let (again, ok) = decode_all(framing, -1, &wire, 0, 8192);
    assert!(ok, "re-encoded frames failed to decode");
    assert_eq!(again.len(), frames.len());
    for (a, b) in again.iter().zip(&frames) {
        assert_eq!(a.as_slice(), b.as_slice());
        assert_eq!(a.more(), b.more());
    }
});
