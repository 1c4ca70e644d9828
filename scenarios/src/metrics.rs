//! The primary metrics and their bootstrap confidence intervals.
//!
//! Classification labels are compared as text ([`class_of`] turns a JSON label or
//! prediction into it); regression values as numbers. ROC AUC takes the predicted score of
//! the positive class and averages the ranks of ties, as scikit-learn does.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ScenarioError;
use crate::package::MetricName;

/// What a metric is computed over: one item per scored query.
///
/// On the wire (the worker sends a run's pairs to the platform for rank significance) it
/// is columnar — `{"kind": "labels", "truth": [...], "predicted": [...]}` — and a score
/// that is not finite (a missing answer to a ROC AUC item, scored as wrongly as it can be)
/// is `null`, which JSON can carry and infinity it cannot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "PairsWire", try_from = "PairsWire")]
pub enum Pairs {
    /// (true label, predicted label).
    Labels(Vec<(String, String)>),
    /// (true value, predicted value).
    Values(Vec<(f64, f64)>),
    /// (true label is positive, predicted score).
    Scores(Vec<(bool, f64)>),
}

impl Pairs {
    pub fn len(&self) -> usize {
        match self {
            Self::Labels(p) => p.len(),
            Self::Values(p) => p.len(),
            Self::Scores(p) => p.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    #[cfg(test)]
    fn pick(&self, indices: &[usize]) -> Self {
        match self {
            Self::Labels(p) => Self::Labels(indices.iter().map(|&i| p[i].clone()).collect()),
            Self::Values(p) => Self::Values(indices.iter().map(|&i| p[i]).collect()),
            Self::Scores(p) => Self::Scores(indices.iter().map(|&i| p[i]).collect()),
        }
    }
}

/// [`Pairs`] as it is sent: one column per side, so a few thousand items stay small.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
enum PairsWire {
    Labels {
        truth: Vec<String>,
        predicted: Vec<String>,
    },
    Values {
        truth: Vec<f64>,
        predicted: Vec<f64>,
    },
    Scores {
        positive: Vec<bool>,
        /// `None`: the item's worst possible score (below every other for a positive item,
        /// above every other for a negative one).
        score: Vec<Option<f64>>,
    },
}

impl From<Pairs> for PairsWire {
    fn from(pairs: Pairs) -> Self {
        match pairs {
            Pairs::Labels(p) => {
                let (truth, predicted) = p.into_iter().unzip();
                Self::Labels { truth, predicted }
            }
            Pairs::Values(p) => {
                let (truth, predicted) = p.into_iter().unzip();
                Self::Values { truth, predicted }
            }
            Pairs::Scores(p) => {
                let (positive, score) = p
                    .into_iter()
                    .map(|(positive, score)| (positive, score.is_finite().then_some(score)))
                    .unzip();
                Self::Scores { positive, score }
            }
        }
    }
}

impl TryFrom<PairsWire> for Pairs {
    type Error = String;

    fn try_from(wire: PairsWire) -> Result<Self, String> {
        let same_length = |a: usize, b: usize| {
            if a == b {
                Ok(())
            } else {
                Err(format!(
                    "the two columns of the pairs differ in length ({a} and {b})"
                ))
            }
        };
        Ok(match wire {
            PairsWire::Labels { truth, predicted } => {
                same_length(truth.len(), predicted.len())?;
                Self::Labels(truth.into_iter().zip(predicted).collect())
            }
            PairsWire::Values { truth, predicted } => {
                same_length(truth.len(), predicted.len())?;
                Self::Values(truth.into_iter().zip(predicted).collect())
            }
            PairsWire::Scores { positive, score } => {
                same_length(positive.len(), score.len())?;
                Self::Scores(
                    positive
                        .into_iter()
                        .zip(score)
                        .map(|(positive, score)| {
                            let worst = if positive {
                                f64::NEG_INFINITY
                            } else {
                                f64::INFINITY
                            };
                            (positive, score.unwrap_or(worst))
                        })
                        .collect(),
                )
            }
        })
    }
}

/// A class as text, so `1`, `1.0`, `"1"` and `true` are all class `"1"` (and `false` is
/// `"0"`): a package's labels and a server's answers may spell a class differently.
pub fn class_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Bool(true) => "1".to_owned(),
        Value::Bool(false) => "0".to_owned(),
        Value::Number(number) => match (number.as_i64(), number.as_u64(), number.as_f64()) {
            (Some(integer), _, _) => integer.to_string(),
            (_, Some(integer), _) => integer.to_string(),
            // Exact below 2^53, where every integral f64 is an integer.
            (_, _, Some(float)) if float.fract() == 0.0 && float.abs() < 9.0e15 => {
                (float as i64).to_string()
            }
            _ => number.to_string(),
        },
        other => other.to_string(),
    }
}

