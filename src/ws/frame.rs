//! ZWS 2.0 framing over WebSocket frames (RFC 6455 section 5), as libzmq
//! 4.3.5's ws_encoder/ws_decoder put them on the wire. No I/O, no clock.
//!
//! * Every ZMTP frame is one final binary WebSocket frame whose payload
//!   starts with a flags byte: 0x01 MORE, 0x02 COMMAND (RFC 45). Mechanism
//!   handshake commands (READY, HELLO, ...) and CURVE's MESSAGE boxes go the
//!   same way.
//! * A subscription is a data frame (flags 0x00) whose body starts with
//!   0x01, a cancellation with 0x00 (RFC 45 "Publish-Subscribe"); never a
//!   SUBSCRIBE command.
//! * Heartbeats are WebSocket PING/PONG control frames, not ZMTP PING
//!   commands; a CLOSE frame is echoed and ends the connection.
//! * Fragmented messages (FIN clear, continuation frames) and text frames
//!   are refused, as libzmq does; so are a binary frame with no flags byte,
//!   and a frame whose mask bit is wrong for its direction (a client masks
//!   every frame, a server none).
//! * Stricter than libzmq, as RFC 6455 requires: reserved bits must be
//!   clear, and control frames carry at most 125 bytes.
//!
//! Input: as [`crate::zmtp::codec::Decoder`], the engine keeps received
//! bytes in an [`InBuf`]; a body too big for it is received straight into
//! the message's memory (`read_buf`), and its size is checked against
//! ZMQ_MAXMSGSIZE before anything is allocated. Output goes to an
//! [`OutQueue`]: unmasked large bodies by reference (zero copy), masked
//! ones as one masked copy (the sender's message, possibly shared, is never
//! touched).

use crate::msg::{flags, Message};
use crate::zmtp::codec::{subscription_kind, InBuf, OutQueue, ZERO_COPY_THRESHOLD};

/// WebSocket opcodes (RFC 6455 section 5.2).
pub mod opcode {
    /// Continuation of a fragmented message (refused).
    pub const CONTINUATION: u8 = 0x0;
    /// Text (refused).
    pub const TEXT: u8 = 0x1;
    /// Binary: one ZMTP frame.
    pub const BINARY: u8 = 0x2;
    /// Close.
    pub const CLOSE: u8 = 0x8;
    /// Ping.
    pub const PING: u8 = 0x9;
    /// Pong.
    pub const PONG: u8 = 0xA;
}

/// The flags byte of a binary frame: more frames follow.
pub const MORE_FLAG: u8 = 0x01;
/// The flags byte of a binary frame: a command.
pub const COMMAND_FLAG: u8 = 0x02;
/// The most a control frame may carry (RFC 6455 section 5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;
/// The longest frame header: 2 bytes, a 64-bit length, a mask and the
/// flags byte.
pub const MAX_HEADER_SIZE: usize = 2 + 8 + 4 + 1;

const FIN: u8 = 0x80;
const RSV: u8 = 0x70;
const MASK_BIT: u8 = 0x80;

/// Bodies up to this size are allocated whole when their header arrives;
/// larger ones grow as their bytes arrive (see the ZMTP codec).
const PREALLOC_LIMIT: usize = 1 << 16;

/// One decoded WebSocket frame.
#[derive(Debug, PartialEq)]
pub enum Frame {
    /// A ZMTP frame, with MORE/COMMAND from its flags byte.
    Message(Message),
    /// PING with its application data.
    Ping(Vec<u8>),
    /// PONG with its application data.
    Pong(Vec<u8>),
    /// CLOSE with its payload (status code and reason, if any).
    Close(Vec<u8>),
}

