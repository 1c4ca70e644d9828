//! The worker API's messages and the evaluation report, defined once: the platform serves
//! and reads them, the evaluator's worker sends and reads them.
//!
//! Ids are plain strings on the wire; the platform turns them into its id types at its
//! boundary. What the platform reads from a worker refuses unknown fields, so a typo or a
//! mismatched version is an error rather than a silently ignored field; what a worker reads
//! from the platform tolerates additions.

pub mod note;
pub mod report;
mod report_text;
pub mod utilisation;

use serde::{Deserialize, Serialize};

pub use crate::pipeline::scoring::{BoardItems, ItemPairs};
pub use jiebang_sandboxes::accelerators::Device;
pub use note::Note;
pub use report::Report;

/// `POST /internal/v1/workers`: what a node offers, reported when it registers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    pub name: String,
    pub cpus: u32,
    pub memory_mb: u64,
    /// The node's accelerators by the ids their driver knows them by.
    #[serde(default)]
    pub accelerators: Vec<Device>,
}

/// The platform's answer to a registration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Registered {
    pub worker_id: String,
}

/// `POST /internal/v1/jobs/claim`: a worker asks for the oldest job its node fits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimRequest {
    pub worker_id: String,
    /// Seconds to wait for a job (long poll); the platform caps it.
    #[serde(default)]
    pub wait_seconds: u64,
}

/// The answer to a claim: a job the worker now holds under a lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClaimedJob {
    pub job_id: String,
    /// 1 for the first try; a job whose worker failed it is tried again.
    pub attempt: i32,
    pub lease_seconds: u64,
    pub submission_id: String,
    pub scenario_id: String,
    pub image_digest: String,
    pub image_size: i64,
    /// The scenario's bundle (manifest, samples, hidden set); `None` when it has none yet.
    #[serde(default)]
    pub bundle_digest: Option<String>,
}

/// `POST /internal/v1/jobs/{id}/heartbeat`: the worker still holds the job.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Heartbeat {
    pub worker_id: String,
}

/// `POST /internal/v1/jobs/{id}/hand-back`: a stopping worker gives back the job it holds,
/// unfinished, so another worker takes it at once instead of when the lease runs out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HandBack {
    pub worker_id: String,
}

jiebang_scenarios::text_enum! {
    /// The stages a worker reports while it holds a job (the platform sets the others).
    pub enum Stage: "stage" {
        SampleRun = "sample_run",
        HiddenRun = "hidden_run",
        Scoring = "scoring",
    }
}

/// `POST /internal/v1/jobs/{id}/stage`: the submission moves to `stage`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageReport {
    pub worker_id: String,
    pub stage: Stage,
}

/// How a job ended. On the wire the kind is `outcome` and the text is `reason`:
/// `{"outcome": "submission_failed", "reason": "killed for exceeding the memory limit"}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", content = "reason", rename_all = "snake_case")]
pub enum Outcome {
    /// Evaluated; the report says how well.
    Finished,
    /// The submission failed by its own doing (a limit, a crash, a bad image); counts as
    /// done and against the team's quota.
    SubmissionFailed(String),
    /// The node or the platform failed; the job is tried again while attempts remain.
    InfrastructureFailed(String),
    /// Other work on the node disturbed the timed run through every repeat: the job goes
    /// back to the queue to wait for a quiet node, costs no attempt and is never charged;
    /// the reason names each figure past its threshold.
    Disturbed(String),
}

impl Outcome {
    /// Which limit or error ended a failed run.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Self::Finished => None,
            Self::SubmissionFailed(reason)
            | Self::InfrastructureFailed(reason)
            | Self::Disturbed(reason) => Some(reason),
        }
    }
}

/// The most bytes a result body may take: the platform refuses larger ones, and the worker
/// fits logs and reasons into it (see `worker::result`).
pub const MAX_RESULT_BODY: usize = 8 << 20;

/// `POST /internal/v1/jobs/{id}/result`: how the job ended, with the report and both logs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultBody {
    pub worker_id: String,
    /// `outcome` and `reason` on the wire.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// The evaluation report; none when the run never got that far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<Report>,
    /// Logs of the public sample run: the team sees them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_logs: Option<String>,
    /// Logs of the hidden run: judges and operators only (they may carry hidden inputs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hidden_logs: Option<String>,
    /// The hidden run's scored pairs item by item, for the boards' rank significance. Kept
    /// by the platform, never shown to the team (it says which hidden items were right);
    /// that is why it travels here and not in the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub board_items: Option<BoardItems>,
}

#[cfg(test)]
mod tests;
