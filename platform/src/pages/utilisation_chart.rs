//! The utilisation page's charts, drawn on the server as SVG that scales to the screen:
//! busy % over time (one line per node or model, with the reference line) and bars per
//! period. Text is escaped here; the template inserts the result.

use std::fmt::Write;

use crate::pages::chart::escape;

// Narrower than the report's charts and with larger type: scaled down to a phone's width
// (about 350 px) the labels still read at about 10 px.
const W: f64 = 480.0;
const H: f64 = 220.0;
const LEFT: f64 = 52.0;
const FONT: f64 = 14.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 36.0;

/// Colours that stay apart for the usual colour blindnesses (Okabe and Ito's palette).
pub const PALETTE: &[&str] = &[
    "#0072b2", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#d55e00", "#f0e442", "#000000",
];

pub fn colour(index: usize) -> &'static str {
    PALETTE[index % PALETTE.len()]
}

fn x_of(index: usize, count: usize) -> f64 {
    let span = (count.max(2) - 1) as f64;
    LEFT + (W - LEFT - RIGHT) * index as f64 / span
}

fn y_of(value: f64, top: f64) -> f64 {
    TOP + (H - TOP - BOTTOM) * (1.0 - (value / top).clamp(0.0, 1.0))
}

/// The frame: horizontal grid lines at `ticks` (labelled with `unit`) and about six labels
/// along the bottom from `labels`.
fn frame(svg: &mut String, ticks: &[f64], top: f64, unit: &str, labels: &[String]) {
    for tick in ticks {
        let y = y_of(*tick, top);
        let _ = write!(
            svg,
            r##"<line x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#e5e7eb"/><text x="{}" y="{:.1}" font-size="{FONT}" text-anchor="end" fill="#4b5563">{}{}</text>"##,
            W - RIGHT,
            LEFT - 4.0,
            y + 4.0,
            number(*tick),
            escape(unit)
        );
    }
    let step = labels.len().div_ceil(6).max(1);
    for (index, label) in labels.iter().enumerate().step_by(step) {
        let _ = write!(
            svg,
            r##"<text x="{:.1}" y="{}" font-size="{FONT}" text-anchor="middle" fill="#4b5563">{}</text>"##,
            x_of(index, labels.len()),
            H - BOTTOM + 18.0,
            escape(label)
        );
    }
}

fn number(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

fn open(svg: &mut String, id: &str, title: &str) {
    let _ = write!(
        svg,
        r#"<svg id="{}" class="chart" viewBox="0 0 {W} {H}" width="100%" preserveAspectRatio="xMidYMid meet" role="img" aria-label="{}"><title>{}</title>"#,
        escape(id),
        escape(title),
        escape(title)
    );
}

/// Busy % (0–100) over the buckets, one line per series in [`colour`] order, with a
/// dashed reference line at `reference` % labelled `reference_label`.
pub fn busy_lines(
    id: &str,
    title: &str,
    series: &[Vec<f64>],
    labels: &[String],
    reference: f64,
    reference_label: &str,
) -> String {
    let mut svg = String::new();
    open(&mut svg, id, title);
    frame(
        &mut svg,
        &[0.0, 25.0, 50.0, 75.0, 100.0],
        100.0,
        " %",
        labels,
    );
    let y = y_of(reference, 100.0);
    let _ = write!(
        svg,
        r##"<line class="reference" x1="{LEFT}" x2="{}" y1="{y:.1}" y2="{y:.1}" stroke="#b91c1c" stroke-width="1.5" stroke-dasharray="6 4"/><text x="{}" y="{:.1}" font-size="{FONT}" text-anchor="end" fill="#b91c1c">{}</text>"##,
        W - RIGHT,
        W - RIGHT,
        y - 4.0,
        escape(reference_label)
    );
    for (index, values) in series.iter().enumerate() {
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x_of(i, values.len()), y_of(*v, 100.0)))
            .collect();
        let _ = write!(
            svg,
            r#"<polyline class="series" fill="none" stroke="{}" stroke-width="2" points="{}"/>"#,
            colour(index),
            points.join(" ")
        );
    }
    svg.push_str("</svg>");
    svg
}

/// One bar per bucket (evaluations per hour), scaled to the largest.
pub fn bars(id: &str, title: &str, values: &[f64], labels: &[String]) -> String {
    let mut svg = String::new();
    open(&mut svg, id, title);
    let largest = values.iter().copied().fold(0.0_f64, f64::max);
    let top = crate::pages::chart::ticks(0.0, largest.max(1.0))
        .last()
        .copied()
        .unwrap_or(1.0)
        .max(largest)
        .max(1.0);
    let ticks = crate::pages::chart::ticks(0.0, top);
    frame(&mut svg, &ticks, top, "", labels);
    let width = (W - LEFT - RIGHT) / values.len().max(1) as f64;
    for (index, value) in values.iter().enumerate() {
        let y = y_of(*value, top);
        let _ = write!(
            svg,
            r##"<rect class="bar" x="{:.1}" y="{y:.1}" width="{:.1}" height="{:.1}" fill="#0072b2"><title>{}: {}</title></rect>"##,
            LEFT + width * index as f64 + width * 0.1,
            width * 0.8,
            (H - BOTTOM - y).max(0.0),
            escape(labels.get(index).map_or("", String::as_str)),
            number(*value)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_have_the_reference_at_half_height_and_one_polyline_per_series() {
        let labels: Vec<String> = (0..24).map(|h| format!("{h:02}:00")).collect();
        let svg = busy_lines(
            "by-node",
            "Busy <by node>",
            &[vec![0.0; 24], vec![100.0; 24]],
            &labels,
            50.0,
            "50 % (seed)",
        );
        assert_eq!(svg.matches("<polyline").count(), 2);
        // 50 % sits halfway between the top (12) and the bottom (220 - 36) of the plot.
        assert!(
            svg.contains(r##"y1="98.0" y2="98.0" stroke="#b91c1c""##),
            "{svg}"
        );
        assert!(svg.contains("Busy &lt;by node&gt;"));
        assert!(svg.contains(r#"points="52.0,184.0 "#), "{svg}");
        let bars = bars("evaluations", "per hour", &[0.0, 2.0, 4.0], &labels[..3]);
        assert_eq!(bars.matches(r#"class="bar""#).count(), 3);
    }
}
