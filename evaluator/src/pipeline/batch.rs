//! Batch mode: inputs mounted read-only at /input, predictions read from /output.

use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::time::Duration;

use jiebang_sandboxes::{Mode, RunOutcome, Sandbox, Termination};
use jiebang_scenarios::package::Record;

use crate::EvaluatorError;
use crate::harness::answer::prediction_line;
use crate::pipeline::scoring::{Answer, notes, split_scores};
use crate::pipeline::{
    Evaluation, Job, data_set, empty_scores, new_report, spec, split_scores_all,
};
use crate::protocol::Stage;
use crate::protocol::report::RunReport;

/// One batch run over `inputs` (a JSON-lines file holding `records`); the answers by id,
/// or why there are none.
async fn batch_run(
    sandbox: &Sandbox,
    job: &Job<'_>,
    suffix: &str,
    (inputs, records): (&Path, Vec<Record>),
    seconds: u64,
) -> Result<(Vec<Answer>, RunOutcome, Option<String>), EvaluatorError> {
    let input_dir = tempfile::tempdir()?;
    let mounted = input_dir.path().join("inputs.jsonl");
    std::fs::copy(inputs, &mounted).map_err(EvaluatorError::file(inputs))?;
    let output_dir = tempfile::tempdir()?;
    let run_spec = spec(job, suffix, Mode::Batch, seconds, Some(input_dir.path()));
    let outcome = sandbox
        .run_batch(&run_spec, output_dir.path())
        .await
        .map_err(EvaluatorError::in_run(suffix))?;
    if outcome.termination != (Termination::Exited { code: 0 }) {
        let failure = format!("the program {}", outcome.termination);
        return Ok((Vec::new(), outcome, Some(failure)));
    }
    let by_id = read_predictions(&output_dir.path().join("predictions.jsonl"), &records)
        .unwrap_or_default();
    let failure = by_id
        .is_empty()
        .then(|| "no predictions in /output/predictions.jsonl".to_owned());
    Ok((answers_of(records, &by_id), outcome, failure))
}

/// One answer per item of the set, in its order: the program's prediction, or none where
/// it wrote none — a missing prediction is a wrong answer, never a smaller set.
fn answers_of(records: Vec<Record>, by_id: &HashMap<String, serde_json::Value>) -> Vec<Answer> {
    records
        .into_iter()
        .map(|record| Answer {
            prediction: by_id.get(&record.id).cloned(),
            id: record.id,
        })
        .collect()
}

/// A prediction line longer than this is skipped: a line carries one id and one value.
pub const MAX_PREDICTION_LINE: usize = 1 << 20;

/// The predictions of `records` in a `predictions.jsonl`, read a line at a time: lines over
/// [`MAX_PREDICTION_LINE`], lines that are not a prediction and ids not asked for are
/// skipped, so what is held is one line and one prediction per record.
pub fn read_predictions(
    path: &Path,
    records: &[Record],
) -> std::io::Result<HashMap<String, serde_json::Value>> {
    let wanted: HashSet<&str> = records.iter().map(|r| r.id.as_str()).collect();
    let mut reader = BufReader::new(std::fs::File::open(path)?);
    let mut by_id = HashMap::new();
    let mut line = Vec::new();
    loop {
        line.clear();
        let limit = MAX_PREDICTION_LINE as u64 + 1;
        if (&mut reader).take(limit).read_until(b'\n', &mut line)? == 0 {
            return Ok(by_id);
        }
        if line.len() > MAX_PREDICTION_LINE {
            skip_line(&mut reader)?;
            continue;
        }
        if let Some((id, Some(prediction))) = prediction_line(&line)
            && wanted.contains(id.as_str())
        {
            by_id.insert(id, prediction);
        }
    }
}

/// Reads past the rest of the current line without keeping it.
fn skip_line(reader: &mut impl BufRead) -> std::io::Result<()> {
    loop {
        let buffer = reader.fill_buf()?;
        if buffer.is_empty() {
            return Ok(());
        }
        match buffer.iter().position(|b| *b == b'\n') {
            Some(end) => {
                reader.consume(end + 1);
                return Ok(());
            }
            None => {
                let all = buffer.len();
                reader.consume(all);
            }
        }
    }
}

