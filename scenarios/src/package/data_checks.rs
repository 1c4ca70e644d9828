//! The data files against the manifest: every input row against the task's tensors, every
//! label against the metric, ids unique and matched between inputs and labels.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use serde::Deserialize;
use serde_json::Value;

use super::codes::ProblemCode;
use super::files::read_lines;
use super::manifest::{Manifest, MetricName, TensorSpec};
use super::validate::Collector;
use crate::metrics::class_of;

/// One line of an inputs file: `{"id": "…", "inputs": {"<tensor>": <data>}}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    pub id: String,
    pub inputs: serde_json::Map<String, Value>,
}

/// One line of a labels file: `{"id": "…", "label": …}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Label {
    pub id: String,
    pub label: Value,
}

/// What the cross-file checks need from one set: its ids in file order and its labels.
#[derive(Debug, Default)]
pub(super) struct DataSet {
    pub ids: Vec<String>,
    pub labels: HashMap<String, Value>,
}

/// Checks `{prefix}/inputs.jsonl` and `{prefix}/labels.jsonl`; `None` when the inputs
/// cannot be read.
pub(super) fn check_set(
    root: &Path,
    prefix: &str,
    manifest: Option<&Manifest>,
    c: &mut Collector,
) -> Option<DataSet> {
    let inputs_name = format!("{prefix}/inputs.jsonl");
    let labels_name = format!("{prefix}/labels.jsonl");
    let records = read_lines::<Record>(&root.join(&inputs_name), &inputs_name, c);
    let labels = read_lines::<Label>(&root.join(&labels_name), &labels_name, c);
    let records = records?;
    if records.is_empty() {
        c.add(&inputs_name, None, ProblemCode::NoRecords, "has no records");
    }
    let mut ids = HashSet::new();
    for record in &records {
        if !ids.insert(record.id.as_str()) {
            c.add(
                &inputs_name,
                Some(&record.id),
                ProblemCode::DuplicateId,
                "the id appears twice",
            );
        }
        if let Some(manifest) = manifest {
            check_record(record, &manifest.task.inputs, &inputs_name, c);
        }
    }
    let mut labelled = HashMap::new();
    for line in labels.iter().flatten() {
        if labelled.contains_key(&line.id) {
            c.add(
                &labels_name,
                Some(&line.id),
                ProblemCode::DuplicateLabel,
                "the id has two labels",
            );
        }
        if !ids.contains(line.id.as_str()) {
            c.add(
                &labels_name,
                Some(&line.id),
                ProblemCode::LabelWithoutInput,
                "a label for an input that does not exist",
            );
        }
        if let Some((code, problem)) =
            manifest.and_then(|m| label_problem(m.metric.name, &line.label))
        {
            c.add(&labels_name, Some(&line.id), code, problem)
                .with("label", &line.label);
        }
        labelled.insert(line.id.clone(), line.label.clone());
    }
    if labels.is_some() {
        // In file order, so the report is the same on every run.
        for record in &records {
            if !labelled.contains_key(&record.id) {
                c.add(
                    &labels_name,
                    Some(&record.id),
                    ProblemCode::MissingLabel,
                    "the input has no label",
                );
            }
        }
    }
    Some(DataSet {
        ids: records.into_iter().map(|r| r.id).collect(),
        labels: labelled,
    })
}

/// Why a label cannot be scored by the metric, if it cannot: the problem's code and message.
fn label_problem(metric: MetricName, label: &Value) -> Option<(ProblemCode, String)> {
    let (code, problem) = match metric {
        MetricName::Accuracy | MetricName::MacroF1 => {
            (!(label.is_string() || label.is_i64() || label.is_u64() || label.is_boolean()))
                .then_some((
                    ProblemCode::LabelNotClass,
                    "is not a class: a string, an integer or a boolean",
                ))
        }
        MetricName::RocAuc => (!matches!(class_of(label).as_str(), "0" | "1")).then_some((
            ProblemCode::LabelNotBinary,
            "is not a class ROC AUC can score: 0 or 1, false or true",
        )),
        MetricName::Rmse | MetricName::Mae => (!label.as_f64().is_some_and(f64::is_finite))
            .then_some((ProblemCode::LabelNotNumber, "is not a number")),
        // MAPE divides by the true value.
        MetricName::Mape => {
            (!label.as_f64().is_some_and(|v| v.is_finite() && v != 0.0)).then_some((
                ProblemCode::LabelNotNonZeroNumber,
                "is not a non-zero number (MAPE divides by it)",
            ))
        }
    }?;
    Some((code, format!("label {label} {problem}")))
}

