//! The scenario package: the folder a department publishes, and its validation.
//!
//! ```text
//! scenario.toml                  the manifest (see [`Manifest`])
//! public/README.md               what teams read first
//! public/samples/inputs.jsonl    sample inputs for the sample run and warm-up
//! public/samples/labels.jsonl    their labels
//! public/…                       any other public files (training data)
//! hidden/inputs.jsonl            the hidden test set; never served to teams
//! hidden/labels.jsonl            its labels; never leave the platform and its workers
//! baseline/                      a reference solution that meets the contract
//! ```
//!
//! Each line of an inputs file is `{"id": "…", "inputs": {"<tensor>": <data>}}`, the data
//! nested as the tensor's shape or flat; each line of a labels file is
//! `{"id": "…", "label": …}`: a class (string, integer or boolean; 0/1 for ROC AUC) for the
//! classification metrics, a number for the regression ones. Ids are unique within a set,
//! and no hidden id is also a sample id. The hidden set is split into the public and
//! private boards' parts by [`crate::split`], from its ids and `[split]`.
//!
//! Teams may download exactly [`public_files`]: the plain files under `public/`.

mod codes;
mod data_checks;
mod files;
mod manifest;
mod manifest_checks;
mod validate;

pub use codes::ProblemCode;
pub use data_checks::{Label, Record};
pub use files::{public_files, read_labels, read_records};
pub use manifest::{
    Bounty, DataProvenance, Direction, Latency, Limits, Load, Manifest, MetricName, MetricSpec,
    Mode, OverBudget, Phase, Quota, Resources, Split, Task, TensorSpec, Text,
};
pub use manifest_checks::{DATATYPES, MIN_BUDGET_MS, early_stopping_minimum, is_slug};
pub use validate::{Problem, ScenarioPackage, ValidationReport, validate, validate_bundle};
