//! libzmq's framing of messages inside PGM (doc/zmq_pgm.txt, and
//! src/pgm_sender.cpp / src/pgm_receiver.cpp of libzmq 4.3.5).
//!
//! The messages form one byte stream, encoded as ZMTP/1.0 frames (length
//! byte, or 0xFF and an 8-byte length, counting the flags byte; then the
//! flags byte, MORE = 1; then the body), cut into TSDUs without regard for
//! frame boundaries. Each TSDU starts with a 16-bit offset: where in the
//! rest of the TSDU the first *message* (not frame) begins, or 0xFFFF when
//! none does. A receiver that joins late, or loses data it cannot repair,
//! skips TSDUs until one has an offset, and starts decoding there.
//!
//! [`Packer`] cuts TSDUs exactly as libzmq's sender does, including its
//! habit of pointing the offset at the end of the TSDU when the data ends
//! on a message boundary and nothing else is queued (a TSDU of 741 bytes
//! with offset 739, captured from Debian's libzmq5). [`Unpacker`] joins and
//! decodes like libzmq's receiver, but refuses an offset beyond the TSDU
//! (libzmq asserts) instead of trusting it.

use std::collections::VecDeque;

use crate::msg::{flags, Message};
use crate::zmtp::codec::{Decoder, Framing, InBuf};

/// The offset value meaning "no message starts in this TSDU".
pub const NO_OFFSET: u16 = 0xFFFF;

/// The ZMTP/1.0 header of a frame: `(bytes, length)`.
fn v1_header(msg: &Message) -> ([u8; 10], usize) {
    let mut h = [0u8; 10];
    // The length counts the flags byte.
    let size = msg.len() as u64 + 1;
    let n = if size < 255 {
        h[0] = size as u8;
        1
    } else {
        h[0] = 0xFF;
        h[1..9].copy_from_slice(&size.to_be_bytes());
        9
    };
    h[n] = msg.flags() & flags::MORE;
    (h, n + 1)
}

/// A frame being cut into TSDUs.
struct InProgress {
    header: [u8; 10],
    header_len: usize,
    msg: Message,
    /// Bytes of header then body already packed.
    pos: usize,
}

impl InProgress {
    fn new(msg: Message) -> InProgress {
        let (header, header_len) = v1_header(&msg);
        InProgress {
            header,
            header_len,
            msg,
            pos: 0,
        }
    }

    fn total(&self) -> usize {
        self.header_len + self.msg.len()
    }

    /// Appends up to `room` bytes; returns how many.
    fn pack(&mut self, out: &mut Vec<u8>, room: usize) -> usize {
        let mut written = 0;
        if self.pos < self.header_len {
            let n = (self.header_len - self.pos).min(room);
            out.extend_from_slice(&self.header[self.pos..self.pos + n]);
            self.pos += n;
            written += n;
        }
        let body_pos = self.pos.saturating_sub(self.header_len);
        let body = self.msg.as_slice();
        if self.pos >= self.header_len && body_pos < body.len() {
            let n = (body.len() - body_pos).min(room - written);
            out.extend_from_slice(&body[body_pos..body_pos + n]);
            self.pos += n;
            written += n;
        }
        written
    }

    fn done(&self) -> bool {
        self.pos >= self.total()
    }
}

/// Cuts messages into TSDUs (libzmq `pgm_sender_t::out_event`).
#[derive(Default)]
pub struct Packer {
    current: Option<InProgress>,
    /// Whether the last frame taken had MORE (the next frame continues
    /// its message, so no message starts there).
    more: bool,
}

impl Packer {
    /// A packer at a message boundary.
    pub fn new() -> Packer {
        Packer::default()
    }

    /// Whether part of a frame is waiting to be packed.
    pub fn has_pending(&self) -> bool {
        self.current.is_some()
    }

    /// Fills `out` (cleared first) with one TSDU of at most `max` bytes
    /// (`max` > 2): the offset, then the rest of the frame in progress and
    /// whatever frames `next` hands over while there is room. Returns false
    /// when there was nothing to pack (`out` is then empty).
    pub fn fill(
        &mut self,
        out: &mut Vec<u8>,
        max: usize,
        mut next: impl FnMut() -> Option<Message>,
    ) -> bool {
        out.clear();
        out.extend_from_slice(&NO_OFFSET.to_be_bytes());
        let room = max.saturating_sub(2).min(usize::from(u16::MAX) - 2);
        let mut offset = NO_OFFSET;
        let mut bytes = self.pack_current(out, room);
        while bytes < room {
            if !self.more && offset == NO_OFFSET {
                offset = bytes as u16;
            }
            let Some(m) = next() else {
                break;
            };
            self.more = m.more();
            self.current = Some(InProgress::new(m));
            bytes += self.pack_current(out, room - bytes);
        }
        if bytes == 0 {
            out.clear();
            return false;
        }
        out[..2].copy_from_slice(&offset.to_be_bytes());
        true
    }

