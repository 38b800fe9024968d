//! SVG charts rendered on the server: labelled axes with units, a `viewBox`
//! so they scale to laptop and phone widths, and the Okabe–Ito palette plus
//! dash patterns so series stay apart for colour-blind readers and in print.

use maud::{Markup, html};

/// Okabe–Ito colours (blue, orange, bluish green, reddish purple, vermillion).
pub const PALETTE: [&str; 5] = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00"];
const DASHES: [&str; 5] = ["", "6 3", "2 3", "8 3 2 3", "1 2"];

const W: f64 = 640.0;
const H: f64 = 280.0;
const LEFT: f64 = 64.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 52.0;

pub struct Series {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

fn nice_ticks(max: f64) -> Vec<f64> {
    if max <= 0.0 {
        return vec![0.0, 1.0];
    }
    let raw = max / 4.0;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    (0..=((max / step).ceil() as usize))
        .map(|k| k as f64 * step)
        .collect()
}

fn axes(
    x_label: &str,
    y_label: &str,
    y_ticks: &[(f64, String)],
    y_to: impl Fn(f64) -> f64,
) -> Markup {
    html! {
        line.axis x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(H - BOTTOM) {}
        line.axis x1=(LEFT) y1=(H - BOTTOM) x2=(W - RIGHT) y2=(H - BOTTOM) {}
        @for (v, label) in y_ticks {
            line.grid x1=(LEFT) x2=(W - RIGHT) y1=(y_to(*v)) y2=(y_to(*v)) {}
            text.tick x=(LEFT - 6.0) y=(y_to(*v) + 4.0) text-anchor="end" { (label) }
        }
        text.axis-label x=((LEFT + W - RIGHT) / 2.0) y=(H - 8.0) text-anchor="middle" { (x_label) }
        text.axis-label transform=(format!("translate(14 {}) rotate(-90)", (TOP + H - BOTTOM) / 2.0)) text-anchor="middle" { (y_label) }
    }
}

/// A bar chart (e.g. the index histogram): `bars` are (label, value).
pub fn bars(
    title: &str,
    x_label: &str,
    y_label: &str,
    bars: &[(String, f64)],
    fmt: impl Fn(f64) -> String,
) -> Markup {
    let max = bars.iter().map(|b| b.1).fold(0.0, f64::max);
    let ticks = nice_ticks(max);
    let top = *ticks.last().unwrap_or(&1.0);
    let y_to = |v: f64| H - BOTTOM - (v / top.max(1e-9)) * (H - TOP - BOTTOM);
    let slot = (W - LEFT - RIGHT) / bars.len().max(1) as f64;
    let y_ticks: Vec<(f64, String)> = ticks.iter().map(|t| (*t, fmt(*t))).collect();
    html! {
        svg.chart viewBox=(format!("0 0 {W} {H}")) role="img" aria-label=(title) {
            title { (title) }
            (axes(x_label, y_label, &y_ticks, y_to))
            @for (k, (label, v)) in bars.iter().enumerate() {
                @let x = LEFT + k as f64 * slot;
                rect.bar x=(x + slot * 0.1) y=(y_to(*v)) width=(slot * 0.8) height=((H - BOTTOM - y_to(*v)).max(0.0)) fill=(PALETTE[0]) {
                    title { (label) ": " (fmt(*v)) }
                }
                text.tick x=(x + slot / 2.0) y=(H - BOTTOM + 16.0) text-anchor="middle" { (label) }
            }
        }
    }
}

/// A line chart over numeric x (e.g. time); `x_ticks` label the x axis.
#[allow(clippy::too_many_arguments)]
pub fn lines(
    title: &str,
    x_label: &str,
    y_label: &str,
    series: &[Series],
    y_range: (f64, f64),
    x_ticks: &[(f64, String)],
    fmt: impl Fn(f64) -> String,
    x_fmt: impl Fn(f64) -> String,
) -> Markup {
    let xs = series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
    let (x_min, x_max) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
        (a.min(x), b.max(x))
    });
    let span = if x_max > x_min { x_max - x_min } else { 1.0 };
    let x_to = |x: f64| LEFT + (x - x_min) / span * (W - LEFT - RIGHT);
    let (lo, hi) = y_range;
    let y_to = |v: f64| H - BOTTOM - (v - lo) / (hi - lo) * (H - TOP - BOTTOM);
    let y_ticks: Vec<(f64, String)> = (0..=4)
        .map(|k| lo + (hi - lo) * k as f64 / 4.0)
        .map(|v| (v, fmt(v)))
        .collect();
    html! {
        svg.chart viewBox=(format!("0 0 {W} {H}")) role="img" aria-label=(title) {
            title { (title) }
            (axes(x_label, y_label, &y_ticks, y_to))
            @for (k, (x, label)) in x_ticks.iter().enumerate() {
                @let anchor = if k + 1 == x_ticks.len() && k > 0 { "end" } else if k == 0 { "start" } else { "middle" };
                text.tick x=(x_to(*x)) y=(H - BOTTOM + 16.0) text-anchor=(anchor) { (label) }
            }
            @for (k, s) in series.iter().enumerate() {
                @let path = s.points.iter().map(|(x, y)| format!("{:.1},{:.1}", x_to(*x), y_to(*y))).collect::<Vec<_>>().join(" ");
                polyline.series points=(path) stroke=(PALETTE[k % 5]) stroke-dasharray=(DASHES[k % 5]) {}
                @for (x, y) in &s.points {
                    circle cx=(x_to(*x)) cy=(y_to(*y)) r="2.5" fill=(PALETTE[k % 5]) {
                        title { (x_fmt(*x)) " · " (s.label) ": " (fmt(*y)) }
                    }
                }
            }
        }
        @if series.len() > 1 {
            ul.legend {
                @for (k, s) in series.iter().enumerate() {
                    li {
                        svg width="28" height="10" aria-hidden="true" {
                            line x1="0" y1="5" x2="28" y2="5" stroke=(PALETTE[k % 5]) stroke-width="3" stroke-dasharray=(DASHES[k % 5]) {}
                        }
                        " " (s.label)
                    }
                }
            }
        }
    }
}

