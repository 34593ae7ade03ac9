//! A hand-written SVG of throughput and end-to-end p99 against client concurrency: no plotting
//! dependency, and the file diffs cleanly when committed.

use super::orders::{Mode, RunResult};
use std::fmt::Write;

const W: f64 = 760.0;
const H: f64 = 440.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 80.0;
const TOP: f64 = 60.0;
const BOTTOM: f64 = 60.0;

/// The smallest 1, 2 or 5 × 10ⁿ at or above `v`.
fn nice(v: f64) -> f64 {
    if v <= 0.0 || !v.is_finite() {
        return 1.0;
    }
    let base = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * base)
        .find(|c| *c >= v)
        .unwrap_or(10.0 * base)
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// Renders the sweep. `reference` lines are drawn on the throughput axis, e.g. the target and
/// the naive ceiling (baseline commits/s ÷ commits per order of a one-commit-per-step flow).
pub fn svg(runs: &[RunResult], reference: &[(String, f64)], subtitle: &str) -> String {
    let mut xs: Vec<usize> = runs.iter().map(|r| r.concurrency).collect();
    xs.sort_unstable();
    xs.dedup();
    let plot_w = W - LEFT - RIGHT;
    let plot_h = H - TOP - BOTTOM;
    let x_of = |c: usize| {
        let i = xs.iter().position(|x| *x == c).unwrap_or(0) as f64;
        if xs.len() <= 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i / (xs.len() - 1) as f64
        }
    };
    let y_max = nice(
        runs.iter()
            .map(|r| r.orders_per_s)
            .chain(reference.iter().map(|r| r.1))
            .fold(1.0, f64::max)
            * 1.05,
    );
    let p_max = nice(runs.iter().map(|r| r.e2e_ms.p99).fold(1.0, f64::max) * 1.05);
    let y_of = |v: f64| TOP + plot_h * (1.0 - v / y_max);
    let p_of = |v: f64| TOP + plot_h * (1.0 - v / p_max);

    let mut s = String::new();
    let _ = writeln!(
        s,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(s, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        s,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="15" font-weight="bold">skipline bench: completed orders/s and end-to-end p99 vs concurrency</text>"#,
        W / 2.0
    );
    let _ = writeln!(
        s,
        r##"<text x="{}" y="40" text-anchor="middle" fill="#555">{}</text>"##,
        W / 2.0,
        esc(subtitle)
    );
    for i in 0..=5 {
        let f = i as f64 / 5.0;
        let y = TOP + plot_h * (1.0 - f);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#e5e5e5"/>"##,
            W - RIGHT
        );
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" text-anchor="end" fill="#1f5fbf">{:.0}</text>"##,
            LEFT - 6.0,
            y + 4.0,
            y_max * f
        );
        let _ = writeln!(
            s,
            r##"<text x="{:.1}" y="{:.1}" fill="#d9480f">{:.1}</text>"##,
            W - RIGHT + 6.0,
            y + 4.0,
            p_max * f
        );
    }
    for c in &xs {
        let x = x_of(*c);
        let _ = writeln!(
            s,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{:.1}" stroke="#f0f0f0"/><text x="{x:.1}" y="{:.1}" text-anchor="middle">{c}</text>"##,
            H - BOTTOM,
            H - BOTTOM + 18.0
        );
    }
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="middle">concurrent clients</text>"#,
        LEFT + plot_w / 2.0,
        H - 18.0
    );
    let _ = writeln!(
        s,
        r##"<text transform="translate(20 {:.1}) rotate(-90)" text-anchor="middle" fill="#1f5fbf">completed orders/s</text>"##,
        TOP + plot_h / 2.0
    );
    let _ = writeln!(
        s,
        r##"<text transform="translate({:.1} {:.1}) rotate(90)" text-anchor="middle" fill="#d9480f">end-to-end p99 (ms)</text>"##,
        W - 18.0,
        TOP + plot_h / 2.0
    );
    for (label, value) in reference {
        let y = y_of(*value);
        let _ = writeln!(
            s,
            r##"<line x1="{LEFT}" y1="{y:.1}" x2="{:.1}" y2="{y:.1}" stroke="#555" stroke-dasharray="2 4"/><text x="{:.1}" y="{:.1}" fill="#555">{}</text>"##,
            W - RIGHT,
            LEFT + 6.0,
            y - 4.0,
            esc(label)
        );
    }
    let mut legend_y = TOP + 14.0;
    for mode in [Mode::Http, Mode::InProcess] {
        let mut series: Vec<&RunResult> = runs
            .iter()
            .filter(|r| r.mode == mode && r.target_rate.is_none())
            .collect();
        if series.is_empty() {
            continue;
        }
        series.sort_by_key(|r| r.concurrency);
        let dash = if mode == Mode::Http {
            ""
        } else {
            r#" stroke-dasharray="6 4""#
        };
        for (color, value, of, what) in [
            (
                "#1f5fbf",
                &(|r: &RunResult| r.orders_per_s) as &dyn Fn(&RunResult) -> f64,
                &y_of as &dyn Fn(f64) -> f64,
                "orders/s",
            ),
            ("#d9480f", &|r: &RunResult| r.e2e_ms.p99, &p_of, "p99 ms"),
        ] {
            let points: Vec<String> = series
                .iter()
                .map(|r| format!("{:.1},{:.1}", x_of(r.concurrency), of(value(r))))
                .collect();
            let _ = writeln!(
                s,
                r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="2"{dash}/>"#,
                points.join(" ")
            );
            for r in &series {
                let _ = writeln!(
                    s,
                    r#"<circle cx="{:.1}" cy="{:.1}" r="3.5" fill="{color}"/>"#,
                    x_of(r.concurrency),
                    of(value(r))
                );
            }
            let _ = writeln!(
                s,
                r#"<line x1="{:.1}" y1="{legend_y:.1}" x2="{:.1}" y2="{legend_y:.1}" stroke="{color}" stroke-width="2"{dash}/><text x="{:.1}" y="{:.1}">{} {what}</text>"#,
                LEFT + 12.0,
                LEFT + 40.0,
                LEFT + 46.0,
                legend_y + 4.0,
                mode.label()
            );
            legend_y += 16.0;
        }
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nice_numbers() {
        assert_eq!(nice(7.0), 10.0);
        assert_eq!(nice(12_000.0), 20_000.0);
        assert_eq!(nice(0.3), 0.5);
        assert_eq!(nice(0.0), 1.0);
    }
}
