//! Image archives: a real `docker save` loads; every kind of bad archive is refused with
//! its reason, before the engine sees it.

use std::io::Write;
use std::path::Path;

use jiebang_sandboxes::{ImportLimits, Sandbox, SandboxConfig, SandboxError};

use crate::common::{IMAGE, sandbox, slot};

fn saved_archive(dir: &Path) -> std::path::PathBuf {
    let path = dir.join("image.tar");
    let saved = std::process::Command::new("docker")
        .args(["save", "-o"])
        .arg(&path)
        .arg(IMAGE)
        .status()
        .unwrap();
    assert!(saved.success());
    path
}

/// A tar whose entries are (name, content) pairs, with optional raw header tweaks.
fn tar_of(path: &Path, entries: &[(&str, &[u8])]) {
    let mut builder = tar::Builder::new(std::fs::File::create(path).unwrap());
    for (name, content) in entries {
        let mut header = tar::Header::new_gnu();
        header.set_size(content.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        // set_path refuses `..`; write the raw name the way a hostile tool would.
        let bytes = name.as_bytes();
        header.as_old_mut().name[..bytes.len()].copy_from_slice(bytes);
        header.set_cksum();
        builder.append(&header, *content).unwrap();
    }
    builder.finish().unwrap();
}

const CONFIG: &[u8] = br#"{"os":"linux","architecture":"amd64","config":{}}"#;

fn manifest(images: usize) -> Vec<u8> {
    let entry = r#"{"Config":"config.json","RepoTags":["x:1"],"Layers":["layer.tar"]}"#;
    format!("[{}]", vec![entry; images].join(",")).into_bytes()
}

async fn refused(sandbox: &Sandbox, path: &Path) -> String {
    match sandbox.import_archive(path, "refused").await {
        Err(SandboxError::Archive(reason)) => reason,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_docker_save_archive_loads() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    let dir = tempfile::tempdir().unwrap();
    let archive = saved_archive(dir.path());
    let image = sandbox.import_archive(&archive, "loads").await.unwrap();
    assert!(image.id.starts_with("sha256:"));
    assert!(image.size_bytes > 0);
    sandbox.remove_image(&image).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_archives_are_refused_with_their_reason() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read(saved_archive(dir.path())).unwrap();

    let truncated = dir.path().join("truncated.tar");
    std::fs::write(&truncated, &good[..good.len() / 2]).unwrap();
    let reason = refused(&sandbox, &truncated).await;
    assert!(
        reason.contains("cut short")
            || reason.contains("not a readable tar")
            || reason.contains("manifest"),
        "{reason}"
    );

    let not_tar = dir.path().join("random.bin");
    std::fs::File::create(&not_tar)
        .unwrap()
        .write_all(&[0x5a; 4096])
        .unwrap();
    assert!(refused(&sandbox, &not_tar).await.contains("tar"));

    let traversal = dir.path().join("traversal.tar");
    tar_of(
        &traversal,
        &[
            ("../../etc/cron.d/evil", b"* * * * * root rm -rf /"),
            ("manifest.json", &manifest(1)),
        ],
    );
    assert!(refused(&sandbox, &traversal).await.contains(".."));

    let absolute = dir.path().join("absolute.tar");
    tar_of(
        &absolute,
        &[
            ("/etc/passwd", b"root::0:0"),
            ("manifest.json", &manifest(1)),
        ],
    );
    assert!(refused(&sandbox, &absolute).await.contains("absolute"));

    let two = dir.path().join("two.tar");
    tar_of(
        &two,
        &[
            ("config.json", CONFIG),
            ("layer.tar", b""),
            ("manifest.json", &manifest(2)),
        ],
    );
    assert!(refused(&sandbox, &two).await.contains("2 images"));

    let arm = dir.path().join("arm.tar");
    let arm_config = br#"{"os":"linux","architecture":"arm64"}"#;
    tar_of(
        &arm,
        &[
            ("config.json", arm_config),
            ("layer.tar", b""),
            ("manifest.json", &manifest(1)),
        ],
    );
    assert!(refused(&sandbox, &arm).await.contains("linux/arm64"));

    let missing_layer = dir.path().join("missing-layer.tar");
    tar_of(
        &missing_layer,
        &[("config.json", CONFIG), ("manifest.json", &manifest(1))],
    );
    assert!(
        refused(&sandbox, &missing_layer)
            .await
            .contains("layer.tar")
    );

    let device = dir.path().join("device.tar");
    {
        let mut builder = tar::Builder::new(std::fs::File::create(&device).unwrap());
        let mut header = tar::Header::new_gnu();
        header.set_path("dev/sda").unwrap();
        header.set_entry_type(tar::EntryType::Block);
        header.set_size(0);
        header.set_cksum();
        builder.append(&header, std::io::empty()).unwrap();
        builder.finish().unwrap();
    }
    assert!(refused(&sandbox, &device).await.contains("device"));

    let link = dir.path().join("link.tar");
    {
        let mut builder = tar::Builder::new(std::fs::File::create(&link).unwrap());
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Symlink);
        header.set_size(0);
        builder
            .append_link(&mut header, "layer/escape", "../../../etc/shadow")
            .unwrap();
        builder.finish().unwrap();
    }
    assert!(
        refused(&sandbox, &link)
            .await
            .contains("out of the archive")
    );

    let capped = Sandbox::connect(SandboxConfig {
        import: ImportLimits {
            max_total_bytes: 4096,
            ..ImportLimits::default()
        },
        ..SandboxConfig::default()
    })
    .await
    .unwrap();
    let whole = dir.path().join("image.tar");
    assert!(refused(&capped, &whole).await.contains("cap"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_manifest_or_configuration_is_refused() {
    let Some(sandbox) = sandbox().await else {
        return;
    };
    let _slot = slot().await;
    let dir = tempfile::tempdir().unwrap();
    // The checker read the first manifest, the engine the last: an unchecked image for any
    // platform, under any tag, that nobody removed.
    let arm = br#"{"os":"linux","architecture":"arm64","config":{}}"#;
    let smuggler = r#"[{"Config":"arm.json","RepoTags":["alpine:latest"],"Layers":["layer.tar"]}]"#;
    let second = dir.path().join("second-manifest.tar");
    tar_of(
        &second,
        &[
            ("config.json", CONFIG),
            ("arm.json", arm),
            ("layer.tar", b""),
            ("manifest.json", &manifest(1)),
            ("./manifest.json", smuggler.as_bytes()),
        ],
    );
    let reason = refused(&sandbox, &second).await;
    assert!(reason.contains("`manifest.json` appears twice"), "{reason}");

    let swapped = dir.path().join("second-config.tar");
    tar_of(
        &swapped,
        &[
            ("config.json", CONFIG),
            ("layer.tar", b""),
            ("manifest.json", &manifest(1)),
            ("config.json", arm),
        ],
    );
    let reason = refused(&sandbox, &swapped).await;
    assert!(reason.contains("`config.json` appears twice"), "{reason}");
}
