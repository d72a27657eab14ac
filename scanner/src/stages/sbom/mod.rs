//! The SBOM: a CycloneDX 1.5 JSON bill of materials of the asset and every locked package, with the
//! audit's advisories as vulnerabilities. Built with `cyclonedx-bom`; reproducible for the same input.

use std::collections::HashMap;

use assay_report::audit::{AdvisoryMatch, AuditResult, DatabaseIdentity};
use assay_report::{Finding, Subject, codes};
use cyclonedx_bom::external_models::date_time::DateTime;
use cyclonedx_bom::external_models::normalized_string::NormalizedString;
use cyclonedx_bom::external_models::spdx::SpdxExpression;
use cyclonedx_bom::external_models::uri::{Purl, Uri};
use cyclonedx_bom::models::advisory::{Advisories, Advisory};
use cyclonedx_bom::models::bom::{Bom, SpecVersion, UrnUuid};
use cyclonedx_bom::models::component::{Classification, Component, Components, Scope};
use cyclonedx_bom::models::dependency::{Dependencies, Dependency};
use cyclonedx_bom::models::external_reference::{ExternalReference, ExternalReferenceType, ExternalReferences};
use cyclonedx_bom::models::hash::{Hash, HashAlgorithm, HashValue, Hashes};
use cyclonedx_bom::models::license::{License, LicenseChoice, Licenses};
use cyclonedx_bom::models::metadata::Metadata;
use cyclonedx_bom::models::organization::OrganizationalEntity;
use cyclonedx_bom::models::property::{Properties, Property};
use cyclonedx_bom::models::tool::Tools;
use cyclonedx_bom::models::vulnerability::{Vulnerabilities, Vulnerability};
use cyclonedx_bom::models::vulnerability_rating::{
    Score, ScoreMethod, Severity, VulnerabilityRating, VulnerabilityRatings,
};
use cyclonedx_bom::models::vulnerability_reference::{VulnerabilityReference, VulnerabilityReferences};
use cyclonedx_bom::models::vulnerability_source::VulnerabilitySource;
use cyclonedx_bom::models::vulnerability_target::{Version, Versions, VulnerabilityTarget, VulnerabilityTargets};
use jiff::Timestamp;
use rustsec::Lockfile;
use rustsec::package::Package;

use crate::asset::{DependencyKind, Manifest};
use crate::deps::metadata::{self, CrateMetadata};
use crate::stages::audit::Origin;
use crate::stages::dependencies::{DependencyGraph, graph};
use assay_report::contract::{AssetKind, Contract};

/// The CycloneDX version written.
pub const SPEC_VERSION: &str = "1.5";

/// What the SBOM is built from.
pub struct SbomInput<'a> {
    /// The submission.
    pub subject: &'a Subject,
    /// Its manifest.
    pub manifest: &'a Manifest,
    /// Its contract, when valid.
    pub contract: Option<&'a Contract>,
    /// Its lockfile.
    pub lockfile: &'a Lockfile,
    /// The audit result, for the vulnerabilities.
    pub audit: Option<&'a AuditResult>,
    /// The advisory database used (part of the serial number).
    pub db: &'a DatabaseIdentity,
    /// The BOM's timestamp.
    pub timestamp: Timestamp,
    /// The dependency graph and what is known of each dependency (licences, links, how it is needed).
    pub dependencies: &'a DependencyGraph,
}

/// A generated SBOM.
pub struct Sbom {
    /// The CycloneDX JSON document.
    pub json: Vec<u8>,
    /// The serial number (`urn:uuid:…`).
    pub serial_number: String,
    /// Components listed.
    pub components: usize,
    /// Vulnerabilities listed.
    pub vulnerabilities: usize,
    /// Components whose licence is unknown because metadata could not be learnt.
    pub unknown_licenses: usize,
    /// Problems worth a finding.
    pub findings: Vec<Finding>,
}

/// The SBOM could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SbomError {
    /// `cyclonedx-bom` refused to serialise the document (a bug of ours, never the asset's).
    #[error("cannot serialise the SBOM: {0}")]
    Serialise(String),
}

