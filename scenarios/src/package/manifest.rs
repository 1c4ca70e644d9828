//! `scenario.toml`: what a scenario is, how submissions run, and how they are judged.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A text in Chinese and English; both are required.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub zh: String,
    pub en: String,
}

/// The whole of `scenario.toml`. Every table rejects keys it does not know, so a typo is
/// an error rather than a silent default; tables marked `default` may be left out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// A slug: lowercase letters, digits and hyphens, 3–64 characters.
    pub id: String,
    pub title: Text,
    /// The organisation posting it, for example `konggang`.
    pub town: String,
    /// For example `logistics`, `healthcare`, `culture-tourism`, `energy`, `manufacturing`, `finance`.
    pub domain: String,
    pub summary: Text,
    /// Markdown, shown on the scenario's page.
    #[serde(default)]
    pub description: Option<Text>,
    pub bounty: Bounty,
    /// In order and not overlapping; each has its own boards.
    pub phases: Vec<Phase>,
    pub mode: Mode,
    pub task: Task,
    pub metric: MetricSpec,
    #[serde(default)]
    pub latency: Latency,
    #[serde(default)]
    pub resources: Resources,
    #[serde(default)]
    pub limits: Limits,
    #[serde(default)]
    pub quota: Quota,
    #[serde(default)]
    pub split: Split,
    pub data: DataProvenance,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bounty {
    /// The whole prize pool, in yuan.
    pub amount_cny: u64,
    /// How it is shared out, for people to read.
    #[serde(default)]
    pub notes: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Phase {
    pub name: String,
    #[serde(deserialize_with = "rfc3339::deserialize")]
    pub opens_at: DateTime<Utc>,
    #[serde(deserialize_with = "rfc3339::deserialize")]
    pub closes_at: DateTime<Utc>,
}

/// Phase times as RFC 3339 text or as TOML's own date-times: a department writing
/// `opens_at = 2026-07-01T00:00:00+08:00` without quotes means the same thing.
mod rfc3339 {
    use chrono::{DateTime, Utc};
    use serde::de::{Deserialize, Deserializer, Error};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let text = match toml::Value::deserialize(d)? {
            toml::Value::String(text) => text,
            toml::Value::Datetime(datetime) => datetime.to_string(),
            other => {
                return Err(D::Error::custom(format!(
                    "expected a date and time such as \"2026-07-01T00:00:00+08:00\", found {}",
                    other.type_str()
                )));
            }
        };
        DateTime::parse_from_rfc3339(&text)
            .map(|time| time.with_timezone(&Utc))
            .map_err(|_| {
                D::Error::custom(format!(
                    "`{text}` is not an RFC 3339 date and time with an offset, such as 2026-07-01T00:00:00+08:00"
                ))
            })
    }
}

