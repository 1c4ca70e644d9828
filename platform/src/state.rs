//! The state every handler shares.

use std::sync::Arc;

use actix_web::cookie::Key;

use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::pages::site::Site;
use crate::storage::BlobStore;

/// Cheap to clone: everything inside is shared.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub config: Arc<Config>,
    pub blobs: BlobStore,
    /// Woken when a job is queued, so waiting workers claim it at once.
    pub queue_signal: Arc<tokio::sync::Notify>,
    /// Templates, message catalogs and assets of the web pages.
    pub site: Arc<Site>,
    /// Signs session cookies; never logged.
    pub session_key: Key,
    /// What `/metrics` reports (shared by every request thread).
    pub metrics: crate::metrics::Metrics,
    /// Each visitor's request budgets (shared by every request thread).
    pub rate_limits: crate::ratelimit::RateLimits,
    /// Image uploads under way, each holding one of its team's remaining submissions.
    pub uploads: crate::services::submissions::UploadReservations,
    /// Set when the platform starts stopping: long-poll claims answer at once.
    pub stopping: crate::shutdown::Stopping,
    /// The OpenID Connect provider people sign in with, when one is configured.
    pub oidc: Option<Arc<crate::oidc::Provider>>,
    /// Tie probabilities of board rows already computed (stored results never change).
    pub ties: crate::services::significance::TieCache,
}

impl AppState {
    /// Fails when the templates do not compile or the session key cannot be read or made.
    pub fn new(db: Db, config: Config) -> Result<Self, AppError> {
        Ok(Self {
            blobs: BlobStore::new(&config.data_dir),
            queue_signal: Arc::new(tokio::sync::Notify::new()),
            uploads: Default::default(),
            stopping: Default::default(),
            ties: Default::default(),
            metrics: crate::metrics::Metrics::new(&db),
            rate_limits: crate::ratelimit::RateLimits::new(&config),
            site: Arc::new(Site::new(&config)?),
            session_key: crate::auth::session::load_key(&config)?,
            oidc: config
                .oidc
                .clone()
                .map(|oidc| Arc::new(crate::oidc::Provider::new(oidc, config.oidc_redirect_url()))),
            db,
            config: Arc::new(config),
        })
    }
}
