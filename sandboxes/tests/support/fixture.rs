//! The fixture image: a static std-only binary in a FROM-scratch image, built once per run.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

pub const IMAGE: &str = "jiebang-fixture/sandbox:test";

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds the static fixture binary and imports it as a FROM-scratch image, once.
pub fn fixture_image() -> &'static str {
    static BUILT: OnceLock<()> = OnceLock::new();
    BUILT.get_or_init(|| {
        let target_dir = workspace().join("target/fixtures");
        let built = Command::new(env!("CARGO"))
            .args([
                "build",
                "--release",
                "--quiet",
                "--target",
                "x86_64-unknown-linux-gnu",
                "--manifest-path",
            ])
            .arg(workspace().join("sandboxes/fixtures/Cargo.toml"))
            .arg("--target-dir")
            .arg(&target_dir)
            .env("RUSTFLAGS", "-C target-feature=+crt-static")
            .status()
            .expect("cargo runs");
        assert!(built.success(), "the fixture binary builds");
        let binary = target_dir.join("x86_64-unknown-linux-gnu/release/jiebang-sandbox-fixture");
        let staging = tempfile::tempdir().unwrap();
        std::fs::copy(&binary, staging.path().join("fixture")).unwrap();
        let mut tar = Command::new("tar")
            .args([
                "-C",
                &staging.path().to_string_lossy(),
                "-cf",
                "-",
                "fixture",
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let imported = Command::new("docker")
            .args([
                "import",
                "--change",
                r#"ENTRYPOINT ["/fixture"]"#,
                "-",
                IMAGE,
            ])
            .stdin(tar.stdout.take().unwrap())
            .output()
            .expect("docker runs");
        assert!(tar.wait().unwrap().success());
        assert!(
            imported.status.success(),
            "docker import: {}",
            String::from_utf8_lossy(&imported.stderr)
        );
    });
    IMAGE
}
