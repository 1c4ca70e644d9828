//! Rules on `scenario.toml` beyond its schema: slugs, phases, the metric's direction,
//! tensors, and time limits and budgets that a submission can actually meet.

use std::collections::HashSet;

use super::codes::ProblemCode;
use super::manifest::{Direction, Load, Manifest, Mode, TensorSpec};
use super::validate::Collector;

const FILE: &str = "scenario.toml";

/// The Open Inference Protocol's tensor datatypes.
pub const DATATYPES: &[&str] = &[
    "BOOL", "INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64", "FP16",
    "FP32", "FP64", "BYTES",
];

/// Below this a budget measures the network, not the model.
pub const MIN_BUDGET_MS: f64 = 1.0;

/// The most accelerators one run may ask for.
const MAX_ACCELERATORS: u32 = 64;

/// Lowercase letters, digits and inner hyphens, `min` to 64 characters.
pub fn is_slug(value: &str, min: usize) -> bool {
    (min..=64).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-')
}

/// The fewest queries with which a run with none over budget passes the harness's
/// early-stopping test at this percentile (99 % confidence): 44 at p90, 459 at p99.
pub fn early_stopping_minimum(percentile: f64) -> u64 {
    let within = (percentile / 100.0).ln();
    // P(no query over budget | the true percentile is just at the budget) = within^n.
    (1..1_000_000)
        .find(|&n| (n as f64 * within).exp() <= 0.01)
        .unwrap_or(u64::MAX)
}

pub(super) fn check_manifest(manifest: &Manifest, c: &mut Collector) {
    check_names(manifest, c);
    check_phases(manifest, c);
    check_direction(manifest, c);
    check_tensors(&manifest.task.inputs, "task.inputs", c);
    check_tensors(&manifest.task.outputs, "task.outputs", c);
    check_budget(manifest, c);
    if !(0.0 < manifest.split.public_fraction && manifest.split.public_fraction < 1.0) {
        c.add(
            FILE,
            Some("split.public_fraction"),
            ProblemCode::PublicFractionOutOfRange,
            "must be between 0 and 1 (exclusive)",
        );
    }
    if manifest.quota.submissions_per_day == 0 {
        c.add(
            FILE,
            Some("quota.submissions_per_day"),
            ProblemCode::QuotaZero,
            "must be at least 1",
        );
    }
    let resources = &manifest.resources;
    if !(resources.cpus > 0.0 && resources.cpus <= 64.0) || resources.memory_mb < 64 {
        c.add(
            FILE,
            Some("resources"),
            ProblemCode::ResourcesOutOfRange,
            "needs cpus in (0, 64] and memory_mb ≥ 64",
        );
    }
    check_accelerators(manifest, c);
}

/// A model is named only for devices the run asks for, and never as an empty name (which
/// no node's inventory could match, so the job would wait for ever).
fn check_accelerators(manifest: &Manifest, c: &mut Collector) {
    let resources = &manifest.resources;
    match resources.accelerator_model.as_deref() {
        Some(model) if model.trim().is_empty() => {
            c.add(
                FILE,
                Some("resources.accelerator_model"),
                ProblemCode::AcceleratorModelEmpty,
                "must name a device model (for example `MLU370`) or be left out",
            );
        }
        Some(model) if resources.accelerators == 0 => {
            c.add(
                FILE,
                Some("resources.accelerator_model"),
                ProblemCode::AcceleratorModelWithoutDevices,
                format!("names `{model}` but `resources.accelerators` is 0"),
            )
            .with("model", model);
        }
        _ => {}
    }
    if resources.accelerators > MAX_ACCELERATORS {
        c.add(
            FILE,
            Some("resources.accelerators"),
            ProblemCode::TooManyAccelerators,
            format!("at most {MAX_ACCELERATORS} devices per run"),
        )
        .with("max", MAX_ACCELERATORS);
    }
}

fn check_names(manifest: &Manifest, c: &mut Collector) {
    if !is_slug(&manifest.id, 3) {
        c.add(
            FILE,
            Some("id"),
            ProblemCode::IdNotSlug,
            format!(
                "`{}` must be 3–64 lowercase letters, digits or inner hyphens",
                manifest.id
            ),
        )
        .with("value", &manifest.id);
    }
    if !is_slug(&manifest.town, 2) {
        c.add(
            FILE,
            Some("town"),
            ProblemCode::TownNotSlug,
            format!("`{}` is not an organisation id", manifest.town),
        )
        .with("value", &manifest.town);
    }
    if !is_slug(&manifest.domain, 2) {
        c.add(
            FILE,
            Some("domain"),
            ProblemCode::DomainNotSlug,
            format!("`{}` must be a lowercase slug", manifest.domain),
        )
        .with("value", &manifest.domain);
    }
    let texts = [
        ("title", Some(&manifest.title)),
        ("summary", Some(&manifest.summary)),
    ];
    let description = ("description", manifest.description.as_ref());
    for (field, text) in texts.into_iter().chain([description]) {
        if let Some(text) = text
            && (text.zh.trim().is_empty() || text.en.trim().is_empty())
        {
            c.add(
                FILE,
                Some(field),
                ProblemCode::TextNotBilingual,
                "needs both `zh` and `en`",
            );
        }
    }
    if manifest.task.model.trim().is_empty() {
        c.add(
            FILE,
            Some("task.model"),
            ProblemCode::ModelUnnamed,
            "the model needs a name",
        );
    }
}

