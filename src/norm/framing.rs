//! libzmq's framing of messages in a NORM stream (src/norm_engine.cpp of
//! libzmq 4.3.5).
//!
//! Each frame of a message goes into the stream as one *sync byte* and
//! then a ZMTP/2.0 frame (flags byte with MORE = 1 and LARGE = 2, a 1-byte
//! or 8-byte big-endian size, the body). The sync byte is 0x00 before the
//! first frame of a message and 0xFF before the others. The sender marks a
//! NORM message boundary (end of message) after frames, so that a receiver
//! that joins late, or loses a stretch of the stream it cannot get
//! repaired, seeks to the next NORM message start and reads sync bytes
//! until one is 0x00: there a ZeroMQ message starts.
//!
//! [`Encoder`] writes that format. [`Decoder`] reads it and is stricter
//! than libzmq's receiver, which skips the sync byte without looking: a
//! sync byte that contradicts the previous frame's MORE flag means the
//! stream is not what it claims, and the decoder drops the message in
//! progress and waits for the next sync point instead of gluing parts of
//! two messages together.

use std::collections::VecDeque;

use crate::msg::{flags, Message};
use crate::zmtp::codec::{Decoder as FrameDecoder, Framing, InBuf};

/// The sync byte before the first frame of a message.
pub const SYNC_FIRST: u8 = 0x00;
/// The sync byte before any later frame of a message.
pub const SYNC_MORE: u8 = 0xFF;

/// ZMTP/2.0 frame flags.
const MORE: u8 = 1;
const LARGE: u8 = 2;

/// Encodes frames into the stream bytes a libzmq NORM receiver expects.
#[derive(Debug, Default)]
pub struct Encoder {
    /// The previous frame had MORE set: the next one continues its message.
    in_message: bool,
}

impl Encoder {
    /// An encoder at a message boundary.
    pub fn new() -> Encoder {
        Encoder::default()
    }

    /// Whether the last frame encoded had MORE set.
    pub fn in_message(&self) -> bool {
        self.in_message
    }

    /// Appends the sync byte and the ZMTP/2.0 header of `msg` to `out`.
    /// The body follows in the stream as it is (callers write it from the
    /// message, without copying it here).
    pub fn header(&mut self, msg: &Message, out: &mut Vec<u8>) {
        out.push(if self.in_message {
            SYNC_MORE
        } else {
            SYNC_FIRST
        });
        let more = msg.more();
        let flag = if more { MORE } else { 0 };
        let len = msg.len();
        if len > 255 {
            out.push(flag | LARGE);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        } else {
            out.push(flag);
            out.push(len as u8);
        }
        self.in_message = more;
    }

    /// Appends the whole frame: sync byte, header and body.
    pub fn encode(&mut self, msg: &Message, out: &mut Vec<u8>) {
        self.header(msg, out);
        out.extend_from_slice(msg.as_slice());
    }
}

/// What the decoder makes of the stream.
#[derive(Debug)]
pub enum Event {
    /// The next frame (its MORE flag says whether more follow).
    Frame(Message),
    /// The message whose frames were delivered so far will not complete:
    /// drop them.
    Abort,
}

/// Why the decoder lost sync. Either way it has reset itself; the stream
/// must be re-synced ([`Decoder::sync`]) before more data goes in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// A frame that breaks the ZMTP/2.0 rules (a command flag, reserved
    /// bits), or one larger than ZMQ_MAXMSGSIZE.
    BadFrame,
    /// A sync byte that is neither 0x00 nor 0xFF, or that contradicts the
    /// previous frame's MORE flag.
    BadSync,
}

/// Decodes one sender's stream into frames.
pub struct Decoder {
    max_msg_size: i64,
    frames: FrameDecoder,
    inbuf: InBuf,
    synced: bool,
    /// The next byte is a sync byte (not a frame header).
    want_sync: bool,
    /// Frames of an unfinished message have been delivered.
    in_message: bool,
}

impl Decoder {
    /// A decoder that has not found a message start yet; `max_msg_size` < 0
    /// means no limit.
    pub fn new(max_msg_size: i64) -> Decoder {
        Decoder {
            max_msg_size,
            frames: FrameDecoder::new(Framing::V2, max_msg_size),
            inbuf: InBuf::new(8192),
            synced: false,
            want_sync: false,
            in_message: false,
        }
    }

