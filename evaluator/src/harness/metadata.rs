//! Matching a model's metadata (`GET /v2/models/{model}`) to the scenario's tensors, the
//! way off-the-shelf servers describe their models: KServe's stock servers declare nothing,
//! Triton adds a dynamic batch dimension and names tensors `input__0`/`output__0`.

use crate::protocol::Note;
use jiebang_scenarios::package::{Task, TensorSpec};
use serde::Deserialize;

/// A model's metadata: the tensors it takes and gives. An empty (or absent) list means the
/// server did not declare that side, as KServe's stock servers do.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ModelMetadata {
    #[serde(default)]
    pub inputs: Vec<TensorMetadata>,
    #[serde(default)]
    pub outputs: Vec<TensorMetadata>,
}

/// One tensor as a model describes it; -1 in `shape` is a variable dimension.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct TensorMetadata {
    pub name: String,
    pub datatype: String,
    pub shape: Vec<i64>,
}

/// How one of the scenario's input tensors goes into a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentInput {
    /// The key of the tensor's data in the scenario's records.
    pub key: String,
    /// The name the request gives it: the model's own when it was matched by position.
    pub name: String,
    /// The model declares a leading batch dimension the scenario's shape lacks: each
    /// request carries a batch of one (shape `[1, …]`).
    pub batch_of_one: bool,
}

/// How the model's tensors line up with the scenario's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataFit {
    /// The scenario's inputs, in its order, as the requests carry them.
    pub inputs: Vec<SentInput>,
    /// What the team should know about the match (for the report): undeclared tensors,
    /// tensors matched by position, batch dimensions added.
    pub warnings: Vec<crate::protocol::Note>,
}

impl MetadataFit {
    /// The scenario's tensors sent as they are: before (or without) any metadata.
    pub fn as_declared(task: &Task) -> Self {
        Self {
            inputs: task
                .inputs
                .iter()
                .map(|spec| SentInput {
                    key: spec.name.clone(),
                    name: spec.name.clone(),
                    batch_of_one: false,
                })
                .collect(),
            warnings: Vec::new(),
        }
    }
}

/// Matches `metadata` to the scenario's `task`. A side the model leaves empty is not
/// declared: a warning, and the scenario's tensors are sent as they are. A tensor is found
/// by name or, when the scenario and the model each have exactly one on that side, by
/// position (a warning). Datatypes must agree; shapes agree dimension by dimension (-1 on
/// either side matches any size), and a leading -1 the scenario's shape lacks is a
/// dynamic batch dimension. The error says what differs.
pub fn fit(task: &Task, metadata: &ModelMetadata) -> Result<MetadataFit, String> {
    let mut result = MetadataFit::as_declared(task);
    for (side, declared, expected) in [
        ("inputs", &metadata.inputs, &task.inputs),
        ("outputs", &metadata.outputs, &task.outputs),
    ] {
        if declared.is_empty() {
            result.warnings.push(
                Note::new(
                    "undeclared_tensors",
                    format!(
                        "the model's metadata declares no {side}, so they were not checked; the \
                         harness used the scenario's ({})",
                        describe(expected)
                    ),
                )
                .with("side", side)
                .with("tensors", describe(expected)),
            );
            continue;
        }
        for (index, tensor) in expected.iter().enumerate() {
            let (found, by_position) = match declared.iter().find(|d| d.name == tensor.name) {
                Some(found) => (found, false),
                None => match (expected.len(), declared.as_slice()) {
                    (1, [only]) => (only, true),
                    _ => {
                        return Err(format!(
                            "the model has no {side} tensor `{}` (it declares {})",
                            tensor.name,
                            declared
                                .iter()
                                .map(|d| format!("`{}`", d.name))
                                .collect::<Vec<_>>()
                                .join(", ")
                        ));
                    }
                },
            };
            let batched = check_tensor(side, found, tensor)?;
            if by_position {
                result.warnings.push(
                    Note::new(
                        "matched_by_position",
                        format!(
                            "the model's {side} tensor `{}` was taken for the scenario's `{}`: \
                             each has one, so they were matched by position",
                            found.name, tensor.name
                        ),
                    )
                    .with("side", side)
                    .with("model_tensor", &found.name)
                    .with("scenario_tensor", &tensor.name),
                );
            }
            if side == "inputs" {
                let sent = &mut result.inputs[index];
                sent.name.clone_from(&found.name);
                sent.batch_of_one = batched;
                if batched {
                    let mut shape = vec![1];
                    shape.extend(&tensor.shape);
                    result.warnings.push(
                        Note::new(
                            "batch_dimension",
                            format!(
                                "the model's input `{}` has a leading batch dimension (shape \
                                 {:?}); each request carried one item, shape {shape:?}",
                                found.name, found.shape
                            ),
                        )
                        .with("tensor", &found.name)
                        .with("shape", format!("{:?}", found.shape))
                        .with("sent_shape", format!("{shape:?}")),
                    );
                }
            }
        }
    }
    Ok(result)
}

