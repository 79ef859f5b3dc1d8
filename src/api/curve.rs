//! CURVE key pairs and the Z85 text encoding of keys (RFC 32), with the
//! `zmq` crate's types.

use std::ffi::NulError;
use std::fmt;
use std::string::FromUtf8Error;

use crate::error::{Error, Result};
use crate::options::HAVE_CURVE;

/// A CURVE key pair: 32-byte public and secret keys, in binary form (use
/// [`z85_encode`] for the 40-character text form libzmq's C API uses).
///
/// ```
/// let server = zmqrs::CurveKeyPair::new().unwrap();
/// let again = zmqrs::CurveKeyPair::from_secret_key(server.secret_key).unwrap();
/// assert_eq!(again.public_key, server.public_key);
/// assert_eq!(zmqrs::z85_encode(&server.public_key).unwrap().len(), 40);
/// ```
#[derive(Debug)]
pub struct CurveKeyPair {
    /// The public key, for peers to know.
    pub public_key: [u8; 32],
    /// The secret key, for this side only.
    pub secret_key: [u8; 32],
}

impl CurveKeyPair {
    /// A new random key pair (`zmq_curve_keypair`); ENOTSUP in a build
    /// without CURVE.
    pub fn new() -> Result<CurveKeyPair> {
        if !HAVE_CURVE {
            return Err(Error::ENOTSUP);
        }
        let mut secret_key = [0u8; 32];
        getrandom::getrandom(&mut secret_key).map_err(|e| {
            Error::try_from_raw(e.raw_os_error().unwrap_or(libc::EAGAIN)).unwrap_or(Error::EAGAIN)
        })?;
        CurveKeyPair::from_secret_key(secret_key)
    }

    /// The key pair of a known secret key, its public key derived as
    /// `zmq_curve_public` does; ENOTSUP in a build without CURVE.
    pub fn from_secret_key(secret_key: [u8; 32]) -> Result<CurveKeyPair> {
        if !HAVE_CURVE {
            return Err(Error::ENOTSUP);
        }
        Ok(CurveKeyPair {
            public_key: crate::security::curve::public_key(&secret_key),
            secret_key,
        })
    }
}

/// Why [`z85_encode`] failed.
#[derive(Debug)]
pub enum EncodeError {
    /// The input's length is not a multiple of 4.
    BadLength,
    /// The output was not UTF-8 (kept for the `zmq` crate's vocabulary; Z85
    /// is ASCII, so this never happens here).
    FromUtf8Error(FromUtf8Error),
}

impl From<FromUtf8Error> for EncodeError {
    fn from(err: FromUtf8Error) -> Self {
        EncodeError::FromUtf8Error(err)
    }
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::BadLength => f.write_str("Z85 input length is not a multiple of 4"),
            EncodeError::FromUtf8Error(e) => write!(f, "Z85 output is not UTF-8: {e}"),
        }
    }
}

impl std::error::Error for EncodeError {}

/// Encodes bytes as Z85 text (`zmq_z85_encode`): five characters for every
/// four bytes, so the length must be a multiple of 4.
///
/// ```
/// let text = zmqrs::z85_encode(&[0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]).unwrap();
/// assert_eq!(text, "HelloWorld");
/// assert!(zmqrs::z85_encode(b"abc").is_err());
/// ```
pub fn z85_encode(data: &[u8]) -> std::result::Result<String, EncodeError> {
    crate::util::z85::encode(data).ok_or(EncodeError::BadLength)
}

/// Why [`z85_decode`] failed.
#[derive(Debug)]
pub enum DecodeError {
    /// The input's length is not a multiple of 5.
    BadLength,
    /// The input holds a NUL character.
    NulError(NulError),
}

impl From<NulError> for DecodeError {
    fn from(err: NulError) -> Self {
        DecodeError::NulError(err)
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::BadLength => f.write_str("Z85 input length is not a multiple of 5"),
            DecodeError::NulError(e) => write!(f, "Z85 input holds a NUL byte: {e}"),
        }
    }
}

impl std::error::Error for DecodeError {}

/// Decodes Z85 text (`zmq_z85_decode`): four bytes for every five
/// characters, so the length must be a multiple of 5.
///
/// As with the `zmq` crate on libzmq, a character outside the Z85 alphabet
/// (or a group worth more than 32 bits) is not an error: decoding stops
/// there and the rest of the output stays zero. Use
/// [`util::z85::decode`](crate::util::z85::decode) for a strict decoder.
///
/// ```
/// assert_eq!(zmqrs::z85_decode("HelloWorld").unwrap(), [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B]);
/// assert!(zmqrs::z85_decode("Hello!").is_err());
/// ```
pub fn z85_decode(data: &str) -> std::result::Result<Vec<u8>, DecodeError> {
    if data.len() % 5 != 0 {
        return Err(DecodeError::BadLength);
    }
    if data.contains('\0') {
        std::ffi::CString::new(data)?;
    }
    let mut out = vec![0u8; data.len() / 5 * 4];
    for (group, chunk) in out.chunks_exact_mut(4).zip(data.as_bytes().chunks_exact(5)) {
        match crate::util::z85::decode(chunk) {
            Some(bytes) => group.copy_from_slice(&bytes),
            None => break,
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn z85_like_the_zmq_crate() {
        assert!(matches!(z85_decode("abcd"), Err(DecodeError::BadLength)));
        assert!(matches!(
            z85_decode("abc\0e"),
            Err(DecodeError::NulError(_))
        ));
        assert_eq!(z85_decode("").unwrap(), Vec::<u8>::new());
        // A bad character in the second group: the first group decodes.
        assert_eq!(
            z85_decode("Hello\"orld").unwrap(),
            [0x86, 0x4F, 0xD2, 0x6F, 0, 0, 0, 0]
        );
        assert_eq!(z85_encode(&[]).unwrap(), "");
        assert!(matches!(z85_encode(&[1]), Err(EncodeError::BadLength)));
        let e = z85_decode("abc").unwrap_err();
        assert_eq!(e.to_string(), "Z85 input length is not a multiple of 5");
    }

    #[test]
    fn key_pairs() {
        let a = CurveKeyPair::new().unwrap();
        let b = CurveKeyPair::new().unwrap();
        assert_ne!(a.secret_key, b.secret_key);
        let text = z85_encode(&a.public_key).unwrap();
        assert_eq!(z85_decode(&text).unwrap(), a.public_key);
        let c = CurveKeyPair::from_secret_key(a.secret_key).unwrap();
        assert_eq!(c.public_key, a.public_key);
    }
}
