//! The accelerators the container was given, as the baseline logs them at start-up: it
//! computes on the CPU, so it runs on whatever a node assigns, and the log shows what that was.

use std::path::Path;

/// The variables through which each vendor's runtime is told which devices to use.
pub const VISIBILITY_VARIABLES: &[&str] = &[
    "CUDA_VISIBLE_DEVICES",
    "NVIDIA_VISIBLE_DEVICES",
    "MLU_VISIBLE_DEVICES",
    "ASCEND_VISIBLE_DEVICES",
    "ASCEND_RT_VISIBLE_DEVICES",
];

/// Device nodes of one device each (`nvidia0`, `cambricon_dev1`, `davinci2`); control nodes
/// such as `nvidiactl` or `davinci_manager` are not devices.
const NODE_PREFIXES: &[&str] = &["nvidia", "cambricon_dev", "davinci"];

/// What is visible: device nodes under `dev` (sorted) and the visibility variables set.
pub fn seen(dev: &Path, var: impl Fn(&str) -> Option<String>) -> Vec<String> {
    let mut nodes: Vec<String> = std::fs::read_dir(dev)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
                .filter(|name| {
                    NODE_PREFIXES.iter().any(|prefix| {
                        name.strip_prefix(prefix).is_some_and(|number| {
                            !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit())
                        })
                    })
                })
                .map(|name| dev.join(name).display().to_string())
                .collect()
        })
        .unwrap_or_default();
    nodes.sort();
    nodes.extend(
        VISIBILITY_VARIABLES
            .iter()
            .filter_map(|name| var(name).map(|value| format!("{name}={value}"))),
    );
    nodes
}

/// One line for the log.
pub fn describe(seen: &[String]) -> String {
    if seen.is_empty() {
        "no accelerator visible; the baseline computes on the CPU and needs none".to_owned()
    } else {
        format!(
            "accelerators visible: {}; the baseline computes on the CPU",
            seen.join(", ")
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn device_nodes_and_variables_are_listed_and_control_nodes_are_not() {
        let dev = tempfile::tempdir().unwrap();
        for name in [
            "cambricon_dev1",
            "cambricon_dev0",
            "cambricon_ctl",
            "davinci_manager",
            "nvidiactl",
            "null",
        ] {
            std::fs::write(dev.path().join(name), "").unwrap();
        }
        let var = |name: &str| (name == "MLU_VISIBLE_DEVICES").then(|| "0,1".to_owned());
        let seen = seen(dev.path(), var);
        let root = dev.path().display();
        assert_eq!(
            seen,
            [
                format!("{root}/cambricon_dev0"),
                format!("{root}/cambricon_dev1"),
                "MLU_VISIBLE_DEVICES=0,1".to_owned(),
            ]
        );
        assert!(describe(&seen).starts_with("accelerators visible: "));
        let none = super::seen(&dev.path().join("absent"), |_| None);
        assert!(none.is_empty());
        assert!(describe(&none).contains("needs none"));
    }
}
