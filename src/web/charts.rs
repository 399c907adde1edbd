//! Charts as SVG made on the server, readable with JavaScript off: a heatmap for confusion
//! matrices, stacked bars for label distributions, points with intervals, and over time
//! (the health page) columns, stacked or not, and a line of shares.

use std::fmt::Write;

/// Escapes text for SVG/XML.
fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Eight steps from pale to deep blue; darker means more.
const SHADES: [&str; 8] = [
    "#f1f6fd", "#d6e6fa", "#b3cff5", "#8cb5ee", "#6298e4", "#3f7cd6", "#2560bd", "#14469a",
];

fn shade(share: f64) -> (&'static str, &'static str) {
    let step = ((share.clamp(0.0, 1.0)) * (SHADES.len() - 1) as f64).round() as usize;
    let text = if step >= 4 { "#ffffff" } else { "#1d232b" };
    (SHADES[step], text)
}

/// A heatmap of a square or rectangular table of counts, each row shaded by its share.
/// `rows` label the rows (e.g. a rater's labels), `cols` the columns (the consensus).
pub fn heatmap(title: &str, rows: &[String], cols: &[String], counts: &[Vec<f64>]) -> String {
    let longest =
        |names: &[String]| names.iter().map(|n| n.chars().count()).max().unwrap_or(1) as f64;
    // Wide enough that column names do not run into each other at 12px type.
    let cell = (7.0 * longest(cols) + 10.0).max(44.0);
    let left = (7.0 * longest(rows) + 16.0).max(60.0);
    let top = 46.0;
    let width = left + cell * cols.len() as f64 + 10.0;
    let height = top + cell * rows.len() as f64 + 10.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart heatmap" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{}"><title>{}</title>"#,
        esc(title),
        esc(title)
    );
    for (j, col) in cols.iter().enumerate() {
        let x = left + cell * j as f64 + cell / 2.0;
        let _ = write!(
            svg,
            r#"<text x="{x}" y="{}" text-anchor="middle" class="axis">{}</text>"#,
            top - 8.0,
            esc(col)
        );
    }
    for (i, row) in rows.iter().enumerate() {
        let y = top + cell * i as f64;
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end" class="axis">{}</text>"#,
            left - 8.0,
            y + cell / 2.0 + 4.0,
            esc(row)
        );
        let total: f64 = counts.get(i).map(|r| r.iter().sum()).unwrap_or(0.0);
        for (j, col) in cols.iter().enumerate() {
            let value = counts.get(i).and_then(|r| r.get(j)).copied().unwrap_or(0.0);
            let share = if total > 0.0 { value / total } else { 0.0 };
            let (fill, ink) = shade(share);
            let x = left + cell * j as f64;
            let _ = write!(
                svg,
                r##"<rect x="{x}" y="{y}" width="{}" height="{}" fill="{fill}" stroke="#fff"><title>{}: {} of {} ({:.0}%)</title></rect><text x="{}" y="{}" text-anchor="middle" fill="{ink}" class="cell">{}</text>"##,
                cell - 1.0,
                cell - 1.0,
                esc(&format!("{row} → {col}")),
                value,
                total,
                share * 100.0,
                x + cell / 2.0,
                y + cell / 2.0 + 4.0,
                value
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

const SERIES_COLOURS: [&str; 8] = [
    "#2f6fdb", "#e07b39", "#3a9d5d", "#c2455c", "#7c5cc4", "#a3822c", "#2a9bb0", "#6b7380",
];

/// One horizontal bar per row, split into the shares of each category.
pub fn stacked_bars(title: &str, categories: &[String], rows: &[(String, Vec<f64>)]) -> String {
    let bar = 22.0;
    let gap = 6.0;
    let left = 120.0;
    let span = 360.0;
    let legend = 26.0;
    let axis = 30.0;
    let width = left + span + 20.0;
    let height = legend + (bar + gap) * rows.len() as f64 + axis;
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart bars" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{}"><title>{}</title>"#,
        esc(title),
        esc(title)
    );
    let mut x = left;
    for (k, category) in categories.iter().enumerate() {
        let colour = SERIES_COLOURS[k % SERIES_COLOURS.len()];
        let _ = write!(
            svg,
            r#"<rect x="{x}" y="4" width="12" height="12" fill="{colour}"/><text x="{}" y="14" class="axis">{}</text>"#,
            x + 16.0,
            esc(category)
        );
        x += 24.0 + 8.0 * category.chars().count() as f64;
    }
    for (i, (name, shares)) in rows.iter().enumerate() {
        let y = legend + (bar + gap) * i as f64;
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end" class="axis">{}</text>"#,
            left - 8.0,
            y + bar / 2.0 + 4.0,
            esc(name)
        );
        let total: f64 = shares.iter().sum();
        let mut at = left;
        for (k, share) in shares.iter().enumerate() {
            let part = if total > 0.0 { share / total } else { 0.0 };
            let w = part * span;
            if w <= 0.0 {
                continue;
            }
            let colour = SERIES_COLOURS[k % SERIES_COLOURS.len()];
            let category = categories.get(k).map(String::as_str).unwrap_or("");
            let _ = write!(
                svg,
                r#"<rect x="{at}" y="{y}" width="{w}" height="{bar}" fill="{colour}"><title>{}: {} {:.0}% ({} labels)</title></rect>"#,
                esc(name),
                esc(category),
                part * 100.0,
                share
            );
            // The share is written on the part when it fits.
            if w >= 30.0 {
                let _ = write!(
                    svg,
                    r#"<text x="{}" y="{}" text-anchor="middle" class="on-bar">{:.0}%</text>"#,
                    at + w / 2.0,
                    y + bar / 2.0 + 4.0,
                    part * 100.0
                );
            }
            at += w;
        }
    }
    let base = legend + (bar + gap) * rows.len() as f64;
    let _ = write!(
        svg,
        r##"<line x1="{left}" y1="{base}" x2="{}" y2="{base}" stroke="#8b96a3"/>"##,
        left + span
    );
    for tick in [0.0, 0.25, 0.5, 0.75, 1.0] {
        let x = left + tick * span;
        let _ = write!(
            svg,
            r##"<line x1="{x}" y1="{base}" x2="{x}" y2="{}" stroke="#8b96a3"/><text x="{x}" y="{}" text-anchor="middle" class="axis">{:.0}%</text>"##,
            base + 4.0,
            base + 16.0,
            tick * 100.0
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{}" y="{}" text-anchor="middle" class="axis">share of the rater's labels</text>"#,
        left + span / 2.0,
        base + 28.0
    );
    svg.push_str("</svg>");
    svg
}

/// One row of an intervals chart: a name, a value and its interval, if known.
pub type IntervalRow = (String, f64, Option<(f64, f64)>);

/// Points with intervals on a shared axis around zero, e.g. each rater's leniency.
pub fn intervals(title: &str, rows: &[IntervalRow]) -> String {
    let row_h = 24.0;
    let left = 120.0;
    let span = 360.0;
    let width = left + span + 20.0;
    let axis = 34.0;
    let height = 20.0 + row_h * rows.len() as f64 + axis;
    let extent = rows
        .iter()
        .flat_map(|(_, v, ci)| {
            let (lo, hi) = ci.unwrap_or((*v, *v));
            [v.abs(), lo.abs(), hi.abs()]
        })
        .filter(|v| v.is_finite())
        .fold(0.5_f64, f64::max);
    let to_x = |v: f64| left + span / 2.0 + (v / extent) * (span / 2.0);
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart intervals" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{}"><title>{}</title>"#,
        esc(title),
        esc(title)
    );
    let zero = to_x(0.0);
    let _ = write!(
        svg,
        r##"<line x1="{zero}" y1="4" x2="{zero}" y2="{height}" stroke="#8b96a3" stroke-dasharray="3 3"/>"##
    );
    for (i, (name, value, ci)) in rows.iter().enumerate() {
        let y = 16.0 + row_h * i as f64;
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="end" class="axis">{}</text>"#,
            left - 8.0,
            y + 4.0,
            esc(name)
        );
        if let Some((lo, hi)) = ci {
            let _ = write!(
                svg,
                r##"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="#2f6fdb" stroke-width="2"/>"##,
                to_x(*lo),
                to_x(*hi)
            );
        }
        if value.is_finite() {
            let _ = write!(
                svg,
                r##"<circle cx="{}" cy="{y}" r="5" fill="#14469a"><title>{}: {:+.2}</title></circle>"##,
                to_x(*value),
                esc(name),
                value
            );
        }
    }
    let base = 20.0 + row_h * rows.len() as f64;
    for tick in [-extent, 0.0, extent] {
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle" class="axis">{:+.2}</text>"#,
            to_x(tick),
            base + 12.0,
            tick
        );
    }
    let _ = write!(
        svg,
        r#"<text x="{left}" y="{}" class="axis">← lower labels than the other raters</text><text x="{}" y="{}" text-anchor="end" class="axis">higher labels →</text>"#,
        base + 28.0,
        left + span,
        base + 28.0
    );
    svg.push_str("</svg>");
    svg
}

