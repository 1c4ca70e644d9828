//! Charts drawn on the server as SVG: accuracy against latency for a leaderboard and a
//! latency histogram for a report. Text is escaped here; the templates insert the result.

use std::fmt::Write;

/// One team on the scatter chart.
pub struct Point {
    pub label: String,
    pub latency_ms: f64,
    pub score: f64,
}

const W: f64 = 640.0;
const H: f64 = 360.0;
const LEFT: f64 = 56.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 44.0;

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// About five round tick values covering `low..=high`.
pub fn ticks(low: f64, high: f64) -> Vec<f64> {
    let span = (high - low).abs().max(f64::EPSILON);
    let raw = span / 5.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| span / s <= 6.0)
        .unwrap_or(magnitude * 10.0);
    let mut value = (low / step).ceil() * step;
    let mut out = Vec::new();
    while value <= high + step * 1e-9 && out.len() < 12 {
        out.push(if value.abs() < step * 1e-9 {
            0.0
        } else {
            value
        });
        value += step;
    }
    out
}

fn number(value: f64) -> String {
    let text = format!("{value:.3}");
    text.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// Round values for a log axis over `low..=high` (both > 0): 1, 2 and 5 times the powers
/// of ten, thinned to every power of ten when the span is wide.
pub fn log_ticks(low: f64, high: f64) -> Vec<f64> {
    let (first, last) = (low.log10().floor() as i32, high.log10().ceil() as i32);
    let multiples: &[f64] = if last - first > 3 {
        &[1.0]
    } else {
        &[1.0, 2.0, 5.0]
    };
    let mut out = Vec::new();
    for exponent in first..=last {
        for m in multiples {
            let value = m * 10f64.powi(exponent);
            if value >= low * (1.0 - 1e-9) && value <= high * (1.0 + 1e-9) {
                out.push(value);
            }
        }
    }
    out
}

/// Text's box on the chart, roughly: 6.5 px a character (CJK counts twice), 12 px high.
fn label_box(x: f64, baseline: f64, text: &str) -> (f64, f64, f64, f64) {
    let width: f64 = text
        .chars()
        .map(|c| if c.is_ascii() { 6.5 } else { 12.0 })
        .sum();
    (x, baseline - 11.0, x + width, baseline + 2.0)
}

fn overlaps(a: (f64, f64, f64, f64), b: (f64, f64, f64, f64)) -> bool {
    a.0 < b.2 && b.0 < a.2 && a.1 < b.3 && b.1 < a.3
}

/// Score (y) against latency in ms (x, on a log scale, so fast teams are not all squeezed
/// against zero), one point per team, the budget as a dashed vertical line. A team's label
/// goes beside its point where it overlaps no other label; where every place is taken it is
/// left off (the point's tooltip and the table name it). `None` when there is nothing to draw.
pub fn scatter(
    points: &[Point],
    budget_ms: Option<f64>,
    x_label: &str,
    y_label: &str,
    budget_word: &str,
) -> Option<String> {
    if points.is_empty() {
        return None;
    }
    let positive = |v: f64| v.is_finite() && v > 0.0;
    let latencies = points
        .iter()
        .map(|p| p.latency_ms)
        .chain(budget_ms)
        .filter(|v| positive(*v));
    let (low, high) = latencies.fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (low, high) = if low <= high {
        (low, high)
    } else {
        (1.0, 10.0)
    };
    // Some room either side, and at least one decade so the ticks mean something.
    let (min_x, mut max_x) = (low / 1.5, high * 1.5);
    if max_x / min_x < 10.0 {
        max_x = min_x * 10.0;
    }
    let (log_min, log_max) = (min_x.log10(), max_x.log10());
    let (mut min_y, mut max_y) = points.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
        (lo.min(p.score), hi.max(p.score))
    });
    if (max_y - min_y).abs() < 1e-9 {
        min_y -= 0.05;
        max_y += 0.05;
    }
    let pad = (max_y - min_y) * 0.1;
    let (min_y, max_y) = (min_y - pad, max_y + pad);
    let x = |v: f64| {
        let v = if positive(v) {
            v.clamp(min_x, max_x)
        } else {
            min_x
        };
        LEFT + (v.log10() - log_min) / (log_max - log_min) * (W - LEFT - RIGHT)
    };
    let y = |v: f64| H - BOTTOM - (v - min_y) / (max_y - min_y) * (H - TOP - BOTTOM);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" class="chart" role="img" aria-label="{}"><rect x="{LEFT}" y="{TOP}" width="{}" height="{}" class="plot"/>"#,
        escape(&format!("{y_label} / {x_label}")),
        W - LEFT - RIGHT,
        H - TOP - BOTTOM
    );
    for t in log_ticks(min_x, max_x) {
        let _ = write!(
            svg,
            r#"<line x1="{0:.1}" y1="{1}" x2="{0:.1}" y2="{2}" class="tick"/><text x="{0:.1}" y="{3}" class="axis" text-anchor="middle">{4}</text>"#,
            x(t),
            H - BOTTOM,
            H - BOTTOM + 5.0,
            H - BOTTOM + 18.0,
            number(t)
        );
    }
    for t in ticks(min_y, max_y) {
        let _ = write!(
            svg,
            r#"<line x1="{0}" y1="{1:.1}" x2="{2}" y2="{1:.1}" class="tick"/><text x="{3}" y="{4:.1}" class="axis" text-anchor="end">{5}</text>"#,
            LEFT - 5.0,
            y(t),
            LEFT,
            LEFT - 8.0,
            y(t) + 4.0,
            number(t)
        );
    }
    let mut taken = Vec::new();
    if let Some(budget) = budget_ms.filter(|b| positive(*b)) {
        let text = format!("{budget_word} {} ms", number(budget));
        let (bx, by) = (x(budget) + 4.0, TOP + 12.0);
        taken.push(label_box(bx, by, &text));
        let _ = write!(
            svg,
            r#"<line x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{1}" class="budget"/><text x="{2:.1}" y="{3}" class="budget-label">{4}</text>"#,
            x(budget),
            H - BOTTOM,
            bx,
            by,
            escape(&text)
        );
    }
    for p in points {
        let (px, py) = (x(p.latency_ms), y(p.score));
        let _ = write!(
            svg,
            r#"<circle cx="{px:.1}" cy="{py:.1}" r="5" class="point"><title>{}</title></circle>"#,
            escape(&p.label)
        );
        // Right of the point, then left, each a little above, on, or below it.
        let width = label_box(0.0, 0.0, &p.label).2;
        let places = [
            (px + 7.0, py - 7.0),
            (px + 7.0, py + 16.0),
            (px - 7.0 - width, py - 7.0),
            (px - 7.0 - width, py + 16.0),
            (px + 7.0, py + 4.0),
            (px - 7.0 - width, py + 4.0),
        ];
        let place = places.into_iter().find(|(lx, ly)| {
            let candidate = label_box(*lx, *ly, &p.label);
            candidate.0 >= LEFT
                && candidate.2 <= W - RIGHT
                && candidate.1 >= TOP
                && candidate.3 <= H - BOTTOM
                && !taken.iter().any(|t| overlaps(*t, candidate))
        });
        if let Some((lx, ly)) = place {
            taken.push(label_box(lx, ly, &p.label));
            let _ = write!(
                svg,
                r#"<text x="{lx:.1}" y="{ly:.1}" class="label">{}</text>"#,
                escape(&p.label)
            );
        }
    }
    let _ = write!(
        svg,
        r#"<text x="{0}" y="{1}" class="axis-title" text-anchor="middle">{2}</text><text x="14" y="{3}" class="axis-title" transform="rotate(-90 14 {3})" text-anchor="middle">{4}</text></svg>"#,
        (LEFT + W - RIGHT) / 2.0,
        H - 6.0,
        escape(x_label),
        (TOP + H - BOTTOM) / 2.0,
        escape(y_label)
    );
    Some(svg)
}