/// Why the metric has no value over these hidden items, if it has none.
pub(super) fn board_unscorable(manifest: &Manifest, set: &DataSet, ids: &[&str]) -> Option<String> {
    if manifest.metric.name != MetricName::RocAuc {
        return None;
    }
    let classes: HashSet<String> = ids
        .iter()
        .filter_map(|id| set.labels.get(*id))
        .map(class_of)
        .collect();
    (classes.len() < 2).then(|| {
        "has only one class; ROC AUC needs positive and negative items (change split.seed or add items)"
            .to_owned()
    })
}

fn check_record(record: &Record, tensors: &[TensorSpec], file: &str, c: &mut Collector) {
    let id = Some(record.id.as_str());
    for tensor in tensors {
        if !record.inputs.contains_key(&tensor.name) {
            c.add(
                file,
                id,
                ProblemCode::InputMissing,
                format!("input `{}` is missing", tensor.name),
            )
            .with("tensor", &tensor.name);
        }
    }
    for name in record.inputs.keys() {
        if !tensors.iter().any(|t| &t.name == name) {
            c.add(
                file,
                id,
                ProblemCode::InputUnknown,
                format!("input `{name}` is not in task.inputs"),
            )
            .with("tensor", name);
        }
    }
    for tensor in tensors {
        let Some(data) = record.inputs.get(&tensor.name) else {
            continue;
        };
        let mut flat = Vec::new();
        flatten(data, &mut flat);
        if let Some(needed) = count_problem(&tensor.shape, flat.len()) {
            let (code, name, value) = match needed {
                Needed::Exactly(n) => (ProblemCode::InputElementCount, "needed", n),
                Needed::MultipleOf(n) => (ProblemCode::InputElementCountMultiple, "multiple", n),
            };
            c.add(
                file,
                id,
                code,
                format!(
                    "input `{}` has {} element(s); shape {:?} needs {needed}",
                    tensor.name,
                    flat.len(),
                    tensor.shape
                ),
            )
            .with("tensor", &tensor.name)
            .with("count", flat.len())
            .with("shape", format!("{:?}", tensor.shape))
            .with(name, value);
        }
        if let Some(bad) = flat.iter().find(|v| !element_fits(&tensor.datatype, v)) {
            c.add(
                file,
                id,
                ProblemCode::InputWrongType,
                format!(
                    "input `{}` holds {bad}, which is not {}",
                    tensor.name, tensor.datatype
                ),
            )
            .with("tensor", &tensor.name)
            .with("value", bad)
            .with("datatype", &tensor.datatype);
        }
    }
}

/// The Open Inference Protocol accepts data nested as the shape or flat; both count the same.
fn flatten<'a>(value: &'a Value, out: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| flatten(item, out)),
        other => out.push(other),
    }
}

/// The element count a shape needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Needed {
    Exactly(i64),
    /// A shape with a variable dimension: any positive multiple.
    MultipleOf(i64),
}

impl std::fmt::Display for Needed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Exactly(n) => write!(f, "{n}"),
            Self::MultipleOf(n) => write!(f, "a positive multiple of {n}"),
        }
    }
}

