//! Accelerators: the node's inventory per vendor, exclusive assignment to jobs, usage and
//! device-seconds.
//!
//! Each vendor is a [`Driver`]: it discovers its devices (a library, device nodes under the
//! device root, its tool), says what a container needs to get exactly the devices of a
//! lease, and samples their use. [`inventory`] picks the configured list or discovery;
//! [`Allocator`] hands devices out; [`assignment`] and [`usage`] dispatch per vendor.

mod allocator;
mod ascend;
mod cambricon;
mod nodes;
mod nvidia;
mod tool;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use bollard::models::{DeviceMapping, DeviceRequest};
use serde::{Deserialize, Serialize};

pub use allocator::{Allocator, Lease};

/// Who made a device, which decides how it is found, given to a container and sampled.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(rename_all = "lowercase")]
pub enum Vendor {
    /// The default, so inventories stored before vendors existed (all NVIDIA) read as before.
    #[default]
    Nvidia,
    /// Cambricon MLU (思元), through `/dev/cambricon_dev*`.
    Cambricon,
    /// Huawei Ascend NPU (昇腾), through `/dev/davinci*`.
    Ascend,
}

impl Vendor {
    pub const ALL: [Vendor; 3] = [Vendor::Nvidia, Vendor::Cambricon, Vendor::Ascend];

    /// The word used in configuration (`cambricon:0=MLU270`) and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Vendor::Nvidia => "nvidia",
            Vendor::Cambricon => "cambricon",
            Vendor::Ascend => "ascend",
        }
    }

    /// The vendor and product family, for people.
    pub fn title(self) -> &'static str {
        match self {
            Vendor::Nvidia => "NVIDIA GPU",
            Vendor::Cambricon => "Cambricon MLU",
            Vendor::Ascend => "Huawei Ascend NPU",
        }
    }

    pub fn parse(word: &str) -> Option<Vendor> {
        Vendor::ALL
            .into_iter()
            .find(|v| v.name().eq_ignore_ascii_case(word.trim()))
    }

    fn driver(self) -> &'static dyn Driver {
        match self {
            Vendor::Nvidia => &nvidia::Nvidia,
            Vendor::Cambricon => &cambricon::CAMBRICON,
            Vendor::Ascend => &ascend::ASCEND,
        }
    }
}

/// One device of the node, as configured or discovered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Device {
    /// The id the driver knows it by: a GPU UUID (or index) for NVIDIA, the device index
    /// (`0`, `1`) for Cambricon and Ascend.
    pub id: String,
    pub model: String,
    #[serde(default)]
    pub vendor: Vendor,
    /// The device's node on the host (`/dev/cambricon_dev0`), for vendors assigned by
    /// device node; filled in from the device root when the configuration leaves it out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<PathBuf>,
}

impl Device {
    /// An NVIDIA device (the vendor devices were before vendors were recorded).
    pub fn new(id: &str, model: &str) -> Self {
        Self {
            id: id.to_owned(),
            model: model.to_owned(),
            ..Self::default()
        }
    }

    /// `cambricon:0  MLU270  /dev/cambricon_dev0`: one line for people.
    pub fn describe(&self) -> String {
        let node = self
            .node
            .as_ref()
            .map(|n| format!("  {}", n.display()))
            .unwrap_or_default();
        format!("{}  {}{node}", self.key(), self.model)
    }

    /// What the allocator tells devices apart by: ids repeat across vendors (`0`).
    pub fn key(&self) -> String {
        format!("{}:{}", self.vendor.name(), self.id)
    }
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

/// One device as its vendor's tool reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    /// The device's index (the N of `cambricon_devN`, `davinciN`; a GPU's index).
    pub index: u32,
    pub name: String,
    pub busy_percent: Option<f64>,
    pub memory_used_bytes: Option<u64>,
    pub memory_total_bytes: Option<u64>,
}

impl Reading {
    /// These figures as `device`'s usage.
    fn usage(&self, device: &Device) -> DeviceUsage {
        DeviceUsage {
            device_id: device.id.clone(),
            busy_percent: self.busy_percent,
            memory_used_bytes: self.memory_used_bytes,
            memory_total_bytes: self.memory_total_bytes,
        }
    }
}

