//! The lockfile as a graph: package URLs, BOM references, and whether each package is needed at run time,
//! only to build, or only for the asset's tests (cargo-cyclonedx's scopes).

use std::collections::{HashMap, HashSet, VecDeque};

use purl::{PackageType, PurlBuilder};
use rustsec::Lockfile;
use rustsec::package::Package;

use crate::asset::{DeclaredDependency, DependencyKind};
use crate::deps::metadata::{CrateMetadata, PackageKey, key};
use crate::stages::audit::Origin;

/// Package URL as cargo-cyclonedx writes it: `pkg:cargo/name@version`, with `repository_url` for other
/// registries and `vcs_url` (`git+url@commit`) for git sources.
pub fn purl(package: &Package) -> Option<String> {
    let mut builder =
        PurlBuilder::new(PackageType::Cargo, package.name.as_str()).with_version(package.version.to_string());
    match Origin::of(package) {
        Origin::CratesIo | Origin::Path => {}
        Origin::Git(source) => builder = builder.with_qualifier("vcs_url", vcs_url(&source)).ok()?,
        Origin::OtherRegistry(source) => {
            let url = source.split_once('+').map_or(source.as_str(), |(_, url)| url);
            builder = builder.with_qualifier("repository_url", url).ok()?;
        }
    }
    builder.build().ok().map(|purl| purl.to_string())
}

/// `git+https://host/repo?rev=x#commit` → `git+https://host/repo@commit`.
fn vcs_url(source: &str) -> String {
    let base = source.split(['?', '#']).next().unwrap_or(source);
    match source.split_once('#') {
        Some((_, commit)) => format!("{base}@{commit}"),
        None => base.to_owned(),
    }
}

/// BOM reference of a package: its purl, unique per name, version and source; path packages (no source to
/// qualify the purl with) get a `path:` reference.
pub fn bom_ref(package: &Package) -> String {
    match (Origin::of(package), purl(package)) {
        (Origin::Path, _) | (_, None) => format!("path:{}@{}", package.name, package.version),
        (_, Some(purl)) => purl,
    }
}

/// Index of each lockfile package, by name and version (several sources of one version are rare; the
/// first wins, as cargo-lock's own dependency resolution does).
pub fn index(lockfile: &Lockfile) -> HashMap<PackageKey, usize> {
    let mut index = HashMap::new();
    for (position, package) in lockfile.packages.iter().enumerate() {
        index.entry(key(package)).or_insert(position);
    }
    index
}

/// The lockfile positions each package depends on.
pub fn edges(lockfile: &Lockfile, index: &HashMap<PackageKey, usize>) -> Vec<Vec<usize>> {
    lockfile
        .packages
        .iter()
        .map(|package| {
            let mut targets: Vec<usize> = package
                .dependencies
                .iter()
                .filter_map(|dep| index.get(&(dep.name.to_string(), dep.version.to_string())).copied())
                .collect();
            targets.sort_unstable();
            targets.dedup();
            targets
        })
        .collect()
}

