//! `report.html` and `assay serve` in a real browser (headless Chromium, Debian's `chromium`): the page of an
//! accepted, a rejected and a load-tested asset shows its verdict, findings and plots; an asset whose every
//! text field is markup gets pages where that markup is text and nothing of it runs; the console lists,
//! filters and shows stored submissions, as HTML and as JSON. Screenshots are kept under
//! `target/screenshots/` for people to look at (CI keeps them as artefacts).

#![allow(clippy::unwrap_used)] // in tests a panic is the failure report

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::load_fixture::{assemble, bubblewrap};
use support::{Sandbox, exit_code, fixture};

/// Debian's Chromium, or `$CHROMIUM`; without one the test skips, saying so (CI installs it).
fn chromium() -> Option<PathBuf> {
    let found = std::env::var_os("CHROMIUM").map(PathBuf::from).or_else(|| {
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"].iter().map(PathBuf::from).find(|path| path.is_file())
    });
    if found.is_none() {
        assert!(std::env::var_os("CI").is_none(), "CI must install chromium (.ci/run)");
        eprintln!("skipped: no chromium (apt-get install chromium; CI installs it)");
    }
    found
}

/// Runs headless Chromium on `page` (a file or a URL) with `extra` options; returns stdout.
fn headless(browser: &Path, sandbox: &Sandbox, page: &Path, extra: &[&str]) -> String {
    let target = page
        .to_str()
        .filter(|p| p.starts_with("http://"))
        .map_or_else(|| format!("file://{}", page.display()), str::to_owned);
    let output = Command::new(browser)
        // Root in a container has no user namespace for Chromium's own sandbox; the page is ours to test.
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars"])
        .arg(format!("--user-data-dir={}", sandbox.path("chromium-profile").display()))
        .args(extra)
        .arg(target)
        .output()
        .unwrap();
    assert!(output.status.success(), "chromium failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap()
}

/// The page's DOM after loading (and running whatever it would run).
fn dom(browser: &Path, sandbox: &Sandbox, page: &Path) -> String {
    headless(browser, sandbox, page, &["--dump-dom", "--virtual-time-budget=2000"])
}

/// Saves a screenshot of `page` as `target/screenshots/<name>.png`.
fn screenshot(browser: &Path, sandbox: &Sandbox, page: &Path, name: &str) {
    let dir = support::workspace().join("target/screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let shot = dir.join(format!("{name}.png"));
    headless(browser, sandbox, page, &[&format!("--screenshot={}", shot.display()), "--window-size=1200,2600"]);
    assert!(std::fs::metadata(&shot).unwrap().len() > 10_000, "{} is empty", shot.display());
}

/// Scans `asset` into `out/<name>` and returns its report.html.
fn page_of(sandbox: &Sandbox, asset: &Path, name: &str, load: bool) -> PathBuf {
    let out = sandbox.path(&format!("out/{name}"));
    let output = sandbox
        .scan_command(asset, &support::synthetic_db())
        .env("ASSAY_NO_LOAD", if load { "false" } else { "true" })
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(matches!(exit_code(&output), 0 | 1 | 3), "{}", String::from_utf8_lossy(&output.stderr));
    out.join("report.html")
}

fn title(dom: &str) -> &str {
    let start = dom.find("<title>").unwrap() + "<title>".len();
    &dom[start..start + dom[start..].find("</title>").unwrap()]
}

#[test]
fn accepted_and_rejected_pages_show_their_verdict_and_findings() {
    let Some(browser) = chromium() else { return };
    let sandbox = Sandbox::new();

    let accepted = page_of(&sandbox, &fixture("connectors/echo"), "echo", false);
    let shown = dom(&browser, &sandbox, &accepted);
    assert_eq!(title(&shown), "Assay report: echo-connector 1.0.0 — ACCEPTED");
    assert!(shown.contains(r#"<strong id="verdict">ACCEPTED</strong>"#), "{shown}");
    assert!(shown.contains("Capabilities: declared and observed"));
    screenshot(&browser, &sandbox, &accepted, "report-accepted");

    let rejected = page_of(&sandbox, &fixture("connectors/vulnerable"), "vulnerable", false);
    let shown = dom(&browser, &sandbox, &rejected);
    assert_eq!(title(&shown), "Assay report: vulnerable-component 0.3.1 — REJECTED");
    assert!(shown.contains(r#"<strong id="verdict">REJECTED</strong>"#));
    assert!(shown.contains("<code>vulnerability</code>"), "the deny finding is listed");
    assert!(shown.contains(r#"href="https://rustsec.org/advisories/RUSTSEC-2099-0001.html""#), "advisories link out");
    assert!(shown.contains("assay verify report.dsse.json"), "the page says how to verify");
    screenshot(&browser, &sandbox, &rejected, "report-rejected");
}

#[test]
fn a_load_tested_page_plots_each_scenario_against_its_budgets() {
    let Some(browser) = chromium() else { return };
    if !bubblewrap() {
        return;
    }
    let sandbox = Sandbox::new();
    let asset = assemble("fast", &sandbox.path("in"));
    let page = page_of(&sandbox, &asset, "fast", true);
    let shown = dom(&browser, &sandbox, &page);
    assert!(shown.contains("Load test") && shown.contains("Budget checks"), "{shown}");
    let plots = shown.matches(r#"<figure class="plot""#).count();
    assert_eq!(plots, 3, "overall and the two scenarios are plotted");
    assert!(shown.contains("<svg") && shown.contains("#BE1E2D"), "budget lines are drawn in red");
    screenshot(&browser, &sandbox, &page, "report-load");
}

#[test]
fn markup_in_every_field_is_shown_as_text_and_runs_nothing() {
    let Some(browser) = chromium() else { return };
    let sandbox = Sandbox::new();
    let page = page_of(&sandbox, &fixture("connectors/markup-injection"), "markup", false);
    let shown = dom(&browser, &sandbox, &page);
    // Nothing ran: each payload would have renamed the page.
    assert_eq!(title(&shown), "Assay report: markup-injection 0.1.0 — REJECTED");
    no_payload_is_markup(&shown);
    // ... and every payload is there as text.
    for payload in ["pwned-description", "pwned-publisher", "pwned-summary", "pwned-link", "pwned-env", "pwned-attr"] {
        assert!(shown.contains(payload), "{payload} is shown");
    }
    assert!(shown.contains("&lt;script&gt;document.title='pwned-description'&lt;/script&gt;"));
    // The repository is not a `javascript:` link.
    assert!(!shown.contains("Repository: <a"), "{shown}");
    screenshot(&browser, &sandbox, &page, "report-markup");
}

/// A serialised DOM escapes `<` and `>` in text, so a payload inside a raw `<…>` is an element or attribute
/// the page made of it; none may be.
fn no_payload_is_markup(shown: &str) {
    for (at, _) in shown.match_indices("pwned") {
        let before = &shown[..at];
        let in_tag = before.rfind('<') > before.rfind('>');
        assert!(!in_tag, "a payload became markup: …{}…", &shown[before.rfind('<').unwrap_or(0)..at + 20]);
    }
    for element in ["<script", "<img", "<svg onload", "<b ", "<a href=\"javascript"] {
        assert!(!shown.contains(element), "`{element}` is an element of the page");
    }
}

/// A directory store holding a scan of each `(id, asset)`, committed as a worker would.
fn store_of(sandbox: &Sandbox, assets: &[(&str, PathBuf)]) -> PathBuf {
    let location = sandbox.path("store");
    commit_scans(sandbox, &location.display().to_string(), assets);
    location
}

/// Scans each `(id, asset)` and commits it to the store at `location`, as a worker would.
fn commit_scans(sandbox: &Sandbox, location: &str, assets: &[(&str, PathBuf)]) {
    use assay_scanner::pipeline::{self, ScanConfig};
    use assay_scanner::stages::audit::AdvisoryDatabase;
    use assay_scanner::store::{self, NewSubmission, Store};
    let db = AdvisoryDatabase::open(&support::synthetic_db()).unwrap();
    let rules = assay_rules::RuleSet::builtin();
    let mut config = ScanConfig::default();
    config.dependencies.offline = true;
    config.dependencies.cache_dir = sandbox.cache_dir();
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let store = Store::open(location).await.unwrap();
        for (id, asset) in assets {
            let output = pipeline::scan(asset, &db, &rules, &config, &mut ()).unwrap();
            let files = pipeline::report_files(&output).unwrap();
            let asset = output.report.asset.clone().unwrap();
            let submission = NewSubmission {
                id,
                name: &asset.name,
                version: &asset.version,
                publisher: asset.publisher.as_deref(),
                archive_sha256: &output.report.subject.sha256,
            };
            store.commit(&submission, &files, store::draft_for(&output.report, "scanned")).await.unwrap();
        }
    });
}

/// `assay serve` on a free loopback port, stopped on drop.
struct Console {
    child: std::process::Child,
    address: String,
}

impl Console {
    fn start(sandbox: &Sandbox, store: &std::ffi::OsStr) -> Self {
        use std::io::BufRead;
        let mut child = sandbox
            .assay()
            .args(["serve", "--addr", "127.0.0.1:0", "--store"])
            .arg(store)
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let mut line = String::new();
        std::io::BufReader::new(child.stderr.take().unwrap()).read_line(&mut line).unwrap();
        let address = line.split("http://").nth(1).and_then(|rest| rest.split('/').next()).unwrap().to_owned();
        Self { child, address }
    }

    fn url(&self, path: &str) -> PathBuf {
        PathBuf::from(format!("http://{}{path}", self.address))
    }

    /// A raw HTTP/1.1 GET: the status line, the headers (lower-cased) and the body.
    fn get(&self, path: &str, accept: &str) -> (String, String, String) {
        use std::io::{Read, Write};
        let mut stream = std::net::TcpStream::connect(&self.address).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nhost: console\r\naccept: {accept}\r\nconnection: close\r\n\r\n")
            .unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).unwrap();
        let (head, body) = response.split_once("\r\n\r\n").unwrap();
        let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
        (status.to_owned(), headers.to_lowercase(), body.to_owned())
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn the_console_lists_filters_and_shows_stored_submissions_safely() {
    let Some(browser) = chromium() else { return };
    let sandbox = Sandbox::new();
    let store = store_of(
        &sandbox,
        &[
            ("echo-1", fixture("connectors/echo")),
            ("vuln-1", fixture("connectors/vulnerable")),
            ("markup-1", fixture("connectors/markup-injection")),
        ],
    );
    let console = Console::start(&sandbox, store.as_os_str());

    let listing = dom(&browser, &sandbox, &console.url("/"));
    assert_eq!(title(&listing), "Assay: judged submissions");
    assert!(listing.contains("3 of 3 submissions"), "{listing}");
    for id in ["echo-1", "vuln-1", "markup-1"] {
        assert!(listing.contains(&format!("href=\"/submissions/{id}\"")), "{id} is listed");
    }
    no_payload_is_markup(&listing);
    screenshot(&browser, &sandbox, &console.url("/"), "console-list");
    let rejected = dom(&browser, &sandbox, &console.url("/?verdict=rejected"));
    assert!(rejected.contains("2 of 3 submissions") && !rejected.contains("/submissions/echo-1"), "{rejected}");
    let components = dom(&browser, &sandbox, &console.url("/?kind=component"));
    assert!(components.contains("1 of 3 submissions") && components.contains("/submissions/vuln-1"));
    let env_users = dom(&browser, &sandbox, &console.url("/?capability=env"));
    assert!(env_users.contains("/submissions/markup-1") && !env_users.contains("/submissions/vuln-1"));

    let page = dom(&browser, &sandbox, &console.url("/submissions/markup-1"));
    assert_eq!(title(&page), "Assay report: markup-injection 0.1.0 — REJECTED");
    assert!(page.contains("Verdict history") && page.contains("scanned"), "{page}");
    no_payload_is_markup(&page);
    screenshot(&browser, &sandbox, &console.url("/submissions/markup-1"), "console-submission");

    // JSON at the same paths; files with their types; strict headers everywhere; nothing outside the store.
    let (status, headers, body) = console.get("/", "application/json");
    assert!(status.contains("200") && headers.contains("content-type: application/json"), "{status} {headers}");
    let rows: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 3);
    let (_, _, body) = console.get("/submissions/vuln-1", "application/json");
    let submission: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(submission["report"]["verdict"], "rejected");
    assert_eq!(submission["history"][0]["revision"], 0);
    let (status, headers, _) = console.get("/submissions/vuln-1/report.html", "*/*");
    assert!(status.contains("200") && headers.contains("content-type: text/html"), "{headers}");
    assert!(
        headers.contains("content-security-policy: default-src 'none'")
            && headers.contains("x-content-type-options: nosniff")
    );
    let (status, _, _) = console.get("/submissions/vuln-1/sbom.cdx.json", "*/*");
    assert!(status.contains("200"));
    for missing in [
        "/submissions/vuln-1/..%2f..%2f.by-id%2fvuln-1",
        "/submissions/..%2fvuln-1",
        "/submissions/nobody",
        "/etc/passwd",
    ] {
        let (status, _, _) = console.get(missing, "*/*");
        assert!(status.contains("404"), "{missing}: {status}");
    }
}

#[test]
fn the_console_serves_a_postgres_store_the_same_way() {
    if !support::postgres::available() {
        return;
    }
    let sandbox = Sandbox::new();
    let database = support::postgres::TestDatabase::create("console");
    let url = database.url();
    commit_scans(
        &sandbox,
        &url,
        &[("echo-1", fixture("connectors/echo")), ("vuln-1", fixture("connectors/vulnerable"))],
    );
    let console = Console::start(&sandbox, std::ffi::OsStr::new(&url));
    let (status, _, body) = console.get("/?verdict=rejected", "application/json");
    assert!(status.contains("200"), "{status}");
    let rows: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 1);
    assert_eq!(rows[0]["submission_id"], "vuln-1");
    assert_eq!(rows[0]["kind"], "component");
    let (status, headers, body) = console.get("/submissions/echo-1", "text/html");
    assert!(status.contains("200") && headers.contains("content-type: text/html"), "{headers}");
    assert!(body.contains("<strong id=\"verdict\">ACCEPTED</strong>") && body.contains("Verdict history"));
}
