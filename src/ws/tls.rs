//! wss://: a sans-I/O TLS layer (rustls with the ring provider) between the
//! socket's bytes and a [`WsEngine`], configured as libzmq 4.3.5 configures
//! GnuTLS (src/wss_engine.cpp, src/ws_listener.cpp).
//!
//! * Server: ZMQ_WSS_CERT_PEM (chain) and ZMQ_WSS_KEY_PEM; no client
//!   certificates are asked for.
//! * Client: the server's certificate is always verified; there is no
//!   option to turn that off. Trust comes from ZMQ_WSS_TRUST_PEM and, with
//!   ZMQ_WSS_TRUST_SYSTEM, from the system store; with neither, every
//!   server is refused. ZMQ_WSS_HOSTNAME is both the SNI name and the name
//!   checked; when it is unset (libzmq's default) no SNI is sent and no name
//!   is checked, only the chain.
//! * GnuTLS semantics that webpki alone lacks, so libzmq's own test
//!   certificate (self-signed, CA:TRUE, the name only in its CN) works as it
//!   does with libzmq: a server certificate that is itself in the trust
//!   list is trusted as it stands (its validity dates still checked), and a
//!   certificate with no DNS subjectAltName is matched on its common name.
//!   Otherwise the chain goes through webpki.
//! * TLS 1.2 and 1.3, rustls's default suites (GnuTLS's default priority
//!   allows both versions). A failed TLS handshake ends the connection as
//!   a connection error with no protocol event, as libzmq's does
//!   (ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL from the session).
//!
//! Certificate validity is checked against the system clock (rustls's time
//! provider): the one clock read in this otherwise clock-free layer.

use std::fmt;
use std::io::{IoSlice, Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Instant;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::{verify_server_cert_signed_by_trust_anchor, verify_server_name};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::server::ParsedCertificate;
use rustls::{
    CertificateError, ClientConfig, ClientConnection, Connection, DigitallySignedStruct,
    RootCertStore, ServerConfig, ServerConnection, SignatureScheme,
};

use super::engine::WsEngine;
use super::x509;
use crate::msg::{Message, Metadata};
use crate::zmtp::engine::{EngineConfig, EngineError, EngineEvent, ErrorReason};

pub use crate::options::WssOptions;

/// Why a TLS configuration could not be built.
#[derive(Debug)]
pub enum TlsError {
    /// ZMQ_WSS_CERT_PEM holds no certificate.
    NoCertificate,
    /// ZMQ_WSS_KEY_PEM holds no usable private key.
    BadKey,
    /// A PEM block that does not parse.
    BadPem,
    /// ZMQ_WSS_HOSTNAME is neither a DNS name nor an IP address.
    BadHostname,
    /// rustls refused the configuration (e.g. key and certificate differ).
    Rustls(rustls::Error),
}

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TlsError::NoCertificate => f.write_str("no certificate in ZMQ_WSS_CERT_PEM"),
            TlsError::BadKey => f.write_str("no usable private key in ZMQ_WSS_KEY_PEM"),
            TlsError::BadPem => f.write_str("malformed PEM"),
            TlsError::BadHostname => f.write_str("ZMQ_WSS_HOSTNAME is not a valid name"),
            TlsError::Rustls(e) => write!(f, "TLS configuration refused: {e}"),
        }
    }
}

impl std::error::Error for TlsError {}

/// ring, as asked for this project (aws-lc-rs needs cmake and nasm); rustls
/// 0.23.48 deprecates it only because ring has no post-quantum key exchange.
#[allow(deprecated)]
fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

fn certs_from_pem(pem: &[u8]) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| TlsError::BadPem)
}

/// A built client configuration: what a wss connect needs, made once per
/// set of options (loading the system store is not cheap).
#[derive(Clone)]
pub struct WssClient {
    config: Arc<ClientConfig>,
    server_name: ServerName<'static>,
}

/// A built server configuration: made once per listener, as libzmq loads
/// its credentials when it binds.
#[derive(Clone)]
pub struct WssServer {
    config: Arc<ServerConfig>,
}