/// What element count the shape needs, when `count` is not it.
fn count_problem(shape: &[i64], count: usize) -> Option<Needed> {
    let fixed: i64 = shape.iter().filter(|d| **d > 0).product();
    let count = i64::try_from(count).unwrap_or(i64::MAX);
    if shape.contains(&-1) {
        (fixed <= 0 || count == 0 || count % fixed != 0).then_some(Needed::MultipleOf(fixed))
    } else {
        (count != fixed).then_some(Needed::Exactly(fixed))
    }
}

fn element_fits(datatype: &str, value: &Value) -> bool {
    let signed = |bits: u32| {
        let bound = 1_i64 << (bits - 1);
        value.as_i64().is_some_and(|v| (-bound..bound).contains(&v))
    };
    let unsigned = |bits: u32| value.as_u64().is_some_and(|v| v < 1_u64 << bits);
    let float = |max: f64| {
        value
            .as_f64()
            .is_some_and(|v| v.is_finite() && v.abs() <= max)
    };
    match datatype {
        "BOOL" => value.is_boolean(),
        "BYTES" => value.is_string(),
        "INT8" => signed(8),
        "INT16" => signed(16),
        "INT32" => signed(32),
        "INT64" => value.is_i64(),
        "UINT8" => unsigned(8),
        "UINT16" => unsigned(16),
        "UINT32" => unsigned(32),
        "UINT64" => value.is_u64(),
        "FP16" => float(65_504.0),
        "FP32" => float(f64::from(f32::MAX)),
        "FP64" => float(f64::MAX),
        // An unknown datatype is reported once, on the manifest, not on every row.
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_must_fit_their_width() {
        assert!(element_fits("INT8", &Value::from(-128)));
        assert!(element_fits("INT8", &Value::from(127)));
        assert!(!element_fits("INT8", &Value::from(128)));
        assert!(!element_fits("INT8", &Value::from(-129)));
        assert!(element_fits("UINT8", &Value::from(255)));
        assert!(!element_fits("UINT8", &Value::from(256)));
        assert!(!element_fits("UINT8", &Value::from(-1)));
        assert!(!element_fits("INT32", &Value::from(1.5)));
        assert!(element_fits("INT64", &Value::from(i64::MIN)));
        assert!(!element_fits("INT64", &Value::from(u64::MAX)));
        assert!(element_fits("UINT64", &Value::from(u64::MAX)));
    }

    #[test]
    fn floats_booleans_and_bytes() {
        assert!(element_fits("FP32", &Value::from(3)));
        assert!(element_fits("FP16", &Value::from(-65_504.0)));
        assert!(!element_fits("FP16", &Value::from(70_000.0)));
        assert!(!element_fits("FP32", &Value::from(1e300)));
        assert!(!element_fits("FP64", &Value::from("1.0")));
        assert!(element_fits("BOOL", &Value::from(true)));
        assert!(!element_fits("BOOL", &Value::from(1)));
        assert!(element_fits("BYTES", &Value::from("航班")));
    }

    #[test]
    fn variable_dimensions_take_any_positive_multiple() {
        assert_eq!(count_problem(&[1, 3], 3), None);
        assert_eq!(count_problem(&[1, 3], 4), Some(Needed::Exactly(3)));
        assert_eq!(count_problem(&[-1, 3], 9), None);
        assert!(count_problem(&[-1, 3], 0).is_some());
        assert!(count_problem(&[-1, 3], 10).is_some());
    }

    #[test]
    fn labels_must_suit_the_metric() {
        assert!(label_problem(MetricName::Accuracy, &Value::from("cat")).is_none());
        assert!(label_problem(MetricName::Accuracy, &Value::from(1.5)).is_some());
        assert!(label_problem(MetricName::RocAuc, &Value::from(true)).is_none());
        assert!(label_problem(MetricName::RocAuc, &Value::from(2)).is_some());
        assert!(label_problem(MetricName::Rmse, &Value::from("3")).is_some());
        assert!(label_problem(MetricName::Mape, &Value::from(0.0)).is_some());
        assert!(label_problem(MetricName::Mape, &Value::from(-2.5)).is_none());
    }
}
