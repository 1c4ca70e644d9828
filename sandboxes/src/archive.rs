//! Checks a `docker save` archive before the engine sees it: a plain tar of one linux/amd64
//! image, with no path that could escape, no device files, within the size caps.
//!
//! The archive is read once, as a stream; only small JSON files (the manifest and the image
//! configuration) are kept in memory, up to [`MAX_JSON_BYTES`] each.

use std::collections::HashMap;
use std::io::Read;
use std::path::{Component, Path};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::SandboxError;
use crate::config::ImportLimits;

/// The largest JSON file kept for inspection; a manifest or image configuration is far smaller.
pub const MAX_JSON_BYTES: u64 = 1 << 20;
const MAX_JSON_FILES: usize = 256;

/// What the check found out about an acceptable archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveSummary {
    /// The image id the engine will give it: the digest of its configuration.
    pub image_id: String,
    pub repo_tags: Vec<String>,
    pub total_bytes: u64,
    pub layers: usize,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestEntry {
    config: String,
    #[serde(default)]
    repo_tags: Option<Vec<String>>,
    #[serde(default)]
    layers: Vec<String>,
}

#[derive(Deserialize)]
struct ImageConfig {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
}

fn refuse(reason: impl Into<String>) -> SandboxError {
    SandboxError::Archive(reason.into())
}

/// A path that stays inside the archive: relative, no `..`, not empty.
fn check_path(path: &Path) -> Result<(), SandboxError> {
    let shown = path.display();
    if path.as_os_str().is_empty() {
        return Err(refuse("an entry has an empty name"));
    }
    for component in path.components() {
        match component {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => {
                return Err(refuse(format!("entry `{shown}` climbs out with `..`")));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(refuse(format!("entry `{shown}` has an absolute path")));
            }
        }
    }
    Ok(())
}

/// A link target that resolves inside the archive when seen from the link's directory.
fn check_link(entry: &Path, target: &Path) -> Result<(), SandboxError> {
    if target.is_absolute() {
        return Err(refuse(format!(
            "link `{}` points to absolute path `{}`",
            entry.display(),
            target.display()
        )));
    }
    let mut depth: i64 = entry.components().count() as i64 - 1;
    for component in target.components() {
        match component {
            Component::ParentDir => depth -= 1,
            Component::Normal(_) => depth += 1,
            _ => {}
        }
        if depth < 0 {
            return Err(refuse(format!(
                "link `{}` points out of the archive (`{}`)",
                entry.display(),
                target.display()
            )));
        }
    }
    Ok(())
}

