//! `[build]`: assets allowed to run code at build time (a build script, or being a proc macro).

use assay_report::codes;
use serde::Deserialize;

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct BuildDoc {
    #[serde(default)]
    allow_build_scripts: Vec<String>,
    #[serde(default)]
    allow_proc_macros: Vec<String>,
}

/// Assets whose build-time code is known and accepted.
#[derive(Clone, Debug, Default)]
pub struct BuildAllowList {
    /// Assets whose build script is accepted.
    pub build_scripts: Vec<String>,
    /// Proc-macro assets that are accepted.
    pub proc_macros: Vec<String>,
}

pub(crate) fn validate(doc: BuildDoc) -> BuildAllowList {
    BuildAllowList { build_scripts: doc.allow_build_scripts, proc_macros: doc.allow_proc_macros }
}

impl BuildAllowList {
    /// Whether a finding of `code` about asset `name` is allow-listed (and so dropped).
    pub(crate) fn covers(&self, code: &str, name: &str) -> bool {
        let list = if code == codes::BUILD_SCRIPT.id {
            &self.build_scripts
        } else if code == codes::PROC_MACRO.id {
            &self.proc_macros
        } else {
            return false;
        };
        list.iter().any(|allowed| allowed == name)
    }

    /// Its lines of the rule set's canonical form.
    pub(crate) fn canonical(&self, out: &mut String) {
        out.push_str(&format!(
            "build.scripts={}\nbuild.proc-macros={}\n",
            self.build_scripts.join(","),
            self.proc_macros.join(",")
        ));
    }
}
