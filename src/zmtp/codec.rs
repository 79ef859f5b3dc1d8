//! ZMTP framing: bytes to frames and frames to bytes, for ZMTP 1.0
//! (RFC 13), 2.0 (RFC 15) and 3.x (RFC 23/37). No I/O, no clock.
//!
//! Input: the engine keeps received bytes in an [`InBuf`] and asks the
//! [`Decoder`] for one frame at a time, so a full pipe stops decoding (the
//! remaining bytes wait). A frame body that does not fit in the read buffer
//! is received directly into the message's own memory: `read_buf` points
//! the next read there (zero copy for large messages). The length field is
//! checked against MAXMSGSIZE before anything is allocated, and a huge
//! announced body grows with the bytes that actually arrive, unless a
//! recycled buffer of its size is free (`msg::take_recycled`).
//!
//! Output: [`OutQueue`] collects encoded frames: headers and small bodies
//! in one batch buffer, large bodies by reference, handed to the kernel
//! together with one vectored write.

use std::collections::VecDeque;
use std::io::IoSlice;

use crate::msg::{flags, Message};

/// Whether a frame is a subscription (`Some(true)`), a cancellation
/// (`Some(false)`) or neither.
pub fn subscription_kind(msg: &Message) -> Option<bool> {
    let f = msg.flags();
    if f & flags::SUBSCRIBE != 0 {
        Some(true)
    } else if f & flags::CANCEL != 0 {
        Some(false)
    } else {
        None
    }
}

/// Frame flags of ZMTP 2.0 and 3.x.
pub mod wire {
    /// More frames follow.
    pub const MORE: u8 = 1;
    /// The size field is 8 bytes.
    pub const LARGE: u8 = 2;
    /// A command frame (3.x).
    pub const COMMAND: u8 = 4;
}

/// Which framing a connection uses after the greeting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// ZMTP 1.0: length (1 or 1+8 bytes, counting the flags byte), flags, body.
    V1,
    /// ZMTP 2.0 and 3.0: flags, size (1 or 8 bytes), body; subscriptions as
    /// messages with a leading 1/0 byte.
    V2,
    /// ZMTP 3.1: as V2, subscriptions as SUBSCRIBE/CANCEL commands.
    V3_1,
}

/// A decoding failure: the connection is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// A frame larger than MAXMSGSIZE (or than memory can hold).
    TooLarge,
    /// A frame that breaks the framing rules.
    Malformed,
}

/// Bodies up to this size are allocated whole when their header arrives;
/// larger ones grow (doubling) as their bytes arrive, so that a lying length
/// field costs at most this much zeroed memory per connection.
const PREALLOC_LIMIT: usize = 1 << 16;

/// Received bytes not yet decoded.
pub struct InBuf {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

impl InBuf {
    /// A buffer for reads of `size` bytes.
    pub fn new(size: usize) -> InBuf {
        InBuf {
            buf: vec![0u8; size.max(64)].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }

    /// Undecoded bytes.
    pub fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Marks `n` undecoded bytes as consumed.
    pub fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
    }

    /// Where the next read may go. Moves leftovers to the front first.
    pub fn spare(&mut self) -> &mut [u8] {
        if self.start > 0 && (self.end == self.buf.len() || self.start * 2 >= self.buf.len()) {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        &mut self.buf[self.end..]
    }

    /// Records that `n` bytes were read into `spare()`.
    pub fn filled(&mut self, n: usize) {
        self.end += n;
    }

    /// Appends bytes (for callers that already hold them).
    pub fn push(&mut self, data: &[u8]) -> usize {
        let spare = self.spare();
        let n = data.len().min(spare.len());
        spare[..n].copy_from_slice(&data[..n]);
        self.filled(n);
        n
    }
}

/// A body being received directly into its own memory.
struct Body {
    data: Vec<u8>,
    filled: usize,
    total: usize,
    flags: u8,
}

enum State {
    /// Waiting for a frame header.
    Header,
    /// Receiving a large body.
    Body(Body),
}

/// Turns bytes into frames.
pub struct Decoder {
    framing: Framing,
    max_msg_size: i64,
    state: State,
}

fn too_large(size: u64, max: i64) -> bool {
    (max >= 0 && size > max as u64) || size > (isize::MAX as u64) / 2
}

impl Decoder {
    /// A decoder; `max_msg_size` < 0 means no limit.
    pub fn new(framing: Framing, max_msg_size: i64) -> Decoder {
        Decoder {
            framing,
            max_msg_size,
            state: State::Header,
        }
    }

