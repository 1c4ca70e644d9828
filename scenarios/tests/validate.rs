//! The package validator: a good package passes; every kind of problem is reported, all
//! at once, with the file and field.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use jiebang_scenarios::package::{MetricName, public_files, validate};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/valid-package")
}

/// A copy of the fixture to break.
fn copy() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(format!("{}/.", fixture().display()))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(status.success());
    dir
}

fn edit(dir: &Path, file: &str, change: impl FnOnce(String) -> String) {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, change(text)).unwrap();
}

fn messages(dir: &Path) -> Vec<String> {
    let report = validate(dir).expect_err("the package must be refused");
    report
        .problems
        .iter()
        .map(|p| {
            format!(
                "{} [{}] {}",
                p.file,
                p.field.clone().unwrap_or_default(),
                p.message
            )
        })
        .collect()
}

fn assert_reported(all: &[String], needle: &str) {
    assert!(
        all.iter().any(|m| m.contains(needle)),
        "no problem mentions `{needle}`:\n{}",
        all.join("\n")
    );
}

#[test]
fn the_fixture_is_valid() {
    let package = validate(&fixture()).unwrap_or_else(|report| panic!("{report}"));
    assert_eq!(package.manifest.id, "test-parcel-delay");
    assert_eq!(package.manifest.metric.name, MetricName::Accuracy);
    assert_eq!(package.hidden_items, 12);
    assert_eq!(package.sample_items, 4);
    assert_eq!(package.public_board_items + package.private_board_items, 12);
    assert!(package.public_board_items > 0 && package.private_board_items > 0);
    assert_eq!(package.manifest.latency.percentile(), 90.0);
}

#[test]
fn only_public_files_are_downloadable() {
    let files = public_files(&fixture());
    assert!(!files.is_empty());
    assert!(
        files
            .iter()
            .all(|f| f.starts_with(fixture().join("public")))
    );
}

#[test]
fn several_problems_are_all_reported() {
    let dir = copy();
    edit(dir.path(), "scenario.toml", |t| {
        t.replace("id = \"test-parcel-delay\"", "id = \"Bad Id\"")
            .replace(
                "closes_at = \"2026-06-30T00:00:00Z\"",
                "closes_at = \"2026-07-15T00:00:00Z\"",
            )
            .replace("budget_ms = 20", "budget_ms = 0.1")
            .replace(
                "[metric]\nname = \"accuracy\"",
                "[metric]\nname = \"accuracy\"\ndirection = \"lower\"",
            )
    });
    std::fs::remove_file(dir.path().join("public/README.md")).unwrap();
    edit(dir.path(), "hidden/inputs.jsonl", |t| {
        t.replacen("[[0.0, 1.5, -2.0]]", "[[0.0, 1.5]]", 1)
    });
    edit(dir.path(), "hidden/labels.jsonl", |t| {
        t.lines().skip(1).collect::<Vec<_>>().join("\n")
    });
    let all = messages(dir.path());
    assert_reported(&all, "[id]");
    assert_reported(&all, "opens before phase");
    assert_reported(&all, "latency.budget_ms");
    assert_reported(&all, "metric.direction");
    assert_reported(&all, "public/README.md");
    assert_reported(&all, "has 2 elements");
    assert_reported(&all, "has no label");
    assert!(all.len() >= 7, "{all:?}");
}

#[test]
fn schema_errors_name_the_field() {
    let dir = copy();
    edit(dir.path(), "scenario.toml", |t| {
        t.replace(
            "[bounty]\namount_cny = 100000",
            "[bounty]\namount_cny = 100000\ncurrency = \"CNY\"",
        )
    });
    let all = messages(dir.path());
    assert_reported(&all, "currency");
}

#[test]
fn overlapping_splits_and_duplicates_are_refused() {
    let dir = copy();
    edit(dir.path(), "hidden/inputs.jsonl", |t| {
        t.replacen("\"h-100\"", "\"s-0\"", 1)
    });
    edit(dir.path(), "hidden/labels.jsonl", |t| {
        t.replacen("\"h-100\"", "\"s-0\"", 1)
    });
    let all = messages(dir.path());
    assert_reported(&all, "also appear in the public samples");

    let dir = copy();
    edit(dir.path(), "hidden/inputs.jsonl", |t| {
        t.replacen("\"h-101\"", "\"h-100\"", 1)
    });
    let all = messages(dir.path());
    assert_reported(&all, "appears twice");
}

#[test]
fn impossible_budgets_are_refused() {
    let dir = copy();
    edit(dir.path(), "scenario.toml", |t| {
        t.replace(
            "load = { pattern = \"single-stream\" }",
            "load = { pattern = \"server\", rate_qps = 1.0 }",
        )
        .replace("min_queries = 50", "min_queries = 5000")
    });
    let all = messages(dir.path());
    assert_reported(&all, "do not fit");

    let dir = copy();
    edit(dir.path(), "scenario.toml", |t| {
        t.replace(
            "[split]\npublic_fraction = 0.5",
            "[split]\npublic_fraction = 0.0001",
        )
    });
    let all = messages(dir.path());
    assert_reported(&all, "split");
}

#[test]
fn a_missing_manifest_and_files_are_reported_together() {
    let dir = tempfile::tempdir().unwrap();
    let all = messages(dir.path());
    for file in [
        "scenario.toml",
        "public/README.md",
        "baseline/",
        "hidden/inputs.jsonl",
        "public/samples/labels.jsonl",
    ] {
        assert_reported(&all, file);
    }
}
