//! The evaluation report: written by the worker, stored by the platform, and read back by
//! it (boards, comparisons, pages) through these types only.
//!
//! A field added after reports were first stored carries `#[serde(default)]`, so every
//! stored report still reads. Unknown fields are ignored rather than refused: a report is
//! a record, and one written by a newer worker must still be shown.

use serde::{Deserialize, Serialize};

pub use crate::harness::quality::{
    Disturbance, Figure, FloorFigures, MeasurementQuality, SendLateness,
};
pub use crate::harness::report::{Bucket, LatencySummary};
pub use crate::harness::verdict::BudgetVerdict;
pub use crate::pipeline::scoring::{Score, SplitScores};
pub use crate::protocol::utilisation::{DeviceUse, UsageMinute};
pub use jiebang_sandboxes::{RunOutcome, Termination};

/// Everything measured about one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub scenario_id: String,
    /// The loaded image's id.
    pub image: String,
    /// The public sample run (its logs go to the team).
    pub sample: Option<RunReport>,
    /// The hidden run, scored on the public and private boards' parts.
    pub hidden: Option<RunReport>,
    /// Set when the submission failed: which limit or error ended it.
    pub failure: Option<String>,
    /// What the team should know about how a run was run and scored: predictions that were
    /// not usable numbers, a metric that was not finite, and how the model's metadata was
    /// matched (tensors not declared, matched by position, a batch dimension added).
    /// Reports written before notes existed have none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<crate::protocol::Note>,
    pub environment: Environment,
    /// Accelerators held times seconds held, less the disturbed timed runs that were
    /// repeated (see [`Report::repeated_seconds`]): what a compute voucher is charged.
    #[serde(default)]
    pub device_seconds: f64,
    /// The ids of the accelerators the job held, so utilisation can be shown per device.
    #[serde(default)]
    pub devices: Vec<String>,
    /// Each accelerator held: leased seconds and, where the vendor's tool reports them,
    /// busy % (mean, max) and peak memory. Reports from before sampling have none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accelerators: Vec<DeviceUse>,
    /// The same per device per minute, for the platform's utilisation series.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub utilisation: Vec<UsageMinute>,
}

/// One run (sample or hidden) as the report shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    pub scores: SplitScores,
    pub latency: Option<LatencySummary>,
    pub verdict: Option<BudgetVerdict>,
    /// The harness against its own null server just before the run: the floor.
    pub floor: Option<LatencySummary>,
    /// What else happened on the node during the timed run (hidden runs in serve mode):
    /// send lateness, CPU pressure, steal, throttling, the floor before and after, and
    /// whether the run was disturbed. Reports written before it was measured have none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality: Option<MeasurementQuality>,
    pub resources: RunOutcome,
}

/// Where and how the run happened, so it can be reproduced.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    pub cpu_model: String,
    pub cores: usize,
    pub kernel: String,
    pub harness_version: String,
    pub split_seed: u64,
    pub load_seed: u64,
}

impl Report {
    /// The hidden run's scores, if it ran.
    pub fn hidden_scores(&self) -> Option<&SplitScores> {
        self.hidden.as_ref().map(|run| &run.scores)
    }

    /// The hidden run's latency at the percentile its budget applies to (p99 for the
    /// server pattern, p90 otherwise), if it was measured.
    pub fn budget_latency_ms(&self) -> Option<f64> {
        let hidden = self.hidden.as_ref()?;
        let latency = hidden.latency.as_ref()?;
        let percentile = hidden.verdict.as_ref().map_or(90.0, |v| v.percentile);
        Some(if percentile >= 99.0 {
            latency.p99_ms
        } else {
            latency.p90_ms
        })
    }

    /// The hidden run's measurement, when it stayed disturbed through every repeat: the
    /// result says more about the node than about the submission.
    pub fn disturbed(&self) -> Option<&MeasurementQuality> {
        self.hidden
            .as_ref()
            .and_then(|run| run.quality.as_ref())
            .filter(|quality| quality.disturbed())
    }

    /// The time the hidden run's disturbed timed runs took, with the waits after them,
    /// when they were repeated and a later run was kept: the node's doing, not the
    /// submission's, so never charged.
    pub fn repeated_seconds(&self) -> f64 {
        self.hidden
            .as_ref()
            .and_then(|run| run.quality.as_ref())
            .and_then(|quality| quality.repeated_seconds)
            .unwrap_or(0.0)
    }

