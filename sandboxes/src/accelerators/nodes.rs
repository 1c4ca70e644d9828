//! Vendors assigned by device node (Cambricon, Ascend): their numbered nodes under the
//! device root, model names and use from their tool, and a container given exactly a
//! lease's nodes with the vendor's shared control nodes and its visibility variable.

use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use bollard::models::DeviceMapping;

use super::{Assignment, Device, DeviceUsage, Driver, Found, Reading, Vendor, tool, unknown};

/// A vendor whose devices are character devices: how they are named, found and given.
pub struct NodeVendor {
    pub vendor: Vendor,
    /// Numbered per device: `cambricon_dev` → `cambricon_dev0`, `cambricon_dev1`.
    pub prefix: &'static str,
    /// Shared by every device and needed by each job: `cambricon_ctl`, `davinci_manager`.
    pub shared: &'static [&'static str],
    /// The tool that names the devices and reports their use, its arguments, and where the
    /// vendor installs it when it is not on `PATH`.
    pub tool: &'static str,
    pub tool_args: &'static [&'static str],
    pub places: &'static [&'static str],
    pub parse: fn(&str) -> Vec<Reading>,
    /// The model name when the tool cannot say (the configuration can name it instead).
    pub unknown_model: &'static str,
    /// The variable the vendor's runtime reads (`MLU_VISIBLE_DEVICES`).
    pub variable: &'static str,
}

impl NodeVendor {
    /// The numbered character devices under `root`, by index.
    fn numbered(&self, root: &Path) -> Vec<(u32, PathBuf)> {
        let Ok(entries) = std::fs::read_dir(root) else {
            return Vec::new();
        };
        let mut found: Vec<(u32, PathBuf)> = entries
            .filter_map(Result::ok)
            .filter_map(|entry| {
                let name = entry.file_name().into_string().ok()?;
                let index = name.strip_prefix(self.prefix)?.parse::<u32>().ok()?;
                is_char_device(&entry.path()).then(|| (index, entry.path()))
            })
            .collect();
        found.sort();
        found
    }

    /// The shared nodes that exist next to `node`.
    fn shared_beside(&self, node: &Path) -> Vec<PathBuf> {
        let Some(dir) = node.parent() else {
            return Vec::new();
        };
        self.shared
            .iter()
            .map(|name| dir.join(name))
            .filter(|path| is_char_device(path))
            .collect()
    }

    /// What the tool reports now, or why nothing.
    fn readings(&self) -> Result<(PathBuf, Vec<Reading>), String> {
        let path = tool::find(self.tool, self.places)
            .ok_or_else(|| format!("no {} on PATH", self.tool))?;
        let text = tool::run(&path, self.tool_args)?;
        Ok((path, (self.parse)(&text)))
    }
}

impl Driver for NodeVendor {
    fn discover(&self, root: &Path) -> Found {
        let pattern = format!("{}/{}*", root.display(), self.prefix);
        let numbered = self.numbered(root);
        let Some((_, first)) = numbered.first() else {
            return Found {
                notes: vec![format!("no {pattern} device nodes")],
                absent: Some(format!("no {pattern}")),
                ..Found::default()
            };
        };
        let mut notes = vec![format!("{} device node(s) {pattern}", numbered.len())];
        let shared = self.shared_beside(first);
        let names: Vec<String> = shared.iter().map(|p| p.display().to_string()).collect();
        notes.push(format!("control nodes: {}", names.join(", ")));
        if shared.len() < self.shared.len() {
            notes.push(format!(
                "missing some of {}: is the driver loaded?",
                self.shared.join(", ")
            ));
        }
        let readings = match self.readings() {
            Ok((path, readings)) => {
                notes.push(format!(
                    "{} lists {} device(s)",
                    path.display(),
                    readings.len()
                ));
                readings
            }
            Err(error) => {
                notes.push(format!(
                    "{error}: model names unknown (`{}`); name them in [sandbox] accelerators",
                    self.unknown_model
                ));
                Vec::new()
            }
        };
        let devices = numbered
            .into_iter()
            .map(|(index, node)| Device {
                id: index.to_string(),
                model: readings
                    .iter()
                    .find(|r| r.index == index)
                    .map_or_else(|| self.unknown_model.to_owned(), |r| r.name.clone()),
                vendor: self.vendor,
                node: Some(node),
            })
            .collect();
        Found {
            devices,
            notes,
            absent: None,
        }
    }