    fn pack_current(&mut self, out: &mut Vec<u8>, room: usize) -> usize {
        let Some(cur) = self.current.as_mut() else {
            return 0;
        };
        let n = cur.pack(out, room);
        if cur.done() {
            self.current = None;
        }
        n
    }
}

/// Why a TSDU broke the stream of one source.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnpackError {
    /// Shorter than its offset field, or an offset beyond its end.
    BadOffset,
    /// A frame that breaks the ZMTP/1.0 rules, or longer than
    /// ZMQ_MAXMSGSIZE.
    BadFrame,
}

/// Decodes one source's TSDUs into frames (libzmq `pgm_receiver_t`'s
/// per-peer join logic and `v1_decoder_t`).
pub struct Unpacker {
    max_msg_size: i64,
    /// `None`: not joined (waiting for a TSDU where a message starts).
    decoder: Option<(Decoder, InBuf)>,
}

impl Unpacker {
    /// An unpacker that has not joined the stream; `max_msg_size` < 0 means
    /// no limit.
    pub fn new(max_msg_size: i64) -> Unpacker {
        Unpacker {
            max_msg_size,
            decoder: None,
        }
    }

    /// Whether a message start has been found.
    pub fn joined(&self) -> bool {
        self.decoder.is_some()
    }

    /// Forgets the stream (after data loss): the next TSDU with an offset
    /// starts it again.
    pub fn reset(&mut self) {
        self.decoder = None;
    }

