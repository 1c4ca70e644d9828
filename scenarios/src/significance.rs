//! Whether one run truly scores better than another on the same items: a paired bootstrap.
//!
//! Two runs scored on the same hidden items differ partly by skill and partly by which
//! items happened to be in the set. Resampling the items (the same resampled indices for
//! both runs, so an item hard for one is hard for the other in that resample too) and
//! counting how often the upper run comes out ahead estimates the probability that it
//! would stay ahead on another draw of items like these. Below 95 % the two are
//! statistically tied.

use std::collections::HashMap;

use crate::ScenarioError;
use crate::metrics::{Confusion, Pairs, Weighted, wrong_kind};
use crate::package::{Direction, MetricName};

/// The probability below which two adjacent rows of a board are statistically tied.
pub const SIGNIFICANCE: f64 = 0.95;

/// Two runs' metrics closer than this (relatively) are equal: a resample that both score
/// the same counts half for each, whatever rounding the two sums took.
const EQUAL_WITHIN: f64 = 1e-12;

fn not_paired(metric: MetricName, reason: &str) -> ScenarioError {
    ScenarioError::Metric {
        metric: metric.as_str(),
        reason: format!("the two runs cannot be paired: {reason}"),
    }
}

/// Whether `upper` and `lower` are over the same items in the same order, as far as the
/// pairs can tell: the same count and the same truth item by item.
fn same_items(upper: &Pairs, lower: &Pairs) -> bool {
    match (upper, lower) {
        (Pairs::Labels(a), Pairs::Labels(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.0 == y.0)
        }
        (Pairs::Values(a), Pairs::Values(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.0.to_bits() == y.0.to_bits())
        }
        (Pairs::Scores(a), Pairs::Scores(b)) => {
            a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.0 == y.0)
        }
        _ => false,
    }
}

/// The seeded generator of the paired resamples: wyrand, whose state advances by one
/// addition, so draws do not wait on each other the way a shift-register generator's do;
/// a page of a board draws some 75 million items.
struct Resampler(u64);

impl Resampler {
    fn new(seed: u64) -> Self {
        Self(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0xa076_1d64_78bd_642f);
        let product = u128::from(self.0) * u128::from(self.0 ^ 0xe703_7ed1_a0b4_28db);
        (product >> 64) as u64 ^ product as u64
    }

    /// Draws `n` items with replacement and calls `drawn` with each. Two draws come from
    /// each 64-bit number, each 32-bit half scaled to `0..n` by a multiplication rather than
    /// a division (Lemire's method; its bias, under n / 2³², is far below what a thousand
    /// resamples can see).
    fn each_draw(&mut self, n: usize, mut drawn: impl FnMut(usize)) {
        let scale = n as u64;
        let index = |half: u64| ((half * scale) >> 32) as usize;
        for _ in 0..n / 2 {
            let bits = self.next();
            drawn(index(bits >> 32));
            drawn(index(bits & 0xffff_ffff));
        }
        if n % 2 == 1 {
            drawn(index(self.next() >> 32));
        }
    }
}

/// Both runs arranged once so that a resample costs little more than its draws.
enum PairedScorer<'a> {
    /// A metric that is a mean of per-item values (accuracy: 1 for a right answer; RMSE,
    /// MAE, MAPE: the item's loss) compares the two runs by the difference of their sums,
    /// to which only the items they score differently contribute: `differing` holds each
    /// with upper's value less lower's. `gain` is +1 when a larger value is better, -1 when
    /// a smaller one is.
    Additive {
        differing: Vec<(usize, f64)>,
        gain: f64,
    },
    /// Macro-F1 depends on the items only through how often each combination of (truth,
    /// upper's answer, lower's answer) was drawn, and there are few combinations.
    Combinations {
        combination_of: Vec<usize>,
        /// (truth, upper's answer, lower's answer) as class numbers.
        classes_of: Vec<[usize; 3]>,
        classes: usize,
    },
    /// ROC AUC depends on the items only through how many positives and negatives of each
    /// run's [`Segments`] were drawn.
    Segments { upper: Segments, lower: Segments },
    /// Scoring each run on the resample in full: what the others are checked against.
    #[cfg_attr(
        not(test),
        expect(dead_code, reason = "the shortcuts' reference in tests")
    )]
    Whole {
        upper: Weighted<'a>,
        lower: Weighted<'a>,
        direction: Direction,
    },
}

