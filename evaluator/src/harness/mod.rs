//! The harness: load patterns after MLPerf LoadGen, latency from the scheduled send time.

pub mod answer;
pub mod connection;
pub mod http_answer;
pub mod loadgen;
pub mod measure;
pub mod metadata;
pub mod null_server;
pub mod oip;
pub mod procfs;
pub mod quality;
pub mod report;
pub mod schedule;
pub mod verdict;

pub use loadgen::{
    Keep, LoadSpec, Pattern, QueryOutcome, QueryRecord, RunResult, keep_nothing, run,
};
pub use report::LatencySummary;
