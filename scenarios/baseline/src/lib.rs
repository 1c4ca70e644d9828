//! The reference solution of the catalog's scenarios: a linear model trained on a package's
//! public training set (`public/train/`), served through the Open Inference Protocol in
//! serve mode or run over `/input` in batch mode.
//!
//! - [`model::Model::train`] fits logistic regression (two classes), nearest centroid (more
//!   classes) or ridge regression (numbers) as the scenario's metric asks; the model is
//!   saved as JSON.
//! - [`accelerators::seen`] lists the devices the container was given, logged at start.
//! - [`server::serve`] answers `GET /v2/health/ready`, `GET /v2/models/{model}` and
//!   `POST /v2/models/{model}/infer`.
//! - [`batch::run`] reads `/input/inputs.jsonl` and writes `/output/predictions.jsonl`.
//! - [`score`] scores a model on a labelled set with the platform's own metrics, so a team
//!   can check it against the public samples before submitting.

pub mod accelerators;
pub mod batch;
pub mod data;
pub mod error;
mod linalg;
pub mod model;
pub mod server;

use std::path::Path;

use jiebang_scenarios::metrics;
use jiebang_scenarios::package::Manifest;

use crate::data::read_set;
use crate::error::BaselineError;
use crate::model::{Model, TrainOptions, pairs};

/// Reads and checks the package at `root`, listing every problem if it is not valid.
pub fn manifest(root: &Path) -> Result<Manifest, BaselineError> {
    jiebang_scenarios::package::validate(root)
        .map(|package| package.manifest)
        .map_err(|report| BaselineError::Package(report.to_string()))
}

/// Trains on the package's `public/train/` set.
pub fn train(root: &Path, options: TrainOptions) -> Result<Model, BaselineError> {
    let manifest = manifest(root)?;
    let tensor = manifest
        .task
        .inputs
        .first()
        .map(|t| t.name.clone())
        .unwrap_or_default();
    let set = read_set(&root.join("public/train"), &tensor)?;
    Model::train(&manifest, &set, options)
}

/// The scenario's metric of `model` on the labelled set in `dir`, and the number of items.
pub fn score(
    model: &Model,
    root: &Path,
    dir: &Path,
) -> Result<(&'static str, f64, usize), BaselineError> {
    let manifest = manifest(root)?;
    let set = read_set(dir, &model.input.name)?;
    let labels = set
        .labels
        .ok_or_else(|| BaselineError::Model(format!("{} has no labels.jsonl", dir.display())))?;
    let predictions = set
        .rows
        .iter()
        .map(|row| model.predict(row).map_err(BaselineError::Model))
        .collect::<Result<Vec<_>, _>>()?;
    let metric = manifest.metric.name;
    let value = metrics::compute(metric, &pairs(metric, &labels, &predictions))
        .map_err(|e| BaselineError::Model(e.to_string()))?;
    Ok((metric.as_str(), value, labels.len()))
}

/// Reads a model written by `train`.
pub fn load_model(path: &Path) -> Result<Model, BaselineError> {
    let text = std::fs::read_to_string(path).map_err(|e| BaselineError::io(path, e))?;
    serde_json::from_str(&text).map_err(|source| BaselineError::ModelFile {
        path: path.to_path_buf(),
        source,
    })
}
