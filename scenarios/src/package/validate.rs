//! Reads a package and reports every problem at once: files, schema, tensors against the
//! data, labels, overlapping splits, budgets that cannot be met.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::package::manifest::{Direction, Load, Manifest, Mode, TensorSpec};
use crate::split;

/// One problem: where, which field if any, what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub file: String,
    pub field: Option<String>,
    pub message: String,
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
    pub public_board_items: usize,
    pub private_board_items: usize,
    pub sample_items: usize,
}

/// One line of an inputs file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub id: String,
    pub inputs: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct LabelLine {
    id: String,
    label: serde_json::Value,
}

const MAX_PROBLEMS_PER_FILE: usize = 20;

struct Collector {
    problems: Vec<Problem>,
    per_file: HashMap<String, usize>,
}

impl Collector {
    fn add(&mut self, file: &str, field: Option<&str>, message: impl Into<String>) {
        let count = self.per_file.entry(file.to_owned()).or_default();
        *count += 1;
        if *count <= MAX_PROBLEMS_PER_FILE {
            self.problems.push(Problem {
                file: file.to_owned(),
                field: field.map(str::to_owned),
                message: message.into(),
            });
        } else if *count == MAX_PROBLEMS_PER_FILE + 1 {
            self.problems.push(Problem {
                file: file.to_owned(),
                field: None,
                message: "more problems in this file are not listed".to_owned(),
            });
        }
    }
}

/// Reads a JSON-lines file of records; problems go to the collector with line numbers.
pub fn read_records(path: &Path) -> Result<Vec<Record>, String> {
    let mut collector = Collector {
        problems: Vec::new(),
        per_file: HashMap::new(),
    };
    let records = read_lines::<Record>(path, "records", &mut collector);
    match collector.problems.first() {
        Some(problem) => Err(problem.message.clone()),
        None => Ok(records.unwrap_or_default()),
    }
}

fn read_lines<T: for<'de> Deserialize<'de>>(
    path: &Path,
    name: &str,
    collector: &mut Collector,
) -> Option<Vec<T>> {
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(error) => {
            collector.add(name, None, format!("cannot be read: {error}"));
            return None;
        }
    };
    let mut items = Vec::new();
    for (number, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = match line {
            Ok(line) => line,
            Err(error) => {
                collector.add(name, None, format!("line {}: {error}", number + 1));
                break;
            }
        };
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<T>(&line) {
            Ok(item) => items.push(item),
            Err(error) => collector.add(name, None, format!("line {}: {error}", number + 1)),
        }
    }
    Some(items)
}

