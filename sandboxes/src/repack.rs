//! The archive as the engine gets it: the checked entries, with the team's `manifest.json`
//! (and the legacy `repositories`, the OCI index) replaced by one the worker writes, which
//! names the checked configuration and layers under the worker's own reference. The
//! archive's tags are never applied, and no second image can ride along.

use std::io::{Read, Write};

use bytes::Bytes;
use serde_json::json;

use crate::SandboxError;
use crate::archive::{ArchiveSummary, normalize};

/// Files by which the engine learns names and images; only the worker's copy of them loads.
const NAMING_FILES: [&str; 4] = ["manifest.json", "repositories", "index.json", "oci-layout"];

/// The manifest the worker loads by: exactly one image, tagged only with `reference`.
pub fn manifest(summary: &ArchiveSummary, reference: &str) -> Vec<u8> {
    json!([{
        "Config": summary.config_path,
        "RepoTags": [reference],
        "Layers": summary.layer_paths,
    }])
    .to_string()
    .into_bytes()
}

/// Copies the (already checked) archive from `reader` to `writer`, leaving out the naming
/// files and appending the worker's manifest last, so it is the one the engine reads.
pub fn repack(reader: impl Read, writer: impl Write, manifest: &[u8]) -> Result<(), SandboxError> {
    let mut archive = tar::Archive::new(reader);
    let mut builder = tar::Builder::new(writer);
    for entry in archive.entries()? {
        let mut entry = entry?;
        let path = entry.path()?.into_owned();
        let name = normalize(&path)?;
        let kind = entry.header().entry_type();
        if NAMING_FILES.contains(&name.as_str()) || kind == tar::EntryType::XGlobalHeader {
            continue;
        }
        let mut header = entry.header().clone();
        match entry.link_name()? {
            Some(target) if kind.is_symlink() || kind.is_hard_link() => {
                let target = target.into_owned();
                builder.append_link(&mut header, &path, &target)?;
            }
            _ => builder.append_data(&mut header, &path, &mut entry)?,
        }
    }
    let mut header = tar::Header::new_gnu();
    header.set_size(manifest.len() as u64);
    header.set_mode(0o644);
    header.set_entry_type(tar::EntryType::Regular);
    builder.append_data(&mut header, "manifest.json", manifest)?;
    builder.into_inner()?.flush()?;
    Ok(())
}

/// A writer that hands its bytes to an async body stream; it fails once the stream is gone.
pub struct ChannelWriter(pub tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>);

impl Write for ChannelWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .blocking_send(Ok(Bytes::copy_from_slice(buf)))
            .map_err(|_| std::io::Error::other("the engine stopped reading the archive"))?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn tar_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (name, content) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_size(content.len() as u64);
            header.set_mode(0o644);
            builder.append_data(&mut header, name, *content).unwrap();
        }
        builder.into_inner().unwrap()
    }

    #[test]
    fn only_the_workers_manifest_names_anything() {
        let original = tar_of(&[
            ("abc/layer.tar", b"layer"),
            ("config.json", b"{}"),
            ("manifest.json", br#"[{"RepoTags":["alpine:latest"]}]"#),
            ("repositories", br#"{"alpine":{"latest":"abc"}}"#),
        ]);
        let summary = ArchiveSummary {
            image_id: "sha256:00".into(),
            config_path: "config.json".into(),
            layer_paths: vec!["abc/layer.tar".into()],
            total_bytes: 0,
            unpacked_bytes: 0,
        };
        let ours = manifest(&summary, "jiebang/job:x-1");
        let mut out = Vec::new();
        repack(original.as_slice(), &mut out, &ours).unwrap();
        let mut archive = tar::Archive::new(out.as_slice());
        let mut names = Vec::new();
        let mut last = String::new();
        for entry in archive.entries().unwrap() {
            let mut entry = entry.unwrap();
            names.push(entry.path().unwrap().to_string_lossy().into_owned());
            last.clear();
            entry.read_to_string(&mut last).unwrap();
        }
        assert_eq!(names, ["abc/layer.tar", "config.json", "manifest.json"]);
        assert_eq!(
            last,
            r#"[{"Config":"config.json","Layers":["abc/layer.tar"],"RepoTags":["jiebang/job:x-1"]}]"#
        );
    }
}
