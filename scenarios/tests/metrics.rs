//! The metrics against values scikit-learn computed for the same data
//! (`tests/fixtures/gen_metric_fixtures.py` wrote `metrics.json`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use jiebang_scenarios::metrics::{Pairs, bootstrap_interval, compute};
use jiebang_scenarios::package::MetricName;
use serde_json::Value;

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
    assert!(cases.len() >= 14);
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
