//! The state every handler shares.

use std::sync::Arc;

use crate::config::Config;
use crate::db::Db;
use crate::storage::BlobStore;

/// Cheap to clone: everything inside is shared.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub blobs: BlobStore,
    /// Woken when a job is queued, so waiting workers claim it at once.
    pub queue_signal: Arc<tokio::sync::Notify>,
}

impl AppState {
    pub fn new(db: Db, config: Config) -> Self {
        Self {
            blobs: BlobStore::new(&config.data_dir),
            queue_signal: Arc::new(tokio::sync::Notify::new()),
            db,
            config: Arc::new(config),
        }
    }
}
