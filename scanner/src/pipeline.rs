//! The pipeline: runs the stages on one submission, asks the rules for a verdict and writes the report.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Instant;

use assay_report::dsse::Envelope;
use assay_report::facts::{AdvisoryFact, FACTS_SCHEMA, Facts};
use assay_report::intoto::{self, AttestationSettings};
use assay_report::keys::key_id;
use assay_report::{
    AcceptanceReport, Finding, LoadMode, Location, REPORT_SCHEMA, SbomSummary, ScanOptions, SignatureStatus,
    StageRecord, StageStatus, Subject, Tool, codes, render_summary,
};
use assay_rules::{JudgedAsset, RuleSet};
use ed25519_dalek::SigningKey;
use jiff::Timestamp;
use sha2::{Digest, Sha256};

use assay_load_runner::cancel::Cancel;

use crate::asset::{Asset, AssetError};
use crate::deps::{self, Dependencies, DependencyOptions};
use crate::intake::{self, IntakeError, IntakeLimits, hex};
use crate::stages::audit::{self, AdvisoryDatabase};
use crate::stages::load::{self as load_stage, LoadInput, LoadSetup};
use crate::stages::sbom::{self, SbomError, SbomInput};
use crate::stages::source;

/// File name of the SBOM in a report directory.
pub const SBOM_FILE: &str = "sbom.cdx.json";
/// File name of the facts the rules judged.
pub const FACTS_FILE: &str = "facts.json";
/// File name of the SARIF 2.1.0 log of the findings.
pub const SARIF_FILE: &str = "findings.sarif";
/// File name of the load test's measurements.
pub const LOAD_FILE: &str = "load.json";
/// File name of the signed statements: a JSON array of DSSE envelopes, `[VSA, detailed report]`.
pub const DSSE_FILE: &str = "report.dsse.json";

/// How to scan.
#[derive(Clone, Debug)]
pub struct ScanConfig {
    /// Intake limits.
    pub limits: IntakeLimits,
    /// Whether and how services are load-tested.
    pub load: LoadSetup,
    /// Maximum advisory database age in days before `db-stale`.
    pub max_db_age_days: u32,
    /// Where scratch directories are made (default: the system temp dir).
    pub scratch_parent: Option<PathBuf>,
    /// Where dependency crates are downloaded from and cached (the SBOM and the build read them).
    pub dependencies: DependencyOptions,
    /// The SBOM's timestamp instead of the scan's start (`SOURCE_DATE_EPOCH`, for byte-identical SBOMs).
    pub sbom_timestamp: Option<Timestamp>,
    /// Signs the report when present.
    pub signer: Option<Signer>,
    /// The VSA's `resourceUri`: the listing URI, or the archive URI; the scanned path's `file://` URI otherwise.
    pub resource_uri: Option<String>,
    /// What the submission says the asset is (the worker's message); the archive must agree.
    pub claimed: Option<ClaimedAsset>,
    /// Raised by whoever owns the scan to stop it: checked between stages and by every sandboxed process.
    pub cancel: Cancel,
}

/// The identity a submission claims for its archive.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimedAsset {
    /// Package name.
    pub name: String,
    /// Package version.
    pub version: String,
    /// The contract's publisher.
    pub publisher: String,
}

/// The key and identity reports are signed with.
#[derive(Clone)]
pub struct Signer {
    /// Ed25519 signing key.
    pub key: SigningKey,
    /// The VSA's `verifier.id`.
    pub verifier_id: String,
}

impl std::fmt::Debug for Signer {
    /// Shows the key id, never the key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("key_id", &key_id(&self.key.verifying_key()))
            .field("verifier_id", &self.verifier_id)
            .finish()
    }
}

impl Default for ScanConfig {
    fn default() -> Self {
        Self {
            limits: IntakeLimits::default(),
            load: LoadSetup::Skipped,
            max_db_age_days: 90,
            scratch_parent: None,
            dependencies: DependencyOptions::new(crate::cache_dir::cache_root()),
            sbom_timestamp: None,
            signer: None,
            resource_uri: None,
            claimed: None,
            cancel: Cancel::default(),
        }
    }
}

