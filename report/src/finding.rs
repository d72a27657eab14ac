//! Findings: facts about an asset that the gate judges, each with a code, a severity and a location.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::codes::Code;

/// How much a finding weighs in the verdict, from the rule level that produced it.
///
/// Ordered from least to most severe so `max()` gives the decisive one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Severity {
    /// Worth knowing; never affects the verdict.
    Note,
    /// Should be fixed; does not block acceptance.
    Warn,
    /// A human must look before the asset is accepted.
    Review,
    /// Blocks acceptance.
    Deny,
}

impl Severity {
    /// The lowercase name used in reports and on the terminal.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Note => "note",
            Self::Warn => "warn",
            Self::Review => "review",
            Self::Deny => "deny",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where in the asset a finding points.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Location {
    /// A file of the asset, relative to the asset root, optionally with a 1-based line.
    File {
        /// Path relative to the asset root, `/`-separated.
        path: String,
        /// 1-based line number, when known.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        line: Option<u32>,
        /// The key or item the finding is about (e.g. `package.metadata.marketplace.kind`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        key: Option<String>,
    },
    /// A package of the asset's lockfile.
    Package {
        /// Package name.
        name: String,
        /// Package version.
        version: String,
    },
    /// An entry of the submitted archive, as its header names it (it may never have been unpacked).
    ArchiveEntry {
        /// The entry path exactly as written in the archive, lossily decoded.
        path: String,
    },
}

impl Location {
    /// A file location without a line.
    pub fn file(path: impl Into<String>) -> Self {
        Self::File { path: path.into(), line: None, key: None }
    }

    /// A file location at a 1-based line.
    pub fn file_line(path: impl Into<String>, line: u32) -> Self {
        Self::File { path: path.into(), line: Some(line), key: None }
    }

    /// A lockfile package.
    pub fn package(name: impl Into<String>, version: impl Into<String>) -> Self {
        Self::Package { name: name.into(), version: version.into() }
    }

    /// An archive entry.
    pub fn archive_entry(path: impl Into<String>) -> Self {
        Self::ArchiveEntry { path: path.into() }
    }

    /// The same location, naming a key.
    pub fn with_key(self, key: impl Into<String>) -> Self {
        match self {
            Self::File { path, line, .. } => Self::File { path, line, key: Some(key.into()) },
            other => other,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File { path, line, key } => {
                write!(f, "{path}")?;
                if let Some(line) = line {
                    write!(f, ":{line}")?;
                }
                if let Some(key) = key {
                    write!(f, " ({key})")?;
                }
                Ok(())
            }
            Self::Package { name, version } => write!(f, "{name} {version}"),
            Self::ArchiveEntry { path } => write!(f, "archive entry `{path}`"),
        }
    }
}

/// One thing the gate found about an asset. Findings are data, not errors.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable kebab-case code (see [`crate::codes`]).
    pub code: String,
    /// Weight in the verdict.
    pub severity: Severity,
    /// What is wrong, in words a publisher can act on.
    pub message: String,
    /// Where, when it has a place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// How to fix it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub help: Option<String>,
    /// The advisory behind an advisory finding (`vulnerability`, `unmaintained`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advisory: Option<AdvisoryRef>,
    /// The waiver that accepts this finding; a waived finding stays in the report but not in the verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waived: Option<Waived>,
}

/// The advisory an advisory finding is about.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdvisoryRef {
    /// Advisory id.
    pub id: String,
    /// CVSS qualitative severity, when the advisory has a vector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cvss_severity: Option<crate::audit::CvssSeverity>,
}

/// The waiver a finding is covered by.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waived {
    /// Why the risk is accepted.
    pub reason: String,
    /// Who accepted it.
    pub approver: String,
    /// Last day the waiver holds (YYYY-MM-DD).
    pub expires: String,
}

impl Finding {
    /// A finding of a catalogued code at that code's default severity.
    pub fn new(code: &Code, message: impl Into<String>) -> Self {
        Self {
            code: code.id.to_owned(),
            severity: code.default_severity,
            message: message.into(),
            location: None,
            help: None,
            advisory: None,
            waived: None,
        }
    }

    /// The same finding at a location.
    pub fn at(mut self, location: Location) -> Self {
        self.location = Some(location);
        self
    }

    /// The same finding with a hint on how to fix it.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    /// The same finding, about an advisory.
    pub fn about_advisory(mut self, id: &str, cvss_severity: Option<crate::audit::CvssSeverity>) -> Self {
        self.advisory = Some(AdvisoryRef { id: id.to_owned(), cvss_severity });
        self
    }

    /// Order used in every emitted list: most severe first, then by code, location and message,
    /// so the same input always gives the same bytes.
    pub fn sort(findings: &mut [Finding]) {
        findings.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.code.cmp(&b.code))
                .then_with(|| a.location.cmp(&b.location))
                .then_with(|| a.message.cmp(&b.message))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codes;

    #[test]
    fn findings_sort_most_severe_first_then_by_code() {
        let mut findings = vec![
            Finding::new(&codes::DB_STALE, "old"),
            Finding::new(&codes::VULNERABILITY, "b").at(Location::package("b", "1.0.0")),
            Finding::new(&codes::VULNERABILITY, "a").at(Location::package("a", "1.0.0")),
        ];
        Finding::sort(&mut findings);
        let order: Vec<_> = findings.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(order, ["a", "b", "old"]);
    }

    #[test]
    fn location_serialises_with_a_kind_tag() {
        let json = serde_json::to_string(&Location::file_line("Cargo.toml", 3)).unwrap();
        assert_eq!(json, r#"{"kind":"file","path":"Cargo.toml","line":3}"#);
        assert_eq!(Location::file_line("Cargo.toml", 3).to_string(), "Cargo.toml:3");
    }
}
