//! The worker side of Jiebang: claims jobs, drives the harness, scores and reports.
//!
//! The [`harness`] sends a scenario's inputs to a submission's inference server following
//! the scenario's load pattern and measures every latency from its scheduled send time.

pub mod error;
pub mod harness;
pub mod pipeline;
pub mod worker;

pub use error::EvaluatorError;
