//! `report.html`: the acceptance report as one self-contained page for people — verdict, findings by level,
//! declared against observed capabilities, dependencies and vulnerabilities, the load test with its
//! percentile plots and budget lines, lineage, stages and how to verify the signature.
//!
//! Templates are askama (compiled and type-checked with the crate, HTML-escaped by default: every value a
//! submission controls is text, in elements and in attributes alike); plots are `plot` (plotters' SVG
//! backend). The page loads nothing, runs no script and forbids both in its Content-Security-Policy.

mod console;
mod plot;
mod view;

use askama::Template;

use crate::AcceptanceReport;
use crate::facts::Facts;

pub use console::{HistoryRow, ListingFilters, ListingRow, render_listing, render_submission};
pub use view::Page;

/// The page of `report`; `facts` (when the asset was readable) adds the declared and observed capabilities
/// and the dependency summary.
pub fn render_html(report: &AcceptanceReport, facts: Option<&Facts>) -> String {
    let page = Page::new(report, facts);
    // Rendering into a String fails only if a Display impl fails; ours do not.
    page.render().unwrap_or_else(|err| format!("<!doctype html><title>report.html</title><p>cannot render: {err}"))
}
