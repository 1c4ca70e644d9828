//! Turning answers into scores: predictions per query, matched to labels, split into the
//! public and private boards; and each board part's per-item pairs, for rank significance.

use std::collections::HashMap;

use crate::protocol::Note;
use jiebang_scenarios::metrics::{self, Pairs};
use jiebang_scenarios::package::{Manifest, MetricName};
use jiebang_scenarios::split;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One scored query: the item it carried and what came back (`None`: no usable answer).
#[derive(Debug, Clone)]
pub struct Answer {
    pub id: String,
    pub prediction: Option<serde_json::Value>,
}

/// A metric with its bootstrap interval over one part of the hidden set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub value: f64,
    pub low: f64,
    pub high: f64,
    /// Items scored, each once. Reports written before items were scored once each called
    /// them queries.
    #[serde(alias = "queries")]
    pub items: usize,
    /// Items this part of the set holds. Every item is scored (one never answered counts
    /// as wrong), so for a finished run this equals `items`; 0 in reports written before
    /// it was recorded.
    #[serde(default)]
    pub items_in_set: usize,
}

/// The scores of one run: on the public board's part of the hidden set, the private
/// board's part, and the whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SplitScores {
    pub metric: MetricName,
    pub public: Option<Score>,
    pub private: Option<Score>,
    pub all: Option<Score>,
    /// The hidden run's per-item pairs, on their way to the result body. Never written
    /// with the report (`serde(skip)`): the report is shown to teams, and which hidden
    /// items a submission got right must never reach one. The worker moves it into
    /// [`crate::protocol::ResultBody::board_items`].
    #[serde(skip)]
    pub items: Option<BoardItems>,
}

/// One board part's scored pairs, item by item in the order of their ids, so that two
/// submissions of the same package line up item for item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemPairs {
    /// `sha256:` over the sorted item ids: runs are paired only over the same items.
    pub items: String,
    pub pairs: Pairs,
}

/// The hidden run's pairs on the public and private boards' parts, from which the
/// platform tells which adjacent rows of a board are statistically tied. For judges and
/// the platform only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardItems {
    pub public: Option<ItemPairs>,
    pub private: Option<ItemPairs>,
}

/// The largest magnitude a numeric prediction may have. A prediction past it, or one
/// that is not a number, counts as no answer: the squared or absolute errors of larger
/// values overflow, and a metric of infinity would leave the run without a score.
pub const MAX_PREDICTION_MAGNITUDE: f64 = 1e100;