/// A framing violation: the connection is closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// FIN clear: libzmq supports no fragmentation.
    Fragmented,
    /// A reserved bit is set (no extension was negotiated).
    Reserved,
    /// Text, continuation or a reserved opcode.
    BadOpcode,
    /// Masked when it must not be, or the reverse.
    Masking,
    /// A binary frame without its flags byte.
    EmptyBinary,
    /// A control frame over 125 bytes.
    ControlTooLong,
    /// A message over ZMQ_MAXMSGSIZE (or over what memory can hold).
    TooLarge,
}

/// Applies (or removes) a WebSocket mask; `offset` is the position of
/// `data[0]` in the payload.
pub fn apply_mask(data: &mut [u8], mask: [u8; 4], offset: usize) {
    let m: [u8; 4] = std::array::from_fn(|i| mask[(offset + i) % 4]);
    let word = u32::from_ne_bytes(m);
    let wide = u64::from(word) | (u64::from(word) << 32);
    let wide = wide.to_ne_bytes();
    let wide = u64::from_ne_bytes(wide);
    let mut chunks = data.chunks_exact_mut(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        c.copy_from_slice(&(u64::from_ne_bytes(w) ^ wide).to_ne_bytes());
    }
    for (i, b) in chunks.into_remainder().iter_mut().enumerate() {
        *b ^= m[i % 4];
    }
}

fn too_large(size: u64, max: i64) -> bool {
    (max >= 0 && size > max as u64) || size > (isize::MAX as u64) / 2
}

struct Body {
    opcode: u8,
    data: Vec<u8>,
    filled: usize,
    total: usize,
    flags: u8,
    mask: Option<[u8; 4]>,
    /// Payload position of `data[0]` (1 when the flags byte came first).
    mask_offset: usize,
}

enum State {
    Header,
    Body(Body),
}

/// Turns bytes into WebSocket frames.
pub struct FrameDecoder {
    must_mask: bool,
    max_msg_size: i64,
    state: State,
}

impl FrameDecoder {
    /// A decoder. A server (`must_mask`) requires masked frames, a client
    /// unmasked ones. `max_msg_size` < 0 means no limit.
    pub fn new(must_mask: bool, max_msg_size: i64) -> FrameDecoder {
        FrameDecoder {
            must_mask,
            max_msg_size,
            state: State::Header,
        }
    }

