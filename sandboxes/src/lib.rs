//! The sandbox boundary: runs untrusted submission images in hardened Docker containers.
//!
//! [`Sandbox::connect`] reaches the engine; [`Sandbox::import_archive`] checks and loads a
//! `docker save` archive; [`Sandbox::run_batch`] and [`Sandbox::start_service`] run it
//! under the policy of [`policy`]; [`accelerators::Allocator`] hands out devices; every
//! object is removed afterwards, and [`Sandbox::sweep`] removes what a crash left.

pub mod accelerators;
pub mod archive;
pub mod cgroup;
pub mod cleanup;
pub mod config;
pub mod engine;
pub mod error;
pub mod firewall;
pub mod import;
pub mod monitor;
pub mod output;
pub mod policy;
pub mod repack;
pub mod run;
pub mod testing;
pub mod uncompressed;

pub use cgroup::ContainerCgroup;
pub use config::{ImportLimits, SandboxConfig};
pub use error::SandboxError;
pub use import::ImportedImage;
pub use policy::{Limits, Mode, RunSpec};
pub use run::{RunOutcome, RunningService, Sandbox, Termination};