fn describe(tensors: &[TensorSpec]) -> String {
    tensors
        .iter()
        .map(|t| format!("`{}` {} {:?}", t.name, t.datatype, t.shape))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Whether a described tensor fits the scenario's: `Ok(true)` when it does with a
/// leading dynamic batch dimension the scenario's shape lacks; the error says what differs.
fn check_tensor(side: &str, found: &TensorMetadata, expected: &TensorSpec) -> Result<bool, String> {
    if found.datatype != expected.datatype {
        return Err(format!(
            "{side} tensor `{}` is {}; the scenario uses {}",
            found.name, found.datatype, expected.datatype
        ));
    }
    let same = |declared: &[i64]| {
        declared.len() == expected.shape.len()
            && declared
                .iter()
                .zip(&expected.shape)
                .all(|(a, b)| a == b || *a == -1 || *b == -1)
    };
    if same(&found.shape) {
        return Ok(false);
    }
    match found.shape.split_first() {
        Some((-1, rest)) if same(rest) => Ok(true),
        _ => Err(format!(
            "{side} tensor `{}` has shape {:?}; the scenario uses {:?}",
            found.name, found.shape, expected.shape
        )),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The catalog's biopsy triage contract: nine scores in, one class out.
    fn task() -> Task {
        Task {
            model: "biopsy-triage".into(),
            inputs: vec![TensorSpec {
                name: "features".into(),
                datatype: "FP32".into(),
                shape: vec![1, 9],
            }],
            outputs: vec![TensorSpec {
                name: "malignant".into(),
                datatype: "INT64".into(),
                shape: vec![1],
            }],
        }
    }

    fn metadata(json: &str) -> ModelMetadata {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn kserves_stock_server_declares_nothing_and_is_sent_the_scenarios_tensors() {
        // KServe's sklearn server (Open Inference Protocol, `protocolVersion: v2`), as its
        // model metadata endpoint answers for a model that defines no tensor types.
        let kserve = metadata(
            r#"{"name":"biopsy-triage","versions":[],"platform":"","inputs":[],"outputs":[]}"#,
        );
        let fitted = fit(&task(), &kserve).unwrap();
        assert_eq!(fitted.inputs, MetadataFit::as_declared(&task()).inputs);
        assert_eq!(fitted.warnings.len(), 2, "{:?}", fitted.warnings);
        assert!(
            fitted.warnings[0].text().contains("declares no inputs")
                && fitted.warnings[0].text().contains("`features` FP32 [1, 9]"),
            "{:?}",
            fitted.warnings
        );
        assert!(fitted.warnings[1].text().contains("declares no outputs"));
        // Fields left out altogether mean the same.
        let bare = fit(&task(), &metadata(r#"{"name":"biopsy-triage"}"#)).unwrap();
        assert_eq!(bare.warnings.len(), 2);
    }

    #[test]
    fn tritons_batched_model_is_matched_by_position_with_a_batch_of_one() {
        // Triton with `max_batch_size > 0` (dynamic batching): every shape gains a leading
        // -1, and a PyTorch (libtorch) model's tensors are named `input__0`/`output__0`.
        let triton = metadata(
            r#"{"name":"biopsy-triage","versions":["1"],"platform":"pytorch_libtorch",
                "inputs":[{"name":"input__0","datatype":"FP32","shape":[-1,9]}],
                "outputs":[{"name":"output__0","datatype":"INT64","shape":[-1,1]}]}"#,
        );
        let fitted = fit(&task(), &triton).unwrap();
        assert_eq!(
            fitted.inputs,
            [SentInput {
                key: "features".into(),
                name: "input__0".into(),
                // [-1, 9] has the scenario's rank: the -1 takes the scenario's 1.
                batch_of_one: false,
            }]
        );
        assert_eq!(fitted.warnings.len(), 2, "{:?}", fitted.warnings);
        assert!(
            fitted.warnings[0]
                .text()
                .contains("`input__0` was taken for the scenario's `features`")
        );
        assert!(
            fitted.warnings[1]
                .text()
                .contains("`output__0` was taken for the scenario's `malignant`")
        );

        // A model whose input shape lacks the batch: [9] in the config, [-1, 9] described,
        // against a scenario that writes its input as [9].
        let mut unbatched = task();
        unbatched.inputs[0].shape = vec![9];
        let fitted = fit(&unbatched, &triton).unwrap();
        assert!(fitted.inputs[0].batch_of_one);
        assert!(
            fitted.warnings.iter().any(
                |w| w.text().contains("leading batch dimension") && w.text().contains("[1, 9]")
            ),
            "{:?}",
            fitted.warnings
        );
    }

    #[test]
    fn real_mismatches_are_still_refused_and_say_what_differs() {
        let wrong_type = metadata(
            r#"{"inputs":[{"name":"features","datatype":"FP64","shape":[1,9]}],"outputs":[]}"#,
        );
        assert_eq!(
            fit(&task(), &wrong_type).unwrap_err(),
            "inputs tensor `features` is FP64; the scenario uses FP32"
        );
        let wrong_shape = metadata(
            r#"{"inputs":[{"name":"features","datatype":"FP32","shape":[-1,4]}],"outputs":[]}"#,
        );
        assert!(
            fit(&task(), &wrong_shape)
                .unwrap_err()
                .contains("has shape [-1, 4]")
        );
        // A batch dimension must be dynamic and leading.
        let fixed_batch = metadata(
            r#"{"inputs":[],"outputs":[{"name":"malignant","datatype":"INT64","shape":[8,1]}]}"#,
        );
        assert!(fit(&task(), &fixed_batch).unwrap_err().contains("[8, 1]"));
        // With two tensors declared, position says nothing: the name must match.
        let two = metadata(
            r#"{"inputs":[{"name":"a","datatype":"FP32","shape":[1,9]},
                          {"name":"b","datatype":"FP32","shape":[1,9]}],"outputs":[]}"#,
        );
        assert_eq!(
            fit(&task(), &two).unwrap_err(),
            "the model has no inputs tensor `features` (it declares `a`, `b`)"
        );
    }
}
