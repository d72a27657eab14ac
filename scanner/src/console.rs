//! `assay serve`: a read-only web console over a report store — the judged submissions (filtered by verdict,
//! kind and capability), each submission's report page with its verdict history, and its stored files. The
//! same paths answer JSON to `Accept: application/json`. Served by the bounded server of `http`.

use std::sync::Arc;

use assay_report::facts::Facts;
use assay_report::html::{HistoryRow, ListingFilters, ListingRow, render_listing, render_submission};
use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::http::hardened;
use crate::pipeline::FACTS_FILE;
use crate::store::{Listed, Store, StoreError, StoredReport, valid_submission_id};

/// Rows the list shows at most (newest verdicts first); a filter narrows before the cut.
pub const MAX_ROWS: usize = 200;

/// The console's routes over `store`, with the security headers.
pub fn router(store: Store) -> Router {
    hardened(
        Router::new()
            .route("/", get(list))
            .route("/submissions/{id}", get(submission))
            .route("/submissions/{id}/{file}", get(file))
            .fallback(|| async { (StatusCode::NOT_FOUND, "no such page\n") })
            .with_state(Arc::new(store)),
    )
}

/// Whether the client asked for JSON.
fn wants_json(headers: &HeaderMap) -> bool {
    let accept = headers.get(header::ACCEPT).and_then(|value| value.to_str().ok()).unwrap_or_default();
    accept.split(',').any(|part| part.trim().starts_with("application/json"))
}

fn html(page: String) -> Response {
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}

fn unreadable(err: &StoreError) -> Response {
    tracing::warn!(error = %err, "the store cannot be read");
    (StatusCode::INTERNAL_SERVER_ERROR, "the report store cannot be read; see the console's log\n").into_response()
}

#[derive(Default, Deserialize)]
struct Filters {
    #[serde(default)]
    verdict: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    capability: String,
}

async fn list(State(store): State<Arc<Store>>, headers: HeaderMap, Query(filters): Query<Filters>) -> Response {
    let mut listed = match store.list().await {
        Ok(listed) => listed,
        Err(err) => return unreadable(&err),
    };
    let total = listed.len();
    listed.retain(|entry| filters.verdict.is_empty() || entry.verdict.as_str() == filters.verdict);
    listed.sort_by(|a, b| b.at.cmp(&a.at).then_with(|| a.submission_id.cmp(&b.submission_id)));
    let mut rows = Vec::new();
    for entry in listed {
        if rows.len() == MAX_ROWS {
            break;
        }
        let current = match store.current(&entry.submission_id).await {
            Ok(current) => current,
            Err(err) => return unreadable(&err),
        };
        let Some(current) = current else { continue };
        let facts = facts_of(&current);
        let kind = current.report.asset.as_ref().and_then(|asset| asset.kind).map_or("", |kind| kind.as_str());
        if !filters.kind.is_empty() && kind != filters.kind {
            continue;
        }
        if !filters.capability.is_empty() && !has_capability(facts.as_ref(), &filters.capability) {
            continue;
        }
        rows.push(row(entry, kind));
    }
    if wants_json(&headers) {
        return axum::Json(rows).into_response();
    }
    let shown = ListingFilters { verdict: filters.verdict, kind: filters.kind, capability: filters.capability };
    html(render_listing(&rows, &shown, total))
}

fn row(entry: Listed, kind: &str) -> ListingRow {
    ListingRow {
        submission_id: entry.submission_id,
        name: entry.name,
        version: entry.version,
        publisher: entry.publisher.unwrap_or_default(),
        kind: kind.to_owned(),
        verdict: entry.verdict.as_str().to_owned(),
        revision: entry.revision,
        at: entry.at,
    }
}

fn facts_of(stored: &StoredReport) -> Option<Facts> {
    serde_json::from_slice(stored.files.get(FACTS_FILE)?).ok()
}

/// Whether the asset declares the capability in its contract or its code uses it.
fn has_capability(facts: Option<&Facts>, capability: &str) -> bool {
    let Some(facts) = facts else { return false };
    let declared = facts.contract.as_ref().is_some_and(|contract| {
        contract.capabilities.granted().iter().any(|(granted, _)| granted.as_str() == capability)
    });
    declared || facts.source.iter().any(|fact| fact.capability.as_str() == capability)
}

/// The stored submission `id`, or the response that says why there is none.
async fn stored(store: &Store, id: &str) -> Result<StoredReport, Response> {
    if !valid_submission_id(id) {
        return Err((StatusCode::NOT_FOUND, "no such submission\n").into_response());
    }
    match store.current(id).await {
        Ok(Some(stored)) => Ok(stored),
        Ok(None) => Err((StatusCode::NOT_FOUND, "no such submission\n").into_response()),
        Err(err) => Err(unreadable(&err)),
    }
}

async fn submission(State(store): State<Arc<Store>>, headers: HeaderMap, Path(id): Path<String>) -> Response {
    let current = match stored(&store, &id).await {
        Ok(current) => current,
        Err(response) => return response,
    };
    let history = match store.history(&id).await {
        Ok(history) => history,
        Err(err) => return unreadable(&err),
    };
    if wants_json(&headers) {
        return axum::Json(serde_json::json!({ "report": current.report, "history": history })).into_response();
    }
    let rows: Vec<HistoryRow> = history
        .iter()
        .map(|event| HistoryRow {
            revision: event.revision,
            previous_verdict: event.previous_verdict.map_or("", |verdict| verdict.as_str()).to_owned(),
            verdict: event.verdict.as_str().to_owned(),
            reason: event.reason.clone(),
            at: event.at.clone(),
        })
        .collect();
    html(render_submission(&current.report, facts_of(&current).as_ref(), &rows))
}

/// The content type of a stored report file, by its (fixed) name.
fn content_type(name: &str) -> &'static str {
    match name.rsplit_once('.').map(|(_, extension)| extension) {
        Some("html") => "text/html; charset=utf-8",
        Some("md") => "text/markdown; charset=utf-8",
        Some("sarif") => "application/sarif+json",
        Some("json") => "application/json",
        _ => "application/octet-stream",
    }
}

async fn file(State(store): State<Arc<Store>>, Path((id, name)): Path<(String, String)>) -> Response {
    let current = match stored(&store, &id).await {
        Ok(current) => current,
        Err(response) => return response,
    };
    // Only the names the store holds: a path never reaches the filesystem.
    match current.files.get(&name) {
        Some(bytes) => {
            let mut response = bytes.clone().into_response();
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type(&name)));
            response
        }
        None => (StatusCode::NOT_FOUND, "no such file in this submission's report\n").into_response(),
    }
}
