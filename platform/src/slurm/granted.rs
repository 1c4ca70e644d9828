//! The devices Slurm granted a job, read from its environment, and the part of a node's
//! inventory a worker started by Slurm may use.

use jiebang_sandboxes::accelerators::Device;

use crate::error::AppError;

/// Where Slurm (and the CUDA and ROCm conventions it sets) names the granted devices, the
/// most specific first: a step's own grant, the job's, then what a program would read.
pub const GRANT_VARIABLES: [&str; 4] = [
    "SLURM_STEP_GPUS",
    "SLURM_JOB_GPUS",
    "CUDA_VISIBLE_DEVICES",
    "GPU_DEVICE_ORDINAL",
];

/// One granted device as a variable names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Granted {
    /// By index on the node (`0`, or each of `0-3`).
    Index(usize),
    /// By the driver's id (a GPU UUID such as `GPU-5f2c…`).
    Id(String),
}

/// Reads a list such as `0,1`, `0-1`, `0-2,5` or `GPU-5f2c,GPU-77aa`; Slurm's `NoDevFiles`
/// and an empty value grant nothing.
pub fn parse(text: &str) -> Result<Vec<Granted>, String> {
    let text = text.trim();
    if text.is_empty() || text == "NoDevFiles" {
        return Ok(Vec::new());
    }
    let mut granted = Vec::new();
    for item in text.split(',').map(str::trim) {
        if item.is_empty() {
            return Err(format!("`{text}` has an empty item"));
        }
        let numbers = item
            .split_once('-')
            .map(|(first, last)| (first.parse::<usize>(), last.parse::<usize>()));
        match (item.parse::<usize>(), numbers) {
            (Ok(index), _) => granted.push(Granted::Index(index)),
            (_, Some((Ok(first), Ok(last)))) if first <= last => {
                granted.extend((first..=last).map(Granted::Index));
            }
            (_, Some((Ok(first), Ok(last)))) => {
                return Err(format!(
                    "the range `{item}` runs backwards ({first} > {last})"
                ));
            }
            _ => granted.push(Granted::Id(item.to_owned())),
        }
    }
    Ok(granted)
}