impl WssOptions {
    /// The server side. libzmq asserts (aborts) on an unusable certificate
    /// or key; the I/O layer should fail the bind instead (EINVAL).
    pub fn server(&self) -> Result<WssServer, TlsError> {
        let certs = certs_from_pem(&self.cert_pem)?;
        if certs.is_empty() {
            return Err(TlsError::NoCertificate);
        }
        let key = PrivateKeyDer::from_pem_slice(&self.key_pem).map_err(|_| TlsError::BadKey)?;
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Rustls)?
            .with_no_client_auth()
            .with_single_cert(certs, key)
            .map_err(TlsError::Rustls)?;
        Ok(WssServer {
            config: Arc::new(config),
        })
    }

    /// The client side: trust anchors from ZMQ_WSS_TRUST_PEM and (with
    /// ZMQ_WSS_TRUST_SYSTEM) the system store, and ZMQ_WSS_HOSTNAME.
    /// System certificates that fail to load are skipped, as GnuTLS does.
    pub fn client(&self) -> Result<WssClient, TlsError> {
        let mut trusted = certs_from_pem(&self.trust_pem)?;
        if self.trust_system {
            trusted.extend(rustls_native_certs::load_native_certs().certs);
        }
        let mut roots = RootCertStore::empty();
        roots.add_parsable_certificates(trusted.iter().cloned());
        let provider = provider();
        let hostname = if self.hostname.is_empty() {
            None
        } else {
            Some(ServerName::try_from(self.hostname.clone()).map_err(|_| TlsError::BadHostname)?)
        };
        let verifier = GnutlsLikeVerifier {
            roots: Arc::new(roots),
            trusted,
            hostname: hostname.clone(),
            algs: provider.signature_verification_algorithms,
        };
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(TlsError::Rustls)?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        // No hostname: no SNI (libzmq sets none); rustls still wants a name,
        // which the verifier then ignores.
        config.enable_sni = hostname.is_some();
        Ok(WssClient {
            config: Arc::new(config),
            server_name: hostname.unwrap_or(ServerName::IpAddress(
                IpAddr::V4(Ipv4Addr::UNSPECIFIED).into(),
            )),
        })
    }
}

/// Server certificate checks with GnuTLS's outcomes (see the module doc).
struct GnutlsLikeVerifier {
    roots: Arc<RootCertStore>,
    trusted: Vec<CertificateDer<'static>>,
    hostname: Option<ServerName<'static>>,
    algs: WebPkiSupportedAlgorithms,
}

impl fmt::Debug for GnutlsLikeVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GnutlsLikeVerifier")
            .field("trusted", &self.trusted.len())
            .field("hostname", &self.hostname)
            .finish()
    }
}

impl ServerCertVerifier for GnutlsLikeVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let info = x509::parse(end_entity.as_ref()).ok_or(rustls::Error::InvalidCertificate(
            CertificateError::BadEncoding,
        ))?;
        let parsed = ParsedCertificate::try_from(end_entity)?;
        if self
            .trusted
            .iter()
            .any(|t| t.as_ref() == end_entity.as_ref())
        {
            let now = i64::try_from(now.as_secs()).unwrap_or(i64::MAX);
            if now < info.not_before {
                return Err(CertificateError::NotValidYet.into());
            }
            if now > info.not_after {
                return Err(CertificateError::Expired.into());
            }
        } else {
            verify_server_cert_signed_by_trust_anchor(
                &parsed,
                &self.roots,
                intermediates,
                now,
                self.algs.all,
            )?;
        }
        let Some(name) = &self.hostname else {
            return Ok(ServerCertVerified::assertion());
        };
        let (san, text) = match name {
            ServerName::DnsName(d) => (info.san_dns, d.as_ref().to_string()),
            ServerName::IpAddress(ip) => (info.san_ip, IpAddr::from(*ip).to_string()),
            _ => (true, String::new()),
        };
        if san {
            verify_server_name(&parsed, name)?;
        } else if !info
            .common_names
            .iter()
            .any(|cn| x509::cn_matches(cn, &text))
        {
            return Err(CertificateError::NotValidForName.into());
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algs)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algs.supported_schemes()
    }
}

/// Ciphertext read from the socket and not yet taken by rustls.
const TLS_IN_SIZE: usize = 32 * 1024;

/// A wss:// connection: TLS records on the socket side, a [`WsEngine`]
/// on the other. Same driver interface as every engine.
pub struct WssEngine {
    tls: Connection,
    ws: WsEngine,
    tls_in: Box<[u8]>,
    in_start: usize,
    in_end: usize,
    tls_out: Vec<u8>,
    out_pos: usize,
    /// Plaintext is moved into rustls only while less than this much
    /// ciphertext waits for the socket.
    out_high_water: usize,
    /// The peer closed the TLS session (close_notify).
    eof: bool,
    error: Option<EngineError>,
}

impl WssEngine {
    /// The connecting side over `client`, asking for `path` on `host`.
    pub fn client(
        client: &WssClient,
        cfg: EngineConfig,
        host: &str,
        path: &str,
        now: Instant,
    ) -> Result<WssEngine, TlsError> {
        let conn = ClientConnection::new(Arc::clone(&client.config), client.server_name.clone())
            .map_err(TlsError::Rustls)?;
        let ws = WsEngine::client(cfg, host, path, now);
        Ok(WssEngine::new(Connection::Client(conn), ws))
    }

