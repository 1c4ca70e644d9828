//! The requests a served run sends, encoded before any timing starts: each of the
//! scenario's inputs under the name and shape the model's metadata asks for, and the
//! largest answer accepted.

use bytes::Bytes;
use jiebang_scenarios::package::{Manifest, Record};

use crate::EvaluatorError;
use crate::harness::connection::DEFAULT_MAX_ANSWER_BYTES;
use crate::harness::metadata::SentInput;
use crate::harness::oip::{Tensor, encode_request};

/// The request bodies for `records`, each of the scenario's inputs sent as `sent` says (see
/// [`crate::harness::metadata::MetadataFit`]): under the model's name, with a batch of one
/// where it wants one.
pub(super) fn bodies(
    records: &[Record],
    manifest: &Manifest,
    sent: &[SentInput],
) -> Result<Vec<Bytes>, EvaluatorError> {
    records
        .iter()
        .map(|record| {
            let inputs: Vec<Tensor> = manifest
                .task
                .inputs
                .iter()
                .zip(sent)
                .map(|(spec, sent)| {
                    let mut data = record.inputs.get(&sent.key).cloned().unwrap_or_default();
                    let mut shape = spec.shape.clone();
                    // A variable dimension takes whatever the data holds.
                    if let Some(variable) = shape.iter().position(|d| *d == -1) {
                        let known: i64 = shape.iter().filter(|d| **d > 0).product::<i64>().max(1);
                        shape[variable] = count(&data) as i64 / known;
                    }
                    if sent.batch_of_one {
                        shape.insert(0, 1);
                        // Nested data nests once more; flat data fits any shape.
                        if data
                            .as_array()
                            .is_some_and(|d| d.first().is_some_and(|v| v.is_array()))
                        {
                            data = serde_json::Value::Array(vec![data]);
                        }
                    }
                    Tensor {
                        name: sent.name.clone(),
                        shape,
                        datatype: spec.datatype.clone(),
                        data,
                    }
                })
                .collect();
            encode_request(&record.id, &inputs)
        })
        .collect()
}

fn count(value: &serde_json::Value) -> usize {
    value
        .as_array()
        .map_or(1, |items| items.iter().map(count).sum())
}

/// The largest answer accepted: generous for the declared output tensors (64 bytes of
/// JSON an element), never less than the default, never more than 64 MiB.
pub(super) fn answer_cap(manifest: &Manifest) -> usize {
    let elements = manifest
        .task
        .outputs
        .iter()
        .try_fold(0usize, |sum, tensor| {
            let count = tensor.shape.iter().try_fold(1usize, |product, dim| {
                usize::try_from(*dim)
                    .ok()
                    .and_then(|d| product.checked_mul(d))
            })?;
            sum.checked_add(count)
        });
    elements
        .and_then(|n| n.checked_mul(64))
        .map_or(DEFAULT_MAX_ANSWER_BYTES, |bytes| {
            bytes
                .saturating_add(64 << 10)
                .clamp(DEFAULT_MAX_ANSWER_BYTES, 64 << 20)
        })
}

/// A plan's requests, encoded.
pub(super) struct Bodies {
    pub(super) warm_up: Vec<Bytes>,
    pub(super) queries: Vec<Bytes>,
}

impl Bodies {
    pub(super) fn encode(
        (warm_up, queries): (&[Record], &[Record]),
        manifest: &Manifest,
        sent: &[SentInput],
    ) -> Result<Self, EvaluatorError> {
        Ok(Self {
            warm_up: bodies(warm_up, manifest, sent)?,
            queries: bodies(queries, manifest, sent)?,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::path::Path;

    use jiebang_scenarios::package::{read_records, validate};
    use serde_json::json;

    use super::*;

    #[test]
    fn inputs_go_under_the_models_name_with_a_batch_of_one_where_it_wants_one() {
        let root =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/tests/fixtures/valid-package");
        let package = validate(&root).unwrap();
        let records = read_records(&root.join("hidden/inputs.jsonl")).unwrap();
        let request = |sent: &[SentInput]| -> serde_json::Value {
            let body = &bodies(&records[..1], &package.manifest, sent).unwrap()[0];
            serde_json::from_slice::<serde_json::Value>(body).unwrap()["inputs"][0].clone()
        };
        let declared =
            crate::harness::metadata::MetadataFit::as_declared(&package.manifest.task).inputs;
        let plain = request(&declared);
        assert_eq!(plain["name"], "features");
        assert_eq!(plain["shape"], json!([1, 3]));
        assert_eq!(plain["data"], json!([[0.0, 1.5, -2.0]]));
        let batched = request(&[SentInput {
            key: "features".into(),
            name: "input__0".into(),
            batch_of_one: true,
        }]);
        assert_eq!(batched["name"], "input__0");
        assert_eq!(batched["shape"], json!([1, 1, 3]));
        assert_eq!(batched["data"], json!([[[0.0, 1.5, -2.0]]]));
    }
}