    /// Records the accelerators the job held and their device-seconds (devices × seconds
    /// held), less what the repeated disturbed timed runs took on each of them.
    pub fn held_devices(&mut self, devices: Vec<String>, device_seconds: f64) {
        let repeated = devices.len() as f64 * self.repeated_seconds();
        self.device_seconds = (device_seconds - repeated).max(0.0);
        self.devices = devices;
    }

    /// The CPU time a run without accelerators is charged: the sample and hidden runs'
    /// container CPU time, less the container's in the repeated disturbed timed runs. Where
    /// the host did not show that, the hidden run's CPU time is taken off in proportion to
    /// the time the repeats took.
    pub fn charged_cpu_seconds(&self) -> f64 {
        let sample = self
            .sample
            .as_ref()
            .map_or(0.0, |run| run.resources.cpu_seconds);
        let Some(hidden) = &self.hidden else {
            return sample.max(0.0);
        };
        let used = hidden.resources.cpu_seconds;
        let repeated = self.repeated_seconds();
        let repeated_cpu = hidden
            .quality
            .as_ref()
            .and_then(|quality| quality.repeated_cpu_seconds)
            .unwrap_or_else(|| {
                let wall = hidden.resources.wall_seconds;
                if wall > 0.0 {
                    used * (repeated / wall).min(1.0)
                } else {
                    0.0
                }
            });
        (sample + (used - repeated_cpu).max(0.0)).max(0.0)
    }

    /// Hides what a team may not see while its phase is open: the private board's score
    /// and the whole hidden set's, from which the private one could be worked out.
    pub fn hide_private_scores(&mut self) {
        if let Some(hidden) = &mut self.hidden {
            hidden.scores.private = None;
            hidden.scores.all = None;
        }
    }

    /// Keeps only coarse resource figures of the hidden run: exact ones (exit code, bytes
    /// logged or written, peak memory, CPU time) are a covert channel through which an
    /// image could carry dozens of bits of the hidden set out per submission. While a
    /// phase is open the team sees success or failure, times to the minute, memory to
    /// 256 MiB; the sample run's figures stay exact, for debugging.
    pub fn coarsen_hidden_resources(&mut self) {
        const MINUTE: f64 = 60.0;
        const MEMORY_STEP: u64 = 256 << 20;
        const OUTPUT_STEP: u64 = 64 << 20;
        let up_to = |value: f64, step: f64| (value / step).ceil().max(0.0) * step;
        // The devices span both runs, and a submission could drive their load or memory
        // to spell out hidden answers: the same coarseness, busy % to the nearest 10.
        self.device_seconds = up_to(self.device_seconds, MINUTE);
        for device in &mut self.accelerators {
            device.leased_seconds = up_to(device.leased_seconds, MINUTE);
            for busy in [&mut device.busy_mean_percent, &mut device.busy_max_percent] {
                *busy = busy.map(|b| (b / 10.0).round() * 10.0);
            }
            device.memory_peak_bytes = device
                .memory_peak_bytes
                .map(|m| m.div_ceil(MEMORY_STEP) * MEMORY_STEP);
            device.samples = 0;
        }
        self.utilisation.clear();
        let Some(hidden) = &mut self.hidden else {
            return;
        };
        let resources = &mut hidden.resources;
        if let Termination::Exited { code } = &mut resources.termination {
            *code = i64::from(*code != 0);
        }
        resources.wall_seconds = up_to(resources.wall_seconds, MINUTE);
        resources.cpu_seconds = up_to(resources.cpu_seconds, MINUTE);
        resources.throttled_seconds = up_to(resources.throttled_seconds, MINUTE);
        resources.throttled_periods = 0;
        resources.peak_memory_bytes =
            resources.peak_memory_bytes.div_ceil(MEMORY_STEP) * MEMORY_STEP;
        resources.output_bytes = resources.output_bytes.div_ceil(OUTPUT_STEP) * OUTPUT_STEP;
        resources.log_bytes = 0;
        resources.logs_truncated = false;
        if let Some(quality) = &mut hidden.quality {
            quality.coarsen();
        }
    }
}
