//! The scenarios crate's error type.

/// What can go wrong in this crate.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// A package has problems; the report lists every one.
    #[error("{0}")]
    Invalid(#[from] crate::package::ValidationReport),
    /// A metric cannot be computed on these predictions (no positives for ROC AUC, …).
    #[error("metric {metric}: {reason}")]
    Metric {
        metric: &'static str,
        reason: String,
    },
    /// A file of the package could not be read.
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}
