//! Accelerator assignment against the real engine: device nodes made with `mknod` under a
//! temporary device root, discovered as Cambricon and Ascend devices, leased to two jobs
//! at once; each container sees exactly its own nodes (and opens them) and its variable.
//! NVIDIA: the engine receives a device request naming the leased GPUs' UUIDs.

use std::process::Command;

use bollard::query_parameters::{CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder};
use jiebang_sandboxes::accelerators::{Allocator, Device, Vendor, discover};
use jiebang_sandboxes::policy::container_body;
use jiebang_sandboxes::testing::skip_or_fail;
use jiebang_sandboxes::{RunSpec, SandboxConfig, Termination};

use crate::common::{assert_nothing_left, eventually_nothing_left, sandbox, slot, spec};

/// Character devices named as a vendor's driver names them, with the numbers of harmless
/// ones (1:3 is /dev/null, 1:5 /dev/zero), readable and writable by anyone; `None` after
/// [`skip_or_fail`] where this user cannot make device nodes.
fn fake_nodes(names: &[&str]) -> Option<tempfile::TempDir> {
    let root = tempfile::tempdir().unwrap();
    for (n, name) in names.iter().enumerate() {
        let minor = if n % 2 == 0 { "3" } else { "5" };
        let made = Command::new("mknod")
            .args(["-m", "666"])
            .arg(root.path().join(name))
            .args(["c", "1", minor])
            .output();
        if !made.is_ok_and(|out| out.status.success()) {
            skip_or_fail("needs root to make device nodes with mknod");
            return None;
        }
    }
    Some(root)
}

/// What the fixture's `devices` mode saw inside the container.
async fn seen(sandbox: &jiebang_sandboxes::Sandbox, job: &RunSpec) -> String {
    let output = tempfile::tempdir().unwrap();
    let outcome = sandbox.run_batch(job, output.path()).await.unwrap();
    assert_eq!(
        outcome.termination,
        Termination::Exited { code: 0 },
        "{outcome:?}: {}",
        String::from_utf8_lossy(&outcome.logs)
    );
    assert_nothing_left(&job.job_id);
    std::fs::read_to_string(output.path().join("devices.txt")).unwrap()
}

/// Discovers `vendor`'s two devices under a root of fake nodes, leases one to each of two
/// jobs run at the same time, and returns what each saw.
async fn two_jobs(vendor: Vendor, names: &[&str], job: &str) -> Option<(String, String)> {
    let sandbox = sandbox().await?;
    let root = fake_nodes(names)?;
    let found: Vec<Device> = discover(root.path())
        .devices()
        .into_iter()
        .filter(|d| d.vendor == vendor)
        .collect();
    assert_eq!(found.len(), 2, "{found:?}");
    let node = Allocator::new(found);
    let (first, second) = (
        node.acquire(1, None).unwrap(),
        node.acquire(1, None).unwrap(),
    );
    assert!(
        node.acquire(1, None).is_err(),
        "two leases hold both devices"
    );
    let mut a = spec(&format!("{job}-a"), &["devices"]);
    a.devices = first.devices().to_vec();
    let mut b = spec(&format!("{job}-b"), &["devices"]);
    b.devices = second.devices().to_vec();
    let _slot = slot().await;
    let (seen_a, seen_b) = tokio::join!(seen(&sandbox, &a), seen(&sandbox, &b));
    Some((seen_a, seen_b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mlu_jobs_see_exactly_their_own_nodes() {
    let names = ["cambricon_dev0", "cambricon_dev1", "cambricon_ctl"];
    let Some((a, b)) = two_jobs(Vendor::Cambricon, &names, "mlu").await else {
        return;
    };
    assert_eq!(
        a,
        "node cambricon_ctl opens\nnode cambricon_dev0 opens\nenv MLU_VISIBLE_DEVICES=0\n"
    );
    assert_eq!(
        b,
        "node cambricon_ctl opens\nnode cambricon_dev1 opens\nenv MLU_VISIBLE_DEVICES=1\n"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ascend_jobs_see_exactly_their_own_nodes() {
    let names = [
        "davinci0",
        "davinci1",
        "davinci_manager",
        "devmm_svm",
        "hisi_hdc",
    ];
    let Some((a, b)) = two_jobs(Vendor::Ascend, &names, "npu").await else {
        return;
    };
    let shared = "node davinci_manager opens\nnode devmm_svm opens\nnode hisi_hdc opens\n";
    assert_eq!(
        a,
        format!("node davinci0 opens\n{shared}env ASCEND_VISIBLE_DEVICES=0\n")
    );
    assert_eq!(
        b,
        format!("node davinci1 opens\n{shared}env ASCEND_VISIBLE_DEVICES=1\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_without_a_lease_sees_no_accelerator() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    assert_eq!(seen(&sandbox, &spec("no-devices", &["devices"])).await, "");
}

/// No NVIDIA runtime here: the engine keeps the request it was sent (the container is
/// created, then removed), and refuses to start it rather than start it without GPUs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_engine_receives_the_leased_gpus_uuids() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    let uuids = [
        "GPU-1b6a2f4c-5d3e-8f7a-9b0c-1d2e3f4a5b6c",
        "GPU-3d8c4b6e-7f5a-0b9c-1d2e-3f4a5b6c7d8e",
    ];
    let node = Allocator::new(vec![
        Device::new(uuids[0], "V100"),
        Device::new("GPU-2c7b3a5d-6e4f-9a8b-0c1d-2e3f4a5b6c7d", "T4"),
        Device::new(uuids[1], "V100"),
    ]);
    let lease = node.acquire(2, Some("V100")).unwrap();
    let mut job = spec("nvidia-request", &["devices"]);
    job.devices = lease.devices().to_vec();

    let docker = bollard::Docker::connect_with_local_defaults().unwrap();
    let body = container_body(&job, &SandboxConfig::default(), None, None).unwrap();
    let name = format!("jiebang-{}", job.job_id);
    let options = CreateContainerOptionsBuilder::default().name(&name).build();
    let created = docker.create_container(Some(options), body).await.unwrap();
    let inspected = docker.inspect_container(&created.id, None).await;
    let remove = RemoveContainerOptionsBuilder::default().force(true).build();
    docker
        .remove_container(&created.id, Some(remove))
        .await
        .unwrap();
    let requests = inspected.unwrap().host_config.unwrap().device_requests;
    let request = &requests.unwrap()[0];
    assert_eq!(request.driver.as_deref(), Some("nvidia"));
    assert_eq!(
        request.device_ids.as_deref(),
        Some(&uuids.map(str::to_owned)[..])
    );
    assert_eq!(request.count.unwrap_or(0), 0, "ids, never a count");

    let output = tempfile::tempdir().unwrap();
    let refused = sandbox.run_batch(&job, output.path()).await.unwrap_err();
    assert!(refused.to_string().contains("nvidia"), "{refused}");
    // A failed start is cleaned up in the background, as every failed run is.
    eventually_nothing_left(&job.job_id).await;
    assert!(!output.path().join("devices.txt").exists());
}
