//! Z85 encoding (ZeroMQ RFC 32): four bytes to five printable characters.
//! Used for CURVE keys and exposed as `zmq_z85_encode` / `zmq_z85_decode`.

const ENCODER: &[u8; 85] =
    b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

/// Decoding table indexed by `byte - 32`; 0xFF marks bytes outside the alphabet.
const DECODER: [u8; 96] = {
    let mut t = [0xFFu8; 96];
    let mut i = 0;
    while i < 85 {
        t[(ENCODER[i] - 32) as usize] = i as u8;
        i += 1;
    }
    t
};

/// Encodes `data`, whose length must be a multiple of 4; `None` otherwise.
pub fn encode(data: &[u8]) -> Option<String> {
    if data.len() % 4 != 0 {
        return None;
    }
    let mut out = String::with_capacity(data.len() / 4 * 5);
    for chunk in data.chunks_exact(4) {
        let mut value = u32::from_be_bytes([chunk[0], chunk[1], chunk[2], chunk[3]]);
        let mut digits = [0u8; 5];
        for d in digits.iter_mut().rev() {
            *d = ENCODER[(value % 85) as usize];
            value /= 85;
        }
        out.extend(digits.iter().map(|&b| b as char));
    }
    Some(out)
}

/// Decodes a Z85 string whose length is a non-zero multiple of 5; `None` for a bad
/// length, a character outside the alphabet, or a group that overflows 32 bits.
pub fn decode(text: &[u8]) -> Option<Vec<u8>> {
    if text.is_empty() || text.len() % 5 != 0 {
        return None;
    }
    let mut out = Vec::with_capacity(text.len() / 5 * 4);
    for chunk in text.chunks_exact(5) {
        let mut value: u64 = 0;
        for &c in chunk {
            let idx = c.checked_sub(32).map(usize::from)?;
            let digit = *DECODER.get(idx)?;
            if digit == 0xFF {
                return None;
            }
            value = value * 85 + u64::from(digit);
        }
        if value > u64::from(u32::MAX) {
            return None;
        }
        out.extend_from_slice(&(value as u32).to_be_bytes());
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_example() {
        let data = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];
        assert_eq!(encode(&data).unwrap(), "HelloWorld");
        assert_eq!(decode(b"HelloWorld").unwrap(), data);
    }

    #[test]
    fn rejects_bad_input() {
        assert!(encode(&[1, 2, 3]).is_none());
        assert!(decode(b"Hell").is_none());
        assert!(decode(b"Hell\"").is_none());
        assert!(decode(b"%%%%%").is_none()); // overflows 32 bits
        assert!(decode(&[0x7F, b'0', b'0', b'0', b'0']).is_none());
    }

    #[test]
    fn round_trip() {
        let data: Vec<u8> = (0..=255u8).collect();
        assert_eq!(decode(encode(&data).unwrap().as_bytes()).unwrap(), data);
    }
}