/// What a scan produced: the judged report and the artefacts it describes.
#[derive(Debug)]
pub struct ScanOutput {
    /// The acceptance report.
    pub report: AcceptanceReport,
    /// The CycloneDX SBOM, when the asset could be read.
    pub sbom: Option<Vec<u8>>,
    /// The signed statements (`report.dsse.json`), when a signer was configured.
    pub envelopes: Option<Vec<Envelope>>,
    /// What the rules judged (`facts.json`), when the asset could be read.
    pub facts: Option<Facts>,
}

/// A scan could not run; no verdict exists.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// Reading the input or writing the scratch copy failed.
    #[error(transparent)]
    Intake(#[from] IntakeError),
    /// Reading the scratch copy failed.
    #[error(transparent)]
    Asset(#[from] AssetError),
    /// The scratch directory could not be created.
    #[error("cannot create a scratch directory in {}: {source}", path.display())]
    Scratch {
        /// Its parent.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
    /// The SBOM could not be produced.
    #[error(transparent)]
    Sbom(#[from] SbomError),
    /// The asset declares a service, and the load stage cannot run here.
    #[error("{0}")]
    LoadUnavailable(String),
    /// The load stage failed for reasons that are not the asset's.
    #[error(transparent)]
    Load(#[from] assay_load_runner::stage::LoadError),
    /// The scan was stopped by its owner ([`ScanConfig::cancel`]); its scratch directory is gone.
    #[error("the scan was cancelled")]
    Cancelled,
    /// The report could not be written.
    #[error("cannot write the report to {}: {source}", path.display())]
    Write {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: io::Error,
    },
}

/// Called as each stage starts, so a terminal can show progress.
pub trait Progress {
    /// `stage` is about to run.
    fn stage(&mut self, stage: &str);
}

impl Progress for () {
    fn stage(&mut self, _: &str) {}
}

/// Scans one submission at `input` and returns its judged report. The scratch copy is removed before returning.
pub fn scan(
    input: &Path,
    db: &AdvisoryDatabase,
    rules: &RuleSet,
    config: &ScanConfig,
    progress: &mut dyn Progress,
) -> Result<ScanOutput, ScanError> {
    let started_at = Timestamp::now();
    let scratch = private_scratch(config)?;
    let mut dependencies = Dependencies::new(&config.dependencies);
    let mut stages = Vec::new();
    let mut findings: Vec<Finding> = Vec::new();

    enter(progress, config, "intake")?;
    let clock = Instant::now();
    let intake = intake::intake(input, &scratch.path().join(INTAKE_DIR), &config.limits)?;
    let intake_ok = intake.findings.is_empty();
    stages.push(record("intake", intake_ok, clock, (!intake_ok).then(|| "the archive was refused".to_owned())));
    findings.extend(intake.findings);

    let mut asset = None;
    let mut audit_result = None;
    let mut sbom_output = None;
    let mut source_facts = None;
    match intake.root.as_deref() {
        Some(root) if intake_ok => {
            enter(progress, config, "asset")?;
            let clock = Instant::now();
            let loaded = Asset::load(root)?;
            stages.push(record("asset", loaded.manifest.is_some(), clock, None));
            findings.extend(loaded.findings.iter().cloned());
            findings.extend(config.claimed.as_ref().and_then(|claimed| claim_mismatch(claimed, &loaded)));

            enter(progress, config, "audit")?;
            let clock = Instant::now();
            match &loaded.lockfile {
                Some(lockfile) => {
                    let root_package = loaded.manifest.as_ref().map(|m| (m.name.as_str(), m.version.as_str()));
                    let result = audit::audit(db, lockfile, root_package);
                    findings.extend(audit::findings(&result));
                    audit_result = Some(result);
                    stages.push(record("audit", true, clock, None));
                }
                None => stages.push(skipped("audit", "no readable Cargo.lock")),
            }

            match (&loaded.manifest, &loaded.lockfile) {
                (Some(manifest), Some(lockfile)) => {
                    enter(progress, config, "sbom")?;
                    let clock = Instant::now();
                    let metadata = deps::metadata::resolve(lockfile, &mut dependencies);
                    let generated = sbom::generate(&SbomInput {
                        subject: &intake.subject,
                        manifest,
                        contract: loaded.contract.as_ref(),
                        lockfile,
                        audit: audit_result.as_ref(),
                        db: &db.identity,
                        timestamp: config.sbom_timestamp.unwrap_or(started_at),
                        metadata: &metadata,
                    })?;
                    findings.extend(generated.findings.iter().cloned());
                    let note = (!metadata.read_crates).then(|| "dependency metadata from cache".to_owned());
                    stages.push(record("sbom", true, clock, note));
                    sbom_output = Some(generated);
                }
                _ => stages.push(skipped("sbom", "no readable Cargo.toml and Cargo.lock")),
            }

            match &loaded.manifest {
                Some(manifest) => {
                    enter(progress, config, "source")?;
                    let clock = Instant::now();
                    let facts = source::analyse(root);
                    findings.extend(facts.findings.iter().cloned());
                    findings.extend(source::compare(&facts, manifest, loaded.contract.as_ref()));
                    stages.push(record("source", true, clock, None));
                    source_facts = Some(facts);
                }
                None => stages.push(skipped("source", "no readable Cargo.toml")),
            }
            asset = Some(loaded);
        }
        _ => {
            for stage in ["asset", "audit", "sbom", "source"] {
                stages.push(skipped(stage, "intake refused the archive"));
            }
        }
    }
    findings.extend(db.staleness(started_at, config.max_db_age_days));

    enter(progress, config, "load")?;
    let clock = Instant::now();
    let service = asset.as_ref().and_then(|a| a.contract.as_ref()).and_then(|c| Some((c.service.as_ref()?, c)));
    let malicious = audit_result.as_ref().map(audit::malicious).unwrap_or_default();
    let (load, load_report) = match (service, &config.load) {
        (_, LoadSetup::Skipped) => {
            stages.push(skipped("load", "skipped by --no-load"));
            (LoadMode::SkippedByRequest, None)
        }
        (None, _) => {
            stages.push(skipped("load", "the contract declares no service"));
            (LoadMode::NoService, None)
        }
        // Building runs the dependencies' build scripts and proc macros: never for known malware.
        (Some(_), _) if !malicious.is_empty() => {
            let why =
                format!("not built: Cargo.lock locks a crate removed for malicious code ({})", malicious.join(", "));
            stages.push(skipped("load", &why));
            (LoadMode::RefusedMalicious, None)
        }
        (Some(_), LoadSetup::Unavailable(why)) => return Err(ScanError::LoadUnavailable(why.clone())),
        (Some((service, contract)), LoadSetup::Ready(environment)) => {
            let spec = contract.load.clone().or_else(|| load_stage::default_spec(service));
            let outcome = match (spec, intake.root.as_deref()) {
                (Some(spec), Some(root)) => {
                    let input = LoadInput {
                        scratch: scratch.path(),
                        root,
                        lockfile: asset.as_ref().and_then(|a| a.lockfile.as_ref()),
                        service,
                        spec: &spec,
                        ceilings: rules.ceilings(),
                        cancel: &config.cancel,
                    };
                    load_stage::run(environment, &input, &mut dependencies)?
                }
                _ => assay_load_runner::stage::LoadOutcome::default(),
            };
            let ran = outcome.report.as_ref().is_some_and(|report| report.startup_ms.is_some());
            findings.extend(outcome.findings);
            stages.push(record("load", ran, clock, Some(outcome.note)));
            let mode = match environment.sandbox.kind() {
                assay_load_runner::sandbox::SandboxKind::Bubblewrap => LoadMode::Sandboxed,
                assay_load_runner::sandbox::SandboxKind::None => LoadMode::Unsandboxed,
            };
            (mode, outcome.report)
        }
    };

    if config.cancel.is_cancelled() {
        return Err(ScanError::Cancelled);
    }
    // After the load stage: vendoring may download what the SBOM did not need.
    findings.extend(dependencies.findings());

    let facts = asset.as_ref().and_then(|loaded| {
        Some(Facts {
            schema: FACTS_SCHEMA.to_owned(),
            asset: loaded.facts(&intake.subject.sha256)?,
            contract: loaded.contract.clone(),
            dependencies: sbom_output.as_ref().map(|s| s.dependencies.clone()).unwrap_or_default(),
            advisories: audit_result
                .iter()
                .flat_map(|a| a.vulnerabilities.iter().chain(&a.warnings))
                .map(AdvisoryFact::from)
                .collect(),
            source: source_facts.iter().flat_map(|s: &source::SourceFacts| &s.uses).map(source::fact).collect(),
            load: load_report.clone(),
        })
    });
    if let Some(facts) = &facts {
        findings.extend(rules.evaluate(facts));
    }
    let judged = facts.as_ref().map(|f| JudgedAsset {
        name: f.asset.name.clone(),
        version: f.asset.version.clone(),
        sha256: f.asset.sha256.clone(),
        today: started_at.to_zoned(jiff::tz::TimeZone::UTC).date(),
    });
    let verdict = rules.judge(&mut findings, judged.as_ref());
    let finished_at = Timestamp::now();
    let sbom_summary = sbom_output.as_ref().map(|generated| SbomSummary {
        file: SBOM_FILE.to_owned(),
        sha256: sbom::digest(&generated.json),
        spec_version: sbom::SPEC_VERSION.to_owned(),
        serial_number: generated.serial_number.clone(),
        components: generated.components,
        vulnerabilities: generated.vulnerabilities,
        unknown_licenses: generated.unknown_licenses,
    });
    let report = AcceptanceReport {
        schema: REPORT_SCHEMA.to_owned(),
        report_id: report_id(&intake.subject.sha256, started_at),
        tool: Tool { name: "assay".to_owned(), version: env!("CARGO_PKG_VERSION").to_owned() },
        subject: intake.subject,
        asset: asset.as_ref().and_then(Asset::summary),
        options: ScanOptions { load, max_db_age_days: config.max_db_age_days },
        rules: rules.identity(),
        advisory_db: Some(db.identity.clone()),
        stages,
        audit: audit_result,
        sbom: sbom_summary,
        load: load_report,
        findings,
        verdict,
        signature: signature_status(config),
        started_at: format!("{started_at:.3}"),
        finished_at: format!("{finished_at:.3}"),
    };
    let resource_uri = config.resource_uri.clone().unwrap_or_else(|| archive_uri(input));
    let envelopes = sign(&report, config, resource_uri);
    Ok(ScanOutput { report, sbom: sbom_output.map(|generated| generated.json), envelopes, facts })
}

/// A `claim-mismatch` finding when the archive is not what the submission says it is: the listing would
/// otherwise show one asset's name over another's verdict.
fn claim_mismatch(claimed: &ClaimedAsset, asset: &Asset) -> Option<Finding> {
    let manifest = asset.manifest.as_ref()?;
    let publisher = asset.contract.as_ref().map(|contract| contract.publisher.as_str());
    let mut differences = Vec::new();
    if claimed.name != manifest.name {
        differences.push(format!("name `{}` (Cargo.toml: `{}`)", claimed.name, manifest.name));
    }
    if claimed.version != manifest.version {
        differences.push(format!("version `{}` (Cargo.toml: `{}`)", claimed.version, manifest.version));
    }
    if publisher.is_some_and(|publisher| publisher != claimed.publisher) {
        differences.push(format!("publisher `{}` (contract: `{}`)", claimed.publisher, publisher.unwrap_or_default()));
    }
    (!differences.is_empty()).then(|| {
        Finding::new(
            &codes::CLAIM_MISMATCH,
            format!("the submission claims {}, which the archive does not say", differences.join(", ")),
        )
        .at(Location::file("Cargo.toml"))
        .help("submit the archive under the name, version and publisher its manifest and contract declare")
    })
}

/// Starts a stage, unless the scan's owner asked it to stop.
fn enter(progress: &mut dyn Progress, config: &ScanConfig, stage: &str) -> Result<(), ScanError> {
    if config.cancel.is_cancelled() {
        return Err(ScanError::Cancelled);
    }
    progress.stage(stage);
    Ok(())
}

/// Where intake unpacks, inside the scan's scratch directory (beside `vendor/` and `work/` of the load stage).
const INTAKE_DIR: &str = "intake";

/// A fresh scratch directory for one scan, readable by this user only: a submission's files (and anything
/// cargo would take for configuration) sit below it, and nobody else on the machine may plant or read them.
fn private_scratch(config: &ScanConfig) -> Result<tempfile::TempDir, ScanError> {
    let scratch_parent = config.scratch_parent.clone().unwrap_or_else(std::env::temp_dir);
    let scratch_error = |source| ScanError::Scratch { path: scratch_parent.clone(), source };
    let scratch = crate::scratch::create(&scratch_parent, "scan-").map_err(scratch_error)?;
    fs::create_dir(scratch.path().join(INTAKE_DIR)).map_err(scratch_error)?;
    Ok(scratch)
}

/// Name, version and publisher of the asset at `input`, read the way a scan reads them (safe intake into
/// a scratch directory, removed afterwards); `None` when the manifest cannot be read.
pub fn identify(input: &Path, config: &ScanConfig) -> Result<Option<(String, String, Option<String>)>, ScanError> {
    let scratch = private_scratch(config)?;
    let intake = intake::intake(input, &scratch.path().join(INTAKE_DIR), &config.limits)?;
    let Some(root) = intake.root.filter(|_| intake.findings.is_empty()) else { return Ok(None) };
    let asset = Asset::load(&root)?;
    Ok(asset.manifest.map(|m| (m.name, m.version, asset.contract.map(|c| c.publisher))))
}

/// The signed statements of a report, when the configuration has a signer.
fn sign(report: &AcceptanceReport, config: &ScanConfig, resource_uri: String) -> Option<Vec<Envelope>> {
    config.signer.as_ref().map(|signer| {
        let settings = AttestationSettings {
            verifier_id: signer.verifier_id.clone(),
            resource_uri,
            policy_uri: report.rules.uri.clone(),
            policy_sha256: report.rules.sha256.clone(),
            sbom_sha256: report.sbom.as_ref().map(|s| s.sha256.clone()),
        };
        intoto::attest(report, &settings, &signer.key)
    })
}

/// The rejected, signed report of a submission that could not be scanned at all (a malformed message,
/// an archive that does not match its digest): `finding` says why.
pub fn refusal(
    subject: Subject,
    finding: Finding,
    db: &AdvisoryDatabase,
    rules: &RuleSet,
    config: &ScanConfig,
) -> ScanOutput {
    let now = Timestamp::now();
    let mut findings = vec![finding];
    let verdict = rules.judge(&mut findings, None);
    let load = if matches!(config.load, LoadSetup::Skipped) { LoadMode::SkippedByRequest } else { LoadMode::NoService };
    let stages = ["intake", "asset", "audit", "sbom", "source", "load"]
        .into_iter()
        .map(|stage| skipped(stage, "the submission was refused before the scan"))
        .collect();
    let report = AcceptanceReport {
        schema: REPORT_SCHEMA.to_owned(),
        report_id: report_id(&subject.sha256, now),
        tool: Tool { name: "assay".to_owned(), version: env!("CARGO_PKG_VERSION").to_owned() },
        subject,
        asset: None,
        options: ScanOptions { load, max_db_age_days: config.max_db_age_days },
        rules: rules.identity(),
        advisory_db: Some(db.identity.clone()),
        stages,
        audit: None,
        sbom: None,
        load: None,
        findings,
        verdict,
        signature: signature_status(config),
        started_at: format!("{now:.3}"),
        finished_at: format!("{now:.3}"),
    };
    let resource_uri = config.resource_uri.clone().unwrap_or_default();
    let envelopes = sign(&report, config, resource_uri);
    ScanOutput { report, sbom: None, envelopes, facts: None }
}

fn signature_status(config: &ScanConfig) -> SignatureStatus {
    match &config.signer {
        Some(signer) => SignatureStatus::Signed {
            key_id: key_id(&signer.key.verifying_key()),
            verifier_id: signer.verifier_id.clone(),
        },
        None => SignatureStatus::Unsigned,
    }
}

/// `file://` URI of the submitted path (absolute when it can be made so).
fn archive_uri(input: &Path) -> String {
    let absolute = std::path::absolute(input).unwrap_or_else(|_| input.to_owned());
    format!("file://{}", absolute.display())
}

fn record(name: &str, ok: bool, clock: Instant, note: Option<String>) -> StageRecord {
    StageRecord {
        name: name.to_owned(),
        status: if ok { StageStatus::Ok } else { StageStatus::Failed },
        duration_ms: u64::try_from(clock.elapsed().as_millis()).unwrap_or(u64::MAX),
        note,
    }
}

fn skipped(name: &str, why: &str) -> StageRecord {
    StageRecord { name: name.to_owned(), status: StageStatus::Skipped, duration_ms: 0, note: Some(why.to_owned()) }
}

/// A unique id: the subject digest and the start time, hashed. Unique per scan, meaningless otherwise.
fn report_id(subject_sha256: &str, started_at: Timestamp) -> String {
    let mut hasher = Sha256::new();
    hasher.update(subject_sha256.as_bytes());
    hasher.update(started_at.as_nanosecond().to_le_bytes());
    hasher.update(std::process::id().to_le_bytes());
    hex(&hasher.finalize()[..16])
}

/// The name of a report's directory: `<name>-<version>` of a manifest that passed validation (cargo's name
/// rules, semver: no separator, no `..`), else `sha256-<digest prefix>` of the submission. Never text that
/// could leave the parent directory.
pub fn report_folder(report: &AcceptanceReport) -> String {
    let named = report.asset.as_ref().map(|asset| format!("{}-{}", asset.name, asset.version));
    let single_component = |folder: &String| {
        let mut components = Path::new(folder).components();
        matches!((components.next(), components.next()), (Some(std::path::Component::Normal(_)), None))
            && !folder.contains(['/', '\\'])
    };
    named
        .filter(single_component)
        .unwrap_or_else(|| format!("sha256-{}", report.subject.sha256.get(..16).unwrap_or(&report.subject.sha256)))
}

/// Writes `report.json`, `summary.md` and the SBOM into `out` (created if needed). Each file is written to
/// a fresh temporary file (created exclusively, so never through a planted link) and renamed over its
/// name, so a reader never sees half a file; `out` itself must not be a symbolic link.
pub fn write_report(output: &ScanOutput, out: &Path) -> Result<(), ScanError> {
    let report = &output.report;
    let write_error = |path: &Path| {
        let path = path.to_owned();
        move |source| ScanError::Write { path, source }
    };
    fs::create_dir_all(out).map_err(write_error(out))?;
    if fs::symlink_metadata(out).map_err(write_error(out))?.file_type().is_symlink() {
        let refused = io::Error::other("it is a symbolic link; reports are not written through links");
        return Err(ScanError::Write { path: out.to_owned(), source: refused });
    }
    let mut json = serde_json::to_vec_pretty(report)
        .map_err(|err| ScanError::Write { path: out.join("report.json"), source: io::Error::other(err) })?;
    json.push(b'\n');
    let mut sarif = serde_json::to_vec_pretty(&assay_report::sarif::render_sarif(report))
        .map_err(|err| ScanError::Write { path: out.join(SARIF_FILE), source: io::Error::other(err) })?;
    sarif.push(b'\n');
    let mut files =
        vec![("report.json", json), ("summary.md", render_summary(report).into_bytes()), (SARIF_FILE, sarif)];
    if let Some(sbom) = &output.sbom {
        files.push((SBOM_FILE, sbom.clone()));
    }
    if let Some(facts) = &output.facts {
        let mut json = serde_json::to_vec_pretty(facts)
            .map_err(|err| ScanError::Write { path: out.join(FACTS_FILE), source: io::Error::other(err) })?;
        json.push(b'\n');
        files.push((FACTS_FILE, json));
    }
    if let Some(load) = &report.load {
        let mut json = serde_json::to_vec_pretty(load)
            .map_err(|err| ScanError::Write { path: out.join(LOAD_FILE), source: io::Error::other(err) })?;
        json.push(b'\n');
        files.push((LOAD_FILE, json));
    }
    if let Some(envelopes) = &output.envelopes {
        let mut json = serde_json::to_vec_pretty(envelopes)
            .map_err(|err| ScanError::Write { path: out.join(DSSE_FILE), source: io::Error::other(err) })?;
        json.push(b'\n');
        files.push((DSSE_FILE, json));
    }
    for (name, bytes) in files {
        let path = out.join(name);
        let mut temporary =
            tempfile::Builder::new().prefix(&format!(".{name}.")).tempfile_in(out).map_err(write_error(out))?;
        io::Write::write_all(temporary.as_file_mut(), &bytes).map_err(write_error(temporary.path()))?;
        temporary.persist(&path).map_err(|err| ScanError::Write { path: path.clone(), source: err.error })?;
    }
    Ok(())
}
