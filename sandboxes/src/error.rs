//! The sandbox crate's error type.

/// What can go wrong at the sandbox boundary.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// The image archive was refused before loading; the message names the reason.
    #[error("image archive refused: {0}")]
    Archive(String),
    /// The run specification asks for something the policy does not allow.
    #[error("run specification refused: {0}")]
    Spec(String),
    /// Accelerators were asked for that the node does not have free.
    #[error("accelerators: {0}")]
    Accelerators(String),
    /// The Docker engine refused or failed a request.
    #[error("docker: {0}")]
    Docker(#[from] bollard::errors::Error),
    /// The Docker engine cannot be reached at all.
    #[error("the Docker engine is unreachable: {0}")]
    Unreachable(String),
    /// Local I/O (reading the archive, measuring the output directory).
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}
