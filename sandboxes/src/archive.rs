//! Checks a `docker save` archive before the engine sees it: a plain tar of one linux/amd64
//! image, with no path that could escape, no device files, within the size caps.
//!
//! The archive is read once, as a stream; only small JSON files (the manifest and the image
//! configuration) are kept in memory, up to [`MAX_JSON_BYTES`] each. Gzip layers are
//! decompressed on the way and counted against the caps by what they unpack to.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Component, Path};

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::SandboxError;
use crate::config::ImportLimits;
use crate::uncompressed::{MAGIC_BYTES, measure, read_head, sniff};

/// The largest JSON file kept for inspection; a manifest or image configuration is far smaller.
pub const MAX_JSON_BYTES: u64 = 1 << 20;
const MAX_JSON_FILES: usize = 256;

/// What the check found out about an acceptable archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArchiveSummary {
    /// The image id the engine will give it: the digest of its configuration.
    pub image_id: String,
    /// Where the configuration and the layers lie in the archive (normalized names); the
    /// worker loads exactly these, under a manifest of its own.
    pub config_path: String,
    pub layer_paths: Vec<String>,
    /// Bytes as stored in the archive.
    pub total_bytes: u64,
    /// Bytes once every compressed entry is decompressed.
    pub unpacked_bytes: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ManifestEntry {
    config: String,
    // The archive's `RepoTags` are ignored: the worker loads under a reference of its own.
    #[serde(default)]
    layers: Vec<String>,
}

#[derive(Deserialize)]
struct ImageConfig {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    config: Option<RunConfig>,
}

/// The part of an image configuration that shapes a container.
#[derive(Deserialize)]
struct RunConfig {
    #[serde(default, rename = "Volumes")]
    volumes: Option<HashMap<String, serde_json::Value>>,
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

/// The entry's name as the engine sees it on disk: `/`-joined normal parts (no `.`, no
/// empty parts), so two spellings of one file are recognised as duplicates. Empty for the root.
pub(crate) fn normalize(path: &Path) -> Result<String, SandboxError> {
    check_path(path)?;
    let mut parts = Vec::new();
    for component in path.components() {
        if let Component::Normal(part) = component {
            parts.push(part.to_str().ok_or_else(|| {
                refuse(format!(
                    "entry `{}` has a name that is not UTF-8",
                    path.display()
                ))
            })?);
        }
    }
    Ok(parts.join("/"))
}

/// What the streaming pass keeps about the entries it has seen.
#[derive(Default)]
struct Seen {
    json_files: HashMap<String, Vec<u8>>,
    /// JSON-like files too large to keep, with their size, so a missing manifest or
    /// configuration is reported for what it is.
    too_large: HashMap<String, u64>,
    names: HashSet<String>,
    links: HashSet<String>,
    /// Bytes as stored, and as they are once the engine decompresses each layer.
    stored: u64,
    unpacked: u64,
}

/// Reads the whole archive once and returns its summary, or the first reason to refuse it.
pub fn check(reader: impl Read, limits: &ImportLimits) -> Result<ArchiveSummary, SandboxError> {
    let mut archive = tar::Archive::new(reader);
    let mut seen = Seen::default();
    let mut entries: u64 = 0;
    let iter = archive
        .entries()
        .map_err(|e| refuse(format!("not a tar archive: {e}")))?;
    for entry in iter {
        let entry = entry.map_err(|e| refuse(format!("not a readable tar archive: {e}")))?;
        entries += 1;
        if entries > limits.max_entries {
            return Err(refuse(format!("more than {} entries", limits.max_entries)));
        }
        check_entry(entry, limits, &mut seen)?;
    }
    if entries == 0 {
        return Err(refuse("not a tar archive (no entries)"));
    }
    summarize(&seen)
}

fn check_entry<R: Read>(
    mut entry: tar::Entry<'_, R>,
    limits: &ImportLimits,
    seen: &mut Seen,
) -> Result<(), SandboxError> {
    use tar::EntryType;
    let path = entry
        .path()
        .map_err(|e| refuse(format!("an entry has an unreadable name: {e}")))?
        .into_owned();
    let name = normalize(&path)?;
    let kind = entry.header().entry_type();
    if name.is_empty() && kind != EntryType::Directory {
        return Err(refuse("an entry has an empty name"));
    }
    // The engine unpacks the archive into a folder: the last of two entries of one name
    // wins there, and a path through a link lands wherever the link points, so either
    // could swap a checked file for an unchecked one.
    if !name.is_empty() && !seen.names.insert(name.clone()) {
        return Err(refuse(format!("entry `{name}` appears twice")));
    }
    let mut ancestor = name.as_str();
    while let Some((parent, _)) = ancestor.rsplit_once('/') {
        if seen.links.contains(parent) {
            return Err(refuse(format!(
                "entry `{name}` lies under the link `{parent}`"
            )));
        }
        ancestor = parent;
    }
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
            seen.links.insert(name.clone());
        }
        EntryType::XGlobalHeader => {}
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
    seen.stored = seen.stored.saturating_add(size);
    if seen.stored > limits.max_total_bytes {
        return Err(refuse(format!(
            "the archive is over the cap of {} bytes",
            limits.max_total_bytes
        )));
    }
    if !matches!(kind, EntryType::Regular | EntryType::Continuous) {
        return Ok(());
    }
    let mut head = [0u8; MAGIC_BYTES];
    let filled = read_head(&mut entry, &mut head)
        .map_err(|e| refuse(format!("entry `{name}` is cut short: {e}")))?;
    let compression = sniff(&head[..filled]);
    let room = limits
        .max_layer_bytes
        .min(limits.max_total_bytes.saturating_sub(seen.unpacked));
    let json_like = name.ends_with(".json") || name.starts_with("blobs/sha256/");
    let unpacked = if json_like && size <= MAX_JSON_BYTES {
        if seen.json_files.len() >= MAX_JSON_FILES {
            return Err(refuse(format!(
                "more than {MAX_JSON_FILES} small JSON files or blobs; `docker save` writes a few per layer"
            )));
        }
        let mut content = head[..filled].to_vec();
        // Reading to the end is what checks that the archive is not truncated.
        entry
            .read_to_end(&mut content)
            .map_err(|e| refuse(format!("entry `{name}` is cut short: {e}")))?;
        let unpacked = measure(&name, compression, content.as_slice(), room)?;
        seen.json_files.insert(name.clone(), content);
        unpacked
    } else {
        if json_like {
            seen.too_large.insert(name.clone(), size);
        }
        let unpacked = measure(
            &name,
            compression,
            (&head[..filled]).chain(&mut entry),
            room,
        )?;
        // Whatever the decompression left unread is still read, to find a truncation.
        std::io::copy(&mut entry, &mut std::io::sink())
            .map_err(|e| refuse(format!("entry `{name}` is cut short: {e}")))?;
        unpacked
    };
    if unpacked > limits.max_layer_bytes {
        return Err(refuse(format!(
            "entry `{name}` holds more than {} bytes once decompressed, over the per-layer cap",
            limits.max_layer_bytes
        )));
    }
    seen.unpacked = seen.unpacked.saturating_add(unpacked);
    if seen.unpacked > limits.max_total_bytes {
        return Err(refuse(format!(
            "the image holds more than {} bytes once its layers are decompressed, over the cap",
            limits.max_total_bytes
        )));
    }
    Ok(())
}

