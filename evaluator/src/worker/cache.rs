//! Files fetched from the platform, kept by digest: an image or a hidden bundle is
//! downloaded once per node, verified, and reused by later jobs.

use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::EvaluatorError;

#[derive(Debug, Clone)]
pub struct BlobCache {
    root: PathBuf,
}

impl BlobCache {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The path for a digest, or an error for one that is not `sha256:` and 64 hex digits
    /// (a digest from the network never becomes a path outside the cache).
    pub fn path_of(&self, digest: &str) -> Result<PathBuf, EvaluatorError> {
        let hex = digest
            .strip_prefix("sha256:")
            .filter(|hex| {
                hex.len() == 64
                    && hex
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
            })
            .ok_or_else(|| EvaluatorError::MalformedDigest(digest.to_owned()))?;
        Ok(self.root.join("sha256").join(hex))
    }

    /// The cached file, marked as used now so pruning keeps it longest.
    pub fn get(&self, digest: &str) -> Option<PathBuf> {
        let path = self.path_of(digest).ok().filter(|path| path.is_file())?;
        if let Ok(file) = std::fs::File::options().append(true).open(&path) {
            // Advice for pruning only; a failure changes nothing else.
            let _ = file.set_modified(std::time::SystemTime::now());
        }
        Some(path)
    }

    /// Keeps the cache within `max_bytes`: removes the files used longest ago (never those
    /// of `keep`, the job about to run) until the rest fit, and download temporaries left
    /// by a crash. Returns the bytes removed. Images and bundles are fetched again when a
    /// later job needs them, so nothing is lost but time.
    pub fn prune(&self, max_bytes: u64, keep: &[&str]) -> u64 {
        let stale_after = std::time::Duration::from_secs(24 * 3600);
        let now = std::time::SystemTime::now();
        if let Ok(entries) = std::fs::read_dir(self.root.join("incoming")) {
            for entry in entries.flatten() {
                let old = entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|at| now.duration_since(at).unwrap_or_default() > stale_after);
                if old {
                    let _ = std::fs::remove_file(entry.path());
                }
            }
        }
        let kept: Vec<PathBuf> = keep.iter().filter_map(|d| self.path_of(d).ok()).collect();
        let Ok(entries) = std::fs::read_dir(self.root.join("sha256")) else {
            return 0;
        };
        let mut files: Vec<(std::time::SystemTime, u64, PathBuf)> = entries
            .flatten()
            .filter_map(|entry| {
                let meta = entry.metadata().ok().filter(std::fs::Metadata::is_file)?;
                Some((
                    meta.modified().unwrap_or(std::time::SystemTime::UNIX_EPOCH),
                    meta.len(),
                    entry.path(),
                ))
            })
            .collect();
        let mut total: u64 = files.iter().map(|(_, size, _)| size).sum();
        files.sort();
        let mut removed = 0;
        for (_, size, path) in files {
            if total <= max_bytes {
                break;
            }
            if kept.contains(&path) {
                continue;
            }
            if std::fs::remove_file(&path).is_ok() {
                total -= size;
                removed += size;
            }
        }
        removed
    }

    /// A writer for a file expected to have `digest`; nothing is visible in the cache
    /// until [`Incoming::finish`] has checked the content.
    pub fn incoming(&self, digest: &str) -> Result<Incoming, EvaluatorError> {
        let target = self.path_of(digest)?;
        let staging = self.root.join("incoming");
        std::fs::create_dir_all(&staging).map_err(EvaluatorError::file(&staging))?;
        Ok(Incoming {
            file: tempfile::NamedTempFile::new_in(&staging)
                .map_err(EvaluatorError::file(&staging))?,
            hasher: Sha256::new(),
            expected: digest.to_owned(),
            target,
        })
    }
}

/// A download in progress: written and hashed chunk by chunk.
pub struct Incoming {
    file: tempfile::NamedTempFile,
    hasher: Sha256,
    expected: String,
    target: PathBuf,
}

impl Incoming {
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), EvaluatorError> {
        self.hasher.update(chunk);
        self.file
            .write_all(chunk)
            .map_err(EvaluatorError::file(self.file.path()))
    }

    /// Moves the file into the cache if its content matches the digest; otherwise deletes it.
    pub fn finish(self) -> Result<PathBuf, EvaluatorError> {
        let actual = format!("sha256:{}", hex::encode(self.hasher.finalize()));
        if actual != self.expected {
            return Err(EvaluatorError::DigestMismatch {
                expected: self.expected,
                actual,
            });
        }
        self.file
            .as_file()
            .sync_all()
            .map_err(EvaluatorError::file(self.file.path()))?;
        if let Some(parent) = self.target.parent() {
            std::fs::create_dir_all(parent).map_err(EvaluatorError::file(parent))?;
        }
        self.file
            .persist(&self.target)
            .map_err(|e| EvaluatorError::file(&self.target)(e.error))?;
        Ok(self.target)
    }
}

/// Removes cached files not used for `max_age`, oldest first, to keep disk use bounded.
pub fn prune(root: &Path, max_age: std::time::Duration) -> std::io::Result<usize> {
    let Ok(entries) = std::fs::read_dir(root.join("sha256")) else {
        return Ok(0);
    };
    let mut removed = 0;
    for entry in entries.flatten() {
        let stale = entry
            .metadata()
            .and_then(|m| m.accessed().or_else(|_| m.modified()))
            .ok()
            .and_then(|at| at.elapsed().ok())
            .is_some_and(|age| age > max_age);
        if stale && std::fs::remove_file(entry.path()).is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const HELLO: &str = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

    #[test]
    fn verified_files_enter_the_cache() {
        let dir = tempfile::tempdir().unwrap();
        let cache = BlobCache::new(dir.path());
        assert!(cache.get(HELLO).is_none());
        let mut incoming = cache.incoming(HELLO).unwrap();
        incoming.write(b"hel").unwrap();
        incoming.write(b"lo").unwrap();
        let path = incoming.finish().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"hello");
        assert_eq!(cache.get(HELLO), Some(path));
    }

    #[test]
    fn a_mismatch_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let cache = BlobCache::new(dir.path());
        let mut incoming = cache.incoming(HELLO).unwrap();
        incoming.write(b"goodbye").unwrap();
        assert!(matches!(
            incoming.finish(),
            Err(EvaluatorError::DigestMismatch { .. })
        ));
        assert!(cache.get(HELLO).is_none());
        assert_eq!(
            std::fs::read_dir(dir.path().join("incoming"))
                .unwrap()
                .count(),
            0
        );
    }

    #[test]
    fn digests_never_escape_the_cache() {
        let cache = BlobCache::new("/cache");
        assert!(cache.path_of("sha256:../../etc/passwd").is_err());
        assert!(
            cache
                .path_of(&format!("sha256:{}", "A".repeat(64)))
                .is_err()
        );
        assert!(cache.path_of(HELLO).unwrap().starts_with("/cache/sha256"));
    }
}