/// The devices of `inventory` that the Slurm job this process runs in was granted, read
/// through `lookup` (the environment). Outside Slurm (`SLURM_JOB_ID` unset) the inventory
/// is kept whole; inside, a job granted nothing gets no device. An index names the device
/// whose id is that number, else the device at that place in the inventory; a granted
/// device the inventory lacks is an error, since the worker would use one it was not given.
pub fn restrict(
    inventory: Vec<Device>,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Vec<Device>, AppError> {
    if lookup("SLURM_JOB_ID").is_none() {
        return Ok(inventory);
    }
    let Some((variable, text)) = GRANT_VARIABLES
        .iter()
        .find_map(|name| lookup(name).map(|value| (*name, value)))
    else {
        return Ok(Vec::new());
    };
    let granted = parse(&text).map_err(|e| AppError::Config(format!("{variable}: {e}")))?;
    let mut kept: Vec<Device> = Vec::new();
    for grant in granted {
        let found = match &grant {
            Granted::Index(index) => inventory
                .iter()
                .find(|d| d.id == index.to_string())
                .or_else(|| inventory.get(*index)),
            Granted::Id(id) => inventory.iter().find(|d| &d.id == id),
        };
        let device = found.ok_or_else(|| {
            AppError::Config(format!(
                "{variable}={text} grants device {grant:?}, which this node's inventory ({}) lacks",
                inventory
                    .iter()
                    .map(|d| d.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        if !kept.iter().any(|d| d.id == device.id) {
            kept.push(device.clone());
        }
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn device(id: &str) -> Device {
        Device::new(id, "FAKE-1")
    }

    fn ids(devices: &[Device]) -> Vec<&str> {
        devices.iter().map(|d| d.id.as_str()).collect()
    }

    fn environment(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn lists_ranges_and_ids_are_read() {
        use Granted::{Id, Index};
        assert_eq!(parse("0,1").unwrap(), [Index(0), Index(1)]);
        assert_eq!(parse("0-1").unwrap(), [Index(0), Index(1)]);
        assert_eq!(
            parse("0-2,5").unwrap(),
            [Index(0), Index(1), Index(2), Index(5)]
        );
        assert_eq!(parse(" 3 ").unwrap(), [Index(3)]);
        assert_eq!(
            parse("GPU-5f2c,MIG-1a2b").unwrap(),
            [Id("GPU-5f2c".into()), Id("MIG-1a2b".into())]
        );
        assert_eq!(parse("").unwrap(), []);
        assert_eq!(parse("NoDevFiles").unwrap(), []);
        assert!(parse("3-1").unwrap_err().contains("backwards"));
        assert!(parse("0,,1").unwrap_err().contains("empty"));
    }

    #[test]
    fn outside_slurm_the_whole_inventory_is_kept() {
        let inventory = vec![device("0"), device("1")];
        let kept = restrict(inventory, environment(&[("CUDA_VISIBLE_DEVICES", "1")])).unwrap();
        assert_eq!(ids(&kept), ["0", "1"]);
    }

    #[test]
    fn inside_slurm_only_the_granted_devices_are_kept() {
        let inventory = || vec![device("0"), device("1"), device("2"), device("3")];
        let job = |value: &str| {
            restrict(
                inventory(),
                environment(&[("SLURM_JOB_ID", "7"), ("SLURM_JOB_GPUS", value)]),
            )
            .unwrap()
        };
        assert_eq!(ids(&job("1")), ["1"]);
        assert_eq!(ids(&job("0,2")), ["0", "2"]);
        assert_eq!(ids(&job("1-3")), ["1", "2", "3"]);
        // The step's own grant is narrower than the job's and wins.
        let step = restrict(
            inventory(),
            environment(&[
                ("SLURM_JOB_ID", "7"),
                ("SLURM_JOB_GPUS", "0-3"),
                ("SLURM_STEP_GPUS", "2"),
            ]),
        )
        .unwrap();
        assert_eq!(ids(&step), ["2"]);
        // Without Slurm's own variables, CUDA's and ROCm's are read.
        for variable in ["CUDA_VISIBLE_DEVICES", "GPU_DEVICE_ORDINAL"] {
            let kept = restrict(
                inventory(),
                environment(&[("SLURM_JOB_ID", "7"), (variable, "3")]),
            )
            .unwrap();
            assert_eq!(ids(&kept), ["3"], "{variable}");
        }
    }

    #[test]
    fn an_index_names_a_place_when_ids_are_uuids_and_a_uuid_names_its_device() {
        let inventory = || vec![device("GPU-aaaa"), device("GPU-bbbb")];
        let by_place = restrict(
            inventory(),
            environment(&[("SLURM_JOB_ID", "7"), ("SLURM_JOB_GPUS", "1")]),
        )
        .unwrap();
        assert_eq!(ids(&by_place), ["GPU-bbbb"]);
        let by_id = restrict(
            inventory(),
            environment(&[("SLURM_JOB_ID", "7"), ("CUDA_VISIBLE_DEVICES", "GPU-aaaa")]),
        )
        .unwrap();
        assert_eq!(ids(&by_id), ["GPU-aaaa"]);
    }

    #[test]
    fn a_job_granted_nothing_gets_nothing_and_a_missing_device_is_an_error() {
        let none = restrict(vec![device("0")], environment(&[("SLURM_JOB_ID", "7")])).unwrap();
        assert!(none.is_empty());
        let error = restrict(
            vec![device("0")],
            environment(&[("SLURM_JOB_ID", "7"), ("SLURM_JOB_GPUS", "4")]),
        )
        .unwrap_err()
        .to_string();
        assert!(
            error.contains("SLURM_JOB_GPUS=4") && error.contains("lacks"),
            "{error}"
        );
    }
}
