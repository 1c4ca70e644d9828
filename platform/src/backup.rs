//! Backup and restore of a platform's data: a consistent copy of the SQLite database taken
//! while the platform runs, every stored file (checked against its digest on the way back),
//! the installed scenario packages and the session key.
//!
//! A backup folder holds `manifest.json`, `jiebang.db` (SQLite only: PostgreSQL is backed up
//! with `pg_dump`, see docs/guide-operator.md), `blobs/sha256/…`, `packages/…` and
//! `session.key`. Stored files are content-addressed and never change, so copying them after
//! the database snapshot loses nothing the snapshot refers to; a file stored in between is
//! an extra that `jiebang admin prune-files` removes later.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use diesel::RunQueryDsl;
use diesel::sql_types::Text;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::db::{Backend, DatabaseUrl, Db};
use crate::error::AppError;
use crate::storage::BlobStore;

/// What `manifest.json` says of a backup.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackupManifest {
    /// Raised when the layout changes; a restore refuses a format it does not know.
    pub format: u32,
    pub created_at: String,
    /// `sqlite`, or `none` for a backup of the files alone (a PostgreSQL platform).
    pub database: String,
    pub files: usize,
    pub file_bytes: u64,
    /// The platform version that wrote it.
    pub platform_version: String,
}

const FORMAT: u32 = 1;
const MANIFEST: &str = "manifest.json";
const DATABASE_FILE: &str = "jiebang.db";
/// Folders of the data directory copied whole, besides the database and the stored files.
const FOLDERS: [&str; 1] = ["packages"];
const KEY_FILE: &str = "session.key";

fn io_error(path: &Path, error: impl std::fmt::Display) -> AppError {
    AppError::Config(format!("{}: {error}", path.display()))
}

/// Makes `dest` (which must not exist, or be an empty folder) readable by its owner only:
/// it holds the database, hashed tokens and the session key.
fn prepare_destination(dest: &Path) -> Result<(), AppError> {
    if dest.exists() {
        let empty = std::fs::read_dir(dest)
            .map_err(|e| io_error(dest, e))?
            .next()
            .is_none();
        if !empty {
            return Err(AppError::Config(format!(
                "{} is not empty; back up into a new folder",
                dest.display()
            )));
        }
    }
    std::fs::create_dir_all(dest).map_err(|e| io_error(dest, e))?;
    set_private(dest, 0o700)
}

fn set_private(path: &Path, mode: u32) -> Result<(), AppError> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| io_error(path, e))
}

/// Copies the platform's data into `dest` while it runs. `files_only` is for a PostgreSQL
/// platform, whose database `pg_dump` backs up; without it such a backup is refused rather
/// than silently incomplete.
pub fn backup(
    db: &Db,
    url: &DatabaseUrl,
    data_dir: &Path,
    dest: &Path,
    files_only: bool,
) -> Result<BackupManifest, AppError> {
    if url.backend() == Backend::Postgres && !files_only {
        return Err(AppError::Config(
            "the database is PostgreSQL: back it up with pg_dump (docs/guide-operator.md) and \
             run this with --files-only for the stored files"
                .into(),
        ));
    }
    prepare_destination(dest)?;
    let database = if files_only {
        "none"
    } else {
        let target = dest.join(DATABASE_FILE);
        let target_text = target
            .to_str()
            .ok_or_else(|| io_error(&target, "the path is not UTF-8"))?
            .to_owned();
        // VACUUM INTO writes a consistent snapshot from one read transaction, like the online
        // backup API, and compacts it on the way.
        db.read_blocking(move |conn| {
            diesel::sql_query("VACUUM INTO ?")
                .bind::<Text, _>(&target_text)
                .execute(conn)?;
            Ok(())
        })?;
        set_private(&target, 0o600)?;
        "sqlite"
    };
    let blobs = BlobStore::new(data_dir);
    let mut file_bytes = 0;
    let stored = blobs.list();
    let dest_blobs = BlobStore::new(dest);
    for file in &stored {
        let (Some(from), Some(to)) = (
            blobs.path_of(&file.digest),
            dest_blobs.path_of(&file.digest),
        ) else {
            continue;
        };
        file_bytes += copy_file(&from, &to)?;
    }
    for folder in FOLDERS {
        copy_tree(&data_dir.join(folder), &dest.join(folder))?;
    }
    let key = data_dir.join(KEY_FILE);
    if key.is_file() {
        copy_file(&key, &dest.join(KEY_FILE))?;
        set_private(&dest.join(KEY_FILE), 0o600)?;
    }
    let manifest = BackupManifest {
        format: FORMAT,
        created_at: crate::time::iso_time(crate::db::now_millis()),
        database: database.to_owned(),
        files: stored.len(),
        file_bytes,
        platform_version: env!("CARGO_PKG_VERSION").to_owned(),
    };
    let text = serde_json::to_vec_pretty(&manifest)
        .map_err(|e| AppError::Internal(format!("backup manifest: {e}")))?;
    // Written last: a folder without a manifest is a backup that did not finish.
    write_file(&dest.join(MANIFEST), &text)?;
    Ok(manifest)
}

/// What a restore put in place.
#[derive(Debug, Clone, PartialEq)]
pub struct Restored {
    pub manifest: BackupManifest,
    pub files: usize,
}

