//! What changed between two releases of an asset, computed from their facts: the contract's grants,
//! service and budgets; the locked dependencies; the measured performance; the listing metadata.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::contract::{Contract, FilesystemAccess};
use crate::facts::{DependencyFact, Facts};
use crate::load::{LoadReport, Measurement};

/// Everything that changed since the previous release. Each list is sorted; an unchanged aspect is empty.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ReleaseDiff {
    /// The asset contract.
    pub contract: ContractDiff,
    /// The locked dependencies.
    pub dependencies: DependencyDiff,
    /// Each measured value of a scenario both load tests ran (`overall` first), changed or not; empty when
    /// either release was not load-tested.
    pub performance: Vec<PerformanceChange>,
    /// Listing metadata that changed: `license`, `repository`, `publisher`, `kind`, `description`.
    pub metadata: Vec<FieldChange>,
}

/// How the contract changed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ContractDiff {
    /// What the release may do and the previous one could not: each network host, environment variable and
    /// data class on its own.
    pub gained: Vec<Grant>,
    /// What the previous release could do and this one no longer declares.
    pub dropped: Vec<Grant>,
    /// `service.*` keys that changed.
    pub service: Vec<FieldChange>,
    /// Budget keys that changed (`load.budget.p95`, `scenario.<name>.budget.p95`, …).
    pub budgets: Vec<FieldChange>,
}

/// One thing a contract grants.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Grant {
    /// `network`, `filesystem-read`, `filesystem-write`, `env`, `process`, `unsafe` or `data-class`.
    pub capability: String,
    /// The host:port, variable or data class, for the grants that name one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<String>,
}

impl Grant {
    fn of(capability: &str, item: Option<&str>) -> Self {
        Self { capability: capability.to_owned(), item: item.map(str::to_owned) }
    }
}

impl fmt::Display for Grant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.capability.as_str() {
            "network" => "network host",
            "env" => "environment variable",
            "data-class" => "data class",
            "process" => "process spawning",
            "unsafe" => "unsafe code",
            "filesystem-read" => "filesystem reads",
            "filesystem-write" => "filesystem writes",
            other => other,
        };
        match &self.item {
            Some(item) => write!(f, "{what} {item}"),
            None => f.write_str(what),
        }
    }
}

/// A value that changed; absent on the side that did not have it.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FieldChange {
    /// The key.
    pub field: String,
    /// The previous release's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous: Option<String>,
    /// This release's value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
}

/// How the locked dependencies changed (the asset itself excluded).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DependencyDiff {
    /// Packages the release locks and the previous one did not.
    pub added: Vec<DependencyRef>,
    /// Packages the previous release locked and this one does not.
    pub removed: Vec<DependencyRef>,
    /// Packages locked at a higher version.
    pub upgraded: Vec<VersionChange>,
    /// Packages locked at a lower version.
    pub downgraded: Vec<VersionChange>,
    /// Sources (git repositories, registries) the previous release locked nothing from.
    pub new_sources: Vec<String>,
    /// Build scripts and proc macros that will run at build time and did not before: in added packages, or
    /// gained by an upgrade. Dev-only packages are left out (they are not built for the service).
    pub new_build_time_code: Vec<BuildTimeCode>,
}

/// A package by name and version.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DependencyRef {
    /// Package name.
    pub name: String,
    /// Locked version.
    pub version: String,
    /// `crates-io`, `git`, `path` or `registry`.
    pub source_kind: String,
}

/// A package locked at another version.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
pub struct VersionChange {
    /// Package name.
    pub name: String,
    /// The previous release's version.
    pub previous: String,
    /// This release's version.
    pub current: String,
}

/// Code that runs at build time and is new in this release.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
pub struct BuildTimeCode {
    /// Package name.
    pub name: String,
    /// Locked version.
    pub version: String,
    /// `build-script` or `proc-macro`.
    pub what: String,
    /// `added` (a new package) or `upgraded` (a package that gained it in a new version).
    pub how: String,
}

/// One measured value of one scenario, in both releases.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PerformanceChange {
    /// `overall` or the scenario name.
    pub scenario: String,
    /// `p50`, `p95`, `p99` (milliseconds), `throughput` (requests per second) or `peak-rss` (bytes, overall only).
    pub metric: String,
    /// The previous release's value.
    pub previous: f64,
    /// This release's value.
    pub current: f64,
    /// `(current - previous) / previous` in percent; absent when `previous` is 0.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_percent: Option<f64>,
}

impl PerformanceChange {
    /// Whether a higher value is worse (latency, memory) rather than better (throughput).
    pub fn higher_is_worse(&self) -> bool {
        self.metric != "throughput"
    }

    /// The value with its unit, as people read it.
    pub fn show(&self, value: f64) -> String {
        match self.metric.as_str() {
            "throughput" => format!("{value:.1} rps"),
            "peak-rss" => format!("{:.1} MiB", value / (1024.0 * 1024.0)),
            _ => format!("{value:.2} ms"),
        }
    }
}