    /// Whether a large body is being received directly.
    pub fn in_body(&self) -> bool {
        matches!(self.state, State::Body(_))
    }

    /// Where the next read should go: the large body in progress, if any,
    /// else the input buffer's free space.
    pub fn read_buf<'a>(&'a mut self, inbuf: &'a mut InBuf) -> &'a mut [u8] {
        match &mut self.state {
            State::Body(b) => {
                if b.filled == b.data.len() && b.data.len() < b.total {
                    // Grow the announced body only as its bytes arrive.
                    let new_len = (b.data.len() * 2).clamp(4096, b.total);
                    b.data.resize(new_len, 0);
                }
                &mut b.data[b.filled..]
            }
            State::Header => inbuf.spare(),
        }
    }

    /// Records `n` bytes read into `read_buf`.
    pub fn filled(&mut self, inbuf: &mut InBuf, n: usize) {
        match &mut self.state {
            State::Body(b) => b.filled += n,
            State::Header => inbuf.filled(n),
        }
    }

    /// Copies as much of `data` as fits into `read_buf` and advances
    /// `data` past it; returns how much went (0 only if no room at all).
    /// For callers that hold their input already (PGM TSDUs, NORM streams).
    pub fn feed(&mut self, inbuf: &mut InBuf, data: &mut &[u8]) -> usize {
        let buf = self.read_buf(inbuf);
        let n = buf.len().min(data.len());
        buf[..n].copy_from_slice(&data[..n]);
        self.filled(inbuf, n);
        *data = &data[n..];
        n
    }

    /// Decodes the next complete frame, if the bytes are there.
    pub fn decode(&mut self, inbuf: &mut InBuf) -> Result<Option<Message>, DecodeError> {
        if let State::Body(b) = &mut self.state {
            if b.filled < b.total {
                return Ok(None);
            }
            let State::Body(b) = std::mem::replace(&mut self.state, State::Header) else {
                unreachable!()
            };
            let mut data = b.data;
            data.truncate(b.total);
            let mut m = Message::from_vec(data);
            m.set_flags(b.flags);
            return Ok(Some(m));
        }
        let avail = inbuf.data();
        let (header_len, size, fl) = match self.framing {
            Framing::V1 => {
                let Some(&first) = avail.first() else {
                    return Ok(None);
                };
                let (len_bytes, length) = if first == 0xFF {
                    if avail.len() < 9 {
                        return Ok(None);
                    }
                    (
                        9,
                        u64::from_be_bytes(
                            avail[1..9].try_into().map_err(|_| DecodeError::Malformed)?,
                        ),
                    )
                } else {
                    (1, u64::from(first))
                };
                if length == 0 {
                    return Err(DecodeError::Malformed);
                }
                if too_large(length - 1, self.max_msg_size) {
                    return Err(DecodeError::TooLarge);
                }
                if avail.len() < len_bytes + 1 {
                    return Ok(None);
                }
                let f = avail[len_bytes] & flags::MORE;
                (len_bytes + 1, length - 1, f)
            }
            Framing::V2 | Framing::V3_1 => {
                let Some(&wf) = avail.first() else {
                    return Ok(None);
                };
                let mut f = 0;
                if wf & wire::MORE != 0 {
                    f |= flags::MORE;
                }
                if wf & wire::COMMAND != 0 {
                    f |= flags::COMMAND;
                }
                let (header_len, size) = if wf & wire::LARGE != 0 {
                    if avail.len() < 9 {
                        return Ok(None);
                    }
                    (
                        9,
                        u64::from_be_bytes(
                            avail[1..9].try_into().map_err(|_| DecodeError::Malformed)?,
                        ),
                    )
                } else {
                    if avail.len() < 2 {
                        return Ok(None);
                    }
                    (2, u64::from(avail[1]))
                };
                if too_large(size, self.max_msg_size) {
                    return Err(DecodeError::TooLarge);
                }
                (header_len, size, f)
            }
        };
        let size = size as usize;
        if avail.len() - header_len >= size {
            let mut m = Message::from_slice(&avail[header_len..header_len + size]);
            m.set_flags(fl);
            inbuf.consume(header_len + size);
            return Ok(Some(m));
        }
        // The body continues beyond what we have: receive it in place.
        let have = avail.len() - header_len;
        // A recycled buffer of the whole size costs no new memory, so a
        // lying length field gains nothing from it; only fresh memory grows
        // as the bytes arrive.
        let mut data = crate::msg::take_recycled(size)
            .unwrap_or_else(|| vec![0u8; size.min(PREALLOC_LIMIT.max(have))]);
        data[..have].copy_from_slice(&avail[header_len..]);
        inbuf.consume(header_len + have);
        self.state = State::Body(Body {
            data,
            filled: have,
            total: size,
            flags: fl,
        });
        Ok(None)
    }
}

/// Encoded bytes waiting for the socket: one batch buffer for headers and
/// small bodies, with large bodies spliced in by reference.
#[derive(Default)]
pub struct OutQueue {
    buf: Vec<u8>,
    /// Large bodies and the buffer offset they follow.
    bodies: VecDeque<(usize, Message)>,
    /// Bytes of `buf` already written.
    buf_pos: usize,
    /// Bytes of the front body already written.
    body_pos: usize,
    /// Total bytes queued and not yet written.
    pending: usize,
}

/// The longest frame header of ZMTP 2.0 and 3.x: flags and an 8-byte size.
pub const MAX_HEADER: usize = 9;

/// Writes the header of a ZMTP 2.0/3.x frame of `size` bytes into `out`;
/// returns its length (2, or 9 for frames over 255 bytes).
pub fn frame_header(more: bool, command: bool, size: usize, out: &mut [u8; MAX_HEADER]) -> usize {
    let mut wf = 0u8;
    if more {
        wf |= wire::MORE;
    }
    if command {
        wf |= wire::COMMAND;
    }
    if size > 255 {
        out[0] = wf | wire::LARGE;
        out[1..9].copy_from_slice(&(size as u64).to_be_bytes());
        9
    } else {
        out[0] = wf;
        out[1] = size as u8;
        2
    }
}

/// Bodies larger than this go to the kernel from their own memory.
pub const ZERO_COPY_THRESHOLD: usize = 1024;

/// Bodies up to this size are copied into the batch byte by byte.
const SMALL_BODY: usize = 8;

impl OutQueue {
    /// Bytes queued and not yet written.
    pub fn len(&self) -> usize {
        self.pending
    }