    /// Whether the decoder is at a known place in the stream.
    pub fn in_sync(&self) -> bool {
        self.synced
    }

    /// Whether frames of an unfinished message have been delivered.
    pub fn in_message(&self) -> bool {
        self.in_message
    }

    /// Forgets the stream (after data loss or an error): the next data
    /// goes in only after [`Decoder::sync`]. Returns [`Event::Abort`] when
    /// a message was in progress.
    pub fn reset(&mut self) -> Option<Event> {
        self.frames = FrameDecoder::new(Framing::V2, self.max_msg_size);
        self.inbuf = InBuf::new(8192);
        self.synced = false;
        self.want_sync = false;
        let abort = std::mem::take(&mut self.in_message);
        abort.then_some(Event::Abort)
    }

    /// Offers the first byte after a NORM message start while out of sync;
    /// true when it starts a message (the decoder is then in sync, and the
    /// frame's header comes next).
    pub fn sync(&mut self, byte: u8) -> bool {
        if self.synced {
            return true;
        }
        if byte == SYNC_FIRST {
            self.synced = true;
            self.want_sync = false;
        }
        self.synced
    }

    /// Decodes stream bytes (in sync only), appending events to `out`. On
    /// an error the decoder has reset itself (an [`Event::Abort`] is
    /// appended when a message was in progress) and the rest of `data` is
    /// dropped.
    pub fn push(&mut self, mut data: &[u8], out: &mut VecDeque<Event>) -> Result<(), DecodeError> {
        if !self.synced {
            return Ok(());
        }
        loop {
            // Take whole frames and the sync bytes between them.
            loop {
                if self.want_sync && !self.frames.in_body() {
                    let Some(&b) = self.inbuf.data().first() else {
                        break;
                    };
                    let ok = match b {
                        SYNC_FIRST => !self.in_message,
                        SYNC_MORE => self.in_message,
                        _ => false,
                    };
                    if !ok {
                        out.extend(self.reset());
                        return Err(DecodeError::BadSync);
                    }
                    self.inbuf.consume(1);
                    self.want_sync = false;
                }
                match self.frames.decode(&mut self.inbuf) {
                    Ok(Some(m)) => {
                        if m.flags() & flags::COMMAND != 0 {
                            out.extend(self.reset());
                            return Err(DecodeError::BadFrame);
                        }
                        self.in_message = m.more();
                        self.want_sync = true;
                        out.push_back(Event::Frame(m));
                    }
                    Ok(None) => break,
                    Err(_) => {
                        out.extend(self.reset());
                        return Err(DecodeError::BadFrame);
                    }
                }
            }
            if data.is_empty() {
                return Ok(());
            }
            if self.frames.feed(&mut self.inbuf, &mut data) == 0 {
                // Cannot happen: the 8 KiB buffer always holds a header.
                out.extend(self.reset());
                return Err(DecodeError::BadFrame);
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

    fn frames(out: &VecDeque<Event>) -> Vec<(bool, Vec<u8>)> {
        out.iter()
            .map(|e| match e {
                Event::Frame(m) => (m.more(), m.as_slice().to_vec()),
                Event::Abort => (false, b"ABORT".to_vec()),
            })
            .collect()
    }

    /// What libzmq's norm_engine_t writes for a one-frame message "hi" and
    /// then a two-frame message of 300 and 0 bytes (read from its source:
    /// sync byte, then v2_encoder_t's frame).
    #[test]
    fn encodes_like_libzmq() {
        let mut e = Encoder::new();
        let mut out = Vec::new();
        e.encode(&frame(false, b"hi"), &mut out);
        assert_eq!(out, [0x00, 0x00, 2, b'h', b'i']);
        out.clear();
        e.encode(&frame(true, &[7u8; 300]), &mut out);
        assert_eq!(&out[..10], &[0x00, 0x03, 0, 0, 0, 0, 0, 0, 0x01, 0x2c]);
        assert_eq!(out.len(), 10 + 300);
        assert!(e.in_message());
        out.clear();
        e.encode(&frame(false, b""), &mut out);
        assert_eq!(out, [0xFF, 0x00, 0]);
        assert!(!e.in_message());
    }

    fn stream(msgs: &[Vec<(bool, Vec<u8>)>]) -> Vec<u8> {
        let mut e = Encoder::new();
        let mut out = Vec::new();
        for m in msgs {
            for (more, body) in m {
                e.encode(&frame(*more, body), &mut out);
            }
        }
        out
    }

    fn sample() -> Vec<Vec<(bool, Vec<u8>)>> {
        vec![
            vec![(false, b"one".to_vec())],
            vec![(true, vec![1u8; 70_000]), (false, b"tail".to_vec())],
            vec![
                (true, b"".to_vec()),
                (true, b"x".to_vec()),
                (false, vec![9u8; 256]),
            ],
        ]
    }

    #[test]
    fn round_trip_whole_and_byte_by_byte() {
        let msgs = sample();
        let bytes = stream(&msgs);
        let want: Vec<(bool, Vec<u8>)> = msgs.concat();
        for chunk in [bytes.len(), 1, 7, 1400] {
            let mut d = Decoder::new(-1);
            let mut out = VecDeque::new();
            // A receiver seeks a message start, reads the sync byte, then
            // the rest.
            assert!(d.sync(bytes[0]));
            for c in bytes[1..].chunks(chunk) {
                d.push(c, &mut out).unwrap();
            }
            assert_eq!(frames(&out), want, "chunk {chunk}");
            assert!(!d.in_message());
        }
    }

    #[test]
    fn joins_only_at_a_first_frame() {
        let mut d = Decoder::new(-1);
        let mut out = VecDeque::new();
        // Data before any sync is ignored.
        d.push(b"\x00\x00\x01a", &mut out).unwrap();
        assert!(out.is_empty());
        assert!(!d.sync(SYNC_MORE));
        assert!(!d.in_sync());
        assert!(d.sync(SYNC_FIRST));
        d.push(b"\x00\x01a", &mut out).unwrap();
        assert_eq!(frames(&out), vec![(false, b"a".to_vec())]);
    }

    #[test]
    fn contradicting_sync_byte_aborts_the_message() {
        let mut d = Decoder::new(-1);
        let mut out = VecDeque::new();
        assert!(d.sync(SYNC_FIRST));
        // A frame with MORE, then a sync byte saying a new message starts.
        let err = d.push(b"\x01\x01a\x00\x00\x01b", &mut out).unwrap_err();
        assert_eq!(err, DecodeError::BadSync);
        assert_eq!(
            frames(&out),
            vec![(true, b"a".to_vec()), (false, b"ABORT".to_vec())]
        );
        assert!(!d.in_sync());
        // A continuation sync byte after a last frame is as wrong.
        let mut d = Decoder::new(-1);
        out.clear();
        assert!(d.sync(SYNC_FIRST));
        assert_eq!(
            d.push(b"\x00\x01a\xFF\x00\x01b", &mut out),
            Err(DecodeError::BadSync)
        );
        assert_eq!(frames(&out), vec![(false, b"a".to_vec())]);
        // Any other value too.
        let mut d = Decoder::new(-1);
        out.clear();
        assert!(d.sync(SYNC_FIRST));
        assert_eq!(
            d.push(b"\x00\x01a\x07", &mut out),
            Err(DecodeError::BadSync)
        );
    }

    #[test]
    fn refuses_oversized_and_command_frames() {
        let mut d = Decoder::new(10);
        let mut out = VecDeque::new();
        assert!(d.sync(SYNC_FIRST));
        assert_eq!(
            d.push(b"\x00\x0bxxxxxxxxxxx", &mut out),
            Err(DecodeError::BadFrame)
        );
        let mut d = Decoder::new(-1);
        assert!(d.sync(SYNC_FIRST));
        assert_eq!(d.push(b"\x04\x01a", &mut out), Err(DecodeError::BadFrame));
        // A length of 2^63 announces memory nobody has.
        let mut d = Decoder::new(-1);
        assert!(d.sync(SYNC_FIRST));
        assert_eq!(
            d.push(b"\x02\x80\0\0\0\0\0\0\0", &mut out),
            Err(DecodeError::BadFrame)
        );
    }

    #[test]
    fn reset_mid_message_aborts_once() {
        let mut d = Decoder::new(-1);
        let mut out = VecDeque::new();
        assert!(d.sync(SYNC_FIRST));
        d.push(b"\x01\x01a", &mut out).unwrap();
        assert!(d.in_message());
        assert!(matches!(d.reset(), Some(Event::Abort)));
        assert!(d.reset().is_none());
    }
}
