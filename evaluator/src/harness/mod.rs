//! The harness: load patterns after MLPerf LoadGen, latency from the scheduled send time.

pub mod connection;
pub mod loadgen;
pub mod null_server;
pub mod oip;
pub mod report;
pub mod schedule;
pub mod verdict;

pub use loadgen::{LoadSpec, Pattern, QueryOutcome, QueryRecord, RunResult, run};
pub use report::LatencySummary;