/// Puts a backup in place for a platform whose data directory is `data_dir` and whose
/// database is `url`. Refuses to overwrite: the database file must not exist yet. Every
/// stored file is checked against its digest before anything is written.
pub fn restore(source: &Path, url: &DatabaseUrl, data_dir: &Path) -> Result<Restored, AppError> {
    let manifest_path = source.join(MANIFEST);
    let text = std::fs::read(&manifest_path).map_err(|e| {
        io_error(
            &manifest_path,
            format!("{e} (a backup folder has a manifest.json; was the backup finished?)"),
        )
    })?;
    let manifest: BackupManifest = serde_json::from_slice(&text)
        .map_err(|e| io_error(&manifest_path, format!("not a backup manifest: {e}")))?;
    if manifest.format != FORMAT {
        return Err(AppError::Config(format!(
            "{} is backup format {}; this version restores format {FORMAT}",
            manifest_path.display(),
            manifest.format
        )));
    }
    let database_target = match (url, manifest.database.as_str()) {
        (DatabaseUrl::Sqlite(path), "sqlite") => Some(path.clone()),
        (DatabaseUrl::Postgres(_), "none") => None,
        (DatabaseUrl::Postgres(_), _) => {
            return Err(AppError::Config(
                "this backup holds a SQLite database but the platform is configured for \
                 PostgreSQL; restore it with an sqlite:// database URL"
                    .into(),
            ));
        }
        (DatabaseUrl::Sqlite(_), _) => {
            return Err(AppError::Config(
                "this backup holds no database (it was taken with --files-only): restore the \
                 database with pg_restore and configure the platform for PostgreSQL"
                    .into(),
            ));
        }
    };
    if let Some(target) = &database_target
        && target.exists()
    {
        return Err(AppError::Config(format!(
            "{} already exists; restore into a fresh data directory (or move it away first)",
            target.display()
        )));
    }
    let from = BlobStore::new(source);
    let stored = from.list();
    for file in &stored {
        verify_digest(&from, &file.digest)?;
    }
    let to = BlobStore::new(data_dir);
    for file in &stored {
        if let (Some(a), Some(b)) = (from.path_of(&file.digest), to.path_of(&file.digest)) {
            copy_file(&a, &b)?;
        }
    }
    for folder in FOLDERS {
        copy_tree(&source.join(folder), &data_dir.join(folder))?;
    }
    let key = source.join(KEY_FILE);
    if key.is_file() && !data_dir.join(KEY_FILE).exists() {
        copy_file(&key, &data_dir.join(KEY_FILE))?;
        set_private(&data_dir.join(KEY_FILE), 0o600)?;
    }
    if let Some(target) = database_target {
        // Into place under a temporary name first: a restore cut short leaves no database
        // that looks whole.
        let partial = target.with_extension("restoring");
        copy_file(&source.join(DATABASE_FILE), &partial)?;
        check_integrity(&partial)?;
        std::fs::rename(&partial, &target).map_err(|e| io_error(&target, e))?;
    }
    Ok(Restored {
        manifest,
        files: stored.len(),
    })
}

fn verify_digest(store: &BlobStore, digest: &str) -> Result<(), AppError> {
    let path = store
        .path_of(digest)
        .ok_or_else(|| AppError::Config(format!("malformed stored file name {digest}")))?;
    let mut file = std::fs::File::open(&path).map_err(|e| io_error(&path, e))?;
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let read = file.read(&mut buffer).map_err(|e| io_error(&path, e))?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    let actual = format!("sha256:{}", hex::encode(hasher.finalize()));
    if actual != digest {
        return Err(AppError::Config(format!(
            "{} does not match its name (its content is {actual}); the backup is damaged and \
             nothing was restored",
            path.display()
        )));
    }
    Ok(())
}

fn check_integrity(path: &Path) -> Result<(), AppError> {
    use diesel::Connection;
    let mut conn = diesel::SqliteConnection::establish(&path.to_string_lossy())
        .map_err(|e| io_error(path, e))?;
    #[derive(diesel::QueryableByName)]
    struct Check {
        #[diesel(sql_type = Text)]
        integrity_check: String,
    }
    let rows: Vec<Check> = diesel::sql_query("PRAGMA integrity_check")
        .load(&mut conn)
        .map_err(|e| io_error(path, e))?;
    match rows.first() {
        Some(row) if row.integrity_check == "ok" => Ok(()),
        other => Err(io_error(
            path,
            format!(
                "the backup's database fails its integrity check: {}",
                other.map_or("no answer", |r| r.integrity_check.as_str())
            ),
        )),
    }
}

fn copy_file(from: &Path, to: &Path) -> Result<u64, AppError> {
    if let Some(parent) = to.parent() {
        std::fs::create_dir_all(parent).map_err(|e| io_error(parent, e))?;
    }
    std::fs::copy(from, to).map_err(|e| io_error(from, e))
}

fn write_file(path: &Path, content: &[u8]) -> Result<(), AppError> {
    let mut file = std::fs::File::create(path).map_err(|e| io_error(path, e))?;
    file.write_all(content).map_err(|e| io_error(path, e))?;
    file.sync_all().map_err(|e| io_error(path, e))
}

/// Copies a folder's files and subfolders (links are skipped: nothing the platform writes is
/// one); a folder that does not exist copies nothing.
fn copy_tree(from: &Path, to: &Path) -> Result<(), AppError> {
    let mut pending: Vec<(PathBuf, PathBuf)> = vec![(from.to_path_buf(), to.to_path_buf())];
    while let Some((source, target)) = pending.pop() {
        let entries = match std::fs::read_dir(&source) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error(&source, e)),
        };
        std::fs::create_dir_all(&target).map_err(|e| io_error(&target, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| io_error(&source, e))?;
            let kind = entry.file_type().map_err(|e| io_error(&entry.path(), e))?;
            let next = target.join(entry.file_name());
            // Half-received uploads are not data yet.
            if kind.is_dir() && entry.file_name() != "incoming" {
                pending.push((entry.path(), next));
            } else if kind.is_file() {
                copy_file(&entry.path(), &next)?;
            }
        }
    }
    Ok(())
}