impl ReleaseDiff {
    /// The changes from `previous` to `current`.
    pub fn between(previous: &Facts, current: &Facts) -> Self {
        Self {
            contract: contract_diff(previous.contract.as_ref(), current.contract.as_ref()),
            dependencies: dependency_diff(&previous.dependencies, &current.dependencies),
            performance: match (&previous.load, &current.load) {
                (Some(before), Some(after)) => performance(before, after),
                _ => Vec::new(),
            },
            metadata: metadata_diff(previous, current),
        }
    }

    /// Whether nothing changed.
    pub fn is_empty(&self) -> bool {
        let contract = &self.contract;
        let dependencies = &self.dependencies;
        contract.gained.is_empty()
            && contract.dropped.is_empty()
            && contract.service.is_empty()
            && contract.budgets.is_empty()
            && dependencies.added.is_empty()
            && dependencies.removed.is_empty()
            && dependencies.upgraded.is_empty()
            && dependencies.downgraded.is_empty()
            && self.performance.iter().all(|change| change.current == change.previous)
            && self.metadata.is_empty()
    }
}

/// Every grant of a contract (none without one).
fn grants(contract: Option<&Contract>) -> BTreeSet<Grant> {
    let mut grants = BTreeSet::new();
    let Some(contract) = contract else { return grants };
    let capabilities = &contract.capabilities;
    grants.extend(capabilities.network.iter().map(|host| Grant::of("network", Some(host))));
    grants.extend(capabilities.env.iter().map(|name| Grant::of("env", Some(name))));
    grants.extend(contract.data_classes.iter().map(|class| Grant::of("data-class", Some(class))));
    // Write access includes reads: a release going from write to read drops writes only.
    match capabilities.filesystem {
        FilesystemAccess::None => {}
        FilesystemAccess::Read => {
            grants.insert(Grant::of("filesystem-read", None));
        }
        FilesystemAccess::Write => {
            grants.insert(Grant::of("filesystem-read", None));
            grants.insert(Grant::of("filesystem-write", None));
        }
    }
    if capabilities.process {
        grants.insert(Grant::of("process", None));
    }
    if capabilities.unsafe_code {
        grants.insert(Grant::of("unsafe", None));
    }
    grants
}

fn contract_diff(previous: Option<&Contract>, current: Option<&Contract>) -> ContractDiff {
    let (before, after) = (grants(previous), grants(current));
    ContractDiff {
        gained: after.difference(&before).cloned().collect(),
        dropped: before.difference(&after).cloned().collect(),
        service: changed_fields(&service_fields(previous), &service_fields(current)),
        budgets: changed_fields(&budget_fields(previous), &budget_fields(current)),
    }
}

fn service_fields(contract: Option<&Contract>) -> BTreeMap<String, String> {
    let Some(service) = contract.and_then(|c| c.service.as_ref()) else { return BTreeMap::new() };
    BTreeMap::from([
        ("service.bin".to_owned(), service.bin.clone()),
        ("service.port-env".to_owned(), service.port_env.clone()),
        ("service.ready".to_owned(), service.ready.clone()),
    ])
}

/// Each budget key as text, the overall budget's as `load.budget.<key>` and a scenario's by its name (not its
/// position, which a release may reorder).
fn budget_fields(contract: Option<&Contract>) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    let Some(load) = contract.and_then(|c| c.load.as_ref()) else { return fields };
    let mut add = |prefix: String, budget: &crate::contract::Budget| {
        if let Ok(serde_json::Value::Object(keys)) = serde_json::to_value(budget) {
            for (key, value) in keys {
                let text = value.as_str().map_or_else(|| value.to_string(), str::to_owned);
                fields.insert(format!("{prefix}.{key}"), text);
            }
        }
    };
    add("load.budget".to_owned(), &load.budget);
    for scenario in &load.scenarios {
        if let Some(budget) = &scenario.budget {
            add(format!("scenario.{}.budget", scenario.name), budget);
        }
    }
    fields
}

fn changed_fields(previous: &BTreeMap<String, String>, current: &BTreeMap<String, String>) -> Vec<FieldChange> {
    let keys: BTreeSet<&String> = previous.keys().chain(current.keys()).collect();
    keys.into_iter()
        .filter(|key| previous.get(*key) != current.get(*key))
        .map(|key| FieldChange {
            field: key.clone(),
            previous: previous.get(key).cloned(),
            current: current.get(key).cloned(),
        })
        .collect()
}

fn metadata_diff(previous: &Facts, current: &Facts) -> Vec<FieldChange> {
    let fields = |facts: &Facts| {
        let asset = &facts.asset;
        [
            ("description", asset.description.clone()),
            ("kind", asset.kind.map(|kind| kind.as_str().to_owned())),
            ("license", asset.license.clone()),
            ("publisher", asset.publisher.clone()),
            ("repository", asset.repository.clone()),
        ]
        .into_iter()
        .filter_map(|(field, value)| Some((field.to_owned(), value?)))
        .collect::<BTreeMap<String, String>>()
    };
    changed_fields(&fields(previous), &fields(current))
}