pub(crate) fn wrong_kind(metric: MetricName) -> ScenarioError {
    ScenarioError::Metric {
        metric: metric.as_str(),
        reason: "these predictions are not of the kind this metric compares".into(),
    }
}

/// The metric's value over the pairs.
pub fn compute(metric: MetricName, pairs: &Pairs) -> Result<f64, ScenarioError> {
    if pairs.is_empty() {
        return Err(ScenarioError::Metric {
            metric: metric.as_str(),
            reason: "nothing to score".into(),
        });
    }
    match (metric, pairs) {
        (MetricName::Accuracy, Pairs::Labels(p)) => {
            Ok(p.iter().filter(|(t, y)| t == y).count() as f64 / p.len() as f64)
        }
        (MetricName::MacroF1, Pairs::Labels(p)) => Ok(macro_f1(p)),
        (MetricName::RocAuc, Pairs::Scores(p)) => roc_auc(p),
        (MetricName::Rmse, Pairs::Values(p)) => {
            Ok((p.iter().map(|(t, y)| (t - y).powi(2)).sum::<f64>() / p.len() as f64).sqrt())
        }
        (MetricName::Mae, Pairs::Values(p)) => {
            Ok(p.iter().map(|(t, y)| (t - y).abs()).sum::<f64>() / p.len() as f64)
        }
        (MetricName::Mape, Pairs::Values(p)) => {
            // scikit-learn's definition: |t - y| / max(|t|, ε), as a fraction (not percent).
            Ok(p.iter()
                .map(|(t, y)| (t - y).abs() / t.abs().max(f64::EPSILON))
                .sum::<f64>()
                / p.len() as f64)
        }
        _ => Err(wrong_kind(metric)),
    }
}

/// The unweighted mean of per-class F1 over every class that occurs in truth or prediction.
fn macro_f1(pairs: &[(String, String)]) -> f64 {
    let classes: BTreeSet<&str> = pairs
        .iter()
        .flat_map(|(t, y)| [t.as_str(), y.as_str()])
        .collect();
    let total: f64 = classes
        .iter()
        .map(|class| {
            let tp = pairs
                .iter()
                .filter(|(t, y)| t == class && y == class)
                .count() as f64;
            let fp = pairs
                .iter()
                .filter(|(t, y)| t != class && y == class)
                .count() as f64;
            let fn_ = pairs
                .iter()
                .filter(|(t, y)| t == class && y != class)
                .count() as f64;
            if tp == 0.0 {
                0.0
            } else {
                2.0 * tp / (2.0 * tp + fp + fn_)
            }
        })
        .sum();
    total / classes.len() as f64
}