impl DeviceUsage {
    /// `  (busy 44%, 31194/32480 MiB)`, or nothing where no figure is known.
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(busy) = self.busy_percent {
            parts.push(format!("busy {busy}%"));
        }
        if let (Some(used), Some(total)) = (self.memory_used_bytes, self.memory_total_bytes) {
            parts.push(format!("{}/{} MiB", used >> 20, total >> 20));
        }
        if parts.is_empty() {
            return String::new();
        }
        format!("  ({})", parts.join(", "))
    }
}

/// What a container needs so that it sees exactly a lease's devices.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Assignment {
    /// Docker device requests (NVIDIA: the `nvidia` driver with the devices' UUIDs).
    pub device_requests: Vec<DeviceRequest>,
    /// Device nodes mounted into the container (Cambricon, Ascend).
    pub devices: Vec<DeviceMapping>,
    /// Variables the vendor's runtime reads (`MLU_VISIBLE_DEVICES`).
    pub env: Vec<(String, String)>,
}

impl Assignment {
    pub fn is_empty(&self) -> bool {
        self.device_requests.is_empty() && self.devices.is_empty() && self.env.is_empty()
    }
}

/// One vendor's devices on this node and how they were looked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    pub devices: Vec<Device>,
    /// What was looked at, in order, and what came of it: which library, node or tool.
    pub notes: Vec<String>,
    /// The short reason when nothing was found (`no /dev/davinci*`).
    pub absent: Option<String>,
}

/// One vendor's way with its devices.
pub(crate) trait Driver: Sync {
    /// Its devices on this node; nodes are looked for under `root` (normally `/dev`).
    fn discover(&self, root: &Path) -> Found;
    /// What a container needs to get exactly `devices` (all of this vendor) and no other.
    fn assign(&self, devices: &[Device]) -> Assignment;
    /// Busy share and memory of `devices`, in their order; `None` figures where unknown.
    fn sample(&self, devices: &[Device]) -> Vec<DeviceUsage>;
    /// The node a configured device of this vendor has under `root`, if it has one.
    fn node_of(&self, _id: &str, _root: &Path) -> Option<PathBuf> {
        None
    }
}

/// Every vendor's devices on this node, and how each was looked for.
#[derive(Debug, Clone, Default)]
pub struct Discovery {
    pub root: PathBuf,
    pub vendors: Vec<(Vendor, Found)>,
}

/// Looks for every vendor's devices: NVML (or `nvidia-smi`), then device nodes under
/// `root` with `cnmon` and `npu-smi` where installed. Nothing found is not an error.
pub fn discover(root: &Path) -> Discovery {
    Discovery {
        root: root.to_path_buf(),
        vendors: Vendor::ALL
            .into_iter()
            .map(|vendor| (vendor, vendor.driver().discover(root)))
            .collect(),
    }
}

impl Discovery {
    pub fn devices(&self) -> Vec<Device> {
        self.vendors
            .iter()
            .flat_map(|(_, found)| found.devices.iter().cloned())
            .collect()
    }

    /// What `jiebang worker --list-devices` prints: per vendor, what was found and why.
    pub fn report(&self) -> String {
        let mut text = String::new();
        for (vendor, found) in &self.vendors {
            let _ = writeln!(
                text,
                "{} ({}): {} found",
                vendor.title(),
                vendor.name(),
                found.devices.len()
            );
            for note in &found.notes {
                let _ = writeln!(text, "  {note}");
            }
            // Sampled once now, so the operator sees the tool answer for each device.
            let sampled = usage(&found.devices);
            for (device, now) in found.devices.iter().zip(&sampled) {
                let _ = writeln!(text, "  - {}{}", device.describe(), now.summary());
            }
        }
        let absent: Vec<&str> = self
            .vendors
            .iter()
            .filter_map(|(_, found)| found.absent.as_deref())
            .collect();
        if self.devices().is_empty() {
            let _ = writeln!(text, "no accelerators found: {}", absent.join(", "));
        }
        text
    }
}

/// The node's inventory: the configured devices when there are any (discovery is then
/// skipped: the operator's list is the truth), with their device nodes filled in from
/// `root`; otherwise what [`discover`] finds.
pub fn inventory(configured: &[Device], root: &Path) -> Vec<Device> {
    if configured.is_empty() {
        return discover(root).devices();
    }
    configured
        .iter()
        .map(|device| Device {
            node: device
                .node
                .clone()
                .or_else(|| device.vendor.driver().node_of(&device.id, root)),
            ..device.clone()
        })
        .collect()
}

