//! Line charts as plain SVG: axes with ticks, labels, a legend. Written by hand, so no font
//! or system library is needed, and any browser or `rsvg-convert` renders them.

use std::fmt::Write as _;

/// One line of a chart.
pub struct Series {
    pub name: String,
    pub points: Vec<(f64, f64)>,
    /// Drawn dashed (e.g. a derived or coarser measure next to the exact one).
    pub dashed: bool,
}

/// One chart panel.
pub struct Chart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Logarithmic x axis (latency distributions span decades).
    pub x_log: bool,
    pub series: Vec<Series>,
}

const PALETTE: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf",
];
const WIDTH: f64 = 900.0;
const PANEL_HEIGHT: f64 = 420.0;
const MARGIN_LEFT: f64 = 80.0;
const MARGIN_RIGHT: f64 = 230.0;
const MARGIN_TOP: f64 = 40.0;
const MARGIN_BOTTOM: f64 = 55.0;

/// The charts stacked vertically in one SVG document.
pub fn render(charts: &[Chart]) -> String {
    let height = PANEL_HEIGHT * charts.len().max(1) as f64;
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" viewBox="0 0 {WIDTH} {height}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" font-size="12">"#
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    for (index, chart) in charts.iter().enumerate() {
        panel(&mut svg, chart, index as f64 * PANEL_HEIGHT);
    }
    svg.push_str("</svg>\n");
    svg
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// Round tick positions covering `[low, high]`.
fn linear_ticks(low: f64, high: f64) -> Vec<f64> {
    let span = (high - low).max(1e-9);
    let raw = span / 6.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|s| span / s <= 7.0)
        .unwrap_or(magnitude * 10.0);
    let first = (low / step).ceil() * step;
    (0..)
        .map(|i| first + step * f64::from(i))
        .take_while(|t| *t <= high + step * 1e-9)
        .collect()
}