fn check_phases(manifest: &Manifest, c: &mut Collector) {
    if manifest.phases.is_empty() {
        c.add(
            FILE,
            Some("phases"),
            ProblemCode::NoPhases,
            "at least one phase is needed",
        );
    }
    let mut names = HashSet::new();
    for (index, phase) in manifest.phases.iter().enumerate() {
        if phase.name.trim().is_empty() || !names.insert(phase.name.as_str()) {
            c.add(
                FILE,
                Some(&format!("phases[{index}].name")),
                ProblemCode::PhaseNameNotUnique,
                format!("`{}` must be a name no other phase has", phase.name),
            )
            .with("name", &phase.name);
        }
        if phase.closes_at <= phase.opens_at {
            c.add(
                FILE,
                Some(&format!("phases[{index}].closes_at")),
                ProblemCode::PhaseClosesTooEarly,
                "must be later than opens_at",
            );
        }
        if let Some(next) = manifest.phases.get(index + 1)
            && next.opens_at < phase.closes_at
        {
            c.add(
                FILE,
                Some(&format!("phases[{}].opens_at", index + 1)),
                ProblemCode::PhasesOverlap,
                format!(
                    "phase `{}` opens before phase `{}` closes; phases are in order and do not overlap",
                    next.name, phase.name
                ),
            )
            .with("phase", &next.name)
            .with("previous", &phase.name);
        }
    }
}

fn check_direction(manifest: &Manifest, c: &mut Collector) {
    let metric = manifest.metric.name;
    if let Some(stated) = manifest.metric.direction
        && stated != metric.direction()
    {
        let (word, code) = match metric.direction() {
            Direction::Higher => ("higher", ProblemCode::DirectionIsHigher),
            Direction::Lower => ("lower", ProblemCode::DirectionIsLower),
        };
        c.add(
            FILE,
            Some("metric.direction"),
            code,
            format!(
                "{} is better when {word}, so the direction is `{word}`",
                metric.as_str()
            ),
        )
        .with("metric", metric.as_str());
    }
}

fn check_tensors(tensors: &[TensorSpec], field: &str, c: &mut Collector) {
    if tensors.is_empty() {
        c.add(
            FILE,
            Some(field),
            ProblemCode::NoTensors,
            "at least one tensor is needed",
        );
    }
    let mut names = HashSet::new();
    for (index, tensor) in tensors.iter().enumerate() {
        let at = format!("{field}[{index}]");
        if tensor.name.trim().is_empty() || !names.insert(tensor.name.as_str()) {
            c.add(
                FILE,
                Some(&format!("{at}.name")),
                ProblemCode::TensorNameNotUnique,
                format!("`{}` must be a name no other tensor has", tensor.name),
            )
            .with("name", &tensor.name);
        }
        if !DATATYPES.contains(&tensor.datatype.as_str()) {
            c.add(
                FILE,
                Some(&format!("{at}.datatype")),
                ProblemCode::UnknownDatatype,
                format!(
                    "`{}` is not an Open Inference Protocol datatype ({})",
                    tensor.datatype,
                    DATATYPES.join(", ")
                ),
            )
            .with("datatype", &tensor.datatype)
            .with("known", DATATYPES.join(", "));
        }
        if tensor.shape.is_empty() || tensor.shape.iter().any(|d| *d == 0 || *d < -1) {
            c.add(
                FILE,
                Some(&format!("{at}.shape")),
                ProblemCode::BadShape,
                "dimensions are positive, or -1 for a variable one",
            );
        }
    }
}