/// A latency histogram: one bar per bucket (upper bound in ms, count), on a log-scale
/// axis as the buckets are; the budget marked when given.
pub fn histogram(
    buckets: &[(f64, u64)],
    budget_ms: Option<f64>,
    x_label: &str,
    budget_word: &str,
) -> Option<String> {
    let max_count = buckets.iter().map(|b| b.1).max().filter(|m| *m > 0)?;
    let n = buckets.len() as f64;
    let width = (W - LEFT - RIGHT) / n;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" class="chart" role="img" aria-label="{}"><rect x="{LEFT}" y="{TOP}" width="{}" height="{}" class="plot"/>"#,
        escape(x_label),
        W - LEFT - RIGHT,
        H - TOP - BOTTOM
    );
    let mut budget_drawn = false;
    for (i, (upper, count)) in buckets.iter().enumerate() {
        let height = *count as f64 / max_count as f64 * (H - TOP - BOTTOM);
        let left = LEFT + i as f64 * width;
        let _ = write!(
            svg,
            r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" class="bar"><title>≤ {} ms: {}</title></rect>"#,
            left + 1.0,
            H - BOTTOM - height,
            (width - 2.0).max(1.0),
            height,
            number(*upper),
            count
        );
        if i % 4 == 0 || i + 1 == buckets.len() {
            let _ = write!(
                svg,
                r#"<text x="{:.1}" y="{}" class="axis" text-anchor="middle">{}</text>"#,
                left + width / 2.0,
                H - BOTTOM + 16.0,
                number(*upper)
            );
        }
        if let Some(budget) = budget_ms
            && !budget_drawn
            && *upper >= budget
        {
            budget_drawn = true;
            let _ = write!(
                svg,
                r#"<line x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{1}" class="budget"/><text x="{2:.1}" y="{3}" class="budget-label">{4} {5} ms</text>"#,
                left + width,
                H - BOTTOM,
                left + width + 4.0,
                TOP + 12.0,
                escape(budget_word),
                number(budget)
            );
        }
    }
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" class="axis-title" text-anchor="middle">{}</text><text x="{LEFT}" y="{}" class="axis" text-anchor="end">{max_count}</text></svg>"#,
        (LEFT + W - RIGHT) / 2.0,
        H - 6.0,
        escape(x_label),
        TOP + 10.0,
    );
    Some(svg)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn ticks_are_round() {
        let shown = |t: Vec<f64>| t.into_iter().map(number).collect::<Vec<_>>();
        assert_eq!(shown(ticks(0.0, 10.0)), ["0", "2", "4", "6", "8", "10"]);
        assert_eq!(
            shown(ticks(0.8, 0.95)),
            ["0.8", "0.825", "0.85", "0.875", "0.9", "0.925", "0.95"]
        );
    }

    #[test]
    fn scatter_has_a_labelled_point_per_team_and_the_budget() {
        let points = vec![
            Point {
                label: "Team <A>".into(),
                latency_ms: 12.0,
                score: 0.91,
            },
            Point {
                label: "Team B".into(),
                latency_ms: 40.0,
                score: 0.85,
            },
        ];
        let svg = scatter(&points, Some(50.0), "latency (ms)", "accuracy", "budget").unwrap();
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains("Team &lt;A&gt;"), "labels are escaped");
        assert!(!svg.contains("Team <A>"));
        assert!(svg.contains("budget 50 ms"));
        assert!(svg.contains(">0.9<"), "a y tick: {svg}");
        assert!(scatter(&[], Some(50.0), "x", "y", "budget").is_none());
    }

    /// The x of each `<circle>`, in order.
    fn circles(svg: &str) -> Vec<f64> {
        svg.split("<circle cx=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap().parse().unwrap())
            .collect()
    }

    #[test]
    fn the_latency_axis_is_logarithmic() {
        // 1 ms, 10 ms and 100 ms lie equally far apart, so in-budget teams spread out.
        let points: Vec<Point> = [1.0, 10.0, 100.0]
            .iter()
            .map(|&latency_ms| Point {
                label: format!("{latency_ms}"),
                latency_ms,
                score: 0.5,
            })
            .collect();
        let xs = circles(&scatter(&points, None, "ms", "score", "budget").unwrap());
        assert!(((xs[1] - xs[0]) - (xs[2] - xs[1])).abs() < 0.5, "{xs:?}");
        assert!(
            xs[0] > LEFT + 10.0,
            "the fastest is not on the axis: {xs:?}"
        );
        assert_eq!(
            log_ticks(1.0, 100.0),
            vec![1.0, 10.0, 100.0]
                .into_iter()
                .flat_map(|d| [d, 2.0 * d, 5.0 * d])
                .filter(|v| *v <= 100.0)
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn labels_never_overlap() {
        // Ten teams at the same point: their labels are placed apart or left off.
        let points: Vec<Point> = (0..10)
            .map(|i| Point {
                label: format!("团队 {i}"),
                latency_ms: 5.0,
                score: 0.8,
            })
            .collect();
        let svg = scatter(&points, Some(20.0), "ms", "score", "预算").unwrap();
        let boxes: Vec<_> = svg
            .split("<text x=\"")
            .skip(1)
            .filter(|t| t.contains("class=\"label\""))
            .map(|t| {
                let x: f64 = t.split('"').next().unwrap().parse().unwrap();
                let y: f64 = t
                    .split("y=\"")
                    .nth(1)
                    .unwrap()
                    .split('"')
                    .next()
                    .unwrap()
                    .parse()
                    .unwrap();
                let text = t.split('>').nth(1).unwrap().split('<').next().unwrap();
                label_box(x, y, text)
            })
            .collect();
        assert!(boxes.len() >= 2, "some labels are shown: {svg}");
        for (i, a) in boxes.iter().enumerate() {
            for b in &boxes[i + 1..] {
                assert!(!overlaps(*a, *b), "{a:?} overlaps {b:?}");
            }
        }
    }

    #[test]
    fn histogram_draws_a_bar_per_bucket() {
        let svg = histogram(&[(1.0, 3), (2.0, 10), (4.0, 0)], Some(2.0), "ms", "budget").unwrap();
        assert_eq!(svg.matches(r#"class="bar""#).count(), 3);
        assert!(svg.contains("≤ 2 ms: 10"));
        assert!(svg.contains("budget 2 ms"));
        assert!(histogram(&[(1.0, 0)], None, "ms", "budget").is_none());
    }
}
