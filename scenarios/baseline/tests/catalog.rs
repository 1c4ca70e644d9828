//! Every package of the catalog is valid, and its baseline, trained on the public training
//! set only, reaches the score its `baseline/README.md` states on the hidden set.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use jiebang_baseline::model::TrainOptions;
use jiebang_baseline::{score, train};

fn catalog() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../catalog")
}

/// (package, the score stated in its baseline README, whether higher is better).
const STATED: &[(&str, f64, bool)] = &[
    ("konggang-flight-delay", 0.68, true),
    ("fengdong-biopsy-triage", 0.95, true),
    ("qinhan-hotel-rates", 18.0, false),
    ("fengxi-electricity-demand", 0.075, false),
    ("jinghe-concrete-strength", 7.5, false),
    ("energy-finance-credit-default", 0.82, true),
    ("fengxi-handwritten-digits", 0.88, true),
];

#[test]
fn every_catalog_package_is_valid_and_covers_the_six_towns() {
    let mut towns = Vec::new();
    let mut packages = 0;
    for entry in std::fs::read_dir(catalog()).unwrap() {
        let path = entry.unwrap().path();
        if !path.join("scenario.toml").is_file() {
            continue;
        }
        let package =
            jiebang_scenarios::package::validate(&path).unwrap_or_else(|report| panic!("{report}"));
        towns.push(package.manifest.town.clone());
        packages += 1;
    }
    towns.sort();
    towns.dedup();
    assert_eq!(
        towns,
        [
            "energy-finance",
            "fengdong",
            "fengxi",
            "jinghe",
            "konggang",
            "qinhan"
        ]
    );
    assert_eq!(
        packages,
        STATED.len(),
        "every package has its stated baseline score here"
    );
}

#[test]
fn each_baseline_reaches_its_stated_score_on_the_hidden_set() {
    for &(id, stated, higher_is_better) in STATED {
        let root = catalog().join(id);
        let readme = std::fs::read_to_string(root.join("baseline/README.md")).unwrap();
        assert!(
            readme.contains(&format!("{stated}")),
            "{id}: the README states the score {stated}"
        );
        let model = train(&root, TrainOptions::default()).unwrap();
        let (metric, value, items) = score(&model, &root, &root.join("hidden")).unwrap();
        let reached = if higher_is_better {
            value >= stated
        } else {
            value <= stated
        };
        assert!(
            reached,
            "{id}: {metric} = {value:.4} over {items} hidden items; stated {stated}"
        );
    }
}

#[test]
fn the_accelerator_scenario_asks_for_one_device_of_any_model_with_image_tensors() {
    let root = catalog().join("fengxi-handwritten-digits");
    let package =
        jiebang_scenarios::package::validate(&root).unwrap_or_else(|report| panic!("{report}"));
    let manifest = &package.manifest;
    assert_eq!(manifest.resources.accelerators, 1);
    assert_eq!(manifest.resources.accelerator_model, None);
    assert_eq!(manifest.task.inputs[0].shape, [1, 8, 8]);
    // Ten classes: the baseline is a nearest-centroid model answering digits, and it beats
    // the trivial predictor (the training majority, about 0.10) by far.
    let model = train(&root, TrainOptions::default()).unwrap();
    assert_eq!(model.kind, jiebang_baseline::model::Kind::Centroid);
    assert_eq!(model.centroids.len(), 10);
    let (metric, value, items) = score(&model, &root, &root.join("hidden")).unwrap();
    assert_eq!((metric, items), ("accuracy", 395));
    assert!(value > 0.5, "{value}");
}
