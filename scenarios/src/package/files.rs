//! Walking a package's files: what teams may download, and JSON-lines reading (the one
//! reader of inputs and labels files, for the checks, the evaluator and the baseline).

use std::collections::HashMap;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::codes::ProblemCode;
use super::data_checks::{Label, Record};
use super::validate::Collector;
use crate::ScenarioError;

/// What is under `public/`: plain files, and symbolic links (never served: one could
/// point into `hidden/`).
#[derive(Debug, Default)]
pub(super) struct PublicTree {
    pub files: Vec<PathBuf>,
    pub links: Vec<PathBuf>,
}

pub(super) fn walk_public(package: &Path) -> PublicTree {
    let mut tree = PublicTree::default();
    let mut pending = vec![package.join("public")];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            // `file_type` does not follow links, so a link is seen as a link.
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_symlink() {
                tree.links.push(entry.path());
            } else if kind.is_dir() {
                pending.push(entry.path());
            } else if kind.is_file() {
                tree.files.push(entry.path());
            }
        }
    }
    tree.files.sort();
    tree.links.sort();
    tree
}

/// The files a team may download: the plain files under `public/`, sorted; never anything
/// under `hidden/` or `baseline/`, and never a symbolic link.
pub fn public_files(package: &Path) -> Vec<PathBuf> {
    walk_public(package).files
}

/// Reads a JSON-lines file (problems filed under `name`); blank lines are skipped, bad lines reported with their number.
/// `None` when the file cannot be read at all.
pub(super) fn read_lines<T: DeserializeOwned>(
    path: &Path,
    name: &str,
    collector: &mut Collector,
) -> Option<Vec<T>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) => {
            collector
                .add(
                    name,
                    None,
                    ProblemCode::Unreadable,
                    format!("cannot be read: {error}"),
                )
                .with("error", error);
            return None;
        }
    };
    let mut items = Vec::new();
    for (index, line) in std::io::BufReader::new(file).lines().enumerate() {
        let number = index + 1;
        let line = match line {
            Ok(line) => line,
            Err(error) => {
                collector
                    .add(
                        name,
                        None,
                        ProblemCode::LineUnreadable,
                        format!("line {number}: {error}"),
                    )
                    .with("line", number)
                    .with("error", error);
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<T>(&line) {
            Ok(item) => items.push(item),
            Err(error) => {
                collector
                    .add(
                        name,
                        None,
                        ProblemCode::LineMalformed,
                        format!("line {number}: {error}"),
                    )
                    .with("line", number)
                    .with("detail", error);
            }
        }
    }
    Some(items)
}

/// Reads a JSON-lines file strictly: every line must parse; the first bad line is the error.
fn read_all<T: DeserializeOwned>(path: &Path) -> Result<Vec<T>, ScenarioError> {
    let mut collector = Collector::default();
    let items = read_lines::<T>(path, "data", &mut collector);
    match collector.first() {
        Some(problem) => Err(ScenarioError::DataFile {
            path: path.to_path_buf(),
            message: problem.message.clone(),
        }),
        None => Ok(items.unwrap_or_default()),
    }
}

/// Reads an inputs file (`{"id", "inputs"}` per line), in file order.
pub fn read_records(path: &Path) -> Result<Vec<Record>, ScenarioError> {
    read_all(path)
}

/// Reads a labels file (`{"id", "label"}` per line) into labels by id; an id labelled
/// twice is an error, as in the package checks.
pub fn read_labels(path: &Path) -> Result<HashMap<String, serde_json::Value>, ScenarioError> {
    let mut labels = HashMap::new();
    for Label { id, label } in read_all::<Label>(path)? {
        if labels.contains_key(&id) {
            return Err(ScenarioError::DataFile {
                path: path.to_path_buf(),
                message: format!("the id `{id}` has two labels"),
            });
        }
        labels.insert(id, label);
    }
    Ok(labels)
}