fn check_budget(manifest: &Manifest, c: &mut Collector) {
    let latency = &manifest.latency;
    let limits = &manifest.limits;
    let budget = match (manifest.mode, latency.budget_ms) {
        (Mode::Serve, None) => {
            c.add(
                FILE,
                Some("latency.budget_ms"),
                ProblemCode::BudgetMissing,
                "a serve-mode scenario needs a latency budget",
            );
            None
        }
        (_, Some(budget)) if !(budget >= MIN_BUDGET_MS && budget.is_finite()) => {
            c.add(
                FILE,
                Some("latency.budget_ms"),
                ProblemCode::BudgetTooSmall,
                "below 1 ms a budget measures the network, not the model",
            )
            .with("min_ms", MIN_BUDGET_MS);
            None
        }
        (_, budget) => budget,
    };
    let percentile = latency.percentile();
    let percentile_ok = (50.0..100.0).contains(&percentile);
    if !percentile_ok {
        c.add(
            FILE,
            Some("latency.percentile"),
            ProblemCode::PercentileOutOfRange,
            "must be at least 50 and below 100",
        );
    }
    let mut run_limits = vec![
        ("limits.sample_run_s", limits.sample_run_s),
        ("limits.hidden_run_s", limits.hidden_run_s),
    ];
    if manifest.mode == Mode::Serve {
        run_limits.push(("limits.startup_s", limits.startup_s));
    }
    for (field, seconds) in run_limits {
        if seconds == 0 {
            c.add(
                FILE,
                Some(field),
                ProblemCode::LimitZero,
                "must be at least 1 second",
            );
        }
    }
    if manifest.mode == Mode::Serve {
        check_serve_run(manifest, budget, c);
        if let Some(budget) = budget
            && percentile_ok
        {
            check_early_stopping(manifest, budget, percentile, c);
        }
    }
    check_item_timeout(manifest, c);
}

/// The accuracy pass's per-item time-out, where the package states one: serve mode only,
/// never stricter than the timed run's per-query time-out, never longer than the run.
fn check_item_timeout(manifest: &Manifest, c: &mut Collector) {
    let Some(item_s) = manifest.limits.item_timeout_s else {
        return;
    };
    let field = Some("limits.item_timeout_s");
    let query_s = manifest.query_timeout().as_secs_f64();
    let run_s = manifest.limits.hidden_run_s;
    if manifest.mode != Mode::Serve {
        c.add(
            FILE,
            field,
            ProblemCode::ItemTimeoutInBatch,
            "only serve mode has an accuracy pass; a batch program has the whole hidden run",
        );
    } else if (item_s as f64) < query_s {
        c.add(
            FILE,
            field,
            ProblemCode::ItemTimeoutTooShort,
            format!(
                "{item_s} s is stricter than the timed run's per-query time-out of {query_s} s \
                 (ten times the budget, at least 1 s); the accuracy pass waits at least as long"
            ),
        )
        .with("item_s", item_s)
        .with("query_s", query_s);
    } else if item_s > run_s {
        c.add(
            FILE,
            field,
            ProblemCode::ItemTimeoutTooLong,
            format!("{item_s} s is longer than the whole hidden run ({run_s} s)"),
        )
        .with("item_s", item_s)
        .with("run_s", run_s);
    }
}

/// The hidden run's limit holds the accuracy pass too: a server answering every query at
/// the budget must get through `hidden_items` items (asked
/// [`Manifest::accuracy_concurrency`] at a time) and the minimum timed run within it.
pub(super) fn check_accuracy_pass(manifest: &Manifest, hidden_items: usize, c: &mut Collector) {
    let latency = &manifest.latency;
    let Some(budget_ms) = latency.budget_ms.filter(|b| b.is_finite() && *b > 0.0) else {
        return;
    };
    if manifest.mode != Mode::Serve {
        return;
    }
    let run_s = manifest.limits.hidden_run_s as f64;
    let timed_s = match latency.load {
        Load::SingleStream => latency.min_queries as f64 * budget_ms / 1000.0,
        Load::Server { rate_qps } if rate_qps.is_finite() && rate_qps > 0.0 => {
            latency.min_queries as f64 / rate_qps
        }
        Load::Server { .. } | Load::Offline { .. } => 0.0,
    }
    .max(latency.min_duration_s as f64);
    if timed_s > run_s {
        // The timed run alone does not fit; check_serve_run has said so.
        return;
    }
    let concurrency = manifest.accuracy_concurrency();
    let rounds = hidden_items.div_ceil(concurrency as usize);
    let accuracy_s = rounds as f64 * budget_ms / 1000.0;
    if accuracy_s + timed_s > run_s {
        c.add(
            FILE,
            Some("limits.hidden_run_s"),
            ProblemCode::AccuracyPassDoesNotFit,
            format!(
                "the accuracy pass over {hidden_items} hidden items ({concurrency} at a time, \
                 {accuracy_s:.1} s at the budget of {budget_ms} ms) and the timed run (at \
                 least {timed_s:.1} s) do not fit in the hidden run's {run_s} s, so a server \
                 within budget could run out of time"
            ),
        )
        .with("items", hidden_items)
        .with("concurrency", concurrency)
        .with("accuracy_s", format!("{accuracy_s:.1}"))
        .with("budget_ms", budget_ms)
        .with("timed_s", format!("{timed_s:.1}"))
        .with("run_s", run_s);
    }
}

