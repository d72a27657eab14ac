//! `Cargo.lock` (format v1 to v4): the exact dependency set the audit and the SBOM speak about.

use std::str::FromStr;

use assay_report::{Finding, Location, codes};
use rustsec::Lockfile;

use super::spans::TomlText;

/// Parses lockfile text; a TOML error points at its line, a structural one at the file.
pub fn parse_lockfile(text: &str) -> Result<Lockfile, Finding> {
    if let Some(finding) = unreadable_checksum(text) {
        return Err(finding);
    }
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

/// A checksum with a character outside ASCII, as a finding at its key: cargo-lock slices checksums by byte
/// offset and would panic on it (found by the `lockfile` fuzz target). Checksums are hex; anything else is
/// refused here, before cargo-lock reads the file.
fn unreadable_checksum(text: &str) -> Option<Finding> {
    let table: toml::Table = toml::from_str(text).ok()?;
    let packages = table.get("package").and_then(toml::Value::as_array).into_iter().flatten();
    let in_packages = packages.enumerate().find_map(|(index, package)| {
        let checksum = package.get("checksum")?.as_str()?;
        (!checksum.is_ascii()).then(|| format!("package[{index}].checksum"))
    });
    // Format v1 keeps checksums in `[metadata]`, keyed `"checksum NAME VERSION (SOURCE)"`.
    let metadata = table.get("metadata").and_then(toml::Value::as_table).into_iter().flatten();
    let in_metadata = || {
        metadata.filter(|(key, _)| key.starts_with("checksum ")).find_map(|(key, value)| {
            (!value.as_str().is_some_and(str::is_ascii)).then(|| format!("metadata.\"{key}\""))
        })
    };
    let key = in_packages.or_else(in_metadata)?;
    Some(
        Finding::new(&codes::LOCKFILE_INVALID, format!("Cargo.lock: `{key}` is not a hex sha256"))
            .at(Location::file("Cargo.lock").with_key(key))
            .help("regenerate it with `cargo generate-lockfile` and package again"),
    )
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
    fn a_checksum_outside_ascii_is_refused_at_its_key_not_a_panic() {
        let text = "[[package]]\nname = \"b\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\n\n[metadata]\n\"checksum b 1.0.0 (registry+https://github.com/rust-lang/crates.io-index)\" = \"abababababababababababababababab\u{feff}abababababababababababababababab\"\n";
        let finding = parse_lockfile(text).unwrap_err();
        assert!(finding.message.contains("is not a hex sha256"), "{}", finding.message);
        let text = "version = 3\n\n[[package]]\nname = \"b\"\nversion = \"1.0.0\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"é0f37c9e8f3c5a4a66ad655a93c74daac4ad00c441533bf5c6e7990bb42604e\"\n";
        let finding = parse_lockfile(text).unwrap_err();
        assert_eq!(finding.location, Some(Location::file("Cargo.lock").with_key("package[0].checksum")));
    }

    #[test]
    fn a_structural_error_names_the_file() {
        let finding = parse_lockfile("version = 3\n\n[[package]]\nname = \"x\"\n").unwrap_err();
        assert_eq!(finding.location, Some(Location::file("Cargo.lock")));
    }
}
