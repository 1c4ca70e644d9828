//! The baseline's one error type.

use std::path::PathBuf;

/// Everything that can stop the baseline, each naming what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The scenario package is not valid; every problem is listed.
    #[error("{0}")]
    Package(String),
    /// A data file cannot be read (a line that is not an input or a label record).
    #[error(transparent)]
    DataFile(#[from] jiebang_scenarios::ScenarioError),
    /// A data line does not fit the task (wrong tensor, wrong width, a label that is not a number).
    #[error("{file}: {message}")]
    Data { file: String, message: String },
    /// The model cannot be trained or used for this task.
    #[error("{0}")]
    Model(String),
    /// A model file is not one this program wrote.
    #[error("model file {path}: {source}")]
    ModelFile {
        path: PathBuf,
        source: serde_json::Error,
    },
}

impl BaselineError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
