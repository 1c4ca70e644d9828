//! Node-level sandbox settings: runtime, user, caps on what an image and a run may use.

use crate::accelerators::Device;

/// Settings that hold for every job on a node. Operators set them in the platform's
/// `[sandbox]` section (its keys are declared there, once); these defaults are theirs.
#[derive(Debug, Clone)]
pub struct SandboxConfig {
    /// The OCI runtime, for example `runsc` (gVisor) where installed; Docker's default when unset.
    pub runtime: Option<String>,
    /// The user every submission runs as; never root.
    pub user: String,
    /// Caps applied when an archive is imported.
    pub import: ImportLimits,
    /// The node's accelerators, by device id; empty on CPU nodes.
    pub accelerators: Vec<Device>,
    /// Marks every object with the worker's name; a sweep then removes only that worker's
    /// leftovers, so several workers can share one engine.
    pub worker_label: Option<String>,
}

impl Default for SandboxConfig {
    fn default() -> Self {
        Self {
            runtime: None,
            user: "65534:65534".to_owned(),
            import: ImportLimits::default(),
            accelerators: Vec::new(),
            worker_label: None,
        }
    }
}

/// How large an image archive may be.
#[derive(Debug, Clone)]
pub struct ImportLimits {
    /// The whole archive, in bytes.
    pub max_total_bytes: u64,
    /// One layer, in bytes.
    pub max_layer_bytes: u64,
    /// Entries in the archive (a tar bomb of tiny files is refused too).
    pub max_entries: u64,
}

impl Default for ImportLimits {
    fn default() -> Self {
        Self {
            max_total_bytes: 16 << 30,
            max_layer_bytes: 8 << 30,
            max_entries: 100_000,
        }
    }
}
