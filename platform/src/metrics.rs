//! Prometheus metrics at `GET /metrics`, for operators and admins: request latency per
//! route, queue depth, jobs by state, workers alive, evaluation time per stage, upload
//! bytes, the database pool and how long work waits for it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpResponse, web};
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::auth::OperatorOrAdmin;
use crate::db::Db;
use crate::db::models::jobs::{self, JobStatus};
use crate::db::models::workers;
use crate::db::now_millis;
use crate::error::AppError;
use crate::state::AppState;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    method: String,
    /// The route's pattern (`/api/v1/scenarios/{id}`), never the concrete path, so the
    /// number of series stays bounded whatever visitors request.
    route: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StateLabels {
    status: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct QueueLabels {
    /// `first` (a submission's first evaluation) or `rescore` (on a newer package version).
    kind: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct StageLabels {
    /// `preparing` (claim to the first run: downloads, image import), then the stages
    /// workers report: `sample_run`, `hidden_run`, `scoring`.
    stage: &'static str,
}

/// The stage each running job is in and since when, kept in memory: an entry goes when
/// its job reports its result or is handed back. A job whose worker vanished leaves its
/// entry behind, so entries older than [`FORGET_STAGES_AFTER`] are dropped now and then.
type StageClock = HashMap<String, (&'static str, Instant)>;

/// Longer than any evaluation runs.
const FORGET_STAGES_AFTER: Duration = Duration::from_secs(24 * 3600);

/// The platform's metrics; cheap to clone, shared by every request thread.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    requests: Family<RouteLabels, Histogram>,
    jobs: Family<StateLabels, Gauge>,
    queue_depth: Family<QueueLabels, Gauge>,
    workers_alive: Gauge,
    stages: Family<StageLabels, Histogram>,
    stage_clock: Arc<Mutex<StageClock>>,
    upload_bytes: Counter,
    pool_connections: Gauge,
    pool_idle: Gauge,
}

impl Metrics {
    /// The registry, with the database's waits (measured by the data layer) in it.
    pub fn new(db: &Db) -> Self {
        let mut registry = Registry::with_prefix("jiebang");
        let requests = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            // 0.1 ms to about 26 s.
            Histogram::new(exponential_buckets(0.0001, 2.0, 19))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time to answer a request, per method, route pattern and status",
            requests.clone(),
        );
        let jobs = Family::<StateLabels, Gauge>::default();
        registry.register("jobs", "Evaluation jobs by state", jobs.clone());
        let queue_depth = Family::<QueueLabels, Gauge>::default();
        registry.register(
            "queue_depth",
            "Jobs waiting for a worker: first evaluations and re-scores",
            queue_depth.clone(),
        );
        let stages = Family::<StageLabels, Histogram>::new_with_constructor(|| {
            // 10 ms to about 3 hours.
            Histogram::new(exponential_buckets(0.01, 2.0, 21))
        });
        registry.register(
            "evaluation_stage_duration_seconds",
            "Time evaluations spent in each stage, measured by the platform",
            stages.clone(),
        );
        let workers_alive = Gauge::default();
        registry.register(
            "workers_alive",
            "Workers heard from within two leases",
            workers_alive.clone(),
        );
        let upload_bytes = Counter::default();
        registry.register(
            "upload_bytes",
            "Bytes of image archives stored",
            upload_bytes.clone(),
        );
        let pool_connections = Gauge::default();
        registry.register(
            "db_pool_connections",
            "Database connections the pool holds",
            pool_connections.clone(),
        );
        let pool_idle = Gauge::default();
        registry.register(
            "db_pool_idle_connections",
            "Database connections of the pool not in use",
            pool_idle.clone(),
        );
        registry.register(
            "db_wait_seconds",
            "Time database work waited before it ran: for a pooled connection, or for SQLite's one writer",
            db.waits.seconds.clone(),
        );
        registry.register(
            "db_pool_timeouts",
            "Requests that found no database connection within the pool's time-out",
            db.waits.timeouts.clone(),
        );
        Self {
            registry: Arc::new(registry),
            requests,
            jobs,
            queue_depth,
            workers_alive,
            stages,
            stage_clock: Arc::default(),
            upload_bytes,
            pool_connections,
            pool_idle,
        }
    }

    /// Counts the bytes of a stored upload.
    pub fn uploaded(&self, bytes: u64) {
        self.upload_bytes.inc_by(bytes);
    }

    /// Job `job` enters `stage`: the stage it was in, if any, is timed.
    pub fn job_stage(&self, job: &str, stage: &'static str) {
        let now = Instant::now();
        let mut clock = self.stage_clock.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((previous, since)) = clock.insert(job.to_owned(), (stage, now)) {
            self.observe_stage(previous, now - since);
        }
        if clock.len() > 10_000 {
            clock.retain(|_, (_, since)| now - *since < FORGET_STAGES_AFTER);
        }
    }

    /// Job `job` ended: its last stage is timed when `finished`, forgotten otherwise (a
    /// job handed back did not complete it).
    pub fn job_ended(&self, job: &str, finished: bool) {
        let removed = self
            .stage_clock
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(job);
        if let (Some((stage, since)), true) = (removed, finished) {
            self.observe_stage(stage, since.elapsed());
        }
    }

    fn observe_stage(&self, stage: &'static str, spent: Duration) {
        self.stages
            .get_or_create(&StageLabels { stage })
            .observe(spent.as_secs_f64());
    }
}

/// Middleware: times every request under its route pattern.
pub async fn observe(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let metrics = request
        .app_data::<web::Data<AppState>>()
        .map(|state| state.metrics.clone());
    let response = next.call(request).await?.map_into_boxed_body();
    if let Some(metrics) = metrics {
        let labels = RouteLabels {
            method: response.request().method().to_string(),
            route: response
                .request()
                .match_pattern()
                .unwrap_or_else(|| "unmatched".to_owned()),
            status: response.status().as_u16(),
        };
        metrics
            .requests
            .get_or_create(&labels)
            .observe(started.elapsed().as_secs_f64());
    }
    Ok(response)
}

/// `GET /metrics` — operators and admins; the Prometheus text format.
pub async fn scrape(
    state: web::Data<AppState>,
    _operator: OperatorOrAdmin,
) -> Result<HttpResponse, AppError> {
    let alive_since = now_millis() - crate::services::overview::alive_millis(&state);
    let (by_status, queued, alive) = state
        .db
        .read(move |conn| {
            Ok((
                jobs::count_by_status(conn)?,
                jobs::queued_by_kind(conn)?,
                workers::count_seen_since(conn, alive_since)?,
            ))
        })
        .await?;
    let metrics = &state.metrics;
    for status in JobStatus::ALL {
        let count = by_status
            .iter()
            .find(|(s, _)| s == status)
            .map_or(0, |(_, n)| *n);
        metrics
            .jobs
            .get_or_create(&StateLabels {
                status: status.to_string(),
            })
            .set(count);
    }
    for (rescore, kind) in [(false, "first"), (true, "rescore")] {
        let count = queued
            .iter()
            .find(|(r, _)| *r == rescore)
            .map_or(0, |(_, n)| *n);
        metrics
            .queue_depth
            .get_or_create(&QueueLabels { kind })
            .set(count);
    }
    metrics.workers_alive.set(alive);
    let (connections, idle) = state.db.pool_state();
    metrics.pool_connections.set(i64::from(connections));
    metrics.pool_idle.set(i64::from(idle));
    let mut text = String::new();
    encode(&mut text, &metrics.registry)
        .map_err(|e| AppError::Internal(format!("encoding metrics: {e}")))?;
    Ok(HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(text))
}
