//! Every path a manifest can make cargo (or a packager) read, and every local URL it can make cargo fetch,
//! found by Assay's parser so the host never has to ask cargo: dependency, `[workspace.dependencies]`,
//! `[patch]` and `[replace]` paths and git/registry URLs, target paths, `build`, `readme`, `license-file`,
//! `include`/`exclude` patterns, `package.workspace` and `workspace.members`. One that leaves the asset is a
//! `manifest-path-outside` finding naming its key.

use std::path::{Component, Path};

use super::manifest::dependency_tables;
use super::spans::TomlText;

/// One path-like value of the manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestPath {
    /// Its dotted key (`dependencies.secrets.path`, `workspace.members.0`).
    pub key: String,
    /// The value as written.
    pub value: String,
    /// Its line in Cargo.toml, when known.
    pub line: Option<u32>,
    /// Whether it points outside the asset.
    pub outside: bool,
}

/// What a value is, which decides how "outside" is judged.
#[derive(Clone, Copy)]
enum Kind {
    /// A path or glob relative to the manifest.
    Path,
    /// A URL cargo fetches (`git`, `registry-index`): outside when it is local (`file:`) or not a URL.
    Url,
}

/// Every path-like value of a manifest, sorted by key.
pub fn manifest_paths(table: &toml::Table, spans: &TomlText<'_>) -> Vec<ManifestPath> {
    let mut found = Found { spans, paths: Vec::new() };
    let package = table.get("package").and_then(toml::Value::as_table);
    for key in ["workspace", "build", "readme", "license-file", "license_file"] {
        found.value(&["package", key], package.and_then(|p| p.get(key)), Kind::Path);
    }
    for key in ["include", "exclude"] {
        found.array(&["package", key], package.and_then(|p| p.get(key)));
    }
    found.value(&["lib", "path"], table.get("lib").and_then(|lib| lib.get("path")), Kind::Path);
    for target in ["bin", "test", "bench", "example"] {
        if let Some(toml::Value::Array(targets)) = table.get(target) {
            for (index, entry) in targets.iter().enumerate() {
                found.value(&[target, &index.to_string(), "path"], entry.get("path"), Kind::Path);
            }
        }
    }
    for deps in dependency_tables(table) {
        for (name, spec) in deps.deps {
            found.dependency(&[deps.key.as_slice(), &[name.as_str()]].concat(), spec);
        }
    }
    if let Some(workspace) = table.get("workspace").and_then(toml::Value::as_table) {
        for key in ["members", "default-members", "exclude"] {
            found.array(&["workspace", key], workspace.get(key));
        }
        if let Some(toml::Value::Table(deps)) = workspace.get("dependencies") {
            for (name, spec) in deps {
                found.dependency(&["workspace", "dependencies", name], spec);
            }
        }
        let inherited = workspace.get("package").and_then(toml::Value::as_table);
        for key in ["readme", "license-file"] {
            found.value(&["workspace", "package", key], inherited.and_then(|p| p.get(key)), Kind::Path);
        }
        for key in ["include", "exclude"] {
            found.array(&["workspace", "package", key], inherited.and_then(|p| p.get(key)));
        }
    }
    // `[patch.<registry>.<name>]` and `[replace."<name>:<version>"]` point cargo at other sources too.
    if let Some(toml::Value::Table(patches)) = table.get("patch") {
        for (registry, patched) in patches {
            for (name, spec) in patched.as_table().into_iter().flatten() {
                found.dependency(&["patch", registry, name], spec);
            }
        }
    }
    if let Some(toml::Value::Table(replace)) = table.get("replace") {
        for (spec_key, spec) in replace {
            found.dependency(&["replace", spec_key], spec);
        }
    }
    found.paths.sort_by(|a, b| a.key.cmp(&b.key));
    found.paths
}

struct Found<'s, 't> {
    spans: &'s TomlText<'t>,
    paths: Vec<ManifestPath>,
}

