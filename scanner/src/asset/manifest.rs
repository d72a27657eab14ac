//! `Cargo.toml`: the package facts the gate needs (identity, licence, targets, build script, proc-macro),
//! and every path or local URL the manifest could point cargo at (see [`super::paths`]).

use serde::{Deserialize, Serialize};

use assay_report::{Finding, Location, codes};

use super::paths::{ManifestPath, manifest_paths};
use super::spans::TomlText;

/// The parts of a package manifest Assay reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Manifest {
    /// Package name.
    pub name: String,
    /// Package version (`0.0.0` when the manifest omits it, as cargo does).
    pub version: String,
    /// Rust edition.
    pub edition: Option<String>,
    /// SPDX licence expression.
    pub license: Option<String>,
    /// Licence file, when no expression is given.
    pub license_file: Option<String>,
    /// Repository URL.
    pub repository: Option<String>,
    /// Homepage URL.
    pub homepage: Option<String>,
    /// Documentation URL.
    pub documentation: Option<String>,
    /// One-paragraph description.
    pub description: Option<String>,
    /// The build script that cargo would run (`build.rs` when present and not disabled).
    pub build_script: Option<String>,
    /// Whether the library is a procedural macro (runs code at the user's compile time).
    pub proc_macro: bool,
    /// Names of declared `[[bin]]` targets.
    pub bins: Vec<String>,
    /// Dependencies as declared (all kinds, all targets).
    pub dependencies: Vec<DeclaredDependency>,
    /// Every path (and local git or registry URL) the manifest names, with its key and line.
    pub paths: Vec<ManifestPath>,
}

/// When a dependency is needed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DependencyKind {
    /// Compiled into the asset.
    Normal,
    /// Used by the build script only.
    Build,
    /// Used by tests, examples and benches only.
    Dev,
}

impl DependencyKind {
    /// The name facts and SBOM properties use.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Normal => "normal",
            Self::Build => "build",
            Self::Dev => "dev",
        }
    }
}

/// A dependency as a manifest declares it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeclaredDependency {
    /// The package name (the `package = "…"` of a renamed dependency).
    pub name: String,
    /// Normal, build or dev.
    pub kind: DependencyKind,
    /// The `cfg(…)` or triple of a platform-specific dependency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
}

#[derive(Deserialize)]
struct ManifestDoc {
    package: Option<PackageDoc>,
    lib: Option<LibDoc>,
    #[serde(default)]
    bin: Vec<BinDoc>,
}

#[derive(Deserialize)]
#[serde(rename_all = "kebab-case")]
struct PackageDoc {
    name: String,
    version: Option<toml::Spanned<toml::Value>>,
    edition: Option<toml::Value>,
    license: Option<toml::Value>,
    license_file: Option<toml::Value>,
    repository: Option<toml::Value>,
    homepage: Option<toml::Value>,
    documentation: Option<toml::Value>,
    description: Option<toml::Value>,
    build: Option<toml::Value>,
}

#[derive(Deserialize)]
struct LibDoc {
    #[serde(default, rename = "proc-macro", alias = "proc_macro")]
    proc_macro: bool,
}

#[derive(Deserialize)]
struct BinDoc {
    name: Option<String>,
}

impl Manifest {
    /// Parses manifest text on its own (no asset folder: `build.rs` is not looked for).
    pub fn parse(text: &str) -> Result<Self, Finding> {
        parse_manifest(text, &TomlText::new(text), false)
    }
}