/// A resample's outcome: `Some(true)` when the upper run scores better, `Some(false)`
/// when the lower one does, `None` when both score the same.
type Outcome = Option<bool>;

fn outcome(upper: f64, lower: f64, direction: Direction) -> Outcome {
    let scale = upper.abs().max(lower.abs()).max(1.0);
    if (upper - lower).abs() <= EQUAL_WITHIN * scale {
        return None;
    }
    Some(match direction {
        Direction::Higher => upper > lower,
        Direction::Lower => upper < lower,
    })
}

impl<'a> PairedScorer<'a> {
    fn new(metric: MetricName, upper: &'a Pairs, lower: &'a Pairs) -> Result<Self, ScenarioError> {
        let additive = |a: Vec<f64>, b: Vec<f64>, gain: f64| Self::Additive {
            differing: a
                .iter()
                .zip(&b)
                .enumerate()
                .filter(|(_, (x, y))| x != y)
                .map(|(item, (x, y))| (item, x - y))
                .collect(),
            gain,
        };
        let loss = |p: &[(f64, f64)]| -> Vec<f64> {
            p.iter()
                .map(|&(t, y)| match metric {
                    // The square root is monotone: comparing sums of squares compares RMSEs.
                    MetricName::Rmse => (t - y).powi(2),
                    MetricName::Mae => (t - y).abs(),
                    _ => (t - y).abs() / t.abs().max(f64::EPSILON),
                })
                .collect()
        };
        Ok(match (metric, upper, lower) {
            (MetricName::Accuracy, Pairs::Labels(a), Pairs::Labels(b)) => {
                let right = |p: &[(String, String)]| -> Vec<f64> {
                    p.iter().map(|(t, y)| f64::from(u8::from(t == y))).collect()
                };
                additive(right(a), right(b), 1.0)
            }
            (
                MetricName::Rmse | MetricName::Mae | MetricName::Mape,
                Pairs::Values(a),
                Pairs::Values(b),
            ) => additive(loss(a), loss(b), -1.0),
            (MetricName::MacroF1, Pairs::Labels(a), Pairs::Labels(b)) => {
                let mut class_ids: HashMap<&str, usize> = HashMap::new();
                let mut class = |name: &'a str| {
                    let next = class_ids.len();
                    *class_ids.entry(name).or_insert(next)
                };
                let mut combination_ids: HashMap<[usize; 3], usize> = HashMap::new();
                let mut classes_of = Vec::new();
                let combination_of = a
                    .iter()
                    .zip(b)
                    .map(|((t, y), (_, z))| {
                        let key = [class(t), class(y), class(z)];
                        *combination_ids.entry(key).or_insert_with(|| {
                            classes_of.push(key);
                            classes_of.len() - 1
                        })
                    })
                    .collect();
                Self::Combinations {
                    combination_of,
                    classes_of,
                    classes: class_ids.len(),
                }
            }
            (MetricName::RocAuc, Pairs::Scores(a), Pairs::Scores(b)) => Self::Segments {
                upper: Segments::of(a),
                lower: Segments::of(b),
            },
            _ => return Err(wrong_kind(metric)),
        })
    }

    /// How many counters a resample needs to work in.
    fn room(&self, n: usize) -> usize {
        match self {
            Self::Segments { upper, lower } => 2 * (upper.count + lower.count),
            Self::Combinations { classes_of, .. } => classes_of.len(),
            Self::Additive { .. } | Self::Whole { .. } => n,
        }
    }

    /// Draws one resample of the `n` items and compares the runs on it; `None` when the
    /// resample has no value (ROC AUC without both classes). `counts` is room to work in.
    fn resample(&self, resampler: &mut Resampler, n: usize, counts: &mut [u32]) -> Option<Outcome> {
        match self {
            Self::Additive { differing, gain } => {
                counts.fill(0);
                resampler.each_draw(n, |item| counts[item] += 1);
                let (mut sum, mut scale) = (0.0, 0.0);
                for &(item, difference) in differing {
                    let drawn = f64::from(counts[item]);
                    sum += drawn * difference;
                    scale += drawn * difference.abs();
                }
                // Equal sums (within rounding) are a tie; `scale` is what rounding scales with.
                Some((sum.abs() > EQUAL_WITHIN * scale).then(|| sum * gain > 0.0))
            }
            Self::Combinations {
                combination_of,
                classes_of,
                classes,
            } => {
                counts[..classes_of.len()].fill(0);
                resampler.each_draw(n, |item| counts[combination_of[item]] += 1);
                let drawn = &counts[..classes_of.len()];
                Some(outcome(
                    macro_f1_of(drawn, classes_of, *classes, 1),
                    macro_f1_of(drawn, classes_of, *classes, 2),
                    Direction::Higher,
                ))
            }
            Self::Segments { upper, lower } => {
                let (upper_drawn, rest) = counts.split_at_mut(2 * upper.count);
                let lower_drawn = &mut rest[..2 * lower.count];
                upper_drawn.fill(0);
                lower_drawn.fill(0);
                resampler.each_draw(n, |item| {
                    upper_drawn[upper.slot_of[item]] += 1;
                    lower_drawn[lower.slot_of[item]] += 1;
                });
                Some(outcome(
                    Segments::roc_auc(upper_drawn)?,
                    Segments::roc_auc(lower_drawn)?,
                    Direction::Higher,
                ))
            }
            Self::Whole {
                upper,
                lower,
                direction,
            } => {
                counts.fill(0);
                resampler.each_draw(n, |item| counts[item] += 1);
                Some(outcome(
                    upper.score(counts)?,
                    lower.score(counts)?,
                    *direction,
                ))
            }
        }
    }
}

