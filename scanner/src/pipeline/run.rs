//! A scan, stage by stage: intake, asset, audit, dependencies and SBOM, source, load; then the facts, the
//! rules' verdict and the report. A stage that cannot run for the asset's fault is skipped with a reason;
//! one that cannot run for ours is an error (no verdict).

use std::fs;
use std::path::Path;

use assay_load_runner::sandbox::SandboxKind;
use assay_load_runner::stage::LoadOutcome;
use assay_report::audit::AuditResult;
use assay_report::load::LoadReport;
use assay_report::{Finding, LoadMode, SbomSummary, Subject};
use assay_rules::RuleSet;
use jiff::Timestamp;

use super::assemble::{Concluded, assemble};
use super::facts::{self, Analysed};
use super::judgement::{self, Evidence, Judgement};
use super::output::SBOM_FILE;
use super::recorder::{Running, StageRecorder, skipped};
use super::{Progress, ScanConfig, ScanError, ScanOutput, claim};
use crate::asset::Asset;
use crate::deps::Dependencies;
use crate::intake;
use crate::stages::audit::{self, AdvisoryDatabase};
use crate::stages::dependencies::{self, DependencyGraph};
use crate::stages::load::{self as load_stage, LoadInput, LoadSetup};
use crate::stages::sbom::{self, Sbom, SbomInput};
use crate::stages::source::{self, SourceFacts};

/// Every stage, in order (a refused submission lists them all as skipped).
const STAGES: [&str; 6] = ["intake", "asset", "audit", "sbom", "source", "load"];

/// Where intake unpacks, inside the scan's scratch directory (beside `vendor/` and `work/` of the load stage).
const INTAKE_DIR: &str = "intake";

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
    let mut scan = Scan {
        db,
        rules,
        config,
        started_at,
        stages: StageRecorder::new(progress, &config.cancel),
        findings: Vec::new(),
        dependencies: Dependencies::new(&config.dependencies),
    };

    let running = scan.stages.start("intake")?;
    let intake = intake::intake(input, &scratch.path().join(INTAKE_DIR), &config.limits)?;
    let intake_ok = intake.findings.is_empty();
    scan.stages.finish(running, intake_ok, (!intake_ok).then(|| "the archive was refused".to_owned()));
    scan.findings.extend(intake.findings);

    let (analysed, sbom) = match intake.root.as_deref() {
        Some(root) if intake_ok => {
            let asset = scan.asset(root)?;
            let audit = scan.audit(&asset)?;
            let (dependencies, sbom) = scan.sbom(&intake.subject, &asset, audit.as_ref())?;
            let source = scan.source(root, &asset)?;
            (Some(Analysed { asset, audit, dependencies, source }), sbom)
        }
        _ => {
            for stage in &STAGES[1..5] {
                scan.stages.skip(stage, "intake refused the archive");
            }
            (None, None)
        }
    };
    let (load_mode, load) = scan.load(scratch.path(), intake.root.as_deref(), analysed.as_ref())?;
    scan.stages.check()?;
    // After the load stage: vendoring may download what the SBOM did not need.
    scan.findings.extend(scan.dependencies.findings());

    let mut facts =
        analysed.as_ref().and_then(|analysed| facts::gather(analysed, &intake.subject.sha256, load.as_ref()));
    if let (Some(facts), Some(basis)) = (facts.as_mut(), &config.lineage) {
        facts.lineage = Some(basis.assess(facts));
    }
    let evidence = Evidence::new(true, scan.findings);
    let staleness = db.staleness(started_at, config.max_db_age_days);
    let audit = analysed.as_ref().and_then(|analysed| analysed.audit.as_ref());
    let Judgement { findings, verdict } =
        judgement::judge(&evidence, audit, staleness, facts.as_ref(), rules, started_at);
    let concluded = Concluded {
        subject: intake.subject,
        asset: analysed.as_ref().and_then(|analysed| analysed.asset.summary()),
        load_mode,
        stages: scan.stages.into_records(),
        audit: analysed.and_then(|analysed| analysed.audit),
        sbom: sbom.as_ref().map(sbom_summary),
        load,
        lineage: facts.as_ref().and_then(|facts| facts.lineage.clone()),
        findings,
        verdict,
        started_at,
    };
    let resource_uri = config.resource_uri.clone().unwrap_or_else(|| archive_uri(input));
    let (report, envelopes) = assemble(concluded, rules, db, config, resource_uri);
    Ok(ScanOutput { report, sbom: sbom.map(|generated| generated.json), envelopes, facts, evidence })
}

