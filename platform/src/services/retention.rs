//! What the content-addressed store keeps: every file a record refers to. Refused uploads,
//! results recorded twice and reports of deleted records leave files nobody refers to;
//! they are removed once older than a grace period, so an upload between its file and its
//! record is never caught. And the utilisation series: rolled up per hour after a week,
//! gone after 90 days.

use std::collections::HashSet;
use std::time::{Duration, SystemTime};

use diesel::prelude::*;
use serde::Serialize;

use crate::db::models::scenarios::Scenario;
use crate::db::models::{package_versions, usage_samples};
use crate::db::schema::{results, scenarios as scenarios_table, submissions};
use crate::db::{Db, DbConnection};
use crate::error::AppError;
use crate::storage::BlobStore;

/// How old an unreferenced file must be before it goes.
pub const DEFAULT_GRACE: Duration = Duration::from_secs(24 * 3600);

/// What a pruning found and did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PruneReport {
    pub kept: usize,
    pub removed: usize,
    pub removed_bytes: u64,
    /// Unreferenced files still inside the grace period.
    pub too_young: usize,
    pub temporaries_removed: usize,
}

/// Every digest a record refers to: submitted images, reports, both logs and the per-item
/// pairs of results, teams' technical reports, and the bundles of every package version (a
/// re-score may still fetch an earlier one).
pub fn referenced_digests(conn: &mut DbConnection) -> Result<HashSet<String>, AppError> {
    let mut digests: HashSet<String> = submissions::table
        .select(submissions::image_digest)
        .distinct()
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let reports: Vec<(String, [Option<String>; 3])> = results::table
        .select((
            results::report_digest,
            results::sample_logs_digest,
            results::hidden_logs_digest,
            results::items_digest,
        ))
        .load::<(String, Option<String>, Option<String>, Option<String>)>(conn)?
        .into_iter()
        .map(|(report, sample, hidden, items)| (report, [sample, hidden, items]))
        .collect();
    for (report, files) in reports {
        digests.insert(report);
        digests.extend(files.into_iter().flatten());
    }
    let scenarios: Vec<Scenario> = scenarios_table::table
        .select(Scenario::as_select())
        .load(conn)?;
    for scenario in scenarios {
        if let Some(spec) = scenario.spec()? {
            digests.insert(spec.bundle_digest);
        }
    }
    for version in package_versions::all(conn)? {
        digests.insert(version.spec()?.bundle_digest);
    }
    digests.extend(crate::db::models::technical_reports::digests(conn)?);
    Ok(digests)
}

/// Removes the files no record refers to that are older than `grace` (all of them with
/// `dry_run` false; none with it true, which only counts), and stale upload temporaries.
pub fn prune(
    db: &Db,
    blobs: &BlobStore,
    grace: Duration,
    dry_run: bool,
) -> Result<PruneReport, AppError> {
    // Listed before the references are read: a file stored after the listing is not
    // looked at, and one stored before it is either referenced by now or young.
    let files = blobs.list();
    let referenced = db.read_blocking(referenced_digests)?;
    let now = SystemTime::now();
    let mut report = PruneReport::default();
    for file in files {
        if referenced.contains(&file.digest) {
            report.kept += 1;
        } else if now.duration_since(file.modified).unwrap_or_default() < grace {
            report.too_young += 1;
        } else {
            report.removed += 1;
            report.removed_bytes += file.size;
            if !dry_run {
                blobs.remove(&file.digest);
            }
        }
    }
    if !dry_run {
        report.temporaries_removed = blobs.remove_stale_temporaries(grace);
    }
    Ok(report)
}

/// Minute rows of the utilisation series are kept this long, then rolled up per hour.
pub const UTILISATION_MINUTES_DAYS: i64 = 7;
/// Every row of the utilisation series goes after this long.
pub const UTILISATION_KEPT_DAYS: i64 = 90;
const DAY_MS: i64 = 24 * 3600 * 1000;

/// What the utilisation upkeep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct UtilisationUpkeep {
    pub minutes_rolled_up: usize,
    pub hours_written: usize,
    pub rows_deleted: usize,
}

/// Rolls minute rows older than a week up into hour rows and deletes rows older than
/// 90 days, as of `now` (ms): `serve` runs it every hour.
pub fn utilisation_upkeep(
    conn: &mut DbConnection,
    now: i64,
) -> Result<UtilisationUpkeep, AppError> {
    let (minutes_rolled_up, hours_written) =
        usage_samples::roll_up(conn, now - UTILISATION_MINUTES_DAYS * DAY_MS)?;
    let rows_deleted = usage_samples::prune(conn, now - UTILISATION_KEPT_DAYS * DAY_MS)?;
    Ok(UtilisationUpkeep {
        minutes_rolled_up,
        hours_written,
        rows_deleted,
    })
}
