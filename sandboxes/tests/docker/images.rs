//! The engine is used only through references the worker created: an archive's tags are
//! never applied, the loaded image is exactly the checked one, removal takes exactly what the
//! worker loaded; the image's configuration cannot add storage or work outside the caps.

use std::path::{Path, PathBuf};
use std::process::Command;

use jiebang_sandboxes::{Sandbox, SandboxError, Termination};
use serde_json::{Value, json};

use crate::common::{fixture_image_changed, fixture_image_with, job_id, sandbox, slot, spec};

fn docker(args: &[&str]) -> (bool, String) {
    let output = Command::new("docker").args(args).output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).trim().to_owned(),
    )
}

/// The id a tag names now, or `None` when the tag does not exist.
fn image_id(tag: &str) -> Option<String> {
    let (exists, id) = docker(&["image", "inspect", "-f", "{{.Id}}", tag]);
    exists.then_some(id)
}

fn save(tag: &str, dir: &Path) -> PathBuf {
    let path = dir.join("image.tar");
    assert!(docker(&["save", "-o", &path.to_string_lossy(), tag]).0);
    path
}

/// The archive with its manifest.json edited, the way a hostile tool would write it.
fn with_manifest(archive: &Path, edit: impl Fn(Value) -> Value) -> PathBuf {
    let target = archive.with_extension("edited.tar");
    let mut builder = tar::Builder::new(std::fs::File::create(&target).unwrap());
    let mut original = tar::Archive::new(std::fs::File::open(archive).unwrap());
    for entry in original.entries().unwrap() {
        let mut entry = entry.unwrap();
        let path = entry.path().unwrap().into_owned();
        let mut header = entry.header().clone();
        if path == Path::new("manifest.json") {
            let mut text = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut text).unwrap();
            let edited = edit(serde_json::from_slice(&text).unwrap()).to_string();
            header.set_size(edited.len() as u64);
            builder
                .append_data(&mut header, &path, edited.as_bytes())
                .unwrap();
        } else if let Some(target) = entry.link_name().unwrap() {
            let target = target.into_owned();
            builder.append_link(&mut header, &path, target).unwrap();
        } else {
            builder.append_data(&mut header, &path, &mut entry).unwrap();
        }
    }
    builder.finish().unwrap();
    target
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_archive_cannot_point_a_tag_of_the_engine_at_its_image() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    let pid = std::process::id();
    let victim = fixture_image_with(&format!("jiebang-test/victim-{pid}:1"), &["ok"]);
    let team = fixture_image_with(&format!("jiebang-test/hostile-{pid}:1"), &["exit", "7"]);
    let before = image_id(&victim).unwrap();
    assert_ne!(Some(before.clone()), image_id(&team));
    let dir = tempfile::tempdir().unwrap();
    let hostile = with_manifest(&save(&team, dir.path()), |mut manifest| {
        manifest[0]["RepoTags"] = json!([victim, "jiebang-test/new-tag:1"]);
        manifest
    });
    let image = sandbox
        .import_archive(&hostile, &job_id("tags"))
        .await
        .unwrap();
    assert_eq!(
        image_id(&victim),
        Some(before.clone()),
        "the tag is untouched"
    );
    assert_eq!(image_id("jiebang-test/new-tag:1"), None, "no tag was added");
    assert_eq!(image_id(&image.reference), Some(image.id.clone()));
    assert!(image.reference.starts_with("jiebang/job:"), "{image:?}");
    sandbox.remove_image(&image).await.unwrap();
    assert_eq!(image_id(&image.reference), None);
    assert_eq!(image_id(&victim), Some(before));
    docker(&["rmi", &victim, &team]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn removing_a_loaded_image_keeps_the_teams_own_tag() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    let mine = fixture_image_with(
        &format!("jiebang-test/mine-{}:1", std::process::id()),
        &["ok"],
    );
    let id = image_id(&mine).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let archive = save(&mine, dir.path());
    let image = sandbox
        .import_archive(&archive, &job_id("mine"))
        .await
        .unwrap();
    assert_eq!(image.id, id, "the same image, loaded beside the team's tag");
    let mut run = spec("mine", &["ok"]);
    run.image = image.id.clone();
    let output = tempfile::tempdir().unwrap();
    let outcome = sandbox.run_batch(&run, output.path()).await.unwrap();
    assert_eq!(outcome.termination, Termination::Exited { code: 0 });
    sandbox.remove_image(&image).await.unwrap();
    assert_eq!(
        image_id(&mine),
        Some(id.clone()),
        "the team's image is kept"
    );
    assert_eq!(image_id(&image.reference), None, "the worker's tag is gone");

    // With no other tag left, removing the worker's reference removes the image itself.
    assert!(docker(&["rmi", &mine]).0);
    let image = sandbox
        .import_archive(&archive, &job_id("mine-alone"))
        .await
        .unwrap();
    sandbox.remove_image(&image).await.unwrap();
    assert_eq!(image_id(&id), None, "nothing of the load is left");
}

