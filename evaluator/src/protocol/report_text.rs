//! The evaluation report as the command line prints it (`jiebang try`, `jiebang status`).

use std::fmt::{self, Write};

use super::report::{Report, RunReport, Score};

impl Report {
    /// The report as plain text: per run, scores with their intervals and the items they
    /// cover, latency, the budget verdict and resources; then notes, the failure and the
    /// environment.
    pub fn to_text(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = self.write_text(&mut text);
        text
    }

    fn write_text(&self, out: &mut String) -> fmt::Result {
        writeln!(out, "scenario {}, image {}", self.scenario_id, self.image)?;
        for (name, run) in [("sample run", &self.sample), ("hidden run", &self.hidden)] {
            if let Some(run) = run {
                write_run(out, name, run)?;
            }
        }
        if !self.notes.is_empty() {
            writeln!(out, "notes:")?;
            for note in &self.notes {
                writeln!(out, "  - {note}")?;
            }
        }
        match &self.failure {
            Some(failure) => writeln!(out, "FAILED: {failure}")?,
            None => writeln!(out, "finished")?,
        }
        let env = &self.environment;
        writeln!(
            out,
            "environment: {} ({} cores), kernel {}, harness {}, split seed {}, load seed {}",
            if env.cpu_model.is_empty() {
                "unknown CPU"
            } else {
                env.cpu_model.as_str()
            },
            env.cores,
            env.kernel,
            env.harness_version,
            env.split_seed,
            env.load_seed
        )
    }
}

fn write_run(out: &mut String, name: &str, run: &RunReport) -> fmt::Result {
    writeln!(out, "{name}:")?;
    let scores = &run.scores;
    let parts = [
        ("public board's part", &scores.public),
        ("private board's part", &scores.private),
        ("every item", &scores.all),
    ];
    let mut any = false;
    for (part, score) in parts {
        if let Some(score) = score {
            any = true;
            writeln!(out, "  {} ({part}): {}", scores.metric, score_text(score))?;
        }
    }
    if !any {
        writeln!(out, "  {}: no score", scores.metric)?;
    }
    if let Some(latency) = &run.latency {
        writeln!(
            out,
            "  latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}  ({} queries, {} errors, \
             {} time-outs, {:.1} queries/s)",
            latency.p50_ms,
            latency.p90_ms,
            latency.p99_ms,
            latency.max_ms,
            latency.queries,
            latency.errors,
            latency.timeouts,
            latency.achieved_qps
        )?;
    }
    if let Some(floor) = &run.floor {
        writeln!(
            out,
            "  harness floor ms: p50 {:.3}  p99 {:.3}",
            floor.p50_ms, floor.p99_ms
        )?;
    }
    if let Some(verdict) = &run.verdict {
        let uncertain = if verdict.close_to_budget() == Some(true) {
            " (uncertain: the budget lies inside the interval)"
        } else {
            ""
        };
        writeln!(
            out,
            "  budget (p{} ≤ {} ms): {}{uncertain}; {} of {} queries over budget",
            verdict.percentile,
            verdict.budget_ms,
            if verdict.within_budget {
                "within"
            } else {
                "OVER"
            },
            verdict.over_budget,
            verdict.queries
        )?;
    }
    let resources = &run.resources;
    writeln!(
        out,
        "  server {}: {:.1} s, CPU {:.1} s, peak memory {} MiB",
        resources.termination,
        resources.wall_seconds,
        resources.cpu_seconds,
        resources.peak_memory_bytes >> 20
    )
}

fn score_text(score: &Score) -> String {
    format!(
        "{:.4} [{:.4}, {:.4}], scored {} of {} items",
        score.value, score.low, score.high, score.items, score.items_in_set
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_failed_report_says_why_and_what_was_measured() {
        let report: Report = serde_json::from_value(serde_json::json!({
            "scenario_id": "kg",
            "image": "sha256:abc",
            "sample": {
                "scores": {"metric": "accuracy", "public": null, "private": null,
                           "all": {"value": 0.75, "low": 0.5, "high": 1.0, "items": 4,
                                   "items_in_set": 4}},
                "latency": null, "verdict": null, "floor": null,
                "resources": {"termination": {"kind": "stopped"}, "wall_seconds": 1.5,
                              "cpu_seconds": 0.2, "peak_memory_bytes": 10485760,
                              "log_bytes": 0, "logs_truncated": false, "output_bytes": 0}
            },
            "hidden": null,
            "failure": "hidden run: the server exited with code 1",
            "notes": ["the model's metadata declares no inputs"],
            "environment": {"cpu_model": "", "cores": 2, "kernel": "6.1", "harness_version": "0.1.0",
                            "split_seed": 7, "load_seed": 9}
        }))
        .unwrap();
        let text = report.to_text();
        assert!(
            text.contains("accuracy (every item): 0.7500 [0.5000, 1.0000], scored 4 of 4 items"),
            "{text}"
        );
        assert!(text.contains("peak memory 10 MiB"), "{text}");
        assert!(
            text.contains("  - the model's metadata declares no inputs"),
            "{text}"
        );
        assert!(
            text.contains("FAILED: hidden run: the server exited with code 1"),
            "{text}"
        );
    }
}