pub(super) async fn evaluate_batch(
    sandbox: &Sandbox,
    job: &Job<'_>,
    on_stage: &(dyn Fn(Stage) + Sync),
) -> Result<Evaluation, EvaluatorError> {
    let manifest = &job.package.manifest;
    let root = &job.package.root;
    let (sample_records, sample_labels) = data_set(root, "public/samples")?;
    let (hidden_records, hidden_labels) = data_set(root, "hidden")?;
    let mut report = new_report(manifest, job.image);
    on_stage(Stage::SampleRun);
    let (answers, outcome, failure) = batch_run(
        sandbox,
        job,
        "sample",
        (&root.join("public/samples/inputs.jsonl"), sample_records),
        manifest.limits.sample_run_s,
    )
    .await?;
    let sample_logs = outcome.logs.clone();
    report.sample = Some(RunReport {
        scores: {
            let scores = split_scores_all(manifest, &answers, &sample_labels);
            report
                .notes
                .extend(notes("sample run", manifest, &answers, &scores));
            scores
        },
        latency: None,
        verdict: None,
        floor: None,
        quality: None,
        resources: outcome,
    });
    if let Some(failure) = failure {
        report.failure = Some(format!("sample run: {failure}"));
        return Ok(Evaluation {
            report,
            sample_logs,
            hidden_logs: Vec::new(),
        });
    }
    on_stage(Stage::HiddenRun);
    let seconds = manifest
        .limits
        .hidden_run_s
        .max(Duration::from_secs(1).as_secs());
    let (answers, outcome, failure) = batch_run(
        sandbox,
        job,
        "hidden",
        (&root.join("hidden/inputs.jsonl"), hidden_records),
        seconds,
    )
    .await?;
    on_stage(Stage::Scoring);
    let hidden_logs = outcome.logs.clone();
    report.failure = failure.map(|f| format!("hidden run: {f}"));
    report.hidden = Some(RunReport {
        scores: if answers.is_empty() {
            empty_scores(manifest)
        } else {
            let scores = split_scores(manifest, &answers, &hidden_labels);
            report
                .notes
                .extend(notes("hidden run", manifest, &answers, &scores));
            scores
        },
        latency: None,
        verdict: None,
        floor: None,
        quality: None,
        resources: outcome,
    });
    Ok(Evaluation {
        report,
        sample_logs,
        hidden_logs,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn record(id: &str) -> Record {
        Record {
            id: id.to_owned(),
            inputs: serde_json::Map::new(),
        }
    }

    #[test]
    fn items_without_a_prediction_are_scored_as_wrong() {
        let root =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/tests/fixtures/valid-package");
        let package = jiebang_scenarios::package::validate(&root).unwrap();
        let (records, labels) = crate::pipeline::data_set(&root, "hidden").unwrap();
        // Right predictions for the first half of the items only.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("predictions.jsonl");
        let text: String = records
            .iter()
            .take(6)
            .map(|r| format!("{{\"id\":\"{}\",\"prediction\":{}}}\n", r.id, labels[&r.id]))
            .collect();
        std::fs::write(&path, text).unwrap();
        let by_id = read_predictions(&path, &records).unwrap();
        assert_eq!(by_id.len(), 6);

        let answers = answers_of(records, &by_id);
        assert_eq!(answers.len(), 12, "one answer per item, predicted or not");
        let scores = split_scores(&package.manifest, &answers, &labels);
        let all = scores.all.unwrap();
        assert_eq!((all.items, all.items_in_set), (12, 12));
        assert_eq!(all.value, 0.5, "the six missing predictions count as wrong");
        for part in [scores.public.unwrap(), scores.private.unwrap()] {
            assert_eq!(part.items, part.items_in_set, "{part:?}");
        }
    }

    #[test]
    fn overlong_lines_and_foreign_ids_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("predictions.jsonl");
        let huge = format!(
            "{{\"id\":\"b\",\"prediction\":[{}0]}}\n",
            "0,".repeat(MAX_PREDICTION_LINE)
        );
        let text = format!(
            "{{\"id\":\"a\",\"prediction\":1}}\n{huge}not json\n{{\"id\":\"z\",\"prediction\":2}}\n{{\"id\":\"c\",\"prediction\":\"cat\"}}"
        );
        std::fs::write(&path, text).unwrap();
        let records = [record("a"), record("b"), record("c")];
        let by_id = read_predictions(&path, &records).unwrap();
        assert_eq!(by_id.len(), 2, "{by_id:?}");
        assert_eq!(by_id["a"], serde_json::json!(1));
        assert_eq!(by_id["c"], serde_json::json!("cat"));
    }
}