/// A small JSON file the manifest names, or the true reason it is not there.
fn small_json<'a>(seen: &'a Seen, name: &str, what: &str) -> Result<&'a [u8], SandboxError> {
    if let Some(content) = seen.json_files.get(name) {
        return Ok(content);
    }
    Err(refuse(match seen.too_large.get(name) {
        Some(size) => {
            format!("{what} `{name}` is {size} bytes, over the limit of {MAX_JSON_BYTES} bytes")
        }
        None if seen.names.contains(name) => {
            format!("{what} `{name}` is not a regular file")
        }
        None if name == "manifest.json" => {
            "no manifest.json: not an archive written by `docker save`".to_owned()
        }
        None => format!("{what} `{name}` is missing"),
    }))
}

fn summarize(seen: &Seen) -> Result<ArchiveSummary, SandboxError> {
    let manifest = small_json(seen, "manifest.json", "the manifest")?;
    let manifest: Vec<ManifestEntry> = serde_json::from_slice(manifest)
        .map_err(|e| refuse(format!("manifest.json is malformed: {e}")))?;
    let [image] = manifest.as_slice() else {
        return Err(refuse(format!(
            "the archive holds {} images; submit exactly one",
            manifest.len()
        )));
    };
    let config_path = normalize(Path::new(&image.config))?;
    let config = small_json(seen, &config_path, "the image configuration")?;
    let parsed: ImageConfig = serde_json::from_slice(config)
        .map_err(|e| refuse(format!("the image configuration is malformed: {e}")))?;
    if parsed.os != "linux" || parsed.architecture != "amd64" {
        return Err(refuse(format!(
            "the image is for {}/{}; submissions must be linux/amd64",
            parsed.os, parsed.architecture
        )));
    }
    if let Some(volumes) = parsed.config.and_then(|c| c.volumes)
        && !volumes.is_empty()
    {
        let paths: Vec<&str> = volumes.keys().map(String::as_str).collect();
        return Err(refuse(format!(
            "the image declares VOLUME {}; a volume would be writable storage outside the \
             run's caps, so images with volumes are refused (remove the VOLUME instruction)",
            paths.join(", ")
        )));
    }
    let mut layer_paths = Vec::with_capacity(image.layers.len());
    for layer in &image.layers {
        let layer = normalize(Path::new(layer))?;
        if !seen.names.contains(&layer) {
            return Err(refuse(format!(
                "layer `{layer}` listed in the manifest is missing"
            )));
        }
        layer_paths.push(layer);
    }
    Ok(ArchiveSummary {
        image_id: format!("sha256:{}", hex::encode(Sha256::digest(config))),
        config_path,
        layer_paths,
        total_bytes: seen.stored,
        unpacked_bytes: seen.unpacked,
    })
}

#[cfg(test)]
mod tests;
