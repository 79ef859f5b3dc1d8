//! The CURVE mechanism: ZMTP-CURVE (RFC 25) carrying the CurveZMQ handshake
//! (RFC 26), with ZAP (RFC 27) on the server, byte-compatible with libzmq
//! 4.3.5 built on libsodium (src/curve_client.cpp, curve_server.cpp,
//! curve_mechanism_base.cpp).
//!
//! The client sends HELLO (its short-term key C' and a box proving it knows
//! the server's long-term key S), the server answers WELCOME (its short-term
//! key S' and a cookie only it can open), the client sends INITIATE (the
//! cookie, its long-term key C and a vouch binding C to C', plus its
//! metadata) and the server answers READY with its own metadata, or ERROR
//! after a ZAP refusal. From then on every frame travels inside a MESSAGE
//! command boxed with the C'/S' key, each with a strictly increasing short
//! nonce.
//!
//! A box is NaCl's `crypto_box` laid out as libzmq puts it on the wire: the
//! 16-byte Poly1305 tag, then the XSalsa20 ciphertext (libsodium's "easy"
//! layout, i.e. the classic API with its zero padding stripped).

use crypto_secretbox::aead::generic_array::GenericArray;
use crypto_secretbox::cipher::consts::U10;
use crypto_secretbox::{AeadInPlace, KeyInit, XSalsa20Poly1305};
use curve25519_dalek::montgomery::MontgomeryPoint;
use zeroize::{Zeroize, Zeroizing};

use super::null::{accept_properties, parse_error_command, ready_command};
use super::{zap, Config, Failure, Mechanism, PeerState, Status};
use crate::constants::*;
use crate::msg::{flags, Message};

const HELLO: &[u8] = b"\x05HELLO";
const WELCOME: &[u8] = b"\x07WELCOME";
const INITIATE: &[u8] = b"\x08INITIATE";
const READY: &[u8] = b"\x05READY";
const ERROR: &[u8] = b"\x05ERROR";
const MESSAGE: &[u8] = b"\x07MESSAGE";

/// HELLO: name, version 1.0, 72 bytes of anti-amplification padding, C',
/// short nonce, and the 80-byte box of 64 zeroes.
const HELLO_SIZE: usize = 200;
/// WELCOME: name, 16-byte long nonce, 144-byte box of S' and the cookie.
const WELCOME_SIZE: usize = 168;
/// INITIATE without metadata: name, 96-byte cookie, short nonce, and the
/// box of C, the vouch nonce and the 80-byte vouch.
const INITIATE_MIN: usize = 257;
/// Where INITIATE's box starts.
const INITIATE_BOX: usize = 113;
/// READY without metadata: name, short nonce, empty box.
const READY_MIN: usize = 30;
/// Where READY's box starts.
const READY_BOX: usize = 14;
/// MESSAGE's name and short nonce, before its box.
const MESSAGE_HEADER: usize = 16;
/// The smallest MESSAGE: header, tag, flags byte.
const MESSAGE_MIN: usize = MESSAGE_HEADER + TAG + 1;
/// The Poly1305 tag that starts every box.
const TAG: usize = 16;
/// The frame flags a MESSAGE carries inside its box; libzmq's bits for
/// them are ours (MORE = 1, COMMAND = 2).
const FLAG_MASK: u8 = flags::MORE | flags::COMMAND;

const HELLO_NONCE: &[u8; 16] = b"CurveZMQHELLO---";
const INITIATE_NONCE: &[u8; 16] = b"CurveZMQINITIATE";
const READY_NONCE: &[u8; 16] = b"CurveZMQREADY---";
const CLIENT_MESSAGE_NONCE: &[u8; 16] = b"CurveZMQMESSAGEC";
const SERVER_MESSAGE_NONCE: &[u8; 16] = b"CurveZMQMESSAGES";
const WELCOME_NONCE: &[u8; 8] = b"WELCOME-";
const COOKIE_NONCE: &[u8; 8] = b"COOKIE--";
const VOUCH_NONCE: &[u8; 8] = b"VOUCH---";

/// A Curve25519 key, public or secret.
type Key = [u8; 32];

