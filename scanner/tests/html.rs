//! `report.html` in a real browser (headless Chromium, Debian's `chromium`): the page of an accepted, a
//! rejected and a load-tested asset shows its verdict, findings and plots; an asset whose every text field is
//! markup gets a page where that markup is text and nothing of it runs. Screenshots are kept under
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

/// Runs headless Chromium on `page` (a file) with `extra` options; returns stdout.
fn headless(browser: &Path, sandbox: &Sandbox, page: &Path, extra: &[&str]) -> String {
    let output = Command::new(browser)
        // Root in a container has no user namespace for Chromium's own sandbox; the page is ours to test.
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--hide-scrollbars"])
        .arg(format!("--user-data-dir={}", sandbox.path("chromium-profile").display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
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
    // Nothing was injected: a serialised DOM escapes `<` and `>` in text, so a payload inside a raw `<…>` is
    // an element or attribute the page made of it ...
    for (at, _) in shown.match_indices("pwned") {
        let before = &shown[..at];
        let in_tag = before.rfind('<') > before.rfind('>');
        assert!(!in_tag, "a payload became markup: …{}…", &shown[before.rfind('<').unwrap_or(0)..at + 20]);
    }
    for element in ["<script", "<img", "<svg onload", "<b ", "<a href=\"javascript"] {
        assert!(!shown.contains(element), "`{element}` is an element of the page");
    }
    // ... and every payload is there as text.
    for payload in ["pwned-description", "pwned-publisher", "pwned-summary", "pwned-link", "pwned-env", "pwned-attr"] {
        assert!(shown.contains(payload), "{payload} is shown");
    }
    assert!(shown.contains("&lt;script&gt;document.title='pwned-description'&lt;/script&gt;"));
    // The repository is not a `javascript:` link.
    assert!(!shown.contains("Repository: <a"), "{shown}");
    screenshot(&browser, &sandbox, &page, "report-markup");
}
