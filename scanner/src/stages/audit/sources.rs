//! Where a locked package comes from, and whether the RustSec database can speak for it.

use rustsec::package::Package;

/// The origin of a lockfile package as far as auditing is concerned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// crates.io, through the git index or the sparse index: audited.
    CratesIo,
    /// A git repository: not covered by RustSec.
    Git(String),
    /// A local path (a workspace member or path dependency): not covered.
    Path,
    /// Another registry: not covered.
    OtherRegistry(String),
}

impl Origin {
    /// Classifies a package. `rustsec` matches advisories only against the git-index source string, so a
    /// package locked through `sparse+https://index.crates.io/` would be silently skipped; both spellings
    /// are crates.io here and both are audited.
    pub fn of(package: &Package) -> Self {
        match &package.source {
            None => Self::Path,
            Some(source) if source.is_default_registry() => Self::CratesIo,
            Some(source) if source.is_git() => Self::Git(source.to_string()),
            Some(source) if source.is_path() => Self::Path,
            Some(source) => Self::OtherRegistry(source.to_string()),
        }
    }

    /// `git`, `path` or `registry` for an unaudited package; `None` for crates.io.
    pub fn unaudited_kind(&self) -> Option<&'static str> {
        match self {
            Self::CratesIo => None,
            Self::Git(_) => Some("git"),
            Self::Path => Some("path"),
            Self::OtherRegistry(_) => Some("registry"),
        }
    }

    /// The source as the lockfile writes it (empty for path packages).
    pub fn source_text(&self) -> &str {
        match self {
            Self::Git(source) | Self::OtherRegistry(source) => source,
            Self::CratesIo | Self::Path => "",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn origin(source: &str) -> Origin {
        let lockfile = rustsec::Lockfile::from_str(&format!(
            "version = 3\n[[package]]\nname = \"x\"\nversion = \"1.0.0\"\nsource = \"{source}\"\n"
        ))
        .unwrap();
        Origin::of(&lockfile.packages[0])
    }

    #[test]
    fn both_crates_io_index_spellings_are_crates_io() {
        assert_eq!(origin("registry+https://github.com/rust-lang/crates.io-index"), Origin::CratesIo);
        assert_eq!(origin("sparse+https://index.crates.io/"), Origin::CratesIo);
    }

    #[test]
    fn git_and_other_registries_are_unaudited() {
        assert_eq!(origin("git+https://github.com/acme/lib?rev=abc#abcdef").unaudited_kind(), Some("git"));
        assert_eq!(origin("sparse+https://registry.example/index/").unaudited_kind(), Some("registry"));
    }
}
