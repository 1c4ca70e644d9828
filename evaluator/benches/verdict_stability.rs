//! Verdict stability: the baseline image of two catalog scenarios evaluated again and again
//! on a quiet host and beside a CPU-burning neighbour, as `jiebang worker` evaluates by
//! default, with the verdicts, the p99 spread and the measurement quality of every run.
//!
//! `cargo bench -p jiebang-evaluator --bench verdict_stability` (needs the Docker engine;
//! about 30 minutes at the default 10 runs). `JIEBANG_STABILITY_RUNS` sets the runs per
//! scenario and condition; `JIEBANG_STABILITY_SCENARIOS` (comma-separated catalog ids of
//! serve-mode packages) the scenarios. docs/benchmarks.md says how to read the tables.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../sandboxes/tests/support/fixture.rs"]
#[allow(
    dead_code,
    reason = "only the burner and the image loading are used here"
)]
mod fixture;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use jiebang_evaluator::harness::quality::MeasurementPolicy;
use jiebang_evaluator::pipeline::{Job, evaluate};
use jiebang_evaluator::protocol::report::Report;
use jiebang_evaluator::worker::pinning::{cpuset_of, isolation, process_cpus, worker_runtime};
use jiebang_sandboxes::testing::require_docker;
use jiebang_scenarios::package::{Load, ScenarioPackage, validate};

/// One server pattern and one single-stream pattern, with different budgets.
const DEFAULT_SCENARIOS: &str = "fengdong-biopsy-triage,konggang-flight-delay";
const DEFAULT_RUNS: usize = 10;

#[derive(Clone, Copy, PartialEq)]
enum Neighbour {
    None,
    Burner,
}