/// One run's items in ascending order of score, cut into segments within which every item
/// has the same negatives below it: runs of positives with no negative scored between or
/// alike, runs of negatives, and groups of equal scores holding both. ROC AUC (the
/// Mann–Whitney statistic) then needs only how many positives and negatives of each segment
/// a resample drew — and a good model's scores have few segments.
struct Segments {
    /// Per item: twice its segment, plus one for a negative item.
    slot_of: Vec<usize>,
    count: usize,
}

impl Segments {
    fn of(pairs: &[(bool, f64)]) -> Self {
        let mut order: Vec<usize> = (0..pairs.len()).collect();
        order.sort_by(|&a, &b| pairs[a].1.total_cmp(&pairs[b].1));
        let mut slot_of = vec![0; pairs.len()];
        // What the segment so far holds: Some(sign) when all its items are of one sign.
        let (mut count, mut current): (usize, Option<Option<bool>>) = (0, None);
        let mut start = 0;
        while start < order.len() {
            let score = pairs[order[start]].1;
            let end = (start..order.len())
                .find(|&k| pairs[order[k]].1.total_cmp(&score).is_ne())
                .unwrap_or(order.len());
            let group = &order[start..end];
            let sign = group
                .iter()
                .all(|&i| pairs[i].0 == pairs[group[0]].0)
                .then_some(pairs[group[0]].0);
            // A group of one sign joins a segment of the same sign; anything else starts anew.
            if sign.is_none() || current != Some(sign) {
                count += 1;
                current = Some(sign);
            }
            for &item in group {
                slot_of[item] = 2 * (count - 1) + usize::from(!pairs[item].0);
            }
            start = end;
        }
        Self { slot_of, count }
    }

