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
}

impl AppState {
    pub fn new(db: Db, config: Config) -> Self {
        Self {
            blobs: BlobStore::new(&config.data_dir),
            db,
            config: Arc::new(config),
        }
    }
}
