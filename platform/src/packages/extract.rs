//! Unpacks an uploaded package archive (tar, optionally gzip-compressed) into an empty
//! folder without trusting it: only plain files and folders, relative paths that stay
//! inside, no duplicates, within an entry count and an unpacked size. The archive's modes,
//! owners and times are ignored, so nothing it says can make a file executable or shared.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::{Component, Path, PathBuf};

use tar::EntryType;

/// Why an archive was refused.
#[derive(Debug, thiserror::Error)]
pub enum ExtractError {
    /// The archive is not a readable tar, or holds something a package never needs.
    #[error("{0}")]
    Refused(String),
    /// The archive unpacks to more files or bytes than allowed.
    #[error("{0}")]
    TooLarge(String),
    /// The platform could not write the files out.
    #[error("unpacking: {0}")]
    Io(#[from] std::io::Error),
}

/// Caps on what one archive may unpack to.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_entries: u64,
    pub max_bytes: u64,
}

fn refuse(message: impl Into<String>) -> ExtractError {
    ExtractError::Refused(message.into())
}

/// A path of plain names only: not absolute, no `..`, not empty.
fn safe_relative(path: &Path) -> Result<PathBuf, ExtractError> {
    let shown = path.display();
    let mut clean = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(name) => clean.push(name),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(refuse(format!("entry `{shown}` climbs out with `..`")));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(refuse(format!("entry `{shown}` has an absolute path")));
            }
        }
    }
    Ok(clean)
}

/// Whether the file starts with the gzip magic number.
fn is_gzip(file: &mut File) -> std::io::Result<bool> {
    let mut magic = [0u8; 2];
    let read = file.read(&mut magic)?;
    file.seek(SeekFrom::Start(0))?;
    Ok(read == 2 && magic == [0x1f, 0x8b])
}

