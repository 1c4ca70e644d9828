//! Batch mode: inputs mounted read-only at /input, predictions read from /output.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use jiebang_sandboxes::{Mode, RunOutcome, Sandbox, Termination};
use jiebang_scenarios::package::Record;

use crate::EvaluatorError;
use crate::pipeline::scoring::{Answer, split_scores};
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
    let predictions =
        std::fs::read_to_string(output_dir.path().join("predictions.jsonl")).unwrap_or_default();
    let mut by_id: HashMap<String, serde_json::Value> = HashMap::new();
    for line in predictions.lines().filter(|l| !l.trim().is_empty()) {
        if let Ok(value) = serde_json::from_str::<serde_json::Value>(line)
            && let Some(id) = value["id"].as_str()
        {
            by_id.insert(id.to_owned(), value["prediction"].clone());
        }
    }
    let failure = by_id
        .is_empty()
        .then(|| "no predictions in /output/predictions.jsonl".to_owned());
    let answers = records
        .into_iter()
        .map(|record| Answer {
            prediction: by_id.get(&record.id).cloned(),
            id: record.id,
        })
        .collect();
    Ok((answers, outcome, failure))
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
        scores: split_scores_all(manifest, &answers, &sample_labels),
        latency: None,
        verdict: None,
        floor: None,
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
            split_scores(manifest, &answers, &hidden_labels)
        },
        latency: None,
        verdict: None,
        floor: None,
        resources: outcome,
    });
    Ok(Evaluation {
        report,
        sample_logs,
        hidden_logs,
    })
}