crate::text_enum! {
    optional_sql;
    /// How a submission runs: an inference server, or a job that reads inputs and exits.
    pub enum Mode: "mode" {
        Serve = "serve",
        Batch = "batch",
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Task {
    /// The model name in `/v2/models/{model}/infer`.
    pub model: String,
    pub inputs: Vec<TensorSpec>,
    pub outputs: Vec<TensorSpec>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorSpec {
    pub name: String,
    /// An Open Inference Protocol datatype: BOOL, INT8…INT64, UINT8…UINT64, FP16, FP32, FP64, BYTES.
    pub datatype: String,
    /// -1 for a variable dimension.
    pub shape: Vec<i64>,
}

crate::text_enum! {
    optional_sql;
    /// The metrics a scenario can be scored by (as scikit-learn computes them).
    pub enum MetricName: "metric" {
        Accuracy = "accuracy",
        MacroF1 = "macro_f1",
        RocAuc = "roc_auc",
        Rmse = "rmse",
        Mae = "mae",
        Mape = "mape",
    }
}

crate::text_enum! {
    optional_sql;
    /// Which way a metric is better.
    pub enum Direction: "direction" {
        Higher = "higher",
        Lower = "lower",
    }
}

impl MetricName {
    pub fn direction(self) -> Direction {
        match self {
            Self::Accuracy | Self::MacroF1 | Self::RocAuc => Direction::Higher,
            Self::Rmse | Self::Mae | Self::Mape => Direction::Lower,
        }
    }

    /// Classification metrics compare labels; regression metrics compare numbers.
    pub fn is_classification(self) -> bool {
        matches!(self, Self::Accuracy | Self::MacroF1 | Self::RocAuc)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetricSpec {
    pub name: MetricName,
    /// Derived from the metric; when stated it must agree.
    #[serde(default)]
    pub direction: Option<Direction>,
}

impl MetricSpec {
    pub fn direction(&self) -> Direction {
        self.name.direction()
    }
}

/// How the harness sends queries (MLPerf LoadGen's scenarios).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "pattern", deny_unknown_fields)]
pub enum Load {
    SingleStream,
    Server { rate_qps: f64 },
    Offline { concurrency: u32 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OverBudget {
    /// Ranked below every run within budget.
    RankBelow,
    /// Left off the board.
    Disqualify,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Latency {
    /// Required in serve mode.
    pub budget_ms: Option<f64>,
    /// The percentile the budget applies to; by default 90 for single-stream, 99 for server.
    pub percentile: Option<f64>,
    pub load: Load,
    pub min_duration_s: u64,
    pub min_queries: u64,
    pub over_budget: OverBudget,
}

impl Default for Latency {
    fn default() -> Self {
        Self {
            budget_ms: None,
            percentile: None,
            load: Load::SingleStream,
            min_duration_s: 10,
            min_queries: 100,
            over_budget: OverBudget::RankBelow,
        }
    }
}

impl Latency {
    pub fn percentile(&self) -> f64 {
        self.percentile.unwrap_or(match self.load {
            Load::Server { .. } => 99.0,
            Load::SingleStream | Load::Offline { .. } => 90.0,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Resources {
    pub cpus: f64,
    pub memory_mb: u64,
    /// Accelerators the run leases exclusively (GPU, MLU or NPU); `gpus`, the first name
    /// of the field, is still read so that published packages keep validating.
    #[serde(alias = "gpus")]
    pub accelerators: u32,
    /// The device model they must be (`MLU370`, `A100`); any model when absent.
    #[serde(alias = "gpu_model")]
    pub accelerator_model: Option<String>,
}

impl Default for Resources {
    fn default() -> Self {
        Self {
            cpus: 1.0,
            memory_mb: 1024,
            accelerators: 0,
            accelerator_model: None,
        }
    }
}

/// Time limits in seconds. In serve mode the container gets `startup_s` to become ready
/// and then the run's own limit; in batch mode the run's limit is the whole time the
/// container may take (batch has no separate start-up).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Serve mode: from container start to `GET /v2/health/ready` answering 200.
    pub startup_s: u64,
    /// The public sample run, after start-up.
    pub sample_run_s: u64,
    /// The hidden run, after start-up: warm-up, the accuracy pass and the timed run must
    /// all fit in it.
    pub hidden_run_s: u64,
    /// Serve mode: how long the accuracy pass waits for one hidden item's answer. By
    /// default [`Manifest::item_timeout`]'s: ten times the timed run's per-query time-out.
    pub item_timeout_s: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            startup_s: 60,
            sample_run_s: 120,
            hidden_run_s: 600,
            item_timeout_s: None,
        }
    }
}

/// How many hidden items the accuracy pass asks at once where the load pattern does not
/// say: a server built for the server pattern takes concurrent queries anyway.
pub const ACCURACY_PASS_CONCURRENCY: u32 = 4;

impl Manifest {
    /// The timed run's time-out for one query: ten times the budget, at least a second.
    pub fn query_timeout(&self) -> Duration {
        let budget_ms = self.latency.budget_ms.unwrap_or(1000.0);
        Duration::from_secs_f64((budget_ms * 10.0 / 1000.0).max(1.0))
    }

    /// The accuracy pass's time-out for one hidden item: `limits.item_timeout_s`, or ten
    /// times [`Manifest::query_timeout`] — generous, because the pass measures what the
    /// server answers, not how fast.
    pub fn item_timeout(&self) -> Duration {
        self.limits
            .item_timeout_s
            .map_or_else(|| self.query_timeout() * 10, Duration::from_secs)
    }

    /// How many hidden items the accuracy pass asks at once: the offline pattern's
    /// connections; one for single-stream, whose contract is one query at a time (a server
    /// built for it may serve one connection at a time); [`ACCURACY_PASS_CONCURRENCY`]
    /// for the server pattern.
    pub fn accuracy_concurrency(&self) -> u32 {
        match self.latency.load {
            Load::SingleStream => 1,
            Load::Server { .. } => ACCURACY_PASS_CONCURRENCY,
            Load::Offline { concurrency } => concurrency.max(1),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Quota {
    pub submissions_per_day: u32,
}

impl Default for Quota {
    fn default() -> Self {
        Self {
            submissions_per_day: 5,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Split {
    /// The share of the hidden set on the public board.
    pub public_fraction: f64,
    pub seed: u64,
}

impl Default for Split {
    fn default() -> Self {
        Self {
            public_fraction: 0.3,
            seed: 20_261_124,
        }
    }
}

/// Where the data came from, under which licence, and what was done to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataProvenance {
    pub source: String,
    pub licence: String,
    pub transformation: String,
}
