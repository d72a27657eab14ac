//! Custom rules in Rego, evaluated in-process with `regorus` over the facts (`input`).
//!
//! A policy may define the sets `deny`, `review` and `warn` of objects
//! `{"code": "kebab-case", "msg": "…", "location": {"file": "…", "line": N} | {"package": "…", "version": "…"}}`;
//! each object is a finding at that level.

use std::fmt;
use std::path::{Path, PathBuf};

use assay_report::facts::Facts;
use assay_report::{Finding, Location, Severity, codes};

use toml::Spanned;

use crate::diagnostic::{Diagnostic, Problems};

/// Loaded Rego policies, ready to evaluate.
#[derive(Clone)]
pub struct RegoRules {
    engine: regorus::Engine,
    /// `(package, file)` of each policy, in load order.
    packages: Vec<(String, PathBuf)>,
    /// sha256 of each file's text, for the rule-set digest.
    digests: Vec<(PathBuf, String)>,
}

impl fmt::Debug for RegoRules {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegoRules").field("packages", &self.packages).finish_non_exhaustive()
    }
}

/// Files matching `pattern` relative to `base`: a plain path, or a path whose last part is `*.rego`-style
/// (one `*` in the file name). Sorted, so the load order and digest are stable.
fn expand(base: &Path, pattern: &str) -> Result<Vec<PathBuf>, String> {
    let full = base.join(pattern);
    let Some(name) = full.file_name().and_then(|n| n.to_str()) else {
        return Err(format!("`{pattern}` names no file"));
    };
    if !name.contains('*') {
        return if full.is_file() { Ok(vec![full]) } else { Err(format!("`{pattern}`: no such file")) };
    }
    let (prefix, suffix) = name.split_once('*').unwrap_or((name, ""));
    if suffix.contains('*') {
        return Err(format!("`{pattern}`: only one `*` in the file name is supported"));
    }
    let dir = full.parent().unwrap_or(base);
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|err| format!("`{pattern}`: cannot read {}: {err}", dir.display()))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| {
            path.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with(prefix) && n.ends_with(suffix))
        })
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("`{pattern}` matches no file"));
    }
    Ok(files)
}

/// Deepest bracket nesting handed to regorus: its parser takes time exponential in the nesting of
/// brackets (about 2x per level: 18 levels took 25 s, found by the `rule_set` fuzz target). Real policies
/// nest 4 or 5 levels.
const MAX_NESTING: usize = 12;

/// The deepest nesting of `(`, `[` and `{` in Rego text, outside comments and strings, and the byte offset
/// where it is first reached.
fn deepest_nesting(text: &str) -> (usize, usize) {
    let bytes = text.as_bytes();
    let (mut depth, mut deepest, mut at) = (0usize, 0usize, 0usize);
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' {
                    i += 1;
                }
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'`' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'`' {
                    i += 1;
                }
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > deepest {
                    (deepest, at) = (depth, i);
                }
            }
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    (deepest, at)
}

/// The line of a regorus error (`--> file:LINE:COL`), when it has one.
fn error_line(message: &str) -> Option<usize> {
    let location = message.split("--> ").nth(1)?.lines().next()?;
    let mut parts = location.rsplitn(3, ':');
    let _column = parts.next()?;
    parts.next()?.trim().parse().ok()
}

impl RegoRules {
    /// Loads every policy the `rego = [...]` patterns match, relative to the rule-set file's folder. Returns
    /// `None` when any pattern or policy is wrong; each mistake is in `problems`.
    pub(crate) fn load(patterns: &[Spanned<String>], problems: &mut Problems<'_>) -> Option<Self> {
        let base = problems.path().parent().unwrap_or(Path::new(".")).to_owned();
        let mut engine = regorus::Engine::new();
        let mut packages = Vec::new();
        let mut digests = Vec::new();
        let mut failed = false;
        for pattern in patterns {
            let files = match expand(&base, pattern.get_ref()) {
                Ok(files) => files,
                Err(message) => {
                    problems.at(pattern.span(), "rego", message, None);
                    failed = true;
                    continue;
                }
            };
            for file in files {
                let text = match std::fs::read_to_string(&file) {
                    Ok(text) => text,
                    Err(err) => {
                        problems.push(Diagnostic::file(&file, format!("cannot read: {err}")));
                        failed = true;
                        continue;
                    }
                };
                digests.push((file.clone(), assay_report::digest::sha256_hex(text.as_bytes())));
                let (deepest, at) = deepest_nesting(&text);
                if deepest > MAX_NESTING {
                    let line = text[..at].matches('\n').count() + 1;
                    let mut diagnostic = Diagnostic::at_line(
                        &file,
                        &text,
                        line,
                        format!("Rego: brackets nest {deepest} levels deep, over the limit of {MAX_NESTING}"),
                    );
                    diagnostic.help = Some("flatten the expression with helper rules or variables".into());
                    problems.push(diagnostic);
                    failed = true;
                    continue;
                }
                match engine.add_policy(file.display().to_string(), text.clone()) {
                    Ok(package) => packages.push((package, file)),
                    Err(err) => {
                        let message = err.to_string();
                        let summary = message
                            .lines()
                            .rev()
                            .find(|l| l.starts_with("error:"))
                            .unwrap_or(message.trim())
                            .to_owned();
                        let line = error_line(&message).unwrap_or(1);
                        let mut diagnostic = Diagnostic::at_line(
                            &file,
                            &text,
                            line,
                            format!("Rego: {}", summary.trim_start_matches("error: ")),
                        );
                        diagnostic.help =
                            Some("rules are Rego v1: `deny contains {\"code\": …, \"msg\": …} if { … }`".into());
                        problems.push(diagnostic);
                        failed = true;
                    }
                }
            }
        }
        (!failed).then_some(Self { engine, packages, digests })
    }