    /// Whether nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.pending == 0
    }

    /// Appends raw bytes (greeting).
    pub fn push_bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
        self.pending += b.len();
    }

    /// Appends a frame in the given framing. A subscription or
    /// cancellation becomes a SUBSCRIBE/CANCEL command in ZMTP 3.1 and a
    /// message with a leading 1/0 byte before that.
    pub fn push_frame(&mut self, framing: Framing, msg: Message) {
        let fl = msg.flags();
        let more = fl & flags::MORE != 0;
        let mut command = fl & flags::COMMAND != 0;
        let subscription = subscription_kind(&msg);
        let prefix: &[u8] = match (subscription, framing) {
            (Some(true), Framing::V3_1) => b"\x09SUBSCRIBE",
            (Some(false), Framing::V3_1) => b"\x06CANCEL",
            (Some(true), _) => b"\x01",
            (Some(false), _) => b"\x00",
            (None, _) => b"",
        };
        if subscription.is_some() {
            command = framing == Framing::V3_1;
        }
        let size = msg.len() + prefix.len();
        let before = self.buf.len();
        match framing {
            Framing::V1 => {
                let length = size as u64 + 1;
                if length < 255 {
                    self.buf.push(length as u8);
                } else {
                    self.buf.push(0xFF);
                    self.buf.extend_from_slice(&length.to_be_bytes());
                }
                self.buf.push(more as u8);
            }
            Framing::V2 | Framing::V3_1 => {
                let mut header = [0u8; MAX_HEADER];
                let n = frame_header(more, command, size, &mut header);
                self.buf.extend_from_slice(&header[..n]);
            }
        }
        self.buf.extend_from_slice(prefix);
        let mut by_ref = 0;
        if msg.len() > ZERO_COPY_THRESHOLD {
            by_ref = msg.len();
            self.bodies.push_back((self.buf.len(), msg));
        } else if msg.len() <= SMALL_BODY {
            // A call to memcpy costs more than the copy itself here (6% of
            // remote_thr's profile at 1 byte).
            self.buf.reserve(msg.len());
            for &b in msg.as_slice() {
                self.buf.push(b);
            }
        } else {
            self.buf.extend_from_slice(msg.as_slice());
        }
        self.pending += self.buf.len() - before + by_ref;
    }

    /// Appends a message's body with no framing (raw sockets).
    pub fn push_raw(&mut self, msg: Message) {
        let n = msg.len();
        if n > ZERO_COPY_THRESHOLD {
            self.bodies.push_back((self.buf.len(), msg));
        } else {
            self.buf.extend_from_slice(msg.as_slice());
        }
        self.pending += n;
    }

