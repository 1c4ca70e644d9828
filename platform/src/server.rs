//! `jiebang serve`: open the database, prepare it, listen.

use actix_web::HttpServer;

use crate::config::Config;
use crate::db::{DatabaseUrl, Db};
use crate::error::AppError;
use crate::state::AppState;
use crate::{bootstrap, catalog, routes};

/// Every minute, tells the finalists of each award whose objection period has ended (and
/// whose objections are all answered) that the result is final; once per award.
fn spawn_final_results(db: Db) {
    actix_web::rt::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(60));
        loop {
            every.tick().await;
            match db.write(crate::services::awards::notify_final).await {
                Ok(0) => {}
                Ok(told) => tracing::info!(awards = told, "told finalists their results are final"),
                Err(error) => tracing::warn!(%error, "telling finalists of final results"),
            }
        }
    });
}

/// Prunes unreferenced stored files every six hours, on a blocking thread.
fn spawn_pruning(config: &Config, db: Db) {
    let blobs = crate::storage::BlobStore::new(&config.data_dir);
    let grace = std::time::Duration::from_secs(config.prune_after_hours.saturating_mul(3600));
    actix_web::rt::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(6 * 3600));
        loop {
            every.tick().await;
            let (db, blobs) = (db.clone(), blobs.clone());
            let pruned = tokio::task::spawn_blocking(move || {
                crate::services::retention::prune(&db, &blobs, grace, false)
            })
            .await;
            match pruned {
                Ok(Ok(report)) if report.removed + report.temporaries_removed > 0 => {
                    tracing::info!(
                        removed = report.removed,
                        bytes = report.removed_bytes,
                        temporaries = report.temporaries_removed,
                        "pruned unreferenced stored files"
                    );
                }
                Ok(Ok(_)) => {}
                Ok(Err(error)) => tracing::warn!(%error, "pruning stored files failed"),
                Err(error) => tracing::warn!(%error, "pruning stored files stopped"),
            }
        }
    });
}

/// Every hour, rolls the week-old minutes of the utilisation series up into hours and
/// deletes what is past 90 days.
fn spawn_utilisation_upkeep(db: Db) {
    actix_web::rt::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every.tick().await;
            let upkeep = db
                .write(|conn| {
                    crate::services::retention::utilisation_upkeep(conn, crate::db::now_millis())
                })
                .await;
            match upkeep {
                Ok(done) if done.minutes_rolled_up + done.rows_deleted > 0 => tracing::info!(
                    rolled_up = done.minutes_rolled_up,
                    hours = done.hours_written,
                    deleted = done.rows_deleted,
                    "utilisation series kept up"
                ),
                Ok(_) => {}
                Err(error) => tracing::warn!(%error, "keeping the utilisation series up failed"),
            }
        }
    });
}

/// The request threads to start: as configured, else four per core, at most 64. With
/// actix's one per core, 32 page visitors on 2 cores put 16 connections on each thread and
/// `/healthz` waited behind their requests' turns (p99 16–21 ms); with four per core it
/// answered in 3.5 ms for 5–8 % fewer pages per second (docs/benchmarks.md).
fn request_threads(configured: u32) -> usize {
    match configured {
        0 => std::thread::available_parallelism()
            .map_or(2, usize::from)
            .saturating_mul(4)
            .min(64),
        n => n as usize,
    }
}

