//! Reading back what a batch job left in /output: regular files only, within caps on
//! bytes, entries, depth and path length, each breach charged to the submission.

use std::path::{Path, PathBuf};

use crate::SandboxError;

/// Folders nested deeper than this are the submission's fault, not a path to follow.
pub const MAX_OUTPUT_DEPTH: usize = 32;

/// Bytes of one path relative to /output; PATH_MAX (4096) is far above any honest need.
pub const MAX_OUTPUT_PATH_BYTES: usize = 1024;

/// What may come back from /output.
#[derive(Debug, Clone, Copy)]
pub struct OutputCaps {
    /// Bytes of all regular files by their length, so a sparse file counts at its full size.
    pub bytes: u64,
    /// Entries of any kind: files, folders, links, special files.
    pub entries: u64,
}

fn refused(reason: String) -> SandboxError {
    SandboxError::Submission(format!("/output refused: {reason}"))
}

/// Copies the regular files of `source` to `target` and returns their bytes. Symbolic links
/// and special files are counted but neither followed nor recreated on the host. A breach of
/// a cap is [`SandboxError::Submission`]; only a failure to write on the host is
/// [`SandboxError::Io`].
pub fn copy_output(source: &Path, target: &Path, caps: OutputCaps) -> Result<u64, SandboxError> {
    std::fs::create_dir_all(target)?;
    let (mut bytes, mut entries) = (0u64, 0u64);
    let mut pending = vec![(PathBuf::new(), 0usize)];
    while let Some((relative, depth)) = pending.pop() {
        let listing =
            std::fs::read_dir(source.join(&relative)).map_err(|e| unreadable(&relative, e))?;
        for entry in listing {
            let entry = entry.map_err(|e| unreadable(&relative, e))?;
            entries += 1;
            if entries > caps.entries {
                return Err(refused(format!(
                    "it holds more than {} entries (files and folders), the cap",
                    caps.entries
                )));
            }
            let name = relative.join(entry.file_name());
            if name.as_os_str().len() > MAX_OUTPUT_PATH_BYTES {
                return Err(refused(format!(
                    "a path is longer than {MAX_OUTPUT_PATH_BYTES} bytes"
                )));
            }
            // Not followed: a link is only an entry, whatever it points at.
            let metadata = entry.metadata().map_err(|e| unreadable(&name, e))?;
            if metadata.is_dir() {
                if depth + 1 > MAX_OUTPUT_DEPTH {
                    return Err(refused(format!(
                        "folders are nested deeper than {MAX_OUTPUT_DEPTH} levels"
                    )));
                }
                std::fs::create_dir_all(target.join(&name))?;
                pending.push((name, depth + 1));
            } else if metadata.is_file() {
                bytes = bytes.saturating_add(metadata.len());
                if bytes > caps.bytes {
                    return Err(refused(format!(
                        "its files are larger than {} bytes, the cap (a sparse file counts at its full length)",
                        caps.bytes
                    )));
                }
                copy_file(&source.join(&name), &target.join(&name), &name)?;
            }
        }
    }
    Ok(bytes)
}

/// Reading /output, a tmpfs the worker itself mounted, fails only through what the
/// submission put there (a name too long to open, a file it made unreadable).
fn unreadable(path: &Path, error: std::io::Error) -> SandboxError {
    refused(format!("{} cannot be read: {error}", path.display()))
}

fn copy_file(from: &Path, to: &Path, name: &Path) -> Result<(), SandboxError> {
    let mut reader = std::fs::File::open(from).map_err(|e| unreadable(name, e))?;
    let mut writer = std::fs::File::create(to)?;
    std::io::copy(&mut reader, &mut writer)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const CAPS: OutputCaps = OutputCaps {
        bytes: 1 << 20,
        entries: 100,
    };

    fn run(prepare: impl FnOnce(&Path)) -> Result<u64, SandboxError> {
        let (source, target) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        prepare(source.path());
        copy_output(source.path(), &target.path().join("out"), CAPS)
    }

    fn submission_fault(result: Result<u64, SandboxError>, names: &str) {
        match result {
            Err(SandboxError::Submission(reason)) => assert!(reason.contains(names), "{reason}"),
            other => panic!("expected the submission's fault naming `{names}`, got {other:?}"),
        }
    }

    #[test]
    fn files_within_the_caps_come_back() {
        let copied = run(|dir| {
            std::fs::create_dir(dir.join("sub")).unwrap();
            std::fs::write(dir.join("sub/a.txt"), "abc").unwrap();
            std::os::unix::fs::symlink("/etc/passwd", dir.join("link")).unwrap();
        });
        assert_eq!(copied.unwrap(), 3);
    }

    #[test]
    fn too_many_entries_are_refused_with_the_cap() {
        submission_fault(
            run(|dir| {
                for i in 0..101 {
                    std::fs::File::create(dir.join(format!("f{i}"))).unwrap();
                }
            }),
            "more than 100 entries",
        );
    }

    #[test]
    fn a_sparse_file_counts_at_its_length() {
        submission_fault(
            run(|dir| {
                let file = std::fs::File::create(dir.join("sparse")).unwrap();
                file.set_len(1 << 40).unwrap();
            }),
            "larger than 1048576 bytes",
        );
    }

    #[test]
    fn deep_and_long_paths_are_refused() {
        submission_fault(
            run(|dir| {
                let deep: PathBuf = (0..40).map(|_| "d").collect();
                std::fs::create_dir_all(dir.join(deep)).unwrap();
            }),
            "nested deeper than 32",
        );
        submission_fault(
            run(|dir| {
                let long: PathBuf = (0..8).map(|_| "x".repeat(200)).collect();
                std::fs::create_dir_all(dir.join(long)).unwrap();
            }),
            "longer than 1024 bytes",
        );
    }
}