/// Versions compare as semver where both parse, else as text.
fn compare_versions(a: &str, b: &str) -> std::cmp::Ordering {
    match (semver::Version::parse(a), semver::Version::parse(b)) {
        (Ok(a), Ok(b)) => a.cmp(&b),
        _ => a.cmp(b),
    }
}

fn dependency_diff(previous: &[DependencyFact], current: &[DependencyFact]) -> DependencyDiff {
    let by_name = |facts: &'_ [DependencyFact]| {
        let mut names: BTreeMap<String, Vec<DependencyFact>> = BTreeMap::new();
        for fact in facts {
            names.entry(fact.name.clone()).or_default().push(fact.clone());
        }
        for versions in names.values_mut() {
            versions.sort_by(|a, b| compare_versions(&a.version, &b.version));
        }
        names
    };
    let (before, after) = (by_name(previous), by_name(current));
    let mut diff = DependencyDiff::default();
    let reference = |fact: &DependencyFact| DependencyRef {
        name: fact.name.clone(),
        version: fact.version.clone(),
        source_kind: fact.source_kind.clone(),
    };
    let names: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for name in names {
        let old: Vec<&DependencyFact> = before.get(name).into_iter().flatten().collect();
        let new: Vec<&DependencyFact> = after.get(name).into_iter().flatten().collect();
        // Versions locked in both stay; the others pair up lowest with lowest (an upgrade or a downgrade),
        // and what is left over was added or removed.
        let old_only: Vec<&DependencyFact> =
            old.iter().copied().filter(|o| !new.iter().any(|n| n.version == o.version)).collect();
        let new_only: Vec<&DependencyFact> =
            new.iter().copied().filter(|n| !old.iter().any(|o| o.version == n.version)).collect();
        for (was, is) in old_only.iter().zip(&new_only) {
            let change =
                VersionChange { name: name.clone(), previous: was.version.clone(), current: is.version.clone() };
            if compare_versions(&is.version, &was.version).is_gt() {
                diff.upgraded.push(change);
            } else {
                diff.downgraded.push(change);
            }
            if is.kind != "dev" {
                gained_build_time_code(&mut diff.new_build_time_code, is, Some(was), "upgraded");
            }
        }
        let paired = old_only.len().min(new_only.len());
        for is in &new_only[paired..] {
            diff.added.push(reference(is));
            if is.kind != "dev" {
                gained_build_time_code(&mut diff.new_build_time_code, is, None, "added");
            }
        }
        diff.removed.extend(old_only[paired..].iter().map(|was| reference(was)));
    }
    let sources = |facts: &[DependencyFact]| -> BTreeSet<String> {
        facts.iter().filter(|fact| !fact.source.is_empty()).map(|fact| fact.source.clone()).collect()
    };
    diff.new_sources = sources(current).difference(&sources(previous)).cloned().collect();
    diff.new_build_time_code.sort();
    diff
}

fn gained_build_time_code(out: &mut Vec<BuildTimeCode>, is: &DependencyFact, was: Option<&DependencyFact>, how: &str) {
    let mut push = |what: &str| {
        out.push(BuildTimeCode {
            name: is.name.clone(),
            version: is.version.clone(),
            what: what.to_owned(),
            how: how.to_owned(),
        });
    };
    if is.build_script && !was.is_some_and(|was| was.build_script) {
        push("build-script");
    }
    if is.proc_macro && !was.is_some_and(|was| was.proc_macro) {
        push("proc-macro");
    }
}

fn performance(previous: &LoadReport, current: &LoadReport) -> Vec<PerformanceChange> {
    let mut changes = Vec::new();
    let scenarios = |report: &LoadReport| -> Vec<Measurement> {
        std::iter::once(report.overall.clone()).chain(report.scenarios.iter().cloned()).collect()
    };
    let before = scenarios(previous);
    for after in scenarios(current) {
        let Some(was) = before.iter().find(|was| was.name == after.name) else { continue };
        let mut push = |metric: &str, previous: f64, current: f64| {
            changes.push(PerformanceChange {
                scenario: after.name.clone(),
                metric: metric.to_owned(),
                previous,
                current,
                change_percent: (previous > 0.0).then(|| (current - previous) / previous * 100.0),
            });
        };
        // Only what was answered counts: a release that fails every request has no latency to compare.
        if was.requests > was.errors && after.requests > after.errors {
            push("p50", was.latency.p50_ms, after.latency.p50_ms);
            push("p95", was.latency.p95_ms, after.latency.p95_ms);
            push("p99", was.latency.p99_ms, after.latency.p99_ms);
        }
        push("throughput", was.throughput_rps, after.throughput_rps);
    }
    if let (Some(was), Some(is)) = (previous.service.peak_rss_bytes, current.service.peak_rss_bytes) {
        // Bytes fit an f64 exactly far beyond any sandbox's memory.
        #[allow(clippy::cast_precision_loss)]
        let (was, is) = (was as f64, is as f64);
        changes.push(PerformanceChange {
            scenario: "overall".to_owned(),
            metric: "peak-rss".to_owned(),
            previous: was,
            current: is,
            change_percent: (was > 0.0).then(|| (is - was) / was * 100.0),
        });
    }
    changes
}
