//! Source analysis: what the asset's own code does (network, files, processes, environment, unsafe and
//! FFI), what it ships besides code (binaries, scripts, secrets), compared with what its contract declares.
//! Nothing is compiled or run: `.rs` files are parsed with `syn`, other files are read as bytes.

mod capabilities;
mod files;
mod imports;
mod nesting;
mod secrets;

use std::path::Path;

use assay_report::{Finding, Location, codes};

pub use capabilities::Use;

use crate::asset::Manifest;
use assay_report::contract::{Capability, Contract, FilesystemAccess};

/// Source files larger than this are not parsed (`source-not-analysed`); they are still scanned for secrets.
const MAX_PARSED_BYTES: u64 = 2 * 1024 * 1024;

/// Deepest delimiter nesting parsed (`source-not-analysed` beyond): real code stays under ~40 levels.
const MAX_NESTING: usize = 512;

/// Stack of the analysis thread. `syn` recurses per nesting level (a few KiB a level in a debug build);
/// 64 MiB holds `MAX_NESTING` many times over. Only touched pages are ever committed.
const ANALYSIS_STACK_BYTES: usize = 64 * 1024 * 1024;

/// What source analysis found.
#[derive(Debug, Default)]
pub struct SourceFacts {
    /// `.rs` files parsed.
    pub rust_files: usize,
    /// Capability uses, sorted by file and line.
    pub uses: Vec<Use>,
    /// Findings about the files themselves (binaries, scripts, secrets, unparsable sources).
    pub findings: Vec<Finding>,
}

/// Analyses every file below `root`, on a thread of its own with a stack sized for [`MAX_NESTING`]: no
/// source may overflow the stack of the caller (a tokio blocking thread has 2 MiB).
pub fn analyse(root: &Path) -> SourceFacts {
    let owned = root.to_owned();
    let analysis = std::thread::Builder::new()
        .name("assay-source".to_owned())
        .stack_size(ANALYSIS_STACK_BYTES)
        .spawn(move || analyse_files(&owned))
        .map_err(|err| format!("the analysis thread could not start: {err}"))
        .and_then(|thread| thread.join().map_err(|_| "the analysis stopped on an internal error".to_owned()));
    analysis.unwrap_or_else(|why| SourceFacts {
        findings: vec![
            Finding::new(&codes::SOURCE_NOT_ANALYSED, format!("the asset's sources were not analysed: {why}"))
                .help("scan again; if it persists, report it to the marketplace"),
        ],
        ..SourceFacts::default()
    })
}

fn analyse_files(root: &Path) -> SourceFacts {
    let mut facts = SourceFacts::default();
    for file in files::list(root) {
        let Ok(bytes) = std::fs::read(root.join(&file.relative)) else { continue };
        if let Some(kind) = files::binary_kind(&bytes) {
            facts.findings.push(
                Finding::new(&codes::BINARY_FILE, format!("`{}` is a {kind} executable", file.relative))
                    .at(Location::file(&file.relative))
                    .help("ship source only; binaries cannot be reviewed or audited"),
            );
            continue;
        }
        let Ok(text) = std::str::from_utf8(&bytes) else {
            if file.relative.ends_with(".rs") {
                facts.findings.push(
                    Finding::new(&codes::SOURCE_UNPARSABLE, format!("`{}` is not valid UTF-8", file.relative))
                        .at(Location::file(&file.relative)),
                );
            }
            continue;
        };
        if text.starts_with("#!") && !file.relative.ends_with(".rs") {
            facts.findings.push(
                Finding::new(
                    &codes::SHEBANG_SCRIPT,
                    format!("`{}` is a script ({})", file.relative, text.lines().next().unwrap_or("")),
                )
                .at(Location::file_line(&file.relative, 1)),
            );
        }
        facts.findings.extend(secrets::scan(&file.relative, text));
        if !file.relative.ends_with(".rs") {
            continue;
        }
        if let Some(finding) = not_analysed(&file.relative, file.size, text) {
            facts.findings.push(finding);
            continue;
        }
        facts.rust_files += 1;
        match syn::parse_file(text) {
            Ok(ast) => facts.uses.extend(capabilities::find(&file.relative, &ast)),
            Err(err) => {
                let line = u32::try_from(err.span().start().line).unwrap_or(0).max(1);
                facts.findings.push(
                    Finding::new(
                        &codes::SOURCE_UNPARSABLE,
                        format!("`{}` does not parse as Rust: {err}", file.relative),
                    )
                    .at(Location::file_line(&file.relative, line)),
                );
            }
        }
    }
    facts.uses.sort();
    facts.uses.dedup();
    facts
}