impl Neighbour {
    fn name(self) -> &'static str {
        match self {
            Self::None => "none (quiet)",
            Self::Burner => "burner on every CPU",
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Verdict {
    Within,
    Over,
    /// The run failed or measured no latency: nothing to judge.
    None,
}

/// What one evaluation's report says about its kept timed run.
struct RunFigures {
    neighbour: Neighbour,
    verdict: Verdict,
    p99_ms: Option<f64>,
    /// The latency at the percentile the budget applies to.
    judged_ms: Option<f64>,
    /// The kept run was still disturbed after every repeat: a worker would not record it.
    disturbed: bool,
    attempts: u32,
    lateness_p99_us: Option<f64>,
    floor_before_p99_ms: Option<f64>,
    floor_after_p99_ms: Option<f64>,
    /// The figures past their thresholds in the kept run, or why the run failed.
    remark: String,
    seconds: f64,
}

impl RunFigures {
    fn of(neighbour: Neighbour, report: &Report, seconds: f64) -> Self {
        let hidden = report.hidden.as_ref();
        let quality = hidden.and_then(|h| h.quality.as_ref());
        let verdict = match hidden.and_then(|h| h.verdict.as_ref()) {
            _ if report.failure.is_some() => Verdict::None,
            Some(v) if v.within_budget => Verdict::Within,
            Some(_) => Verdict::Over,
            None => Verdict::None,
        };
        let remark = match (&report.failure, quality) {
            (Some(failure), _) => failure.clone(),
            (None, Some(q)) => q
                .disturbances
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join("; "),
            (None, None) => "no measurement-quality section".to_owned(),
        };
        Self {
            neighbour,
            verdict,
            p99_ms: hidden.and_then(|h| h.latency.as_ref()).map(|l| l.p99_ms),
            judged_ms: report.budget_latency_ms(),
            disturbed: report.disturbed().is_some(),
            attempts: quality.map_or(0, |q| q.attempts),
            lateness_p99_us: quality
                .and_then(|q| q.send_lateness.as_ref())
                .map(|l| l.p99_us),
            floor_before_p99_ms: quality
                .and_then(|q| q.floor_before.as_ref())
                .map(|f| f.p99_ms),
            floor_after_p99_ms: quality
                .and_then(|q| q.floor_after.as_ref())
                .map(|f| f.p99_ms),
            remark,
            seconds,
        }
    }

    fn failed(neighbour: Neighbour, error: String, seconds: f64) -> Self {
        Self {
            neighbour,
            verdict: Verdict::None,
            p99_ms: None,
            judged_ms: None,
            disturbed: false,
            attempts: 0,
            lateness_p99_us: None,
            floor_before_p99_ms: None,
            floor_after_p99_ms: None,
            remark: format!("infrastructure failure: {error}"),
            seconds,
        }
    }
}

/// A scenario under test: its package, the loaded baseline image, and the runs so far.
struct Subject {
    package: ScenarioPackage,
    /// The image as the worker loads a submission: under a tag of its own.
    image: jiebang_sandboxes::ImportedImage,
    runs: Vec<RunFigures>,
}

impl Subject {
    fn describe(&self) -> String {
        let manifest = &self.package.manifest;
        let load = match manifest.latency.load {
            Load::SingleStream => "single-stream".to_owned(),
            Load::Server { rate_qps } => format!("server {rate_qps} q/s"),
            Load::Offline { concurrency } => format!("offline ×{concurrency}"),
        };
        format!(
            "{} ({load}, {} ms at p{})",
            manifest.id,
            manifest.latency.budget_ms.unwrap_or_default(),
            manifest.latency.percentile()
        )
    }
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn env_or(name: &str, default: &str) -> String {
    std::env::var(name)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .unwrap_or_else(|| default.to_owned())
}

/// Builds the package's baseline image with `scripts/build-baseline` (incremental after the
/// first time) and returns its tag.
fn build_baseline(package: &Path) -> String {
    let output = Command::new(workspace().join("scripts/build-baseline"))
        .arg(package)
        .current_dir(workspace())
        .stderr(Stdio::inherit())
        .output()
        .expect("scripts/build-baseline runs");
    assert!(output.status.success(), "scripts/build-baseline failed");
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .last()
        .expect("build-baseline prints the image's name")
        .to_owned()
}

fn median(values: &[f64]) -> Option<f64> {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

fn spread(values: &[f64]) -> String {
    let (Some(min), Some(max)) = (
        values.iter().copied().reduce(f64::min),
        values.iter().copied().reduce(f64::max),
    ) else {
        return "—".to_owned();
    };
    format!(
        "{min:.2} – {:.2} – {max:.2}",
        median(values).unwrap_or_default()
    )
}

fn counted(runs: &[&RunFigures]) -> String {
    let count = |verdict| runs.iter().filter(|r| r.verdict == verdict).count();
    format!(
        "{} / {} / {}",
        count(Verdict::Within),
        count(Verdict::Over),
        count(Verdict::None)
    )
}

fn figures(runs: &[&RunFigures], figure: impl Fn(&RunFigures) -> Option<f64>) -> Vec<f64> {
    runs.iter().filter_map(|r| figure(r)).collect()
}

/// The summary row of one scenario under one condition.
fn summary_row(subject: &Subject, neighbour: Neighbour) -> String {
    let runs: Vec<&RunFigures> = subject
        .runs
        .iter()
        .filter(|r| r.neighbour == neighbour)
        .collect();
    let recorded: Vec<&RunFigures> = runs.iter().copied().filter(|r| !r.disturbed).collect();
    let lateness = figures(&runs, |r| r.lateness_p99_us);
    let before = median(&figures(&runs, |r| r.floor_before_p99_ms));
    let after = median(&figures(&runs, |r| r.floor_after_p99_ms));
    let ms = |v: Option<f64>| v.map_or("—".to_owned(), |v| format!("{v:.3}"));
    format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} / {} | {} → {} |",
        subject.describe(),
        neighbour.name(),
        runs.len(),
        counted(&runs),
        counted(&recorded),
        spread(&figures(&runs, |r| r.p99_ms)),
        spread(&figures(&runs, |r| r.judged_ms)),
        runs.iter().filter(|r| r.disturbed).count(),
        runs.iter().filter(|r| r.attempts > 1).count(),
        median(&lateness).map_or("—".to_owned(), |v| format!("{v:.0}")),
        lateness
            .iter()
            .copied()
            .reduce(f64::max)
            .map_or("—".to_owned(), |v| format!("{v:.0}")),
        ms(before),
        ms(after),
    )
}

/// Whether every run a worker would record (not disturbed) agrees, quiet and noisy together.
fn agreement(subject: &Subject) -> String {
    let recorded: Vec<&RunFigures> = subject.runs.iter().filter(|r| !r.disturbed).collect();
    let verdicts: Vec<Verdict> = recorded.iter().map(|r| r.verdict).collect();
    let identical = verdicts.windows(2).all(|pair| pair[0] == pair[1]);
    let quiet_lateness = subject
        .runs
        .iter()
        .filter(|r| r.neighbour == Neighbour::None)
        .filter_map(|r| r.lateness_p99_us)
        .reduce(f64::max);
    format!(
        "- {}: {} of {} runs not disturbed (within / over / none: {}), verdicts {}; quiet \
         send lateness p99 at most {} µs (target < 20 µs)",
        subject.package.manifest.id,
        recorded.len(),
        subject.runs.len(),
        counted(&recorded),
        if recorded.is_empty() {
            "— (none recorded)"
        } else if identical {
            "identical"
        } else {
            "DIFFER"
        },
        quiet_lateness.map_or("—".to_owned(), |v| format!("{v:.0}")),
    )
}

fn run_row(subject: &Subject, index: usize, run: &RunFigures) -> String {
    let value =
        |v: Option<f64>, digits: usize| v.map_or("—".to_owned(), |v| format!("{v:.digits$}"));
    format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} | {} → {} | {:.0} | {} |",
        subject.package.manifest.id,
        run.neighbour.name(),
        index,
        match run.verdict {
            Verdict::Within => "within",
            Verdict::Over => "OVER",
            Verdict::None => "none",
        },
        value(run.p99_ms, 2),
        value(run.judged_ms, 2),
        if run.disturbed { "yes" } else { "no" },
        run.attempts,
        value(run.floor_before_p99_ms, 3),
        value(run.floor_after_p99_ms, 3),
        run.lateness_p99_us.unwrap_or_default(),
        if run.remark.is_empty() {
            format!("{:.0} s", run.seconds)
        } else {
            format!("{:.0} s; {}", run.seconds, run.remark)
        },
    )
}