    /// ROC AUC from how many positives (even slots) and negatives (odd) of each segment
    /// were drawn; `None` without both. Counted in integers, twice the wins so halves for
    /// ties stay whole.
    fn roc_auc(drawn: &[u32]) -> Option<f64> {
        let (mut negatives_below, mut twice_wins, mut positives) = (0u64, 0u64, 0u64);
        for segment in drawn.chunks_exact(2) {
            let (p, n) = (u64::from(segment[0]), u64::from(segment[1]));
            twice_wins += p * (2 * negatives_below + n);
            negatives_below += n;
            positives += p;
        }
        (positives > 0 && negatives_below > 0)
            .then(|| twice_wins as f64 / (2.0 * positives as f64 * negatives_below as f64))
    }
}

/// Macro-F1 of one run (`answer` 1 for upper, 2 for lower) from how often each combination
/// of classes was drawn; the classes averaged over are those in the resample's truth or in
/// that run's answers, as [`crate::metrics::compute`] has it.
fn macro_f1_of(drawn: &[u32], classes_of: &[[usize; 3]], classes: usize, answer: usize) -> f64 {
    Confusion::of(
        classes,
        drawn
            .iter()
            .zip(classes_of)
            .map(|(&times, combination)| (combination[0], combination[answer], times)),
    )
    .macro_f1()
}