/// Why a Rust file is not parsed, as a finding: too large, or nested deeper than `syn` may recurse.
fn not_analysed(file: &str, size: u64, text: &str) -> Option<Finding> {
    let (problem, help) = if size > MAX_PARSED_BYTES {
        (
            format!("`{file}` is {size} bytes, over the {MAX_PARSED_BYTES}-byte analysis limit"),
            "split large generated code into smaller files, or leave it out of the package",
        )
    } else {
        let depth = nesting::max_depth(text);
        if depth <= MAX_NESTING {
            return None;
        }
        (
            format!("`{file}` nests brackets {depth} levels deep, over the analysis limit of {MAX_NESTING}"),
            "no real code nests this deep; flatten it",
        )
    };
    Some(
        Finding::new(&codes::SOURCE_NOT_ANALYSED, format!("{problem}, so what it does was not analysed"))
            .at(Location::file(file))
            .help(help),
    )
}

/// A use as the rules' facts describe it.
pub fn fact(used: &Use) -> assay_report::facts::SourceFact {
    assay_report::facts::SourceFact {
        capability: used.capability,
        file: used.file.clone(),
        line: used.line,
        detail: used.detail.clone(),
    }
}

/// Findings for uses the contract does not declare, at the line that uses them; plus the build script,
/// proc-macro and includes from outside `src/` that always deserve a look.
pub fn compare(facts: &SourceFacts, manifest: &Manifest, contract: Option<&Contract>) -> Vec<Finding> {
    let mut findings = Vec::new();
    if let Some(script) = &manifest.build_script {
        findings.push(
            Finding::new(&codes::BUILD_SCRIPT, format!("`{script}` runs arbitrary code when the asset is built"))
                .at(Location::file(script)),
        );
    }
    if manifest.proc_macro {
        findings.push(
            Finding::new(&codes::PROC_MACRO, "the library is a procedural macro: it runs inside its users' compiler")
                .at(Location::file("Cargo.toml")),
        );
    }
    for used in &facts.uses {
        if used.capability == Capability::IncludeOutsideSrc {
            findings.push(
                Finding::new(&codes::INCLUDE_OUTSIDE_SRC, format!("`{}` embeds a file from outside src/", used.detail))
                    .at(used.location()),
            );
        }
    }
    let Some(contract) = contract else { return findings };
    let declared = &contract.capabilities;
    for used in &facts.uses {
        let undeclared = match used.capability {
            Capability::Network => declared.network.is_empty().then_some((
                &codes::UNDECLARED_NETWORK,
                "opens outbound connections, but the contract declares `network = []`",
            )),
            Capability::FilesystemWrite => (declared.filesystem != FilesystemAccess::Write).then_some((
                &codes::UNDECLARED_FILESYSTEM,
                "writes files, but the contract does not declare `filesystem = \"write\"`",
            )),
            Capability::FilesystemRead => (declared.filesystem == FilesystemAccess::None).then_some((
                &codes::UNDECLARED_FILESYSTEM,
                "reads files, but the contract declares `filesystem = \"none\"`",
            )),
            Capability::Process => (!declared.process).then_some((
                &codes::UNDECLARED_PROCESS,
                "spawns processes, but the contract declares `process = false`",
            )),
            Capability::Unsafe | Capability::Ffi => (!declared.unsafe_code).then_some((
                &codes::UNDECLARED_UNSAFE,
                "uses unsafe code or FFI, but the contract declares `unsafe = false`",
            )),
            Capability::Env => match used.env_name.as_deref() {
                Some(name) if declared.env.iter().any(|d| d == name) => None,
                Some(_) => Some((
                    &codes::UNDECLARED_ENV,
                    "reads an environment variable the contract's `env` list does not declare",
                )),
                None => Some((
                    &codes::UNDECLARED_ENV,
                    "reads an environment variable whose name is computed, so it cannot be matched to the contract",
                )),
            },
            Capability::Listen | Capability::IncludeOutsideSrc => None,
        };
        if let Some((code, why)) = undeclared {
            findings.push(
                Finding::new(code, format!("`{}` {why}", used.detail))
                    .at(used.location())
                    .help("declare it under [package.metadata.marketplace.capabilities], or remove the use"),
            );
        }
    }
    findings
}
