//! For the workspace's tests: what a test does when Docker or another tool it needs is missing.
//!
//! Under CI (the `CI` environment variable set) a missing tool fails the test loudly, since
//! `scripts/test` installs everything; on a developer's machine the test says it skipped,
//! and why, and passes.

use crate::{Sandbox, SandboxConfig};

/// Fails the calling test under CI, or prints that it is skipped elsewhere. `missing` says
/// what is missing and how to get it.
///
/// # Panics
/// When the `CI` environment variable is set.
pub fn skip_or_fail(missing: &str) {
    let thread = std::thread::current();
    let test = thread.name().unwrap_or("a test");
    assert!(
        std::env::var_os("CI").is_none(),
        "{test}: {missing} (required under CI)"
    );
    eprintln!("SKIPPED {test}: {missing}");
}

/// The Docker engine, or `None` (after [`skip_or_fail`]) when it cannot be reached; tests
/// that need Docker start with `let Some(sandbox) = require_docker().await else { return };`.
pub async fn require_docker() -> Option<Sandbox> {
    match Sandbox::connect(SandboxConfig::default()).await {
        Ok(sandbox) => Some(sandbox),
        Err(error) => {
            skip_or_fail(&format!("needs the Docker engine: {error}"));
            None
        }
    }
}
