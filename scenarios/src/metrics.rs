//! The primary metrics and their bootstrap confidence intervals.
//!
//! Classification labels are compared as text ([`class_of`] turns a JSON label or
//! prediction into it); regression values as numbers. ROC AUC takes the predicted score of
//! the positive class and averages the ranks of ties, as scikit-learn does.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::ScenarioError;
use crate::package::MetricName;

/// What a metric is computed over: one item per scored query.
#[derive(Debug, Clone, PartialEq)]
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

fn wrong_kind(metric: MetricName) -> ScenarioError {
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

/// The pairs arranged once so that each resample is scored in one pass over its counts,
/// without copying pairs or sorting again: a resample is a multiset of the items.
enum Weighted<'a> {
    Labels {
        truth: Vec<usize>,
        predicted: Vec<usize>,
        classes: usize,
        macro_f1: bool,
    },
    /// Items in ascending score order, cut into groups of equal scores (ties share ranks).
    Scores {
        order: Vec<usize>,
        group_ends: Vec<usize>,
        positive: Vec<bool>,
    },
    Values(MetricName, &'a [(f64, f64)]),
}

impl<'a> Weighted<'a> {
    fn new(metric: MetricName, pairs: &'a Pairs) -> Result<Self, ScenarioError> {
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
                Ok(Self::Scores {
                    order,
                    group_ends,
                    positive: p.iter().map(|(positive, _)| *positive).collect(),
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
    fn score(&self, counts: &[u32]) -> Option<f64> {
        let n: f64 = counts.iter().map(|&c| f64::from(c)).sum();
        match self {
            Self::Labels {
                truth,
                predicted,
                classes,
                macro_f1,
            } => {
                let (mut tp, mut fp, mut fn_) = (
                    vec![0.0; *classes],
                    vec![0.0; *classes],
                    vec![0.0; *classes],
                );
                let mut present = vec![false; *classes];
                for ((&t, &y), &c) in truth.iter().zip(predicted).zip(counts) {
                    if c == 0 {
                        continue;
                    }
                    let c = f64::from(c);
                    present[t] = true;
                    present[y] = true;
                    if t == y {
                        tp[t] += c;
                    } else {
                        fp[y] += c;
                        fn_[t] += c;
                    }
                }
                if !macro_f1 {
                    return Some(tp.iter().sum::<f64>() / n);
                }
                let (total, count) =
                    (0..*classes)
                        .filter(|&k| present[k])
                        .fold((0.0, 0.0), |(total, count), k| {
                            let f1 = if tp[k] == 0.0 {
                                0.0
                            } else {
                                2.0 * tp[k] / (2.0 * tp[k] + fp[k] + fn_[k])
                            };
                            (total + f1, count + 1.0)
                        });
                Some(total / count)
            }
            Self::Scores {
                order,
                group_ends,
                positive,
            } => {
                // Mann–Whitney: each positive beats every negative scored below it and half
                // of those tied with it, weighted by how often each item was drawn.
                let (mut negatives_below, mut wins, mut positives) = (0.0, 0.0, 0.0);
                let mut start = 0;
                for &end in group_ends {
                    let (mut group_positives, mut group_negatives) = (0.0, 0.0);
                    for &item in &order[start..end] {
                        let c = f64::from(counts[item]);
                        if positive[item] {
                            group_positives += c;
                        } else {
                            group_negatives += c;
                        }
                    }
                    wins += group_positives * (negatives_below + group_negatives / 2.0);
                    negatives_below += group_negatives;
                    positives += group_positives;
                    start = end;
                }
                (positives > 0.0 && negatives_below > 0.0)
                    .then(|| wins / (positives * negatives_below))
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
}