/// One scan in progress: what it judges by, its stages so far and the findings they made.
struct Scan<'a> {
    db: &'a AdvisoryDatabase,
    rules: &'a RuleSet,
    config: &'a ScanConfig,
    started_at: Timestamp,
    stages: StageRecorder<'a>,
    findings: Vec<Finding>,
    dependencies: Dependencies<'a>,
}

impl Scan<'_> {
    /// Reads the manifest, contract and lockfile, and compares them with what the submission claims.
    fn asset(&mut self, root: &Path) -> Result<Asset, ScanError> {
        let running = self.stages.start("asset")?;
        let asset = Asset::load(root)?;
        self.stages.finish(running, asset.manifest.is_some(), None);
        self.findings.extend(asset.findings.iter().cloned());
        self.findings.extend(self.config.claimed.as_ref().and_then(|claimed| claim::mismatch(claimed, &asset)));
        Ok(asset)
    }

    /// Audits the lockfile against the advisory database.
    fn audit(&mut self, asset: &Asset) -> Result<Option<AuditResult>, ScanError> {
        let Some(lockfile) = &asset.lockfile else {
            self.stages.skip("audit", "no readable Cargo.lock");
            return Ok(None);
        };
        let running = self.stages.start("audit")?;
        let root_package = asset.manifest.as_ref().map(|m| (m.name.as_str(), m.version.as_str()));
        // Its findings are the judgement's: a re-judgement makes them again from a newer database.
        let result = audit::audit(self.db, lockfile, root_package);
        self.stages.finish(running, true, None);
        Ok(Some(result))
    }

    /// Resolves the dependency graph and its metadata, then describes it as the SBOM.
    fn sbom(
        &mut self,
        subject: &Subject,
        asset: &Asset,
        audit: Option<&AuditResult>,
    ) -> Result<(Option<DependencyGraph>, Option<Sbom>), ScanError> {
        let (Some(manifest), Some(lockfile)) = (&asset.manifest, &asset.lockfile) else {
            self.stages.skip("sbom", "no readable Cargo.toml and Cargo.lock");
            return Ok((None, None));
        };
        let running = self.stages.start("sbom")?;
        let graph = dependencies::resolve(manifest, lockfile, &mut self.dependencies);
        let generated = sbom::generate(&SbomInput {
            subject,
            manifest,
            contract: asset.contract.as_ref(),
            lockfile,
            audit,
            db: &self.db.identity,
            timestamp: self.config.sbom_timestamp.unwrap_or(self.started_at),
            dependencies: &graph,
        })?;
        self.findings.extend(generated.findings.iter().cloned());
        let note = (!graph.metadata.read_crates).then(|| "dependency metadata from cache".to_owned());
        self.stages.finish(running, true, note);
        Ok((Some(graph), Some(generated)))
    }

    /// Analyses the asset's own source and compares what it does with its contract.
    fn source(&mut self, root: &Path, asset: &Asset) -> Result<Option<SourceFacts>, ScanError> {
        let Some(manifest) = &asset.manifest else {
            self.stages.skip("source", "no readable Cargo.toml");
            return Ok(None);
        };
        let running = self.stages.start("source")?;
        let facts = source::analyse(root);
        self.findings.extend(facts.findings.iter().cloned());
        self.findings.extend(source::compare(&facts, manifest, asset.contract.as_ref()));
        self.stages.finish(running, true, None);
        Ok(Some(facts))
    }

    /// Builds and load-tests the service the contract declares, when there is one and it may be built.
    fn load(
        &mut self,
        scratch: &Path,
        root: Option<&Path>,
        analysed: Option<&Analysed>,
    ) -> Result<(LoadMode, Option<LoadReport>), ScanError> {
        let running = self.stages.start("load")?;
        let contract = analysed.and_then(|a| a.asset.contract.as_ref());
        let service = contract.and_then(|c| Some((c.service.as_ref()?, c)));
        let malicious = analysed.and_then(|a| a.audit.as_ref()).map(audit::malicious).unwrap_or_default();
        let (service, contract, environment) = match (service, &self.config.load) {
            (_, LoadSetup::Skipped) => {
                return Ok(self.no_load(running, "skipped by --no-load", LoadMode::SkippedByRequest));
            }
            (None, _) => {
                return Ok(self.no_load(running, "the contract declares no service", LoadMode::NoService));
            }
            // Building runs the dependencies' build scripts and proc macros: never for known malware.
            (Some(_), _) if !malicious.is_empty() => {
                let why = format!(
                    "not built: Cargo.lock locks a crate removed for malicious code ({})",
                    malicious.join(", ")
                );
                return Ok(self.no_load(running, &why, LoadMode::RefusedMalicious));
            }
            (Some(_), LoadSetup::Unavailable(why)) => return Err(ScanError::LoadUnavailable(why.clone())),
            (Some((service, contract)), LoadSetup::Ready(environment)) => (service, contract, environment),
        };
        let spec = contract.load.clone().or_else(|| load_stage::default_spec(service));
        let outcome = match (spec, root) {
            (Some(spec), Some(root)) => {
                let input = LoadInput {
                    scratch,
                    root,
                    lockfile: analysed.and_then(|a| a.asset.lockfile.as_ref()),
                    service,
                    spec: &spec,
                    ceilings: self.rules.ceilings(),
                    capabilities: &contract.capabilities,
                    cancel: &self.config.cancel,
                };
                load_stage::run(environment, &input, &mut self.dependencies)?
            }
            _ => LoadOutcome::default(),
        };
        let ran = outcome.report.as_ref().is_some_and(|report| report.startup_ms.is_some());
        self.findings.extend(outcome.findings);
        self.stages.finish(running, ran, Some(outcome.note));
        let mode = match environment.sandbox.kind() {
            SandboxKind::Bubblewrap => LoadMode::Sandboxed,
            SandboxKind::None => LoadMode::Unsandboxed,
        };
        Ok((mode, outcome.report))
    }

    /// Records the load stage as not run.
    fn no_load(&mut self, running: Running, why: &str, mode: LoadMode) -> (LoadMode, Option<LoadReport>) {
        self.stages.finish_skipped(running, why);
        (mode, None)
    }
}

