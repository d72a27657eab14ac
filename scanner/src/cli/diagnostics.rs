//! Rule-set diagnostics for people: each one shows the offending source with a marker under the span, the key
//! and a hint, as cargo-deny renders its configuration errors (codespan-reporting).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assay_rules::Diagnostic;
use codespan_reporting::diagnostic::{Diagnostic as Rendered, Label};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, Config};

/// A rule-set file (or a policy it names) that does not validate: every diagnostic, rendered. Printed as
/// is, line by line, so the source snippets keep their layout: rule sets are the operator's text, not a
/// submission's (control characters within a line are still escaped).
#[derive(Debug)]
pub(super) struct InvalidRuleSet {
    path: PathBuf,
    count: usize,
    rendered: String,
}

impl InvalidRuleSet {
    pub(super) fn new(path: &Path, diagnostics: &[Diagnostic]) -> Self {
        Self { path: path.to_owned(), count: diagnostics.len(), rendered: render(diagnostics) }
    }

    /// The text people read, each line escaped on its own.
    pub(super) fn shown(&self) -> String {
        let text = self.to_string();
        let lines: Vec<_> = text.lines().map(assay_report::untrusted::escape).collect();
        lines.join("\n")
    }
}

impl std::fmt::Display for InvalidRuleSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let plural = if self.count == 1 { "" } else { "s" };
        write!(f, "the rule set {} has {} error{plural}:\n\n{}", self.path.display(), self.count, self.rendered)
    }
}

impl std::error::Error for InvalidRuleSet {}

/// Renders every diagnostic, reading the files they point into. A diagnostic without a span, or whose file
/// cannot be read again, is printed as `file:line: error: …` instead.
pub(super) fn render(diagnostics: &[Diagnostic]) -> String {
    render_with(diagnostics, |path| std::fs::read_to_string(path).ok())
}

/// [`render`] with the file contents from `read` (tests give them directly).
pub(super) fn render_with(diagnostics: &[Diagnostic], read: impl Fn(&Path) -> Option<String>) -> String {
    let mut files = SimpleFiles::new();
    let mut ids: BTreeMap<PathBuf, Option<usize>> = BTreeMap::new();
    let config = Config::default();
    let mut out = String::new();
    for diagnostic in diagnostics {
        let id = *ids.entry(diagnostic.path.clone()).or_insert_with(|| {
            read(&diagnostic.path).map(|text| files.add(diagnostic.path.display().to_string(), text))
        });
        let rendered = match (id, &diagnostic.span) {
            (Some(id), Some(span)) => {
                let mut notes = Vec::new();
                if let Some(key) = &diagnostic.key {
                    notes.push(format!("key: {key}"));
                }
                if let Some(help) = &diagnostic.help {
                    notes.push(format!("help: {help}"));
                }
                let rendered = Rendered::error()
                    .with_message(&diagnostic.message)
                    .with_label(Label::primary(id, span.clone()))
                    .with_notes(notes);
                term::emit_into_string(&config, &files, &rendered).ok()
            }
            _ => None,
        };
        match rendered {
            Some(text) => out.push_str(text.trim_end()),
            None => out.push_str(&diagnostic.to_string()),
        }
        out.push_str("\n\n");
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spanned_diagnostic_shows_its_line_with_a_marker() {
        let text = "version = 1\n[levels]\nvulnerability = \"fatal\"\n";
        let diagnostics = assay_rules::RuleSet::parse(text, Path::new("rules.toml")).unwrap_err();
        let rendered = render_with(&diagnostics, |_| Some(text.to_owned()));
        assert!(rendered.contains("error: `fatal` is not a level"), "{rendered}");
        assert!(rendered.contains("rules.toml:3:17"), "{rendered}");
        assert!(rendered.contains("3 │ vulnerability = \"fatal\""), "{rendered}");
        assert!(rendered.contains("^^^^^^^"), "{rendered}");
        assert!(rendered.contains("= help: use allow"), "{rendered}");
    }

    #[test]
    fn an_unreadable_file_falls_back_to_the_plain_line() {
        let diagnostic = Diagnostic::file(Path::new("gone.toml"), "cannot read: gone".to_owned());
        assert_eq!(render_with(&[diagnostic], |_| None), "gone.toml:0: error: cannot read: gone");
    }
}