impl Found<'_, '_> {
    fn value(&mut self, key: &[&str], value: Option<&toml::Value>, kind: Kind) {
        let Some(text) = value.and_then(toml::Value::as_str) else { return };
        let outside = match kind {
            Kind::Path => path_escapes(text),
            Kind::Url => url::Url::parse(text).map_or(true, |url| url.scheme() == "file"),
        };
        self.paths.push(ManifestPath {
            key: key.join("."),
            value: text.to_owned(),
            line: self.spans.line_of_key(key),
            outside,
        });
    }

    fn array(&mut self, key: &[&str], value: Option<&toml::Value>) {
        for (index, item) in value.and_then(toml::Value::as_array).into_iter().flatten().enumerate() {
            let index = index.to_string();
            self.value(&[key, &[index.as_str()]].concat(), Some(item), Kind::Path);
        }
    }

    fn dependency(&mut self, key: &[&str], spec: &toml::Value) {
        self.value(&[key, &["path"]].concat(), spec.get("path"), Kind::Path);
        self.value(&[key, &["git"]].concat(), spec.get("git"), Kind::Url);
        self.value(&[key, &["registry-index"]].concat(), spec.get("registry-index"), Kind::Url);
    }
}

/// True when a manifest path leaves the asset root (absolute, or more `..` than depth).
pub fn path_escapes(path: &str) -> bool {
    // Backslashes separate paths on Windows tooling; `..\x` must not slip through.
    let normalised = path.replace('\\', "/");
    let mut depth = 0usize;
    for component in Path::new(&normalised).components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir if depth == 0 => return true,
            Component::ParentDir => depth -= 1,
            Component::RootDir | Component::Prefix(_) => return true,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn outside(manifest: &str) -> Vec<(String, Option<u32>)> {
        let table: toml::Table = toml::from_str(manifest).unwrap();
        manifest_paths(&table, &TomlText::new(manifest))
            .into_iter()
            .filter(|p| p.outside)
            .map(|p| (p.key, p.line))
            .collect()
    }

    #[test]
    fn paths_leaving_the_asset_are_detected() {
        assert!(!path_escapes("helpers"));
        assert!(!path_escapes("./vendor/../vendor/serde"));
        assert!(path_escapes("../common"));
        assert!(path_escapes("a/../../b"));
        assert!(path_escapes("/etc"));
        assert!(path_escapes("..\\windows"));
        assert!(path_escapes("src/../../*"));
    }

    #[test]
    fn every_kind_of_path_key_is_checked() {
        let found = outside(
            r#"[package]
name = "demo"
version = "0.1.0"
workspace = "../.."
build = "/tmp/build.rs"
readme = "../README.md"
license-file = "../../LICENSE"
include = ["src/**", "../secrets/*"]

[lib]
path = "/etc/lib.rs"

[[bin]]
name = "x"
path = "../x.rs"

[dependencies]
inner = { path = "crates/inner" }
a = { path = "../a" }
b = { git = "file:///srv/repo" }
c = { git = "https://github.com/acme/c" }
d = { version = "1", registry-index = "file:///srv/index" }

[target.'cfg(unix)'.build-dependencies]
e = { path = "/opt/e" }

[workspace]
members = ["crates/*", "../elsewhere"]

[workspace.dependencies]
f = { path = "/home" }

[patch.crates-io]
g = { path = "../g" }

[replace]
"h:1.0.0" = { git = "/srv/h" }
"#,
        );
        let keys: Vec<&str> = found.iter().map(|(key, _)| key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "bin.0.path",
                "dependencies.a.path",
                "dependencies.b.git",
                "dependencies.d.registry-index",
                "lib.path",
                "package.build",
                "package.include.1",
                "package.license-file",
                "package.readme",
                "package.workspace",
                "patch.crates-io.g.path",
                "replace.h:1.0.0.git",
                "target.cfg(unix).build-dependencies.e.path",
                "workspace.dependencies.f.path",
                "workspace.members.1",
            ]
        );
        let line = |key: &str| found.iter().find(|(k, _)| k == key).and_then(|(_, line)| *line);
        assert_eq!(line("dependencies.a.path"), Some(19));
        assert_eq!(line("workspace.dependencies.f.path"), Some(31));
    }
}