/// The frame of a chart over time: a plot area with windows along the bottom.
struct TimeFrame {
    left: f64,
    top: f64,
    plot_w: f64,
    plot_h: f64,
    slots: usize,
}

impl TimeFrame {
    const WIDTH: f64 = 640.0;

    fn new(slots: usize, legend: bool) -> TimeFrame {
        TimeFrame {
            left: 56.0,
            top: if legend { 28.0 } else { 10.0 },
            plot_w: Self::WIDTH - 56.0 - 12.0,
            plot_h: 150.0,
            slots: slots.max(1),
        }
    }

    fn height(&self) -> f64 {
        self.top + self.plot_h + 48.0
    }

    fn slot_w(&self) -> f64 {
        self.plot_w / self.slots as f64
    }

    fn x_mid(&self, i: usize) -> f64 {
        self.left + self.slot_w() * (i as f64 + 0.5)
    }

    fn y(&self, share: f64) -> f64 {
        self.top + self.plot_h * (1.0 - share.clamp(0.0, 1.0))
    }

    fn open(&self, svg: &mut String, class: &str, title: &str) {
        let (w, h) = (Self::WIDTH, self.height());
        let _ = write!(
            svg,
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="chart {class}" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" aria-label="{}"><title>{}</title>"#,
            esc(title),
            esc(title)
        );
    }

