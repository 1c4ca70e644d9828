//! The operator console: workers, queue, utilisation of each accelerator.

use actix_web::HttpResponse;
use serde::Serialize;

use crate::auth::OperatorOrAdmin;
use crate::error::AppError;
use crate::pages::PageContext;
use crate::pages::scenarios::when;
use crate::services::overview::{alive_millis, overview_of};

#[derive(Serialize)]
struct WorkerRow {
    name: String,
    alive: bool,
    last_seen: String,
    job: String,
    capabilities: String,
}

#[derive(Serialize)]
struct AcceleratorRow {
    worker: String,
    device: String,
    percent: String,
    /// The bar's width out of 100.
    width: u32,
}

/// A job waiting for a quiet node, and the figures that sent it back.
#[derive(Serialize)]
struct QuietRow {
    submission_id: String,
    waits: i32,
    next: String,
    why: Vec<String>,
}

#[derive(Serialize)]
struct OperatorPage {
    at: String,
    window_hours: i64,
    workers: Vec<WorkerRow>,
    accelerators: Vec<AcceleratorRow>,
    queued: usize,
    running: usize,
    retrying: usize,
    quiet: usize,
    quiet_rows: Vec<QuietRow>,
    oldest: String,
}

/// `GET /console/operator` — `GET /api/v1/admin/overview` as a page.
pub async fn operator(
    page: PageContext,
    _caller: OperatorOrAdmin,
) -> Result<HttpResponse, AppError> {
    let alive = alive_millis(&page.state);
    let overview = page
        .state
        .db
        .read(move |conn| overview_of(conn, alive))
        .await?;
    let mut accelerators = Vec::new();
    let workers = overview
        .workers
        .iter()
        .map(|w| {
            for a in &w.accelerators {
                let share = a.utilisation.clamp(0.0, 1.0);
                accelerators.push(AcceleratorRow {
                    worker: w.name.clone(),
                    device: format!("{} ({})", a.id, a.model),
                    percent: format!("{:.1} %", share * 100.0),
                    // Bounded to 0–100 above, so the cast cannot overflow.
                    width: (share * 100.0).round() as u32,
                });
            }
            let models: Vec<String> = w.accelerators.iter().map(|a| a.model.clone()).collect();
            WorkerRow {
                name: w.name.clone(),
                alive: w.alive,
                last_seen: when(&w.last_seen_at),
                job: w.current_job.as_ref().map_or_else(String::new, |j| {
                    format!("{} ({})", j.submission_id, j.job_id)
                }),
                capabilities: format!(
                    "{} CPU · {} MB{}",
                    w.cpus,
                    w.memory_mb,
                    if models.is_empty() {
                        String::new()
                    } else {
                        format!(" · {}", models.join(", "))
                    }
                ),
            }
        })
        .collect();
    let view = OperatorPage {
        at: when(&overview.at),
        window_hours: overview.window_seconds / 3600,
        workers,
        accelerators,
        queued: overview.queue.queued,
        running: overview.queue.running,
        retrying: overview.queue.retrying,
        quiet: overview.queue.waiting_for_quiet_node,
        quiet_rows: overview
            .queue
            .quiet_waits
            .iter()
            .map(|wait| QuietRow {
                submission_id: wait.submission_id.clone(),
                waits: wait.waits,
                next: wait.not_before.as_deref().map(when).unwrap_or_default(),
                why: wait
                    .disturbances
                    .iter()
                    .map(|d| {
                        format!(
                            "{}: {:.3} > {:.3}",
                            page.code("figure", d.figure.as_str()),
                            d.value,
                            d.threshold
                        )
                    })
                    .collect(),
            })
            .collect(),
        oldest: overview
            .queue
            .oldest_queued_at
            .as_deref()
            .map(when)
            .unwrap_or_default(),
    };
    let title = page.text("console.operator_title");
    page.render("console/operator", &title, view)
}
