//! The latency percentile plot of one scenario, as inline SVG: the measured distribution (from the load
//! harness's HdrHistogram) against a percentile axis that widens towards the tail, with the budget lines
//! drawn. Only numbers and fixed words are drawn: scenario names stay in the HTML, where the template
//! escapes them.

use plotters::prelude::*;

use crate::load::Measurement;

/// A budget line: its metric (`p50`, `p95`, `p99`) and limit in milliseconds.
pub struct BudgetLine {
    /// `p50`, `p95` or `p99`.
    pub metric: String,
    /// The limit.
    pub ms: f64,
}

/// Where a percentile sits on the axis: `-log10(1 - p)`, so 90, 99 and 99.9 are evenly spaced; 100 is
/// drawn at the 99.9 mark's right.
fn position(percentile: f64) -> f64 {
    let tail = (1.0 - percentile / 100.0).max(0.0005);
    -tail.log10()
}

const AXIS_END: f64 = 3.3;

/// The plot as an SVG document, or `None` when the scenario has no distribution (nothing succeeded, or a
/// report from before distributions were recorded).
pub fn percentile_plot(measurement: &Measurement, budgets: &[BudgetLine]) -> Option<String> {
    let points: Vec<(f64, f64)> =
        measurement.distribution.iter().map(|point| (position(point.percentile), point.ms)).collect();
    if points.is_empty() {
        return None;
    }
    let highest = points.iter().map(|(_, ms)| *ms).chain(budgets.iter().map(|b| b.ms)).fold(0.0, f64::max);
    let top = if highest > 0.0 { highest * 1.15 } else { 1.0 };
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (640, 280)).into_drawing_area();
        root.fill(&WHITE).ok()?;
        let mut chart = ChartBuilder::on(&root)
            .margin(12)
            .x_label_area_size(34)
            .y_label_area_size(56)
            .build_cartesian_2d(0f64..AXIS_END, 0f64..top)
            .ok()?;
        chart
            .configure_mesh()
            .x_desc("percentile")
            .y_desc("latency (ms)")
            .x_labels(4)
            .x_label_formatter(&|x| {
                let percentile = 100.0 * (1.0 - 10f64.powf(-x));
                format!("{percentile:.1}%")
            })
            .y_label_formatter(&|y| format!("{y:.1}"))
            .light_line_style(WHITE.mix(0.0))
            .draw()
            .ok()?;
        let budget_style = ShapeStyle { color: RGBColor(190, 30, 45).to_rgba(), filled: false, stroke_width: 2 };
        for budget in budgets {
            let x = position(match budget.metric.as_str() {
                "p50" => 50.0,
                "p95" => 95.0,
                _ => 99.0,
            });
            // A dashed horizontal limit up to its percentile, then a marker where it is checked.
            chart
                .draw_series(DashedLineSeries::new(vec![(0.0, budget.ms), (AXIS_END, budget.ms)], 6, 4, budget_style))
                .ok()?;
            chart.draw_series(std::iter::once(Cross::new((x, budget.ms), 6, budget_style))).ok()?;
        }
        let line_style = ShapeStyle { color: RGBColor(31, 95, 170).to_rgba(), filled: false, stroke_width: 2 };
        chart.draw_series(LineSeries::new(points.clone(), line_style)).ok()?;
        chart.draw_series(points.iter().map(|&point| Circle::new(point, 3, line_style.filled()))).ok()?;
        root.present().ok()?;
    }
    Some(svg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::{DISTRIBUTION_PERCENTILES, LatencyPoint};

    #[test]
    fn a_distribution_is_drawn_with_its_budget_lines() {
        let measurement = Measurement {
            distribution: DISTRIBUTION_PERCENTILES
                .iter()
                .map(|&percentile| LatencyPoint { percentile, ms: 1.0 + percentile / 10.0 })
                .collect(),
            ..Measurement::default()
        };
        let svg = percentile_plot(&measurement, &[BudgetLine { metric: "p95".into(), ms: 20.0 }]).unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("percentile") && svg.contains("99.0%"), "{svg}");
        assert!(svg.contains("#BE1E2D"), "the budget line is drawn");
        assert!(percentile_plot(&Measurement::default(), &[]).is_none());
    }
}
