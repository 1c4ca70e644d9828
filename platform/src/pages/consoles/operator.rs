//! The operator console: workers, queue, utilisation of each accelerator, the queue's jobs,
//! and compute-voucher totals with the subsidy against each yearly cap.

use std::collections::HashMap;

use actix_web::{HttpResponse, web};
use serde::{Deserialize, Serialize};

use crate::auth::OperatorOrAdmin;
use crate::error::AppError;
use crate::pages::PageContext;
use crate::pages::paging::grouped_yuan;
use crate::pages::paging::{Pager, ROWS_PER_PAGE, page_number};
use crate::pages::scenarios::when;
use crate::pages::submissions::accelerator_wait_text;
use crate::services::billing::statements::{OperatorTotals, operator_totals};
use crate::services::overview::{alive_millis, jobs_of, overview_of};

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

/// A job no node can take for want of accelerators.
#[derive(Serialize)]
struct AcceleratorWaitRow {
    submission_id: String,
    scenario_id: String,
    queued_at: String,
    why: String,
}

#[derive(Serialize)]
struct JobRow {
    job: String,
    submission_url: String,
    submission: String,
    status: String,
    attempts: String,
    worker: String,
    queued_at: String,
    rescore: bool,
    /// The Slurm job of the one-shot worker submitted for it, while outstanding.
    slurm_job: Option<String>,
}

#[derive(Serialize)]
struct OperatorPage {
    at: String,
    window_hours: i64,
    workers: Vec<WorkerRow>,
    workers_pager: Pager,
    accelerators: Vec<AcceleratorRow>,
    queued: i64,
    running: i64,
    retrying: i64,
    quiet: i64,
    quiet_rows: Vec<QuietRow>,
    accelerator_rows: Vec<AcceleratorWaitRow>,
    oldest: String,
    jobs: Vec<JobRow>,
    jobs_pager: Pager,
    compute: Vec<Vec<String>>,
    caps: Vec<Vec<String>>,
}

/// Months of compute totals the console shows (the CSV has them all).
const COMPUTE_ROWS: usize = 24;

/// The totals and caps as the console's table rows, money in yuan.
fn compute_rows(totals: &OperatorTotals) -> (Vec<Vec<String>>, Vec<Vec<String>>) {
    let names: HashMap<&str, &str> = totals
        .caps
        .iter()
        .map(|c| (c.organization_id.as_str(), c.organization.as_str()))
        .collect();
    let rows = totals
        .rows
        .iter()
        .take(COMPUTE_ROWS)
        .map(|r| {
            vec![
                r.month.clone(),
                r.town_id.clone(),
                names
                    .get(r.organization_id.as_str())
                    .map_or_else(|| r.organization_id.clone(), |n| (*n).to_owned()),
                r.evaluations.to_string(),
                grouped_yuan(r.cost_fen),
                grouped_yuan(r.sponsored_fen),
                grouped_yuan(r.subsidy_fen),
                grouped_yuan(r.own_fen),
            ]
        })
        .collect();
    let caps = totals
        .caps
        .iter()
        .map(|c| {
            vec![
                c.year.clone(),
                c.organization.clone(),
                grouped_yuan(c.subsidy_fen),
                grouped_yuan(c.yearly_cap_fen),
            ]
        })
        .collect();
    (rows, caps)
}

#[derive(Debug, Deserialize)]
pub struct OperatorQuery {
    /// The page of workers.
    pub page: Option<u32>,
    /// The page of the queue's jobs.
    pub queue_page: Option<u32>,
    /// Rows of each list.
    pub per_page: Option<u32>,
}

/// `GET /console/operator` — `GET /api/v1/admin/overview` and `GET /api/v1/admin/jobs` as a
/// page.
pub async fn operator(
    page: PageContext,
    _caller: OperatorOrAdmin,
    query: web::Query<OperatorQuery>,
) -> Result<HttpResponse, AppError> {
    let alive = alive_millis(&page.state);
    let workers_page = page_number(query.page, query.per_page, ROWS_PER_PAGE)?;
    let jobs_page = page_number(query.queue_page, query.per_page, ROWS_PER_PAGE)?;
    let (overview, jobs, totals) = page
        .state
        .db
        .read(move |conn| {
            Ok((
                overview_of(conn, alive, workers_page)?,
                jobs_of(conn, None, jobs_page)?,
                operator_totals(conn)?,
            ))
        })
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
    let job_rows = jobs
        .items
        .iter()
        .map(|j| JobRow {
            job: j.job_id.clone(),
            submission_url: format!("/submissions/{}", j.submission_id),
            submission: j.submission_id.clone(),
            status: page.code("job", j.status.as_str()),
            attempts: format!("{} / {}", j.attempts, j.max_attempts),
            worker: j.worker_id.clone().unwrap_or_default(),
            queued_at: when(&j.queued_at),
            rescore: j.rescore,
            slurm_job: j.slurm_job_id.clone(),
        })
        .collect();
    let (compute, caps) = compute_rows(&totals);
    let view = OperatorPage {
        compute,
        caps,
        at: when(&overview.at),
        window_hours: overview.window_seconds / 3600,
        workers_pager: Pager::new(
            &page,
            workers_page,
            overview.workers.len(),
            overview.total,
            "page",
        ),
        jobs_pager: Pager::new(&page, jobs_page, jobs.items.len(), jobs.total, "queue_page"),
        jobs: job_rows,
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
                            "{}{}{:.3} > {:.3}",
                            page.code("figure", d.figure.as_str()),
                            page.text("site.colon"),
                            d.value,
                            d.threshold
                        )
                    })
                    .collect(),
            })
            .collect(),
        accelerator_rows: overview
            .queue
            .accelerator_waits
            .iter()
            .map(|wait| AcceleratorWaitRow {
                submission_id: wait.submission_id.clone(),
                scenario_id: wait.scenario_id.clone(),
                queued_at: when(&wait.queued_at),
                why: accelerator_wait_text(&page, wait),
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
    page.render("console/operator", &title, view).await
}