/// Builds the SBOM.
pub fn generate(input: &SbomInput<'_>) -> Result<Sbom, SbomError> {
    let graph_of = input.dependencies;
    let (resolved, lockfile, index, edges, root) =
        (&graph_of.metadata, input.lockfile, &graph_of.index, &graph_of.edges, graph_of.root);
    let root_key = (input.manifest.name.clone(), input.manifest.version.clone());

    // The asset is identified by the purl it will be listed under (it is a path package in its own lockfile).
    let root_ref = Purl::new("cargo", &root_key.0, &root_key.1)
        .map_or_else(|_| format!("pkg:cargo/{}@{}", root_key.0, root_key.1), |purl| purl.to_string());
    // Derived once: each package's BOM reference.
    let bom_refs: Vec<String> = lockfile.packages.iter().map(graph::bom_ref).collect();
    let mut unknown_licenses = Vec::new();
    let mut components = Vec::new();
    for (position, package) in lockfile.packages.iter().enumerate() {
        if Some(position) == root {
            continue;
        }
        let facts = resolved.by_package.get(&metadata::key(package));
        let kind = graph_of.kind(position);
        let origin = Origin::of(package);
        if facts.is_none() && origin != Origin::Path {
            unknown_licenses.push(format!("{} {}", package.name, package.version));
        }
        components.push(dependency_component(package, &origin, bom_refs[position].clone(), facts, kind));
    }
    components.sort_by(|a, b| a.bom_ref.cmp(&b.bom_ref));

    let mut dependencies: Vec<Dependency> = lockfile
        .packages
        .iter()
        .enumerate()
        .map(|(position, _)| {
            let mut depends_on: Vec<String> = edges[position].iter().map(|&i| bom_refs[i].clone()).collect();
            depends_on.sort();
            let dependency_ref = if Some(position) == root { root_ref.clone() } else { bom_refs[position].clone() };
            Dependency { dependency_ref, dependencies: depends_on }
        })
        .collect();
    if root.is_none() {
        dependencies.push(Dependency { dependency_ref: root_ref.clone(), dependencies: Vec::new() });
    }
    dependencies.sort_by(|a, b| a.dependency_ref.cmp(&b.dependency_ref));

    let refs: HashMap<(String, String), &String> = index.iter().map(|(key, &i)| (key.clone(), &bom_refs[i])).collect();
    let matches: Vec<&AdvisoryMatch> =
        input.audit.map(|a| a.vulnerabilities.iter().chain(&a.warnings).collect()).unwrap_or_default();
    let vulnerabilities: Vec<Vulnerability> = matches
        .iter()
        .filter_map(|m| refs.get(&(m.package.clone(), m.version.clone())).map(|r| vulnerability(m, r)))
        .collect();

    let serial_number = serial_number(input.subject, input.db);
    let component_count = components.len();
    let vulnerability_count = vulnerabilities.len();
    let bom = Bom {
        version: 1,
        serial_number: Some(UrnUuid::from(serial_number)),
        metadata: Some(Metadata {
            timestamp: DateTime::try_from(format!("{:.0}", input.timestamp)).ok(),
            tools: Some(Tools::Object { services: None, components: Some(Components(vec![assay_component()])) }),
            authors: None,
            component: Some(root_component(input, &root_ref)),
            manufacture: None,
            supplier: input.contract.map(|c| OrganizationalEntity::new(&c.publisher)),
            licenses: None,
            properties: Some(Properties(vec![
                Property::new("assay:subject:name", &input.subject.name),
                Property::new("assay:subject:sha256", &input.subject.sha256),
                Property::new("assay:advisory-db", &database_id(input.db)),
            ])),
            lifecycles: None,
        }),
        components: Some(Components(components)),
        services: None,
        external_references: None,
        dependencies: Some(Dependencies(dependencies)),
        compositions: None,
        properties: None,
        vulnerabilities: (!vulnerabilities.is_empty()).then_some(Vulnerabilities(vulnerabilities)),
        signature: None,
        annotations: None,
        formulation: None,
        spec_version: SpecVersion::V1_5,
    };
    let mut json = Vec::new();
    bom.output_as_json_v1_5(&mut json).map_err(|err| SbomError::Serialise(err.to_string()))?;
    json.push(b'\n');

    let mut findings = Vec::new();
    if !unknown_licenses.is_empty() {
        let reason = resolved.problem.as_deref().unwrap_or("no metadata was found");
        let shown: Vec<&str> = unknown_licenses.iter().take(5).map(String::as_str).collect();
        let more = unknown_licenses.len().saturating_sub(shown.len());
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        findings.push(
            Finding::new(
                &codes::SBOM_METADATA_UNAVAILABLE,
                format!(
                    "the licences of {} dependencies are unknown ({}{more}): {reason}",
                    unknown_licenses.len(),
                    shown.join(", ")
                ),
            )
            .help(
                "scan with access to the registry (not --offline) to learn them; crates are verified against \
                 Cargo.lock and cached afterwards",
            ),
        );
    }
    Ok(Sbom {
        json,
        serial_number: format!("urn:uuid:{serial_number}"),
        components: component_count,
        vulnerabilities: vulnerability_count,
        unknown_licenses: unknown_licenses.len(),
        findings,
    })
}

