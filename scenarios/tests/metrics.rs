//! The metrics against values scikit-learn computed for the same data
//! (`tests/fixtures/gen_metric_fixtures.py` wrote `metrics.json`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use jiebang_scenarios::metrics::{Pairs, bootstrap_interval, class_of, compute};
use jiebang_scenarios::package::MetricName;
use serde_json::{Value, json};

fn metric(name: &str) -> MetricName {
    serde_json::from_value(Value::String(name.to_owned())).unwrap()
}

fn pairs(name: MetricName, truth: &[Value], pred: &[Value]) -> Pairs {
    let zipped = truth.iter().zip(pred);
    match name {
        MetricName::Accuracy | MetricName::MacroF1 => Pairs::Labels(
            zipped
                .map(|(t, p)| {
                    (
                        t.as_str().unwrap().to_owned(),
                        p.as_str().unwrap().to_owned(),
                    )
                })
                .collect(),
        ),
        MetricName::RocAuc => Pairs::Scores(
            zipped
                .map(|(t, p)| (t.as_bool().unwrap(), p.as_f64().unwrap()))
                .collect(),
        ),
        _ => Pairs::Values(
            zipped
                .map(|(t, p)| (t.as_f64().unwrap(), p.as_f64().unwrap()))
                .collect(),
        ),
    }
}

#[test]
fn every_metric_agrees_with_scikit_learn() {
    let fixture: Value = serde_json::from_str(include_str!("fixtures/metrics.json")).unwrap();
    let cases = fixture["cases"].as_array().unwrap();
    assert!(cases.len() >= 24);
    for case in cases {
        let name = metric(case["metric"].as_str().unwrap());
        let value = compute(
            name,
            &pairs(
                name,
                case["truth"].as_array().unwrap(),
                case["pred"].as_array().unwrap(),
            ),
        )
        .unwrap();
        let expected = case["expected"].as_f64().unwrap();
        assert!(
            (value - expected).abs() < 1e-9,
            "{}: ours {value}, scikit-learn {expected}",
            name.as_str()
        );
    }
}

#[test]
fn bootstrap_intervals_contain_the_estimate_and_are_reproducible() {
    let truth: Vec<(f64, f64)> = (0..200)
        .map(|i| (i as f64, i as f64 + if i % 3 == 0 { 2.0 } else { -1.0 }))
        .collect();
    let pairs = Pairs::Values(truth);
    let value = compute(MetricName::Mae, &pairs).unwrap();
    let (low, high) = bootstrap_interval(MetricName::Mae, &pairs, 1000, 7).unwrap();
    assert!(low <= value && value <= high, "{low} ≤ {value} ≤ {high}");
    assert!(high - low > 0.0);
    assert_eq!(
        (low, high),
        bootstrap_interval(MetricName::Mae, &pairs, 1000, 7).unwrap()
    );
}

#[test]
fn unscorable_inputs_are_errors() {
    assert!(compute(MetricName::Accuracy, &Pairs::Labels(vec![])).is_err());
    assert!(
        compute(
            MetricName::RocAuc,
            &Pairs::Scores(vec![(true, 0.4), (true, 0.9)])
        )
        .is_err(),
        "one class only"
    );
    assert!(
        compute(
            MetricName::Rmse,
            &Pairs::Labels(vec![("a".into(), "a".into())])
        )
        .is_err(),
        "wrong kind"
    );
}

#[test]
fn a_class_is_the_same_however_it_is_spelt() {
    for spelling in [json!(1), json!(1.0), json!("1"), json!(true)] {
        assert_eq!(class_of(&spelling), "1", "{spelling}");
    }
    for spelling in [json!(0), json!(-0.0), json!("0"), json!(false)] {
        assert_eq!(class_of(&spelling), "0", "{spelling}");
    }
    assert_eq!(class_of(&json!(u64::MAX)), u64::MAX.to_string());
    assert_eq!(class_of(&json!(2.5)), "2.5");
    assert_eq!(class_of(&json!("晴")), "晴");
}

#[test]
fn roc_auc_intervals_skip_one_class_resamples() {
    // Mostly separable with a few mistakes, and few positives, so some resamples have none.
    let pairs = Pairs::Scores(
        (0..40)
            .map(|i| {
                (
                    i % 8 == 0,
                    if i % 8 == 0 { 0.9 } else { 0.1 } + f64::from(i % 5) * 0.05,
                )
            })
            .collect(),
    );
    let value = compute(MetricName::RocAuc, &pairs).unwrap();
    let (low, high) = bootstrap_interval(MetricName::RocAuc, &pairs, 1000, 11).unwrap();
    assert!(low <= value && value <= high, "{low} ≤ {value} ≤ {high}");
    assert!((0.0..=1.0).contains(&low) && (0.0..=1.0).contains(&high));
}

#[test]
fn the_direction_follows_the_metric() {
    use jiebang_scenarios::package::Direction;
    for (name, direction) in [
        (MetricName::Accuracy, Direction::Higher),
        (MetricName::MacroF1, Direction::Higher),
        (MetricName::RocAuc, Direction::Higher),
        (MetricName::Rmse, Direction::Lower),
        (MetricName::Mae, Direction::Lower),
        (MetricName::Mape, Direction::Lower),
    ] {
        assert_eq!(name.direction(), direction, "{}", name.as_str());
        assert_eq!(metric(name.as_str()), name);
    }
}
