//! What a package version changed against the version before it, as far as the two
//! versions' specs and unpacked files can honestly say: item counts, the rules' fields,
//! and how many hidden labels differ (when both versions' files are still on disk).

use std::path::Path;

use jiebang_scenarios::package::Load;
use serde::Serialize;

use crate::db::DbConnection;
use crate::db::ids::ScenarioId;
use crate::db::models::package_versions;
use crate::db::models::scenarios::ScenarioSpec;
use crate::error::AppError;

/// One rule's value before and after (`field` names it for the catalogs' `code.field`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FieldChange {
    pub field: &'static str,
    pub before: String,
    pub after: String,
}

/// Version `to` against version `from`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PackageChanges {
    pub from: i32,
    pub to: i32,
    pub hidden_items: (usize, usize),
    pub sample_items: (usize, usize),
    /// The rules that differ, in the order the form shows them.
    pub fields: Vec<FieldChange>,
    /// Hidden items whose label differs (or that one version lacks); `None` when a
    /// version's files are gone, so nothing is claimed that was not compared.
    pub labels_changed: Option<usize>,
}

/// The newest version of `scenario` against the one before it; `None` before a second
/// version exists.
pub fn latest(
    conn: &mut DbConnection,
    scenario: &ScenarioId,
    current: i32,
) -> Result<Option<PackageChanges>, AppError> {
    if current < 2 {
        return Ok(None);
    }
    let (Some(before), Some(after)) = (
        package_versions::spec_of(conn, scenario, current - 1)?,
        package_versions::spec_of(conn, scenario, current)?,
    ) else {
        return Ok(None);
    };
    Ok(Some(between(current - 1, &before, current, &after)))
}

pub fn between(from: i32, before: &ScenarioSpec, to: i32, after: &ScenarioSpec) -> PackageChanges {
    let (old, new) = (&before.manifest, &after.manifest);
    let budget = |ms: Option<f64>| ms.map_or_else(|| "—".to_owned(), |ms| format!("{ms} ms"));
    let candidates = [
        ("mode", old.mode.to_string(), new.mode.to_string()),
        (
            "metric",
            old.metric.name.as_str().to_owned(),
            new.metric.name.as_str().to_owned(),
        ),
        (
            "latency_budget_ms",
            budget(old.latency.budget_ms),
            budget(new.latency.budget_ms),
        ),
        ("load", load(&old.latency.load), load(&new.latency.load)),
        (
            "daily_quota",
            old.quota.submissions_per_day.to_string(),
            new.quota.submissions_per_day.to_string(),
        ),
    ];
    PackageChanges {
        from,
        to,
        hidden_items: (before.hidden_items, after.hidden_items),
        sample_items: (before.sample_items, after.sample_items),
        fields: candidates
            .into_iter()
            .filter(|(_, b, a)| b != a)
            .map(|(field, before, after)| FieldChange {
                field,
                before,
                after,
            })
            .collect(),
        labels_changed: labels_changed(&before.package_dir, &after.package_dir),
    }
}

/// A load pattern as the department wrote it in `scenario.toml`.
fn load(load: &Load) -> String {
    match load {
        Load::SingleStream => "single-stream".to_owned(),
        Load::Server { rate_qps } => format!("server {rate_qps} QPS"),
        Load::Offline { concurrency } => format!("offline ×{concurrency}"),
    }
}

/// Lines of `hidden/labels.jsonl` that differ between the two unpacked packages, item by
/// item (the hidden set is ordered), counting items only one of them has.
fn labels_changed(before: &Path, after: &Path) -> Option<usize> {
    let read = |dir: &Path| std::fs::read_to_string(dir.join("hidden").join("labels.jsonl")).ok();
    let (old, new) = (read(before)?, read(after)?);
    let (old, new): (Vec<&str>, Vec<&str>) = (old.lines().collect(), new.lines().collect());
    let differing = old
        .iter()
        .zip(&new)
        .filter(|(a, b)| a.trim() != b.trim())
        .count();
    Some(differing + old.len().abs_diff(new.len()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn labels_are_compared_item_by_item() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        for (dir, labels) in [(&a, "1\n2\n3\n"), (&b, "1\n5\n3\n4\n")] {
            std::fs::create_dir_all(dir.path().join("hidden")).unwrap();
            std::fs::write(dir.path().join("hidden/labels.jsonl"), labels).unwrap();
        }
        assert_eq!(labels_changed(a.path(), b.path()), Some(2));
        assert_eq!(labels_changed(a.path(), Path::new("/nonexistent")), None);
    }
}
