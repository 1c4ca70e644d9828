//! Reads a package and reports every problem at once: files, schema, tensors against the
//! data, labels, overlapping splits, budgets that cannot be met.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::codes::ProblemCode;
use super::data_checks::{self, DataSet};
use super::files::walk_public;
use super::manifest::Manifest;
use super::manifest_checks::{check_accuracy_pass, check_manifest};
use crate::split;

/// One problem: the file it is in (relative to the package), the field or item id if any,
/// what is wrong as a code with its parameters (for pages in the reader's language), and
/// the same in English (for the command line and API clients).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub file: String,
    /// A manifest field path (`latency.budget_ms`, `phases[1].opens_at`) or a data item's id.
    pub field: Option<String>,
    pub code: ProblemCode,
    /// The values the message is made of (`budget_ms` = `0.5`), by name.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub params: BTreeMap<&'static str, String>,
    pub message: String,
}

impl Problem {
    pub fn new(
        code: ProblemCode,
        file: &str,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        Self {
            file: file.to_owned(),
            field: field.map(str::to_owned),
            code,
            params: BTreeMap::new(),
            message: message.into(),
        }
    }

    /// A parameter of the message (`count` = `3`).
    #[must_use]
    pub fn with(mut self, name: &'static str, value: impl ToString) -> Self {
        self.params.insert(name, value.to_string());
        self
    }
}

/// Every problem found in a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidationReport {
    pub package: PathBuf,
    pub problems: Vec<Problem>,
}

impl fmt::Display for ValidationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} problem(s)",
            self.package.display(),
            self.problems.len()
        )?;
        for problem in &self.problems {
            match &problem.field {
                Some(field) => writeln!(f, "  {} [{}]: {}", problem.file, field, problem.message)?,
                None => writeln!(f, "  {}: {}", problem.file, problem.message)?,
            }
        }
        Ok(())
    }
}

impl std::error::Error for ValidationReport {}

/// A valid package.
#[derive(Debug, Clone)]
pub struct ScenarioPackage {
    pub root: PathBuf,
    pub manifest: Manifest,
    pub hidden_items: usize,
    /// Hidden items scored on the public board during a phase.
    pub public_board_items: usize,
    /// Hidden items scored on the private board that decides the phase.
    pub private_board_items: usize,
    pub sample_items: usize,
}

/// A hidden set with a hundred thousand bad rows would otherwise bury the other problems.
const MAX_PROBLEMS_PER_FILE: usize = 20;

/// Gathers problems, listing at most [`MAX_PROBLEMS_PER_FILE`] per file and counting the rest.
#[derive(Default)]
pub(super) struct Collector {
    problems: Vec<Problem>,
    per_file: BTreeMap<String, usize>,
}

/// A problem just gathered, to add its parameters to (nothing, past the per-file limit).
pub(super) struct Added<'a>(Option<&'a mut Problem>);

impl Added<'_> {
    /// A parameter of the problem's message (`count` = `3`).
    pub(super) fn with(mut self, name: &'static str, value: impl ToString) -> Self {
        if let Some(problem) = self.0.as_deref_mut() {
            problem.params.insert(name, value.to_string());
        }
        self
    }
}

impl Collector {
    pub(super) fn add(
        &mut self,
        file: &str,
        field: Option<&str>,
        code: ProblemCode,
        message: impl Into<String>,
    ) -> Added<'_> {
        let count = self.per_file.entry(file.to_owned()).or_default();
        *count += 1;
        if *count > MAX_PROBLEMS_PER_FILE {
            return Added(None);
        }
        self.problems.push(Problem::new(code, file, field, message));
        Added(self.problems.last_mut())
    }

    /// The first problem gathered, if any.
    pub(super) fn first(&self) -> Option<&Problem> {
        self.problems.first()
    }

    fn is_empty(&self) -> bool {
        self.problems.is_empty()
    }

    fn finish(mut self) -> Vec<Problem> {
        for (file, count) in self.per_file {
            if count > MAX_PROBLEMS_PER_FILE {
                let more = count - MAX_PROBLEMS_PER_FILE;
                self.problems.push(
                    Problem::new(
                        ProblemCode::MoreNotListed,
                        &file,
                        None,
                        format!("{more} more problem(s) in this file are not listed"),
                    )
                    .with("count", more),
                );
            }
        }
        self.problems
    }
}

/// Checks the package at `root`; the package, or every problem found.
pub fn validate(root: &Path) -> Result<ScenarioPackage, ValidationReport> {
    check_package(root, true)
}

/// Checks what a worker receives: the manifest, the samples and the hidden set, without
/// the files that are only for people (the README, the baseline).
pub fn validate_bundle(root: &Path) -> Result<ScenarioPackage, ValidationReport> {
    check_package(root, false)
}

