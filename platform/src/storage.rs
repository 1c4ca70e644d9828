//! Content-addressed files under the data directory: uploaded image archives and reports.

use std::io::Write;
use std::path::{Path, PathBuf};

use actix_web::web::Bytes;
use futures_util::{Stream, StreamExt};
use sha2::{Digest, Sha256};

use crate::error::AppError;

/// Files named by the SHA-256 of their content, so a file is stored once and can be
/// verified by anyone who reads it.
#[derive(Debug, Clone)]
pub struct BlobStore {
    root: PathBuf,
}

/// A file that is in the store, whole and verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredBlob {
    /// `sha256:` and 64 hex digits.
    pub digest: String,
    pub size: u64,
    /// Whether this call put the file there; when false the same content was stored
    /// before (perhaps as someone else's log or report) and is not this caller's to remove.
    pub created: bool,
}

/// A file in the store as [`BlobStore::list`] finds it.
#[derive(Debug, Clone)]
pub struct StoredFile {
    pub digest: String,
    pub size: u64,
    pub modified: std::time::SystemTime,
}

/// Chunks waiting for the writer thread; bounds the memory an upload can hold.
const PIPELINE_CHUNKS: usize = 32;
const WRITE_BUFFER: usize = 1 << 20;
/// How much written data may wait before its write-back to disk is started.
const WRITEBACK_STEP: u64 = 16 << 20;

impl BlobStore {
    pub fn new(data_dir: &Path) -> Self {
        Self {
            root: data_dir.join("blobs"),
        }
    }

    fn temporary_dir(&self) -> PathBuf {
        self.root.join("incoming")
    }

    /// Where the file with this digest lives, or `None` for a malformed digest.
    pub fn path_of(&self, digest: &str) -> Option<PathBuf> {
        let hex = digest.strip_prefix("sha256:")?;
        let well_formed = hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase());
        well_formed.then(|| self.root.join("sha256").join(&hex[..2]).join(hex))
    }

    pub fn contains(&self, digest: &str) -> bool {
        self.path_of(digest).is_some_and(|path| path.is_file())
    }

    /// Every stored file: its digest, size and when it was last written. Reads the disk:
    /// call off the async threads.
    pub fn list(&self) -> Vec<StoredFile> {
        let mut files = Vec::new();
        let Ok(prefixes) = std::fs::read_dir(self.root.join("sha256")) else {
            return files;
        };
        for prefix in prefixes.flatten() {
            let Ok(entries) = std::fs::read_dir(prefix.path()) else {
                continue;
            };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let digest = format!("sha256:{name}");
                // Only files this store could have written; anything else is left alone.
                if self.path_of(&digest).as_deref() != Some(entry.path().as_path()) {
                    continue;
                }
                if let Ok(meta) = entry.metadata()
                    && meta.is_file()
                {
                    files.push(StoredFile {
                        digest,
                        size: meta.len(),
                        modified: meta.modified().unwrap_or(std::time::SystemTime::UNIX_EPOCH),
                    });
                }
            }
        }
        files
    }

    /// Removes temporaries of uploads that never finished (a crash mid-upload) older than
    /// `age`; returns how many. Uploads under way write to theirs continuously, so they are
    /// never that old.
    pub fn remove_stale_temporaries(&self, age: std::time::Duration) -> usize {
        let Ok(entries) = std::fs::read_dir(self.temporary_dir()) else {
            return 0;
        };
        let now = std::time::SystemTime::now();
        entries
            .flatten()
            .filter(|entry| {
                entry
                    .metadata()
                    .and_then(|m| m.modified())
                    .is_ok_and(|at| now.duration_since(at).unwrap_or_default() > age)
            })
            .filter(|entry| std::fs::remove_file(entry.path()).is_ok())
            .count()
    }

    /// Removes a file; a missing one is not an error.
    pub fn remove(&self, digest: &str) {
        if let Some(path) = self.path_of(digest)
            && let Err(error) = std::fs::remove_file(&path)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(%digest, %error, "could not remove a stored file");
        }
    }

    /// Stores a small file already in memory (a report, a log); returns its digest.
    pub fn put(&self, content: &[u8]) -> Result<StoredBlob, AppError> {
        let digest = format!("sha256:{}", hex::encode(Sha256::digest(content)));
        let target = self
            .path_of(&digest)
            .ok_or_else(|| AppError::Internal(format!("computed a malformed digest {digest}")))?;
        let created = !target.is_file();
        if created {
            let incoming = self.temporary_dir();
            std::fs::create_dir_all(&incoming).map_err(|e| storage_error(&incoming, e))?;
            let mut file = tempfile::NamedTempFile::new_in(&incoming)
                .map_err(|e| storage_error(&incoming, e))?;
            file.write_all(content)
                .map_err(|e| storage_error(&incoming, e))?;
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent).map_err(|e| storage_error(parent, e))?;
            }
            file.persist(&target)
                .map_err(|e| storage_error(&target, e.error))?;
        }
        Ok(StoredBlob {
            digest,
            size: content.len() as u64,
            created,
        })
    }

    /// Reads a small stored file back.
    pub fn read(&self, digest: &str) -> Result<Vec<u8>, AppError> {
        let path = self
            .path_of(digest)
            .ok_or_else(|| AppError::missing("file", digest))?;
        std::fs::read(&path).map_err(|_| AppError::missing("file", digest))
    }

    /// Streams a body into the store while hashing it. The body goes to a temporary file
    /// first and is renamed into place only when it arrived whole and within `max_bytes`;
    /// a cut connection or an oversized body leaves nothing behind.
    pub async fn receive<S, E>(&self, body: S, max_bytes: u64) -> Result<StoredBlob, AppError>
    where
        S: Stream<Item = Result<Bytes, E>> + Unpin,
        E: std::fmt::Display,
    {
        let Received { file, digest, size } =
            receive_to_temporary(body, max_bytes, self.temporary_dir()).await?;
        let target = self
            .path_of(&digest)
            .ok_or_else(|| AppError::Internal(format!("computed a malformed digest {digest}")))?;
        let persisted = tokio::task::spawn_blocking(move || -> std::io::Result<bool> {
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            // Never replaces a file: one already there holds the same bytes, and whether
            // it was there decides who may remove it.
            match file.persist_noclobber(&target) {
                Ok(_) => Ok(true),
                Err(error) if error.error.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
                Err(error) => Err(error.error),
            }
        })
        .await?;
        let created = persisted.map_err(|e| storage_error(&self.root, e))?;
        Ok(StoredBlob {
            digest,
            size,
            created,
        })
    }
}

