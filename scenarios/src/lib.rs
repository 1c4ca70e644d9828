//! Scenario packages: their format, validation, metrics and ranking rules.
//!
//! The public API, by what a caller wants:
//!
//! - Read and check a package: [`package::validate`]`(&Path)` returns a
//!   [`package::ScenarioPackage`] (its [`package::Manifest`] and set sizes) or a
//!   [`package::ValidationReport`] listing every [`package::Problem`] found (file, field,
//!   a [`package::ProblemCode`] with its parameters for pages in other languages, and the
//!   English message; `Display` prints them all). [`package::validate_bundle`] is the same check
//!   without the files only people read, for workers; [`package::read_records`] and
//!   [`package::read_labels`] read an inputs and a labels file.
//! - Serve a package's downloads: [`package::public_files`], the plain files under
//!   `public/` and nothing else.
//! - Score: [`metrics::compute`] (accuracy, macro-F1, ROC AUC, RMSE, MAE, MAPE, matching
//!   scikit-learn) over [`metrics::Pairs`], [`metrics::bootstrap_interval`] for a seeded
//!   95 % interval, [`metrics::class_of`] to compare classes however they are spelt.
//! - Tell whether one run truly scores better than another on the same items:
//!   [`significance::paired_bootstrap`] (a probability; below
//!   [`significance::SIGNIFICANCE`] the two are statistically tied).
//! - Split the hidden set into the public and private boards' parts:
//!   [`split::split_ids`] / [`split::is_public`], stable across platforms and versions.
//! - Order a leaderboard: [`ranking::rank`] over [`ranking::Entry`] rows.
//! - Closed sets of values kept as text: [`text_enum!`] and its database mapping [`text_sql!`].
//! - Errors at the crate boundary: [`ScenarioError`].

pub mod error;
pub mod metrics;
pub mod package;
pub mod ranking;
pub mod significance;
pub mod split;
pub mod text;

pub use error::ScenarioError;
