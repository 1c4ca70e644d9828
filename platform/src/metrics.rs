//! Prometheus metrics at `GET /metrics`, for operators and admins: request latency per
//! route, the queue by state, workers alive, upload bytes, the database pool.

use std::sync::Arc;
use std::time::Instant;

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

/// The platform's metrics; cheap to clone, shared by every request thread.
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    requests: Family<RouteLabels, Histogram>,
    jobs: Family<StateLabels, Gauge>,
    workers_alive: Gauge,
    upload_bytes: Counter,
    pool_connections: Gauge,
    pool_idle: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
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
        Self {
            registry: Arc::new(registry),
            requests,
            jobs,
            workers_alive,
            upload_bytes,
            pool_connections,
            pool_idle,
        }
    }
}

impl Metrics {
    /// Counts the bytes of a stored upload.
    pub fn uploaded(&self, bytes: u64) {
        self.upload_bytes.inc_by(bytes);
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
    let (unfinished, alive) = state
        .db
        .read(move |conn| {
            let unfinished = jobs::unfinished(conn)?;
            let alive = workers::list(conn)?
                .iter()
                .filter(|w| w.last_seen_at >= alive_since)
                .count();
            Ok((unfinished, alive))
        })
        .await?;
    let metrics = &state.metrics;
    for status in [JobStatus::Queued, JobStatus::Running] {
        let count = unfinished.iter().filter(|job| job.status == status).count();
        metrics
            .jobs
            .get_or_create(&StateLabels {
                status: status.to_string(),
            })
            .set(i64::try_from(count).unwrap_or(i64::MAX));
    }
    metrics
        .workers_alive
        .set(i64::try_from(alive).unwrap_or(i64::MAX));
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