/// An upload received whole into a temporary file (deleted when dropped), with its digest.
pub struct Received {
    pub file: tempfile::NamedTempFile,
    /// `sha256:` and 64 hex digits.
    pub digest: String,
    pub size: u64,
}

/// Streams an upload into a temporary file in `incoming` while hashing it: refused past
/// `max_bytes` or when the connection is cut, and then nothing is left behind.
pub async fn receive_to_temporary<S, E>(
    mut body: S,
    max_bytes: u64,
    incoming: PathBuf,
) -> Result<Received, AppError>
where
    S: Stream<Item = Result<Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    std::fs::create_dir_all(&incoming).map_err(|e| storage_error(&incoming, e))?;
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Bytes>(PIPELINE_CHUNKS);
    let temporary_dir = incoming.clone();
    // Set when the upload is refused or cut: the writer then drops what it has at once
    // instead of flushing and fsyncing gigabytes that are about to be deleted.
    let abandoned = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let abandoned_by_writer = std::sync::Arc::clone(&abandoned);
    // Hashing and writing happen on a blocking thread so the executor only moves bytes.
    let writer = tokio::task::spawn_blocking(move || -> std::io::Result<_> {
        let mut file = tempfile::NamedTempFile::new_in(&incoming)?;
        let mut hasher = Sha256::new();
        let mut size = 0u64;
        {
            let mut out = std::io::BufWriter::with_capacity(WRITE_BUFFER, file.as_file_mut());
            let mut written_back = 0u64;
            while let Some(chunk) = receiver.blocking_recv() {
                hasher.update(&chunk);
                out.write_all(&chunk)?;
                size += chunk.len() as u64;
                let in_file = size - out.buffer().len() as u64;
                if in_file - written_back >= WRITEBACK_STEP {
                    start_writeback(out.get_ref(), written_back, in_file);
                    written_back = in_file;
                }
            }
            if abandoned_by_writer.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(std::io::Error::other("the upload was abandoned"));
            }
            out.flush()?;
        }
        file.as_file().sync_all()?;
        Ok(Received {
            file,
            digest: format!("sha256:{}", hex::encode(hasher.finalize())),
            size,
        })
    });

    let mut received = 0u64;
    let mut failure = None;
    while let Some(chunk) = body.next().await {
        match chunk {
            Ok(chunk) => {
                received += chunk.len() as u64;
                if received > max_bytes {
                    failure = Some(AppError::PayloadTooLarge(format!(
                        "the upload is larger than the limit of {max_bytes} bytes"
                    )));
                    break;
                }
                if sender.send(chunk).await.is_err() {
                    break;
                }
            }
            Err(error) => {
                failure = Some(AppError::bad_request(
                    "upload_interrupted",
                    format!("the upload was cut off after {received} bytes: {error}"),
                ));
                break;
            }
        }
    }
    if failure.is_some() {
        abandoned.store(true, std::sync::atomic::Ordering::SeqCst);
    }
    drop(sender);
    let written = writer.await?;
    if let Some(failure) = failure {
        // Dropping the temporary file deletes it.
        drop(written);
        return Err(failure);
    }
    written.map_err(|e| storage_error(&temporary_dir, e))
}