    /// The value axis: three ticks, written by `tick`, and the base line.
    fn value_axis(&self, svg: &mut String, tick: impl Fn(f64) -> String) {
        for share in [0.0, 0.5, 1.0] {
            let y = self.y(share);
            let _ = write!(
                svg,
                r##"<line x1="{}" y1="{y}" x2="{}" y2="{y}" stroke="#d5dbe3"/><text x="{}" y="{}" text-anchor="end" class="axis">{}</text>"##,
                self.left,
                self.left + self.plot_w,
                self.left - 6.0,
                y + 4.0,
                esc(&tick(share))
            );
        }
    }

    /// Window names along the bottom, every so many so that they do not run into each
    /// other at 11px type, and the caption under them.
    fn time_axis(&self, svg: &mut String, names: &[String], caption: &str) {
        let longest = names.iter().map(|n| n.chars().count()).max().unwrap_or(1) as f64;
        let room = 6.5 * longest + 12.0;
        let every = ((room / self.slot_w()).ceil() as usize).max(1);
        let base = self.top + self.plot_h;
        for (i, name) in names.iter().enumerate() {
            if i % every != 0 {
                continue;
            }
            let _ = write!(
                svg,
                r#"<text x="{}" y="{}" text-anchor="middle" class="axis">{}</text>"#,
                self.x_mid(i),
                base + 16.0,
                esc(name)
            );
        }
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" text-anchor="middle" class="axis">{}</text>"#,
            self.left + self.plot_w / 2.0,
            base + 38.0,
            esc(caption)
        );
    }

    fn legend(&self, svg: &mut String, series: &[String]) {
        let mut x = self.left;
        for (k, name) in series.iter().enumerate() {
            let colour = SERIES_COLOURS[k % SERIES_COLOURS.len()];
            let _ = write!(
                svg,
                r#"<rect x="{x}" y="6" width="12" height="12" fill="{colour}"/><text x="{}" y="16" class="axis">{}</text>"#,
                x + 16.0,
                esc(name)
            );
            x += 24.0 + 7.0 * name.chars().count() as f64;
        }
    }
}