    /// Fills `slices` with the queued bytes in order; returns how many.
    pub fn slices<'a>(&'a self, slices: &mut [IoSlice<'a>]) -> usize {
        let mut n = 0;
        let mut pos = self.buf_pos;
        let mut first_body = true;
        for (at, body) in self.bodies.iter() {
            if n == slices.len() {
                return n;
            }
            if *at > pos {
                slices[n] = IoSlice::new(&self.buf[pos..*at]);
                n += 1;
                pos = *at;
                if n == slices.len() {
                    return n;
                }
            }
            let skip = if first_body { self.body_pos } else { 0 };
            first_body = false;
            if body.len() > skip {
                slices[n] = IoSlice::new(&body.as_slice()[skip..]);
                n += 1;
            }
        }
        if n < slices.len() && pos < self.buf.len() {
            slices[n] = IoSlice::new(&self.buf[pos..]);
            n += 1;
        }
        n
    }

    /// Drops `n` written bytes from the front.
    pub fn advance(&mut self, mut n: usize) {
        self.pending -= n.min(self.pending);
        while n > 0 {
            let next_body_at = self.bodies.front().map(|(at, _)| *at);
            match next_body_at {
                Some(at) if self.buf_pos == at => {
                    let body_len = self.bodies.front().map_or(0, |(_, m)| m.len());
                    let left = body_len - self.body_pos;
                    if n >= left {
                        n -= left;
                        self.bodies.pop_front();
                        self.body_pos = 0;
                    } else {
                        self.body_pos += n;
                        n = 0;
                    }
                }
                _ => {
                    let limit = next_body_at.unwrap_or(self.buf.len());
                    let take = n.min(limit - self.buf_pos);
                    self.buf_pos += take;
                    n -= take;
                    if take == 0 {
                        break;
                    }
                }
            }
        }
        // Empty bodies spliced at the current position are done too.
        while let Some((at, m)) = self.bodies.front() {
            if *at == self.buf_pos && m.len() == self.body_pos {
                self.bodies.pop_front();
                self.body_pos = 0;
            } else {
                break;
            }
        }
        if self.bodies.is_empty() && self.buf_pos == self.buf.len() {
            self.buf.clear();
            self.buf_pos = 0;
        }
    }

    /// Everything queued, as one byte vector (tests and small transports).
    pub fn take_all(&mut self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.pending);
        loop {
            let total = {
                let mut slices = [IoSlice::new(&[]); 64];
                let n = self.slices(&mut slices);
                for s in &slices[..n] {
                    out.extend_from_slice(s);
                }
                slices[..n].iter().map(|s| s.len()).sum::<usize>()
            };
            if total == 0 {
                break;
            }
            self.advance(total);
        }
        out
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

    fn decode_all(framing: Framing, bytes: &[u8], one_at_a_time: bool) -> Vec<Message> {
        let mut d = Decoder::new(framing, -1);
        let mut inbuf = InBuf::new(8192);
        let mut out = Vec::new();
        let mut pos = 0;
        loop {
            while let Some(m) = d.decode(&mut inbuf).unwrap() {
                out.push(m);
            }
            if pos == bytes.len() {
                break;
            }
            let buf = d.read_buf(&mut inbuf);
            let n = if one_at_a_time {
                1
            } else {
                buf.len().min(bytes.len() - pos)
            };
            buf[..n].copy_from_slice(&bytes[pos..pos + n]);
            d.filled(&mut inbuf, n);
            pos += n;
        }
        out
    }

    #[test]
    fn v2_round_trip_whole_and_bytewise() {
        let mut q = OutQueue::default();
        let big = vec![7u8; 70_000];
        q.push_frame(Framing::V2, frame(true, b"a"));
        q.push_frame(Framing::V2, frame(false, &big));
        q.push_frame(Framing::V2, frame(false, b""));
        let bytes = q.take_all();
        assert_eq!(&bytes[..3], &[1, 1, b'a']);
        assert_eq!(bytes[3], wire::LARGE);
        assert_eq!(&bytes[4..12], &70_000u64.to_be_bytes());
        for bytewise in [false, true] {
            let msgs = decode_all(Framing::V2, &bytes, bytewise);
            assert_eq!(msgs.len(), 3);
            assert!(msgs[0].more());
            assert_eq!(&msgs[0][..], b"a");
            assert_eq!(msgs[1].len(), 70_000);
            assert!(msgs[1].iter().all(|&b| b == 7));
            assert!(msgs[2].is_empty());
        }
    }

