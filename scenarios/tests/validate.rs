//! The package validator: a good package passes; every kind of problem is reported, all
//! at once, with the file and field.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use jiebang_scenarios::package::{
    MetricName, ProblemCode, public_files, read_labels, read_records, validate,
};

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
    let names: Vec<_> = files
        .iter()
        .map(|f| f.strip_prefix(fixture()).unwrap().display().to_string())
        .collect();
    assert_eq!(
        names,
        [
            "public/README.md",
            "public/samples/inputs.jsonl",
            "public/samples/labels.jsonl"
        ]
    );
}

#[test]
fn a_link_out_of_public_is_neither_served_nor_accepted() {
    let dir = copy();
    std::os::unix::fs::symlink(
        dir.path().join("hidden/labels.jsonl"),
        dir.path().join("public/answers.jsonl"),
    )
    .unwrap();
    assert!(
        public_files(dir.path())
            .iter()
            .all(|f| !f.ends_with("answers.jsonl"))
    );
    assert_reported(
        &messages(dir.path()),
        "public/answers.jsonl [] is a symbolic link",
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
    assert_reported(&all, "has 2 element(s)");
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
    assert_reported(
        &all,
        "scenario.toml [bounty.currency] line 17, column 1: unknown field `currency`",
    );

    let dir = copy();
    edit(dir.path(), "scenario.toml", |t| {
        t.replace("datatype = \"FP32\"", "datatype = 32")
    });
    assert_reported(
        &messages(dir.path()),
        "[task.inputs[0].datatype] line 30, column 43: invalid type",
    );

    let dir = copy();
    edit(dir.path(), "scenario.toml", |t| {
        t.replace("[metric]", "[metric")
    });
    assert_reported(
        &messages(dir.path()),
        "scenario.toml [] line 33, column 8: unclosed table",
    );
}

#[test]
fn accelerators_are_asked_for_under_the_new_names_or_the_old() {
    let with = |resources: &str| {
        let dir = copy();
        let resources = resources.to_owned();
        edit(dir.path(), "scenario.toml", move |t| {
            t.replace("[split]", &format!("[resources]\n{resources}\n\n[split]"))
        });
        dir
    };
    let new = with("accelerators = 2\naccelerator_model = \"MLU370\"");
    let package = validate(new.path()).unwrap_or_else(|report| panic!("{report}"));
    assert_eq!(package.manifest.resources.accelerators, 2);
    assert_eq!(
        package.manifest.resources.accelerator_model.as_deref(),
        Some("MLU370")
    );
    // Packages published with the first names keep validating, to the same meaning.
    let old = with("gpus = 2\ngpu_model = \"MLU370\"");
    let old = validate(old.path()).unwrap_or_else(|report| panic!("{report}"));
    assert_eq!(old.manifest.resources, package.manifest.resources);

    assert_reported(
        &messages(with("accelerator_model = \"MLU370\"").path()),
        "[resources.accelerator_model] names `MLU370` but `resources.accelerators` is 0",
    );
    assert_reported(
        &messages(with("accelerators = 1\naccelerator_model = \" \"").path()),
        "[resources.accelerator_model] must name a device model",
    );
    assert_reported(
        &messages(with("accelerators = \"one\"").path()),
        "[resources.accelerators]",
    );
    assert_reported(
        &messages(with("accelerators = 1\ngpus = 1").path()),
        "duplicate field `accelerators`",
    );
}

#[test]
fn image_like_tensors_are_checked_element_by_element() {
    // An 8 × 8 image per query: nested as the shape or flat, 64 numbers either way.
    let dir = copy();
    edit(dir.path(), "scenario.toml", |t| {
        t.replacen("shape = [1, 3]", "shape = [1, 8, 8]", 1)
    });
    let image: Vec<String> = (0..8)
        .map(|row| {
            let cells: Vec<String> = (0..8).map(|col| format!("{}.0", row * 8 + col)).collect();
            format!("[{}]", cells.join(", "))
        })
        .collect();
    let nested = format!("[[{}]]", image.join(", "));
    let flat: Vec<String> = (0..64).map(|i| format!("{i}.0")).collect();
    let short: Vec<String> = (0..63).map(|i| format!("{i}.0")).collect();
    let mut items = 0;
    for file in ["hidden/inputs.jsonl", "public/samples/inputs.jsonl"] {
        edit(dir.path(), file, |t| {
            t.lines()
                .map(|line| {
                    items += 1;
                    let start = line.find("[[").unwrap();
                    let end = line.rfind("]]").unwrap() + 2;
                    let data = if items == 1 {
                        format!("[{}]", short.join(", "))
                    } else if items % 2 == 0 {
                        nested.clone()
                    } else {
                        format!("[{}]", flat.join(", "))
                    };
                    format!("{}{}{}\n", &line[..start], data, &line[end..])
                })
                .collect()
        });
    }
    let all = messages(dir.path());
    assert_reported(&all, "has 63 element(s); shape [1, 8, 8] needs 64");
    assert_eq!(all.len(), 1, "only the short item is refused: {all:?}");
}

#[test]
fn phase_times_may_be_toml_datetimes_but_need_an_offset() {
    let dir = copy();
    edit(dir.path(), "scenario.toml", |t| {
        t.replace(
            "opens_at = \"2026-01-01T00:00:00Z\"",
            "opens_at = 2026-01-01T08:00:00+08:00",
        )
    });
    let package = validate(dir.path()).unwrap_or_else(|report| panic!("{report}"));
    assert_eq!(
        package.manifest.phases[0].opens_at.to_rfc3339(),
        "2026-01-01T00:00:00+00:00"
    );

    let dir = copy();
    edit(dir.path(), "scenario.toml", |t| {
        t.replace(
            "opens_at = \"2026-01-01T00:00:00Z\"",
            "opens_at = \"2026-01-01 00:00\"",
        )
    });
    assert_reported(
        &messages(dir.path()),
        "[phases[0].opens_at] line 20, column 12: `2026-01-01 00:00` is not an RFC 3339",
    );
}

#[test]
fn phases_out_of_order_or_backwards_are_refused() {
    let dir = copy();
    edit(dir.path(), "scenario.toml", |t| {
        t.replace(
            "opens_at = \"2026-07-01T00:00:00Z\"",
            "opens_at = \"2025-01-01T00:00:00Z\"",
        )
        .replace(
            "closes_at = \"2026-12-31T00:00:00Z\"",
            "closes_at = \"2025-06-01T00:00:00Z\"",
        )
    });
    assert_reported(
        &messages(dir.path()),
        "[phases[1].opens_at] phase `决赛` opens before",
    );

    let dir = copy();
    edit(dir.path(), "scenario.toml", |t| {
        t.replace(
            "closes_at = \"2026-06-30T00:00:00Z\"",
            "closes_at = \"2025-12-31T00:00:00Z\"",
        )
        .replace("name = \"决赛\"", "name = \"初赛\"")
    });
    let all = messages(dir.path());
    assert_reported(&all, "[phases[0].closes_at] must be later than opens_at");
    assert_reported(&all, "[phases[1].name]");
}

#[test]
fn inputs_must_match_the_tensors() {
    let dir = copy();
    edit(dir.path(), "hidden/inputs.jsonl", |t| {
        t.replacen("[[1.0, 1.5, -2.0]]", "[[1.0, \"1.5\", -2.0]]", 1)
            .replacen(
                "{\"features\": [[2.0, 1.5, -2.0]]}",
                "{\"feature\": [[2.0, 1.5, -2.0]]}",
                1,
            )
            .replacen("[[3.0, 1.5, -2.0]]", "[1.0, 2.0, 3.0]", 1)
    });
    let all = messages(dir.path());
    assert_reported(
        &all,
        "[h-101] input `features` holds \"1.5\", which is not FP32",
    );
    assert_reported(&all, "[h-102] input `features` is missing");
    assert_reported(&all, "[h-102] input `feature` is not in task.inputs");
    // Flat data is as good as nested data: h-103 is fine.
    assert!(!all.iter().any(|m| m.contains("h-103")), "{all:?}");
    assert_eq!(all.len(), 3, "{all:?}");

    let dir = copy();
    edit(dir.path(), "scenario.toml", |t| {
        t.replace("datatype = \"FP32\"", "datatype = \"FLOAT\"")
    });
    assert_reported(
        &messages(dir.path()),
        "[task.inputs[0].datatype] `FLOAT` is not",
    );
}

#[test]
fn labels_and_inputs_must_pair_up() {
    let dir = copy();
    edit(dir.path(), "public/samples/labels.jsonl", |t| {
        format!("{t}{{\"id\": \"s-9\", \"label\": 1}}\n{{\"id\": \"s-0\", \"label\": 1}}\n")
    });
    edit(dir.path(), "hidden/labels.jsonl", |t| {
        t.replacen("\"label\": 0", "\"label\": 0.5", 1)
    });
    let all = messages(dir.path());
    assert_reported(
        &all,
        "public/samples/labels.jsonl [s-9] a label for an input that does not exist",
    );
    assert_reported(
        &all,
        "public/samples/labels.jsonl [s-0] the id has two labels",
    );
    assert_reported(&all, "hidden/labels.jsonl [h-100] label 0.5 is not a class");
}

#[test]
fn broken_lines_are_reported_with_their_number() {
    let dir = copy();
    edit(dir.path(), "hidden/inputs.jsonl", |t| {
        t.replacen("{\"id\": \"h-104\"", "{\"id\": \"h-104\", \"extra\": 1", 1)
    });
    edit(dir.path(), "public/samples/inputs.jsonl", |t| {
        format!("{t}not json\n")
    });
    let all = messages(dir.path());
    assert_reported(&all, "hidden/inputs.jsonl [] line 5: unknown field `extra`");
    assert_reported(&all, "public/samples/inputs.jsonl [] line 5:");
}

#[test]
fn a_flood_of_problems_is_capped_per_file_and_counted() {
    let dir = copy();
    edit(dir.path(), "hidden/labels.jsonl", |_| String::new());
    let all = messages(dir.path());
    let label_problems: Vec<&String> = all
        .iter()
        .filter(|m| m.starts_with("hidden/labels.jsonl"))
        .collect();
    // Twelve inputs without labels: all listed, under the cap.
    assert_eq!(label_problems.len(), 12, "{all:?}");

    let dir = copy();
    let many: String = (0..30)
        .map(|n| format!("{{\"id\": \"x-{n}\", \"label\": 1}}\n"))
        .collect();
    edit(dir.path(), "hidden/labels.jsonl", |t| format!("{t}{many}"));
    let all = messages(dir.path());
    assert_eq!(all.len(), 21, "{all:?}");
    assert_reported(&all, "10 more problem(s) in this file are not listed");
}

/// Each problem carries a code and the values its message is made of, so a page can say it
/// in its reader's language; the cap's count is a problem with its own code.
#[test]
fn problems_carry_a_code_and_their_values() {
    let dir = copy();
    edit(dir.path(), "scenario.toml", |t| {
        t.replace("budget_ms = 20", "budget_ms = 0.5")
    });
    edit(dir.path(), "hidden/inputs.jsonl", |t| {
        t.replacen("{\"id\": \"h-104\"", "{\"id\": \"h-104\", \"extra\": 1", 1)
    });
    let many: String = (0..25)
        .map(|n| format!("{{\"id\": \"x-{n}\", \"label\": 1}}\n"))
        .collect();
    edit(dir.path(), "public/samples/labels.jsonl", |t| {
        format!("{t}{many}")
    });
    let report = validate(dir.path()).expect_err("the package must be refused");
    let find = |code: ProblemCode| {
        report
            .problems
            .iter()
            .find(|p| p.code == code)
            .unwrap_or_else(|| panic!("no {code}: {report}"))
    };
    let budget = find(ProblemCode::BudgetTooSmall);
    assert_eq!(budget.field.as_deref(), Some("latency.budget_ms"));
    assert_eq!(budget.params.get("min_ms").map(String::as_str), Some("1"));
    let line = find(ProblemCode::LineMalformed);
    assert_eq!(line.params.get("line").map(String::as_str), Some("5"));
    assert!(line.params["detail"].contains("extra"), "{line:?}");
    let more = find(ProblemCode::MoreNotListed);
    assert_eq!(more.file, "public/samples/labels.jsonl");
    assert_eq!(more.params.get("count").map(String::as_str), Some("5"));
    // The English message stays as the command line prints it.
    assert_eq!(
        more.message,
        "5 more problem(s) in this file are not listed"
    );
}

#[test]
fn roc_auc_needs_binary_labels_and_both_classes_on_each_board() {
    let dir = copy();
    edit(dir.path(), "scenario.toml", |t| {
        t.replace("name = \"accuracy\"", "name = \"roc_auc\"")
    });
    validate(dir.path()).unwrap_or_else(|report| panic!("{report}"));

    edit(dir.path(), "hidden/labels.jsonl", |t| {
        t.replace("\"label\": 0", "\"label\": 1")
    });
    let all = messages(dir.path());
    assert_reported(&all, "the public board's part has only one class");
    assert_reported(&all, "the private board's part has only one class");

    edit(dir.path(), "public/samples/labels.jsonl", |t| {
        t.replacen("\"label\": 0", "\"label\": \"cat\"", 1)
    });
    assert_reported(
        &messages(dir.path()),
        "[s-0] label \"cat\" is not a class ROC AUC can score",
    );
}

#[test]
fn regression_labels_are_numbers_and_mape_needs_non_zero_ones() {
    let dir = copy();
    edit(dir.path(), "scenario.toml", |t| {
        t.replace("name = \"accuracy\"", "name = \"mape\"")
    });
    let all = messages(dir.path());
    assert_reported(&all, "[h-100] label 0 is not a non-zero number");
    assert!(!all.iter().any(|m| m.contains("h-101")), "{all:?}");
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
    assert_reported(
        &all,
        "[split] the split leaves 0 public and 12 private items",
    );

    // The run after start-up must hold the minimum duration.
    let dir = copy();
    edit(dir.path(), "scenario.toml", |t| {
        t.replace(
            "[split]",
            "[limits]\nstartup_s = 60\nhidden_run_s = 4\n\n[split]",
        )
    });
    assert_reported(
        &messages(dir.path()),
        "[limits.hidden_run_s] 4 s cannot hold the minimum run of 5 s",
    );

    // Single-stream: 50 queries at the 20 ms budget need a second, not more than the run.
    let dir = copy();
    edit(dir.path(), "scenario.toml", |t| {
        t.replace("min_queries = 50", "min_queries = 40000")
            .replace("[split]", "[limits]\nhidden_run_s = 600\n\n[split]")
    });
    assert_reported(
        &messages(dir.path()),
        "40000 queries at up to 20 ms each do not fit",
    );

    // Too few queries to pass early stopping at p99, whatever the latency.
    let dir = copy();
    edit(dir.path(), "scenario.toml", |t| {
        t.replace(
            "load = { pattern = \"single-stream\" }",
            "load = { pattern = \"server\", rate_qps = 10.0 }",
        )
    });
    assert_reported(
        &messages(dir.path()),
        "a run may have only 50 queries, but the early-stopping test at p99 needs at least 459",
    );

    let dir = copy();
    edit(dir.path(), "scenario.toml", |t| {
        t.replace("budget_ms = 20\n", "")
    });
    assert_reported(&messages(dir.path()), "needs a latency budget");
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

#[test]
fn records_are_read_for_the_harness() {
    let records = read_records(&fixture().join("hidden/inputs.jsonl")).unwrap();
    assert_eq!(records.len(), 12);
    assert_eq!(records[0].id, "h-100");
    assert!(records[0].inputs.contains_key("features"));

    let dir = copy();
    edit(dir.path(), "hidden/inputs.jsonl", |t| {
        format!("{t}{{\"id\": 1}}\n")
    });
    let error = read_records(&dir.path().join("hidden/inputs.jsonl"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("hidden/inputs.jsonl: line 13: "), "{error}");
}

#[test]
fn labels_are_read_by_id_and_a_bad_line_is_named() {
    let labels = read_labels(&fixture().join("hidden/labels.jsonl")).unwrap();
    assert_eq!(labels.len(), 12);
    assert!(labels.contains_key("h-100"));

    let dir = copy();
    edit(dir.path(), "hidden/labels.jsonl", |t| {
        format!("{t}{{\"id\": \"h-100\", \"class\": 1}}\n")
    });
    let error = read_labels(&dir.path().join("hidden/labels.jsonl"))
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("hidden/labels.jsonl: line 13: unknown field `class`"),
        "{error}"
    );

    edit(dir.path(), "hidden/labels.jsonl", |t| {
        let first = t.lines().next().unwrap_or_default().to_owned();
        let kept: Vec<&str> = t.lines().filter(|l| !l.contains("class")).collect();
        format!("{}\n{first}\n", kept.join("\n"))
    });
    let error = read_labels(&dir.path().join("hidden/labels.jsonl"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("has two labels"), "{error}");
}

#[test]
fn the_accuracy_pass_has_a_generous_time_out_and_a_place_in_the_hidden_run() {
    let package = validate(&fixture()).unwrap();
    let manifest = &package.manifest;
    assert_eq!(manifest.query_timeout(), std::time::Duration::from_secs(1));
    assert_eq!(
        manifest.item_timeout(),
        std::time::Duration::from_secs(10),
        "by default ten times the timed run's per-query time-out"
    );
    assert_eq!(
        manifest.accuracy_concurrency(),
        1,
        "single-stream: one item at a time"
    );

    let stated = |limits: &str| {
        let dir = copy();
        edit(dir.path(), "scenario.toml", |t| {
            t.replace("[split]", &format!("[limits]\n{limits}\n\n[split]"))
        });
        dir
    };
    let fine = stated("item_timeout_s = 30");
    let package = validate(fine.path()).unwrap_or_else(|report| panic!("{report}"));
    assert_eq!(
        package.manifest.item_timeout(),
        std::time::Duration::from_secs(30)
    );
    assert_reported(
        &messages(stated("item_timeout_s = 0").path()),
        "[limits.item_timeout_s] 0 s is stricter than the timed run's per-query time-out of 1 s",
    );
    assert_reported(
        &messages(stated("item_timeout_s = 700").path()),
        "[limits.item_timeout_s] 700 s is longer than the whole hidden run (600 s)",
    );
    let batch = stated("item_timeout_s = 30");
    edit(batch.path(), "scenario.toml", |t| {
        t.replace("mode = \"serve\"", "mode = \"batch\"")
    });
    assert_reported(
        &messages(batch.path()),
        "[limits.item_timeout_s] only serve mode has an accuracy pass",
    );

    // The timed run alone fits in 5 s, but not with the accuracy pass before it.
    assert_reported(
        &messages(stated("hidden_run_s = 5").path()),
        "[limits.hidden_run_s] the accuracy pass over 12 hidden items (1 at a time, 0.2 s at \
         the budget of 20 ms) and the timed run (at least 5.0 s) do not fit in the hidden run's 5 s",
    );
}
