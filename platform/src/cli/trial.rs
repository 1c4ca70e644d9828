//! `jiebang try` and `jiebang scenario try`: a local image evaluated on this machine by the
//! platform's own sandbox and harness — on a scenario's public samples before a team
//! submits, or on a package's hidden set before a department publishes.

use std::path::Path;

use jiebang_evaluator::harness::quality::MeasurementPolicy;
use jiebang_evaluator::pipeline::Evaluation;
use jiebang_evaluator::protocol::Outcome;
use jiebang_evaluator::worker::Trial;
use jiebang_evaluator::worker::pinning::worker_runtime;
use jiebang_sandboxes::Sandbox;
use jiebang_sandboxes::accelerators::Allocator;
use jiebang_scenarios::package::{Manifest, ScenarioPackage, validate};

use crate::cli::client::Connection;
use crate::config::Config;
use crate::error::AppError;

/// How many lines of each run's output a failed try prints.
const LOG_LINES: usize = 40;

/// `jiebang try --scenario ID IMAGE`: the scenario's rules and public samples from the
/// platform (no token needed for a published scenario), the samples standing in for the
/// hidden set, so the report has both runs, scored on every sample.
pub fn on_samples(
    config: &Config,
    connection: &Connection,
    scenario: &str,
    image: &str,
) -> Result<(), AppError> {
    let client = connection.resolve_public()?;
    let dir = tempfile::tempdir().map_err(local)?;
    let runtime = super::client_runtime()?;
    let manifest = runtime.block_on(async {
        let mut body = client
            .get(&format!("/api/v1/scenarios/{scenario}/manifest"))
            .await?;
        let manifest: Manifest = serde_json::from_value(body["manifest"].take())
            .map_err(|e| AppError::Unavailable(format!("the platform's manifest: {e}")))?;
        for set in ["public/samples", "hidden"] {
            std::fs::create_dir_all(dir.path().join(set)).map_err(local)?;
        }
        for file in ["inputs.jsonl", "labels.jsonl"] {
            let text = client
                .get_text(&format!(
                    "/api/v1/scenarios/{scenario}/files/samples/{file}"
                ))
                .await?;
            std::fs::write(dir.path().join("public/samples").join(file), &text).map_err(local)?;
            std::fs::write(dir.path().join("hidden").join(file), &text).map_err(local)?;
        }
        Ok::<_, AppError>(manifest)
    })?;
    drop(runtime);
    let package = samples_package(dir.path(), manifest)?;
    println!(
        "trying {image} on the {} public samples of {scenario}, as a submission is evaluated \
         (the samples stand in for the hidden set)",
        package.sample_items
    );
    evaluate(config, &package, image)
}

/// `jiebang scenario try PACKAGE IMAGE`: a package folder checked as it would be on
/// upload, then the image evaluated on its hidden set.
pub fn on_package(config: &Config, dir: &Path, image: &str) -> Result<(), AppError> {
    let package = validate(dir).map_err(|report| {
        print!("{report}");
        AppError::unacceptable(
            "invalid_package",
            format!("{} problem(s) in the package", report.problems.len()),
        )
    })?;
    println!(
        "trying {image} on {} ({} hidden items, {} samples)",
        package.manifest.id, package.hidden_items, package.sample_items
    );
    evaluate(config, &package, image)
}

/// The samples in `dir` (under `public/samples` and again under `hidden`) as a package:
/// every sample scores on the public board's part.
fn samples_package(dir: &Path, mut manifest: Manifest) -> Result<ScenarioPackage, AppError> {
    let inputs = std::fs::read_to_string(dir.join("public/samples/inputs.jsonl")).map_err(local)?;
    let items = inputs.lines().filter(|l| !l.trim().is_empty()).count();
    if items == 0 {
        return Err(AppError::Unavailable(
            "the scenario's public samples are empty".into(),
        ));
    }
    manifest.split.public_fraction = 1.0;
    Ok(ScenarioPackage {
        root: dir.to_path_buf(),
        manifest,
        hidden_items: items,
        public_board_items: items,
        private_board_items: 0,
        sample_items: items,
    })
}

/// Saves `image` from the local engine, then checks, loads, runs and scores it as a worker
/// does (the `[worker]` and `[sandbox]` settings apply), on a runtime pinned as a worker's;
/// prints the report, and each run's last lines of output when it failed. The worker's own
/// reference is removed afterwards; the image's tags stay.
fn evaluate(config: &Config, package: &ScenarioPackage, image: &str) -> Result<(), AppError> {
    let node = crate::worker::node(config, String::new(), String::new(), "try".into(), false)?;
    let runtime =
        worker_runtime(node.harness_cpus).map_err(|e| AppError::Internal(e.to_string()))?;
    let work = tempfile::tempdir().map_err(local)?;
    let archive = work.path().join("image.tar");
    let (outcome, evaluation) = runtime.block_on(async {
        save(image, &archive).await?;
        let sandbox = Sandbox::connect(node.config.sandbox.clone())
            .await
            .map_err(|e| AppError::Unavailable(format!("the Docker engine: {e}")))?;
        let allocator = Allocator::new(node.config.sandbox.accelerators.clone());
        let trial = Trial {
            sandbox: &sandbox,
            allocator: &allocator,
            package,
            cpuset: node.config.cpuset.clone(),
            // This machine is busy with other things: runs are measured, never repeated.
            measurement: MeasurementPolicy::record_only(),
        };
        let load_id = format!("try-{}", std::process::id());
        Ok::<_, AppError>(
            trial
                .evaluate(&archive, &load_id, &|stage| eprintln!("… {stage}"))
                .await,
        )
    })?;
    if let Some(evaluation) = &evaluation {
        print!("{}", evaluation.report.to_text());
    }
    match outcome {
        Outcome::Finished => Ok(()),
        Outcome::SubmissionFailed(reason) => {
            if let Some(evaluation) = &evaluation {
                print_logs(evaluation);
            }
            Err(AppError::unacceptable(
                "submission_failed",
                format!("{reason} (a submission failing so counts against the quota)"),
            ))
        }
        Outcome::InfrastructureFailed(reason) | Outcome::Disturbed(reason) => Err(
            AppError::Unavailable(format!("{reason} (not the image's fault)")),
        ),
    }
}

/// `docker save IMAGE -o PATH`, as `jiebang submit` saves an image.
async fn save(image: &str, path: &Path) -> Result<(), AppError> {
    let saved = tokio::process::Command::new("docker")
        .args(["save", "-o"])
        .arg(path)
        .arg(image)
        .output()
        .await
        .map_err(|e| AppError::Config(format!("cannot run `docker save`: {e}")))?;
    if saved.status.success() {
        Ok(())
    } else {
        Err(AppError::Config(format!(
            "docker save {image} failed: {}",
            String::from_utf8_lossy(&saved.stderr).trim()
        )))
    }
}

/// A failure of this machine's working folder.
fn local(error: std::io::Error) -> AppError {
    AppError::Internal(format!("the local working folder: {error}"))
}

fn print_logs(evaluation: &Evaluation) {
    for (run, logs) in [
        ("sample run", &evaluation.sample_logs),
        ("hidden run", &evaluation.hidden_logs),
    ] {
        if logs.is_empty() {
            continue;
        }
        let text = String::from_utf8_lossy(logs);
        let lines: Vec<&str> = text.lines().collect();
        let shown = &lines[lines.len().saturating_sub(LOG_LINES)..];
        println!(
            "--- the {run}'s output, last {} of {} lines ---",
            shown.len(),
            lines.len()
        );
        for line in shown {
            println!("{line}");
        }
    }
}