/// Derived, not random: a v5 UUID of the subject digest, the advisory database and the tool version, so
/// two scans of the same input under the same database give the same serial number.
fn serial_number(subject: &Subject, db: &DatabaseIdentity) -> uuid::Uuid {
    let name = format!("assay-sbom:{}:{}:{}", subject.sha256, database_id(db), env!("CARGO_PKG_VERSION"));
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, name.as_bytes())
}

fn database_id(db: &DatabaseIdentity) -> String {
    match (&db.commit, &db.content_sha256) {
        (Some(commit), Some(digest)) => format!("{}:{commit}:{digest}", db.kind),
        (Some(commit), None) => format!("{}:{commit}", db.kind),
        (None, Some(digest)) => format!("{}:{digest}", db.kind),
        (None, None) => db.kind.clone(),
    }
}

fn assay_component() -> Component {
    let mut assay = Component::new(Classification::Application, "assay", env!("CARGO_PKG_VERSION"), None);
    assay.description = Some(NormalizedString::new("Assay acceptance gate"));
    assay
}

fn root_component(input: &SbomInput<'_>, root_ref: &str) -> Component {
    let manifest = input.manifest;
    let classification = match input.contract.map(|c| c.kind) {
        Some(AssetKind::Connector) => Classification::Application,
        Some(AssetKind::Component) => Classification::Library,
        None if manifest.bins.is_empty() => Classification::Library,
        None => Classification::Application,
    };
    let mut component = Component::new(classification, &manifest.name, &manifest.version, Some(root_ref.to_owned()));
    component.purl = Purl::new("cargo", &manifest.name, &manifest.version).ok();
    component.description = manifest.description.as_deref().map(NormalizedString::new);
    component.licenses = licenses(manifest.license.as_deref());
    component.supplier = input.contract.map(|c| OrganizationalEntity::new(&c.publisher));
    component.external_references = external_references([(ExternalReferenceType::Vcs, manifest.repository.as_deref())]);
    component
}

fn dependency_component(
    package: &Package,
    origin: &Origin,
    bom_ref: String,
    facts: Option<&CrateMetadata>,
    kind: DependencyKind,
) -> Component {
    let mut component =
        Component::new(Classification::Library, package.name.as_str(), &package.version.to_string(), Some(bom_ref));
    component.purl = graph::purl(package).and_then(|p| p.parse::<Purl>().ok());
    component.scope = Some(if kind == DependencyKind::Normal { Scope::Required } else { Scope::Excluded });
    component.hashes = package
        .checksum
        .as_ref()
        .map(|checksum| Hashes(vec![Hash { alg: HashAlgorithm::SHA_256, content: HashValue(checksum.to_string()) }]));
    let mut properties = vec![
        Property::new("assay:dependency-kind", kind.as_str()),
        Property::new("assay:source", origin.unaudited_kind().unwrap_or("crates-io")),
    ];
    match facts {
        Some(facts) => {
            component.licenses = licenses(facts.license.as_deref());
            if component.licenses.is_none() {
                let status = match &facts.license_file {
                    Some(file) => format!("license-file:{file}"),
                    None => "none-declared".to_owned(),
                };
                properties.push(Property::new("assay:license-status", &status));
            }
            component.description = facts.description.as_deref().map(NormalizedString::new);
            component.external_references = external_references([
                (ExternalReferenceType::Vcs, facts.repository.as_deref()),
                (ExternalReferenceType::Website, facts.homepage.as_deref()),
                (ExternalReferenceType::Documentation, facts.documentation.as_deref()),
            ]);
        }
        None if *origin == Origin::Path => properties.push(Property::new("assay:license-status", "path-dependency")),
        None => properties.push(Property::new("assay:license-status", "unknown")),
    }
    component.properties = Some(Properties(properties));
    component
}