fn label(value: f64) -> String {
    if value.abs() >= 10.0 || value == 0.0 {
        format!("{value:.0}")
    } else if value.abs() >= 1.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

fn panel(svg: &mut String, chart: &Chart, top: f64) {
    let left = MARGIN_LEFT;
    let plot_top = top + MARGIN_TOP;
    let plot_width = WIDTH - MARGIN_LEFT - MARGIN_RIGHT;
    let plot_height = PANEL_HEIGHT - MARGIN_TOP - MARGIN_BOTTOM;
    let points = chart
        .series
        .iter()
        .flat_map(|s| s.points.iter())
        .filter(|(x, y)| x.is_finite() && y.is_finite() && (!chart.x_log || *x > 0.0));
    let (mut x_min, mut x_max, mut y_min, mut y_max) =
        (f64::INFINITY, f64::NEG_INFINITY, 0.0f64, 0.0f64);
    for (x, y) in points {
        x_min = x_min.min(*x);
        x_max = x_max.max(*x);
        y_min = y_min.min(*y);
        y_max = y_max.max(*y);
    }
    if !x_min.is_finite() {
        (x_min, x_max) = (if chart.x_log { 1.0 } else { 0.0 }, 1.0);
    }
    // x: decades for a log axis; from 0 otherwise (time, rates).
    let (x_low, x_high, x_ticks) = if chart.x_log {
        let low = 10f64.powf(x_min.log10().floor());
        let high = 10f64.powf(x_max.log10().ceil().max(low.log10() + 1.0));
        let mut ticks = Vec::new();
        let mut decade = low;
        while decade <= high * 1.0001 {
            for m in [1.0, 2.0, 5.0] {
                if decade * m <= high * 1.0001 {
                    ticks.push(decade * m);
                }
            }
            decade *= 10.0;
        }
        (low, high, ticks)
    } else {
        let high = if x_max > 0.0 { x_max } else { 1.0 };
        (0.0, high, linear_ticks(0.0, high))
    };
    // y from 0, or below it when a series goes negative (a backlog can: planning may show an
    // entity before a slow create response reaches the client).
    let y_high = if y_max > 0.0 { y_max * 1.05 } else { 1.0 };
    let y_low = if y_min < 0.0 { y_min * 1.05 } else { 0.0 };
    let y_ticks = linear_ticks(y_low, y_high);
    let to_x = |x: f64| {
        let fraction = if chart.x_log {
            (x.log10() - x_low.log10()) / (x_high.log10() - x_low.log10())
        } else {
            (x - x_low) / (x_high - x_low)
        };
        left + fraction * plot_width
    };
    let to_y = |y: f64| plot_top + plot_height - (y - y_low) / (y_high - y_low) * plot_height;

    let _ = writeln!(
        svg,
        r#"<text x="{}" y="{}" font-size="15" font-weight="bold">{}</text>"#,
        left,
        top + 24.0,
        escape(&chart.title)
    );
    // Grid and ticks.
    for tick in &x_ticks {
        let x = to_x(*tick);
        let _ = writeln!(
            svg,
            r##"<line x1="{x:.1}" y1="{plot_top:.1}" x2="{x:.1}" y2="{:.1}" stroke="#e5e5e5"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{}</text>"##,
            plot_top + plot_height,
            plot_top + plot_height + 16.0,
            label(*tick)
        );
    }
    for tick in &y_ticks {
        let y = to_y(*tick);
        let _ = writeln!(
            svg,
            r##"<line x1="{left:.1}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e5e5e5"/><text x="{:.1}" y="{:.1}" text-anchor="end">{}</text>"##,
            left + plot_width,
            left - 6.0,
            y + 4.0,
            label(*tick)
        );
    }
    // Axes and their labels.
    let _ = writeln!(
        svg,
        r##"<rect x="{left:.1}" y="{plot_top:.1}" width="{plot_width:.1}" height="{plot_height:.1}" fill="none" stroke="#333"/>"##
    );
    let _ = writeln!(
        svg,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">{}</text>"#,
        left + plot_width / 2.0,
        plot_top + plot_height + 38.0,
        escape(&chart.x_label)
    );
    let _ = writeln!(
        svg,
        r#"<text transform="translate({:.1},{:.1}) rotate(-90)" text-anchor="middle">{}</text>"#,
        left - 55.0,
        plot_top + plot_height / 2.0,
        escape(&chart.y_label)
    );
    // Lines and legend.
    for (index, series) in chart.series.iter().enumerate() {
        let color = PALETTE[index % PALETTE.len()];
        let path: Vec<String> = series
            .points
            .iter()
            .filter(|(x, y)| x.is_finite() && y.is_finite() && (!chart.x_log || *x > 0.0))
            .map(|(x, y)| format!("{:.1},{:.1}", to_x(*x), to_y(*y)))
            .collect();
        let dash = if series.dashed {
            r#" stroke-dasharray="6 4""#
        } else {
            ""
        };
        if !path.is_empty() {
            let _ = writeln!(
                svg,
                r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="1.8"{dash}/>"#,
                path.join(" ")
            );
        }
        let legend_y = plot_top + 10.0 + index as f64 * 20.0;
        let legend_x = left + plot_width + 15.0;
        let _ = writeln!(
            svg,
            r#"<line x1="{legend_x:.1}" y1="{legend_y:.1}" x2="{:.1}" y2="{legend_y:.1}" stroke="{color}" stroke-width="2.5"{dash}/><text x="{:.1}" y="{:.1}">{}</text>"#,
            legend_x + 24.0,
            legend_x + 30.0,
            legend_y + 4.0,
            escape(&series.name)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_range() {
        assert_eq!(linear_ticks(0.0, 10.0), [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        let ticks = linear_ticks(0.0, 1234.0);
        assert_eq!(ticks.first().copied(), Some(0.0));
        assert!(ticks.last().copied().unwrap_or_default() <= 1234.0);
        assert!(ticks.len() >= 4);
    }

    #[test]
    fn a_chart_renders_as_one_svg_document() {
        let svg = render(&[Chart {
            title: "t <1>".into(),
            x_label: "ms".into(),
            y_label: "fraction".into(),
            x_log: true,
            series: vec![Series {
                name: "a".into(),
                points: vec![(1.0, 0.1), (10.0, 0.5), (300.0, 1.0)],
                dashed: false,
            }],
        }]);
        assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"));
        assert!(svg.contains("t &lt;1&gt;"));
        assert!(svg.contains("<polyline"));
    }
}
