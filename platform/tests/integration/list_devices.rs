//! `jiebang worker --list-devices`, the shipped binary: on this machine it says plainly
//! that there is no accelerator and why; on a device root of nodes made with `mknod` (and a
//! `cnmon` that prints a recorded table) it lists them by vendor; a configured list is
//! shown as the one the worker uses.

use std::path::Path;
use std::process::Command;

use jiebang_sandboxes::testing::skip_or_fail;

use crate::node_config::jiebang;

/// A recorded `cnmon` table (two MLU370-X8), see the sandbox crate's parser tests.
const CNMON: &str = include_str!("../../../sandboxes/src/accelerators/testdata/cnmon-v5.10.13.txt");

fn list_devices(data: &Path, extra: &[&str], path: Option<&str>) -> String {
    let mut command = jiebang(data);
    command.args(["worker", "--list-devices"]).args(extra);
    if let Some(path) = path {
        command.env("PATH", path);
    }
    let out = command.output().unwrap();
    assert!(
        out.status.success(),
        "--list-devices failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Whether this machine has any accelerator's trace: then the plain "none" cannot be
/// expected.
fn has_accelerators() -> bool {
    let nvml = Command::new("ldconfig")
        .arg("-p")
        .output()
        .is_ok_and(|out| String::from_utf8_lossy(&out.stdout).contains("libnvidia-ml"));
    nvml || ["/dev/nvidia0", "/dev/cambricon_dev0", "/dev/davinci0"]
        .iter()
        .any(|node| Path::new(node).exists())
}

#[test]
fn this_machine_has_none_and_says_why() {
    let data = tempfile::tempdir().unwrap();
    let printed = list_devices(data.path(), &[], None);
    assert!(printed.contains("NVIDIA GPU (nvidia): "), "{printed}");
    if has_accelerators() {
        return;
    }
    assert!(printed.contains("libnvidia-ml not loaded"), "{printed}");
    assert!(
        printed.contains(
            "no accelerators found: no libnvidia-ml, no /dev/cambricon_dev*, no /dev/davinci*"
        ),
        "{printed}"
    );
}

#[test]
fn fake_nodes_are_listed_by_vendor_and_a_configured_list_wins() {
    let root = tempfile::tempdir().unwrap();
    let names = [
        "cambricon_dev0",
        "cambricon_dev1",
        "cambricon_ctl",
        "davinci2",
        "davinci_manager",
        "devmm_svm",
        "hisi_hdc",
    ];
    for name in names {
        let made = Command::new("mknod")
            .args(["-m", "666"])
            .arg(root.path().join(name))
            .args(["c", "1", "3"])
            .output();
        if !made.is_ok_and(|out| out.status.success()) {
            skip_or_fail("needs root to make device nodes with mknod");
            return;
        }
    }
    // A `cnmon` that prints what the real one printed on a two-card node.
    let tools = tempfile::tempdir().unwrap();
    let cnmon = tools.path().join("cnmon");
    std::fs::write(&cnmon, format!("#!/bin/sh\ncat <<'TABLE'\n{CNMON}TABLE\n")).unwrap();
    Command::new("chmod")
        .arg("755")
        .arg(&cnmon)
        .status()
        .unwrap();
    let path = format!(
        "{}:{}",
        tools.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let data = tempfile::tempdir().unwrap();
    let root_flag = root.path().to_string_lossy().into_owned();
    let printed = list_devices(data.path(), &["--device-root", &root_flag], Some(&path));
    let dev = root.path().display();
    for line in [
        "Cambricon MLU (cambricon): 2 found".to_owned(),
        format!("control nodes: {dev}/cambricon_ctl"),
        format!("{} lists 2 device(s)", cnmon.display()),
        // Models and use from the table, sampled through the same tool.
        format!("  - cambricon:0  MLU370-X8  {dev}/cambricon_dev0  (busy 0%, 0/23374 MiB)"),
        format!("  - cambricon:1  MLU370-X8  {dev}/cambricon_dev1  (busy 0%, 0/23374 MiB)"),
        "Huawei Ascend NPU (ascend): 1 found".to_owned(),
        format!("control nodes: {dev}/davinci_manager, {dev}/devmm_svm, {dev}/hisi_hdc"),
        format!("  - ascend:2  Ascend  {dev}/davinci2\n"),
    ] {
        assert!(printed.contains(&line), "missing `{line}` in:\n{printed}");
    }
    assert!(!printed.contains("no accelerators found"), "{printed}");

    let printed = list_devices(
        data.path(),
        &[
            "--device-root",
            &root_flag,
            "--accelerator",
            "cambricon:1=MLU270",
        ],
        Some(&path),
    );
    assert!(
        printed.contains(&format!(
            "[sandbox] accelerators lists 1 device(s); the worker uses these, not what was \
             found:\n  - cambricon:1  MLU270  {dev}/cambricon_dev1\n"
        )),
        "{printed}"
    );
}