/// An SPDX expression, parsed laxly (`MIT/Apache-2.0` → `MIT OR Apache-2.0`); a licence string that is not
/// an expression at all is kept as a named licence rather than dropped.
fn licenses(license: Option<&str>) -> Option<Licenses> {
    let license = license?.trim();
    if license.is_empty() {
        return None;
    }
    let choice = match SpdxExpression::parse_lax(license.to_owned()) {
        Ok(expression) => LicenseChoice::Expression(expression),
        Err(_) => LicenseChoice::License(License::named_license(license)),
    };
    Some(Licenses(vec![choice]))
}

/// External references for the URLs that parse as absolute URLs (asset-supplied text is not trusted to).
fn external_references<const N: usize>(
    links: [(ExternalReferenceType, Option<&str>); N],
) -> Option<ExternalReferences> {
    let references: Vec<ExternalReference> = links
        .into_iter()
        .filter_map(|(kind, url)| {
            let url = url::Url::parse(url?.trim()).ok()?;
            Some(ExternalReference::new(kind, Uri::new(url.as_str())))
        })
        .collect();
    (!references.is_empty()).then_some(ExternalReferences(references))
}

fn vulnerability(matched: &AdvisoryMatch, component_ref: &str) -> Vulnerability {
    let mut vulnerability = Vulnerability::new(Some(format!("{}:{}@{}", matched.id, matched.package, matched.version)));
    vulnerability.id = Some(NormalizedString::new(&matched.id));
    let source_url = matched.url.as_deref().and_then(|u| url::Url::parse(u).ok()).map(|u| Uri::new(u.as_str()));
    vulnerability.vulnerability_source = Some(VulnerabilitySource::new(Some("RustSec".to_owned()), source_url.clone()));
    let references: Vec<VulnerabilityReference> = matched
        .aliases
        .iter()
        .map(|alias| {
            let (name, url) = if alias.starts_with("CVE-") {
                ("NVD", Some(format!("https://nvd.nist.gov/vuln/detail/{alias}")))
            } else if alias.starts_with("GHSA-") {
                ("GitHub", Some(format!("https://github.com/advisories/{alias}")))
            } else {
                ("other", None)
            };
            VulnerabilityReference::new(
                alias,
                VulnerabilitySource::new(Some(name.to_owned()), url.map(|u| Uri::new(&u))),
            )
        })
        .collect();
    vulnerability.vulnerability_references = (!references.is_empty()).then_some(VulnerabilityReferences(references));
    if let (Some(vector), Some(score)) = (&matched.cvss, matched.cvss_score) {
        let method = if vector.starts_with("CVSS:3.1") { ScoreMethod::CVSSv31 } else { ScoreMethod::CVSSv3 };
        let severity = matched.cvss_severity.map(|severity| Severity::new_unchecked(severity.as_str()));
        let mut rating = VulnerabilityRating::new(Some(Score::from(score as f32)), severity, Some(method));
        rating.vector = Some(NormalizedString::new(vector));
        vulnerability.vulnerability_ratings = Some(VulnerabilityRatings(vec![rating]));
    }
    vulnerability.description = Some(if matched.description.is_empty() {
        matched.title.clone()
    } else {
        format!("{}\n\n{}", matched.title, matched.description)
    });
    vulnerability.recommendation = Some(if matched.patched.is_empty() {
        "No fixed release exists: remove or replace the dependency.".to_owned()
    } else {
        format!("Upgrade to a version matching {}.", matched.patched.join(" or "))
    });
    vulnerability.published = DateTime::try_from(format!("{}T00:00:00Z", matched.date)).ok();
    vulnerability.advisories = source_url.map(|url| Advisories(vec![Advisory::new(url)]));
    vulnerability.vulnerability_targets = Some(VulnerabilityTargets(vec![VulnerabilityTarget {
        bom_ref: component_ref.to_owned(),
        versions: Some(Versions(vec![Version::new(&matched.version, "affected")])),
    }]));
    vulnerability.properties = Some(Properties(vec![Property::new("assay:advisory-kind", &matched.kind)]));
    vulnerability
}

/// sha256 of SBOM bytes, for the report.
pub fn digest(json: &[u8]) -> String {
    assay_report::digest::sha256_hex(json)
}