/// Starts writing `start..end` of `file` to disk without waiting, and lets the page cache
/// drop it once written. Otherwise the kernel would hold a whole multi-GB upload in memory
/// until the final `fsync`, which then pays for all of it at once; started early, the disk
/// works while the network is still delivering. Advice only: a failure changes nothing.
fn start_writeback(file: &std::fs::File, start: u64, end: u64) {
    use nix::fcntl::{PosixFadviseAdvice, posix_fadvise};
    let (Ok(offset), Ok(length)) = (i64::try_from(start), i64::try_from(end - start)) else {
        return;
    };
    let _ = posix_fadvise(
        file,
        offset,
        length,
        PosixFadviseAdvice::POSIX_FADV_DONTNEED,
    );
}

fn storage_error(path: &Path, error: std::io::Error) -> AppError {
    AppError::Internal(format!("storage at {}: {error}", path.display()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn chunks(
        parts: Vec<Result<&'static [u8], &'static str>>,
    ) -> impl Stream<Item = Result<Bytes, String>> + Unpin {
        futures_util::stream::iter(
            parts
                .into_iter()
                .map(|part| part.map(Bytes::from_static).map_err(str::to_owned)),
        )
    }

    fn files_under(dir: &Path) -> usize {
        walk(dir).len()
    }

    fn walk(dir: &Path) -> Vec<PathBuf> {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return Vec::new();
        };
        entries
            .flatten()
            .flat_map(|entry| {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path)
                } else {
                    vec![path]
                }
            })
            .collect()
    }

    #[actix_web::test]
    async fn stores_by_digest() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let blob = store
            .receive(chunks(vec![Ok(b"hello "), Ok(b"world")]), 100)
            .await
            .unwrap();
        assert_eq!(
            blob.digest,
            "sha256:b94d27b9934d3e08a52e52d7da7dabfac484efe37a5380ee9088f7ace2efcde9"
        );
        assert_eq!(blob.size, 11);
        let path = store.path_of(&blob.digest).unwrap();
        assert_eq!(std::fs::read(path).unwrap(), b"hello world");
        assert_eq!(files_under(dir.path()), 1);
        assert!(blob.created);
        let again = store
            .receive(chunks(vec![Ok(b"hello world")]), 100)
            .await
            .unwrap();
        assert_eq!(again.digest, blob.digest);
        assert!(!again.created, "the second copy found the first in place");
        assert!(!store.put(b"hello world").unwrap().created);
        assert_eq!(files_under(dir.path()), 1);
    }

    #[actix_web::test]
    async fn oversized_and_cut_uploads_leave_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let store = BlobStore::new(dir.path());
        let too_big = store
            .receive(chunks(vec![Ok(b"0123456789"), Ok(b"0123456789")]), 15)
            .await;
        assert!(matches!(too_big, Err(AppError::PayloadTooLarge(_))));
        let cut = store
            .receive(chunks(vec![Ok(b"0123"), Err("connection reset")]), 100)
            .await;
        assert!(matches!(
            cut,
            Err(AppError::BadRequest {
                code: "upload_interrupted",
                ..
            })
        ));
        assert_eq!(files_under(dir.path()), 0);
    }

    #[test]
    fn malformed_digests_have_no_path() {
        let store = BlobStore::new(Path::new("/data"));
        assert!(store.path_of("sha256:../../etc/passwd").is_none());
        assert!(store.path_of("md5:abc").is_none());
        assert!(
            store
                .path_of(&format!("sha256:{}", "A".repeat(64)))
                .is_none()
        );
    }
}
