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
        // The note's code and parameters, for the pages' words.
        let (code, params) = said[0].coded().unwrap();
        assert_eq!(
            (code, params["count"].as_str()),
            ("unusable_predictions", "2")
        );
        assert!(
            said[0].text().contains("2 of 12 predictions") && said[0].text().contains("-1e+308"),
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

#[test]
fn per_item_pairs_line_up_item_by_item_whatever_order_the_answers_came_in() {
    use jiebang_scenarios::metrics::Pairs;

    let dir = tempfile::tempdir().unwrap();
    let package = package(dir.path(), "accuracy");
    let labels = read_labels(&dir.path().join("hidden/labels.jsonl")).unwrap();
    let mut ids: Vec<String> = labels.keys().cloned().collect();
    ids.sort();
    let answer = |id: &String, right: bool| Answer {
        id: id.clone(),
        prediction: Some(if right {
            labels[id].clone()
        } else {
            serde_json::json!("no such class")
        }),
    };
    // One server answers in id order; another in reverse, cycling through some items twice
    // and getting the first item wrong.
    let first: Vec<Answer> = ids.iter().map(|id| answer(id, true)).collect();
    let second: Vec<Answer> = ids
        .iter()
        .rev()
        .chain(ids.iter().take(3))
        .map(|id| answer(id, id != &ids[0]))
        .collect();
    let a = split_scores(&package.manifest, &first, &labels)
        .items
        .unwrap();
    let b = split_scores(&package.manifest, &second, &labels)
        .items
        .unwrap();
    let (a_public, b_public) = (a.public.unwrap(), b.public.unwrap());
    let (a_private, b_private) = (a.private.unwrap(), b.private.unwrap());
    assert_eq!(a_public.items, b_public.items, "the same items");
    assert_eq!(a_private.items, b_private.items);
    assert_ne!(
        a_public.items, a_private.items,
        "the two parts are other items"
    );
    assert_eq!(a_public.pairs.len() + a_private.pairs.len(), ids.len());
    let (Pairs::Labels(x), Pairs::Labels(y)) = (&a_public.pairs, &b_public.pairs) else {
        panic!("accuracy compares labels")
    };
    let truths = |pairs: &[(String, String)]| pairs.iter().map(|p| p.0.clone()).collect::<Vec<_>>();
    assert_eq!(truths(x), truths(y), "truths line up item by item");
    let wrong = |pairs: &Pairs| match pairs {
        Pairs::Labels(p) => p.iter().filter(|(t, y)| t != y).count(),
        _ => unreachable!(),
    };
    assert_eq!(wrong(&a_public.pairs) + wrong(&a_private.pairs), 0);
    assert_eq!(wrong(&b_public.pairs) + wrong(&b_private.pairs), 1);
}
