//! The accelerators' utilisation series: per device per minute of each evaluation, rolled
//! up to per device per hour after a week, gone after 90 days.

use std::collections::BTreeMap;

use diesel::prelude::*;

use crate::db::DbConnection;
use crate::db::schema::usage_samples;

/// A minute of one evaluation, or an hour of a roll-up.
pub const MINUTE_SECONDS: i32 = 60;
pub const HOUR_SECONDS: i32 = 3600;
const HOUR_MS: i64 = 3_600_000;

#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
#[diesel(table_name = usage_samples)]
pub struct UsageSample {
    pub worker_id: String,
    /// The worker's name when the row was written.
    pub node: String,
    pub device_id: String,
    pub model: String,
    pub scenario_id: String,
    /// The scenario's organisation (its new town).
    pub town: String,
    /// The evaluation's job; empty on an hourly roll-up.
    pub job_id: String,
    /// Milliseconds since the epoch, on a whole minute or hour.
    pub period_start: i64,
    pub period_seconds: i32,
    pub leased_seconds: f64,
    /// Mean busy % of `busy_samples` answered samples; `None` where no tool answered.
    pub busy_percent: Option<f64>,
    pub busy_samples: i32,
    pub memory_peak_bytes: Option<i64>,
}

/// Writes one evaluation's minutes; a result sent again replaces them rather than adding.
pub fn record_job(
    conn: &mut DbConnection,
    job_id: &str,
    rows: &[UsageSample],
) -> QueryResult<usize> {
    diesel::delete(usage_samples::table.filter(usage_samples::job_id.eq(job_id))).execute(conn)?;
    // Row by row: a run has a row per device per minute, a few dozen at most.
    let mut written = 0;
    for row in rows {
        written += diesel::insert_into(usage_samples::table)
            .values(row)
            .execute(conn)?;
    }
    Ok(written)
}

/// Every row whose period starts in `since..until` (ms), oldest first.
pub fn between(conn: &mut DbConnection, since: i64, until: i64) -> QueryResult<Vec<UsageSample>> {
    usage_samples::table
        .filter(usage_samples::period_start.ge(since))
        .filter(usage_samples::period_start.lt(until))
        .order((
            usage_samples::period_start.asc(),
            usage_samples::device_id.asc(),
        ))
        .select(UsageSample::as_select())
        .load(conn)
}

/// What rolled up per (worker, device, hour, scenario).
type HourKey = (String, String, i64, String);

/// Folds `row` into `into`: leased seconds add, busy % is the mean weighted by samples,
/// memory keeps the peak.
fn merge(into: &mut UsageSample, row: &UsageSample) {
    into.leased_seconds += row.leased_seconds;
    into.busy_percent = match (into.busy_percent, row.busy_percent) {
        (Some(a), Some(b)) => {
            let (wa, wb) = (f64::from(into.busy_samples), f64::from(row.busy_samples));
            Some(if wa + wb > 0.0 {
                (a * wa + b * wb) / (wa + wb)
            } else {
                (a + b) / 2.0
            })
        }
        (a, b) => a.or(b),
    };
    into.busy_samples += row.busy_samples;
    into.memory_peak_bytes = into.memory_peak_bytes.max(row.memory_peak_bytes);
    into.node.clone_from(&row.node);
}

/// Rolls the minute rows of every whole hour before `before` (ms) up into hour rows, one
/// per worker, device, hour and scenario, merged into any hour row already there; the
/// minutes go. Returns (minute rows rolled up, hour rows written).
pub fn roll_up(conn: &mut DbConnection, before: i64) -> QueryResult<(usize, usize)> {
    let cut = before.div_euclid(HOUR_MS) * HOUR_MS;
    conn.transaction(|conn| {
        let minutes: Vec<UsageSample> = usage_samples::table
            .filter(usage_samples::period_seconds.eq(MINUTE_SECONDS))
            .filter(usage_samples::period_start.lt(cut))
            .select(UsageSample::as_select())
            .load(conn)?;
        if minutes.is_empty() {
            return Ok((0, 0));
        }
        let mut hours: BTreeMap<HourKey, UsageSample> = BTreeMap::new();
        for row in &minutes {
            let hour = row.period_start.div_euclid(HOUR_MS) * HOUR_MS;
            let key = (
                row.worker_id.clone(),
                row.device_id.clone(),
                hour,
                row.scenario_id.clone(),
            );
            match hours.get_mut(&key) {
                Some(rolled) => merge(rolled, row),
                None => {
                    hours.insert(
                        key,
                        UsageSample {
                            job_id: String::new(),
                            period_start: hour,
                            period_seconds: HOUR_SECONDS,
                            ..row.clone()
                        },
                    );
                }
            }
        }
        for ((worker, device, hour, scenario), rolled) in &mut hours {
            let existing = usage_samples::table
                .find((worker, device, *hour, scenario, ""))
                .select(UsageSample::as_select())
                .first(conn)
                .optional()?;
            if let Some(existing) = existing {
                let mut merged = existing;
                merge(&mut merged, rolled);
                *rolled = merged;
                diesel::delete(usage_samples::table.find((worker, device, *hour, scenario, "")))
                    .execute(conn)?;
            }
        }
        let rolled: Vec<UsageSample> = hours.into_values().collect();
        for row in &rolled {
            diesel::insert_into(usage_samples::table)
                .values(row)
                .execute(conn)?;
        }
        let gone = diesel::delete(
            usage_samples::table
                .filter(usage_samples::period_seconds.eq(MINUTE_SECONDS))
                .filter(usage_samples::period_start.lt(cut)),
        )
        .execute(conn)?;
        Ok((gone, rolled.len()))
    })
}

/// Deletes every row whose period started before `before` (ms); how many went.
pub fn prune(conn: &mut DbConnection, before: i64) -> QueryResult<usize> {
    diesel::delete(usage_samples::table.filter(usage_samples::period_start.lt(before)))
        .execute(conn)
}