async fn refusal(sandbox: &Sandbox, archive: &Path) -> String {
    match sandbox.import_archive(archive, &job_id("refused")).await {
        Err(SandboxError::Archive(reason)) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_with_a_volume_is_refused() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    let tag = fixture_image_changed(
        &format!("jiebang-test/volume-{}:1", std::process::id()),
        &["ok"],
        &["VOLUME /data"],
    );
    let dir = tempfile::tempdir().unwrap();
    let reason = refusal(&sandbox, &save(&tag, dir.path())).await;
    assert!(reason.contains("VOLUME /data"), "{reason}");
    docker(&["rmi", &tag]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_images_health_check_never_runs() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    let tag = fixture_image_changed(
        &format!("jiebang-test/healthcheck-{}:1", std::process::id()),
        &["ignore-term"],
        &[r#"HEALTHCHECK --interval=1s CMD ["/fixture", "spin"]"#],
    );
    let mut run = spec("healthcheck", &["ignore-term"]);
    run.image = tag.clone();
    run.limits.wall_clock = std::time::Duration::from_secs(3);
    let name = format!("jiebang-{}", run.job_id);
    let running = {
        let sandbox = sandbox.clone();
        tokio::spawn(async move {
            let output = tempfile::tempdir().unwrap();
            sandbox.run_batch(&run, output.path()).await.unwrap()
        })
    };
    let mut seen = None;
    for _ in 0..20 {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        let (found, health) = docker(&[
            "inspect",
            "-f",
            "{{json .Config.Healthcheck}} {{json .State.Health}}",
            &name,
        ]);
        if found {
            seen = Some(health);
            break;
        }
    }
    // The run ends (and cleans up) before anything is asserted.
    let outcome = running.await.unwrap();
    let seen = seen.expect("the container was seen running");
    // The engine keeps the image's interval, but with `NONE` nothing runs and no health
    // state is kept.
    assert!(
        seen.starts_with(r#"{"Test":["NONE"]"#) && seen.ends_with(" null"),
        "{seen}"
    );
    assert_eq!(outcome.termination, Termination::WallClock);
    docker(&["rmi", &tag]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_start_up_sweep_removes_only_its_workers_references() {
    let Some(_) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    let pid = std::process::id();
    let worker = |name: &str| {
        Sandbox::connect(jiebang_sandboxes::SandboxConfig {
            worker_label: Some(format!("{name}-{pid}")),
            ..jiebang_sandboxes::SandboxConfig::default()
        })
    };
    let (crashed, other) = (
        worker("crashed").await.unwrap(),
        worker("other").await.unwrap(),
    );
    let mine = fixture_image_with(&format!("jiebang-test/swept-{pid}:1"), &["ok"]);
    let dir = tempfile::tempdir().unwrap();
    let archive = save(&mine, dir.path());
    // A worker that crashed after loading, and another worker's live job on the same engine.
    let left = crashed
        .import_archive(&archive, &job_id("left"))
        .await
        .unwrap();
    let live = other
        .import_archive(&archive, &job_id("live"))
        .await
        .unwrap();
    assert!(crashed.sweep().await >= 1);
    assert_eq!(
        image_id(&left.reference),
        None,
        "the crashed worker's is gone"
    );
    assert_eq!(image_id(&live.reference), Some(live.id.clone()));
    assert_eq!(
        image_id(&mine),
        Some(live.id.clone()),
        "the team's tag stays"
    );
    other.remove_image(&live).await.unwrap();
    docker(&["rmi", &mine]);
}