    #[test]
    fn v1_round_trip() {
        let mut q = OutQueue::default();
        q.push_frame(Framing::V1, frame(true, b"id"));
        q.push_frame(Framing::V1, frame(false, &[1u8; 300]));
        let bytes = q.take_all();
        assert_eq!(&bytes[..4], &[3, 1, b'i', b'd']);
        assert_eq!(bytes[4], 0xFF);
        let msgs = decode_all(Framing::V1, &bytes, true);
        assert_eq!(msgs.len(), 2);
        assert!(msgs[0].more());
        assert_eq!(msgs[1].len(), 300);
    }

    #[test]
    fn command_flag_survives() {
        let mut q = OutQueue::default();
        let mut m = Message::from_slice(b"\x04PING\x00\x00");
        m.set_flags(flags::COMMAND);
        q.push_frame(Framing::V3_1, m);
        let bytes = q.take_all();
        assert_eq!(bytes[0], wire::COMMAND);
        let msgs = decode_all(Framing::V2, &bytes, false);
        assert!(msgs[0].flags() & flags::COMMAND != 0);
    }

    #[test]
    fn maxmsgsize_checked_before_allocation() {
        let mut d = Decoder::new(Framing::V2, 100);
        let mut inbuf = InBuf::new(64);
        let mut hdr = vec![wire::LARGE];
        hdr.extend_from_slice(&u64::MAX.to_be_bytes());
        inbuf.push(&hdr);
        assert_eq!(d.decode(&mut inbuf).err(), Some(DecodeError::TooLarge));
        // Without a limit, an absurd size is still refused.
        let mut d = Decoder::new(Framing::V2, -1);
        let mut inbuf = InBuf::new(64);
        inbuf.push(&hdr);
        assert_eq!(d.decode(&mut inbuf).err(), Some(DecodeError::TooLarge));
        // A large but plausible size allocates only as bytes arrive.
        let mut d = Decoder::new(Framing::V2, -1);
        let mut inbuf = InBuf::new(64);
        let mut hdr = vec![wire::LARGE];
        hdr.extend_from_slice(&(1u64 << 40).to_be_bytes());
        inbuf.push(&hdr);
        assert_eq!(d.decode(&mut inbuf), Ok(None));
        assert!(d.read_buf(&mut inbuf).len() <= PREALLOC_LIMIT);
    }

    #[test]
    fn a_large_body_lands_whole_in_a_recycled_buffer() {
        // A size no other test uses: the pool is process-wide, and a busy
        // pool is skipped, hence the retries.
        let size = 200_003;
        for _ in 0..100 {
            crate::msg::clear_recycled();
            drop(Message::from_vec(vec![5u8; size]));
            let mut d = Decoder::new(Framing::V2, -1);
            let mut inbuf = InBuf::new(64);
            let mut bytes = vec![wire::LARGE];
            bytes.extend_from_slice(&(size as u64).to_be_bytes());
            bytes.extend_from_slice(&[1, 2, 3]);
            inbuf.push(&bytes);
            assert_eq!(d.decode(&mut inbuf), Ok(None));
            if d.read_buf(&mut inbuf).len() != size - 3 {
                continue;
            }
            let rest = vec![8u8; size - 3];
            let mut input = &rest[..];
            while !input.is_empty() {
                d.feed(&mut inbuf, &mut input);
            }
            let m = d.decode(&mut inbuf).unwrap().unwrap();
            assert_eq!(&m.as_slice()[..4], &[1, 2, 3, 8]);
            assert!(m.as_slice()[3..].iter().all(|&b| b == 8));
            assert_eq!(m.len(), size);
            return;
        }
        panic!("the body never went into a recycled buffer");
    }

    #[test]
    fn v1_zero_length_is_malformed() {
        let mut d = Decoder::new(Framing::V1, -1);
        let mut inbuf = InBuf::new(64);
        inbuf.push(&[0]);
        assert_eq!(d.decode(&mut inbuf).err(), Some(DecodeError::Malformed));
    }

    #[test]
    fn partial_writes_resume() {
        let mut q = OutQueue::default();
        q.push_frame(Framing::V2, frame(false, &[9u8; 5000]));
        q.push_frame(Framing::V2, frame(false, b"tail"));
        let total = q.len();
        let mut got = Vec::new();
        while !q.is_empty() {
            let mut slices = [IoSlice::new(&[]); 8];
            let n = q.slices(&mut slices);
            let first = &slices[0];
            let take = first.len().min(777);
            got.extend_from_slice(&first[..take]);
            let _ = n;
            q.advance(take);
        }
        assert_eq!(got.len(), total);
        let msgs = decode_all(Framing::V2, &got, false);
        assert_eq!(msgs.len(), 2);
        assert_eq!(&msgs[1][..], b"tail");
    }
}