    /// Each device's node and the shared nodes once, mounted under `/dev` by their own
    /// names (the cgroup rule lets the container open exactly these), and the variable.
    fn assign(&self, devices: &[Device]) -> Assignment {
        let mut paths: Vec<PathBuf> = devices.iter().filter_map(|d| d.node.clone()).collect();
        if let Some(first) = paths.first().cloned() {
            paths.extend(self.shared_beside(&first));
        }
        let mappings = paths
            .into_iter()
            .map(|host| DeviceMapping {
                path_in_container: Some(format!(
                    "/dev/{}",
                    host.file_name().unwrap_or_default().to_string_lossy()
                )),
                path_on_host: Some(host.to_string_lossy().into_owned()),
                cgroup_permissions: Some("rwm".to_owned()),
            })
            .collect();
        let ids: Vec<&str> = devices.iter().map(|d| d.id.as_str()).collect();
        Assignment {
            device_requests: Vec::new(),
            devices: mappings,
            env: vec![(self.variable.to_owned(), ids.join(","))],
        }
    }

    fn sample(&self, devices: &[Device]) -> Vec<DeviceUsage> {
        let readings = self.readings().map(|(_, r)| r).unwrap_or_default();
        devices
            .iter()
            .map(|device| {
                readings
                    .iter()
                    .find(|r| r.index.to_string() == device.id)
                    .map_or_else(|| unknown(device), |r| r.usage(device))
            })
            .collect()
    }

    /// `root/<prefix><id>`, for a configured device.
    fn node_of(&self, id: &str, root: &Path) -> Option<PathBuf> {
        id.parse::<u32>()
            .ok()
            .map(|index| root.join(format!("{}{index}", self.prefix)))
    }
}

fn is_char_device(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.file_type().is_char_device())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::accelerators::cambricon::CAMBRICON;

    #[test]
    fn only_numbered_character_devices_count() {
        let root = tempfile::tempdir().unwrap();
        // Plain files named like nodes are not devices.
        std::fs::write(root.path().join("cambricon_dev0"), "").unwrap();
        std::fs::write(root.path().join("cambricon_devX"), "").unwrap();
        assert!(CAMBRICON.numbered(root.path()).is_empty());
        assert!(CAMBRICON.numbered(Path::new("/no/such/root")).is_empty());
        // /dev/null is a character device: found under the link's name.
        std::os::unix::fs::symlink("/dev/null", root.path().join("cambricon_dev3")).unwrap();
        assert_eq!(
            CAMBRICON.numbered(root.path()),
            [(3, root.path().join("cambricon_dev3"))]
        );
        let found = CAMBRICON.discover(root.path());
        assert_eq!(found.devices.len(), 1);
        assert!(
            found.notes[1].starts_with("control nodes: ") && found.notes[2].contains("missing"),
            "{found:?}"
        );
    }

    #[test]
    fn mappings_use_the_nodes_own_names_inside() {
        let devices = [1, 3].map(|n| Device {
            vendor: Vendor::Cambricon,
            node: Some(PathBuf::from(format!("/nowhere/cambricon_dev{n}"))),
            ..Device::new(&n.to_string(), "MLU270")
        });
        let assignment = CAMBRICON.assign(&devices);
        assert_eq!(
            assignment.env,
            [("MLU_VISIBLE_DEVICES".to_owned(), "1,3".to_owned())]
        );
        assert_eq!(assignment.devices.len(), 2, "no control node exists beside");
        assert_eq!(
            assignment.devices[1].path_on_host.as_deref(),
            Some("/nowhere/cambricon_dev3")
        );
        assert_eq!(
            assignment.devices[1].path_in_container.as_deref(),
            Some("/dev/cambricon_dev3")
        );
        assert!(assignment.device_requests.is_empty());
        assert_eq!(
            CAMBRICON.node_of("5", Path::new("/dev")),
            Some(PathBuf::from("/dev/cambricon_dev5"))
        );
        assert_eq!(CAMBRICON.node_of("GPU-1", Path::new("/dev")), None);
    }
}
