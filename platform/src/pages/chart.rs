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

/// Score (y) against latency in ms (x), one labelled point per team, the budget as a
/// dashed vertical line. `None` when there is nothing to draw.
pub fn scatter(
    points: &[Point],
    budget_ms: Option<f64>,
    x_label: &str,
    y_label: &str,
) -> Option<String> {
    if points.is_empty() {
        return None;
    }
    let max_x = points
        .iter()
        .map(|p| p.latency_ms)
        .chain(budget_ms)
        .fold(0.0, f64::max)
        * 1.1;
    let max_x = if max_x > 0.0 { max_x } else { 1.0 };
    let (mut min_y, mut max_y) = points.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
        (lo.min(p.score), hi.max(p.score))
    });
    if (max_y - min_y).abs() < 1e-9 {
        min_y -= 0.05;
        max_y += 0.05;
    }
    let pad = (max_y - min_y) * 0.1;
    let (min_y, max_y) = (min_y - pad, max_y + pad);
    let x = |v: f64| LEFT + v / max_x * (W - LEFT - RIGHT);
    let y = |v: f64| H - BOTTOM - (v - min_y) / (max_y - min_y) * (H - TOP - BOTTOM);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" class="chart" role="img" aria-label="{}"><rect x="{LEFT}" y="{TOP}" width="{}" height="{}" class="plot"/>"#,
        escape(&format!("{y_label} / {x_label}")),
        W - LEFT - RIGHT,
        H - TOP - BOTTOM
    );
    for t in ticks(0.0, max_x) {
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
    if let Some(budget) = budget_ms {
        let _ = write!(
            svg,
            r#"<line x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{1}" class="budget"/><text x="{2:.1}" y="{3}" class="budget-label">budget {4} ms</text>"#,
            x(budget),
            H - BOTTOM,
            x(budget) + 4.0,
            TOP + 12.0,
            number(budget)
        );
    }
    for p in points {
        let _ = write!(
            svg,
            r#"<circle cx="{0:.1}" cy="{1:.1}" r="5" class="point"><title>{2}</title></circle><text x="{3:.1}" y="{4:.1}" class="label">{2}</text>"#,
            x(p.latency_ms),
            y(p.score),
            escape(&p.label),
            x(p.latency_ms) + 7.0,
            y(p.score) - 7.0
        );
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
pub fn histogram(buckets: &[(f64, u64)], budget_ms: Option<f64>, x_label: &str) -> Option<String> {
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
                r#"<line x1="{0:.1}" y1="{TOP}" x2="{0:.1}" y2="{1}" class="budget"/><text x="{2:.1}" y="{3}" class="budget-label">budget {4} ms</text>"#,
                left + width,
                H - BOTTOM,
                left + width + 4.0,
                TOP + 12.0,
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
        let svg = scatter(&points, Some(50.0), "latency (ms)", "accuracy").unwrap();
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains("Team &lt;A&gt;"), "labels are escaped");
        assert!(!svg.contains("Team <A>"));
        assert!(svg.contains("budget 50 ms"));
        assert!(svg.contains(">0.9<"), "a y tick: {svg}");
        // The budget line lies right of every point: 50 ms is beyond 40 ms.
        let budget_x: f64 = svg
            .split(r#"class="budget""#)
            .next()
            .unwrap()
            .rsplit("x1=\"")
            .next()
            .unwrap()
            .split('"')
            .next()
            .unwrap()
            .parse()
            .unwrap();
        assert!(budget_x > LEFT + 40.0 / 55.0 * (W - LEFT - RIGHT) - 1.0);
        assert!(scatter(&[], Some(50.0), "x", "y").is_none());
    }

    #[test]
    fn histogram_draws_a_bar_per_bucket() {
        let svg = histogram(&[(1.0, 3), (2.0, 10), (4.0, 0)], Some(2.0), "ms").unwrap();
        assert_eq!(svg.matches(r#"class="bar""#).count(), 3);
        assert!(svg.contains("≤ 2 ms: 10"));
        assert!(svg.contains("budget 2 ms"));
        assert!(histogram(&[(1.0, 0)], None, "ms").is_none());
    }
}
