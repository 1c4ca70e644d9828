//! The evaluator's error type.

/// What can go wrong while evaluating a submission.
#[derive(Debug, thiserror::Error)]
pub enum EvaluatorError {
    /// The server under test could not be reached at all.
    #[error("cannot connect to {address}: {source}")]
    Connect {
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
    /// The load specification cannot be run (no inputs, a zero rate, …).
    #[error("invalid load specification: {0}")]
    InvalidSpec(String),
    /// A request could not be encoded.
    #[error("cannot encode a request: {0}")]
    Encode(String),
    /// The platform refused a request or could not be reached.
    #[error("platform: {0}")]
    Platform(String),
    /// A downloaded file's content does not match the digest it was asked for.
    #[error("downloaded {expected} but the content hashes to {actual}")]
    DigestMismatch { expected: String, actual: String },
    /// An I/O failure of the harness itself, not of the server under test.
    #[error("harness I/O: {0}")]
    Io(#[from] std::io::Error),
}