fn slug_ok(value: &str, min: usize) -> bool {
    (min..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-')
}

const DATATYPES: &[&str] = &[
    "BOOL", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64", "FP16",
    "FP32", "FP64", "BYTES",
];

fn check_manifest(manifest: &Manifest, c: &mut Collector) {
    let file = "scenario.toml";
    if !slug_ok(&manifest.id, 3) {
        c.add(
            file,
            Some("id"),
            format!(
                "`{}` must be 3–64 lowercase letters, digits or inner hyphens",
                manifest.id
            ),
        );
    }
    if !slug_ok(&manifest.town, 2) {
        c.add(
            file,
            Some("town"),
            format!("`{}` is not an organisation id", manifest.town),
        );
    }
    if !slug_ok(&manifest.domain, 2) {
        c.add(
            file,
            Some("domain"),
            format!("`{}` must be a lowercase slug", manifest.domain),
        );
    }
    for (field, text) in [("title", &manifest.title), ("summary", &manifest.summary)] {
        if text.zh.trim().is_empty() || text.en.trim().is_empty() {
            c.add(file, Some(field), "needs both `zh` and `en`");
        }
    }
    if manifest.phases.is_empty() {
        c.add(file, Some("phases"), "at least one phase is needed");
    }
    for (index, phase) in manifest.phases.iter().enumerate() {
        if phase.closes_at <= phase.opens_at {
            c.add(
                file,
                Some(&format!("phases[{index}].closes_at")),
                "must be later than opens_at",
            );
        }
        if let Some(next) = manifest.phases.get(index + 1)
            && next.opens_at < phase.closes_at
        {
            c.add(
                file,
                Some(&format!("phases[{}].opens_at", index + 1)),
                format!("phase `{}` opens before phase `{}` closes; phases are in order and do not overlap", next.name, phase.name),
            );
        }
    }
    if let Some(stated) = manifest.metric.direction
        && stated != manifest.metric.name.direction()
    {
        c.add(
            file,
            Some("metric.direction"),
            format!(
                "{} is better when {}, so the direction is `{}`",
                manifest.metric.name.as_str(),
                if manifest.metric.name.direction() == Direction::Higher {
                    "higher"
                } else {
                    "lower"
                },
                if manifest.metric.name.direction() == Direction::Higher {
                    "higher"
                } else {
                    "lower"
                },
            ),
        );
    }
    check_tensors(&manifest.task.inputs, "task.inputs", c);
    check_tensors(&manifest.task.outputs, "task.outputs", c);
    check_budget(manifest, c);
    if !(0.0 < manifest.split.public_fraction && manifest.split.public_fraction < 1.0) {
        c.add(
            file,
            Some("split.public_fraction"),
            "must be between 0 and 1 (exclusive)",
        );
    }
    if manifest.quota.submissions_per_day == 0 {
        c.add(
            file,
            Some("quota.submissions_per_day"),
            "must be at least 1",
        );
    }
    let resources = &manifest.resources;
    if !(resources.cpus > 0.0 && resources.cpus <= 64.0) || resources.memory_mb < 64 {
        c.add(
            file,
            Some("resources"),
            "needs cpus in (0, 64] and memory_mb ≥ 64",
        );
    }
}

fn check_tensors(tensors: &[TensorSpec], field: &str, c: &mut Collector) {
    if tensors.is_empty() {
        c.add(
            "scenario.toml",
            Some(field),
            "at least one tensor is needed",
        );
    }
    let mut names = HashSet::new();
    for (index, tensor) in tensors.iter().enumerate() {
        let at = format!("{field}[{index}]");
        if !names.insert(tensor.name.as_str()) {
            c.add(
                "scenario.toml",
                Some(&at),
                format!("tensor name `{}` is used twice", tensor.name),
            );
        }
        if !DATATYPES.contains(&tensor.datatype.as_str()) {
            c.add(
                "scenario.toml",
                Some(&format!("{at}.datatype")),
                format!(
                    "`{}` is not an Open Inference Protocol datatype",
                    tensor.datatype
                ),
            );
        }
        if tensor.shape.is_empty() || tensor.shape.iter().any(|d| *d == 0 || *d < -1) {
            c.add(
                "scenario.toml",
                Some(&format!("{at}.shape")),
                "dimensions are positive, or -1 for a variable one",
            );
        }
    }
}

fn check_budget(manifest: &Manifest, c: &mut Collector) {
    let file = "scenario.toml";
    let latency = &manifest.latency;
    let limits = &manifest.limits;
    match (manifest.mode, latency.budget_ms) {
        (Mode::Serve, None) => c.add(
            file,
            Some("latency.budget_ms"),
            "a serve-mode scenario needs a latency budget",
        ),
        (_, Some(budget)) if !(budget >= 1.0 && budget.is_finite()) => c.add(
            file,
            Some("latency.budget_ms"),
            "below 1 ms a budget measures the network, not the model",
        ),
        _ => {}
    }
    let percentile = latency.percentile();
    if !(50.0..100.0).contains(&percentile) {
        c.add(
            file,
            Some("latency.percentile"),
            "must be at least 50 and below 100",
        );
    }
    if manifest.mode == Mode::Serve {
        if latency.min_duration_s + limits.startup_s > limits.hidden_run_s {
            c.add(
                file,
                Some("limits.hidden_run_s"),
                format!(
                    "{} s cannot hold the start-up limit ({} s) and the minimum run ({} s)",
                    limits.hidden_run_s, limits.startup_s, latency.min_duration_s
                ),
            );
        }
        let run_time = limits.hidden_run_s.saturating_sub(limits.startup_s) as f64;
        match latency.load {
            Load::Server { rate_qps } if !(rate_qps > 0.0 && rate_qps.is_finite()) => {
                c.add(file, Some("latency.load.rate_qps"), "must be positive")
            }
            Load::Server { rate_qps } if latency.min_queries as f64 / rate_qps > run_time => c.add(
                file,
                Some("latency.min_queries"),
                format!(
                    "{} queries at {rate_qps} q/s do not fit in {run_time} s",
                    latency.min_queries
                ),
            ),
            Load::SingleStream => {
                if let Some(budget) = latency.budget_ms
                    && latency.min_queries as f64 * budget / 1000.0 > run_time
                {
                    c.add(
                        file,
                        Some("latency.min_queries"),
                        format!(
                            "{} queries at up to {budget} ms each may not fit in {run_time} s; a server within budget could still run out of time",
                            latency.min_queries
                        ),
                    );
                }
            }
            Load::Offline { concurrency: 0 } => {
                c.add(file, Some("latency.load.concurrency"), "must be at least 1")
            }
            _ => {}
        }
    }
}

fn elements(value: &serde_json::Value, out: &mut Vec<serde_json::Value>) {
    match value {
        serde_json::Value::Array(items) => items.iter().for_each(|item| elements(item, out)),
        other => out.push(other.clone()),
    }
}

fn element_fits(datatype: &str, value: &serde_json::Value) -> bool {
    match datatype {
        "BOOL" => value.is_boolean(),
        "BYTES" => value.is_string(),
        t if t.starts_with("FP") => value.is_number(),
        t if t.starts_with("UINT") => value.is_u64(),
        _ => value.is_i64() || value.is_u64(),
    }
}

fn check_record(record: &Record, tensors: &[TensorSpec], file: &str, c: &mut Collector) {
    let expected: HashSet<&str> = tensors.iter().map(|t| t.name.as_str()).collect();
    let given: HashSet<&str> = record.inputs.keys().map(String::as_str).collect();
    for missing in expected.difference(&given) {
        c.add(
            file,
            Some(&record.id),
            format!("input `{missing}` is missing"),
        );
    }
    for extra in given.difference(&expected) {
        c.add(
            file,
            Some(&record.id),
            format!("input `{extra}` is not in task.inputs"),
        );
    }
    for tensor in tensors {
        let Some(data) = record.inputs.get(&tensor.name) else {
            continue;
        };
        let mut flat = Vec::new();
        elements(data, &mut flat);
        let known: i64 = tensor.shape.iter().filter(|d| **d > 0).product();
        let variable = tensor.shape.contains(&-1);
        let count = flat.len() as i64;
        let fits = if variable {
            known > 0 && count % known == 0 && count > 0
        } else {
            count == known
        };
        if !fits {
            c.add(
                file,
                Some(&record.id),
                format!(
                    "input `{}` has {count} elements; shape {:?} needs {}",
                    tensor.name,
                    tensor.shape,
                    if variable {
                        format!("a multiple of {known}")
                    } else {
                        known.to_string()
                    }
                ),
            );
        }
        if let Some(bad) = flat.iter().find(|v| !element_fits(&tensor.datatype, v)) {
            c.add(
                file,
                Some(&record.id),
                format!(
                    "input `{}` holds {bad}, which is not {}",
                    tensor.name, tensor.datatype
                ),
            );
        }
    }
}

/// Reads an inputs file and its labels; returns the ids (for overlap checks).
fn check_set(
    root: &Path,
    prefix: &str,
    manifest: Option<&Manifest>,
    c: &mut Collector,
) -> Option<Vec<String>> {
    let inputs_name = format!("{prefix}/inputs.jsonl");
    let labels_name = format!("{prefix}/labels.jsonl");
    let records = read_lines::<Record>(&root.join(&inputs_name), &inputs_name, c);
    let labels = read_lines::<LabelLine>(&root.join(&labels_name), &labels_name, c);
    let records = records?;
    if records.is_empty() {
        c.add(&inputs_name, None, "has no records");
    }
    let mut ids = HashSet::new();
    for record in &records {
        if !ids.insert(record.id.as_str()) {
            c.add(&inputs_name, Some(&record.id), "the id appears twice");
        }
        if let Some(manifest) = manifest {
            check_record(record, &manifest.task.inputs, &inputs_name, c);
        }
    }
    if let Some(labels) = labels {
        let mut labelled = HashSet::new();
        for line in &labels {
            if !labelled.insert(line.id.as_str()) {
                c.add(&labels_name, Some(&line.id), "the id has two labels");
            }
            if !ids.contains(line.id.as_str()) {
                c.add(
                    &labels_name,
                    Some(&line.id),
                    "a label for an input that does not exist",
                );
            }
            if let Some(manifest) = manifest {
                let ok = if manifest.metric.name.is_classification() {
                    line.label.is_string()
                        || line.label.is_i64()
                        || line.label.is_u64()
                        || line.label.is_boolean()
                } else {
                    line.label.is_number()
                };
                if !ok {
                    c.add(
                        &labels_name,
                        Some(&line.id),
                        format!(
                            "label {} does not suit {}",
                            line.label,
                            manifest.metric.name.as_str()
                        ),
                    );
                }
            }
        }
        for id in ids.difference(&labelled) {
            c.add(&labels_name, Some(id), "the input has no label");
        }
    }
    Some(records.into_iter().map(|r| r.id).collect())
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
    let mut c = Collector {
        problems: Vec::new(),
        per_file: HashMap::new(),
    };
    let manifest = match std::fs::read_to_string(root.join("scenario.toml")) {
        Ok(text) => match toml::from_str::<Manifest>(&text) {
            Ok(manifest) => Some(manifest),
            Err(error) => {
                c.add("scenario.toml", None, error.to_string().trim().to_owned());
                None
            }
        },
        Err(error) => {
            c.add("scenario.toml", None, format!("cannot be read: {error}"));
            None
        }
    };
    if let Some(manifest) = &manifest {
        check_manifest(manifest, &mut c);
    }
    if for_publication && !root.join("public/README.md").is_file() {
        c.add("public/README.md", None, "is missing: teams read it first");
    }
    if for_publication && !root.join("baseline").is_dir() {
        c.add(
            "baseline/",
            None,
            "is missing: a reference solution shows the contract can be met",
        );
    }
    let samples = check_set(root, "public/samples", manifest.as_ref(), &mut c);
    let hidden = check_set(root, "hidden", manifest.as_ref(), &mut c);
    let (mut public_board, mut private_board) = (0, 0);
    if let (Some(samples), Some(hidden)) = (&samples, &hidden) {
        let sample_ids: HashSet<&str> = samples.iter().map(String::as_str).collect();
        let overlapping: Vec<&str> = hidden
            .iter()
            .map(String::as_str)
            .filter(|id| sample_ids.contains(id))
            .collect();
        if !overlapping.is_empty() {
            c.add(
                "hidden/inputs.jsonl",
                None,
                format!(
                    "{} id(s) also appear in the public samples, for example `{}`",
                    overlapping.len(),
                    overlapping[0]
                ),
            );
        }
        if let Some(manifest) = &manifest {
            let (public, private) = split::split_ids(
                hidden.iter().map(String::as_str),
                manifest.split.public_fraction,
                manifest.split.seed,
            );
            (public_board, private_board) = (public.len(), private.len());
            if !hidden.is_empty() && (public.is_empty() || private.is_empty()) {
                c.add(
                    "scenario.toml",
                    Some("split"),
                    format!(
                        "the split leaves {} public and {} private items; both need some",
                        public.len(),
                        private.len()
                    ),
                );
            }
        }
    }
    match manifest {
        Some(manifest) if c.problems.is_empty() => Ok(ScenarioPackage {
            root: root.to_path_buf(),
            manifest,
            hidden_items: hidden.as_ref().map_or(0, Vec::len),
            public_board_items: public_board,
            private_board_items: private_board,
            sample_items: samples.as_ref().map_or(0, Vec::len),
        }),
        _ => Err(ValidationReport {
            package: root.to_path_buf(),
            problems: c.problems,
        }),
    }
}
