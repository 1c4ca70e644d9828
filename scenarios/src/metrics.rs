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

/// A 95 % percentile interval from seeded bootstrap resamples, so a judge can tell which
/// rank differences mean something. The same pairs, count and seed give the same interval
/// on every platform.
pub fn bootstrap_interval(
    metric: MetricName,
    pairs: &Pairs,
    resamples: usize,
    seed: u64,
) -> Result<(f64, f64), ScenarioError> {
    let n = pairs.len();
    let mut state = seed ^ 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        // xorshift64*: small, fast and stable, which is all a resampler needs.
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        state.wrapping_mul(0x2545_f491_4f6c_dd1d)
    };
    let mut values = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        let indices: Vec<usize> = (0..n).map(|_| (next() % n as u64) as usize).collect();
        // A resample without both classes has no AUC; it is skipped rather than guessed.
        if let Ok(value) = compute(metric, &pairs.pick(&indices)) {
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