/// The probability that `upper` truly scores better than `lower` by `metric` (in its
/// direction): the share of `resamples` seeded bootstrap resamples of the items in which it
/// does, a resample where both score the same counting half. Both runs are scored on the
/// same resampled items. Identical runs give 0.5; `p(a, b) + p(b, a) = 1` for the same seed.
/// A resample with no value (ROC AUC without both classes) is skipped.
///
/// Errors when the pairs are not over the same items (another count or other truths), are
/// not of the metric's kind, or no resample could be scored.
pub fn paired_bootstrap(
    metric: MetricName,
    upper: &Pairs,
    lower: &Pairs,
    resamples: usize,
    seed: u64,
) -> Result<f64, ScenarioError> {
    if upper.is_empty() {
        return Err(not_paired(metric, "there are no items"));
    }
    if !same_items(upper, lower) {
        return Err(not_paired(
            metric,
            "they were not scored on the same items in the same order",
        ));
    }
    let scorer = PairedScorer::new(metric, upper, lower)?;
    let mut resampler = Resampler::new(seed);
    let mut counts = vec![0u32; scorer.room(upper.len())];
    let (mut wins, mut scored) = (0.0, 0u32);
    for _ in 0..resamples {
        let Some(outcome) = scorer.resample(&mut resampler, upper.len(), &mut counts) else {
            continue;
        };
        scored += 1;
        wins += match outcome {
            Some(true) => 1.0,
            Some(false) => 0.0,
            None => 0.5,
        };
    }
    if scored == 0 {
        return Err(ScenarioError::Metric {
            metric: metric.as_str(),
            reason: "no resample could be scored".into(),
        });
    }
    Ok(wins / f64::from(scored))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const EVERY_METRIC: [MetricName; 6] = [
        MetricName::Accuracy,
        MetricName::MacroF1,
        MetricName::RocAuc,
        MetricName::Rmse,
        MetricName::Mae,
        MetricName::Mape,
    ];

    /// A seeded uniform number in [0, 1).
    fn uniform(r: &mut Resampler) -> f64 {
        (r.next() % 1_000_000) as f64 / 1_000_000.0
    }

    /// Truths for `n` items of the metric's kind, and a run over them that is right with
    /// probability `skill` (labels), close by `1 - skill` (values), or ranks positives up by
    /// `skill` (scores).
    fn run(metric: MetricName, n: usize, skill: f64, seed: u64) -> Pairs {
        let mut truth = Resampler::new(7);
        let mut noise = Resampler::new(seed);
        match metric {
            MetricName::Accuracy | MetricName::MacroF1 => Pairs::Labels(
                (0..n)
                    .map(|_| {
                        let t = (uniform(&mut truth) * 3.0) as u8;
                        let right = uniform(&mut noise) < skill;
                        let y = if right { t } else { (t + 1) % 3 };
                        (t.to_string(), y.to_string())
                    })
                    .collect(),
            ),
            MetricName::RocAuc => Pairs::Scores(
                (0..n)
                    .map(|_| {
                        let positive = uniform(&mut truth) < 0.4;
                        let signal = if positive { skill } else { 0.0 };
                        (positive, signal + uniform(&mut noise))
                    })
                    .collect(),
            ),
            _ => Pairs::Values(
                (0..n)
                    .map(|_| {
                        let t = 1.0 + uniform(&mut truth) * 10.0;
                        (t, t + (uniform(&mut noise) - 0.5) * 4.0 * (1.0 - skill))
                    })
                    .collect(),
            ),
        }
    }

    #[test]
    fn identical_runs_are_tied_at_one_half() {
        for metric in EVERY_METRIC {
            let a = run(metric, 300, 0.7, 1);
            let p = paired_bootstrap(metric, &a, &a, 1000, 42).unwrap();
            assert!((p - 0.5).abs() < 1e-12, "{metric:?}: {p}");
        }
    }

    #[test]
    fn a_clearly_better_run_is_significantly_better_in_either_direction() {
        for metric in EVERY_METRIC {
            let better = run(metric, 500, 0.9, 1);
            let worse = run(metric, 500, 0.6, 2);
            let p = paired_bootstrap(metric, &better, &worse, 1000, 42).unwrap();
            assert!(p > SIGNIFICANCE, "{metric:?}: {p}");
            let q = paired_bootstrap(metric, &worse, &better, 1000, 42).unwrap();
            assert!(q < 1.0 - SIGNIFICANCE, "{metric:?}: {q}");
        }
    }

    #[test]
    fn nearly_identical_runs_are_not_significantly_different() {
        for metric in EVERY_METRIC {
            let a = run(metric, 500, 0.8, 1);
            // The same run with one item's answer changed.
            let b = match &a {
                Pairs::Labels(p) => {
                    let mut p = p.clone();
                    p[0].1 = if p[0].1 == p[0].0 {
                        "x".into()
                    } else {
                        p[0].0.clone()
                    };
                    Pairs::Labels(p)
                }
                Pairs::Values(p) => {
                    let mut p = p.clone();
                    p[0].1 += 0.5;
                    Pairs::Values(p)
                }
                Pairs::Scores(p) => {
                    let mut p = p.clone();
                    p[0].1 += 0.05;
                    Pairs::Scores(p)
                }
            };
            let p = paired_bootstrap(metric, &a, &b, 1000, 42).unwrap();
            assert!((0.05..SIGNIFICANCE).contains(&p), "{metric:?}: {p}");
        }
    }

    #[test]
    fn the_probability_is_symmetric_for_every_metric_and_seed() {
        // A property over many random pairs of runs: p(a > b) + p(b > a) = 1, resamples
        // where they are equal counting half for each side.
        for metric in EVERY_METRIC {
            for seed in 0..25u64 {
                let n = 20 + (seed as usize * 37) % 200;
                let skill = |s: u64| 0.5 + (s % 5) as f64 / 10.0;
                let a = run(metric, n, skill(seed), seed * 2 + 1);
                let b = run(metric, n, skill(seed / 5), seed * 2 + 2);
                let ab = paired_bootstrap(metric, &a, &b, 200, seed).unwrap();
                let ba = paired_bootstrap(metric, &b, &a, 200, seed).unwrap();
                assert!(
                    (ab + ba - 1.0).abs() < 1e-9,
                    "{metric:?} seed {seed}: {ab} + {ba}"
                );
                assert!((0.0..=1.0).contains(&ab));
            }
        }
    }

    #[test]
    fn runs_over_other_items_are_not_paired() {
        let a = run(MetricName::Accuracy, 100, 0.8, 1);
        let shorter = run(MetricName::Accuracy, 99, 0.8, 1);
        assert!(paired_bootstrap(MetricName::Accuracy, &a, &shorter, 100, 1).is_err());
        let Pairs::Labels(mut other) = a.clone() else {
            unreachable!()
        };
        other[3].0 = "another truth".into();
        let other = Pairs::Labels(other);
        assert!(paired_bootstrap(MetricName::Accuracy, &a, &other, 100, 1).is_err());
        let values = run(MetricName::Rmse, 100, 0.8, 1);
        assert!(paired_bootstrap(MetricName::Accuracy, &a, &values, 100, 1).is_err());
        assert!(paired_bootstrap(MetricName::Rmse, &values, &values, 100, 1).is_ok());
    }

    #[test]
    fn the_shortcuts_agree_with_scoring_each_run_whole() {
        // ROC AUC once more with scores rounded to a fifth, so that many are equal (ties
        // within and across the classes), and missing answers at the worst score.
        let coarse = |pairs: Pairs| match pairs {
            Pairs::Scores(p) => Pairs::Scores(
                p.into_iter()
                    .enumerate()
                    .map(|(i, (positive, score))| match (i % 37, positive) {
                        (0, true) => (positive, f64::NEG_INFINITY),
                        (0, false) => (positive, f64::INFINITY),
                        _ => (positive, (score * 5.0).round() / 5.0),
                    })
                    .collect(),
            ),
            other => other,
        };
        let runs = EVERY_METRIC
            .into_iter()
            .map(|metric| (metric, run(metric, 300, 0.8, 1), run(metric, 300, 0.75, 2)))
            .chain([(
                MetricName::RocAuc,
                coarse(run(MetricName::RocAuc, 300, 0.8, 1)),
                coarse(run(MetricName::RocAuc, 300, 0.75, 2)),
            )]);
        for (metric, a, b) in runs {
            let shortcut = PairedScorer::new(metric, &a, &b).unwrap();
            assert!(
                !matches!(shortcut, PairedScorer::Whole { .. }),
                "{metric:?}"
            );
            let whole = PairedScorer::Whole {
                upper: Weighted::new(metric, &a).unwrap(),
                lower: Weighted::new(metric, &b).unwrap(),
                direction: metric.direction(),
            };
            // The same seed draws the same items for both.
            let (mut r1, mut r2) = (Resampler::new(3), Resampler::new(3));
            let mut counts = vec![0; 4 * a.len()];
            for _ in 0..200 {
                assert_eq!(
                    shortcut.resample(&mut r1, a.len(), &mut counts),
                    whole.resample(&mut r2, a.len(), &mut counts[..a.len()]),
                    "{metric:?}"
                );
            }
        }
    }

    #[test]
    fn draws_are_uniform_over_the_items() {
        let mut resampler = Resampler::new(11);
        let mut counts = vec![0u32; 7];
        for _ in 0..10_000 {
            resampler.each_draw(7, |item| counts[item] += 1);
        }
        // 10,000 resamples of 7 draws: 10,000 expected per item, standard deviation ~93.
        for count in counts {
            assert!((9_600..10_400).contains(&count), "{count}");
        }
    }

    #[test]
    #[ignore = "a timing, not a test: cargo test --release -p jiebang-scenarios -- --ignored"]
    fn time_fifty_pairs_of_1500_items() {
        for metric in EVERY_METRIC {
            let runs: Vec<Pairs> = (0..51)
                .map(|r| run(metric, 1500, 0.9 - r as f64 * 0.002, r))
                .collect();
            // The thread's own CPU time, the least of five: the machine is shared.
            let on_cpu = || -> u64 {
                std::fs::read_to_string("/proc/thread-self/schedstat")
                    .ok()
                    .and_then(|s| s.split_whitespace().next()?.parse().ok())
                    .unwrap_or(0)
            };
            let fastest = (0..5)
                .map(|_| {
                    let start = on_cpu();
                    for pair in runs.windows(2) {
                        paired_bootstrap(metric, &pair[0], &pair[1], 1000, 1).unwrap();
                    }
                    on_cpu() - start
                })
                .min()
                .unwrap();
            println!("{metric:?}: {:.1} ms", fastest as f64 / 1e6);
        }
    }
}