/// Up to `n` labels spread evenly over [min, max] of the x values, each on a
/// data point (the one nearest its even position), the first at the minimum and
/// the last at the maximum. Labels closer than half a spacing to the previous
/// one are dropped, so they never overlap where the data are uneven.
pub fn x_ticks(xs: &[f64], n: usize, label: impl Fn(f64) -> String) -> Vec<(f64, String)> {
    let (min, max) = xs
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| {
            (a.min(x), b.max(x))
        });
    if xs.is_empty() {
        return Vec::new();
    }
    if n < 2 || max <= min {
        return vec![(min, label(min))];
    }
    let gap = (max - min) / (n - 1) as f64;
    let nearest = |target: f64| {
        xs.iter()
            .copied()
            .min_by(|a, b| (a - target).abs().total_cmp(&(b - target).abs()))
            .unwrap_or(target)
    };
    let mut picked: Vec<f64> = Vec::with_capacity(n);
    for k in 0..n {
        let x = if k + 1 == n {
            max
        } else {
            nearest(min + gap * k as f64)
        };
        if k + 1 == n {
            // the maximum always gets its label; a crowding neighbour gives way
            while picked.last().is_some_and(|p| x - p < gap / 2.0) && picked.len() > 1 {
                picked.pop();
            }
            if picked.last().is_none_or(|p| x - p >= gap / 2.0) {
                picked.push(x);
            }
        } else if picked.last().is_none_or(|p| x - p >= gap / 2.0) {
            picked.push(x);
        }
    }
    // Then by the labels' widths: the first is drawn from its point rightwards, the last
    // leftwards, the others centred on theirs ([`lines`]); a label that would touch the
    // one before it goes (the last one stays, its neighbour gives way).
    let units_per_px = (max - min) / (W - LEFT - RIGHT);
    let labelled: Vec<(f64, String)> = picked.into_iter().map(|x| (x, label(x))).collect();
    let count = labelled.len();
    let mut kept: Vec<(f64, String, f64)> = Vec::with_capacity(count);
    for (k, (x, text)) in labelled.into_iter().enumerate() {
        let w = label_px(&text) * units_per_px;
        let (from, to) = if k == 0 {
            (x, x + w)
        } else if k + 1 == count {
            (x - w, x)
        } else {
            (x - w / 2.0, x + w / 2.0)
        };
        let pad = LABEL_GAP_PX * units_per_px;
        let clear = |kept: &Vec<(f64, String, f64)>| kept.last().is_none_or(|p| p.2 + pad <= from);
        if k + 1 == count {
            while kept.len() > 1 && !clear(&kept) {
                kept.pop();
            }
            if clear(&kept) {
                kept.push((x, text, to));
            }
        } else if clear(&kept) {
            kept.push((x, text, to));
        }
    }
    kept.into_iter().map(|(x, text, _)| (x, text)).collect()
}

/// Space kept between two axis labels, in the chart's own pixels.
const LABEL_GAP_PX: f64 = 8.0;

/// The largest size axis labels are drawn at, in the chart's own pixels: 11 px, and 17 px
/// on a phone, where the chart is scaled down to about half (`app.css`), so that they stay
/// readable there.
const TICK_FONT_PX: f64 = 17.0;

