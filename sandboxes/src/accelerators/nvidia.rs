//! NVIDIA GPUs: inventory and use through NVML (libnvidia-ml, loaded at run time; absent
//! means no NVIDIA devices), `nvidia-smi` where the library cannot be loaded but the tool
//! runs, assignment by a Docker device request naming the GPUs' UUIDs.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use bollard::models::DeviceRequest;
use nvml_wrapper::Nvml;

use super::{Assignment, Device, DeviceUsage, Driver, Found, Reading, Vendor, tool, unknown};

pub struct Nvidia;

/// What `nvidia-smi` is asked: the fallback's query, in this column order.
const QUERY: &[&str] = &[
    "--query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu",
    "--format=csv,noheader,nounits",
];

/// One GPU as `nvidia-smi --query-gpu=…` lists it: its UUID and figures.
#[derive(Debug, Clone, PartialEq)]
pub struct SmiGpu {
    pub uuid: String,
    pub reading: Reading,
}

/// Parses the output of [`QUERY`]: one line per GPU, `0, GPU-…, Tesla V100-PCIE-32GB,
/// 32480, 31194, 44`, memory in MiB; `[N/A]` or `[Not Supported]` where a figure is missing.
pub fn parse_nvidia_smi(text: &str) -> Vec<SmiGpu> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split(',').map(str::trim).collect();
            let [index, uuid, name, total, used, busy] = fields.as_slice() else {
                return None;
            };
            let mib = |f: &str| f.parse::<u64>().ok().map(|n| n << 20);
            Some(SmiGpu {
                uuid: (*uuid).to_owned(),
                reading: Reading {
                    index: index.parse().ok()?,
                    name: (*name).to_owned(),
                    busy_percent: busy.parse().ok(),
                    memory_used_bytes: mib(used),
                    memory_total_bytes: mib(total),
                },
            })
        })
        .collect()
}

