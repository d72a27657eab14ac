//! The report directory: `report.json`, `summary.md`, `report.html`, the SARIF log, the SBOM, the facts and evidence, the
//! load measurements and the signed statements, each written whole or not at all.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

use assay_report::{AcceptanceReport, render_html, render_summary};
use serde::Serialize;

use super::{ScanError, ScanOutput};

/// File name of the acceptance report.
pub const REPORT_FILE: &str = "report.json";
/// File name of the report for people.
pub const SUMMARY_FILE: &str = "summary.md";
/// File name of the report as one self-contained web page.
pub const HTML_FILE: &str = "report.html";
/// File name of the SBOM in a report directory.
pub const SBOM_FILE: &str = "sbom.cdx.json";
/// File name of the facts the rules judged.
pub const FACTS_FILE: &str = "facts.json";
/// File name of the stages' findings before the rules judged them (what a re-judgement starts from).
pub const EVIDENCE_FILE: &str = "evidence.json";
/// File name of the SARIF 2.1.0 log of the findings.
pub const SARIF_FILE: &str = "findings.sarif";
/// File name of the load test's measurements.
pub const LOAD_FILE: &str = "load.json";
/// File name of the signed statements: a JSON array of DSSE envelopes, `[VSA, detailed report]`.
pub const DSSE_FILE: &str = "report.dsse.json";

/// The name of a report's directory: `<name>-<version>` of a manifest that passed validation (cargo's name
/// rules, semver: no separator, no `..`), else `sha256-<digest prefix>` of the submission. Never text that
/// could leave the parent directory.
pub fn report_folder(report: &AcceptanceReport) -> String {
    let named = report.asset.as_ref().map(|asset| format!("{}-{}", asset.name, asset.version));
    let single_component = |folder: &String| {
        let mut components = Path::new(folder).components();
        matches!((components.next(), components.next()), (Some(std::path::Component::Normal(_)), None))
            && !folder.contains(['/', '\\'])
    };
    named
        .filter(single_component)
        .unwrap_or_else(|| format!("sha256-{}", report.subject.sha256.get(..16).unwrap_or(&report.subject.sha256)))
}

/// Every file of a report, by name, as written to a report directory or a store.
pub type ReportFiles = BTreeMap<String, Vec<u8>>;

/// The files of `output`: the report, its summary and SARIF log, the evidence, and what else it has.
pub fn report_files(output: &ScanOutput) -> Result<ReportFiles, serde_json::Error> {
    let report = &output.report;
    let mut files = ReportFiles::new();
    files.insert(REPORT_FILE.to_owned(), json(report)?);
    files.insert(SUMMARY_FILE.to_owned(), render_summary(report).into_bytes());
    files.insert(HTML_FILE.to_owned(), render_html(report, output.facts.as_ref()).into_bytes());
    files.insert(SARIF_FILE.to_owned(), json(&assay_report::sarif::render_sarif(report))?);
    files.insert(EVIDENCE_FILE.to_owned(), json(&output.evidence)?);
    if let Some(sbom) = &output.sbom {
        files.insert(SBOM_FILE.to_owned(), sbom.clone());
    }
    if let Some(facts) = &output.facts {
        files.insert(FACTS_FILE.to_owned(), json(facts)?);
    }
    if let Some(load) = &report.load {
        files.insert(LOAD_FILE.to_owned(), json(load)?);
    }
    if let Some(envelopes) = &output.envelopes {
        files.insert(DSSE_FILE.to_owned(), json(envelopes)?);
    }
    Ok(files)
}

/// `value` as pretty JSON with a final newline.
fn json(value: &impl Serialize) -> Result<Vec<u8>, serde_json::Error> {
    let mut json = serde_json::to_vec_pretty(value)?;
    json.push(b'\n');
    Ok(json)
}

/// Writes every file of the report into `out` (created if needed); `out` itself must not be a symbolic link.
pub fn write_report(output: &ScanOutput, out: &Path) -> Result<(), ScanError> {
    let files = report_files(output)
        .map_err(|err| ScanError::Write { path: out.join(REPORT_FILE), source: io::Error::other(err) })?;
    write_files(&files, out)
}

/// Writes report files into `out` (created if needed); `out` itself must not be a symbolic link.
pub fn write_files(files: &ReportFiles, out: &Path) -> Result<(), ScanError> {
    fs::create_dir_all(out).map_err(write_error(out))?;
    if fs::symlink_metadata(out).map_err(write_error(out))?.file_type().is_symlink() {
        let refused = io::Error::other("it is a symbolic link; reports are not written through links");
        return Err(ScanError::Write { path: out.to_owned(), source: refused });
    }
    let writer = ReportWriter { out };
    for (name, bytes) in files {
        writer.bytes(name, bytes)?;
    }
    Ok(())
}

/// Writes files into one report directory.
struct ReportWriter<'a> {
    out: &'a Path,
}

impl ReportWriter<'_> {
    /// `bytes` under `name`: written to a fresh temporary file (created exclusively, so never through a
    /// planted link) and renamed over the name, so a reader never sees half a file.
    fn bytes(&self, name: &str, bytes: &[u8]) -> Result<(), ScanError> {
        let path = self.out.join(name);
        let mut temporary = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .tempfile_in(self.out)
            .map_err(write_error(self.out))?;
        io::Write::write_all(temporary.as_file_mut(), bytes).map_err(write_error(temporary.path()))?;
        temporary.persist(&path).map_err(|err| ScanError::Write { path, source: err.error })?;
        Ok(())
    }
}

fn write_error(path: &Path) -> impl FnOnce(io::Error) -> ScanError + use<> {
    let path = path.to_owned();
    move |source| ScanError::Write { path, source }
}
