//! The dependencies step: the lockfile as a graph, what is known of each locked package (licence,
//! repository, declared dependencies, from the verified crates or the cache) and how the asset needs it
//! (run time, build, tests). Read once; the SBOM describes it and the rules judge it as facts.

pub mod graph;

use std::collections::HashMap;

use assay_report::facts::DependencyFact;
use rustsec::Lockfile;

use crate::asset::{DependencyKind, Manifest};
use crate::deps::Dependencies;
use crate::deps::metadata::{self, PackageKey, Resolved};
use crate::stages::audit::Origin;

/// The asset's locked dependencies.
#[derive(Debug)]
pub struct DependencyGraph {
    /// Lockfile position of each package, by name and version.
    pub index: HashMap<PackageKey, usize>,
    /// The positions each package depends on, sorted.
    pub edges: Vec<Vec<usize>>,
    /// The asset's own package in its lockfile, when it is there (as a path package).
    pub root: Option<usize>,
    /// How the asset needs each package it reaches (missing: normal).
    pub kinds: HashMap<usize, DependencyKind>,
    /// What is known of each package.
    pub metadata: Resolved,
}

/// Builds the graph of `lockfile` for the asset `manifest` describes, learning each package's metadata
/// through `dependencies` (the verified crate cache).
pub fn resolve(manifest: &Manifest, lockfile: &Lockfile, dependencies: &mut Dependencies<'_>) -> DependencyGraph {
    from_metadata(manifest, lockfile, metadata::resolve(lockfile, dependencies))
}

/// The graph, given the metadata already learnt.
pub fn from_metadata(manifest: &Manifest, lockfile: &Lockfile, metadata: Resolved) -> DependencyGraph {
    let index = graph::index(lockfile);
    let edges = graph::edges(lockfile, &index);
    let root_key = (manifest.name.clone(), manifest.version.clone());
    let root = index.get(&root_key).copied().filter(|&i| lockfile.packages[i].source.is_none());
    let kinds = match root {
        Some(root) => graph::classify(lockfile, &edges, root, &manifest.dependencies, &metadata.by_package),
        None => HashMap::new(),
    };
    DependencyGraph { index, edges, root, kinds, metadata }
}

impl DependencyGraph {
    /// How the asset needs the package at `position`.
    pub fn kind(&self, position: usize) -> DependencyKind {
        self.kinds.get(&position).copied().unwrap_or(DependencyKind::Normal)
    }

    /// The names of the packages that depend on each package, sorted and deduplicated, by position.
    pub fn dependents(&self, lockfile: &Lockfile) -> Vec<Vec<String>> {
        let mut dependents: Vec<Vec<String>> = vec![Vec::new(); lockfile.packages.len()];
        for (parent, targets) in self.edges.iter().enumerate() {
            for &target in targets {
                dependents[target].push(lockfile.packages[parent].name.to_string());
            }
        }
        for names in &mut dependents {
            names.sort();
            names.dedup();
        }
        dependents
    }

    /// Every locked package but the asset, as the rules read it, sorted by name and version.
    pub fn facts(&self, lockfile: &Lockfile) -> Vec<DependencyFact> {
        let mut dependents = self.dependents(lockfile);
        let mut facts: Vec<DependencyFact> = lockfile
            .packages
            .iter()
            .enumerate()
            .filter(|&(position, _)| Some(position) != self.root)
            .map(|(position, package)| {
                let known = self.metadata.by_package.get(&metadata::key(package));
                let origin = Origin::of(package);
                DependencyFact {
                    name: package.name.to_string(),
                    version: package.version.to_string(),
                    source_kind: origin.unaudited_kind().unwrap_or("crates-io").to_owned(),
                    source: origin.source_text().to_owned(),
                    checksum: package.checksum.as_ref().map(ToString::to_string),
                    license: known.and_then(|m| m.license.clone()),
                    repository: known.and_then(|m| m.repository.clone()),
                    kind: self.kind(position).as_str().to_owned(),
                    build_script: known.is_some_and(|m| m.build_script),
                    proc_macro: known.is_some_and(|m| m.proc_macro),
                    dependents: std::mem::take(&mut dependents[position]),
                }
            })
            .collect();
        facts.sort_by(|a, b| (&a.name, &a.version).cmp(&(&b.name, &b.version)));
        facts
    }
}