/// NVML, initialised once per process; or why it could not be.
fn nvml() -> Result<&'static Nvml, &'static str> {
    static NVML: OnceLock<Result<Nvml, String>> = OnceLock::new();
    NVML.get_or_init(|| Nvml::init().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(String::as_str)
}

fn nvidia_smi() -> Option<PathBuf> {
    tool::find("nvidia-smi", &["/usr/bin"])
}

fn smi_gpus() -> Result<(PathBuf, Vec<SmiGpu>), String> {
    let path = nvidia_smi().ok_or_else(|| "no nvidia-smi on PATH".to_owned())?;
    let text = tool::run(&path, QUERY)?;
    Ok((path, parse_nvidia_smi(&text)))
}

/// Every GPU NVML lists, by UUID.
fn nvml_devices(nvml: &Nvml) -> Result<Vec<Device>, String> {
    let count = nvml.device_count().map_err(|e| e.to_string())?;
    (0..count)
        .map(|index| {
            let gpu = nvml.device_by_index(index).map_err(|e| e.to_string())?;
            Ok(Device {
                id: gpu.uuid().map_err(|e| e.to_string())?,
                model: gpu.name().map_err(|e| e.to_string())?,
                vendor: Vendor::Nvidia,
                node: None,
            })
        })
        .collect()
}

/// A device's figures from NVML: by UUID, or by index for a configured `0`, `1`.
fn nvml_usage(nvml: &Nvml, device: &Device) -> Option<DeviceUsage> {
    let gpu = match device.id.parse::<u32>() {
        Ok(index) => nvml.device_by_index(index),
        Err(_) => nvml.device_by_uuid(device.id.as_str()),
    }
    .ok()?;
    let memory = gpu.memory_info().ok();
    Some(DeviceUsage {
        device_id: device.id.clone(),
        busy_percent: gpu.utilization_rates().ok().map(|u| f64::from(u.gpu)),
        memory_used_bytes: memory.as_ref().map(|m| m.used),
        memory_total_bytes: memory.as_ref().map(|m| m.total),
    })
}

impl Driver for Nvidia {
    fn discover(&self, _root: &Path) -> Found {
        let mut notes = Vec::new();
        match nvml() {
            Ok(nvml) => {
                let driver = nvml.sys_driver_version().unwrap_or_default();
                match nvml_devices(nvml) {
                    Ok(devices) => {
                        notes.push(format!(
                            "libnvidia-ml (NVML, driver {driver}) lists {} GPU(s)",
                            devices.len()
                        ));
                        return Found {
                            absent: devices
                                .is_empty()
                                .then(|| "no GPU in libnvidia-ml".to_owned()),
                            devices,
                            notes,
                        };
                    }
                    Err(error) => notes.push(format!("libnvidia-ml loaded but failed: {error}")),
                }
            }
            Err(error) => notes.push(format!("libnvidia-ml not loaded: {error}")),
        }
        match smi_gpus() {
            Ok((path, gpus)) => {
                notes.push(format!("{} lists {} GPU(s)", path.display(), gpus.len()));
                let devices: Vec<Device> = gpus
                    .into_iter()
                    .map(|gpu| Device {
                        id: gpu.uuid,
                        model: gpu.reading.name,
                        vendor: Vendor::Nvidia,
                        node: None,
                    })
                    .collect();
                Found {
                    absent: devices.is_empty().then(|| "no NVIDIA GPU".to_owned()),
                    devices,
                    notes,
                }
            }
            Err(error) => {
                notes.push(error);
                Found {
                    devices: Vec::new(),
                    notes,
                    absent: Some("no libnvidia-ml".to_owned()),
                }
            }
        }
    }

    /// `--gpus "device=…"`: the NVIDIA driver, these device ids, the GPU capability; ids,
    /// never a count, so no other GPU is visible.
    fn assign(&self, devices: &[Device]) -> Assignment {
        Assignment {
            device_requests: vec![DeviceRequest {
                driver: Some("nvidia".to_owned()),
                device_ids: Some(devices.iter().map(|d| d.id.clone()).collect()),
                capabilities: Some(vec![vec!["gpu".to_owned()]]),
                ..Default::default()
            }],
            ..Assignment::default()
        }
    }

    fn sample(&self, devices: &[Device]) -> Vec<DeviceUsage> {
        if let Ok(nvml) = nvml() {
            return devices
                .iter()
                .map(|d| nvml_usage(nvml, d).unwrap_or_else(|| unknown(d)))
                .collect();
        }
        let gpus = smi_gpus().map(|(_, gpus)| gpus).unwrap_or_default();
        devices
            .iter()
            .map(|device| {
                gpus.iter()
                    .find(|g| g.uuid == device.id || g.reading.index.to_string() == device.id)
                    .map_or_else(|| unknown(device), |g| g.reading.usage(device))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// `nvidia-smi --query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu
    /// --format=csv,noheader,nounits` in the layout its manual documents (a comma and a space
    /// between fields, `[N/A]` where a figure is unsupported). Not a recording (no NVIDIA
    /// machine was at hand): the models and figures are those of a published `nvidia-smi`
    /// table of four Tesla V100, the UUIDs made up in NVIDIA's format.
    const DOCUMENTED: &str = "\
0, GPU-1b6a2f4c-5d3e-8f7a-9b0c-1d2e3f4a5b6c, Tesla V100-PCIE-32GB, 32480, 31194, 44
1, GPU-2c7b3a5d-6e4f-9a8b-0c1d-2e3f4a5b6c7d, Tesla V100-PCIE-32GB, 32480, 30884, 0
2, GPU-3d8c4b6e-7f5a-0b9c-1d2e-3f4a5b6c7d8e, Tesla V100-PCIE-32GB, 32480, 30884, 0
3, GPU-4e9d5c7f-8a6b-1c0d-2e3f-4a5b6c7d8e9f, Tesla V100-PCIE-32GB, 32480, [N/A], [N/A]
";

    #[test]
    fn nvidia_smi_rows_give_uuids_models_and_use() {
        let gpus = parse_nvidia_smi(DOCUMENTED);
        assert_eq!(gpus.len(), 4);
        assert_eq!(
            gpus[0],
            SmiGpu {
                uuid: "GPU-1b6a2f4c-5d3e-8f7a-9b0c-1d2e3f4a5b6c".into(),
                reading: Reading {
                    index: 0,
                    name: "Tesla V100-PCIE-32GB".into(),
                    busy_percent: Some(44.0),
                    memory_used_bytes: Some(31194 << 20),
                    memory_total_bytes: Some(32480 << 20),
                },
            }
        );
        let last = &gpus[3].reading;
        assert_eq!((last.memory_used_bytes, last.busy_percent), (None, None));
        assert!(
            parse_nvidia_smi("NVIDIA-SMI has failed because it couldn't communicate").is_empty()
        );
    }

    #[test]
    fn the_device_request_carries_the_uuids() {
        let devices = [
            Device::new("GPU-1b6a2f4c-5d3e-8f7a-9b0c-1d2e3f4a5b6c", "V100"),
            Device::new("GPU-3d8c4b6e-7f5a-0b9c-1d2e-3f4a5b6c7d8e", "V100"),
        ];
        let assignment = Nvidia.assign(&devices);
        let request = &assignment.device_requests[0];
        assert_eq!(
            request.device_ids.as_deref(),
            Some(
                &[
                    "GPU-1b6a2f4c-5d3e-8f7a-9b0c-1d2e3f4a5b6c".to_owned(),
                    "GPU-3d8c4b6e-7f5a-0b9c-1d2e-3f4a5b6c7d8e".to_owned()
                ][..]
            )
        );
        assert!(assignment.devices.is_empty() && assignment.env.is_empty());
    }

    #[test]
    fn without_the_library_there_are_no_gpus_and_the_reason_is_said() {
        let found = Nvidia.discover(Path::new("/dev"));
        if nvml().is_err() && nvidia_smi().is_none() {
            assert!(found.devices.is_empty());
            assert_eq!(found.absent.as_deref(), Some("no libnvidia-ml"));
            assert!(
                found.notes[0].starts_with("libnvidia-ml not loaded"),
                "{found:?}"
            );
        } else {
            assert!(!found.notes.is_empty());
        }
    }
}
