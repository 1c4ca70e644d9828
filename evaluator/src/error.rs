//! The evaluator's error type: one enum at the crate's boundary, each failure with its
//! typed source.

use std::net::SocketAddr;
use std::path::PathBuf;

use jiebang_sandboxes::SandboxError;
use jiebang_scenarios::ScenarioError;

/// What can go wrong while a worker talks to the platform or evaluates a submission.
/// Every one of these is an infrastructure failure but [`EvaluatorError::submission_fault`];
/// a submission's other failures are written into its report.
#[derive(Debug, thiserror::Error)]
pub enum EvaluatorError {
    /// The server under test could not be reached at all.
    #[error("cannot connect to {address}: {source}")]
    Connect {
        address: SocketAddr,
        source: std::io::Error,
    },
    /// The load specification cannot be run (no inputs, a zero rate, …).
    #[error("invalid load specification: {0}")]
    InvalidSpec(String),
    /// A CPU list is not one such as `0-1,4`.
    #[error("`{0}` is not a CPU list such as 0-1,4")]
    CpuList(String),
    /// The harness's threads cannot be pinned to these CPUs.
    #[error("cannot pin the harness to CPUs {cpus:?}: {source}")]
    Pinning {
        cpus: Vec<usize>,
        source: nix::errno::Errno,
    },
    /// A message could not be encoded as JSON, or an answer of the platform decoded.
    #[error("JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The platform could not be reached, or the exchange broke off.
    #[error("platform: {0}")]
    Http(#[from] reqwest::Error),
    /// The platform answered with an error status; the message is the platform's own.
    #[error("platform answered {status}: {message}")]
    Platform {
        status: reqwest::StatusCode,
        message: String,
    },
    /// A digest named by the platform is not `sha256:` and 64 lowercase hex digits.
    #[error("malformed digest `{0}`")]
    MalformedDigest(String),
    /// A downloaded file's content does not match the digest it was asked for.
    #[error("downloaded {expected} but the content hashes to {actual}")]
    DigestMismatch { expected: String, actual: String },
    /// The sandbox refused or failed (Docker, the image archive, accelerators).
    #[error("sandbox: {0}")]
    Sandbox(#[from] SandboxError),
    /// A data file of the scenario's bundle cannot be read (inputs or labels).
    #[error("scenario data: {0}")]
    Scenario(#[from] ScenarioError),
    /// A local file or folder (the download cache, an unpacked bundle) failed.
    #[error("{}: {source}", path.display())]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Other local I/O of the worker itself (sockets, temporary folders, the runtime),
    /// not of the server under test.
    #[error("worker I/O: {0}")]
    Io(#[from] std::io::Error),
    /// A background task (a download's verification) panicked or was cancelled.
    #[error("background task: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl EvaluatorError {
    /// The submission's own fault, when the sandbox found one (an image that cannot start,
    /// an /output past its caps): charged to the submission, never retried.
    pub fn submission_fault(&self) -> Option<&str> {
        match self {
            Self::Sandbox(SandboxError::Submission(reason)) => Some(reason),
            _ => None,
        }
    }

    /// Names the run (`sample`, `hidden`) in a submission's fault, for `map_err`; any other
    /// error passes unchanged.
    pub fn in_run(run: &str) -> impl FnOnce(SandboxError) -> Self {
        let run = run.to_owned();
        move |error| match error {
            SandboxError::Submission(reason) => {
                Self::Sandbox(SandboxError::Submission(format!("{run} run: {reason}")))
            }
            other => Self::Sandbox(other),
        }
    }

    /// An I/O failure on `path`, for `map_err`.
    pub fn file(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::File { path, source }
    }
}
