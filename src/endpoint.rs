//! What names one connection: its local and remote endpoints. Plain data,
//! carried by pipes (for zmq_disconnect and ZMQ_EVENT_PIPES_STATS) and by
//! monitor events; a leaf, so that both can use it.

/// The two ends of a connection as monitor events name them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct EndpointPair {
    pub local: String,
    pub remote: String,
    /// Whether the local end is a bind (else a connect, or neither).
    pub bound: bool,
}

impl EndpointPair {
    /// The endpoint a version-1 event names: the bound address for binds,
    /// the connected address for connects.
    pub fn identifier(&self) -> &str {
        if self.bound {
            &self.local
        } else {
            &self.remote
        }
    }
}
