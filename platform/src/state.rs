//! The state every handler shares.

use std::sync::Arc;

use crate::config::Config;
use crate::db::Db;

/// Cheap to clone: everything inside is shared.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
}