/// Parses the manifest text. `has_build_rs` says whether `build.rs` exists next to it (cargo's default).
pub fn parse_manifest(text: &str, spans: &TomlText<'_>, has_build_rs: bool) -> Result<Manifest, Finding> {
    let invalid = |message: String, line: Option<u32>| {
        let location = match line {
            Some(line) => Location::file_line("Cargo.toml", line),
            None => Location::file("Cargo.toml"),
        };
        Finding::new(&codes::MANIFEST_INVALID, message).at(location)
    };
    let syntax = |err: toml::de::Error| invalid(format!("Cargo.toml: {}", err.message()), spans.line_of_error(&err));
    let doc: ManifestDoc = toml::from_str(text).map_err(syntax)?;
    // The same text as a plain table, for the dependency tables whose entries are strings or tables.
    let table: toml::Table = toml::from_str(text).map_err(syntax)?;
    let package = doc.package.ok_or_else(|| {
        invalid("Cargo.toml has no [package] table; a workspace root is not an asset".to_owned(), Some(1))
    })?;
    let version = match &package.version {
        None => "0.0.0".to_owned(),
        Some(value) => match value.get_ref().as_str() {
            Some(version) => version.to_owned(),
            None => {
                return Err(invalid(
                    "package.version is not a string (inherited from a workspace?); submit the packaged .crate"
                        .to_owned(),
                    Some(spans.line_of(value.span().start)),
                ));
            }
        },
    };
    // Name and version become directory names, purls and terminal text: only cargo's own forms pass.
    let at_key = |key: &'static str| {
        let line = spans.line_of_key(&["package", key]);
        move |problem: String| {
            let location = match line {
                Some(line) => Location::file_line("Cargo.toml", line),
                None => Location::file("Cargo.toml"),
            };
            Finding::new(&codes::MANIFEST_INVALID, problem).at(location.with_key(format!("package.{key}")))
        }
    };
    check_package_name(&package.name).map_err(at_key("name"))?;
    semver::Version::parse(&version)
        .map_err(|err| format!("package.version `{version}` is not a semantic version: {err}"))
        .map_err(at_key("version"))?;
    let text_of = |value: &Option<toml::Value>| value.as_ref().and_then(|v| v.as_str()).map(str::to_owned);
    let build_script = match &package.build {
        Some(toml::Value::Boolean(false)) => None,
        Some(toml::Value::String(path)) => Some(path.clone()),
        _ if has_build_rs => Some("build.rs".to_owned()),
        _ => None,
    };
    Ok(Manifest {
        name: package.name,
        version,
        edition: text_of(&package.edition),
        license: text_of(&package.license),
        license_file: text_of(&package.license_file),
        repository: text_of(&package.repository),
        homepage: text_of(&package.homepage),
        documentation: text_of(&package.documentation),
        description: text_of(&package.description),
        build_script,
        proc_macro: doc.lib.is_some_and(|lib| lib.proc_macro),
        bins: doc.bin.into_iter().filter_map(|bin| bin.name).collect(),
        dependencies: declared_dependencies(&table),
        paths: manifest_paths(&table, spans),
    })
}

/// cargo's rules for a publishable package name: 1–64 ASCII letters, digits, `-` and `_`, starting with a
/// letter. Anything else (a `/`, `..`, a control character) is refused before it can name a directory.
pub fn check_package_name(name: &str) -> Result<(), String> {
    let problem = if name.is_empty() {
        "is empty"
    } else if name.len() > 64 {
        "is longer than 64 characters"
    } else if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        "has characters other than ASCII letters, digits, `-` and `_`"
    } else if !name.as_bytes()[0].is_ascii_alphabetic() {
        "does not start with a letter"
    } else {
        return Ok(());
    };
    Err(format!("package.name `{name}` {problem}, so it is not a valid crate name"))
}

/// Dependency tables by kind, in both spellings cargo accepts.
const DEPENDENCY_TABLES: [(&str, DependencyKind); 5] = [
    ("dependencies", DependencyKind::Normal),
    ("build-dependencies", DependencyKind::Build),
    ("build_dependencies", DependencyKind::Build),
    ("dev-dependencies", DependencyKind::Dev),
    ("dev_dependencies", DependencyKind::Dev),
];

/// A `[dependencies]`-like table, at the top or under `[target.'cfg(…)']`.
pub(super) struct DependencyTable<'t> {
    /// Its entries.
    pub deps: &'t toml::Table,
    /// Normal, build or dev.
    pub kind: DependencyKind,
    /// The `cfg(…)` or triple it is under, if any.
    pub target: Option<&'t str>,
    /// Its key path (`["target", "cfg(unix)", "dependencies"]`).
    pub key: Vec<&'t str>,
}

/// Every dependency table of the manifest, in both spellings cargo accepts.
pub(super) fn dependency_tables(table: &toml::Table) -> Vec<DependencyTable<'_>> {
    fn scan<'t>(owner: &'t toml::Table, target: Option<&'t str>, found: &mut Vec<DependencyTable<'t>>) {
        for (key, kind) in DEPENDENCY_TABLES {
            if let Some(toml::Value::Table(deps)) = owner.get(key) {
                let path = match target {
                    Some(target) => vec!["target", target, key],
                    None => vec![key],
                };
                found.push(DependencyTable { deps, kind, target, key: path });
            }
        }
    }
    let mut found = Vec::new();
    scan(table, None, &mut found);
    if let Some(toml::Value::Table(targets)) = table.get("target") {
        for (target, value) in targets {
            if let toml::Value::Table(owner) = value {
                scan(owner, Some(target), &mut found);
            }
        }
    }
    found
}

