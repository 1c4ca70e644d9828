//! Samples the leased accelerators every few seconds while a job runs, and sums the
//! samples up per device (for the report) and per device per minute (for the platform).

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jiebang_sandboxes::accelerators::{Device, DeviceUsage, usage};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::protocol::utilisation::{DeviceUse, UsageMinute};

/// How often the vendor's tool is asked: often enough for a minute to hold a dozen samples,
/// seldom enough that asking costs nothing measurable.
pub const SAMPLE_EVERY: Duration = Duration::from_secs(5);

const MINUTE_MS: i64 = 60_000;

/// What the devices were doing at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// Milliseconds since the epoch.
    pub at_ms: i64,
    pub usage: Vec<DeviceUsage>,
}

/// Milliseconds since the epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A sampling task for one job's devices; [`Sampler::finish`] stops it and sums up.
pub struct Sampler {
    devices: Vec<Device>,
    started_ms: i64,
    samples: Arc<Mutex<Vec<Sample>>>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl Sampler {
    /// Starts sampling `devices` every `every` (nothing runs for a job without devices).
    pub fn start(devices: Vec<Device>, every: Duration) -> Self {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let (stop, mut stopped) = oneshot::channel();
        let task = (!devices.is_empty()).then(|| {
            let (devices, samples) = (devices.clone(), Arc::clone(&samples));
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(every);
                ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = &mut stopped => break,
                        _ = ticks.tick() => {}
                    }
                    // The vendors' tools are programs or C libraries: off the runtime.
                    let polled = devices.clone();
                    let Ok(usage) = tokio::task::spawn_blocking(move || usage(&polled)).await
                    else {
                        continue;
                    };
                    if let Ok(mut samples) = samples.lock() {
                        samples.push(Sample {
                            at_ms: now_ms(),
                            usage,
                        });
                    }
                }
            })
        });
        Self {
            devices,
            started_ms: now_ms(),
            samples,
            stop: Some(stop),
            task,
        }
    }

    /// Stops sampling; the devices' summaries and minutes from the start until now.
    pub async fn finish(mut self) -> (Vec<DeviceUse>, Vec<UsageMinute>) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        let samples = self
            .samples
            .lock()
            .map(|samples| samples.clone())
            .unwrap_or_default();
        summarise(&self.devices, self.started_ms, now_ms(), &samples)
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Per device: the leased time from `start_ms` to `end_ms` and the figures the samples
/// give; per device per whole minute touched: the leased seconds in it and the samples
/// taken in it. A figure no sample answered stays `None`.
pub fn summarise(
    devices: &[Device],
    start_ms: i64,
    end_ms: i64,
    samples: &[Sample],
) -> (Vec<DeviceUse>, Vec<UsageMinute>) {
    let end_ms = end_ms.max(start_ms);
    let mut summaries = Vec::new();
    let mut minutes = Vec::new();
    for device in devices {
        let readings: Vec<(i64, &DeviceUsage)> = samples
            .iter()
            .filter_map(|s| {
                s.usage
                    .iter()
                    .find(|u| u.device_id == device.id)
                    .map(|u| (s.at_ms, u))
            })
            .collect();
        let busy: Vec<f64> = readings
            .iter()
            .filter_map(|(_, u)| u.busy_percent)
            .collect();
        summaries.push(DeviceUse {
            id: device.id.clone(),
            model: device.model.clone(),
            leased_seconds: (end_ms - start_ms) as f64 / 1000.0,
            busy_mean_percent: mean(&busy),
            busy_max_percent: busy.iter().copied().reduce(f64::max),
            memory_peak_bytes: readings
                .iter()
                .filter_map(|(_, u)| u.memory_used_bytes)
                .max(),
            memory_total_bytes: readings
                .iter()
                .filter_map(|(_, u)| u.memory_total_bytes)
                .max(),
            samples: u32::try_from(readings.len()).unwrap_or(u32::MAX),
        });
        let mut minute = start_ms.div_euclid(MINUTE_MS) * MINUTE_MS;
        while minute < end_ms {
            let next = minute + MINUTE_MS;
            let inside: Vec<&DeviceUsage> = readings
                .iter()
                .filter(|(at, _)| (minute..next).contains(at))
                .map(|(_, u)| *u)
                .collect();
            let busy: Vec<f64> = inside.iter().filter_map(|u| u.busy_percent).collect();
            minutes.push(UsageMinute {
                device_id: device.id.clone(),
                model: device.model.clone(),
                minute_start_ms: minute,
                leased_seconds: (end_ms.min(next) - start_ms.max(minute)) as f64 / 1000.0,
                busy_percent: mean(&busy),
                busy_samples: u32::try_from(busy.len()).unwrap_or(u32::MAX),
                memory_peak_bytes: inside.iter().filter_map(|u| u.memory_used_bytes).max(),
            });
            minute = next;
        }
    }
    (summaries, minutes)
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn device(id: &str) -> Device {
        Device::new(id, "MLU370")
    }

    fn reading(id: &str, busy: Option<f64>, memory: Option<u64>) -> DeviceUsage {
        DeviceUsage {
            device_id: id.into(),
            busy_percent: busy,
            memory_used_bytes: memory,
            memory_total_bytes: memory.map(|_| 24 << 30),
        }
    }

    #[test]
    fn a_run_across_a_minute_boundary_is_split_and_summed_exactly() {
        // 12:00:50 to 12:02:10 UTC on some day: 10 s, 60 s and 10 s in three minutes.
        let minute0 = 1_764_590_400_000; // a whole minute
        let start = minute0 + 50_000;
        let end = minute0 + 130_000;
        let samples = vec![
            Sample {
                at_ms: start + 1_000,
                usage: vec![
                    reading("0", Some(20.0), Some(1 << 30)),
                    reading("1", None, None),
                ],
            },
            Sample {
                at_ms: minute0 + 70_000,
                usage: vec![
                    reading("0", Some(60.0), Some(3 << 30)),
                    reading("1", None, None),
                ],
            },
            Sample {
                at_ms: minute0 + 100_000,
                usage: vec![
                    reading("0", Some(100.0), Some(2 << 30)),
                    reading("1", None, None),
                ],
            },
        ];
        let (devices, minutes) = summarise(&[device("0"), device("1")], start, end, &samples);
        let zero = &devices[0];
        assert_eq!(zero.leased_seconds, 80.0);
        assert_eq!(zero.busy_mean_percent, Some(60.0));
        assert_eq!(zero.busy_max_percent, Some(100.0));
        assert_eq!(zero.memory_peak_bytes, Some(3 << 30));
        assert_eq!(zero.memory_total_bytes, Some(24 << 30));
        assert_eq!(zero.samples, 3);
        // No tool answered for device 1: only its leased time is known.
        let one = &devices[1];
        assert_eq!(one.leased_seconds, 80.0);
        assert_eq!((one.busy_mean_percent, one.memory_peak_bytes), (None, None));

        let of_zero: Vec<_> = minutes.iter().filter(|m| m.device_id == "0").collect();
        assert_eq!(
            of_zero
                .iter()
                .map(|m| (m.minute_start_ms - minute0, m.leased_seconds))
                .collect::<Vec<_>>(),
            [(0, 10.0), (60_000, 60.0), (120_000, 10.0)]
        );
        assert_eq!(of_zero[0].busy_percent, Some(20.0));
        assert_eq!(of_zero[1].busy_percent, Some(80.0));
        assert_eq!(of_zero[1].busy_samples, 2);
        assert_eq!(of_zero[1].memory_peak_bytes, Some(3 << 30));
        assert_eq!(
            (of_zero[2].busy_percent, of_zero[2].busy_samples),
            (None, 0)
        );
        assert_eq!(minutes.len(), 6, "three minutes for each device");
        let leased: f64 = minutes.iter().map(|m| m.leased_seconds).sum();
        assert_eq!(
            leased, 160.0,
            "the minutes add up to the leased device-seconds"
        );
    }

    #[tokio::test]
    async fn the_sampler_asks_while_the_job_runs_and_only_for_its_devices() {
        let sampler = Sampler::start(vec![device("7")], Duration::from_millis(20));
        tokio::time::sleep(Duration::from_millis(90)).await;
        let (devices, minutes) = sampler.finish().await;
        assert_eq!(devices.len(), 1);
        assert_eq!(devices[0].id, "7");
        assert!(devices[0].samples >= 2, "{:?}", devices[0]);
        assert!(devices[0].leased_seconds >= 0.09, "{:?}", devices[0]);
        assert!(!minutes.is_empty());
        let none = Sampler::start(Vec::new(), Duration::from_millis(20));
        assert_eq!(none.finish().await, (Vec::new(), Vec::new()));
    }
}