/// Runs the platform until it is stopped (SIGINT or SIGTERM).
pub async fn serve(config: Config) -> Result<(), AppError> {
    if config.worker.embedded {
        crate::worker::check(&config)?;
    }
    let url = DatabaseUrl::parse(&config.database_url())?;
    tracing::info!(database = %url.redacted(), "opening database");
    let db = Db::open(&url, config.pool_size)?;
    let per_session =
        db.read_blocking(|conn| Ok(crate::db::placement::backends_weigh_per_session(conn)));
    if per_session.unwrap_or(false) {
        tracing::warn!(
            "PostgreSQL runs on this host in no CPU cgroup of its own while the kernel shares the \
             CPU by session (autogroup): each busy backend gets as much CPU as the whole \
             platform; start it as a service in a cgroup of its own or set \
             kernel.sched_autogroup_enabled=0 (operator guide: PostgreSQL on the same host)"
        );
    }
    let first_admin = bootstrap::ensure_first_admin(&db)?;
    let blobs = crate::storage::BlobStore::new(&config.data_dir);
    let catalog = catalog::load(&db, &blobs, &config.catalog_dir)?;
    if !catalog.loaded.is_empty() || !catalog.refused.is_empty() {
        tracing::info!(
            loaded = catalog.loaded.len(),
            refused = catalog.refused.len(),
            dir = %config.catalog_dir.display(),
            "scenario catalog loaded"
        );
    }

    let db_for_worker = db.clone();
    let state = AppState::new(db, config.clone())?;
    let (rate_limits, stopping) = (state.rate_limits.clone(), state.stopping.clone());
    if let Some(smtp) = &config.smtp {
        let mailer =
            crate::mail::Mailer::new(smtp, config.public_url(), state.site.catalogs.clone())?;
        crate::mail::spawn(mailer, db_for_worker.clone());
    }
    // Signals are ours, not actix's: a stop first ends long-poll claims and lets the
    // embedded worker hand its job back, and only then stops the server, which waits at
    // most two seconds for requests still in flight.
    let server = HttpServer::new(move || routes::build(state.clone()))
        .workers(request_threads(config.request_threads))
        .shutdown_timeout(2)
        .disable_signals()
        .bind(&config.bind)
        .map_err(|e| AppError::Config(format!("cannot listen on {}: {e}", config.bind)))?;
    let addresses: Vec<String> = server
        .addrs()
        .iter()
        .map(|a| format!("http://{a}"))
        .collect();
    // Printed, not logged: the one-time token must not end up in log files.
    println!("Jiebang is listening on {}", addresses.join(", "));
    if config.public_url.is_some() {
        println!("Public URL: {}", config.public_url());
    }
    if let Some(token) = first_admin {
        println!(
            "First start: created user `admin`. Admin token (shown once, keep it safe):\n  {}",
            token.token
        );
    }
    {
        // Visitors whose budgets are full again are forgotten now and then.
        let limits = rate_limits;
        actix_web::rt::spawn(async move {
            let mut every = tokio::time::interval(std::time::Duration::from_secs(600));
            loop {
                every.tick().await;
                limits.shrink();
            }
        });
    }
    spawn_final_results(db_for_worker.clone());
    spawn_utilisation_upkeep(db_for_worker.clone());
    if config.prune_after_hours > 0 {
        spawn_pruning(&config, db_for_worker.clone());
    }
    if config.slurm.enabled {
        // Without a public URL, the address actually bound (a port of 0 is chosen by then).
        let platform = config
            .public_url
            .clone()
            .or_else(|| addresses.first().cloned())
            .unwrap_or_else(|| config.public_url());
        let autoscaler = crate::slurm::Autoscaler::new(&config, db_for_worker.clone(), platform)?;
        tracing::info!(
            every_seconds = config.slurm.poll_seconds,
            max_outstanding = config.slurm.max_outstanding,
            "Slurm mode: submitting one-shot workers for jobs that need accelerators"
        );
        autoscaler.spawn(stopping.clone());
    }
    let worker = match server.addrs().first() {
        Some(address) if config.worker.embedded => {
            Some(crate::worker::embedded(&config, &db_for_worker, *address)?.spawn(&stopping))
        }
        _ => None,
    };
    let running = server.run();
    let handle = running.handle();
    actix_web::rt::spawn(async move {
        crate::shutdown::stop_signal().await;
        crate::shutdown::stop_in_order(&stopping, worker, handle).await;
    });
    let stopped = running
        .await
        .map_err(|e| AppError::Internal(format!("server stopped: {e}")));
    tracing::info!("the server has stopped");
    stopped
}
