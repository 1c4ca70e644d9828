//! The scenario package: a folder a department publishes.
//!
//! ```text
//! scenario.toml                  the manifest (see [`Manifest`])
//! public/README.md               what teams read first
//! public/samples/inputs.jsonl    sample inputs teams may download: {"id", "inputs": {tensor: data}}
//! public/samples/labels.jsonl    their labels: {"id", "label"}
//! public/…                       any other public files (training data)
//! hidden/inputs.jsonl            the hidden test set, same form; never served to teams
//! hidden/labels.jsonl            its labels; never leave the platform and its workers
//! baseline/                      a reference solution
//! ```

mod manifest;
mod validate;

pub use manifest::{
    Bounty, DataProvenance, Direction, Latency, Limits, Load, Manifest, MetricName, MetricSpec,
    Mode, OverBudget, Phase, Quota, Resources, Split, Task, TensorSpec, Text,
};
pub use validate::{
    Problem, Record, ScenarioPackage, ValidationReport, read_records, validate, validate_bundle,
};

/// The files a team may download: everything under `public/`, never `hidden/`.
pub fn public_files(package: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![package.join("public")];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() {
                files.push(entry.path());
            }
        }
    }
    files.sort();
    files
}
