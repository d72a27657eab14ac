//! `[advisories]`: how much a vulnerability weighs by its CVSS severity.

use assay_report::audit::CvssSeverity;
use assay_report::{Finding, Severity, codes};
use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::Problems;

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct AdvisoriesDoc {
    severity_threshold: Option<Spanned<String>>,
}

/// Vulnerabilities whose CVSS severity is below the threshold only warn.
#[derive(Clone, Copy, Debug, Default)]
pub struct AdvisoryPolicy {
    /// The lowest CVSS severity that counts in full, when set.
    pub severity_threshold: Option<CvssSeverity>,
}

pub(crate) fn validate(doc: &AdvisoriesDoc, problems: &mut Problems<'_>) -> AdvisoryPolicy {
    let severity_threshold = doc.severity_threshold.as_ref().and_then(|threshold| {
        problems.one_of(
            threshold,
            "advisories.severity-threshold",
            CvssSeverity::parse,
            "a CVSS severity",
            "use none, low, medium, high or critical",
        )
    });
    AdvisoryPolicy { severity_threshold }
}

impl AdvisoryPolicy {
    /// Its line of the rule set's canonical form.
    pub(crate) fn canonical(&self, out: &mut String) {
        let threshold = self.severity_threshold.map_or("none", CvssSeverity::as_str);
        out.push_str(&format!("advisories.severity-threshold={threshold}\n"));
    }

    /// Lowers a vulnerability below the threshold to `warn`: reported, not blocking. One without a CVSS
    /// vector always counts in full, as in cargo-audit.
    pub(crate) fn apply(&self, finding: &mut Finding) {
        let cvss = finding.advisory.as_ref().and_then(|a| a.cvss_severity);
        let below = matches!((cvss, self.severity_threshold), (Some(cvss), Some(threshold)) if cvss < threshold);
        if finding.code == codes::VULNERABILITY.id && below && finding.severity > Severity::Warn {
            finding.severity = Severity::Warn;
        }
    }
}
