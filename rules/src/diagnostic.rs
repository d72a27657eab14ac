//! Rule-set diagnostics: each mistake points at the file, the line and the key, with a hint
//! (cargo-deny's spanned diagnostics are the model).

use std::fmt;
use std::path::PathBuf;

/// One mistake in a rule-set file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file.
    pub path: PathBuf,
    /// 1-based line.
    pub line: usize,
    /// The key at fault (`licenses.allow`), when one is.
    pub key: Option<String>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
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