/// What a container needs to get exactly `devices`: each vendor's part, merged.
pub fn assignment(devices: &[Device]) -> Assignment {
    let mut merged = Assignment::default();
    for vendor in Vendor::ALL {
        let own: Vec<Device> = devices
            .iter()
            .filter(|d| d.vendor == vendor)
            .cloned()
            .collect();
        if own.is_empty() {
            continue;
        }
        let part = vendor.driver().assign(&own);
        merged.device_requests.extend(part.device_requests);
        merged.devices.extend(part.devices);
        merged.env.extend(part.env);
    }
    merged
}

/// Samples `devices` through their vendor's library or tool, in their order. Devices no
/// tool answers for get an entry with every figure `None`, so leased time is still counted.
pub fn usage(devices: &[Device]) -> Vec<DeviceUsage> {
    let mut sampled: Vec<Option<DeviceUsage>> = vec![None; devices.len()];
    for vendor in Vendor::ALL {
        let (places, own): (Vec<usize>, Vec<Device>) = devices
            .iter()
            .enumerate()
            .filter(|(_, d)| d.vendor == vendor)
            .map(|(i, d)| (i, d.clone()))
            .unzip();
        if own.is_empty() {
            continue;
        }
        for (place, usage) in places.into_iter().zip(vendor.driver().sample(&own)) {
            sampled[place] = Some(usage);
        }
    }
    devices
        .iter()
        .zip(sampled)
        .map(|(device, usage)| usage.unwrap_or_else(|| unknown(device)))
        .collect()
}

/// A device no library or tool reported on.
fn unknown(device: &Device) -> DeviceUsage {
    DeviceUsage {
        device_id: device.id.clone(),
        ..DeviceUsage::default()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_inventory_stored_before_vendors_reads_as_nvidia() {
        let old: Vec<Device> = serde_json::from_str(r#"[{"id":"0","model":"A100"}]"#).unwrap();
        assert_eq!(old, [Device::new("0", "A100")]);
        let json = serde_json::to_string(&old[0]).unwrap();
        assert_eq!(json, r#"{"id":"0","model":"A100","vendor":"nvidia"}"#);
        let typed: Device = serde_json::from_str(
            r#"{"id":"1","model":"MLU270","vendor":"cambricon","node":"/dev/cambricon_dev1"}"#,
        )
        .unwrap();
        assert_eq!(typed.vendor, Vendor::Cambricon);
        assert_eq!(typed.key(), "cambricon:1");
    }

    #[test]
    fn a_configured_inventory_gets_its_nodes_from_the_root() {
        let configured = [
            Device {
                vendor: Vendor::Cambricon,
                ..Device::new("1", "MLU270")
            },
            Device {
                vendor: Vendor::Ascend,
                ..Device::new("3", "910B")
            },
            Device::new("GPU-1", "A100"),
        ];
        let devices = inventory(&configured, Path::new("/srv/fake-dev"));
        let nodes: Vec<Option<PathBuf>> = devices.iter().map(|d| d.node.clone()).collect();
        assert_eq!(
            nodes,
            [
                Some(PathBuf::from("/srv/fake-dev/cambricon_dev1")),
                Some(PathBuf::from("/srv/fake-dev/davinci3")),
                None
            ]
        );
    }

    #[test]
    fn a_usage_summary_says_only_what_is_known() {
        let known = DeviceUsage {
            device_id: "0".into(),
            busy_percent: Some(44.0),
            memory_used_bytes: Some(31194 << 20),
            memory_total_bytes: Some(32480 << 20),
        };
        assert_eq!(known.summary(), "  (busy 44%, 31194/32480 MiB)");
        assert_eq!(DeviceUsage::default().summary(), "");
    }

    #[test]
    fn devices_nobody_answers_for_are_still_listed() {
        let usage = usage(&[
            Device {
                vendor: Vendor::Ascend,
                ..Device::new("7", "910B")
            },
            Device {
                vendor: Vendor::Cambricon,
                ..Device::new("0", "MLU270")
            },
        ]);
        assert_eq!(usage.len(), 2);
        assert_eq!(usage[0].device_id, "7");
        assert_eq!(usage[1].device_id, "0");
    }
}