/// Reads the whole archive once and returns its summary, or the first reason to refuse it.
pub fn check(reader: impl Read, limits: &ImportLimits) -> Result<ArchiveSummary, SandboxError> {
    let mut archive = tar::Archive::new(reader);
    let mut json_files: HashMap<String, Vec<u8>> = HashMap::new();
    let mut sizes: HashMap<String, u64> = HashMap::new();
    let mut total: u64 = 0;
    let mut entries: u64 = 0;
    let iter = archive
        .entries()
        .map_err(|e| refuse(format!("not a tar archive: {e}")))?;
    for entry in iter {
        let mut entry = entry.map_err(|e| refuse(format!("not a readable tar archive: {e}")))?;
        entries += 1;
        if entries > limits.max_entries {
            return Err(refuse(format!("more than {} entries", limits.max_entries)));
        }
        let path = entry
            .path()
            .map_err(|e| refuse(format!("an entry has an unreadable name: {e}")))?
            .into_owned();
        check_path(&path)?;
        let name = path.to_string_lossy().trim_start_matches("./").to_owned();
        let kind = entry.header().entry_type();
        use tar::EntryType;
        match kind {
            EntryType::Regular | EntryType::Continuous | EntryType::Directory => {}
            EntryType::Symlink | EntryType::Link => {
                let target = entry
                    .link_name()
                    .map_err(|e| refuse(format!("link `{name}` has an unreadable target: {e}")))?
                    .ok_or_else(|| refuse(format!("link `{name}` has no target")))?
                    .into_owned();
                if kind == EntryType::Link {
                    check_path(&target)?;
                } else {
                    check_link(&path, &target)?;
                }
            }
            EntryType::XGlobalHeader
            | EntryType::XHeader
            | EntryType::GNULongName
            | EntryType::GNULongLink => {}
            EntryType::Char | EntryType::Block | EntryType::Fifo => {
                return Err(refuse(format!("entry `{name}` is a device or fifo")));
            }
            other => {
                return Err(refuse(format!(
                    "entry `{name}` has unsupported type {other:?}"
                )));
            }
        }
        let size = entry
            .header()
            .size()
            .map_err(|e| refuse(format!("entry `{name}` has a bad size: {e}")))?;
        if size > limits.max_layer_bytes {
            return Err(refuse(format!(
                "entry `{name}` is {size} bytes, over the per-layer cap of {}",
                limits.max_layer_bytes
            )));
        }
        total = total.saturating_add(size);
        if total > limits.max_total_bytes {
            return Err(refuse(format!(
                "the archive is over the cap of {} bytes",
                limits.max_total_bytes
            )));
        }
        sizes.insert(name.clone(), size);
        let small_json = size <= MAX_JSON_BYTES
            && (name.ends_with(".json") || name.starts_with("blobs/sha256/"));
        if kind == EntryType::Regular && small_json && json_files.len() < MAX_JSON_FILES {
            let mut content = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            entry.read_to_end(&mut content)?;
            json_files.insert(name, content);
        } else {
            // Reading to the end is what checks that the archive is not truncated.
            std::io::copy(&mut entry, &mut std::io::sink())
                .map_err(|e| refuse(format!("entry `{name}` is cut short: {e}")))?;
        }
    }
    if entries == 0 {
        return Err(refuse("not a tar archive (no entries)"));
    }
    summarize(&json_files, &sizes, total)
}

fn summarize(
    json_files: &HashMap<String, Vec<u8>>,
    sizes: &HashMap<String, u64>,
    total: u64,
) -> Result<ArchiveSummary, SandboxError> {
    let manifest = json_files
        .get("manifest.json")
        .ok_or_else(|| refuse("no manifest.json: not an archive written by `docker save`"))?;
    let manifest: Vec<ManifestEntry> = serde_json::from_slice(manifest)
        .map_err(|e| refuse(format!("manifest.json is malformed: {e}")))?;
    let [image] = manifest.as_slice() else {
        return Err(refuse(format!(
            "the archive holds {} images; submit exactly one",
            manifest.len()
        )));
    };
    let config_name = image.config.trim_start_matches("./");
    let config = json_files.get(config_name).ok_or_else(|| {
        refuse(format!(
            "the image configuration `{config_name}` is missing"
        ))
    })?;
    let parsed: ImageConfig = serde_json::from_slice(config)
        .map_err(|e| refuse(format!("the image configuration is malformed: {e}")))?;
    if parsed.os != "linux" || parsed.architecture != "amd64" {
        return Err(refuse(format!(
            "the image is for {}/{}; submissions must be linux/amd64",
            parsed.os, parsed.architecture
        )));
    }
    for layer in &image.layers {
        let layer = layer.trim_start_matches("./");
        if !sizes.contains_key(layer) {
            return Err(refuse(format!(
                "layer `{layer}` listed in the manifest is missing"
            )));
        }
    }
    Ok(ArchiveSummary {
        image_id: format!("sha256:{}", hex::encode(Sha256::digest(config))),
        repo_tags: image.repo_tags.clone().unwrap_or_default(),
        total_bytes: total,
        layers: image.layers.len(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn links_must_stay_inside() {
        assert!(check_link(Path::new("a/b/link"), Path::new("../c")).is_ok());
        assert!(check_link(Path::new("a/link"), Path::new("../../etc/passwd")).is_err());
        assert!(check_link(Path::new("link"), Path::new("/etc/passwd")).is_err());
    }

    #[test]
    fn paths_must_be_relative_and_not_climb() {
        assert!(check_path(Path::new("blobs/sha256/abc")).is_ok());
        assert!(check_path(Path::new("/etc/passwd")).is_err());
        assert!(check_path(Path::new("a/../../b")).is_err());
    }
}
