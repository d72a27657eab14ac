//! Rule-set diagnostics: each mistake points at the file, the span (so a renderer can show the offending
//! source with a marker), the line and the key, with a hint (cargo-deny's spanned diagnostics are the model).

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// One mistake in a rule-set file (or a Rego policy it names).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file.
    pub path: PathBuf,
    /// 1-based line; 0 when the mistake is about the file as a whole (it cannot be read).
    pub line: usize,
    /// Byte range of the offending text in the file, when known.
    pub span: Option<Range<usize>>,
    /// The key at fault (`licenses.allow`), when one is.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A mistake about a whole file (it cannot be read), with no place in it.
    pub fn file(path: &Path, message: String) -> Self {
        Self { path: path.to_owned(), line: 0, span: None, key: None, message, help: None }
    }

    /// A mistake at line `line` (1-based) of `text`, the content of `path`: the span is the whole line.
    pub fn at_line(path: &Path, text: &str, line: usize, message: String) -> Self {
        let start: usize =
            text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum::<usize>().min(text.len());
        let end = text[start..].find('\n').map_or(text.len(), |n| start + n);
        Self { path: path.to_owned(), line, span: Some(start..end), key: None, message, help: None }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: error: {}", self.path.display(), self.line, self.message)?;
        if let Some(key) = &self.key {
            write!(f, "\n  = key: {key}")?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

/// Collects the mistakes of one rule-set file as its sections are validated, each located in its text.
pub(crate) struct Problems<'a> {
    path: &'a Path,
    text: &'a str,
    found: Vec<Diagnostic>,
}

impl<'a> Problems<'a> {
    pub(crate) fn new(path: &'a Path, text: &'a str) -> Self {
        Self { path, text, found: Vec::new() }
    }

    /// The file's path, for diagnostics about other files it names.
    pub(crate) fn path(&self) -> &'a Path {
        self.path
    }

    /// The 1-based line of a byte offset.
    pub(crate) fn line_of(&self, offset: usize) -> usize {
        let offset = offset.min(self.text.len());
        self.text.as_bytes()[..offset].iter().filter(|&&b| b == b'\n').count() + 1
    }

    /// Records a mistake at `span`, naming `key`, with an optional hint.
    pub(crate) fn at(&mut self, span: Range<usize>, key: &str, message: String, help: Option<&str>) {
        self.push(Diagnostic {
            path: self.path.to_owned(),
            line: self.line_of(span.start),
            span: Some(span),
            key: (!key.is_empty()).then(|| key.to_owned()),
            message,
            help: help.map(str::to_owned),
        });
    }

    /// One of a closed set of names (a kind, a capability, a severity), or a diagnostic at `value` saying it
    /// is not `a thing` and listing what is (`help`).
    pub(crate) fn one_of<T>(
        &mut self,
        value: &toml::Spanned<String>,
        key: &str,
        parse: impl Fn(&str) -> Option<T>,
        thing: &str,
        help: &str,
    ) -> Option<T> {
        let parsed = parse(value.get_ref());
        if parsed.is_none() {
            self.at(value.span(), key, format!("`{}` is not {thing}", value.get_ref()), Some(help));
        }
        parsed
    }

    /// A quantity (`500ms`, `20%`, `4MiB`) at `key`, or a diagnostic at its value when it does not parse.
    /// Quantities are read as strings so the span is the value's.
    pub(crate) fn quantity<T: std::str::FromStr<Err = String>>(
        &mut self,
        value: Option<&toml::Spanned<String>>,
        key: &str,
    ) -> Option<T> {
        let value = value?;
        match value.get_ref().parse() {
            Ok(parsed) => Some(parsed),
            Err(message) => {
                self.at(value.span(), key, message, None);
                None
            }
        }
    }

    /// Records a diagnostic made elsewhere (a Rego policy's).
    pub(crate) fn push(&mut self, diagnostic: Diagnostic) {
        self.found.push(diagnostic);
    }

    /// Whether nothing is wrong so far.
    pub(crate) fn is_empty(&self) -> bool {
        self.found.is_empty()
    }

    /// Every mistake, in file order (the rule-set file's first, then the files it names).
    pub(crate) fn into_sorted(self) -> Vec<Diagnostic> {
        let mut found = self.found;
        let own = self.path.to_owned();
        found.sort_by(|a, b| {
            (a.path != own, &a.path, a.line, a.span.as_ref().map(|s| s.start)).cmp(&(
                b.path != own,
                &b.path,
                b.line,
                b.span.as_ref().map(|s| s.start),
            ))
        });
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_diagnostic_spans_that_line() {
        let text = "one\ntwo\nthree";
        let diagnostic = Diagnostic::at_line(Path::new("f"), text, 2, "bad".into());
        assert_eq!(&text[diagnostic.span.unwrap()], "two");
        let last = Diagnostic::at_line(Path::new("f"), text, 3, "bad".into());
        assert_eq!(&text[last.span.unwrap()], "three");
    }
}