/// The Mann–Whitney form: the mean rank of positives among all, ties sharing their average rank.
fn roc_auc(pairs: &[(bool, f64)]) -> Result<f64, ScenarioError> {
    let positives = pairs.iter().filter(|(p, _)| *p).count() as f64;
    let negatives = pairs.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return Err(ScenarioError::Metric {
            metric: "roc_auc",
            reason: "needs both positive and negative items".into(),
        });
    }
    let mut order: Vec<usize> = (0..pairs.len()).collect();
    order.sort_by(|&a, &b| pairs[a].1.total_cmp(&pairs[b].1));
    let mut rank_sum_positive = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start;
        while end + 1 < order.len() && pairs[order[end + 1]].1 == pairs[order[start]].1 {
            end += 1;
        }
        // Ranks start + 1 ..= end + 1 share their average.
        let average_rank = (start + end) as f64 / 2.0 + 1.0;
        rank_sum_positive +=
            order[start..=end].iter().filter(|&&i| pairs[i].0).count() as f64 * average_rank;
        start = end + 1;
    }
    Ok((rank_sum_positive - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

/// How many resamples a score's interval is drawn from, unless a caller needs otherwise.
pub const BOOTSTRAP_RESAMPLES: usize = 1000;

/// The seeded generator behind every resample: xorshift64*, small, fast and stable, which
/// is all a resampler needs. Its sequence is part of the platform's reproducibility promise.
struct Resampler(u64);

impl Resampler {
    fn new(seed: u64) -> Self {
        Self(seed ^ 0x2545_f491_4f6c_dd1d)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Draws `counts.len()` items with replacement; `counts[i]` is how often item `i` came up.
    fn draw(&mut self, counts: &mut [u32]) {
        let n = counts.len() as u64;
        counts.fill(0);
        for _ in 0..n {
            counts[(self.next() % n) as usize] += 1;
        }
    }
}

/// Per class, the weighted true positives, false positives and false negatives of some
/// (truth, prediction) items, and whether the class occurs in either.
pub(crate) struct Confusion {
    true_positives: Vec<f64>,
    false_positives: Vec<f64>,
    false_negatives: Vec<f64>,
    present: Vec<bool>,
}

impl Confusion {
    /// Over (truth, prediction, how many times) with classes numbered below `classes`.
    pub(crate) fn of(classes: usize, items: impl Iterator<Item = (usize, usize, u32)>) -> Self {
        let mut confusion = Self {
            true_positives: vec![0.0; classes],
            false_positives: vec![0.0; classes],
            false_negatives: vec![0.0; classes],
            present: vec![false; classes],
        };
        for (t, y, times) in items {
            if times == 0 {
                continue;
            }
            let c = f64::from(times);
            confusion.present[t] = true;
            confusion.present[y] = true;
            if t == y {
                confusion.true_positives[t] += c;
            } else {
                confusion.false_positives[y] += c;
                confusion.false_negatives[t] += c;
            }
        }
        confusion
    }

    /// The unweighted mean of per-class F1 over the classes that occur.
    pub(crate) fn macro_f1(&self) -> f64 {
        let (total, count) = (0..self.present.len()).filter(|&k| self.present[k]).fold(
            (0.0, 0.0),
            |(total, count), k| {
                let tp = self.true_positives[k];
                let f1 = if tp == 0.0 {
                    0.0
                } else {
                    2.0 * tp / (2.0 * tp + self.false_positives[k] + self.false_negatives[k])
                };
                (total + f1, count + 1.0)
            },
        );
        total / count
    }
}

/// The pairs arranged once so that each resample is scored in one pass over its counts,
/// without copying pairs or sorting again: a resample is a multiset of the items.
pub(crate) enum Weighted<'a> {
    Labels {
        truth: Vec<usize>,
        predicted: Vec<usize>,
        classes: usize,
        macro_f1: bool,
    },
    /// Items in ascending score order, cut into groups of equal scores (ties share ranks);
    /// in the same order, 1 for a positive item and 0 for a negative one, so that the pass
    /// adds without a branch to mispredict.
    Scores {
        order: Vec<usize>,
        group_ends: Vec<usize>,
        positive_in_order: Vec<u64>,
    },
    Values(MetricName, &'a [(f64, f64)]),
}

impl<'a> Weighted<'a> {
    pub(crate) fn new(metric: MetricName, pairs: &'a Pairs) -> Result<Self, ScenarioError> {
        match (metric, pairs) {
            (MetricName::Accuracy | MetricName::MacroF1, Pairs::Labels(p)) => {
                let mut ids = std::collections::HashMap::new();
                let mut id_of = |class: &'a str| {
                    let next = ids.len();
                    *ids.entry(class).or_insert(next)
                };
                let (truth, predicted) = p
                    .iter()
                    .map(|(t, y)| (id_of(t.as_str()), id_of(y.as_str())))
                    .unzip();
                Ok(Self::Labels {
                    truth,
                    predicted,
                    classes: ids.len(),
                    macro_f1: metric == MetricName::MacroF1,
                })
            }
            (MetricName::RocAuc, Pairs::Scores(p)) => {
                let mut order: Vec<usize> = (0..p.len()).collect();
                order.sort_by(|&a, &b| p[a].1.total_cmp(&p[b].1));
                let group_ends = (1..=order.len())
                    .filter(|&end| end == order.len() || p[order[end]].1 != p[order[end - 1]].1)
                    .collect();
                let positive_in_order = order.iter().map(|&item| u64::from(p[item].0)).collect();
                Ok(Self::Scores {
                    order,
                    group_ends,
                    positive_in_order,
                })
            }
            (MetricName::Rmse | MetricName::Mae | MetricName::Mape, Pairs::Values(p)) => {
                Ok(Self::Values(metric, p))
            }
            _ => Err(wrong_kind(metric)),
        }
    }

    /// The metric over the resample in which item `i` occurs `counts[i]` times; `None` when
    /// it has no value (a ROC AUC resample without both classes).
    pub(crate) fn score(&self, counts: &[u32]) -> Option<f64> {
        let n: f64 = counts.iter().map(|&c| f64::from(c)).sum();
        match self {
            Self::Labels {
                truth,
                predicted,
                classes,
                macro_f1,
            } => {
                let confusion = Confusion::of(
                    *classes,
                    truth
                        .iter()
                        .zip(predicted)
                        .zip(counts)
                        .map(|((&t, &y), &c)| (t, y, c)),
                );
                Some(if *macro_f1 {
                    confusion.macro_f1()
                } else {
                    confusion.true_positives.iter().sum::<f64>() / n
                })
            }
            Self::Scores {
                order,
                group_ends,
                positive_in_order,
            } => {
                // Mann–Whitney: each positive beats every negative scored below it and half
                // of those tied with it, weighted by how often each item was drawn. Counted
                // in integers (twice the wins, so halves stay whole): exact, and each sum
                // waits one cycle on the last rather than a floating-point addition's four.
                let (mut negatives_below, mut twice_wins, mut positives) = (0u64, 0u64, 0u64);
                let mut start = 0;
                for &end in group_ends {
                    let (mut group_positives, mut group_negatives) = (0u64, 0u64);
                    for (&item, &positive) in
                        order[start..end].iter().zip(&positive_in_order[start..end])
                    {
                        // All of c to one side and none to the other.
                        let c = u64::from(counts[item]);
                        group_positives += c * positive;
                        group_negatives += c - c * positive;
                    }
                    twice_wins += group_positives * (2 * negatives_below + group_negatives);
                    negatives_below += group_negatives;
                    positives += group_positives;
                    start = end;
                }
                (positives > 0 && negatives_below > 0)
                    .then(|| twice_wins as f64 / (2.0 * positives as f64 * negatives_below as f64))
            }
            Self::Values(metric, p) => {
                let sum = |f: &dyn Fn(f64, f64) -> f64| {
                    p.iter()
                        .zip(counts)
                        .map(|(&(t, y), &c)| f64::from(c) * f(t, y))
                        .sum::<f64>()
                };
                Some(match metric {
                    MetricName::Rmse => (sum(&|t, y| (t - y).powi(2)) / n).sqrt(),
                    MetricName::Mae => sum(&|t, y| (t - y).abs()) / n,
                    _ => sum(&|t, y| (t - y).abs() / t.abs().max(f64::EPSILON)) / n,
                })
            }
        }
    }
}

/// A 95 % percentile interval from seeded bootstrap resamples, so a judge can tell which
/// rank differences mean something. The same pairs, count and seed give the same interval
/// on every platform. Each resample costs one pass over the items, whatever the metric.
pub fn bootstrap_interval(
    metric: MetricName,
    pairs: &Pairs,
    resamples: usize,
    seed: u64,
) -> Result<(f64, f64), ScenarioError> {
    let weighted = Weighted::new(metric, pairs)?;
    let mut resampler = Resampler::new(seed);
    let mut counts = vec![0u32; pairs.len()];
    let mut values = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        if counts.is_empty() {
            break;
        }
        resampler.draw(&mut counts);
        // A resample without both classes has no AUC; it is skipped rather than guessed.
        if let Some(value) = weighted.score(&counts) {
            values.push(value);
        }
    }
    if values.is_empty() {
        return Err(ScenarioError::Metric {
            metric: metric.as_str(),
            reason: "no resample could be scored".into(),
        });
    }
    values.sort_by(f64::total_cmp);
    let at = |q: f64| values[((values.len() - 1) as f64 * q).round() as usize];
    Ok((at(0.025), at(0.975)))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The resample itself, scored by `compute`: what the weighted pass must agree with.
    fn naive(metric: MetricName, pairs: &Pairs, seed: u64) -> Vec<Option<f64>> {
        let mut resampler = Resampler::new(seed);
        (0..50)
            .map(|_| {
                let n = pairs.len();
                let indices: Vec<usize> = (0..n)
                    .map(|_| (resampler.next() % n as u64) as usize)
                    .collect();
                compute(metric, &pairs.pick(&indices)).ok()
            })
            .collect()
    }

    fn weighted(metric: MetricName, pairs: &Pairs, seed: u64) -> Vec<Option<f64>> {
        let scorer = Weighted::new(metric, pairs).unwrap();
        let mut resampler = Resampler::new(seed);
        let mut counts = vec![0; pairs.len()];
        (0..50)
            .map(|_| {
                resampler.draw(&mut counts);
                scorer.score(&counts)
            })
            .collect()
    }

    #[test]
    fn one_pass_resamples_score_exactly_like_the_resamples_themselves() {
        let mut r = Resampler::new(99);
        let mut uniform = move || (r.next() % 1000) as f64 / 1000.0;
        let labels = Pairs::Labels(
            (0..37)
                .map(|_| {
                    (
                        format!("{}", (uniform() * 3.0) as u8),
                        format!("{}", (uniform() * 4.0) as u8),
                    )
                })
                .collect(),
        );
        // Scores rounded to one decimal, so there are many ties.
        let scores = Pairs::Scores(
            (0..41)
                .map(|_| (uniform() < 0.3, (uniform() * 10.0).round() / 10.0))
                .collect(),
        );
        let values = Pairs::Values(
            (0..29)
                .map(|_| (uniform() * 5.0 + 0.5, uniform() * 5.0))
                .collect(),
        );
        for (metric, pairs) in [
            (MetricName::Accuracy, &labels),
            (MetricName::MacroF1, &labels),
            (MetricName::RocAuc, &scores),
            (MetricName::Rmse, &values),
            (MetricName::Mae, &values),
            (MetricName::Mape, &values),
        ] {
            for (a, b) in naive(metric, pairs, 5)
                .into_iter()
                .zip(weighted(metric, pairs, 5))
            {
                match (a, b) {
                    (Some(a), Some(b)) => assert!((a - b).abs() < 1e-9, "{metric:?}: {a} vs {b}"),
                    (a, b) => assert_eq!(a.is_some(), b.is_some(), "{metric:?}"),
                }
            }
        }
    }

    #[test]
    fn pairs_cross_the_wire_whole_and_a_missing_score_stays_the_worst() {
        for pairs in [
            Pairs::Labels(vec![("cat".into(), "dog".into()), ("1".into(), "1".into())]),
            Pairs::Values(vec![(1.5, 2.25), (-3.0, 0.1)]),
            Pairs::Scores(vec![
                (true, 0.75),
                (true, f64::NEG_INFINITY),
                (false, f64::INFINITY),
            ]),
        ] {
            let wire = serde_json::to_string(&pairs).unwrap();
            let back: Pairs = serde_json::from_str(&wire).unwrap();
            assert_eq!(back, pairs, "{wire}");
        }
        let scores = serde_json::to_value(Pairs::Scores(vec![(true, f64::NEG_INFINITY)])).unwrap();
        assert_eq!(
            scores,
            serde_json::json!({"kind": "scores", "positive": [true], "score": [null]})
        );
        let uneven = serde_json::from_value::<Pairs>(
            serde_json::json!({"kind": "values", "truth": [1.0], "predicted": []}),
        );
        assert!(uneven.is_err());
    }
}
