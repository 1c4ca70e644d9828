//! The fixture images: a static std-only binary in FROM-scratch images, built once per run.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;

pub const IMAGE: &str = "jiebang-fixture/sandbox:test";

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Builds the fixture binary once (statically linked, in its own target folder so the
/// workspace's build cache is untouched).
fn binary() -> &'static PathBuf {
    static BINARY: OnceLock<PathBuf> = OnceLock::new();
    BINARY.get_or_init(|| {
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
        target_dir.join("x86_64-unknown-linux-gnu/release/jiebang-sandbox-fixture")
    })
}

/// The plain fixture image (its first argument picks the behaviour), imported once.
pub fn fixture_image() -> &'static str {
    static IMPORTED: OnceLock<()> = OnceLock::new();
    IMPORTED.get_or_init(|| import(IMAGE, &[], &[]));
    IMAGE
}

/// The fixture binary as an image tagged `tag` whose entry point passes `args`.
#[allow(
    dead_code,
    reason = "used by the evaluator's tests, not by every includer"
)]
pub fn fixture_image_with(tag: &str, args: &[&str]) -> String {
    import(tag, args, &[]);
    tag.to_owned()
}

/// The same with Dockerfile instructions added to its configuration (`VOLUME /data`,
/// `HEALTHCHECK …`), as `docker import --change` applies them.
#[allow(
    dead_code,
    reason = "used by the sandbox's tests, not by every includer"
)]
pub fn fixture_image_changed(tag: &str, args: &[&str], changes: &[&str]) -> String {
    import(tag, args, changes);
    tag.to_owned()
}

fn import(tag: &str, args: &[&str], changes: &[&str]) {
    let staging = tempfile::tempdir().unwrap();
    std::fs::copy(binary(), staging.path().join("fixture")).unwrap();
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
    let mut words = vec!["\"/fixture\"".to_owned()];
    words.extend(args.iter().map(|a| format!("\"{a}\"")));
    let entrypoint = format!("ENTRYPOINT [{}]", words.join(", "));
    let mut words = vec!["import".to_owned(), "--change".to_owned(), entrypoint];
    for change in changes {
        words.extend(["--change".to_owned(), (*change).to_owned()]);
    }
    // A temporary command: it holds the pipe's read end until dropped, and tar would wait
    // on a full pipe for ever should docker fail without reading.
    let imported = Command::new("docker")
        .args(&words)
        .args(["-", tag])
        .stdin(tar.stdout.take().unwrap())
        .output()
        .expect("docker runs");
    assert!(
        imported.status.success(),
        "docker import: {}",
        String::from_utf8_lossy(&imported.stderr)
    );
    assert!(tar.wait().unwrap().success());
}

/// `tag` as the archive `docker save` writes, checked and loaded by `sandbox` under
/// `load_id`: the path an uploaded submission takes.
#[allow(
    dead_code,
    reason = "used by the evaluation tests, not by every includer"
)]
pub async fn saved_and_imported(
    sandbox: &jiebang_sandboxes::Sandbox,
    tag: &str,
    load_id: &str,
) -> jiebang_sandboxes::ImportedImage {
    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("image.tar");
    let saved = Command::new("docker")
        .args(["save", "-o"])
        .arg(&archive)
        .arg(tag)
        .status()
        .expect("docker runs");
    assert!(saved.success(), "docker save {tag}");
    sandbox.import_archive(&archive, load_id).await.unwrap()
}

/// Replaces a copy of the scenarios crate's test package's hidden set with `items` rows,
/// each labelled as the fixture's `right` server answers (the first feature modulo 2).
#[allow(
    dead_code,
    reason = "used by the evaluation tests, not by every includer"
)]
pub fn write_hidden_set(package: &std::path::Path, items: usize) {
    let (mut inputs, mut labels) = (String::new(), String::new());
    for n in 0..items {
        inputs.push_str(&format!(
            "{{\"id\": \"h-{n}\", \"inputs\": {{\"features\": [[{n}.0, 0.5, -1.0]]}}}}\n"
        ));
        labels.push_str(&format!("{{\"id\": \"h-{n}\", \"label\": {}}}\n", n % 2));
    }
    std::fs::write(package.join("hidden/inputs.jsonl"), inputs).unwrap();
    std::fs::write(package.join("hidden/labels.jsonl"), labels).unwrap();
}

/// A noisy neighbour: a container of `threads` busy threads on `cpuset`, removed when
/// dropped.
#[allow(
    dead_code,
    reason = "used by the interference tests, not by every includer"
)]
pub struct Burner(String);

#[allow(
    dead_code,
    reason = "used by the interference tests, not by every includer"
)]
impl Burner {
    pub fn start(name: &str, cpuset: &str, threads: usize) -> Self {
        let threads = threads.to_string();
        let tag = fixture_image_with("jiebang-fixture/burn:test", &["burn", &threads]);
        let container = format!("jiebang-test-burner-{name}-{}", std::process::id());
        let started = Command::new("docker")
            .args([
                "run",
                "-d",
                "--rm",
                "--network",
                "none",
                "--name",
                &container,
            ])
            .arg(format!("--cpuset-cpus={cpuset}"))
            .arg(&tag)
            .output()
            .expect("docker runs");
        assert!(
            started.status.success(),
            "docker run: {}",
            String::from_utf8_lossy(&started.stderr)
        );
        Self(container)
    }
}

impl Drop for Burner {
    fn drop(&mut self) {
        let _ = Command::new("docker").args(["rm", "-f", &self.0]).output();
    }
}