fn check_package(root: &Path, for_publication: bool) -> Result<ScenarioPackage, ValidationReport> {
    let mut c = Collector::default();
    let manifest = read_manifest(root, &mut c);
    if let Some(manifest) = &manifest {
        check_manifest(manifest, &mut c);
    }
    if for_publication {
        check_people_files(root, &mut c);
    }
    let samples = data_checks::check_set(root, "public/samples", manifest.as_ref(), &mut c);
    let hidden = data_checks::check_set(root, "hidden", manifest.as_ref(), &mut c);
    if let (Some(samples), Some(hidden)) = (&samples, &hidden) {
        check_overlap(samples, hidden, &mut c);
    }
    let board_sizes = match (&manifest, &hidden) {
        (Some(manifest), Some(hidden)) => {
            check_accuracy_pass(manifest, hidden.ids.len(), &mut c);
            check_boards(manifest, hidden, &mut c)
        }
        _ => (0, 0),
    };
    match manifest {
        Some(manifest) if c.is_empty() => Ok(ScenarioPackage {
            root: root.to_path_buf(),
            manifest,
            hidden_items: hidden.as_ref().map_or(0, |set| set.ids.len()),
            public_board_items: board_sizes.0,
            private_board_items: board_sizes.1,
            sample_items: samples.as_ref().map_or(0, |set| set.ids.len()),
        }),
        _ => Err(ValidationReport {
            package: root.to_path_buf(),
            problems: c.finish(),
        }),
    }
}

/// The manifest, with a schema error placed at its field (`bounty.currency`). Serde stops
/// at the first schema error, so a manifest shows one at a time; the data checks still run.
fn read_manifest(root: &Path, c: &mut Collector) -> Option<Manifest> {
    let file = "scenario.toml";
    let text = match std::fs::read_to_string(root.join(file)) {
        Ok(text) => text,
        Err(error) => {
            c.add(
                file,
                None,
                ProblemCode::Unreadable,
                format!("cannot be read: {error}"),
            )
            .with("error", error);
            return None;
        }
    };
    let deserializer = match toml::Deserializer::parse(&text) {
        Ok(deserializer) => deserializer,
        Err(error) => {
            add_toml_error(c, None, &text, &error);
            return None;
        }
    };
    match serde_path_to_error::deserialize::<_, Manifest>(deserializer) {
        Ok(manifest) => Some(manifest),
        Err(error) => {
            let path = error.path().to_string();
            let field = (path != ".").then_some(path);
            add_toml_error(c, field.as_deref(), &text, error.inner());
            None
        }
    }
}

/// One line, `line L, column C: message`, rather than toml's multi-line snippet, so the
/// report keeps one problem per line.
fn add_toml_error(c: &mut Collector, field: Option<&str>, text: &str, error: &toml::de::Error) {
    let file = "scenario.toml";
    let message = error.message().trim();
    match error.span() {
        Some(span) => {
            let before = &text[..span.start.min(text.len())];
            let line = before.matches('\n').count() + 1;
            let column = before.chars().rev().take_while(|c| *c != '\n').count() + 1;
            c.add(
                file,
                field,
                ProblemCode::TomlErrorAt,
                format!("line {line}, column {column}: {message}"),
            )
            .with("line", line)
            .with("column", column)
            .with("detail", message);
        }
        None => {
            c.add(file, field, ProblemCode::TomlError, message)
                .with("detail", message);
        }
    }
}

fn check_people_files(root: &Path, c: &mut Collector) {
    if !root.join("public/README.md").is_file() {
        c.add(
            "public/README.md",
            None,
            ProblemCode::ReadmeMissing,
            "is missing: teams read it first",
        );
    }
    if !root.join("baseline").is_dir() {
        c.add(
            "baseline/",
            None,
            ProblemCode::BaselineMissing,
            "is missing: a reference solution shows the contract can be met",
        );
    }
    for link in walk_public(root).links {
        let name = link
            .strip_prefix(root)
            .unwrap_or(&link)
            .display()
            .to_string();
        c.add(
            &name,
            None,
            ProblemCode::SymbolicLink,
            "is a symbolic link; only plain files are served to teams, so it would be left out",
        );
    }
}

/// Warm-up uses the samples, so a hidden item among them could be answered from memory.
fn check_overlap(samples: &DataSet, hidden: &DataSet, c: &mut Collector) {
    let sample_ids: HashSet<&str> = samples.ids.iter().map(String::as_str).collect();
    let overlapping: Vec<&str> = hidden
        .ids
        .iter()
        .map(String::as_str)
        .filter(|id| sample_ids.contains(id))
        .collect();
    if let Some(first) = overlapping.first() {
        c.add(
            "hidden/inputs.jsonl",
            None,
            ProblemCode::HiddenIdsInSamples,
            format!(
                "{} id(s) also appear in the public samples, for example `{first}`",
                overlapping.len()
            ),
        )
        .with("count", overlapping.len())
        .with("example", first);
    }
}

/// Splits the hidden set into the two boards; both must be scorable. Returns their sizes.
fn check_boards(manifest: &Manifest, hidden: &DataSet, c: &mut Collector) -> (usize, usize) {
    let (public, private) = split::split_ids(
        hidden.ids.iter().map(String::as_str),
        manifest.split.public_fraction,
        manifest.split.seed,
    );
    if hidden.ids.is_empty() {
        return (0, 0);
    }
    if public.is_empty() || private.is_empty() {
        c.add(
            "scenario.toml",
            Some("split"),
            ProblemCode::SplitLeavesBoardEmpty,
            format!(
                "the split leaves {} public and {} private items; both boards need some",
                public.len(),
                private.len()
            ),
        )
        .with("public", public.len())
        .with("private", private.len());
    } else {
        let boards = [
            ("public", ProblemCode::PublicBoardOneClass, &public),
            ("private", ProblemCode::PrivateBoardOneClass, &private),
        ];
        for (board, code, ids) in boards {
            if let Some(message) = data_checks::board_unscorable(manifest, hidden, ids) {
                c.add(
                    "hidden/labels.jsonl",
                    None,
                    code,
                    format!("the {board} board's part {message}"),
                );
            }
        }
    }
    (public.len(), private.len())
}