/// A prediction as a number the metrics can use, if it is one.
fn usable_number(value: &serde_json::Value) -> Option<f64> {
    value
        .as_f64()
        .filter(|x| x.is_finite() && x.abs() <= MAX_PREDICTION_MAGNITUDE)
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
                    // A missing or unusable answer counts as a prediction of zero.
                    (
                        truth(a).as_f64().unwrap_or(0.0),
                        a.prediction.as_ref().and_then(usable_number).unwrap_or(0.0),
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
    (seed, items_in_set): (u64, usize),
) -> Option<Score> {
    if answers.is_empty() {
        return None;
    }
    let pairs = pairs(metric, answers, labels);
    // A metric that is not a finite number is no score; [`notes`] says why.
    let value = metrics::compute(metric, &pairs)
        .ok()
        .filter(|v| v.is_finite())?;
    let (low, high) =
        metrics::bootstrap_interval(metric, &pairs, 1000, seed).unwrap_or((value, value));
    Some(Score {
        value,
        low,
        high,
        items: answers.len(),
        items_in_set,
    })
}

/// One answer per item, in order of first appearance: a run that cycles through a small
/// hidden set asks for some items more often than others, and a faster server gets more
/// cycles, so scoring every query would weight items by speed. An item counts with its
/// first answer, or as unanswered if any of its queries went unanswered (errors and
/// time-outs are never dropped).
pub fn per_item(answers: &[Answer]) -> Vec<Answer> {
    let mut position: HashMap<&str, usize> = HashMap::new();
    let mut items: Vec<Answer> = Vec::new();
    for answer in answers {
        match position.get(answer.id.as_str()) {
            Some(&at) => {
                if answer.prediction.is_none() {
                    items[at].prediction = None;
                }
            }
            None => {
                position.insert(&answer.id, items.len());
                items.push(answer.clone());
            }
        }
    }
    items
}

/// Scores on the public board's part, the private board's part and the whole set whose
/// `labels` these are; each says how many of its part's items it scored.
pub fn split_scores(
    manifest: &Manifest,
    answers: &[Answer],
    labels: &HashMap<String, serde_json::Value>,
) -> SplitScores {
    let metric = manifest.metric.name;
    let seed = manifest.split.seed;
    let is_public =
        |id: &str| split::is_public(id, manifest.split.public_fraction, manifest.split.seed);
    let answers = per_item(answers);
    let (public, private): (Vec<&Answer>, Vec<&Answer>) =
        answers.iter().partition(|a| is_public(&a.id));
    let all: Vec<&Answer> = answers.iter().collect();
    // Every item of the set has a label (the package's checks see to it).
    let public_in_set = labels.keys().filter(|id| is_public(id)).count();
    let private_in_set = labels.len() - public_in_set;
    let items = BoardItems {
        public: item_pairs(metric, public.clone(), labels),
        private: item_pairs(metric, private.clone(), labels),
    };
    SplitScores {
        metric,
        public: score(metric, &public, labels, (seed, public_in_set)),
        private: score(metric, &private, labels, (seed, private_in_set)),
        all: score(metric, &all, labels, (seed, labels.len())),
        items: Some(items),
    }
}

/// A part's pairs in the order of the item ids, with the fingerprint of those ids; `None`
/// for a part without items.
fn item_pairs(
    metric: MetricName,
    mut answers: Vec<&Answer>,
    labels: &HashMap<String, serde_json::Value>,
) -> Option<ItemPairs> {
    if answers.is_empty() {
        return None;
    }
    answers.sort_by(|a, b| a.id.cmp(&b.id));
    let mut ids = Sha256::new();
    for answer in &answers {
        // Each id ends with a NUL, so no two lists of ids hash alike by running together.
        ids.update(answer.id.as_bytes());
        ids.update([0]);
    }
    Some(ItemPairs {
        items: format!("sha256:{}", hex::encode(ids.finalize())),
        pairs: pairs(metric, &answers, labels),
    })
}

/// What the team is told about how its answers were scored, for the report: predictions
/// that were not usable numbers (for the numeric metrics), and a metric that could not be
/// computed although there were answers.
pub fn notes(
    run: &str,
    manifest: &Manifest,
    answers: &[Answer],
    scores: &SplitScores,
) -> Vec<Note> {
    // `run` is `sample run` or `hidden run`; the note's parameter is the run's code.
    let run_code = run.split_whitespace().next().unwrap_or(run);
    let mut notes = Vec::new();
    let items = per_item(answers);
    if matches!(
        manifest.metric.name,
        MetricName::Rmse | MetricName::Mae | MetricName::Mape
    ) {
        let unusable: Vec<&serde_json::Value> = items
            .iter()
            .filter_map(|a| a.prediction.as_ref())
            .filter(|p| usable_number(p).is_none())
            .collect();
        if let Some(example) = unusable.first() {
            let example = format!("{:.40}", example.to_string());
            notes.push(
                Note::new(
                    "unusable_predictions",
                    format!(
                        "{run}: {} of {} predictions were not numbers within \
                         ±{MAX_PREDICTION_MAGNITUDE:e} (for example {example}); each counts as \
                         no answer, scored as a prediction of 0",
                        unusable.len(),
                        items.len(),
                    ),
                )
                .with("run", run_code)
                .with("count", unusable.len())
                .with("total", items.len())
                .with("limit", format!("{MAX_PREDICTION_MAGNITUDE:e}"))
                .with("example", example),
            );
        }
    }
    if !items.is_empty() && scores.all.is_none() {
        notes.push(
            Note::new(
                "metric_not_finite",
                format!(
                    "{run}: the {} of these answers is not a finite number, so the run has no score",
                    manifest.metric.name.as_str()
                ),
            )
            .with("run", run_code)
            .with("metric", manifest.metric.name.as_str()),
        );
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_item_counts_once_and_a_failed_repeat_is_not_dropped() {
        let answer = |id: &str, prediction: Option<i64>| Answer {
            id: id.to_owned(),
            prediction: prediction.map(serde_json::Value::from),
        };
        let items = per_item(&[
            answer("a", Some(1)),
            answer("b", Some(0)),
            answer("a", Some(0)),
            answer("c", Some(1)),
            answer("b", None),
            answer("a", Some(1)),
        ]);
        let seen: Vec<(&str, Option<i64>)> = items
            .iter()
            .map(|a| {
                (
                    a.id.as_str(),
                    a.prediction.as_ref().and_then(serde_json::Value::as_i64),
                )
            })
            .collect();
        assert_eq!(seen, [("a", Some(1)), ("b", None), ("c", Some(1))]);
    }

    #[test]
    fn labels_compare_as_text() {
        assert_eq!(label_text(&serde_json::json!(1.0)), "1");
        assert_eq!(label_text(&serde_json::json!(true)), "1");
        assert_eq!(label_text(&serde_json::json!("cat")), "cat");
    }
}
