//! Scoring answers a metric cannot digest: a prediction of −1e308 made the MAE infinite, and
//! the run was "done" with no score, off the board, unexplained.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use jiebang_evaluator::pipeline::scoring::{Answer, notes, split_scores};
use jiebang_scenarios::package::{ScenarioPackage, read_labels, validate};

fn package(dir: &Path, metric: &str) -> ScenarioPackage {
    let source =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/tests/fixtures/valid-package");
    let status = std::process::Command::new("cp")
        .arg("-r")
        .arg(format!("{}/.", source.display()))
        .arg(dir)
        .status()
        .unwrap();
    assert!(status.success());
    let manifest = dir.join("scenario.toml");
    let text = std::fs::read_to_string(&manifest)
        .unwrap()
        .replace("name = \"accuracy\"", &format!("name = \"{metric}\""));
    std::fs::write(&manifest, text).unwrap();
    validate(dir).unwrap_or_else(|report| panic!("{report}"))
}

#[test]
fn an_absurd_prediction_is_a_wrong_answer_and_the_run_keeps_a_score() {
    for metric in ["mae", "rmse"] {
        let dir = tempfile::tempdir().unwrap();
        let package = package(dir.path(), metric);
        let labels = read_labels(&dir.path().join("hidden/labels.jsonl")).unwrap();
        let mut ids: Vec<&String> = labels.keys().collect();
        ids.sort();
        let answers: Vec<Answer> = ids
            .iter()
            .enumerate()
            .map(|(n, id)| Answer {
                id: (*id).clone(),
                prediction: Some(if n < 2 {
                    serde_json::json!(-1e308)
                } else {
                    labels[*id].clone()
                }),
            })
            .collect();
        let scores = split_scores(&package.manifest, &answers, &labels);
        let all = scores.all.as_ref().expect("the run keeps a score");
        assert!(
            all.value.is_finite() && all.low.is_finite() && all.high.is_finite(),
            "{metric}: {all:?}"
        );
        let said = notes("hidden run", &package.manifest, &answers, &scores);
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(
            said[0].contains("2 of 12 predictions") && said[0].contains("-1e+308"),
            "{}",
            said[0]
        );
        // Scored as predictions of 0, exactly as if they had not been answered.
        let unanswered: Vec<Answer> = answers
            .iter()
            .enumerate()
            .map(|(n, a)| Answer {
                id: a.id.clone(),
                prediction: if n < 2 { None } else { a.prediction.clone() },
            })
            .collect();
        let as_missing = split_scores(&package.manifest, &unanswered, &labels);
        assert_eq!(as_missing.all, scores.all, "{metric}");
    }
}

#[test]
fn good_answers_carry_no_notes() {
    let dir = tempfile::tempdir().unwrap();
    let package = package(dir.path(), "mae");
    let labels = read_labels(&dir.path().join("hidden/labels.jsonl")).unwrap();
    let answers: Vec<Answer> = labels
        .iter()
        .map(|(id, label)| Answer {
            id: id.clone(),
            prediction: Some(label.clone()),
        })
        .collect();
    let scores = split_scores(&package.manifest, &answers, &labels);
    assert_eq!(scores.all.as_ref().unwrap().value, 0.0);
    assert!(notes("hidden run", &package.manifest, &answers, &scores).is_empty());
}
