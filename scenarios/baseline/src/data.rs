//! A package's data sets as a feature matrix and targets.

use std::path::Path;

use jiebang_scenarios::package::{read_labels, read_records};
use serde_json::Value;

use crate::error::BaselineError;

/// One set of a package (`public/train`, `public/samples`, …): ids, flat feature rows and,
/// where the labels file exists, one label per row.
#[derive(Debug, Clone)]
pub struct DataSet {
    pub ids: Vec<String>,
    pub rows: Vec<Vec<f64>>,
    pub labels: Option<Vec<Value>>,
}

/// Appends the numbers of a tensor's data, nested or flat, to `out`; `false` when something
/// in it is not a number.
pub fn flatten_into(value: &Value, out: &mut Vec<f64>) -> bool {
    match value {
        Value::Number(number) => match number.as_f64() {
            Some(x) => {
                out.push(x);
                true
            }
            None => false,
        },
        Value::Array(items) => items.iter().all(|item| flatten_into(item, out)),
        _ => false,
    }
}

/// Reads `{dir}/inputs.jsonl` (the tensor `tensor` of each record) and, if present,
/// `{dir}/labels.jsonl`, matched by id.
pub fn read_set(dir: &Path, tensor: &str) -> Result<DataSet, BaselineError> {
    let inputs_path = dir.join("inputs.jsonl");
    let file = inputs_path.display().to_string();
    let records = read_records(&inputs_path)?;
    let mut ids = Vec::with_capacity(records.len());
    let mut rows = Vec::with_capacity(records.len());
    for record in records {
        let mut row = Vec::new();
        let data = record
            .inputs
            .get(tensor)
            .ok_or_else(|| BaselineError::Data {
                file: file.clone(),
                message: format!("record `{}` has no tensor `{tensor}`", record.id),
            })?;
        if !flatten_into(data, &mut row) {
            return Err(BaselineError::Data {
                file: file.clone(),
                message: format!(
                    "record `{}`: `{tensor}` holds something that is not a number",
                    record.id
                ),
            });
        }
        if let Some(first) = rows.first().map(Vec::len)
            && first != row.len()
        {
            return Err(BaselineError::Data {
                file: file.clone(),
                message: format!(
                    "record `{}` has {} features where the first had {first}",
                    record.id,
                    row.len()
                ),
            });
        }
        ids.push(record.id);
        rows.push(row);
    }
    let labels_path = dir.join("labels.jsonl");
    let labels = if labels_path.is_file() {
        let by_id = read_labels(&labels_path)?;
        let labels = ids
            .iter()
            .map(|id| {
                by_id.get(id).cloned().ok_or_else(|| BaselineError::Data {
                    file: labels_path.display().to_string(),
                    message: format!("no label for `{id}`"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Some(labels)
    } else {
        None
    };
    Ok(DataSet { ids, rows, labels })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn flattens_nested_and_flat_data() {
        let mut out = Vec::new();
        assert!(flatten_into(&serde_json::json!([[1, 2.5], [3]]), &mut out));
        assert_eq!(out, vec![1.0, 2.5, 3.0]);
        assert!(!flatten_into(&serde_json::json!([1, "x"]), &mut Vec::new()));
    }

    #[test]
    fn reads_a_set_with_labels_and_refuses_ragged_rows() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("inputs.jsonl"),
            "{\"id\":\"a\",\"inputs\":{\"x\":[[1,2]]}}\n{\"id\":\"b\",\"inputs\":{\"x\":[[3,4]]}}\n",
        )
        .unwrap();
        std::fs::write(
            dir.path().join("labels.jsonl"),
            "{\"id\":\"b\",\"label\":1}\n{\"id\":\"a\",\"label\":0}\n",
        )
        .unwrap();
        let set = read_set(dir.path(), "x").unwrap();
        assert_eq!(set.rows, vec![vec![1.0, 2.0], vec![3.0, 4.0]]);
        assert_eq!(
            set.labels.unwrap(),
            vec![serde_json::json!(0), serde_json::json!(1)]
        );

        std::fs::write(
            dir.path().join("inputs.jsonl"),
            "{\"id\":\"a\",\"inputs\":{\"x\":[[1,2]]}}\n{\"id\":\"b\",\"inputs\":{\"x\":[[3]]}}\n",
        )
        .unwrap();
        let error = read_set(dir.path(), "x").unwrap_err().to_string();
        assert!(
            error.contains("record `b` has 1 features where the first had 2"),
            "{error}"
        );
    }
}