/// Classifies every package reachable from `root`: `Normal` if a path of normal dependencies reaches it,
/// else `Build` if one without dev dependencies does, else `Dev`. Edge kinds come from the root manifest
/// and each crate's declared dependencies; where those are unknown an edge counts as normal, so a package
/// is never marked as not shipped on a guess.
pub fn classify(
    lockfile: &Lockfile,
    edges: &[Vec<usize>],
    root: usize,
    root_dependencies: &[DeclaredDependency],
    metadata: &HashMap<PackageKey, CrateMetadata>,
) -> HashMap<usize, DependencyKind> {
    let kinds_of = |from: usize, to: usize| -> HashSet<DependencyKind> {
        let declared = if from == root {
            Some(root_dependencies)
        } else {
            metadata.get(&key(&lockfile.packages[from])).map(|m| m.dependencies.as_slice())
        };
        let name = lockfile.packages[to].name.as_str();
        let kinds: HashSet<DependencyKind> =
            declared.into_iter().flatten().filter(|d| d.name == name).map(|d| d.kind).collect();
        if kinds.is_empty() { HashSet::from([DependencyKind::Normal]) } else { kinds }
    };
    let reach = |allowed: &[DependencyKind]| -> HashSet<usize> {
        let mut seen = HashSet::from([root]);
        let mut queue = VecDeque::from([root]);
        while let Some(from) = queue.pop_front() {
            for &to in &edges[from] {
                if !seen.contains(&to) && kinds_of(from, to).iter().any(|k| allowed.contains(k)) {
                    seen.insert(to);
                    queue.push_back(to);
                }
            }
        }
        seen
    };
    let normal = reach(&[DependencyKind::Normal]);
    let build = reach(&[DependencyKind::Normal, DependencyKind::Build]);
    let any = reach(&[DependencyKind::Normal, DependencyKind::Build, DependencyKind::Dev]);
    let mut kinds = HashMap::new();
    for position in (0..lockfile.packages.len()).filter(|&p| p != root) {
        let kind = if normal.contains(&position) || !any.contains(&position) {
            DependencyKind::Normal
        } else if build.contains(&position) {
            DependencyKind::Build
        } else {
            DependencyKind::Dev
        };
        kinds.insert(position, kind);
    }
    kinds
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    fn lockfile(text: &str) -> Lockfile {
        Lockfile::from_str(text).unwrap()
    }

    const CRATES_IO: &str = "registry+https://github.com/rust-lang/crates.io-index";

    #[test]
    fn purls_follow_cargo_cyclonedx() {
        let lock = lockfile(&format!(
            r#"version = 3
[[package]]
name = "a"
version = "1.0.0"
source = "{CRATES_IO}"
[[package]]
name = "b"
version = "0.2.0"
source = "git+https://github.com/acme/b?rev=abc#abcdef0123"
[[package]]
name = "c"
version = "0.3.0"
source = "sparse+https://registry.example/index/"
"#
        ));
        let purls: Vec<_> = lock.packages.iter().map(|p| purl(p).unwrap()).collect();
        assert_eq!(purls[0], "pkg:cargo/a@1.0.0");
        assert_eq!(purls[1], "pkg:cargo/b@0.2.0?vcs_url=git%2Bhttps://github.com/acme/b%40abcdef0123");
        assert_eq!(purls[2], "pkg:cargo/c@0.3.0?repository_url=https://registry.example/index/");
    }

    #[test]
    fn kinds_follow_the_strongest_path() {
        // root -> normal -> build-only (via normal's build-dependency); root -dev-> dev-only; root -build-> tool
        let lock = lockfile(&format!(
            r#"version = 3
[[package]]
name = "root"
version = "0.1.0"
dependencies = ["normal", "dev-only", "tool"]
[[package]]
name = "normal"
version = "1.0.0"
source = "{CRATES_IO}"
dependencies = ["generator"]
[[package]]
name = "generator"
version = "1.0.0"
source = "{CRATES_IO}"
[[package]]
name = "dev-only"
version = "1.0.0"
source = "{CRATES_IO}"
dependencies = ["normal"]
[[package]]
name = "tool"
version = "1.0.0"
source = "{CRATES_IO}"
"#
        ));
        let index = index(&lock);
        let edges = edges(&lock, &index);
        let root_deps = [
            DeclaredDependency { name: "normal".into(), kind: DependencyKind::Normal, target: None },
            DeclaredDependency { name: "dev-only".into(), kind: DependencyKind::Dev, target: None },
            DeclaredDependency { name: "tool".into(), kind: DependencyKind::Build, target: None },
        ];
        let mut metadata = HashMap::new();
        metadata.insert(
            ("normal".to_owned(), "1.0.0".to_owned()),
            CrateMetadata {
                dependencies: vec![DeclaredDependency {
                    name: "generator".into(),
                    kind: DependencyKind::Build,
                    target: None,
                }],
                ..CrateMetadata::default()
            },
        );
        let kinds = classify(&lock, &edges, 0, &root_deps, &metadata);
        let by_name = |name: &str| kinds[&index[&(name.to_owned(), "1.0.0".to_owned())]];
        assert_eq!(by_name("normal"), DependencyKind::Normal);
        assert_eq!(by_name("generator"), DependencyKind::Build);
        assert_eq!(by_name("tool"), DependencyKind::Build);
        assert_eq!(by_name("dev-only"), DependencyKind::Dev);
    }
}