    /// The accepting side over `server`.
    pub fn server(
        server: &WssServer,
        cfg: EngineConfig,
        now: Instant,
    ) -> Result<WssEngine, TlsError> {
        let conn = ServerConnection::new(Arc::clone(&server.config)).map_err(TlsError::Rustls)?;
        let ws = WsEngine::server(cfg, now);
        Ok(WssEngine::new(Connection::Server(conn), ws))
    }

    /// Wraps an already built ws engine (tests: fixed nonces and masks).
    pub fn with_engine(tls: Connection, ws: WsEngine, out_batch_size: usize) -> WssEngine {
        let mut e = WssEngine::new(tls, ws);
        e.out_high_water = out_batch_size.max(1);
        e
    }

    fn new(tls: Connection, ws: WsEngine) -> WssEngine {
        let mut e = WssEngine {
            tls,
            ws,
            tls_in: vec![0u8; TLS_IN_SIZE].into_boxed_slice(),
            in_start: 0,
            in_end: 0,
            tls_out: Vec::new(),
            out_pos: 0,
            out_high_water: 8192,
            eof: false,
            error: None,
        };
        // The client's ClientHello (and its GET, sent once the session is
        // up).
        e.flush_out();
        e
    }

    /// The ws engine inside.
    pub fn ws(&self) -> &WsEngine {
        &self.ws
    }

    fn fail(&mut self, reason: ErrorReason) -> EngineError {
        let e = EngineError {
            reason,
            handshaked: !self.ws.is_handshaking(),
        };
        self.error = Some(e);
        e
    }

    // ---- input ----------------------------------------------------------

    /// Where the next ciphertext should be written.
    pub fn read_buf(&mut self) -> &mut [u8] {
        if self.error.is_some() || self.eof {
            return &mut [];
        }
        if self.in_start > 0 {
            self.tls_in.copy_within(self.in_start..self.in_end, 0);
            self.in_end -= self.in_start;
            self.in_start = 0;
        }
        &mut self.tls_in[self.in_end..]
    }