/// A whole number for an axis: 1,234 rather than 1234.0.
fn count_text(value: f64) -> String {
    let whole = value.round() as i64;
    let digits = whole.abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if whole < 0 {
        out.insert(0, '-');
    }
    out
}

/// One column of a [`columns`] chart: the window's name and a value per series.
pub type Column = (String, Vec<f64>);

/// Columns over time, one per window, each stacked from its series (one series: plain
/// columns). With `shares`, each column is split into its series' shares of 100%; else
/// the axis counts up to the tallest column. `caption` names the axis under the windows.
pub fn columns(
    title: &str,
    caption: &str,
    series: &[String],
    bars: &[Column],
    shares: bool,
) -> String {
    let frame = TimeFrame::new(bars.len(), series.len() > 1);
    let tallest = bars
        .iter()
        .map(|(_, values)| values.iter().sum::<f64>())
        .fold(0.0_f64, f64::max);
    let top = if shares { 1.0 } else { tallest.max(1.0) };
    let mut svg = String::new();
    frame.open(&mut svg, "columns", title);
    if series.len() > 1 {
        frame.legend(&mut svg, series);
    }
    frame.value_axis(&mut svg, |share| {
        if shares {
            format!("{:.0}%", share * 100.0)
        } else {
            count_text(share * top)
        }
    });
    let width = (frame.slot_w() * 0.8).max(1.0);
    for (i, (name, values)) in bars.iter().enumerate() {
        let total: f64 = values.iter().sum();
        let scale = if shares { total } else { top };
        if scale <= 0.0 {
            continue;
        }
        let mut filled = 0.0;
        for (k, value) in values.iter().enumerate().filter(|(_, v)| **v > 0.0) {
            let part = value / scale;
            let colour = SERIES_COLOURS[k % SERIES_COLOURS.len()];
            let label = series.get(k).map(String::as_str).unwrap_or("");
            let (y, height) = (frame.y(filled + part), frame.plot_h * part);
            let share_note = if shares {
                format!(" ({:.0}%)", part * 100.0)
            } else {
                String::new()
            };
            let what = if label.is_empty() {
                format!("{name}: {}{share_note}", count_text(*value))
            } else {
                format!("{name}: {label}, {}{share_note}", count_text(*value))
            };
            let _ = write!(
                svg,
                r#"<rect x="{}" y="{y}" width="{width}" height="{height}" fill="{colour}"><title>{}</title></rect>"#,
                frame.x_mid(i) - width / 2.0,
                esc(&what)
            );
            filled += part;
        }
    }
    let names: Vec<String> = bars.iter().map(|(name, _)| name.clone()).collect();
    frame.time_axis(&mut svg, &names, caption);
    svg.push_str("</svg>");
    svg
}

