//! The pages of `assay serve`: the list of judged submissions (with its filters) and a submission's report
//! page with its verdict history. Same rules as `report.html`: askama, escaped, no script.

use askama::Template;

use super::view::Page;
use crate::AcceptanceReport;
use crate::facts::Facts;

/// One line of the list (also its JSON).
#[derive(Clone, Debug, serde::Serialize)]
pub struct ListingRow {
    /// Submission id (safe alphabet: it is also the link).
    pub submission_id: String,
    /// Asset name.
    pub name: String,
    /// Version.
    pub version: String,
    /// Publisher, when known.
    pub publisher: String,
    /// Connector or component, when known.
    pub kind: String,
    /// Current verdict.
    pub verdict: String,
    /// Current revision.
    pub revision: u32,
    /// When the current verdict was given.
    pub at: String,
}

/// The filters the list was made with, as the form shows them.
#[derive(Clone, Debug, Default)]
pub struct ListingFilters {
    /// `accepted`, `needs-review`, `rejected` or empty.
    pub verdict: String,
    /// `connector`, `component` or empty.
    pub kind: String,
    /// A capability name or empty.
    pub capability: String,
}

/// One verdict event, as the submission page lists it.
#[derive(Clone, Debug)]
pub struct HistoryRow {
    /// Revision.
    pub revision: u32,
    /// Verdict before, if any.
    pub previous_verdict: String,
    /// Verdict.
    pub verdict: String,
    /// Why.
    pub reason: String,
    /// When.
    pub at: String,
}

#[derive(Template)]
#[template(path = "listing.html")]
struct Listing<'a> {
    rows: &'a [ListingRow],
    filters: &'a ListingFilters,
    verdicts: [&'static str; 3],
    kinds: [&'static str; 2],
    capabilities: Vec<&'static str>,
    total: usize,
}

/// The list page.
pub fn render_listing(rows: &[ListingRow], filters: &ListingFilters, total: usize) -> String {
    let page = Listing {
        rows,
        filters,
        verdicts: ["accepted", "needs-review", "rejected"],
        kinds: ["connector", "component"],
        capabilities: crate::contract::Capability::ALL.iter().map(|c| c.as_str()).collect(),
        total,
    };
    page.render().unwrap_or_else(|err| format!("<!doctype html><title>Assay</title><p>cannot render: {err}"))
}

/// A submission's report page with its verdict history.
pub fn render_submission(report: &AcceptanceReport, facts: Option<&Facts>, history: &[HistoryRow]) -> String {
    let page = Page::new(report, facts).with_history(history.to_vec());
    page.render().unwrap_or_else(|err| format!("<!doctype html><title>Assay</title><p>cannot render: {err}"))
}