    /// Its lines of the rule set's canonical form: each policy file's name and sha256.
    pub(crate) fn canonical(&self, out: &mut String) {
        for (file, sha256) in &self.digests {
            let name = file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            out.push_str(&format!("rego {name}={sha256}\n"));
        }
    }

    /// Evaluates every policy over `facts`. A rule that fails at run time becomes a `review` finding: a
    /// custom rule that cannot judge must not let an asset pass unseen.
    pub fn evaluate(&self, facts: &Facts) -> Vec<Finding> {
        let mut engine = self.engine.clone();
        let mut findings = Vec::new();
        let input = serde_json::to_string(facts).unwrap_or_default();
        match regorus::Value::from_json_str(&input) {
            Ok(value) => engine.set_input(value),
            Err(err) => return vec![failure("input", &err.to_string())],
        }
        for (package, file) in &self.packages {
            for (set, severity) in [("deny", Severity::Deny), ("review", Severity::Review), ("warn", Severity::Warn)] {
                let value = match engine.eval_rule(format!("{package}.{set}")) {
                    Ok(value) => value,
                    // The policy does not define this set.
                    Err(err) if err.to_string().contains("not a valid rule path") => continue,
                    Err(err) => {
                        findings.push(failure(&format!("{package}.{set} ({})", file.display()), &err.to_string()));
                        continue;
                    }
                };
                let Ok(json) = value.to_json_str() else { continue };
                let Ok(serde_json::Value::Array(items)) = serde_json::from_str::<serde_json::Value>(&json) else {
                    continue;
                };
                for item in items {
                    findings.push(custom_finding(&item, severity, package));
                }
            }
        }
        findings
    }
}

fn failure(rule: &str, error: &str) -> Finding {
    Finding::new(&codes::CUSTOM_RULE_FAILED, format!("the custom rule {rule} could not be evaluated: {}", error.trim()))
        .help("fix the rule; until then a human reviews the asset")
}

fn custom_finding(item: &serde_json::Value, severity: Severity, package: &str) -> Finding {
    let code = item["code"]
        .as_str()
        .filter(|c| !c.is_empty() && c.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'))
        .unwrap_or("custom-rule")
        .to_owned();
    let message = item["msg"].as_str().map_or_else(|| format!("{package}: {item}"), str::to_owned);
    let location = &item["location"];
    let location = if let Some(file) = location["file"].as_str() {
        Some(match location["line"].as_u64().and_then(|l| u32::try_from(l).ok()) {
            Some(line) => Location::file_line(file, line),
            None => Location::file(file),
        })
    } else {
        location["package"].as_str().map(|name| Location::package(name, location["version"].as_str().unwrap_or("")))
    };
    Finding { code, severity, message, location, help: None, advisory: None, waived: None }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nesting_is_counted_in_code_only() {
        assert_eq!(deepest_nesting("deny contains {\"a\": [[1]]} if { true }").0, 3);
        assert_eq!(deepest_nesting("# [[[[[[\nx := \"[[[[\\\"[[\"\ny := `[[[[`").0, 0);
        let deep = format!("x := {}1", "[".repeat(40));
        assert_eq!(deepest_nesting(&deep), (40, 44));
    }

    #[test]
    fn regorus_error_lines_are_found() {
        assert_eq!(error_line("\n--> p/bad.rego:6:1\n  |\nerror: expecting"), Some(6));
        assert_eq!(error_line("no location"), None);
    }
}
