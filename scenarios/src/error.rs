//! The scenarios crate's error type.

use std::path::PathBuf;

/// What can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// A package has problems; the report lists every one. Lets a caller `?` the result
    /// of [`crate::package::validate`] into this type.
    #[error("{0}")]
    Invalid(#[from] crate::package::ValidationReport),
    /// A metric has no value over these pairs: nothing to score, one class only for ROC
    /// AUC, or predictions of another kind than the metric compares.
    #[error("metric {metric}: {reason}")]
    Metric {
        /// The metric's name as `scenario.toml` spells it (`roc_auc`).
        metric: &'static str,
        reason: String,
    },
    /// A data file of a package (inputs or labels, one JSON object a line) cannot be read;
    /// the message names the first bad line.
    #[error("{}: {message}", path.display())]
    DataFile { path: PathBuf, message: String },
}
