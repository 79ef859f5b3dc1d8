//! What runs on a connection: the ZMTP engine (tcp, ipc), or ZWS 2.0 over a
//! WebSocket (ws://), inside TLS for wss://. The kind is fixed when the
//! connection starts ([`EngineKind`]). The driver dispatches on it once per
//! round of moving data (see `conn.rs`), not once per call, so the tcp path
//! runs the ZMTP engine's own code, monomorphised.

use std::time::Instant;

use crate::msg::{Message, Metadata};
use crate::ws::{StreamEngine, WsEngine, WssEngine};
use crate::zmtp::engine::{Engine, EngineConfig, EngineError, EngineEvent};
use std::sync::Arc;

/// The engine of one connection. The ZMTP engine stays inline (the tcp
/// path pays no indirection); the rarer ws engines are boxed.
#[allow(clippy::large_enum_variant)]
pub(crate) enum AnyEngine {
    Zmtp(Engine),
    Ws(Box<WsEngine>),
    Wss(Box<WssEngine>),
}

/// Runs `$body` with `$e` bound to the engine inside, whatever its kind.
macro_rules! with_engine {
    ($engine:expr, $e:ident => $body:expr) => {
        match $engine {
            AnyEngine::Zmtp($e) => $body,
            AnyEngine::Ws($e) => $body,
            AnyEngine::Wss($e) => $body,
        }
    };
}
pub(crate) use with_engine;

impl AnyEngine {
    /// See [`StreamEngine::feed`].
    pub fn feed(&mut self, data: &[u8], now: Instant) -> Result<(), EngineError> {
        with_engine!(self, e => e.feed(data, now))
    }
    /// See [`StreamEngine::poll_event`].
    pub fn poll_event(&mut self) -> Option<EngineEvent> {
        with_engine!(self, e => e.poll_event())
    }
    /// See [`StreamEngine::pending_output`].
    pub fn pending_output(&self) -> usize {
        with_engine!(self, e => e.pending_output())
    }
    /// See [`StreamEngine::next_timeout`].
    pub fn next_timeout(&self) -> Option<Instant> {
        with_engine!(self, e => e.next_timeout())
    }
    /// See [`StreamEngine::on_timer`].
    pub fn on_timer(&mut self, now: Instant) -> Result<(), EngineError> {
        with_engine!(self, e => e.on_timer(now))
    }
    /// See [`StreamEngine::zap_reply`].
    pub fn zap_reply(&mut self, frames: &[Message], now: Instant) -> Result<(), EngineError> {
        with_engine!(self, e => e.zap_reply(frames, now))
    }
    /// See [`StreamEngine::zap_unavailable`].
    pub fn zap_unavailable(&mut self) -> EngineError {
        with_engine!(self, e => e.zap_unavailable())
    }
    /// See [`StreamEngine::is_handshaking`].
    pub fn is_handshaking(&self) -> bool {
        with_engine!(self, e => e.is_handshaking())
    }
    /// See [`StreamEngine::is_raw`].
    pub fn is_raw(&self) -> bool {
        with_engine!(self, e => e.is_raw())
    }
    /// See [`StreamEngine::metadata`].
    pub fn metadata(&self) -> Option<&Arc<Metadata>> {
        with_engine!(self, e => e.metadata())
    }
}

/// How a new connection's engine is made: by a listener for the
/// connections it accepts, by a connecter for the ones it makes.
#[derive(Clone)]
pub(crate) enum EngineKind {
    /// ZMTP (tcp, ipc).
    Zmtp,
    /// The accepting side of ws; of wss with a TLS server configuration.
    WsServer(Option<crate::ws::tls::WssServer>),
    /// The connecting side of ws (wss with a TLS client configuration),
    /// asking for `path` on `host`.
    WsClient {
        host: String,
        path: String,
        tls: Option<crate::ws::tls::WssClient>,
    },
}

impl EngineKind {
    /// The engine for a new connection. A TLS session that cannot be set up
    /// fails the connection.
    pub fn build(&self, cfg: EngineConfig, now: Instant) -> Result<AnyEngine, EngineError> {
        Ok(match self {
            EngineKind::Zmtp => AnyEngine::Zmtp(Engine::new(cfg, now)),
            EngineKind::WsServer(None) => AnyEngine::Ws(Box::new(WsEngine::server(cfg, now))),
            EngineKind::WsServer(Some(tls)) => AnyEngine::Wss(Box::new(
                WssEngine::server(tls, cfg, now).map_err(|_| EngineError::connection())?,
            )),
            EngineKind::WsClient {
                host,
                path,
                tls: None,
            } => AnyEngine::Ws(Box::new(WsEngine::client(cfg, host, path, now))),
            EngineKind::WsClient {
                host,
                path,
                tls: Some(tls),
            } => AnyEngine::Wss(Box::new(
                WssEngine::client(tls, cfg, host, path, now)
                    .map_err(|_| EngineError::connection())?,
            )),
        })
    }
}
