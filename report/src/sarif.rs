//! `findings.sarif`: the findings as SARIF 2.1.0, for code-scanning tools and IDEs.
//!
//! One reporting descriptor per catalogued code (indices are stable across reports), results with
//! physical locations relative to the asset root; lockfile packages and archive entries, which are not
//! lines of a file, are logical locations.

use serde_json::{Value, json};

use crate::codes::{self, Code};
use crate::{AcceptanceReport, Finding, Location, Severity};

/// SARIF level of a severity: `deny` blocks (error), `review` and `warn` need attention (warning).
pub fn level(severity: Severity) -> &'static str {
    match severity {
        Severity::Deny => "error",
        Severity::Review | Severity::Warn => "warning",
        Severity::Note => "note",
    }
}

/// Renders the report's findings as a SARIF 2.1.0 log.
pub fn render_sarif(report: &AcceptanceReport) -> Value {
    let mut rules: Vec<Value> = codes::ALL.iter().map(|code| descriptor(code.id, Some(code))).collect();
    let mut ids: Vec<String> = codes::ALL.iter().map(|code| code.id.to_owned()).collect();
    let results: Vec<Value> = report
        .findings
        .iter()
        .map(|finding| {
            let index = match ids.iter().position(|id| *id == finding.code) {
                Some(index) => index,
                None => {
                    // A code from outside the catalogue (a custom rule) gets a descriptor of its own.
                    ids.push(finding.code.clone());
                    rules.push(descriptor(&finding.code, None));
                    ids.len() - 1
                }
            };
            result(finding, index)
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": { "driver": {
                "name": report.tool.name,
                "version": report.tool.version,
                "informationUri": "https://github.com/rustsec/advisory-db",
                "rules": rules,
            }},
            "automationDetails": { "id": format!("assay/{}", report.report_id) },
            "results": results,
            "properties": {
                "subject": report.subject.name,
                "subjectSha256": report.subject.sha256,
                "verdict": report.verdict.as_str(),
            },
        }],
    })
}

fn descriptor(id: &str, code: Option<&Code>) -> Value {
    let summary = code.map_or("A finding reported by a custom rule.", |c| c.summary);
    let level = code.map_or("warning", |c| level(c.default_severity));
    json!({
        "id": id,
        "name": id,
        "shortDescription": { "text": summary },
        "help": { "text": format!("{summary} See `assay rules explain {id}`.") },
        "defaultConfiguration": { "level": level },
    })
}

fn result(finding: &Finding, index: usize) -> Value {
    let mut text = finding.message.clone();
    if let Some(help) = &finding.help {
        text.push_str(" Help: ");
        text.push_str(help);
    }
    let mut result = json!({
        "ruleId": finding.code,
        "ruleIndex": index,
        "level": level(finding.severity),
        "message": { "text": text },
    });
    if let Some(location) = &finding.location {
        result["locations"] = json!([sarif_location(location)]);
    }
    if let Some(waived) = &finding.waived {
        result["suppressions"] = json!([{
            "kind": "external",
            "status": "accepted",
            "justification": format!("{} (approved by {}, until {})", waived.reason, waived.approver, waived.expires),
        }]);
    }
    result
}

fn sarif_location(location: &Location) -> Value {
    match location {
        Location::File { path, line, .. } => {
            let mut physical = json!({ "artifactLocation": { "uri": uri_path(path), "uriBaseId": "ASSETROOT" } });
            if let Some(line) = line {
                physical["region"] = json!({ "startLine": line });
            }
            json!({ "physicalLocation": physical })
        }
        Location::Package { name, version } => json!({
            "physicalLocation": { "artifactLocation": { "uri": "Cargo.lock", "uriBaseId": "ASSETROOT" } },
            "logicalLocations": [{ "name": name, "fullyQualifiedName": format!("{name}@{version}"), "kind": "package" }],
        }),
        Location::ArchiveEntry { path } => json!({
            "logicalLocations": [{ "name": path, "kind": "archive-entry" }],
        }),
    }
}

/// A relative path as a URI reference: percent-encodes what a URI cannot hold as is.
fn uri_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_uri_references() {
        assert_eq!(uri_path("src/main.rs"), "src/main.rs");
        assert_eq!(uri_path("dir with space/ü.rs"), "dir%20with%20space/%C3%BC.rs");
    }

    #[test]
    fn levels_follow_severity() {
        assert_eq!(level(Severity::Deny), "error");
        assert_eq!(level(Severity::Review), "warning");
        assert_eq!(level(Severity::Note), "note");
    }
}