fn crypto_error() -> Failure {
    Failure::Protocol(ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
}

fn unexpected() -> Failure {
    Failure::Protocol(ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND)
}

/// Fills `buf` from the operating system's generator. libsodium aborts
/// when it cannot; we fail the handshake instead.
#[cfg(not(fuzzing))]
fn fill_random(buf: &mut [u8]) -> Result<(), Failure> {
    getrandom::getrandom(buf).map_err(|_| crypto_error())
}

/// Fuzz builds only (`--cfg fuzzing`, set by cargo-fuzz): fixed "random"
/// bytes, so that a recorded handshake replays byte for byte and the
/// fuzzer can reach past HELLO into WELCOME, INITIATE, READY and MESSAGE.
/// Never part of a normal build: it would make every key predictable.
#[cfg(fuzzing)]
fn fill_random(buf: &mut [u8]) -> Result<(), Failure> {
    for (i, b) in buf.iter_mut().enumerate() {
        *b = 0x5a ^ (i as u8);
    }
    Ok(())
}

fn random<const N: usize>() -> Result<[u8; N], Failure> {
    let mut b = [0u8; N];
    fill_random(&mut b)?;
    Ok(b)
}

/// `crypto_scalarmult_base`: the public key of `secret`.
fn scalarmult_base(secret: &Key) -> Key {
    MontgomeryPoint::mul_base_clamped(*secret).to_bytes()
}

/// `crypto_box_beforenm`: the symmetric key `secret` and `public` share.
/// As libsodium, the secret is clamped but not reduced (so keys off the
/// prime-order subgroup give libsodium's answer), and a small-order public
/// key, whose shared point is zero, is refused.
fn beforenm(public: &Key, secret: &Key) -> Result<XSalsa20Poly1305, Failure> {
    let mut shared = MontgomeryPoint(*public).mul_clamped(*secret);
    let zero = shared.0.iter().fold(0u8, |acc, b| acc | b) == 0;
    let key = Zeroizing::new(salsa20::hsalsa::<U10>(
        GenericArray::from_slice(&shared.0),
        &GenericArray::default(),
    ));
    shared.zeroize();
    if zero {
        return Err(crypto_error());
    }
    Ok(XSalsa20Poly1305::new(&key))
}

/// A 24-byte nonce: a 16-byte prefix and a big-endian 64-bit counter.
fn short_nonce(prefix: &[u8; 16], n: u64) -> [u8; 24] {
    let mut nonce = [0u8; 24];
    nonce[..16].copy_from_slice(prefix);
    nonce[16..].copy_from_slice(&n.to_be_bytes());
    nonce
}

/// A 24-byte nonce: an 8-byte prefix and 16 bytes sent alongside the box.
fn long_nonce(prefix: &[u8; 8], tail: &[u8; 16]) -> [u8; 24] {
    let mut nonce = [0u8; 24];
    nonce[..8].copy_from_slice(prefix);
    nonce[8..].copy_from_slice(tail);
    nonce
}

/// Boxes `buf[TAG..]` in place and writes the tag into `buf[..TAG]`.
fn seal(cipher: &XSalsa20Poly1305, nonce: &[u8; 24], buf: &mut [u8]) -> Result<(), Failure> {
    let (tag, body) = buf.split_at_mut_checked(TAG).ok_or_else(crypto_error)?;
    let t = cipher
        .encrypt_in_place_detached(GenericArray::from_slice(nonce), b"", body)
        .map_err(|_| crypto_error())?;
    tag.copy_from_slice(&t);
    Ok(())
}

/// Opens the box `buf` (tag, then ciphertext) in place: on success
/// `buf[TAG..]` holds the plaintext.
fn open(cipher: &XSalsa20Poly1305, nonce: &[u8; 24], buf: &mut [u8]) -> Result<(), Failure> {
    let (tag, body) = buf.split_at_mut_checked(TAG).ok_or_else(crypto_error)?;
    let tag = GenericArray::clone_from_slice(tag);
    cipher
        .decrypt_in_place_detached(GenericArray::from_slice(nonce), b"", body, &tag)
        .map_err(|_| crypto_error())
}

/// The box of `plain`: tag, then ciphertext.
fn seal_vec(cipher: &XSalsa20Poly1305, nonce: &[u8; 24], plain: &[u8]) -> Result<Vec<u8>, Failure> {
    let mut buf = Vec::with_capacity(TAG + plain.len());
    buf.extend_from_slice(&[0u8; TAG]);
    buf.extend_from_slice(plain);
    seal(cipher, nonce, &mut buf)?;
    Ok(buf)
}

/// The plaintext of the box `boxed`, wiped when dropped (it may hold keys).
fn open_vec(
    cipher: &XSalsa20Poly1305,
    nonce: &[u8; 24],
    boxed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, Failure> {
    let mut buf = Zeroizing::new(boxed.to_vec());
    open(cipher, nonce, &mut buf)?;
    buf.drain(..TAG);
    Ok(buf)
}

/// `N` bytes of `data` from `at`, or `err` when `data` is too short.
fn take<const N: usize>(data: &[u8], at: usize, err: Failure) -> Result<[u8; N], Failure> {
    data.get(at..at.saturating_add(N))
        .and_then(|s| s.try_into().ok())
        .ok_or(err)
}

fn command(body: Vec<u8>) -> Message {
    let mut m = Message::from_vec(body);
    m.set_flags(flags::COMMAND);
    m
}

/// libzmq's check on every command a server processes (and on MESSAGE): a
/// name length byte and at least that many bytes after it, plus one.
fn check_structure(data: &[u8]) -> Result<(), Failure> {
    match data.first() {
        Some(&n) if data.len() > 1 && data.len() > n as usize => Ok(()),
        _ => Err(Failure::Protocol(
            ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED,
        )),
    }
}

/// Generates a key pair as `zmq_curve_keypair` does: `(public, secret)`.
///
/// # Panics
/// If the operating system's random generator fails (libsodium aborts
/// then too).
pub fn keypair() -> ([u8; 32], [u8; 32]) {
    let mut secret = [0u8; 32];
    if let Err(e) = getrandom::getrandom(&mut secret) {
        panic!("no random bytes for a CURVE key: {e}");
    }
    (scalarmult_base(&secret), secret)
}

/// The public key of a secret key, as `zmq_curve_public` derives it.
pub fn public_key(secret: &[u8; 32]) -> [u8; 32] {
    scalarmult_base(secret)
}

/// The framing of traffic once the handshake is over (libzmq's
/// `curve_encoding_t`): MESSAGE commands under the short-term shared key,
/// our nonces counting up from the handshake's, the peer's checked to
/// increase strictly.
struct Codec {
    send_prefix: &'static [u8; 16],
    recv_prefix: &'static [u8; 16],
    /// The short nonce we use next. HELLO, INITIATE and READY draw from the
    /// same counter as MESSAGE, so traffic continues where they stopped.
    nonce: u64,
    /// The last short nonce the peer used (its HELLO, INITIATE or READY
    /// counts too): each MESSAGE's must be greater.
    peer_nonce: u64,
    /// The C'/S' key after `crypto_box_beforenm`, computed once.
    precom: Option<XSalsa20Poly1305>,
    /// The peer speaks ZMTP 3.0: subscriptions travel as messages with a
    /// leading 1/0 byte rather than as SUBSCRIBE/CANCEL commands.
    downgrade_sub: bool,
}

impl Codec {
    fn new(as_server: bool) -> Codec {
        let (send_prefix, recv_prefix) = if as_server {
            (SERVER_MESSAGE_NONCE, CLIENT_MESSAGE_NONCE)
        } else {
            (CLIENT_MESSAGE_NONCE, SERVER_MESSAGE_NONCE)
        };
        Codec {
            send_prefix,
            recv_prefix,
            nonce: 1,
            peer_nonce: 1,
            precom: None,
            downgrade_sub: false,
        }
    }

    fn next_nonce(&mut self) -> u64 {
        let n = self.nonce;
        // libzmq's counter wraps too; 2^64 frames are out of reach.
        self.nonce = n.wrapping_add(1);
        n
    }

    /// One frame into a MESSAGE command. The result carries no flags: MORE
    /// and COMMAND travel inside the box, and libzmq sends the MESSAGE as a
    /// plain final frame.
    fn encode(&mut self, msg: &Message) -> Result<Message, Failure> {
        let f = msg.flags();
        let mut inner = f & FLAG_MASK;
        // Subscriptions are flagged, not prefixed, until they reach the
        // wire; here the box is the wire, so add what the encoder would.
        let prefix: &[u8] = if f & flags::SUBSCRIBE != 0 {
            if self.downgrade_sub {
                b"\x01"
            } else {
                inner |= flags::COMMAND;
                b"\x09SUBSCRIBE"
            }
        } else if f & flags::CANCEL != 0 {
            if self.downgrade_sub {
                b"\x00"
            } else {
                inner |= flags::COMMAND;
                b"\x06CANCEL"
            }
        } else {
            b""
        };
        let n = self.next_nonce();
        let key = self.precom.as_ref().ok_or(Failure::Other)?;
        let body = msg.as_slice();
        let mut out = Vec::with_capacity(MESSAGE_MIN + prefix.len() + body.len());
        out.extend_from_slice(MESSAGE);
        out.extend_from_slice(&n.to_be_bytes());
        out.extend_from_slice(&[0u8; TAG]);
        out.push(inner);
        out.extend_from_slice(prefix);
        out.extend_from_slice(body);
        seal(
            key,
            &short_nonce(self.send_prefix, n),
            &mut out[MESSAGE_HEADER..],
        )?;
        Ok(Message::from_vec(out))
    }

    /// A MESSAGE command back into its frame. As libzmq, the flags from the
    /// box are added to those of the frame that carried it.
    fn decode(&mut self, mut msg: Message) -> Result<Message, Failure> {
        let data = msg.as_slice();
        check_structure(data)?;
        if !data.starts_with(MESSAGE) {
            return Err(unexpected());
        }
        let short = Failure::Protocol(ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE);
        if data.len() < MESSAGE_MIN {
            return Err(short);
        }
        let n = u64::from_be_bytes(take(data, MESSAGE.len(), short)?);
        // Replays and reordering die here, before any crypto: libzmq
        // records the nonce even when the box then fails to open, and so
        // do we (the connection is closed either way).
        if n <= self.peer_nonce {
            return Err(Failure::Protocol(ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE));
        }
        self.peer_nonce = n;
        let key = self.precom.as_ref().ok_or(Failure::Other)?;
        let outer = msg.flags() & FLAG_MASK;
        // In place: a uniquely owned frame is decrypted without a copy.
        let buf = msg.as_mut_slice();
        open(
            key,
            &short_nonce(self.recv_prefix, n),
            &mut buf[MESSAGE_HEADER..],
        )?;
        let inner = buf[MESSAGE_HEADER + TAG];
        let mut out = Message::from_slice(&buf[MESSAGE_MIN..]);
        out.set_flags(outer | (inner & FLAG_MASK));
        Ok(out)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    // Client.
    SendHello,
    ExpectWelcome,
    SendInitiate,
    ExpectReady,
    ErrorReceived,
    // Server.
    WaitingForHello,
    SendingWelcome,
    WaitingForInitiate,
    WaitingForZapReply,
    SendingReady,
    SendingError,
    ErrorSent,
    // Both: traffic flows.
    Ready,
}

/// CURVE, client or server side (`cfg.as_server`).
///
/// The client needs `curve_public_key`, `curve_secret_key` and
/// `curve_server_key`; the server only `curve_secret_key`.
pub struct Curve {
    cfg: Config,
    state: State,
    codec: Codec,
    /// Our short-term secret key (c' or s'), fresh for each connection.
    cn_secret: Zeroizing<Key>,
    /// Our short-term public key (C' or S').
    cn_public: Key,
    /// The peer's short-term public key: S' for the client, C' for the
    /// server.
    cn_peer: Key,
    /// The cookie from WELCOME, returned in INITIATE (client).
    cookie: [u8; 96],
    /// The key of the cookie we sent in WELCOME (server): fresh for each
    /// connection, forgotten once INITIATE has returned the cookie.
    cookie_key: Option<XSalsa20Poly1305>,
    /// The operating system gave no random bytes for our short-term key.
    no_entropy: bool,
    /// What the handshake learned of the peer, and the ZAP exchange.
    peer: PeerState,
}

impl Curve {
    /// A fresh handshake, with a fresh short-term key pair. Should the
    /// operating system give no random bytes, the handshake fails (with a
    /// cryptographic error) rather than run on a predictable key.
    pub fn new(cfg: Config) -> Curve {
        let mut secret = Zeroizing::new([0u8; 32]);
        let no_entropy = fill_random(&mut secret[..]).is_err();
        Curve::with_short_term_key(cfg, secret, no_entropy)
    }

    fn with_short_term_key(cfg: Config, cn_secret: Zeroizing<Key>, no_entropy: bool) -> Curve {
        let state = if cfg.as_server {
            State::WaitingForHello
        } else {
            State::SendHello
        };
        Curve {
            codec: Codec::new(cfg.as_server),
            cn_public: scalarmult_base(&cn_secret),
            cn_secret,
            cfg,
            state,
            cn_peer: [0; 32],
            cookie: [0; 96],
            cookie_key: None,
            no_entropy,
            peer: PeerState::default(),
        }
    }

    /// Whether the peer speaks ZMTP 3.0 (greeting minor version 0): then,
    /// as libzmq, subscriptions are boxed as 1/0-prefixed messages rather
    /// than SUBSCRIBE/CANCEL commands. Set before traffic starts.
    pub fn set_downgrade_sub(&mut self, downgrade: bool) {
        self.codec.downgrade_sub = downgrade;
    }

    /// Our metadata, as READY and INITIATE carry it.
    fn metadata(&self) -> Vec<u8> {
        let m = ready_command(
            b"",
            self.cfg.socket_type,
            &self.cfg.routing_id,
            &self.cfg.app_metadata,
        );
        m.as_slice().to_vec()
    }

    // ---- client -------------------------------------------------------

    fn produce_hello(&mut self) -> Result<Message, Failure> {
        let n = self.codec.next_nonce();
        // The box of zeroes proves we know S; a bad server key fails here
        // when it is of small order (libsodium refuses it too).
        let key = beforenm(&self.cfg.curve_server_key, &self.cn_secret)?;
        let signature = seal_vec(&key, &short_nonce(HELLO_NONCE, n), &[0u8; 64])?;
        let mut b = Vec::with_capacity(HELLO_SIZE);
        b.extend_from_slice(HELLO);
        b.extend_from_slice(&[1, 0]);
        b.resize(80, 0);
        b.extend_from_slice(&self.cn_public);
        b.extend_from_slice(&n.to_be_bytes());
        b.extend_from_slice(&signature);
        Ok(command(b))
    }

    fn process_welcome(&mut self, data: &[u8]) -> Result<(), Failure> {
        if self.state != State::ExpectWelcome {
            return Err(unexpected());
        }
        // libzmq reports any defect of WELCOME as a cryptographic error.
        if data.len() != WELCOME_SIZE {
            return Err(crypto_error());
        }
        let tail = take(data, WELCOME.len(), crypto_error())?;
        let key = beforenm(&self.cfg.curve_server_key, &self.cn_secret)?;
        let plain = open_vec(&key, &long_nonce(WELCOME_NONCE, &tail), &data[24..])?;
        self.cn_peer = take(&plain, 0, crypto_error())?;
        self.cookie = take(&plain, 32, crypto_error())?;
        self.codec.precom = Some(beforenm(&self.cn_peer, &self.cn_secret)?);
        self.state = State::SendInitiate;
        Ok(())
    }

    fn produce_initiate(&mut self) -> Result<Message, Failure> {
        let metadata = self.metadata();
        // The vouch binds our long-term key to C' for this server only.
        let vouch_tail = random::<16>()?;
        let mut vouch_plain = Zeroizing::new([0u8; 64]);
        vouch_plain[..32].copy_from_slice(&self.cn_public);
        vouch_plain[32..].copy_from_slice(&self.cfg.curve_server_key);
        let vouch_key = beforenm(&self.cn_peer, &self.cfg.curve_secret_key)?;
        let vouch = seal_vec(
            &vouch_key,
            &long_nonce(VOUCH_NONCE, &vouch_tail),
            &vouch_plain[..],
        )?;
        let n = self.codec.next_nonce();
        let precom = self.codec.precom.as_ref().ok_or_else(crypto_error)?;
        let mut b = Vec::with_capacity(INITIATE_MIN + metadata.len());
        b.extend_from_slice(INITIATE);
        b.extend_from_slice(&self.cookie);
        b.extend_from_slice(&n.to_be_bytes());
        b.extend_from_slice(&[0u8; TAG]);
        b.extend_from_slice(&self.cfg.curve_public_key);
        b.extend_from_slice(&vouch_tail);
        b.extend_from_slice(&vouch);
        b.extend_from_slice(&metadata);
        seal(
            precom,
            &short_nonce(INITIATE_NONCE, n),
            &mut b[INITIATE_BOX..],
        )?;
        Ok(command(b))
    }

    fn process_ready(&mut self, data: &[u8]) -> Result<(), Failure> {
        let short = Failure::Protocol(ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY);
        if data.len() < READY_MIN {
            return Err(short);
        }
        let n = u64::from_be_bytes(take(data, READY.len(), short)?);
        self.codec.peer_nonce = n;
        // Before WELCOME there is no key to open READY with (libzmq tries
        // an all-zero one, which fails the same way).
        let precom = match (&self.codec.precom, self.state) {
            (Some(k), State::ExpectReady) => k,
            _ => return Err(crypto_error()),
        };
        let plain = open_vec(precom, &short_nonce(READY_NONCE, n), &data[READY_BOX..])?;
        accept_properties(
            &plain,
            self.cfg.socket_type,
            self.cfg.recv_routing_id,
            &mut self.peer.peer_id,
            &mut self.peer.props,
        )
        // libzmq's client reports every metadata defect, including an
        // incompatible Socket-Type, as invalid metadata.
        .map_err(|_| Failure::Protocol(ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA))?;
        self.state = State::Ready;
        Ok(())
    }

    fn process_error(&mut self, data: &[u8]) -> Result<(), Failure> {
        if !matches!(self.state, State::ExpectWelcome | State::ExpectReady) {
            return Err(unexpected());
        }
        self.peer.failure = Some(parse_error_command(data)?);
        self.state = State::ErrorReceived;
        Ok(())
    }

    fn client_command(&mut self, data: &[u8]) -> Result<(), Failure> {
        if data.starts_with(WELCOME) {
            self.process_welcome(data)
        } else if data.starts_with(READY) {
            self.process_ready(data)
        } else if data.starts_with(ERROR) {
            self.process_error(data)
        } else {
            Err(unexpected())
        }
    }

    // ---- server -------------------------------------------------------

    fn process_hello(&mut self, data: &[u8]) -> Result<(), Failure> {
        check_structure(data)?;
        if !data.starts_with(HELLO) {
            return Err(unexpected());
        }
        let malformed = Failure::Protocol(ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO);
        if data.len() != HELLO_SIZE || data[6] != 1 || data[7] != 0 {
            return Err(malformed);
        }
        self.cn_peer = take(data, 80, malformed)?;
        let n = u64::from_be_bytes(take(data, 112, malformed)?);
        self.codec.peer_nonce = n;
        // Only a client that knows our public key can make this box; its
        // content (64 zeroes) is not checked, as libzmq does not.
        let key = beforenm(&self.cn_peer, &self.cfg.curve_secret_key)?;
        open_vec(&key, &short_nonce(HELLO_NONCE, n), &data[120..])?;
        self.state = State::SendingWelcome;
        Ok(())
    }

    fn produce_welcome(&mut self) -> Result<Message, Failure> {
        // The cookie keeps C' and s' for INITIATE under a key of this
        // connection only, so we hold no per-client state worth attacking
        // between WELCOME and INITIATE (RFC 26) and a cookie cannot be
        // replayed on another connection.
        let cookie_key = Zeroizing::new(random::<32>()?);
        let cookie_cipher = XSalsa20Poly1305::new(GenericArray::from_slice(&cookie_key[..]));
        let cookie_tail = random::<16>()?;
        let mut cookie_plain = Zeroizing::new([0u8; 64]);
        cookie_plain[..32].copy_from_slice(&self.cn_peer);
        cookie_plain[32..].copy_from_slice(&self.cn_secret[..]);
        let cookie = seal_vec(
            &cookie_cipher,
            &long_nonce(COOKIE_NONCE, &cookie_tail),
            &cookie_plain[..],
        )?;
        self.cookie_key = Some(cookie_cipher);

        let mut plain = Zeroizing::new(Vec::with_capacity(128));
        plain.extend_from_slice(&self.cn_public);
        plain.extend_from_slice(&cookie_tail);
        plain.extend_from_slice(&cookie);
        let welcome_tail = random::<16>()?;
        let key = beforenm(&self.cn_peer, &self.cfg.curve_secret_key)?;
        let boxed = seal_vec(&key, &long_nonce(WELCOME_NONCE, &welcome_tail), &plain)?;
        let mut b = Vec::with_capacity(WELCOME_SIZE);
        b.extend_from_slice(WELCOME);
        b.extend_from_slice(&welcome_tail);
        b.extend_from_slice(&boxed);
        Ok(command(b))
    }

    fn process_initiate(&mut self, data: &[u8]) -> Result<(), Failure> {
        check_structure(data)?;
        if !data.starts_with(INITIATE) {
            return Err(unexpected());
        }
        let short = Failure::Protocol(ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE);
        if data.len() < INITIATE_MIN {
            return Err(short);
        }
        // The cookie must be the one we sent on this connection, holding
        // this client's C' and our s'.
        let cookie_key = self.cookie_key.as_ref().ok_or_else(crypto_error)?;
        let cookie_tail = take(data, 9, short)?;
        let cookie = open_vec(
            cookie_key,
            &long_nonce(COOKIE_NONCE, &cookie_tail),
            &data[25..105],
        )?;
        if cookie[..32] != self.cn_peer || cookie[32..64] != self.cn_secret[..] {
            return Err(crypto_error());
        }
        let n = u64::from_be_bytes(take(data, 105, short)?);
        self.codec.peer_nonce = n;
        let precom = beforenm(&self.cn_peer, &self.cn_secret)?;
        let plain = open_vec(
            &precom,
            &short_nonce(INITIATE_NONCE, n),
            &data[INITIATE_BOX..],
        )?;
        let client_key: Key = take(&plain, 0, crypto_error())?;
        let vouch_tail = take(&plain, 32, crypto_error())?;
        let vouch_box = plain.get(48..128).ok_or_else(crypto_error)?;
        let vouch_key = beforenm(&client_key, &self.cn_secret)?;
        let vouch = open_vec(&vouch_key, &long_nonce(VOUCH_NONCE, &vouch_tail), vouch_box)?;
        // The vouch's second half (our long-term key) is not checked, as in
        // libzmq: a server need not know its own public key.
        if vouch[..32] != self.cn_peer {
            return Err(Failure::Protocol(ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE));
        }
        self.cookie_key = None;
        self.codec.precom = Some(precom);

        // ZAP as libzmq decides it: always when a handler is bound, unless
        // ZMQ_ZAP_ENFORCE_DOMAIN is set without a domain; without a handler
        // the client is let in (encryption without authentication) unless
        // the domain is enforced.
        let zap_required = !self.cfg.zap_domain.is_empty();
        let next = if zap_required || !self.cfg.zap_enforce_domain {
            if self.cfg.zap_handler {
                State::WaitingForZapReply
            } else if !self.cfg.zap_enforce_domain {
                State::SendingReady
            } else {
                return Err(Failure::NoDetail(libc::EFAULT));
            }
        } else {
            State::SendingReady
        };
        // libzmq raises no event of its own for bad INITIATE metadata.
        accept_properties(
            &plain[128..],
            self.cfg.socket_type,
            self.cfg.recv_routing_id,
            &mut self.peer.peer_id,
            &mut self.peer.props,
        )
        .map_err(|_| Failure::Other)?;
        if next == State::WaitingForZapReply {
            self.peer.zap_request = Some(zap::request(&self.cfg, b"CURVE", &[&client_key]));
        }
        self.state = next;
        Ok(())
    }

    fn produce_ready(&mut self) -> Result<Message, Failure> {
        let metadata = self.metadata();
        let n = self.codec.next_nonce();
        let precom = self.codec.precom.as_ref().ok_or_else(crypto_error)?;
        let mut b = Vec::with_capacity(READY_MIN + metadata.len());
        b.extend_from_slice(READY);
        b.extend_from_slice(&n.to_be_bytes());
        b.extend_from_slice(&[0u8; TAG]);
        b.extend_from_slice(&metadata);
        seal(precom, &short_nonce(READY_NONCE, n), &mut b[READY_BOX..])?;
        Ok(command(b))
    }
}

impl Mechanism for Curve {
    fn next_handshake_command(&mut self) -> Result<Option<Message>, Failure> {
        if self.no_entropy {
            return Err(crypto_error());
        }
        let (msg, next) = match self.state {
            State::SendHello => (self.produce_hello()?, State::ExpectWelcome),
            State::SendInitiate => (self.produce_initiate()?, State::ExpectReady),
            State::SendingWelcome => (self.produce_welcome()?, State::WaitingForInitiate),
            State::SendingReady => (self.produce_ready()?, State::Ready),
            State::SendingError => {
                self.state = State::ErrorSent;
                let status = self.peer.zap.as_ref().map_or(*b"500", |r| r.status);
                return Ok(zap::error_command(&status));
            }
            _ => return Ok(None),
        };
        self.state = next;
        Ok(Some(msg))
    }

    fn process_handshake_command(&mut self, msg: Message) -> Result<(), Failure> {
        if self.no_entropy {
            return Err(crypto_error());
        }
        let data = msg.as_slice();
        if !self.cfg.as_server {
            return self.client_command(data);
        }
        match self.state {
            State::WaitingForHello => self.process_hello(data),
            State::WaitingForInitiate => self.process_initiate(data),
            _ => Err(Failure::Protocol(ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED)),
        }
    }

    fn peer(&self) -> &PeerState {
        &self.peer
    }

    fn peer_mut(&mut self) -> &mut PeerState {
        &mut self.peer
    }

    fn status(&self) -> Status {
        match self.state {
            State::Ready => Status::Ready,
            State::ErrorReceived | State::ErrorSent => Status::Error,
            _ => Status::Handshaking,
        }
    }

    fn zap_reply(&mut self, reply: zap::Reply) -> Result<(), Failure> {
        if self.state != State::WaitingForZapReply {
            return Err(Failure::Protocol(ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED));
        }
        // 300 is a temporary failure: the client is dropped without ERROR.
        self.state = match reply.status[0] {
            b'2' => State::SendingReady,
            b'3' => State::ErrorSent,
            _ => State::SendingError,
        };
        self.peer.record_zap_reply(reply);
        Ok(())
    }

    fn encrypts(&self) -> bool {
        true
    }

    fn encode(&mut self, msg: Message) -> Result<Message, Failure> {
        if self.state != State::Ready {
            return Err(Failure::Other);
        }
        self.codec.encode(&msg)
    }

    fn decode(&mut self, msg: Message) -> Result<Message, Failure> {
        if self.state != State::Ready {
            return Err(Failure::Other);
        }
        self.codec.decode(msg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::security::properties;

    /// `N` bytes counting up from `start`.
    fn seq<const N: usize>(start: u8) -> [u8; N] {
        std::array::from_fn(|i| start.wrapping_add(i as u8))
    }

    struct Keys {
        server_public: Key,
        server_secret: Key,
        client_public: Key,
        client_secret: Key,
    }

    fn keys() -> Keys {
        let (server_public, server_secret) = keypair();
        let (client_public, client_secret) = keypair();
        Keys {
            server_public,
            server_secret,
            client_public,
            client_secret,
        }
    }

    fn client_cfg(k: &Keys) -> Config {
        Config {
            socket_type: ZMQ_DEALER,
            routing_id: b"C".to_vec(),
            recv_routing_id: true,
            app_metadata: vec![("X-Hello".into(), "World".into())],
            curve_public_key: k.client_public,
            curve_secret_key: k.client_secret,
            curve_server_key: k.server_public,
            ..Config::default()
        }
    }

    fn server_cfg(k: &Keys, handler: bool) -> Config {
        Config {
            socket_type: ZMQ_ROUTER,
            recv_routing_id: true,
            as_server: true,
            zap_handler: handler,
            peer_address: "127.0.0.1".into(),
            curve_secret_key: k.server_secret,
            ..Config::default()
        }
    }

    fn next(m: &mut Curve) -> Message {
        match m.next_handshake_command() {
            Ok(Some(cmd)) => cmd,
            other => panic!("expected a command, got {other:?}"),
        }
    }

    fn protocol(r: Result<(), Failure>) -> i32 {
        match r {
            Err(Failure::Protocol(code)) => code,
            other => panic!("expected a protocol failure, got {other:?}"),
        }
    }

    fn reply(status: &[u8; 3], user: &[u8]) -> zap::Reply {
        let mut md = Vec::new();
        properties::encode(&mut md, "Hello", b"World");
        zap::Reply {
            status: *status,
            user_id: user.to_vec(),
            metadata: properties::parse(&md).unwrap_or_default(),
        }
    }

    /// HELLO and WELCOME crossed; returns the client's INITIATE.
    fn to_initiate(c: &mut Curve, s: &mut Curve) -> Message {
        s.process_handshake_command(next(c)).unwrap();
        c.process_handshake_command(next(s)).unwrap();
        next(c)
    }

    /// A finished handshake without ZAP.
    fn connected() -> (Curve, Curve) {
        let k = keys();
        let (mut c, mut s) = (
            Curve::new(client_cfg(&k)),
            Curve::new(server_cfg(&k, false)),
        );
        let initiate = to_initiate(&mut c, &mut s);
        s.process_handshake_command(initiate).unwrap();
        c.process_handshake_command(next(&mut s)).unwrap();
        assert_eq!(c.status(), Status::Ready);
        assert_eq!(s.status(), Status::Ready);
        (c, s)
    }

    fn frame(body: &[u8], f: u8) -> Message {
        let mut m = Message::from_slice(body);
        m.set_flags(f);
        m
    }

    #[test]
    fn handshake_without_zap() {
        let k = keys();
        let mut c = Curve::new(client_cfg(&k));
        let mut s = Curve::new(server_cfg(&k, false));
        assert_eq!(c.status(), Status::Handshaking);
        assert!(s.next_handshake_command().unwrap().is_none());

        let hello = next(&mut c);
        assert!(c.next_handshake_command().unwrap().is_none());
        assert_eq!(hello.len(), HELLO_SIZE);
        assert_eq!(hello.flags(), flags::COMMAND);
        assert_eq!(&hello[..8], b"\x05HELLO\x01\x00");
        assert!(hello[8..80].iter().all(|&b| b == 0));
        assert_eq!(&hello[112..120], &1u64.to_be_bytes());
        s.process_handshake_command(hello).unwrap();

        let welcome = next(&mut s);
        assert_eq!(welcome.len(), WELCOME_SIZE);
        assert!(welcome.starts_with(WELCOME));
        c.process_handshake_command(welcome).unwrap();

        let initiate = next(&mut c);
        let md_len = c.metadata().len();
        assert_eq!(initiate.len(), INITIATE_MIN + md_len);
        assert_eq!(&initiate[105..113], &2u64.to_be_bytes());
        s.process_handshake_command(initiate).unwrap();
        assert!(s.take_zap_request().is_none());
        assert_eq!(s.status(), Status::Handshaking);

        let ready = next(&mut s);
        assert_eq!(ready.len(), READY_MIN + s.metadata().len());
        assert_eq!(&ready[6..14], &1u64.to_be_bytes());
        assert_eq!(s.status(), Status::Ready);
        c.process_handshake_command(ready).unwrap();
        assert_eq!(c.status(), Status::Ready);
        assert!(c.next_handshake_command().unwrap().is_none());
        assert!(s.next_handshake_command().unwrap().is_none());

        // Traffic nonces go on from the handshake's.
        assert_eq!((c.codec.nonce, c.codec.peer_nonce), (3, 1));
        assert_eq!((s.codec.nonce, s.codec.peer_nonce), (2, 2));

        assert_eq!(s.peer_routing_id(), b"C");
        let has = |p: &[crate::security::properties::Property], k: &str, v: &[u8]| {
            p.iter().any(|(n, x)| n == k && x == v)
        };
        assert!(has(s.properties(), "Socket-Type", b"DEALER"));
        assert!(has(s.properties(), "X-Hello", b"World"));
        assert!(has(c.properties(), "Socket-Type", b"ROUTER"));
        assert!(s.user_id().is_empty());
        assert!(c.encrypts() && s.encrypts());
    }

    #[test]
    fn handshake_with_zap() {
        let k = keys();
        let mut cfg = server_cfg(&k, true);
        cfg.zap_domain = b"global".to_vec();
        let (mut c, mut s) = (Curve::new(client_cfg(&k)), Curve::new(cfg));
        let initiate = to_initiate(&mut c, &mut s);
        s.process_handshake_command(initiate).unwrap();
        // Nothing to send until the handler answers.
        assert!(s.next_handshake_command().unwrap().is_none());
        let req = s.take_zap_request().unwrap();
        assert!(s.take_zap_request().is_none());
        let bodies: Vec<&[u8]> = req.iter().map(|m| m.as_slice()).collect();
        assert_eq!(
            bodies,
            vec![
                &b""[..],
                b"1.0",
                b"1",
                b"global",
                b"127.0.0.1",
                b"",
                b"CURVE",
                &k.client_public[..]
            ]
        );
        // Another command meanwhile is a protocol error, as in libzmq.
        assert_eq!(
            protocol(s.process_handshake_command(Message::from_slice(b"\x05HELLO"))),
            ZMQ_PROTOCOL_ERROR_ZMTP_UNSPECIFIED
        );
        s.zap_reply(reply(b"200", b"alice")).unwrap();
        assert_eq!(s.take_failure_event(), None);
        c.process_handshake_command(next(&mut s)).unwrap();
        assert_eq!(s.status(), Status::Ready);
        assert_eq!(c.status(), Status::Ready);
        assert_eq!(s.user_id(), b"alice");
        let zp = s.zap_properties();
        assert!(zp.iter().any(|(n, v)| n == "User-Id" && v == b"alice"));
        assert!(zp.iter().any(|(n, v)| n == "Hello" && v == b"World"));
        assert_eq!(
            s.zap_reply(reply(b"200", b"")),
            Err(Failure::Protocol(ZMQ_PROTOCOL_ERROR_ZAP_UNSPECIFIED))
        );
    }

    #[test]
    fn zap_refusals() {
        for (status, command) in [(b"400", true), (b"500", true), (b"300", false)] {
            let k = keys();
            let (mut c, mut s) = (Curve::new(client_cfg(&k)), Curve::new(server_cfg(&k, true)));
            let initiate = to_initiate(&mut c, &mut s);
            s.process_handshake_command(initiate).unwrap();
            assert!(s.take_zap_request().is_some());
            s.zap_reply(reply(status, b"")).unwrap();
            let code = i32::from(status[0] - b'0') * 100;
            assert_eq!(s.take_failure_event(), Some(Failure::Auth(code)));
            match s.next_handshake_command().unwrap() {
                Some(err) => {
                    assert!(command);
                    assert_eq!(err.flags(), flags::COMMAND);
                    let mut want = b"\x05ERROR\x03".to_vec();
                    want.extend_from_slice(status);
                    assert_eq!(err.as_slice(), &want[..]);
                    c.process_handshake_command(err).unwrap();
                    assert_eq!(c.status(), Status::Error);
                    assert_eq!(c.take_failure_event(), Some(Failure::Auth(code)));
                }
                // 300: dropped without a word.
                None => assert!(!command),
            }
            assert_eq!(s.status(), Status::Error);
            assert!(s.next_handshake_command().unwrap().is_none());
        }
    }

    #[test]
    fn zap_policy() {
        let run = |domain: &[u8], enforce: bool, handler: bool| {
            let k = keys();
            let mut cfg = server_cfg(&k, handler);
            cfg.zap_domain = domain.to_vec();
            cfg.zap_enforce_domain = enforce;
            let (mut c, mut s) = (Curve::new(client_cfg(&k)), Curve::new(cfg));
            let initiate = to_initiate(&mut c, &mut s);
            s.process_handshake_command(initiate)
                .map(|()| s.take_zap_request().is_some())
        };
        // A bound handler is asked even without a domain (unlike NULL).
        assert_eq!(run(b"", false, true), Ok(true));
        assert_eq!(run(b"dom", false, true), Ok(true));
        assert_eq!(run(b"dom", true, true), Ok(true));
        // No handler: let in (Stonehouse) unless the domain is enforced.
        assert_eq!(run(b"", false, false), Ok(false));
        assert_eq!(run(b"dom", false, false), Ok(false));
        assert_eq!(
            run(b"dom", true, false),
            Err(Failure::NoDetail(libc::EFAULT))
        );
        // Enforcing without a domain skips ZAP altogether.
        assert_eq!(run(b"", true, true), Ok(false));
        assert_eq!(run(b"", true, false), Ok(false));
    }

    #[test]
    fn traffic_both_ways() {
        let (mut c, mut s) = connected();
        // MORE, inside the box; the MESSAGE frame itself has no flags.
        let w = c.encode(frame(b"part1", flags::MORE)).unwrap();
        assert_eq!(w.flags(), 0);
        assert!(w.starts_with(MESSAGE));
        assert_eq!(&w[8..16], &3u64.to_be_bytes());
        assert_eq!(w.len(), MESSAGE_MIN + 5);
        let d = s.decode(w).unwrap();
        assert_eq!((d.as_slice(), d.flags()), (&b"part1"[..], flags::MORE));
        let d = s.decode(c.encode(frame(b"", 0)).unwrap()).unwrap();
        assert_eq!((d.as_slice(), d.flags()), (&b""[..], 0));

        // COMMAND (heartbeats are boxed like any frame).
        let w = s
            .encode(frame(b"\x04PING\x00\x0a", flags::COMMAND))
            .unwrap();
        assert_eq!(&w[8..16], &2u64.to_be_bytes());
        let d = c.decode(w).unwrap();
        assert_eq!(d.as_slice(), b"\x04PING\x00\x0a");
        assert_eq!(d.flags(), flags::COMMAND);

        // A large frame, both ways.
        let big: Vec<u8> = (0..1 << 20)
            .map(|i: u32| (i * 7 + (i >> 9)) as u8)
            .collect();
        let w = c.encode(Message::from_vec(big.clone())).unwrap();
        assert_eq!(w.len(), MESSAGE_MIN + big.len());
        let d = s.decode(w).unwrap();
        assert!(d.as_slice() == &big[..] && d.flags() == 0);
        let w = s.encode(frame(&big, flags::MORE | flags::COMMAND)).unwrap();
        let d = c.decode(w).unwrap();
        assert!(d.as_slice() == &big[..]);
        assert_eq!(d.flags(), flags::MORE | flags::COMMAND);

        // Flags of the carrying frame are kept, as libzmq does.
        let mut w = c.encode(frame(b"x", 0)).unwrap();
        w.set_flags(flags::MORE);
        assert_eq!(s.decode(w).unwrap().flags(), flags::MORE);
    }

    #[test]
    fn subscriptions_are_boxed_as_the_encoder_would_send_them() {
        let (mut c, mut s) = connected();
        let d = s
            .decode(c.encode(frame(b"topic", flags::SUBSCRIBE)).unwrap())
            .unwrap();
        assert_eq!(d.as_slice(), b"\x09SUBSCRIBEtopic");
        assert_eq!(d.flags(), flags::COMMAND);
        let d = s
            .decode(c.encode(frame(b"topic", flags::CANCEL)).unwrap())
            .unwrap();
        assert_eq!(d.as_slice(), b"\x06CANCELtopic");
        assert_eq!(d.flags(), flags::COMMAND);
        // ZMTP 3.0 peer: the old 1/0 prefix, as data.
        c.set_downgrade_sub(true);
        let d = s
            .decode(c.encode(frame(b"topic", flags::SUBSCRIBE)).unwrap())
            .unwrap();
        assert_eq!((d.as_slice(), d.flags()), (&b"\x01topic"[..], 0));
        let d = s
            .decode(c.encode(frame(b"topic", flags::CANCEL)).unwrap())
            .unwrap();
        assert_eq!((d.as_slice(), d.flags()), (&b"\x00topic"[..], 0));
    }

    #[test]
    fn tampered_messages_are_rejected() {
        let (mut c, mut s) = connected();
        let crypto = Err(Failure::Protocol(ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC));
        for at in [MESSAGE_HEADER, MESSAGE_HEADER + TAG, MESSAGE_MIN + 3] {
            let w = c.encode(frame(b"hello", 0)).unwrap();
            let mut bytes = w.as_slice().to_vec();
            bytes[at] ^= 1;
            assert_eq!(s.decode(Message::from_vec(bytes)).map(|_| ()), crypto);
        }
        // A valid nonce but the wrong one for the box.
        let w = c.encode(frame(b"hello", 0)).unwrap();
        let mut bytes = w.as_slice().to_vec();
        bytes[15] = bytes[15].wrapping_add(1);
        assert_eq!(s.decode(Message::from_vec(bytes)).map(|_| ()), crypto);
        // Sent in the wrong direction: the nonce prefix differs.
        let w = c.encode(frame(b"hello", 0)).unwrap();
        assert_eq!(c.decode(w).map(|_| ()), crypto);
        // Appended or removed bytes break the tag too.
        let w = c.encode(frame(b"hello", 0)).unwrap();
        let mut bytes = w.as_slice().to_vec();
        bytes.push(0);
        assert_eq!(s.decode(Message::from_vec(bytes)).map(|_| ()), crypto);
        let w = c.encode(frame(b"hello", 0)).unwrap();
        let bytes = &w.as_slice()[..w.len() - 1];
        assert_eq!(s.decode(Message::from_slice(bytes)).map(|_| ()), crypto);
        // The connection still works for genuine frames.
        let d = s.decode(c.encode(frame(b"ok", 0)).unwrap()).unwrap();
        assert_eq!(d.as_slice(), b"ok");
    }

    #[test]
    fn nonces_must_increase() {
        let (mut c, mut s) = connected();
        let seq_err = Err(Failure::Protocol(ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE));
        let w1 = c.encode(frame(b"one", 0)).unwrap();
        // Nonces the handshake used (INITIATE had 2) are spent.
        for n in [0u64, 1, 2] {
            let mut bytes = w1.as_slice().to_vec();
            bytes[8..16].copy_from_slice(&n.to_be_bytes());
            assert_eq!(s.decode(Message::from_vec(bytes)).map(|_| ()), seq_err);
        }
        let replay = w1.clone();
        s.decode(w1).unwrap();
        assert_eq!(s.decode(replay).map(|_| ()), seq_err);
        // Reordered: the later frame passes, the earlier one is refused.
        let w2 = c.encode(frame(b"two", 0)).unwrap();
        let w3 = c.encode(frame(b"three", 0)).unwrap();
        s.decode(w3).unwrap();
        assert_eq!(s.decode(w2).map(|_| ()), seq_err);
        // Gaps are fine (libzmq only asks for growth).
        c.encode(frame(b"lost", 0)).unwrap();
        assert_eq!(
            s.decode(c.encode(frame(b"four", 0)).unwrap())
                .unwrap()
                .as_slice(),
            b"four"
        );
    }

    #[test]
    fn malformed_messages() {
        let (_, mut s) = connected();
        let code = |s: &mut Curve, b: &[u8]| match s.decode(Message::from_slice(b)) {
            Err(Failure::Protocol(c)) => c,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            code(&mut s, b""),
            ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED
        );
        assert_eq!(
            code(&mut s, b"\x07MESSAG"),
            ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED
        );
        assert_eq!(
            code(&mut s, b"\x07MESSAGX\0\0\0\0"),
            ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND
        );
        assert_eq!(
            code(&mut s, b"\x05HELLO"),
            ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND
        );
        let mut short = MESSAGE.to_vec();
        short.resize(MESSAGE_MIN - 1, 0xff);
        assert_eq!(
            code(&mut s, &short),
            ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE
        );
        short.push(0xff);
        assert_eq!(code(&mut s, &short), ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC);
    }

    #[test]
    fn wrong_keys_fail() {
        let crypto = ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC;
        // The client has another server's key: the server cannot open HELLO.
        let k = keys();
        let mut cfg = client_cfg(&k);
        cfg.curve_server_key = keypair().0;
        let (mut c, mut s) = (Curve::new(cfg), Curve::new(server_cfg(&k, false)));
        assert_eq!(protocol(s.process_handshake_command(next(&mut c))), crypto);

        // An all-zero server key is refused before anything is sent, as
        // libsodium refuses to box for a small-order key.
        let mut cfg = client_cfg(&k);
        cfg.curve_server_key = [0; 32];
        assert_eq!(
            Curve::new(cfg).next_handshake_command().map(|_| ()),
            Err(crypto_error())
        );

        // A client whose public key does not match its secret key, or is
        // all zero, fails on the vouch.
        for public in [keypair().0, [0; 32]] {
            let mut cfg = client_cfg(&k);
            cfg.curve_public_key = public;
            let (mut c, mut s) = (Curve::new(cfg), Curve::new(server_cfg(&k, true)));
            let initiate = to_initiate(&mut c, &mut s);
            assert_eq!(protocol(s.process_handshake_command(initiate)), crypto);
            assert!(s.take_zap_request().is_none());
        }

        // A WELCOME boxed by a server with another key.
        let mut c = Curve::new(client_cfg(&k));
        next(&mut c);
        let other = keys();
        let mut s = Curve::new(server_cfg(&other, false));
        s.process_handshake_command(next(&mut Curve::new(client_cfg(&other))))
            .unwrap();
        assert_eq!(protocol(c.process_handshake_command(next(&mut s))), crypto);
    }

    #[test]
    fn vouch_must_name_the_short_term_key() {
        let k = keys();
        let (mut c, mut s) = (
            Curve::new(client_cfg(&k)),
            Curve::new(server_cfg(&k, false)),
        );
        to_initiate(&mut c, &mut s);
        // Rebuild INITIATE with a vouch for another C'.
        let vouch_tail = [7u8; 16];
        let mut vouch_plain = [0u8; 64];
        vouch_plain[..32].copy_from_slice(&keypair().0);
        vouch_plain[32..].copy_from_slice(&k.server_public);
        let vouch_key = beforenm(&c.cn_peer, &k.client_secret).unwrap();
        let vouch = seal_vec(
            &vouch_key,
            &long_nonce(VOUCH_NONCE, &vouch_tail),
            &vouch_plain,
        )
        .unwrap();
        let mut plain = k.client_public.to_vec();
        plain.extend_from_slice(&vouch_tail);
        plain.extend_from_slice(&vouch);
        let boxed = seal_vec(
            c.codec.precom.as_ref().unwrap(),
            &short_nonce(INITIATE_NONCE, 2),
            &plain,
        )
        .unwrap();
        let mut b = INITIATE.to_vec();
        b.extend_from_slice(&c.cookie);
        b.extend_from_slice(&2u64.to_be_bytes());
        b.extend_from_slice(&boxed);
        assert_eq!(
            protocol(s.process_handshake_command(command(b))),
            ZMQ_PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE
        );
    }

    #[test]
    fn cookies_belong_to_their_connection() {
        let k = keys();
        let (mut c1, mut s1) = (
            Curve::new(client_cfg(&k)),
            Curve::new(server_cfg(&k, false)),
        );
        let (mut c2, mut s2) = (
            Curve::new(client_cfg(&k)),
            Curve::new(server_cfg(&k, false)),
        );
        let i1 = to_initiate(&mut c1, &mut s1);
        let _ = to_initiate(&mut c2, &mut s2);
        // s2's cookie key is its own: c1's cookie does not open there.
        assert_eq!(
            protocol(s2.process_handshake_command(i1.clone())),
            ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC
        );
        s1.process_handshake_command(i1).unwrap();
        // The cookie key is forgotten once used.
        assert!(s1.cookie_key.is_none());
    }

    #[test]
    fn malformed_handshake_commands() {
        let k = keys();
        let server_code = |body: &[u8]| {
            let mut s = Curve::new(server_cfg(&k, false));
            protocol(s.process_handshake_command(Message::from_slice(body)))
        };
        let mut c = Curve::new(client_cfg(&k));
        let hello = next(&mut c).as_slice().to_vec();
        assert_eq!(
            server_code(b""),
            ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED
        );
        assert_eq!(
            server_code(b"\x09"),
            ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED
        );
        assert_eq!(
            server_code(b"\x05HELLX\x01\x00"),
            ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND
        );
        assert_eq!(
            server_code(&hello[..199]),
            ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO
        );
        let mut long = hello.clone();
        long.push(0);
        assert_eq!(
            server_code(&long),
            ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO
        );
        let mut v2 = hello.clone();
        v2[6] = 2;
        assert_eq!(
            server_code(&v2),
            ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO
        );
        let mut bad = hello.clone();
        bad[150] ^= 0x40;
        assert_eq!(server_code(&bad), ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC);

        // WELCOME of the wrong size or tampered.
        let mut s = Curve::new(server_cfg(&k, false));
        s.process_handshake_command(Message::from_slice(&hello))
            .unwrap();
        let welcome = next(&mut s).as_slice().to_vec();
        for body in [&welcome[..167], &[&welcome[..], b"\0"].concat()[..]] {
            let mut c = Curve::new(client_cfg(&k));
            next(&mut c);
            assert_eq!(
                protocol(c.process_handshake_command(Message::from_slice(body))),
                ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC
            );
        }
        let mut bad = welcome.clone();
        bad[100] ^= 1;
        assert_eq!(
            protocol(c.process_handshake_command(Message::from_slice(&bad))),
            ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC
        );
        c.process_handshake_command(Message::from_slice(&welcome))
            .unwrap();
        // A second WELCOME is out of turn.
        assert_eq!(
            protocol(c.process_handshake_command(Message::from_slice(&welcome))),
            ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND
        );
        let initiate = next(&mut c).as_slice().to_vec();

        // INITIATE: short, renamed, cookie or box tampered, grown.
        let code = |s: &mut Curve, body: &[u8]| {
            protocol(s.process_handshake_command(Message::from_slice(body)))
        };
        assert_eq!(
            code(&mut s, &initiate[..256]),
            ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE
        );
        let mut renamed = initiate.clone();
        renamed[8] = b'X';
        assert_eq!(
            code(&mut s, &renamed),
            ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND
        );
        for at in [9, 40, 110, 120, 200, initiate.len() - 1] {
            let mut bad = initiate.clone();
            bad[at] ^= 1;
            assert_eq!(
                code(&mut s, &bad),
                ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC,
                "byte {at}"
            );
        }
        assert_eq!(
            code(&mut s, &[&initiate[..], b"\0"].concat()),
            ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC
        );
        s.process_handshake_command(Message::from_slice(&initiate))
            .unwrap();
        let ready = next(&mut s).as_slice().to_vec();

        // READY: short, tampered.
        assert_eq!(
            code(&mut c, &ready[..29]),
            ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY
        );
        let mut bad = ready.clone();
        bad[20] ^= 1;
        assert_eq!(code(&mut c, &bad), ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC);
        // Unknown commands and malformed ERRORs.
        assert_eq!(
            code(&mut c, b"\x04PING\0\0"),
            ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND
        );
        assert_eq!(
            code(&mut c, b"\x05ERROR"),
            ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR
        );
        assert_eq!(
            code(&mut c, b"\x05ERROR\x05400"),
            ZMQ_PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR
        );
        c.process_handshake_command(Message::from_slice(&ready))
            .unwrap();
        assert_eq!(c.status(), Status::Ready);

        // Before HELLO is sent, neither READY nor ERROR make sense.
        let mut c = Curve::new(client_cfg(&k));
        assert_eq!(
            code(&mut c, b"\x05ERROR\x03400"),
            ZMQ_PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND
        );
        next(&mut c);
        assert_eq!(code(&mut c, &ready), ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC);
    }

    /// Every truncation and every single-bit flip of every command fails
    /// cleanly (no panic, no success) in the state that expects it.
    #[test]
    fn damaged_commands_never_panic() {
        let k = keys();
        let (mut c, mut s) = (
            Curve::new(client_cfg(&k)),
            Curve::new(server_cfg(&k, false)),
        );
        let hello = next(&mut c).as_slice().to_vec();
        s.process_handshake_command(Message::from_slice(&hello))
            .unwrap();
        let welcome = next(&mut s).as_slice().to_vec();
        c.process_handshake_command(Message::from_slice(&welcome))
            .unwrap();
        let initiate = next(&mut c).as_slice().to_vec();
        let fresh_server = || {
            let mut s2 = Curve::new(server_cfg(&k, false));
            s2.state = s.state;
            s2.cn_secret = s.cn_secret.clone();
            s2.cn_public = s.cn_public;
            s2.cn_peer = s.cn_peer;
            s2.cookie_key = s.cookie_key.clone();
            s2
        };
        let variants = |cmd: &[u8], check: &mut dyn FnMut(&[u8])| {
            for n in 0..cmd.len() {
                check(&cmd[..n]);
            }
            for bit in 0..cmd.len() * 8 {
                let mut b = cmd.to_vec();
                b[bit / 8] ^= 1 << (bit % 8);
                check(&b);
            }
        };
        variants(&hello, &mut |b| {
            let mut s = Curve::new(server_cfg(&k, false));
            let r = s.process_handshake_command(Message::from_slice(b));
            // Neither the padding nor the top bit of C' (X25519 ignores
            // it, libsodium too) is authenticated, nor checked by libzmq.
            let mut same_key = b.to_vec();
            if same_key.len() == HELLO_SIZE {
                same_key[8..80].copy_from_slice(&hello[8..80]);
                same_key[111] ^= (same_key[111] ^ hello[111]) & 0x80;
            }
            if same_key == hello {
                assert!(r.is_ok());
            } else {
                assert!(r.is_err(), "{b:?}");
            }
        });
        variants(&initiate, &mut |b| {
            let mut s = fresh_server();
            assert!(s.process_handshake_command(Message::from_slice(b)).is_err());
        });
        let mut s2 = fresh_server();
        s2.process_handshake_command(Message::from_slice(&initiate))
            .unwrap();
        let ready = next(&mut s2).as_slice().to_vec();
        variants(&welcome, &mut |b| {
            let mut c = Curve::new(client_cfg(&k));
            next(&mut c);
            assert!(c.process_handshake_command(Message::from_slice(b)).is_err());
        });
        variants(&ready, &mut |b| {
            let mut c2 = Curve::new(client_cfg(&k));
            c2.state = State::ExpectReady;
            c2.codec.precom = c.codec.precom.clone();
            assert!(c2
                .process_handshake_command(Message::from_slice(b))
                .is_err());
        });
        c.process_handshake_command(Message::from_slice(&ready))
            .unwrap();
        let msg = s2
            .encode(frame(b"payload", flags::MORE))
            .unwrap()
            .as_slice()
            .to_vec();
        variants(&msg, &mut |b| {
            let mut codec = Codec::new(false);
            codec.precom = c.codec.precom.clone();
            assert!(codec.decode(Message::from_slice(b)).is_err());
        });
        assert_eq!(
            c.decode(Message::from_slice(&msg)).unwrap().as_slice(),
            b"payload"
        );
    }

    #[test]
    fn metadata_defects() {
        // Incompatible socket types: the client reports invalid metadata,
        // as libzmq's does; the server fails silently, as libzmq's does.
        let k = keys();
        let mut cfg = server_cfg(&k, false);
        cfg.socket_type = ZMQ_PUB;
        let (mut c, mut s) = (Curve::new(client_cfg(&k)), Curve::new(cfg));
        let initiate = to_initiate(&mut c, &mut s);
        // The PUB server rejects the DEALER without an event of its own.
        assert_eq!(s.process_handshake_command(initiate), Err(Failure::Other));
        // A SUB client gets the PUB's READY; a DEALER in its place would
        // refuse it.
        let mut cfg = server_cfg(&k, false);
        cfg.socket_type = ZMQ_PUB;
        let mut s = Curve::new(cfg);
        let mut ccfg = client_cfg(&k);
        ccfg.socket_type = ZMQ_SUB;
        let mut c = Curve::new(ccfg);
        let initiate = to_initiate(&mut c, &mut s);
        s.process_handshake_command(initiate).unwrap();
        let ready = next(&mut s);
        let mut d = Curve::new(client_cfg(&k));
        d.state = State::ExpectReady;
        d.codec.precom = c.codec.precom.clone();
        assert_eq!(
            protocol(d.process_handshake_command(ready.clone())),
            ZMQ_PROTOCOL_ERROR_ZMTP_INVALID_METADATA
        );
        c.process_handshake_command(ready).unwrap();
        assert_eq!(c.status(), Status::Ready);
    }

    #[test]
    fn no_traffic_before_ready() {
        let k = keys();
        let mut c = Curve::new(client_cfg(&k));
        assert_eq!(c.encode(frame(b"x", 0)).map(|_| ()), Err(Failure::Other));
        assert_eq!(c.decode(frame(b"x", 0)).map(|_| ()), Err(Failure::Other));
    }

    // Known answers from Debian's libsodium 1.0.18, so that our boxes are
    // libsodium's byte for byte. Made by a small C program: keys are
    // `seq(start)` (bytes counting up), public keys crypto_scalarmult_base;
    // BOX_ALICE_TO_BOB = crypto_box_easy(MESSAGE_TEXT, nonce seq(0x10),
    // pk(seq(0x80)), seq(0x01)); SECRETBOX = crypto_secretbox_easy(COOKIE_TEXT,
    // nonce seq(0x10), key i ^ 0xC0); BOX_TO_ODD_KEY = crypto_box_easy("hello",
    // nonce seq(0x10), pk [9; 32] (off the prime-order subgroup), seq(0x01));
    // HELLO_BOX = crypto_box_easy(64 zeroes, "CurveZMQHELLO---" + 1,
    // pk(seq(0x80)), seq(0x20)); MESSAGE_C2S / MESSAGE_S2C laid out as
    // libzmq's curve_encoding_t::encode with crypto_box_easy_afternm under
    // crypto_box_beforenm(pk(seq(0x60)), seq(0x20)) (resp. the reverse).
    // crypto_box_easy refuses the small-order keys [0; 32] and [1, 0, ..].

    const MESSAGE_TEXT: &[u8] = b"CurveZMQ known answer: libsodium crypto_box";
    const COOKIE_TEXT: &[u8] = b"cookie plaintext for secretbox";
    const ALICE_PK: [u8; 32] = [
        0x07, 0xa3, 0x7c, 0xbc, 0x14, 0x20, 0x93, 0xc8, 0xb7, 0x55, 0xdc, 0x1b, 0x10, 0xe8, 0x6c,
        0xb4, 0x26, 0x37, 0x4a, 0xd1, 0x6a, 0xa8, 0x53, 0xed, 0x0b, 0xdf, 0xc0, 0xb2, 0xb8, 0x6d,
        0x1c, 0x7c,
    ];
    const BOX_ALICE_TO_BOB: [u8; 59] = [
        0xdb, 0x87, 0xa6, 0xf9, 0xe5, 0xe2, 0x51, 0xe7, 0x58, 0x84, 0xd2, 0xff, 0x25, 0x43, 0x5c,
        0x63, 0xc2, 0xf6, 0xa6, 0xce, 0x7d, 0xdb, 0x33, 0x9a, 0xce, 0x5a, 0xc2, 0xe2, 0xe9, 0xbe,
        0x8e, 0x9d, 0x60, 0xf1, 0x56, 0x00, 0x0a, 0x55, 0x9e, 0xd6, 0x3e, 0xbe, 0x24, 0x31, 0xbe,
        0x09, 0x81, 0xb9, 0x5e, 0x33, 0x1d, 0xca, 0xbf, 0x80, 0xd7, 0x38, 0xd0, 0x96, 0xf2,
    ];
    const SECRETBOX: [u8; 46] = [
        0x1f, 0x21, 0x91, 0x5f, 0x09, 0xa0, 0x12, 0x73, 0xe5, 0xcf, 0xc9, 0xe4, 0x11, 0x81, 0xab,
        0xc9, 0x74, 0x3b, 0xe4, 0x60, 0x9a, 0x3d, 0xfa, 0x9a, 0x60, 0xdd, 0xef, 0x5b, 0x17, 0xe7,
        0xc7, 0xa0, 0xa9, 0xc8, 0x54, 0xc1, 0x50, 0x9e, 0x69, 0x3c, 0x23, 0xa7, 0x7b, 0x54, 0x4d,
        0x7f,
    ];
    const BOX_TO_ODD_KEY: [u8; 21] = [
        0x36, 0x51, 0x7c, 0xed, 0x39, 0xf6, 0x23, 0xcf, 0xd1, 0x67, 0x7e, 0x8d, 0x6f, 0xe5, 0x1b,
        0x88, 0x62, 0x70, 0xe7, 0xc8, 0xa4,
    ];
    const HELLO_BOX: [u8; 80] = [
        0x73, 0x35, 0xff, 0x1d, 0xd8, 0xc9, 0xce, 0x97, 0x49, 0xb4, 0x5f, 0x1c, 0x9a, 0xe3, 0x7f,
        0x07, 0xab, 0xa0, 0x05, 0xee, 0x70, 0xe6, 0x69, 0x23, 0x9c, 0xe1, 0xd3, 0x15, 0x9d, 0x25,
        0x0c, 0xa5, 0xc9, 0x81, 0x5c, 0xf9, 0x9b, 0xaa, 0x26, 0x5d, 0x40, 0xdf, 0x59, 0xfa, 0x22,
        0x3b, 0xdd, 0xac, 0xe3, 0xc6, 0xd4, 0xcd, 0x83, 0x14, 0x67, 0xee, 0x7c, 0x42, 0x75, 0x22,
        0xa8, 0x4e, 0xa9, 0xb6, 0xa7, 0x8c, 0xcb, 0x7d, 0x26, 0x10, 0xae, 0xc8, 0xb7, 0x1c, 0x8b,
        0x21, 0xef, 0x8e, 0x4e, 0xbd,
    ];
    const MESSAGE_C2S: [u8; 38] = [
        0x07, 0x4d, 0x45, 0x53, 0x53, 0x41, 0x47, 0x45, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x03, 0xdf, 0x62, 0x35, 0x96, 0x9d, 0x75, 0x00, 0x79, 0xda, 0x00, 0x58, 0xa7, 0x92, 0xc5,
        0x76, 0xed, 0xf2, 0x87, 0x6a, 0x87, 0x13, 0x3f,
    ];
    const MESSAGE_S2C: [u8; 40] = [
        0x07, 0x4d, 0x45, 0x53, 0x53, 0x41, 0x47, 0x45, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x02, 0x00, 0x9c, 0x2b, 0x18, 0xf6, 0x76, 0x64, 0x0c, 0xb1, 0xc7, 0x28, 0x71, 0x42, 0xf4,
        0x4e, 0xa3, 0x7b, 0xff, 0x7e, 0x38, 0x3f, 0xcd, 0xde, 0xd1,
    ];

    #[test]
    fn keys_match_libsodium() {
        assert_eq!(public_key(&seq(1)), ALICE_PK);
        let (public, secret) = keypair();
        assert_eq!(public_key(&secret), public);
        assert_ne!(keypair().1, secret);
    }

    #[test]
    fn boxes_match_libsodium() {
        let nonce: [u8; 24] = seq(0x10);
        // Ours seals exactly what libsodium seals (so libsodium opens it)...
        let alice = beforenm(&public_key(&seq(0x80)), &seq(1)).unwrap();
        assert_eq!(
            seal_vec(&alice, &nonce, MESSAGE_TEXT).unwrap(),
            BOX_ALICE_TO_BOB
        );
        // ...and opens what libsodium sealed, from the other side.
        let bob = beforenm(&ALICE_PK, &seq(0x80)).unwrap();
        assert_eq!(
            &open_vec(&bob, &nonce, &BOX_ALICE_TO_BOB).unwrap()[..],
            MESSAGE_TEXT
        );
        let mut bad = BOX_ALICE_TO_BOB;
        bad[0] ^= 1;
        assert!(open_vec(&bob, &nonce, &bad).is_err());
        assert!(open_vec(&bob, &nonce, &BOX_ALICE_TO_BOB[..15]).is_err());

        let key: [u8; 32] = std::array::from_fn(|i| 0xC0 ^ i as u8);
        let cookie = XSalsa20Poly1305::new(GenericArray::from_slice(&key));
        assert_eq!(seal_vec(&cookie, &nonce, COOKIE_TEXT).unwrap(), SECRETBOX);
        assert_eq!(
            &open_vec(&cookie, &nonce, &SECRETBOX).unwrap()[..],
            COOKIE_TEXT
        );

        // Keys off the prime-order subgroup: libsodium's answer, and its
        // refusal of small-order keys.
        let odd = beforenm(&[9; 32], &seq(1)).unwrap();
        assert_eq!(seal_vec(&odd, &nonce, b"hello").unwrap(), BOX_TO_ODD_KEY);
        let mut one = [0u8; 32];
        one[0] = 1;
        assert!(beforenm(&[0; 32], &seq(1)).is_err());
        assert!(beforenm(&one, &seq(1)).is_err());
    }

    #[test]
    fn hello_matches_libzmq() {
        let server_public = public_key(&seq(0x80));
        let cfg = Config {
            curve_server_key: server_public,
            ..Config::default()
        };
        let mut c = Curve::with_short_term_key(cfg, Zeroizing::new(seq(0x20)), false);
        let mut want = b"\x05HELLO\x01\x00".to_vec();
        want.resize(80, 0);
        want.extend_from_slice(&public_key(&seq(0x20)));
        want.extend_from_slice(&1u64.to_be_bytes());
        want.extend_from_slice(&HELLO_BOX);
        assert_eq!(next(&mut c).as_slice(), &want[..]);
        let mut s = Curve::new(Config {
            as_server: true,
            curve_secret_key: seq(0x80),
            ..Config::default()
        });
        s.process_handshake_command(Message::from_vec(want))
            .unwrap();
        assert_eq!(s.cn_peer, public_key(&seq(0x20)));
    }

    #[test]
    fn messages_match_libzmq() {
        let (client_short, server_short) = (seq(0x20), seq(0x60));
        let mut client = Codec::new(false);
        client.precom = Some(beforenm(&public_key(&server_short), &client_short).unwrap());
        client.nonce = 3;
        let mut server = Codec::new(true);
        server.precom = Some(beforenm(&public_key(&client_short), &server_short).unwrap());
        server.nonce = 2;
        server.peer_nonce = 2;

        let w = client.encode(&frame(b"Hello", flags::MORE)).unwrap();
        assert_eq!(w.as_slice(), MESSAGE_C2S);
        let d = server.decode(Message::from_slice(&MESSAGE_C2S)).unwrap();
        assert_eq!((d.as_slice(), d.flags()), (&b"Hello"[..], flags::MORE));

        let w = server
            .encode(&frame(b"\x04PING\x00\x0a", flags::COMMAND))
            .unwrap();
        assert_eq!(w.as_slice(), MESSAGE_S2C);
        let d = client.decode(Message::from_slice(&MESSAGE_S2C)).unwrap();
        assert_eq!(
            (d.as_slice(), d.flags()),
            (&b"\x04PING\x00\x0a"[..], flags::COMMAND)
        );
    }
}
