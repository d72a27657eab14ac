//! `Cargo.lock` (format v1 to v4): the exact dependency set the audit and the SBOM speak about.

use std::str::FromStr;

use assay_report::{Finding, Location, codes};
use rustsec::Lockfile;

use super::spans::TomlText;

/// Parses lockfile text; a TOML error points at its line, a structural one at the file.
pub fn parse_lockfile(text: &str) -> Result<Lockfile, Finding> {
    if let Err(err) = toml::de::DeTable::parse(text) {
        let spans = TomlText::new(text);
        let location = match spans.line_of_error(&err) {
            Some(line) => Location::file_line("Cargo.lock", line),
            None => Location::file("Cargo.lock"),
        };
        return Err(Finding::new(
            &codes::LOCKFILE_INVALID,
            format!("Cargo.lock is not valid TOML: {}", err.message().trim()),
        )
        .at(location));
    }
    Lockfile::from_str(text).map_err(|err| {
        Finding::new(&codes::LOCKFILE_INVALID, format!("Cargo.lock cannot be read: {err}"))
            .at(Location::file("Cargo.lock"))
            .help("regenerate it with `cargo generate-lockfile` and package again")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_v3_and_v4_lockfiles() {
        for version in [3, 4] {
            let text = format!(
                "version = {version}\n\n[[package]]\nname = \"demo\"\nversion = \"0.1.0\"\n\n[[package]]\nname = \"smallvec\"\nversion = \"1.6.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"fe0f37c9e8f3c5a4a66ad655a93c74daac4ad00c441533bf5c6e7990bb42604e\"\n"
            );
            let lockfile = parse_lockfile(&text).unwrap();
            assert_eq!(lockfile.packages.len(), 2, "v{version}");
        }
    }

    #[test]
    fn a_toml_error_points_at_its_line() {
        let finding = parse_lockfile("version = 3\n\n[[package]\nname = \"x\"\n").unwrap_err();
        assert_eq!(finding.code, "lockfile-invalid");
        assert_eq!(finding.location, Some(Location::file_line("Cargo.lock", 3)));
    }

    #[test]
    fn a_structural_error_names_the_file() {
        let finding = parse_lockfile("version = 3\n\n[[package]]\nname = \"x\"\n").unwrap_err();
        assert_eq!(finding.location, Some(Location::file("Cargo.lock")));
    }
}
