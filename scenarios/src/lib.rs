//! Scenario packages: their format, validation, metrics and ranking rules.
//!
//! - [`package::validate`] reads a package folder and returns the [`package::ScenarioPackage`]
//!   or a [`package::ValidationReport`] listing every problem found.
//! - [`metrics`] computes the primary metrics and their bootstrap confidence intervals.
//! - [`split`] splits the hidden set into public and private parts, deterministically.
//! - [`ranking`] orders a leaderboard.

pub mod error;
pub mod metrics;
pub mod package;
pub mod ranking;
pub mod split;

pub use error::ScenarioError;
