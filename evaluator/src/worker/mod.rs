//! The worker's side of the worker API: registration, claims, heartbeats, downloads.

pub mod cache;
pub mod client;
pub mod pinning;
pub mod result;
pub mod run;
pub mod stop;
pub mod utilisation;

pub use cache::BlobCache;
pub use client::PlatformClient;
pub use run::{Once, Trial, WorkerConfig, run_once, run_worker};