/// Unpacks the archive at `archive` into `into`, which must exist and be empty; returns the
/// number of files written. On an error, whatever was written stays in `into` for the
/// caller to remove with the folder.
pub fn unpack(archive: &Path, into: &Path, limits: Limits) -> Result<u64, ExtractError> {
    let mut file = File::open(archive)?;
    let reader: Box<dyn Read> = if is_gzip(&mut file)? {
        Box::new(flate2::read::GzDecoder::new(BufReader::new(file)))
    } else {
        Box::new(BufReader::new(file))
    };
    let mut tar = tar::Archive::new(reader);
    let entries = tar
        .entries()
        .map_err(|e| refuse(format!("not a tar archive: {e}")))?;
    let mut seen: HashSet<PathBuf> = HashSet::new();
    let (mut count, mut bytes, mut files) = (0u64, 0u64, 0u64);
    for entry in entries {
        let mut entry = entry.map_err(|e| refuse(format!("not a readable tar archive: {e}")))?;
        count += 1;
        if count > limits.max_entries {
            return Err(ExtractError::TooLarge(format!(
                "the archive holds more than {} entries",
                limits.max_entries
            )));
        }
        let raw = entry
            .path()
            .map_err(|e| refuse(format!("an entry has an unreadable name: {e}")))?
            .into_owned();
        let relative = safe_relative(&raw)?;
        let shown = raw.display();
        let kind = entry.header().entry_type();
        if relative.as_os_str().is_empty() {
            if kind.is_dir() {
                continue;
            }
            return Err(refuse(format!("entry `{shown}` has an empty name")));
        }
        if !seen.insert(relative.clone()) {
            return Err(refuse(format!("entry `{shown}` appears twice")));
        }
        let target = into.join(&relative);
        match kind {
            EntryType::Directory => fs::create_dir_all(&target)?,
            EntryType::Regular | EntryType::Continuous => {
                let size = entry
                    .header()
                    .size()
                    .map_err(|e| refuse(format!("entry `{shown}` has an unreadable size: {e}")))?;
                bytes = bytes.saturating_add(size);
                if bytes > limits.max_bytes {
                    return Err(ExtractError::TooLarge(format!(
                        "the archive unpacks to more than {} bytes",
                        limits.max_bytes
                    )));
                }
                if let Some(parent) = target.parent() {
                    fs::create_dir_all(parent)?;
                }
                // `create_new`: never follow or overwrite something already there.
                let mut out = OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .open(&target)
                    .map_err(|e| refuse(format!("entry `{shown}` cannot be written: {e}")))?;
                let copied = std::io::copy(&mut (&mut entry).take(size), &mut out)?;
                if copied != size {
                    return Err(refuse(format!("entry `{shown}` is cut short")));
                }
                files += 1;
            }
            EntryType::Symlink | EntryType::Link => {
                return Err(refuse(format!(
                    "entry `{shown}` is a link; a package holds only files and folders"
                )));
            }
            other => {
                return Err(refuse(format!(
                    "entry `{shown}` is a {other:?}; a package holds only files and folders"
                )));
            }
        }
    }
    if files == 0 {
        return Err(refuse("the archive holds no files"));
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const LIMITS: Limits = Limits {
        max_entries: 100,
        max_bytes: 1 << 20,
    };

    fn header(path: &str, kind: EntryType, size: u64) -> tar::Header {
        let mut header = tar::Header::new_gnu();
        // Written raw so hostile names are not cleaned up by the builder.
        let name = &mut header.as_old_mut().name;
        name[..path.len()].copy_from_slice(path.as_bytes());
        header.set_entry_type(kind);
        header.set_size(size);
        header.set_mode(0o644);
        header.set_cksum();
        header
    }

    fn archive(entries: &[(&str, EntryType, &[u8])]) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (path, kind, data) in entries {
            let header = header(path, *kind, data.len() as u64);
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap()
    }

    fn unpack_bytes(
        bytes: &[u8],
        limits: Limits,
    ) -> (tempfile::TempDir, Result<u64, ExtractError>) {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("upload.tar");
        fs::write(&file, bytes).unwrap();
        let into = dir.path().join("out");
        fs::create_dir(&into).unwrap();
        let result = unpack(&file, &into, limits);
        (dir, result)
    }

    #[test]
    fn plain_files_and_folders_unpack() {
        let bytes = archive(&[
            ("pkg/", EntryType::Directory, b""),
            ("pkg/scenario.toml", EntryType::Regular, b"id = 1"),
        ]);
        let (dir, result) = unpack_bytes(&bytes, LIMITS);
        assert_eq!(result.unwrap(), 1);
        let text = fs::read_to_string(dir.path().join("out/pkg/scenario.toml")).unwrap();
        assert_eq!(text, "id = 1");
    }

    #[test]
    fn gzip_is_recognised() {
        use std::io::Write;
        let bytes = archive(&[("a.txt", EntryType::Regular, b"hi")]);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&bytes).unwrap();
        let (_dir, result) = unpack_bytes(&gz.finish().unwrap(), LIMITS);
        assert_eq!(result.unwrap(), 1);
    }

    #[test]
    fn hostile_entries_are_refused() {
        for (entries, expected) in [
            (vec![("../evil", EntryType::Regular, &b"x"[..])], "`..`"),
            (
                vec![("/etc/evil", EntryType::Regular, &b"x"[..])],
                "absolute",
            ),
            (vec![("link", EntryType::Symlink, &b""[..])], "link"),
            (vec![("hard", EntryType::Link, &b""[..])], "link"),
            (vec![("dev", EntryType::Char, &b""[..])], "only files"),
            (vec![("fifo", EntryType::Fifo, &b""[..])], "only files"),
            (
                vec![
                    ("a", EntryType::Regular, &b"1"[..]),
                    ("a", EntryType::Regular, &b"2"[..]),
                ],
                "twice",
            ),
        ] {
            let (dir, result) = unpack_bytes(&archive(&entries), LIMITS);
            let error = result.unwrap_err();
            assert!(
                matches!(error, ExtractError::Refused(_)) && error.to_string().contains(expected),
                "{entries:?}: {error}"
            );
            assert!(!dir.path().join("evil").exists());
        }
    }

    #[test]
    fn caps_hold() {
        let many: Vec<(String, EntryType, &[u8])> = (0..5)
            .map(|i| (format!("f{i}"), EntryType::Regular, &b"x"[..]))
            .collect();
        let entries: Vec<(&str, EntryType, &[u8])> =
            many.iter().map(|(p, k, d)| (p.as_str(), *k, *d)).collect();
        let few = Limits {
            max_entries: 3,
            max_bytes: 1 << 20,
        };
        let (_dir, result) = unpack_bytes(&archive(&entries), few);
        assert!(matches!(result, Err(ExtractError::TooLarge(_))));
        let small = Limits {
            max_entries: 100,
            max_bytes: 10,
        };
        let big = archive(&[("big", EntryType::Regular, &[0u8; 64][..])]);
        let (_dir, result) = unpack_bytes(&big, small);
        assert!(matches!(result, Err(ExtractError::TooLarge(_))));
    }

    #[test]
    fn garbage_is_not_a_tar() {
        let (_dir, result) = unpack_bytes(&[7u8; 1024], LIMITS);
        assert!(
            matches!(result, Err(ExtractError::Refused(_))),
            "{result:?}"
        );
    }
}
