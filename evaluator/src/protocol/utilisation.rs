//! What the accelerators did during an evaluation: a summary per device for the report,
//! and per device per minute for the platform's utilisation series.

use serde::{Deserialize, Serialize};

/// One accelerator over one evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeviceUse {
    pub id: String,
    pub model: String,
    /// Seconds the job held the device.
    pub leased_seconds: f64,
    /// Mean and highest busy % over the samples the vendor's tool answered; `None` where
    /// none did (then only the leased time is known).
    pub busy_mean_percent: Option<f64>,
    pub busy_max_percent: Option<f64>,
    /// The most device memory in use at any sample, and the device's total.
    pub memory_peak_bytes: Option<u64>,
    pub memory_total_bytes: Option<u64>,
    /// Samples taken (including those no tool answered).
    pub samples: u32,
}

/// One accelerator over one minute of one evaluation (the minute starts on a whole minute,
/// UTC): the platform keeps these as its time series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UsageMinute {
    pub device_id: String,
    pub model: String,
    /// The minute's start, milliseconds since the epoch.
    pub minute_start_ms: i64,
    /// Seconds of this minute the job held the device (at most 60).
    pub leased_seconds: f64,
    /// Mean busy % of the answered samples in the minute; `None` where none answered.
    pub busy_percent: Option<f64>,
    /// How many answered samples the mean is of (the weight when minutes are merged).
    pub busy_samples: u32,
    pub memory_peak_bytes: Option<u64>,
}
