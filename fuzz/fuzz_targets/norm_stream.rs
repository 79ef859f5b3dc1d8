//! norm://: the bytes of a NORM stream as libnorm hands them to a receiver,
//! decoded by `norm::framing::Decoder` (libzmq's sync byte + ZMTP/2.0
//! frames). The input is a script: a control byte, then a length byte and
//! that many stream bytes. Control bit 0: the bytes follow a NORM message
//! start (a re-sync: the first byte is offered as the sync byte); bit 1:
//! the stream broke before them (the decoder resets, as on a failed
//! NormStreamRead). Besides never panicking, every frame delivered must
//! belong to a message that either completes or is aborted, MAXMSGSIZE
//! holds, and what a well-formed stream encodes decodes back the same.
#![no_main]
use std::collections::VecDeque;

use libfuzzer_sys::fuzz_target;
use zmqrs::norm::framing::{Decoder, Encoder, Event};
use zmqrs::Message;

const MAX: i64 = 4096;

fuzz_target!(|data: &[u8]| {
    let mut d = Decoder::new(MAX);
    let mut out = VecDeque::new();
    let mut rest = data;
    let mut in_message = false;
    while let [ctl, len, tail @ ..] = rest {
        let n = usize::from(*len).min(tail.len());
        let (chunk, next) = tail.split_at(n);
        rest = next;
        if ctl & 2 != 0 {
            out.extend(d.reset());
        }
        let mut chunk = chunk;
        if ctl & 1 != 0 && !d.in_sync() {
            if let Some((&b, r)) = chunk.split_first() {
                d.sync(b);
                chunk = r;
            }
        }
        let _ = d.push(chunk, &mut out);
        for ev in out.drain(..) {
            match ev {
                Event::Frame(m) => {
                    assert!(m.len() as i64 <= MAX);
                    in_message = m.more();
                }
                Event::Abort => {
                    assert!(in_message, "abort without a message in progress");
                    in_message = false;
                }
            }
        }
        assert_eq!(in_message, d.in_message());
    }

    // Round trip: the input's bytes as frame bodies.
    let mut e = Encoder::new();
    let mut bytes = Vec::new();
    let frames: Vec<(bool, &[u8])> = data
        .chunks(300)
        .enumerate()
        .map(|(i, c)| (i % 3 != 2 && i + 1 < data.len().div_ceil(300), c))
        .collect();
    for (more, body) in &frames {
        let mut m = Message::from_slice(body);
        m.set_more(*more);
        e.encode(&m, &mut bytes);
    }
    let mut d = Decoder::new(-1);
    let mut out = VecDeque::new();
    if let Some((&b, r)) = bytes.split_first() {
        assert!(d.sync(b));
        d.push(r, &mut out).expect("our own stream decodes");
    }
    let got: Vec<(bool, Vec<u8>)> = out
        .into_iter()
        .map(|ev| match ev {
            Event::Frame(m) => (m.more(), m.as_slice().to_vec()),
            Event::Abort => panic!("abort in a well-formed stream"),
        })
        .collect();
    let want: Vec<(bool, Vec<u8>)> = frames.iter().map(|(m, b)| (*m, b.to_vec())).collect();
    assert_eq!(got, want);
});