/// The width of an axis label in the chart's own pixels at [`TICK_FONT_PX`]: a CJK
/// character is about a full em, a Latin one a little over half.
fn label_px(text: &str) -> f64 {
    text.chars()
        .map(|c| if c.is_ascii() { 0.58 } else { 1.0 })
        .sum::<f64>()
        * TICK_FONT_PX
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn x_ticks_are_spread_by_value_and_never_crowd() {
        // dense data, then a few late points: the last label must not collide
        let mut xs: Vec<f64> = (0..80).map(f64::from).collect();
        xs.extend([95.0, 97.0, 99.0, 100.0]);
        let t = x_ticks(&xs, 6, |x| format!("{x}"));
        let v: Vec<f64> = t.iter().map(|t| t.0).collect();
        assert_eq!(v.first(), Some(&0.0));
        assert_eq!(v.last(), Some(&100.0));
        for w in v.windows(2) {
            assert!(w[1] - w[0] >= 10.0, "{v:?}");
        }
        assert!(
            v.iter().all(|x| xs.contains(x)),
            "labels sit on data points"
        );
        // evenly spaced data: every label kept
        let xs: Vec<f64> = (0..13).map(f64::from).collect();
        assert_eq!(x_ticks(&xs, 13, |x| format!("{x}")).len(), 13);
        assert_eq!(x_ticks(&[5.0], 6, |x| format!("{x}")).len(), 1);
        assert!(x_ticks(&[], 6, |x| format!("{x}")).is_empty());
    }

    #[test]
    fn x_labels_never_overlap_however_wide() {
        // a customer's chart: uneven days, long Chinese dates (about 130 px each)
        let xs = [0.0, 1.0, 30.0, 31.0, 60.0, 92.0, 99.0, 100.0];
        let t = x_ticks(&xs, 5, |_| "2026年10月21日".to_owned());
        let px = (W - LEFT - RIGHT) / 100.0;
        let w = label_px("2026年10月21日");
        assert!(w > 120.0, "{w}");
        assert_eq!(t.first().map(|t| t.0), Some(0.0));
        assert_eq!(t.last().map(|t| t.0), Some(100.0));
        // extents as drawn: first from its point, last to it, the rest centred
        let n = t.len();
        let extent = |k: usize| {
            let x = t[k].0 * px;
            match k {
                0 => (x, x + w),
                k if k + 1 == n => (x - w, x),
                _ => (x - w / 2.0, x + w / 2.0),
            }
        };
        for k in 1..n {
            assert!(
                extent(k - 1).1 + LABEL_GAP_PX <= extent(k).0 + 1e-9,
                "labels {} and {k} overlap: {t:?}",
                k - 1
            );
        }
        assert!(n >= 3, "room for three at least: {t:?}");
        // the same dates as a narrow chart's worth of room: fewer, still apart
        let narrow = x_ticks(&xs[..4], 5, |_| "2026年10月21日".to_owned());
        assert_eq!(narrow.len(), 2, "{narrow:?}");
        assert!(x_ticks(&xs, 5, |x| format!("{x}")).len() >= n);
    }

    #[test]
    fn ticks_cover_the_maximum() {
        assert_eq!(nice_ticks(95.0), vec![0.0, 25.0, 50.0, 75.0, 100.0]);
        assert_eq!(nice_ticks(0.0), vec![0.0, 1.0]);
        assert!(*nice_ticks(7_123.0).last().unwrap() >= 7_123.0);
    }

    #[test]
    fn charts_have_titles_labels_and_a_viewbox() {
        let svg = bars(
            "h",
            "x-axis",
            "y-axis",
            &[("0".into(), 3.0), ("10".into(), 5.0)],
            |v| format!("{v}"),
        )
        .into_string();
        assert!(svg.contains("viewBox") && svg.contains("x-axis") && svg.contains("y-axis"));
        let svg = lines(
            "t",
            "time",
            "value",
            &[
                Series {
                    label: "a".into(),
                    points: vec![(0.0, 1.0), (1.0, 2.0)],
                },
                Series {
                    label: "b".into(),
                    points: vec![(0.0, 2.0)],
                },
            ],
            (0.0, 4.0),
            &[(0.0, "Jan".into())],
            |v| format!("{v}"),
            |x| format!("day {x}"),
        )
        .into_string();
        assert!(svg.contains("polyline") && svg.contains("legend") && svg.contains("Jan"));
        // each point's tooltip says when as well as what
        assert!(svg.contains("<title>day 1 · a: 2</title>"), "{svg}");
    }
}
