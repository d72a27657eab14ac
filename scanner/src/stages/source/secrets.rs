//! Committed secrets: private keys, cloud and forge tokens, and high-entropy values assigned to names
//! like `password`. A secret is never copied whole into a report: only a redacted prefix and its length.

use std::sync::LazyLock;

use assay_report::{Finding, Location, codes};
use regex::Regex;

struct Detector {
    kind: &'static str,
    pattern: Regex,
}

/// Builds a detector; the patterns are constants, so a failure is a bug caught by the unit tests.
fn detector(kind: &'static str, pattern: &str) -> Option<Detector> {
    Regex::new(pattern).ok().map(|pattern| Detector { kind, pattern })
}

static DETECTORS: LazyLock<Vec<Detector>> = LazyLock::new(|| {
    [
        detector("private key", r"-----BEGIN (?:RSA |EC |DSA |OPENSSH |ENCRYPTED |PGP )?PRIVATE KEY(?: BLOCK)?-----"),
        detector("AWS access key id", r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
        detector(
            "AWS secret access key",
            r#"(?i)aws_?secret_?(?:access_?)?key["']?\s*[:=]\s*["']?([A-Za-z0-9/+]{40})\b"#,
        ),
        detector("GitHub token", r"\b(?:gh[pousr]_[A-Za-z0-9]{36}|github_pat_[A-Za-z0-9_]{82})\b"),
        detector("GitLab token", r"\bglpat-[A-Za-z0-9_-]{20}\b"),
        detector("Slack token", r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"),
    ]
    .into_iter()
    .flatten()
    .collect()
});

/// `secret = "…"`, `API_TOKEN: "…"`, `password => "…"`: a quoted value of 12+ characters.
static ASSIGNMENT: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b[a-z0-9_]*(?:secret|token|passw(?:or)?d|api_?key|private_?key)[a-z0-9_]*\b["']?\s*(?::|=|=>)\s*(?:&?str|String)?\s*["']([^"'\s]{12,})["']"#).ok()
});

/// Secrets in one text file, one finding each.
pub fn scan(file: &str, text: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let at = Location::file_line(file, u32::try_from(index + 1).unwrap_or(u32::MAX));
        for detector in DETECTORS.iter() {
            if let Some(found) = detector.pattern.captures(line) {
                let value = found.get(1).or_else(|| found.get(0)).map_or("", |m| m.as_str());
                findings.push(secret(detector.kind, value, at.clone()));
            }
        }
        if let Some(found) = ASSIGNMENT.as_ref().and_then(|pattern| pattern.captures(line))
            && let Some(value) = found.get(1).map(|m| m.as_str())
            && entropy(value) >= 3.5
            && !looks_like_placeholder(value)
            && !DETECTORS.iter().any(|d| d.pattern.is_match(line))
        {
            findings.push(secret("high-entropy value assigned to a secret-like name", value, at.clone()));
        }
    }
    findings
}

fn secret(kind: &str, value: &str, at: Location) -> Finding {
    Finding::new(&codes::SECRET, format!("a committed {kind}: `{}`", redact(value)))
        .at(at)
        .help("remove it from the package and rotate it: anyone who downloads the asset has it")
}

/// The first four characters and the length: enough to find and rotate it, not enough to use it.
pub fn redact(value: &str) -> String {
    let prefix: String = value.chars().take(4).collect();
    format!("{prefix}… ({} chars)", value.chars().count())
}

/// Shannon entropy in bits per character.
fn entropy(value: &str) -> f64 {
    let mut counts = std::collections::HashMap::new();
    for c in value.chars() {
        *counts.entry(c).or_insert(0u32) += 1;
    }
    let length = value.chars().count() as f64;
    counts.values().map(|&n| f64::from(n) / length).map(|p| -p * p.log2()).sum()
}

fn looks_like_placeholder(value: &str) -> bool {
    let lower = value.to_ascii_lowercase();
    ["example", "changeme", "placeholder", "your_", "xxxx", "${", "{{", "dummy", "test"]
        .iter()
        .any(|p| lower.contains(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<String> {
        scan("src/lib.rs", text).into_iter().map(|f| f.message).collect()
    }

    #[test]
    fn every_detector_compiles() {
        assert_eq!(DETECTORS.len(), 6);
        assert!(ASSIGNMENT.is_some());
    }

    #[test]
    fn true_positives_are_found_and_redacted() {
        let aws_key = "AKIA".to_owned() + "Z7XQ2M4P9KLT3RWB";
        let cases = [
            ("-----BEGIN OPENSSH PRIVATE KEY-----".to_owned(), "private key"),
            (format!("let id = \"{aws_key}\";"), "AWS access key id"),
            (
                format!("aws_secret_access_key = \"{}\"", "k9Vq3+Lm2Zx8Rt7Wp1Yc4Nb6Hd0Gf5Js/Ea2Uo8T"),
                "AWS secret access key",
            ),
            (format!("const T: &str = \"ghp_{}\";", "a1B2c3D4e5F6g7H8i9J0k1L2m3N4o5P6q7R8"), "GitHub token"),
            (format!("token: glpat-{}", "Xy7_Qw9-Er3Ty5Ui8Op2"), "GitLab token"),
            (format!("hook = \"xoxb-{}\"", "2048-7731-QzWxEcRvTbYn"), "Slack token"),
            ("let db_password = \"q8#Zr!t2Lw9@vX4m\";".to_owned(), "high-entropy value"),
        ];
        for (line, kind) in cases {
            let found = kinds(&line);
            assert_eq!(found.len(), 1, "{line}: {found:?}");
            assert!(found[0].contains(kind), "{line}: {found:?}");
        }
        let message = &kinds(&format!("let id = \"{aws_key}\";"))[0];
        assert!(!message.contains(&aws_key), "never copied whole: {message}");
        assert!(message.contains("AKIA… (20 chars)"), "{message}");
    }

    #[test]
    fn false_positives_are_not_reported() {
        for line in [
            "-----BEGIN PUBLIC KEY-----",
            "let token = next_token();",
            "let password = \"changeme-please\";",
            "let api_key = std::env::var(\"API_KEY\");",
            "let secret = \"aaaaaaaaaaaaaaaa\";",
            "// AKIA is the prefix of AWS key ids",
            "let name = \"ghp_short\";",
        ] {
            assert!(kinds(line).is_empty(), "{line}: {:?}", kinds(line));
        }
    }
}