fn sbom_summary(generated: &Sbom) -> SbomSummary {
    SbomSummary {
        file: SBOM_FILE.to_owned(),
        sha256: sbom::digest(&generated.json),
        spec_version: sbom::SPEC_VERSION.to_owned(),
        serial_number: generated.serial_number.clone(),
        components: generated.components,
        vulnerabilities: generated.vulnerabilities,
        unknown_licenses: generated.unknown_licenses,
    }
}

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

/// The rejected, signed report of a submission that could not be scanned at all (a malformed message,
/// an archive that does not match its digest): `finding` says why.
pub fn refusal(
    subject: Subject,
    finding: Finding,
    db: &AdvisoryDatabase,
    rules: &RuleSet,
    config: &ScanConfig,
) -> ScanOutput {
    let evidence = Evidence::new(false, vec![finding]);
    let started_at = Timestamp::now();
    let Judgement { findings, verdict } = judgement::judge(&evidence, None, None, None, rules, started_at);
    let load_mode =
        if matches!(config.load, LoadSetup::Skipped) { LoadMode::SkippedByRequest } else { LoadMode::NoService };
    let concluded = Concluded {
        subject,
        asset: None,
        load_mode,
        stages: STAGES.iter().map(|stage| skipped(stage, "the submission was refused before the scan")).collect(),
        audit: None,
        sbom: None,
        load: None,
        lineage: None,
        findings,
        verdict,
        started_at,
    };
    let resource_uri = config.resource_uri.clone().unwrap_or_default();
    let (report, envelopes) = assemble(concluded, rules, db, config, resource_uri);
    ScanOutput { report, sbom: None, envelopes, facts: None, evidence }
}

/// `file://` URI of the submitted path (absolute when it can be made so).
fn archive_uri(input: &Path) -> String {
    let absolute = std::path::absolute(input).unwrap_or_else(|_| input.to_owned());
    format!("file://{}", absolute.display())
}