fn main() {
    let runs: usize = env_or("JIEBANG_STABILITY_RUNS", &DEFAULT_RUNS.to_string())
        .parse()
        .expect("JIEBANG_STABILITY_RUNS is a number");
    let ids = env_or("JIEBANG_STABILITY_SCENARIOS", DEFAULT_SCENARIOS);
    // What a worker with nothing configured does: the harness on the first CPU, the
    // containers on the others. Read before this thread is pinned.
    let cpus = process_cpus();
    let plan = isolation(cpus, None, None, false);
    let container_cpus = plan.containers.as_deref().map(cpuset_of);
    // Built before the harness is pinned, so the builds get every CPU.
    let tags: Vec<(PathBuf, String)> = ids
        .split(',')
        .map(str::trim)
        .map(|id| {
            let dir = workspace().join("scenarios/catalog").join(id);
            let tag = build_baseline(&dir);
            (dir, tag)
        })
        .collect();
    fixture::fixture_image_with("jiebang-fixture/burn:test", &["burn", "1"]);
    let runtime = worker_runtime(plan.harness.clone()).unwrap();
    let Some(sandbox) = runtime.block_on(require_docker()) else {
        return;
    };
    let mut subjects: Vec<Subject> = tags
        .iter()
        .map(|(dir, tag)| {
            let package = validate(dir).unwrap_or_else(|report| panic!("{report}"));
            let load_id = format!("stability-{}-{}", package.manifest.id, std::process::id());
            let image = runtime.block_on(fixture::saved_and_imported(&sandbox, tag, &load_id));
            Subject {
                package,
                image,
                runs: Vec::new(),
            }
        })
        .collect();
    eprintln!(
        "verdict stability: {runs} runs per scenario and condition; harness on CPUs {:?}, \
         containers on {}, burner on {}",
        plan.harness,
        container_cpus.as_deref().unwrap_or("any"),
        cpuset_of(cpus)
    );
    for subject in &mut subjects {
        for index in 0..runs {
            // Alternating, so a slow change of the host weighs on both conditions alike.
            for neighbour in [Neighbour::None, Neighbour::Burner] {
                let burner = (neighbour == Neighbour::Burner).then(|| {
                    fixture::Burner::start(
                        &format!("stability-{index}"),
                        &cpuset_of(cpus),
                        3 * cpus.len(),
                    )
                });
                let job_id = format!(
                    "stability-{}-{}-{index}-{}",
                    subject.package.manifest.id,
                    if burner.is_some() { "noisy" } else { "quiet" },
                    std::process::id()
                );
                let job = Job {
                    job_id: &job_id,
                    image: &subject.image.id,
                    package: &subject.package,
                    cpuset: container_cpus.clone(),
                    devices: vec![],
                    measurement: MeasurementPolicy::default(),
                };
                let began = Instant::now();
                let evaluation = runtime.block_on(evaluate(&sandbox, &job, &|_| {}));
                let seconds = began.elapsed().as_secs_f64();
                drop(burner);
                let figures = match evaluation {
                    Ok(evaluation) => RunFigures::of(neighbour, &evaluation.report, seconds),
                    Err(error) => RunFigures::failed(neighbour, error.to_string(), seconds),
                };
                eprintln!("{}", run_row(subject, index + 1, &figures));
                subject.runs.push(figures);
            }
        }
    }
    for subject in &subjects {
        let _ = runtime.block_on(sandbox.remove_image(&subject.image));
    }

    println!("\n### Verdict stability ({runs} runs per scenario and condition)\n");
    println!(
        "| scenario (load, budget) | neighbour | runs | verdicts within / over / none | not disturbed: within / over / none | p99 ms min – median – max | budget percentile ms min – median – max | disturbed (kept run) | repeated (attempts > 1) | send lateness p99 µs median / max | floor p99 ms before → after (medians) |"
    );
    println!("|---|---|---:|---|---|---|---|---:|---:|---|---|");
    for subject in &subjects {
        for neighbour in [Neighbour::None, Neighbour::Burner] {
            println!("{}", summary_row(subject, neighbour));
        }
    }
    println!();
    for subject in &subjects {
        println!("{}", agreement(subject));
    }
    println!("\n#### Every run\n");
    println!(
        "| scenario | neighbour | run | verdict | p99 ms | budget percentile ms | disturbed | attempts | floor p99 ms before → after | send lateness p99 µs | time; figures past their thresholds |"
    );
    println!("|---|---|---:|---|---:|---:|---|---:|---|---:|---|");
    for subject in &subjects {
        for (index, run) in subject.runs.iter().enumerate() {
            println!("{}", run_row(subject, index / 2 + 1, run));
        }
    }
}
