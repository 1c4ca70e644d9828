//! Exclusive leases on the node's devices, returned on drop, metered in device-seconds.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::{Assignment, Device, assignment};
use crate::SandboxError;

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
            .filter(|d| !in_use.contains(&d.key()) && model.is_none_or(|m| d.model == m))
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
            in_use.insert(device.key());
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

    /// What a container needs to get exactly these devices, whatever their vendor.
    pub fn assignment(&self) -> Assignment {
        assignment(&self.devices)
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        if let Ok(mut in_use) = self.in_use.lock() {
            for device in &self.devices {
                in_use.remove(&device.key());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn node() -> Allocator {
        Allocator::new(vec![
            Device::new("0", "A100"),
            Device::new("1", "A100"),
            Device::new("2", "T4"),
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
    fn the_assignment_names_exactly_the_leased_devices() {
        let node = node();
        let lease = node.acquire(1, Some("T4")).unwrap();
        let request = &lease.assignment().device_requests[0];
        assert_eq!(request.driver.as_deref(), Some("nvidia"));
        assert_eq!(request.device_ids, Some(vec!["2".to_owned()]));
        assert_eq!(request.capabilities, Some(vec![vec!["gpu".to_owned()]]));
        assert_eq!(
            request.count, None,
            "ids, not a count, so no other device is visible"
        );
        assert!(assignment(&[]).is_empty());
        assert!(lease.device_seconds() >= 0.0);
    }
}
