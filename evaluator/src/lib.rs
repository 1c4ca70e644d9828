//! The worker side of Jiebang: claims jobs, drives the harness, scores and reports.
//!
//! The [`harness`] sends a scenario's inputs to a submission's inference server following
//! the scenario's load pattern and measures every latency from its scheduled send time;
//! the [`pipeline`] runs a whole evaluation; the [`worker`] claims jobs from the platform.
//! [`protocol`] holds every message of the worker API and the report, which the platform
//! uses as they are.

pub mod error;
pub mod harness;
pub mod pipeline;
pub mod protocol;
pub mod worker;

pub use error::EvaluatorError;
