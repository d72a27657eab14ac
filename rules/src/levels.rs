//! `[levels]`: the level each finding code is judged at.

use std::collections::BTreeMap;

use assay_report::{Severity, codes};
use toml::Spanned;

use crate::diagnostic::Problems;

/// How much a code weighs: `allow` drops its findings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// Drop the finding.
    Allow,
    /// Judge it at this severity.
    At(Severity),
}

impl Level {
    /// The level by its rule-set spelling.
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "allow" => Self::Allow,
            "note" => Self::At(Severity::Note),
            "warn" => Self::At(Severity::Warn),
            "review" => Self::At(Severity::Review),
            "deny" => Self::At(Severity::Deny),
            _ => return None,
        })
    }

    /// The rule-set spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allow => "allow",
            Self::At(severity) => severity.as_str(),
        }
    }
}

/// `[levels]` as written: code → level.
pub(crate) type LevelsDoc = BTreeMap<Spanned<String>, Spanned<String>>;

/// The levels a rule set overrides; every other code keeps its catalogued default.
#[derive(Clone, Debug, Default)]
pub struct Levels {
    overrides: BTreeMap<String, Level>,
}

impl Levels {
    /// The level of `code`, if the rule set or the catalogue knows it.
    pub fn of(&self, code: &str) -> Option<Level> {
        self.overrides.get(code).copied().or_else(|| codes::lookup(code).map(|c| Level::At(c.default_severity)))
    }

    /// Overrides the level of `code`.
    pub fn set(&mut self, code: &str, level: Level) {
        self.overrides.insert(code.to_owned(), level);
    }

    /// Every code the catalogue or the overrides name, sorted.
    pub fn codes(&self) -> Vec<&str> {
        let mut codes: Vec<&str> =
            codes::ALL.iter().map(|c| c.id).chain(self.overrides.keys().map(String::as_str)).collect();
        codes.sort_unstable();
        codes.dedup();
        codes
    }
}

pub(crate) fn validate(doc: &LevelsDoc, problems: &mut Problems<'_>) -> Levels {
    let mut levels = Levels::default();
    for (code, level) in doc {
        let key = format!("levels.{}", code.get_ref());
        if codes::lookup(code.get_ref()).is_none() {
            problems.at(
                code.span(),
                &key,
                format!("`{}` is not a finding code", code.get_ref()),
                Some("`assay rules explain` lists every code"),
            );
        }
        match Level::parse(level.get_ref()) {
            Some(parsed) => levels.set(code.get_ref(), parsed),
            None => problems.at(
                level.span(),
                &key,
                format!("`{}` is not a level", level.get_ref()),
                Some("use allow, note, warn, review or deny"),
            ),
        }
    }
    levels
}