    /// Decodes one TSDU, appending complete frames to `out`. On error the
    /// unpacker has reset itself and the rest of the TSDU is dropped (as
    /// libzmq does); frames already appended stay valid.
    pub fn push(&mut self, tsdu: &[u8], out: &mut VecDeque<Message>) -> Result<(), UnpackError> {
        let Some((head, rest)) = tsdu.split_first_chunk::<2>() else {
            self.reset();
            return Err(UnpackError::BadOffset);
        };
        let offset = u16::from_be_bytes(*head);
        let mut data = rest;
        if self.decoder.is_none() {
            if offset == NO_OFFSET {
                return Ok(());
            }
            let off = usize::from(offset);
            if off > data.len() {
                return Err(UnpackError::BadOffset);
            }
            data = &data[off..];
            self.decoder = Some((
                Decoder::new(Framing::V1, self.max_msg_size),
                InBuf::new(4096),
            ));
        }
        let Some((dec, inbuf)) = self.decoder.as_mut() else {
            return Ok(());
        };
        loop {
            loop {
                match dec.decode(inbuf) {
                    Ok(Some(m)) => out.push_back(m),
                    Ok(None) => break,
                    Err(_) => {
                        self.reset();
                        return Err(UnpackError::BadFrame);
                    }
                }
            }
            if data.is_empty() {
                return Ok(());
            }
            if dec.feed(inbuf, &mut data) == 0 {
                // Cannot happen: a buffer of 4 KiB always holds a header.
                self.reset();
                return Err(UnpackError::BadFrame);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(more: bool, body: &[u8]) -> Message {
        let mut m = Message::from_slice(body);
        m.set_more(more);
        m
    }

    fn pack_all(msgs: Vec<Message>, max: usize) -> Vec<Vec<u8>> {
        let mut p = Packer::new();
        let mut q: VecDeque<Message> = msgs.into();
        let mut out = Vec::new();
        let mut tsdus = Vec::new();
        while p.fill(&mut out, max, || q.pop_front()) {
            tsdus.push(out.clone());
        }
        tsdus
    }

    #[test]
    fn captured_tsdus() {
        // What libzmq put in its first ODATA: "part1" (MORE) then a 10-byte
        // body, one TSDU with offset 0.
        let mut body = b"m0\0".to_vec();
        body.extend_from_slice(b"aaaaaaa");
        let t = pack_all(vec![frame(true, b"part1"), frame(false, &body)], 1428);
        assert_eq!(t.len(), 1);
        let want: Vec<u8> = [&[0u8, 0, 6, 1][..], b"part1", &[11, 0], &body].concat();
        assert_eq!(t[0], want);
    }

    #[test]
    fn offsets_like_libzmq() {
        // "part1" and a 5000-byte body in TSDUs of 1428: offset 0, then
        // 0xFFFF twice, then the tail with the offset pointing at its end,
        // as captured from libzmq.
        let t = pack_all(
            vec![frame(true, b"part1"), frame(false, &[b'a'; 5000])],
            1428,
        );
        let offs: Vec<u16> = t.iter().map(|d| u16::from_be_bytes([d[0], d[1]])).collect();
        let lens: Vec<usize> = t.iter().map(|d| d.len()).collect();
        assert_eq!(offs, vec![0, 0xFFFF, 0xFFFF, 739]);
        assert_eq!(lens, vec![1428, 1428, 1428, 741]);
        // Continuation parts set no offset.
        let t = pack_all(vec![frame(true, &[1; 20]), frame(false, &[2; 20])], 24);
        let offs: Vec<u16> = t.iter().map(|d| u16::from_be_bytes([d[0], d[1]])).collect();
        assert_eq!(offs[0], 0);
        assert!(offs[1..offs.len() - 1].iter().all(|&o| o == NO_OFFSET));
    }

    fn unpack_all(tsdus: &[Vec<u8>]) -> Vec<Message> {
        let mut u = Unpacker::new(-1);
        let mut out = VecDeque::new();
        for t in tsdus {
            u.push(t, &mut out).unwrap();
        }
        out.into()
    }

    #[test]
    fn round_trip_sizes() {
        let sizes = [
            0usize, 1, 253, 254, 255, 256, 1427, 1428, 5000, 65536, 70000,
        ];
        let msgs: Vec<Message> = sizes
            .iter()
            .enumerate()
            .map(|(i, &s)| frame(i % 3 == 1, &vec![i as u8; s]))
            .collect();
        for max in [3usize, 4, 11, 100, 1428, 65535] {
            let t = pack_all(msgs.clone(), max);
            let got = unpack_all(&t);
            assert_eq!(got.len(), msgs.len(), "max {max}");
            for (a, b) in got.iter().zip(&msgs) {
                assert_eq!(a.as_slice(), b.as_slice());
                assert_eq!(a.more(), b.more());
            }
        }
    }

    #[test]
    fn late_join_skips_to_message_start() {
        let msgs = vec![
            frame(false, &[1; 3000]),
            frame(true, &[2; 10]),
            frame(false, &[3; 10]),
            frame(false, &[4; 10]),
        ];
        let t = pack_all(msgs, 1428);
        // Join at the second TSDU: in the middle of the first message.
        let got = unpack_all(&t[1..]);
        let bodies: Vec<u8> = got.iter().map(|m| m[0]).collect();
        assert_eq!(bodies, vec![2, 3, 4]);
    }

    #[test]
    fn hostile_offsets_and_frames() {
        let mut u = Unpacker::new(100);
        let mut out = VecDeque::new();
        assert_eq!(u.push(&[], &mut out), Err(UnpackError::BadOffset));
        assert_eq!(u.push(&[0], &mut out), Err(UnpackError::BadOffset));
        // Offset past the end.
        assert_eq!(u.push(&[0, 5, 1, 2], &mut out), Err(UnpackError::BadOffset));
        assert!(!u.joined());
        // Offset at the very end: joined, nothing decoded.
        assert_eq!(u.push(&[0, 2, 9, 9], &mut out), Ok(()));
        assert!(u.joined());
        // Zero length frame: malformed.
        assert_eq!(
            u.push(&[0xFF, 0xFF, 0], &mut out),
            Err(UnpackError::BadFrame)
        );
        assert!(!u.joined());
        // Too large for ZMQ_MAXMSGSIZE.
        let mut big = vec![0, 0, 0xFF];
        big.extend_from_slice(&1000u64.to_be_bytes());
        assert_eq!(u.push(&big, &mut out), Err(UnpackError::BadFrame));
        // A lying 8-byte length costs nothing up front.
        let mut u = Unpacker::new(-1);
        let mut huge = vec![0, 0, 0xFF];
        huge.extend_from_slice(&(u64::MAX / 4).to_be_bytes());
        huge.push(0);
        assert_eq!(u.push(&huge, &mut out), Ok(()));
        assert!(out.is_empty());
    }

    #[test]
    fn byte_at_a_time_tsdus() {
        // TSDUs of 3 bytes carry one stream byte each.
        let msgs = vec![frame(true, b"ab"), frame(false, &[7; 300])];
        let t = pack_all(msgs.clone(), 3);
        assert!(t.iter().all(|d| d.len() == 3));
        let got = unpack_all(&t);
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].as_slice(), &[7; 300][..]);
    }
}
