//! The arithmetic of judging: measured criteria normalised across the finalists, judges'
//! scores combined (mean, or trimmed mean from five judges), and the weighted total.

use serde::Serialize;

/// From this many judges on, the highest and the lowest score of a criterion are dropped
/// before the mean, so one outlier cannot carry a finalist.
pub const TRIM_FROM_JUDGES: usize = 5;

/// Each finalist's measured value as a share of the best finalist's, in `0..=1`: value ÷
/// best where higher is better, best ÷ value where lower is better. A finalist without a
/// value gets 0; when the best value is 0 (nothing measured, say no accelerator used) every
/// finalist at 0 gets 1.
pub fn normalise(values: &[Option<f64>], higher_is_better: bool) -> Vec<f64> {
    let present = values.iter().flatten().copied().filter(|v| v.is_finite());
    let best = if higher_is_better {
        present.fold(None, |best: Option<f64>, v| {
            Some(best.map_or(v, |b| b.max(v)))
        })
    } else {
        present.fold(None, |best: Option<f64>, v| {
            Some(best.map_or(v, |b| b.min(v)))
        })
    };
    values
        .iter()
        .map(|value| match (value, best) {
            (Some(v), Some(b)) if v.is_finite() => share(*v, b, higher_is_better),
            _ => 0.0,
        })
        .collect()
}

fn share(value: f64, best: f64, higher_is_better: bool) -> f64 {
    let (numerator, denominator) = if higher_is_better {
        (value, best)
    } else {
        (best, value)
    };
    if denominator == 0.0 {
        return if value == best { 1.0 } else { 0.0 };
    }
    (numerator / denominator).clamp(0.0, 1.0)
}

/// The judges' scores of one finalist on one criterion, combined.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JudgedSummary {
    /// The mean, or the trimmed mean when `trimmed`.
    pub value: f64,
    pub judges: usize,
    pub trimmed: bool,
    pub min: i32,
    pub max: i32,
    /// `max - min`: how far the judges are apart.
    pub spread: i32,
    /// The population standard deviation of the scores.
    pub stdev: f64,
}

/// `None` when no judge has scored.
pub fn combine(scores: &[i32]) -> Option<JudgedSummary> {
    let min = *scores.iter().min()?;
    let max = *scores.iter().max()?;
    let mut sorted = scores.to_vec();
    sorted.sort_unstable();
    let trimmed = sorted.len() >= TRIM_FROM_JUDGES;
    let kept = if trimmed {
        &sorted[1..sorted.len() - 1]
    } else {
        &sorted[..]
    };
    let mean_of = |s: &[i32]| s.iter().map(|&v| f64::from(v)).sum::<f64>() / s.len() as f64;
    let all_mean = mean_of(&sorted);
    let variance = sorted
        .iter()
        .map(|&v| (f64::from(v) - all_mean).powi(2))
        .sum::<f64>()
        / sorted.len() as f64;
    Some(JudgedSummary {
        value: mean_of(kept),
        judges: scores.len(),
        trimmed,
        min,
        max,
        spread: max - min,
        stdev: variance.sqrt(),
    })
}

/// Points a criterion of `weight` gives for a share in `0..=1`.
pub fn points(weight: i32, share: f64) -> f64 {
    f64::from(weight) * share
}

/// Rounded to two decimals for display; totals are summed before rounding.
pub fn round2(value: f64) -> f64 {
    (value * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn shares_of_the_best() {
        assert_eq!(
            normalise(&[Some(0.8), Some(0.4), None], true),
            [1.0, 0.5, 0.0]
        );
        assert_eq!(normalise(&[Some(120.0), Some(60.0)], false), [0.5, 1.0]);
        assert_eq!(normalise(&[Some(0.0), Some(0.0)], false), [1.0, 1.0]);
        assert_eq!(normalise(&[Some(0.0), Some(3.0)], false), [1.0, 0.0]);
        assert_eq!(normalise(&[Some(0.0), Some(0.0)], true), [1.0, 1.0]);
        assert_eq!(normalise(&[None, None], true), [0.0, 0.0]);
    }

    #[test]
    fn mean_below_five_judges_trimmed_mean_from_five() {
        let four = combine(&[8, 6, 7, 3]).unwrap();
        assert_eq!((four.value, four.trimmed, four.spread), (6.0, false, 5));
        let five = combine(&[10, 6, 7, 8, 1]).unwrap();
        assert_eq!((five.value, five.trimmed, five.spread), (7.0, true, 9));
        assert_eq!((five.min, five.max, five.judges), (1, 10, 5));
        assert!((combine(&[2, 4]).unwrap().stdev - 1.0).abs() < 1e-12);
        assert_eq!(combine(&[]), None);
    }

    #[test]
    fn points_and_rounding() {
        assert_eq!(points(20, 0.7), 14.0);
        assert_eq!(round2(44.382_022), 44.38);
        assert_eq!(round2(2.0 / 3.0), 0.67);
    }
}
