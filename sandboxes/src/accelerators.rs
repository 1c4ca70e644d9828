//! Accelerators: the node's inventory, exclusive assignment to jobs, and device-seconds.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use bollard::models::DeviceRequest;
use serde::{Deserialize, Serialize};

use crate::SandboxError;

/// One device of the node, as configured.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    /// The id the driver knows it by (`0`, `1`, or a GPU UUID).
    pub id: String,
    pub model: String,
}

/// What a device was doing when sampled; `None` where no vendor tool reports it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DeviceUsage {
    pub device_id: String,
    /// Share of the sample interval the device was busy, 0–100.
    pub busy_percent: Option<f64>,
    pub memory_used_bytes: Option<u64>,
    pub memory_total_bytes: Option<u64>,
}

/// Samples `devices` through their vendor's tool. Devices no tool answers for get an entry
/// with every figure `None`, so leased time is still counted.
pub fn usage(devices: &[Device]) -> Vec<DeviceUsage> {
    devices
        .iter()
        .map(|device| DeviceUsage {
            device_id: device.id.clone(),
            ..DeviceUsage::default()
        })
        .collect()
}

/// Hands out devices so that no two jobs ever share one.
#[derive(Debug, Clone)]
pub struct Allocator {
    devices: Arc<Vec<Device>>,
    in_use: Arc<Mutex<BTreeSet<String>>>,
}

/// Devices held by one job; they return to the pool when this is dropped, whatever the
/// path (success, failure, panic).
#[derive(Debug)]
pub struct Lease {
    devices: Vec<Device>,
    in_use: Arc<Mutex<BTreeSet<String>>>,
    since: Instant,
}

impl Allocator {
    pub fn new(devices: Vec<Device>) -> Self {
        Self {
            devices: Arc::new(devices),
            in_use: Arc::new(Mutex::new(BTreeSet::new())),
        }
    }

    pub fn inventory(&self) -> &[Device] {
        &self.devices
    }

    pub fn free(&self) -> usize {
        let in_use = self.in_use.lock().map_or(0, |set| set.len());
        self.devices.len() - in_use
    }

    /// `count` devices of `model` (any model when `None`), or an error saying what is short.
    pub fn acquire(&self, count: usize, model: Option<&str>) -> Result<Lease, SandboxError> {
        let mut in_use = self
            .in_use
            .lock()
            .map_err(|_| SandboxError::Accelerators("allocator state poisoned".into()))?;
        let chosen: Vec<Device> = self
            .devices
            .iter()
            .filter(|d| !in_use.contains(&d.id) && model.is_none_or(|m| d.model == m))
            .take(count)
            .cloned()
            .collect();
        if chosen.len() < count {
            let wanted =
                model.map_or_else(|| "accelerators".to_owned(), |m| format!("{m} devices"));
            return Err(SandboxError::Accelerators(format!(
                "{count} {wanted} requested, {} free on this node",
                chosen.len()
            )));
        }
        for device in &chosen {
            in_use.insert(device.id.clone());
        }
        Ok(Lease {
            devices: chosen,
            in_use: Arc::clone(&self.in_use),
            since: Instant::now(),
        })
    }
}

impl Lease {
    pub fn devices(&self) -> &[Device] {
        &self.devices
    }

    /// Devices held times seconds held so far: what a compute voucher is charged.
    pub fn device_seconds(&self) -> f64 {
        self.devices.len() as f64 * self.since.elapsed().as_secs_f64()
    }

    /// The Docker device request that gives a container exactly these devices.
    pub fn device_request(&self) -> Option<DeviceRequest> {
        device_request(&self.devices)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Ok(mut in_use) = self.in_use.lock() {
            for device in &self.devices {
                in_use.remove(&device.id);
            }
        }
    }
}

/// `--gpus "device=…"`: the NVIDIA driver, these device ids, the GPU capability.
pub fn device_request(devices: &[Device]) -> Option<DeviceRequest> {
    (!devices.is_empty()).then(|| DeviceRequest {
        driver: Some("nvidia".to_owned()),
        device_ids: Some(devices.iter().map(|d| d.id.clone()).collect()),
        capabilities: Some(vec![vec!["gpu".to_owned()]]),
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn node() -> Allocator {
        Allocator::new(vec![
            Device {
                id: "0".into(),
                model: "A100".into(),
            },
            Device {
                id: "1".into(),
                model: "A100".into(),
            },
            Device {
                id: "2".into(),
                model: "T4".into(),
            },
        ])
    }

    #[test]
    fn devices_are_exclusive_and_come_back() {
        let node = node();
        let first = node.acquire(2, Some("A100")).unwrap();
        assert_eq!(
            first
                .devices()
                .iter()
                .map(|d| d.id.as_str())
                .collect::<Vec<_>>(),
            ["0", "1"]
        );
        let refused = node.acquire(1, Some("A100")).unwrap_err();
        assert!(refused.to_string().contains("0 free"), "{refused}");
        let t4 = node.acquire(1, None).unwrap();
        assert_eq!(t4.devices()[0].id, "2");
        assert_eq!(node.free(), 0);
        drop(first);
        assert_eq!(node.free(), 2);
        assert!(node.acquire(2, Some("A100")).is_ok());
    }

    #[test]
    fn a_panicking_job_returns_its_devices() {
        let node = node();
        let shared = node.clone();
        let outcome = std::thread::spawn(move || {
            let _lease = shared.acquire(3, None).unwrap();
            panic!("the job crashed");
        })
        .join();
        assert!(outcome.is_err());
        assert_eq!(node.free(), 3);
    }

    #[test]
    fn the_device_request_names_exactly_the_leased_devices() {
        let node = node();
        let lease = node.acquire(1, Some("T4")).unwrap();
        let request = lease.device_request().unwrap();
        assert_eq!(request.driver.as_deref(), Some("nvidia"));
        assert_eq!(request.device_ids, Some(vec!["2".to_owned()]));
        assert_eq!(request.capabilities, Some(vec![vec!["gpu".to_owned()]]));
        assert_eq!(
            request.count, None,
            "ids, not a count, so no other device is visible"
        );
        assert!(device_request(&[]).is_none());
        assert!(lease.device_seconds() >= 0.0);
    }
}