fn declared_dependencies(table: &toml::Table) -> Vec<DeclaredDependency> {
    let mut declared: Vec<DeclaredDependency> = dependency_tables(table)
        .into_iter()
        .flat_map(|table| {
            table.deps.iter().map(move |(key, spec)| DeclaredDependency {
                name: spec.get("package").and_then(toml::Value::as_str).unwrap_or(key).to_owned(),
                kind: table.kind,
                target: table.target.map(str::to_owned),
            })
        })
        .collect();
    declared.sort_by(|a, b| (&a.name, a.kind, &a.target).cmp(&(&b.name, b.kind, &b.target)));
    declared.dedup();
    declared
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Manifest, Finding> {
        parse_manifest(text, &TomlText::new(text), false)
    }

    #[test]
    fn reads_package_facts() {
        let manifest = parse(
            "[package]\nname = \"demo\"\nversion = \"1.2.3\"\nlicense = \"MIT\"\nbuild = \"gen.rs\"\n[lib]\nproc-macro = true\n[[bin]]\nname = \"demo-cli\"\n",
        )
        .unwrap();
        assert_eq!(manifest.name, "demo");
        assert_eq!(manifest.version, "1.2.3");
        assert_eq!(manifest.license.as_deref(), Some("MIT"));
        assert_eq!(manifest.build_script.as_deref(), Some("gen.rs"));
        assert!(manifest.proc_macro);
        assert_eq!(manifest.bins, ["demo-cli"]);
    }

    #[test]
    fn reads_declared_dependencies_of_every_kind_and_target() {
        let manifest = parse(
            r#"[package]
name = "demo"
version = "0.1.0"
[dependencies]
serde = "1"
json = { package = "serde_json", version = "1" }
local = { path = "../local" }
[dev-dependencies]
itoa = "1"
[build-dependencies]
autocfg = "1"
[target.'cfg(windows)'.dependencies]
winapi = "0.3"
[patch.crates-io]
serde = { path = "vendor/serde" }
"#,
        )
        .unwrap();
        let summary: Vec<_> =
            manifest.dependencies.iter().map(|d| (d.name.as_str(), d.kind, d.target.as_deref())).collect();
        assert_eq!(
            summary,
            [
                ("autocfg", DependencyKind::Build, None),
                ("itoa", DependencyKind::Dev, None),
                ("local", DependencyKind::Normal, None),
                ("serde", DependencyKind::Normal, None),
                ("serde_json", DependencyKind::Normal, None),
                ("winapi", DependencyKind::Normal, Some("cfg(windows)")),
            ]
        );
        let paths: Vec<(&str, &str)> = manifest.paths.iter().map(|p| (p.key.as_str(), p.value.as_str())).collect();
        assert_eq!(paths, [("dependencies.local.path", "../local"), ("patch.crates-io.serde.path", "vendor/serde")]);
    }

    #[test]
    fn a_syntax_error_points_at_its_line() {
        let finding = parse("[package]\nname = \"demo\"\nversion = 1.2.3\n").unwrap_err();
        assert_eq!(finding.code, "manifest-invalid");
        assert_eq!(finding.location, Some(Location::file_line("Cargo.toml", 3)));
    }

    #[test]
    fn a_workspace_root_is_not_an_asset() {
        let finding = parse("[workspace]\nmembers = []\n").unwrap_err();
        assert!(finding.message.contains("no [package]"), "{}", finding.message);
    }

    #[test]
    fn a_name_that_is_not_a_crate_name_is_refused_at_its_key() {
        for name in ["../../escape", "a/b", "evil\\u001b[2J", "", "9lives", "x y"] {
            let finding = parse(&format!("[package]\nname = \"{name}\"\nversion = \"1.0.0\"\n")).unwrap_err();
            assert_eq!(finding.code, "manifest-invalid", "{name}");
            assert_eq!(
                finding.location,
                Some(Location::file_line("Cargo.toml", 2).with_key("package.name")),
                "{name}: {}",
                finding.message
            );
        }
        assert!(parse("[package]\nname = \"acme_connector-2\"\nversion = \"1.0.0\"\n").is_ok());
    }

    #[test]
    fn a_version_that_is_not_semver_is_refused() {
        let finding = parse("[package]\nname = \"demo\"\nversion = \"1.0/../../x\"\n").unwrap_err();
        assert_eq!(finding.location, Some(Location::file_line("Cargo.toml", 3).with_key("package.version")));
    }

    #[test]
    fn an_inherited_version_is_refused_at_its_line() {
        let finding = parse("[package]\nname = \"demo\"\nversion.workspace = true\n").unwrap_err();
        assert_eq!(finding.location, Some(Location::file_line("Cargo.toml", 3)));
    }
}
