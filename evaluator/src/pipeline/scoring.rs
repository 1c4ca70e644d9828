//! Turning answers into scores: predictions per query, matched to labels, split into the
//! public and private boards.

use std::collections::HashMap;

use jiebang_scenarios::metrics::{self, Pairs};
use jiebang_scenarios::package::{Manifest, MetricName};
use jiebang_scenarios::split;
use serde::Serialize;

/// One scored query: the item it carried and what came back (`None`: no usable answer).
#[derive(Debug, Clone)]
pub struct Answer {
    pub id: String,
    pub prediction: Option<serde_json::Value>,
}

/// A metric with its bootstrap interval over one part of the hidden set.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Score {
    pub value: f64,
    pub low: f64,
    pub high: f64,
    pub queries: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitScores {
    pub metric: &'static str,
    pub public: Option<Score>,
    pub private: Option<Score>,
    pub all: Option<Score>,
}

/// The first element of the first output tensor: the prediction, by the contract.
pub fn prediction_of(body: &[u8]) -> Option<serde_json::Value> {
    let response: serde_json::Value = serde_json::from_slice(body).ok()?;
    let data = response["outputs"].get(0)?.get("data")?;
    let mut value = data;
    while let Some(first) = value.as_array().and_then(|items| items.first()) {
        value = first;
    }
    (!value.is_array()).then(|| value.clone())
}

/// Labels compare as text: 1, 1.0, "1" and true all mean class "1".
fn label_text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Bool(true) => "1".to_owned(),
        serde_json::Value::Bool(false) => "0".to_owned(),
        serde_json::Value::Number(n) => match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", f as i64),
            _ => n.to_string(),
        },
        other => other.to_string(),
    }
}

fn pairs(
    metric: MetricName,
    answers: &[&Answer],
    labels: &HashMap<String, serde_json::Value>,
) -> Pairs {
    let truth = |answer: &&Answer| labels.get(&answer.id).cloned().unwrap_or_default();
    match metric {
        MetricName::Accuracy | MetricName::MacroF1 => Pairs::Labels(
            answers
                .iter()
                .map(|a| {
                    // A missing answer is a wrong one: it matches no class.
                    let predicted = a
                        .prediction
                        .as_ref()
                        .map_or_else(|| "\u{0}missing".to_owned(), label_text);
                    (label_text(&truth(a)), predicted)
                })
                .collect(),
        ),
        MetricName::RocAuc => Pairs::Scores(
            answers
                .iter()
                .map(|a| {
                    let positive = label_text(&truth(a)) == "1";
                    // A missing answer scores as wrongly as it can.
                    let worst = if positive {
                        f64::NEG_INFINITY
                    } else {
                        f64::INFINITY
                    };
                    (
                        positive,
                        a.prediction
                            .as_ref()
                            .and_then(serde_json::Value::as_f64)
                            .unwrap_or(worst),
                    )
                })
                .collect(),
        ),
        MetricName::Rmse | MetricName::Mae | MetricName::Mape => Pairs::Values(
            answers
                .iter()
                .map(|a| {
                    // A missing answer counts as a prediction of zero.
                    (
                        truth(a).as_f64().unwrap_or(0.0),
                        a.prediction
                            .as_ref()
                            .and_then(serde_json::Value::as_f64)
                            .unwrap_or(0.0),
                    )
                })
                .collect(),
        ),
    }
}

fn score(
    metric: MetricName,
    answers: &[&Answer],
    labels: &HashMap<String, serde_json::Value>,
    seed: u64,
) -> Option<Score> {
    if answers.is_empty() {
        return None;
    }
    let pairs = pairs(metric, answers, labels);
    let value = metrics::compute(metric, &pairs).ok()?;
    let (low, high) =
        metrics::bootstrap_interval(metric, &pairs, 1000, seed).unwrap_or((value, value));
    Some(Score {
        value,
        low,
        high,
        queries: answers.len(),
    })
}

/// Scores on the public board's part, the private board's part and the whole hidden set.
pub fn split_scores(
    manifest: &Manifest,
    answers: &[Answer],
    labels: &HashMap<String, serde_json::Value>,
) -> SplitScores {
    let metric = manifest.metric.name;
    let seed = manifest.split.seed;
    let (public, private): (Vec<&Answer>, Vec<&Answer>) = answers.iter().partition(|a| {
        split::is_public(&a.id, manifest.split.public_fraction, manifest.split.seed)
    });
    let all: Vec<&Answer> = answers.iter().collect();
    SplitScores {
        metric: metric.as_str(),
        public: score(metric, &public, labels, seed),
        private: score(metric, &private, labels, seed),
        all: score(metric, &all, labels, seed),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predictions_come_from_the_first_output() {
        let body = br#"{"outputs":[{"name":"y","shape":[1,1],"datatype":"INT64","data":[[1]]}]}"#;
        assert_eq!(prediction_of(body), Some(serde_json::json!(1)));
        assert_eq!(prediction_of(b"{\"outputs\":[]}"), None);
        assert_eq!(prediction_of(b"not json"), None);
    }

    #[test]
    fn labels_compare_as_text() {
        assert_eq!(label_text(&serde_json::json!(1.0)), "1");
        assert_eq!(label_text(&serde_json::json!(true)), "1");
        assert_eq!(label_text(&serde_json::json!("cat")), "cat");
    }
}