    /// Where the next read should go: the large body in progress, if any,
    /// else the input buffer's free space.
    pub fn read_buf<'a>(&'a mut self, inbuf: &'a mut InBuf) -> &'a mut [u8] {
        match &mut self.state {
            State::Body(b) => {
                if b.filled == b.data.len() && b.data.len() < b.total {
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

    /// Decodes the next complete frame, if its bytes are there.
    pub fn decode(&mut self, inbuf: &mut InBuf) -> Result<Option<Frame>, FrameError> {
        if let State::Body(b) = &self.state {
            if b.filled < b.total {
                return Ok(None);
            }
            let State::Body(mut b) = std::mem::replace(&mut self.state, State::Header) else {
                return Ok(None);
            };
            b.data.truncate(b.total);
            if let Some(mask) = b.mask {
                apply_mask(&mut b.data, mask, b.mask_offset);
            }
            return Ok(Some(finish(b.opcode, b.flags, b.data)));
        }
        let avail = inbuf.data();
        let Some(head) = parse_header(avail, self.must_mask, self.max_msg_size)? else {
            return Ok(None);
        };
        let size = head.size;
        if avail.len() - head.len >= size {
            let body = &avail[head.len..head.len + size];
            let frame = if head.opcode == opcode::BINARY {
                let mut m = Message::from_slice(body);
                if let Some(mask) = head.mask {
                    apply_mask(m.as_mut_slice(), mask, 1);
                }
                m.set_flags(head.flags);
                Frame::Message(m)
            } else {
                let mut v = body.to_vec();
                if let Some(mask) = head.mask {
                    apply_mask(&mut v, mask, 0);
                }
                finish(head.opcode, 0, v)
            };
            inbuf.consume(head.len + size);
            return Ok(Some(frame));
        }
        // The body goes on beyond what we have: receive it in place.
        let have = avail.len() - head.len;
        // A recycled buffer of the whole size costs no new memory; fresh
        // memory grows only as the bytes arrive (as in zmtp::codec).
        let mut data = crate::msg::take_recycled(size)
            .unwrap_or_else(|| vec![0u8; size.min(PREALLOC_LIMIT.max(have))]);
        data[..have].copy_from_slice(&avail[head.len..]);
        inbuf.consume(head.len + have);
        self.state = State::Body(Body {
            opcode: head.opcode,
            data,
            filled: have,
            total: size,
            flags: head.flags,
            mask: head.mask,
            mask_offset: usize::from(head.opcode == opcode::BINARY),
        });
        Ok(None)
    }
}

fn finish(op: u8, fl: u8, data: Vec<u8>) -> Frame {
    match op {
        opcode::PING => Frame::Ping(data),
        opcode::PONG => Frame::Pong(data),
        opcode::CLOSE => Frame::Close(data),
        _ => {
            let mut m = Message::from_vec(data);
            m.set_flags(fl);
            Frame::Message(m)
        }
    }
}

struct Header {
    opcode: u8,
    /// Header bytes, the flags byte of a binary frame included.
    len: usize,
    /// Body bytes (the flags byte excluded).
    size: usize,
    mask: Option<[u8; 4]>,
    /// MORE/COMMAND as message flags.
    flags: u8,
}

/// Parses a frame header once all its bytes are there; refuses as early as
/// the offending byte arrives.
fn parse_header(avail: &[u8], must_mask: bool, max: i64) -> Result<Option<Header>, FrameError> {
    let (Some(&b0), Some(&b1)) = (avail.first(), avail.get(1)) else {
        if let Some(&b0) = avail.first() {
            check_first_byte(b0)?;
        }
        return Ok(None);
    };
    let op = check_first_byte(b0)?;
    let masked = b1 & MASK_BIT != 0;
    if masked != must_mask {
        return Err(FrameError::Masking);
    }
    let (ext, payload) = match b1 & 0x7F {
        126 => {
            let Some(b) = avail.get(2..4) else {
                return Ok(None);
            };
            (2, u64::from(u16::from_be_bytes([b[0], b[1]])))
        }
        127 => {
            let Some(b) = avail.get(2..10) else {
                return Ok(None);
            };
            let mut a = [0u8; 8];
            a.copy_from_slice(b);
            (8, u64::from_be_bytes(a))
        }
        n => (0, u64::from(n)),
    };
    let binary = op == opcode::BINARY;
    if binary {
        if payload == 0 {
            return Err(FrameError::EmptyBinary);
        }
        if too_large(payload - 1, max) {
            return Err(FrameError::TooLarge);
        }
    } else if payload > MAX_CONTROL_PAYLOAD as u64 {
        return Err(FrameError::ControlTooLong);
    }
    let mask_at = 2 + ext;
    let len = mask_at + if masked { 4 } else { 0 } + usize::from(binary);
    if avail.len() < len {
        return Ok(None);
    }
    let mask = if masked {
        let mut m = [0u8; 4];
        m.copy_from_slice(&avail[mask_at..mask_at + 4]);
        Some(m)
    } else {
        None
    };
    let mut fl = 0;
    if binary {
        let wire = avail[len - 1] ^ mask.map_or(0, |m| m[0]);
        if wire & MORE_FLAG != 0 {
            fl |= flags::MORE;
        }
        if wire & COMMAND_FLAG != 0 {
            fl |= flags::COMMAND;
        }
    }
    Ok(Some(Header {
        opcode: op,
        len,
        // Fits: too_large and the control limit bound it.
        size: (payload - u64::from(binary)) as usize,
        mask,
        flags: fl,
    }))
}

fn check_first_byte(b0: u8) -> Result<u8, FrameError> {
    if b0 & FIN == 0 {
        return Err(FrameError::Fragmented);
    }
    if b0 & RSV != 0 {
        return Err(FrameError::Reserved);
    }
    match b0 & 0x0F {
        op @ (opcode::BINARY | opcode::CLOSE | opcode::PING | opcode::PONG) => Ok(op),
        _ => Err(FrameError::BadOpcode),
    }
}

/// Writes a frame header (everything before the payload).
pub fn frame_header(buf: &mut Vec<u8>, op: u8, payload_len: usize, mask: Option<[u8; 4]>) {
    buf.push(FIN | op);
    let m = if mask.is_some() { MASK_BIT } else { 0 };
    if payload_len <= 125 {
        buf.push(m | payload_len as u8);
    } else if payload_len <= 0xFFFF {
        buf.push(m | 126);
        buf.extend_from_slice(&(payload_len as u16).to_be_bytes());
    } else {
        buf.push(m | 127);
        buf.extend_from_slice(&(payload_len as u64).to_be_bytes());
    }
    if let Some(k) = mask {
        buf.extend_from_slice(&k);
    }
}

/// Masking keys: random bytes drawn from the OS 256 at a time, so a client
/// pays one system call per 64 frames rather than one per frame. libzmq
/// uses its non-cryptographic generate_random; RFC 6455 asks for keys a
/// proxy cannot predict, which these are.
pub struct MaskSource {
    buf: [u8; 256],
    pos: usize,
    /// Used only if the OS has no random bytes to give.
    fallback: u64,
}

impl Default for MaskSource {
    fn default() -> Self {
        MaskSource::new()
    }
}

impl MaskSource {
    /// A source that fills itself on first use.
    pub fn new() -> MaskSource {
        MaskSource {
            buf: [0; 256],
            pos: 256,
            fallback: 0x9E37_79B9_7F4A_7C15,
        }
    }

    /// The next masking key.
    pub fn next_key(&mut self) -> [u8; 4] {
        if self.pos + 4 > self.buf.len() {
            if getrandom::getrandom(&mut self.buf).is_err() {
                // splitmix64: not secret, but never a constant key.
                for chunk in self.buf.chunks_exact_mut(8) {
                    self.fallback = self.fallback.wrapping_add(0x9E37_79B9_7F4A_7C15);
                    let mut z = self.fallback;
                    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
                    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
                    chunk.copy_from_slice(&(z ^ (z >> 31)).to_ne_bytes());
                }
            }
            self.pos = 0;
        }
        let mut k = [0u8; 4];
        k.copy_from_slice(&self.buf[self.pos..self.pos + 4]);
        self.pos += 4;
        k
    }
}

/// Encodes messages and control frames; a client's encoder masks.
pub struct FrameEncoder {
    masks: Option<MaskSource>,
    /// Tests: every frame uses this key.
    fixed: Option<[u8; 4]>,
}

impl FrameEncoder {
    /// An encoder for a client (`mask`) or a server.
    pub fn new(mask: bool) -> FrameEncoder {
        FrameEncoder {
            masks: mask.then(MaskSource::new),
            fixed: None,
        }
    }

    /// A client encoder with one fixed masking key (tests, fuzzing).
    pub fn with_fixed_mask(key: [u8; 4]) -> FrameEncoder {
        FrameEncoder {
            masks: None,
            fixed: Some(key),
        }
    }

    fn key(&mut self) -> Option<[u8; 4]> {
        match (&mut self.masks, self.fixed) {
            (_, Some(k)) => Some(k),
            (Some(src), None) => Some(src.next_key()),
            (None, None) => None,
        }
    }

    /// One ZMTP frame as one binary WebSocket frame. A subscription or
    /// cancellation gets its 0x01/0x00 body prefix here, as libzmq's
    /// encoder adds it.
    pub fn encode_message(&mut self, out: &mut OutQueue, msg: Message) {
        let fl = msg.flags();
        let sub = subscription_kind(&msg);
        let prefix: &[u8] = match sub {
            Some(true) => &[1],
            Some(false) => &[0],
            None => &[],
        };
        let mut wire = 0u8;
        if fl & flags::MORE != 0 {
            wire |= MORE_FLAG;
        }
        if fl & flags::COMMAND != 0 && sub.is_none() {
            wire |= COMMAND_FLAG;
        }
        let payload_len = 1 + prefix.len() + msg.len();
        let mask = self.key();
        let mut head = Vec::with_capacity(MAX_HEADER_SIZE + 1);
        frame_header(&mut head, opcode::BINARY, payload_len, mask);
        match mask {
            None => {
                head.push(wire);
                head.extend_from_slice(prefix);
                out.push_bytes(&head);
                out.push_raw(msg);
            }
            Some(k) => {
                let start = head.len();
                let mut v = head;
                v.reserve(payload_len);
                v.push(wire);
                v.extend_from_slice(prefix);
                v.extend_from_slice(msg.as_slice());
                apply_mask(&mut v[start..], k, 0);
                if v.len() > ZERO_COPY_THRESHOLD {
                    out.push_raw(Message::from_vec(v));
                } else {
                    out.push_bytes(&v);
                }
            }
        }
    }

    /// A control frame (PING, PONG, CLOSE); the payload is cut to 125 bytes.
    pub fn encode_control(&mut self, out: &mut OutQueue, op: u8, payload: &[u8]) {
        let payload = &payload[..payload.len().min(MAX_CONTROL_PAYLOAD)];
        let mask = self.key();
        let mut v = Vec::with_capacity(MAX_HEADER_SIZE + payload.len());
        frame_header(&mut v, op, payload.len(), mask);
        let start = v.len();
        v.extend_from_slice(payload);
        if let Some(k) = mask {
            apply_mask(&mut v[start..], k, 0);
        }
        out.push_bytes(&v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decodes `bytes`, fed whole or one byte at a time.
    pub(crate) fn decode_all(
        must_mask: bool,
        max: i64,
        bytes: &[u8],
        bytewise: bool,
    ) -> Result<Vec<Frame>, FrameError> {
        let mut d = FrameDecoder::new(must_mask, max);
        let mut inbuf = InBuf::new(256);
        let mut out = Vec::new();
        let mut pos = 0;
        loop {
            while let Some(f) = d.decode(&mut inbuf)? {
                out.push(f);
            }
            if pos == bytes.len() {
                return Ok(out);
            }
            let buf = d.read_buf(&mut inbuf);
            let n = if bytewise {
                1
            } else {
                buf.len().min(bytes.len() - pos)
            };
            buf[..n].copy_from_slice(&bytes[pos..pos + n]);
            d.filled(&mut inbuf, n);
            pos += n;
        }
    }

    fn msg(body: &[u8], fl: u8) -> Message {
        let mut m = Message::from_slice(body);
        m.set_flags(fl);
        m
    }

    #[test]
    fn libzmq_wire_bytes() {
        // Server to client: unmasked, flags byte first.
        let mut q = OutQueue::default();
        let mut e = FrameEncoder::new(false);
        e.encode_message(&mut q, msg(b"abc", flags::MORE));
        e.encode_message(&mut q, msg(b"\x05READY", flags::COMMAND));
        e.encode_message(&mut q, msg(b"A", flags::SUBSCRIBE));
        e.encode_message(&mut q, msg(b"A", flags::CANCEL | flags::COMMAND));
        e.encode_control(&mut q, opcode::PING, b"");
        e.encode_control(&mut q, opcode::PONG, b"");
        assert_eq!(
            q.take_all(),
            [
                &[0x82, 4, 1, b'a', b'b', b'c'][..],
                &[0x82, 7, 2, 5, b'R', b'E', b'A', b'D', b'Y'],
                &[0x82, 3, 0, 1, b'A'],
                &[0x82, 3, 0, 0, b'A'],
                &[0x89, 0],
                &[0x8A, 0],
            ]
            .concat()
        );
        // Client to server: masked from the flags byte on.
        let mut e = FrameEncoder::with_fixed_mask([1, 2, 3, 4]);
        e.encode_message(&mut q, msg(b"abc", 0));
        assert_eq!(
            q.take_all(),
            [0x82, 0x84, 1, 2, 3, 4, 1, b'a' ^ 2, b'b' ^ 3, b'c' ^ 4]
        );
    }

    #[test]
    fn lengths_7_16_64_round_trip() {
        for (mask, must_mask) in [(None, false), (Some([0xA5, 0x5A, 0xFF, 0x01]), true)] {
            let mut q = OutQueue::default();
            let mut e = match mask {
                Some(k) => FrameEncoder::with_fixed_mask(k),
                None => FrameEncoder::new(false),
            };
            let sizes = [0usize, 1, 124, 125, 126, 65_534, 65_535, 65_536, 200_000];
            for (i, &n) in sizes.iter().enumerate() {
                let body: Vec<u8> = (0..n).map(|j| (j * 7 + i) as u8).collect();
                e.encode_message(&mut q, msg(&body, if i % 2 == 0 { flags::MORE } else { 0 }));
            }
            e.encode_control(&mut q, opcode::PING, b"hello");
            let bytes = q.take_all();
            // Header sizes: 7-bit up to 124 bodies (125 payload), then 16-bit.
            assert_eq!(bytes[1] & 0x7F, 1);
            for bytewise in [false, true] {
                let frames = decode_all(must_mask, -1, &bytes, bytewise).unwrap();
                assert_eq!(frames.len(), sizes.len() + 1);
                for (i, (&n, f)) in sizes.iter().zip(&frames).enumerate() {
                    let Frame::Message(m) = f else { panic!() };
                    assert_eq!(m.len(), n);
                    assert!(m.iter().enumerate().all(|(j, &b)| b == (j * 7 + i) as u8));
                    assert_eq!(m.more(), i % 2 == 0);
                }
                assert_eq!(frames[sizes.len()], Frame::Ping(b"hello".to_vec()));
            }
        }
    }

    #[test]
    fn length_encodings_on_the_wire() {
        let mut q = OutQueue::default();
        let mut e = FrameEncoder::new(false);
        e.encode_message(&mut q, msg(&[0; 124], 0));
        let b = q.take_all();
        assert_eq!(&b[..2], &[0x82, 125]);
        e.encode_message(&mut q, msg(&[0; 125], 0));
        let b = q.take_all();
        assert_eq!(&b[..4], &[0x82, 126, 0, 126]);
        e.encode_message(&mut q, msg(&[0; 65_535], 0));
        let b = q.take_all();
        assert_eq!(&b[..10], &[0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0]);
    }

    #[test]
    fn masking_rules() {
        // A server refuses unmasked frames, a client masked ones.
        assert_eq!(
            decode_all(true, -1, &[0x82, 0x01, 0x00], false),
            Err(FrameError::Masking)
        );
        assert_eq!(
            decode_all(false, -1, &[0x82, 0x81, 1, 2, 3, 4, 1], false),
            Err(FrameError::Masking)
        );
        assert_eq!(
            decode_all(true, -1, &[0x89, 0x00], true),
            Err(FrameError::Masking)
        );
    }

    #[test]
    fn refused_frames() {
        let d = |b: &[u8]| decode_all(false, 100, b, true);
        assert_eq!(d(&[0x02, 1, 0]), Err(FrameError::Fragmented));
        assert_eq!(d(&[0x80, 1, 0]), Err(FrameError::BadOpcode));
        assert_eq!(d(&[0x81, 1, b'x']), Err(FrameError::BadOpcode));
        assert_eq!(d(&[0x83, 1, 0]), Err(FrameError::BadOpcode));
        assert_eq!(d(&[0xC2, 1, 0]), Err(FrameError::Reserved));
        assert_eq!(d(&[0x82, 0]), Err(FrameError::EmptyBinary));
        assert_eq!(d(&[0x89, 126, 0, 126]), Err(FrameError::ControlTooLong));
        // MAXMSGSIZE is on the message body, flags byte excluded.
        let mut ok = vec![0x82, 101, 0];
        ok.extend_from_slice(&[7; 100]);
        assert_eq!(d(&ok).unwrap().len(), 1);
        assert_eq!(d(&[0x82, 102]), Err(FrameError::TooLarge));
        // Refused from the length alone, before the body or any allocation.
        let mut huge = vec![0x82, 127];
        huge.extend_from_slice(&u64::MAX.to_be_bytes());
        assert_eq!(
            decode_all(false, -1, &huge, false),
            Err(FrameError::TooLarge)
        );
        // A large plausible size allocates only as bytes arrive.
        let mut dec = FrameDecoder::new(false, -1);
        let mut inbuf = InBuf::new(64);
        let mut big = vec![0x82, 127];
        big.extend_from_slice(&(1u64 << 40).to_be_bytes());
        big.push(0);
        inbuf.push(&big);
        assert_eq!(dec.decode(&mut inbuf), Ok(None));
        assert!(dec.read_buf(&mut inbuf).len() <= PREALLOC_LIMIT);
        // Truncated frames are incomplete, not errors.
        let mut q = OutQueue::default();
        FrameEncoder::with_fixed_mask([9, 8, 7, 6]).encode_message(&mut q, msg(&[3; 300], 0));
        let b = q.take_all();
        for cut in 0..b.len() {
            assert_eq!(decode_all(true, -1, &b[..cut], false), Ok(vec![]));
        }
    }

    #[test]
    fn close_and_pong_payloads() {
        let mut q = OutQueue::default();
        let mut e = FrameEncoder::with_fixed_mask([1, 1, 1, 1]);
        e.encode_control(&mut q, opcode::CLOSE, &[0x03, 0xE8, b'b', b'y', b'e']);
        e.encode_control(&mut q, opcode::PONG, &[0xAA; 200]);
        let frames = decode_all(true, -1, &q.take_all(), true).unwrap();
        assert_eq!(frames[0], Frame::Close(vec![0x03, 0xE8, b'b', b'y', b'e']));
        assert_eq!(frames[1], Frame::Pong(vec![0xAA; 125]));
    }

    #[test]
    fn shared_message_is_not_masked_in_place() {
        let body: Vec<u8> = (0..=255u8).cycle().take(5000).collect();
        let m = Message::from_slice(&body);
        let copy = m.clone();
        let mut q = OutQueue::default();
        FrameEncoder::new(true).encode_message(&mut q, m);
        assert_eq!(copy.as_slice(), &body[..]);
        let frames = decode_all(true, -1, &q.take_all(), false).unwrap();
        assert_eq!(frames, vec![Frame::Message(Message::from_slice(&body))]);
    }

    #[test]
    fn mask_offsets() {
        for off in 0..8 {
            for len in 0..20 {
                let orig: Vec<u8> = (0..len as u8).collect();
                let mut a = orig.clone();
                apply_mask(&mut a, [0x11, 0x22, 0x33, 0x44], off);
                for (i, (&x, &y)) in a.iter().zip(&orig).enumerate() {
                    assert_eq!(x, y ^ [0x11, 0x22, 0x33, 0x44][(off + i) % 4]);
                }
            }
        }
        let mut s = MaskSource::new();
        let keys: Vec<[u8; 4]> = (0..100).map(|_| s.next_key()).collect();
        assert!(keys.windows(2).any(|w| w[0] != w[1]));
    }
}