/// A share (0 to 1) per window as points joined by a line; a window without a value
/// leaves a gap.
pub fn share_line(title: &str, caption: &str, points: &[(String, Option<f64>)]) -> String {
    let frame = TimeFrame::new(points.len(), false);
    let mut svg = String::new();
    frame.open(&mut svg, "line", title);
    frame.value_axis(&mut svg, |share| format!("{:.0}%", share * 100.0));
    let mut previous: Option<(f64, f64)> = None;
    for (i, (name, value)) in points.iter().enumerate() {
        let Some(value) = value.filter(|v| v.is_finite()) else {
            previous = None;
            continue;
        };
        let (x, y) = (frame.x_mid(i), frame.y(value));
        if let Some((px, py)) = previous {
            let _ = write!(
                svg,
                r##"<line x1="{px}" y1="{py}" x2="{x}" y2="{y}" stroke="#2f6fdb" stroke-width="2"/>"##
            );
        }
        let _ = write!(
            svg,
            r##"<circle cx="{x}" cy="{y}" r="3.5" fill="#14469a"><title>{}: {:.0}%</title></circle>"##,
            esc(name),
            value * 100.0
        );
        previous = Some((x, y));
    }
    let names: Vec<String> = points.iter().map(|(name, _)| name.clone()).collect();
    frame.time_axis(&mut svg, &names, caption);
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heatmap_escapes_labels_and_shows_counts() {
        let svg = heatmap(
            "t<1>",
            &["<a>".into(), "b".into()],
            &["x".into(), "y".into()],
            &[vec![3.0, 1.0], vec![0.0, 2.0]],
        );
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains("&lt;a&gt;"));
        assert!(!svg.contains("<a>"));
        assert!(svg.contains(">3</text>"));
        assert!(svg.contains("(75%)"));
    }

    #[test]
    fn bars_and_intervals_draw_every_row() {
        let svg = stacked_bars(
            "d",
            &["pos".into(), "neg".into()],
            &[("r1".into(), vec![1.0, 1.0]), ("r2".into(), vec![0.0, 0.0])],
        );
        assert_eq!(svg.matches("<title>r1:").count(), 2);
        let svg = intervals(
            "l",
            &[
                ("r1".into(), 0.3, Some((0.1, 0.5))),
                ("r2".into(), f64::NAN, None),
            ],
        );
        assert_eq!(svg.matches("<circle").count(), 1);
    }

    #[test]
    fn columns_stack_scale_and_escape() {
        let svg = columns(
            "Labels",
            "per hour",
            &[],
            &[
                ("a<b".into(), vec![2.0]),
                ("c".into(), vec![0.0]),
                ("d".into(), vec![4.0]),
            ],
            false,
        );
        assert_eq!(
            svg.matches("<rect").count(),
            2,
            "an empty window draws nothing"
        );
        assert!(svg.contains("a&lt;b: 2"));
        assert!(
            svg.contains(">4</text>"),
            "the axis tops out at the tallest column"
        );
        let shares = columns(
            "Mix",
            "share",
            &["pos".into(), "neg".into()],
            &[("w1".into(), vec![3.0, 1.0])],
            true,
        );
        assert!(shares.contains("w1: pos, 3 (75%)"));
        assert!(shares.contains(">100%</text>"));
        let wide: Vec<Column> = (0..48).map(|i| (format!("h{i}"), vec![1.0])).collect();
        let svg = columns("Many", "per hour", &[], &wide, false);
        assert!(
            svg.matches("class=\"axis\">h").count() <= 17,
            "window names are thinned"
        );
    }

    #[test]
    fn a_share_line_breaks_where_a_window_has_no_value() {
        let svg = share_line(
            "Agreement",
            "per day",
            &[
                ("d1".into(), Some(0.5)),
                ("d2".into(), Some(0.75)),
                ("d3".into(), None),
                ("d4".into(), Some(1.0)),
            ],
        );
        assert_eq!(svg.matches("<circle").count(), 3);
        assert_eq!(
            svg.matches("<line x1=\"").count() - 3,
            1,
            "one segment besides the grid"
        );
        assert!(svg.contains("d2: 75%"));
    }
}