    /// Records `n` bytes of ciphertext read into `read_buf`.
    pub fn advance_read(&mut self, n: usize, now: Instant) -> Result<(), EngineError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        self.in_end = (self.in_end + n).min(self.tls_in.len());
        let r = self.pump_in(now).map(|_| ());
        self.flush_out();
        r
    }

    /// Feeds ciphertext already in hand.
    pub fn feed(&mut self, mut data: &[u8], now: Instant) -> Result<(), EngineError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        while !data.is_empty() {
            let buf = self.read_buf();
            let n = buf.len().min(data.len());
            if n == 0 {
                return Ok(());
            }
            buf[..n].copy_from_slice(&data[..n]);
            self.advance_read(n, now)?;
            data = &data[n..];
        }
        Ok(())
    }

    /// Whether more ciphertext is taken now.
    pub fn wants_input(&mut self) -> bool {
        self.error.is_none() && !self.read_buf().is_empty()
    }

    /// Moves ciphertext into rustls and plaintext into the ws engine as far
    /// as both go. Returns whether any plaintext moved.
    fn pump_in(&mut self, now: Instant) -> Result<bool, EngineError> {
        let mut moved_any = false;
        loop {
            let moved = self.move_plaintext(now)?;
            moved_any |= moved;
            let mut took = 0;
            if self.in_start < self.in_end && !self.eof {
                let mut src = &self.tls_in[self.in_start..self.in_end];
                // Err: rustls's buffer is full until plaintext is taken.
                took = self.tls.read_tls(&mut src).unwrap_or(0);
                self.in_start += took;
                if self.in_start == self.in_end {
                    self.in_start = 0;
                    self.in_end = 0;
                }
                match self.tls.process_new_packets() {
                    Ok(state) => {
                        if state.peer_has_closed() && state.plaintext_bytes_to_read() == 0 {
                            self.eof = true;
                        }
                    }
                    Err(_) => {
                        // Let the alert reach the peer if the driver
                        // writes before closing.
                        self.flush_out();
                        return Err(self.fail(ErrorReason::Connection));
                    }
                }
            }
            if !moved && took == 0 {
                return Ok(moved_any);
            }
        }
    }

    fn move_plaintext(&mut self, now: Instant) -> Result<bool, EngineError> {
        let mut moved = false;
        loop {
            let buf = self.ws.read_buf();
            if buf.is_empty() {
                return Ok(moved);
            }
            match self.tls.reader().read(buf) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(moved);
                }
                Ok(n) => {
                    moved = true;
                    self.ws.advance_read(n, now)?;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Ok(moved),
                // The peer closed the TCP stream without close_notify.
                Err(_) => return Err(self.fail(ErrorReason::Connection)),
            }
        }
    }

    /// The next message for the session.
    pub fn next_msg(&mut self, now: Instant) -> Result<Option<Message>, EngineError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let r = loop {
            match self.ws.next_msg(now) {
                Ok(Some(m)) => break Ok(Some(m)),
                Err(e) => break Err(e),
                Ok(None) => {}
            }
            match self.pump_in(now) {
                Ok(true) => continue,
                Ok(false) if self.eof => break Err(self.fail(ErrorReason::Connection)),
                Ok(false) => break Ok(None),
                Err(e) => break Err(e),
            }
        };
        self.flush_out();
        r
    }

    /// The next event for the session.
    pub fn poll_event(&mut self) -> Option<EngineEvent> {
        self.ws.poll_event()
    }

    /// Whether the TLS, HTTP or mechanism handshake is still under way.
    pub fn is_handshaking(&self) -> bool {
        self.tls.is_handshaking() || self.ws.is_handshaking()
    }

    /// Always false (see [`WsEngine::is_raw`]).
    pub fn is_raw(&self) -> bool {
        false
    }

    /// The ZAP handler's reply.
    pub fn zap_reply(&mut self, frames: &[Message], now: Instant) -> Result<(), EngineError> {
        let r = self.ws.zap_reply(frames, now);
        self.flush_out();
        r
    }

    /// No ZAP handler could take the request.
    pub fn zap_unavailable(&mut self) -> EngineError {
        self.ws.zap_unavailable()
    }

    /// Fails the connection for a protocol error found above the engine.
    pub fn protocol_error(&mut self) -> EngineError {
        self.ws.protocol_error()
    }

    /// The metadata attached to received messages.
    pub fn metadata(&self) -> Option<&Arc<Metadata>> {
        self.ws.metadata()
    }

    // ---- output ---------------------------------------------------------

    /// Moves the ws engine's output through rustls into `tls_out`.
    fn flush_out(&mut self) {
        while self.ws.pending_output() > 0
            && self.tls_out.len() - self.out_pos < self.out_high_water
        {
            let n = {
                let mut slices = [IoSlice::new(&[]); 16];
                let k = self.ws.output(&mut slices);
                self.tls.writer().write_vectored(&slices[..k]).unwrap_or(0)
            };
            if n == 0 {
                break;
            }
            self.ws.advance_write(n);
            self.drain_tls();
        }
        self.drain_tls();
    }

    fn drain_tls(&mut self) {
        while self.tls.wants_write() {
            match self.tls.write_tls(&mut self.tls_out) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }

    /// Whether the session may hand over messages now.
    pub fn can_send(&self) -> bool {
        self.error.is_none()
            && self.ws.can_send()
            && self.tls_out.len() - self.out_pos < self.out_high_water
    }

    /// Encodes a message from the session.
    pub fn send_msg(&mut self, msg: Message) {
        self.ws.send_msg(msg);
        self.flush_out();
    }

    /// Bytes waiting to be written (ciphertext, and plaintext not yet
    /// encrypted).
    pub fn pending_output(&self) -> usize {
        self.tls_out.len() - self.out_pos + self.ws.pending_output()
    }

    /// The ciphertext to write next.
    pub fn output<'a>(&'a self, slices: &mut [IoSlice<'a>]) -> usize {
        match slices.first_mut() {
            Some(s) if self.out_pos < self.tls_out.len() => {
                *s = IoSlice::new(&self.tls_out[self.out_pos..]);
                1
            }
            _ => 0,
        }
    }

    /// Records that `n` bytes of ciphertext were written.
    pub fn advance_write(&mut self, n: usize) {
        self.out_pos = (self.out_pos + n).min(self.tls_out.len());
        if self.out_pos == self.tls_out.len() {
            self.tls_out.clear();
            self.out_pos = 0;
        }
        self.flush_out();
    }

    /// All pending ciphertext as one vector (tests).
    pub fn take_output(&mut self) -> Vec<u8> {
        self.flush_out();
        let mut all = Vec::new();
        loop {
            let chunk = self.tls_out.split_off(self.out_pos);
            self.tls_out.clear();
            self.out_pos = 0;
            if chunk.is_empty() {
                return all;
            }
            all.extend_from_slice(&chunk);
            self.flush_out();
        }
    }

    // ---- time -----------------------------------------------------------

    /// The next deadline for `on_timer` (the ws engine's handshake deadline
    /// runs from the TCP connection on, so it bounds TLS too).
    pub fn next_timeout(&self) -> Option<Instant> {
        self.ws.next_timeout()
    }

    /// Handles deadlines that have passed.
    pub fn on_timer(&mut self, now: Instant) -> Result<(), EngineError> {
        if let Some(e) = self.error {
            return Err(e);
        }
        let r = self.ws.on_timer(now);
        self.flush_out();
        r
    }
}