/// The hidden run's limit starts once the server is ready, so start-up does not eat into it.
fn check_serve_run(manifest: &Manifest, budget: Option<f64>, c: &mut Collector) {
    let latency = &manifest.latency;
    let run_s = manifest.limits.hidden_run_s;
    if run_s < latency.min_duration_s {
        c.add(
            FILE,
            Some("limits.hidden_run_s"),
            ProblemCode::RunShorterThanMinDuration,
            format!(
                "{run_s} s cannot hold the minimum run of {} s (latency.min_duration_s)",
                latency.min_duration_s
            ),
        )
        .with("run_s", run_s)
        .with("min_duration_s", latency.min_duration_s);
    }
    let run_s = run_s as f64;
    match latency.load {
        Load::Server { rate_qps } if !(rate_qps > 0.0 && rate_qps.is_finite()) => {
            c.add(
                FILE,
                Some("latency.load.rate_qps"),
                ProblemCode::RateNotPositive,
                "must be positive",
            );
        }
        Load::Server { rate_qps } if latency.min_queries as f64 / rate_qps > run_s => {
            c.add(
                FILE,
                Some("latency.min_queries"),
                ProblemCode::ServerQueriesDoNotFit,
                format!(
                    "{} queries at {rate_qps} q/s do not fit in the hidden run's {run_s} s",
                    latency.min_queries
                ),
            )
            .with("queries", latency.min_queries)
            .with("rate_qps", rate_qps)
            .with("run_s", run_s);
        }
        Load::SingleStream => {
            // A server answering just within budget must still finish in time.
            if let Some(budget) = budget
                && latency.min_queries as f64 * budget / 1000.0 > run_s
            {
                c.add(
                    FILE,
                    Some("latency.min_queries"),
                    ProblemCode::SingleStreamQueriesDoNotFit,
                    format!(
                        "{} queries at up to {budget} ms each do not fit in the hidden run's {run_s} s, so a server within budget could run out of time",
                        latency.min_queries
                    ),
                )
                .with("queries", latency.min_queries)
                .with("budget_ms", budget)
                .with("run_s", run_s);
            }
        }
        Load::Offline { concurrency: 0 } => {
            c.add(
                FILE,
                Some("latency.load.concurrency"),
                ProblemCode::ConcurrencyZero,
                "must be at least 1",
            );
        }
        _ => {}
    }
}

/// A run too short for the early-stopping test fails even when every query is in budget.
fn check_early_stopping(manifest: &Manifest, budget_ms: f64, percentile: f64, c: &mut Collector) {
    let latency = &manifest.latency;
    let duration_s = latency.min_duration_s as f64;
    // The fewest queries a run can have: a single-stream server at the budget, or the
    // server pattern's arrivals during the minimum duration.
    let by_duration = match latency.load {
        Load::SingleStream => duration_s * 1000.0 / budget_ms,
        Load::Server { rate_qps } if rate_qps.is_finite() && rate_qps > 0.0 => {
            duration_s * rate_qps
        }
        Load::Server { .. } | Load::Offline { .. } => 0.0,
    };
    let fewest = latency.min_queries.max(by_duration.floor() as u64);
    let needed = early_stopping_minimum(percentile);
    if fewest < needed {
        c.add(
            FILE,
            Some("latency.min_queries"),
            ProblemCode::TooFewQueries,
            format!(
                "a run may have only {fewest} queries, but the early-stopping test at p{percentile} needs at least {needed} even with none over budget; raise min_queries to {needed}"
            ),
        )
        .with("fewest", fewest)
        .with("percentile", percentile)
        .with("needed", needed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn early_stopping_minimums_match_mlperf() {
        assert_eq!(early_stopping_minimum(90.0), 44);
        assert_eq!(early_stopping_minimum(99.0), 459);
    }

    #[test]
    fn slugs() {
        assert!(is_slug("kg-parcel-delay", 3));
        assert!(is_slug("a1b", 3));
        assert!(!is_slug("ab", 3));
        assert!(!is_slug(&"a".repeat(65), 3));
        assert!(!is_slug("Bad-Id", 3));
        assert!(!is_slug("-lead", 3));
        assert!(!is_slug("trail-", 3));
        assert!(!is_slug("has space", 3));
        assert!(!is_slug("空港", 3));
    }
}
