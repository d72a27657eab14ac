//! The catalogue of built-in finding codes: one place that lists every code, its default severity and help.
//!
//! Codes are part of the report contract: publishers search for them and rule sets name them, so a code is
//! never renamed or reused. The rules crate may change a code's severity; the catalogue gives the default.

use crate::Severity;

/// A built-in finding code.
#[derive(Debug)]
pub struct Code {
    /// Stable kebab-case identifier.
    pub id: &'static str,
    /// Severity unless the rule set says otherwise.
    pub default_severity: Severity,
    /// One line: what the code means.
    pub summary: &'static str,
}

macro_rules! codes {
    ($($name:ident = $id:literal, $severity:ident, $summary:literal;)*) => {
        $(
            #[doc = $summary]
            pub static $name: Code = Code { id: $id, default_severity: Severity::$severity, summary: $summary };
        )*
        /// Every built-in code, in catalogue order.
        pub static ALL: &[&Code] = &[$(&$name),*];
    };
}

codes! {
    // submission: the queue message itself (worker)
    SUBMISSION_INVALID = "submission-invalid", Deny, "The submission message is malformed, or the fetched archive does not match its size or sha256.";
    SCAN_TIMEOUT = "scan-timeout", Deny, "The scan did not finish within the worker's scan timeout; it was stopped, and the asset is not accepted.";
    SCAN_ABANDONED = "scan-abandoned", Deny, "The submission could not be judged within the delivery limit (fetch, disk or broker trouble); it is not accepted.";
    CLAIM_MISMATCH = "claim-mismatch", Deny, "The submission claims another name, version or publisher than the archive's manifest and contract say.";
    // intake: the submitted archive itself
    ARCHIVE_UNREADABLE = "archive-unreadable", Deny, "The archive is not a gzip-compressed tar, or it is truncated or corrupt.";
    ARCHIVE_ABSOLUTE_PATH = "archive-absolute-path", Deny, "An archive entry has an absolute path.";
    ARCHIVE_PATH_TRAVERSAL = "archive-path-traversal", Deny, "An archive entry path contains `..` and could escape the unpack directory.";
    ARCHIVE_LINK = "archive-link", Deny, "The archive contains a symbolic or hard link; assets must be plain files.";
    ARCHIVE_SPECIAL_FILE = "archive-special-file", Deny, "The archive contains a device file, FIFO or other special entry.";
    ARCHIVE_DUPLICATE_ENTRY = "archive-duplicate-entry", Deny, "Two archive entries have the same path.";
    ARCHIVE_TOO_MANY_ENTRIES = "archive-too-many-entries", Deny, "The archive has more entries than the intake limit allows.";
    ARCHIVE_TOO_LARGE = "archive-too-large", Deny, "The archive unpacks to more bytes than the intake limit allows.";
    ARCHIVE_ENTRY_TOO_LARGE = "archive-entry-too-large", Deny, "One archive entry is larger than the per-entry limit.";
    ARCHIVE_COMPRESSION_RATIO = "archive-compression-ratio", Deny, "The archive expands far more than real source does (a decompression bomb).";
    ARCHIVE_LAYOUT = "archive-layout", Deny, "The archive does not hold one crate: no single top-level folder with a Cargo.toml.";
    // asset: manifest, contract and lockfile
    MANIFEST_MISSING = "manifest-missing", Deny, "The asset has no Cargo.toml.";
    MANIFEST_INVALID = "manifest-invalid", Deny, "Cargo.toml is not valid TOML or lacks required package fields.";
    MANIFEST_PATH_OUTSIDE = "manifest-path-outside", Deny, "Cargo.toml points cargo at a path outside the asset (a dependency, patch or workspace path).";
    CONTRACT_MISSING = "contract-missing", Deny, "Cargo.toml has no [package.metadata.marketplace] asset contract.";
    CONTRACT_INVALID = "contract-invalid", Deny, "The asset contract has a missing, mistyped or out-of-range value.";
    CONTRACT_UNKNOWN_KEY = "contract-unknown-key", Warn, "The asset contract has a key that contract v1 does not define.";
    LOCKFILE_MISSING = "lockfile-missing", Deny, "The asset has no Cargo.lock, so its dependencies cannot be audited.";
    LOCKFILE_INVALID = "lockfile-invalid", Deny, "Cargo.lock cannot be parsed.";
    CARGO_CONFIG_IGNORED = "cargo-config-ignored", Warn, "The asset ships a .cargo/config file; Assay ignores it because it could redirect registries or run tools.";
    TOOLCHAIN_FILE_IGNORED = "toolchain-file-ignored", Warn, "The asset ships a rust-toolchain file; Assay ignores it.";
    // audit: dependencies against the RustSec advisory database
    VULNERABILITY = "vulnerability", Deny, "A dependency has a known vulnerability (RustSec advisory).";
    UNMAINTAINED = "unmaintained", Warn, "A dependency is unmaintained (informational RustSec advisory).";
    UNSOUND = "unsound", Warn, "A dependency has unsound APIs (informational RustSec advisory).";
    NOTICE = "notice", Warn, "A dependency has a RustSec notice.";
    MALICIOUS_DEPENDENCY = "malicious-dependency", Deny, "A dependency was removed from crates.io for malicious code (a RustSec `malicious` advisory); the asset is never built.";
    DEPENDENCY_CHECKSUM_MISMATCH = "dependency-checksum-mismatch", Deny, "The registry served a dependency whose sha256 is not the one Cargo.lock pins; it was discarded.";
    UNAUDITED_SOURCE = "unaudited-source", Note, "A dependency comes from git, a path or another registry; the RustSec database cannot vouch for it.";
    DB_STALE = "db-stale", Warn, "The advisory database is older than allowed, or its age is unknown.";
    // source: what the asset's code does and what it ships
    UNDECLARED_NETWORK = "undeclared-network", Deny, "The code opens outbound connections the contract does not declare.";
    UNDECLARED_FILESYSTEM = "undeclared-filesystem", Deny, "The code reads or writes files beyond the contract's filesystem access.";
    UNDECLARED_PROCESS = "undeclared-process", Deny, "The code spawns processes, but the contract declares process = false.";
    UNDECLARED_ENV = "undeclared-env", Deny, "The code reads an environment variable the contract does not list.";
    UNDECLARED_UNSAFE = "undeclared-unsafe", Deny, "The code uses unsafe or FFI, but the contract declares unsafe = false.";
    BUILD_SCRIPT = "build-script", Warn, "The asset has a build script, which runs arbitrary code at build time.";
    PROC_MACRO = "proc-macro", Warn, "The asset is a procedural macro, which runs inside its users' compiler.";
    INCLUDE_OUTSIDE_SRC = "include-outside-src", Review, "include_bytes!/include_str! embeds a file from outside src/.";
    BINARY_FILE = "binary-file", Review, "The archive ships an executable (ELF, PE, Mach-O, WebAssembly).";
    SHEBANG_SCRIPT = "shebang-script", Warn, "The archive ships a script with a #! line.";
    SECRET = "secret", Deny, "A private key, token or password is committed in the asset.";
    SOURCE_NOT_ANALYSED = "source-not-analysed", Review, "A .rs file was too large or too deeply nested to analyse, so what it does is unknown.";
    SOURCE_UNPARSABLE = "source-unparsable", Warn, "A .rs file does not parse, so it could not be analysed.";
    // policy: rule-set checks over the facts
    LICENSE_NOT_ALLOWED = "license-not-allowed", Deny, "A licence (of the asset or a dependency) is not on the rule set's allow list.";
    BANNED_CRATE = "banned-crate", Deny, "A dependency is banned by the rule set.";
    SOURCE_NOT_ALLOWED = "source-not-allowed", Deny, "A dependency comes from a source the rule set does not allow (git, another registry).";
    METADATA_MISSING = "metadata-missing", Warn, "The manifest lacks metadata the rule set requires (licence, repository, description).";
    CAPABILITY_FORBIDDEN = "capability-forbidden", Deny, "The asset declares or uses a capability the rule set forbids for its kind or data class.";
    BUDGET_OVER_CEILING = "budget-over-ceiling", Deny, "A performance budget in the contract is looser than the rule set's ceiling.";
    CUSTOM_RULE_FAILED = "custom-rule-failed", Review, "A custom Rego rule could not be evaluated, so a human reviews the asset.";
    WAIVER_EXPIRED = "waiver-expired", Warn, "A waiver for this asset has expired and no longer waives anything.";
    WAIVER_UNUSED = "waiver-unused", Warn, "A waiver for this asset matches no finding; remove it or fix its scope.";
    // lineage: the release against the last accepted release of the asset, and its name against listed ones
    CAPABILITY_ESCALATION = "capability-escalation", Review, "The release declares a capability, network host, environment variable or data class its baseline (the last accepted release) did not; a person approves the update.";
    VERSION_NOT_INCREASING = "version-not-increasing", Deny, "The release's version is not semver-greater than its baseline's (the last accepted release of the asset).";
    NAME_OWNED_BY_ANOTHER_PUBLISHER = "name-owned-by-another-publisher", Deny, "Another publisher has a listed asset of this name (names compare as cargo compares them).";
    NAME_SIMILAR_TO_LISTED = "name-similar-to-listed", Review, "The name is within two edits of, or a look-alike spelling of, a listed asset of another publisher.";
    PERFORMANCE_REGRESSION = "performance-regression", Warn, "A latency, the throughput or the peak memory is worse than the baseline's by more than the rule set's [lineage] threshold.";
    DEPENDENCY_DOWNGRADE = "dependency-downgrade", Warn, "A dependency is locked at a lower version than in the baseline.";
    NEW_BUILD_TIME_CODE = "new-build-time-code", Review, "A dependency new since the baseline (or newly upgraded into one) has a build script or is a proc macro: code that runs at build time.";
    LICENCE_CHANGED = "licence-changed", Review, "The asset's licence differs from its baseline's.";
    REPOSITORY_CHANGED = "repository-changed", Review, "The asset's repository URL differs from its baseline's.";
    // load: the service built, run and loaded in the sandbox
    LOAD_BUILD_FAILED = "load-build-failed", Deny, "The service did not build inside the sandbox (or its dependencies could not be fetched).";
    LOAD_STARTUP_FAILED = "load-startup-failed", Deny, "The service exited or did not answer its ready path with 2xx within the startup bound.";
    LOAD_CRASHED = "load-crashed", Deny, "The service exited while it was under load.";
    SANDBOX_LIMIT = "sandbox-limit", Deny, "The service or its build hit a sandbox limit: CPU time, memory, processes, file size, output or wall clock.";
    BUDGET_EXCEEDED = "budget-exceeded", Deny, "A measured latency, error rate, throughput, peak memory or startup time is outside the effective budget.";
    LOAD_HARNESS_SATURATED = "load-harness-saturated", Warn, "The load harness kept its users' thread nearly always busy, so its latencies are upper bounds and its throughput its own limit; pace the load with `rate`.";
    SANDBOX_DISABLED = "sandbox-disabled", Review, "The service was built and run without the sandbox (--sandbox none); only trusted local development does that.";
    BUDGET_UNMEASURABLE = "budget-unmeasurable", Review, "A min-rps budget asks for more than the load harness measured it can drive on this machine, so the run cannot tell whether the service meets it.";
    BUILD_NOT_REPRODUCIBLE = "build-not-reproducible", Warn, "Two builds of the service in fresh sandboxes gave binaries with different digests (--check-reproducible).";
    // observed: what the service and its build were seen doing (system calls traced inside the sandbox)
    RUNTIME_UNDECLARED_NETWORK = "runtime-undeclared-network", Deny, "Observed at run time: the service connected, or tried to, to an address or looked up a host name the contract does not declare.";
    RUNTIME_UNDECLARED_PROCESS = "runtime-undeclared-process", Deny, "Observed at run time: the service executed a program, but the contract declares process = false.";
    RUNTIME_UNDECLARED_FILESYSTEM = "runtime-undeclared-filesystem", Deny, "Observed at run time: the service wrote a file, or read one outside its working directory and the system files, beyond the contract's filesystem access.";
    BUILD_NETWORK = "build-network", Deny, "Observed during the build: a build script or proc macro connected, or tried to, to the network.";
    BUILD_PROCESS = "build-process", Deny, "Observed during the build: a build script or proc macro executed a program other than the toolchain and the C compiler tools.";
    BUILD_WRITE_OUTSIDE_TARGET = "build-write-outside-target", Deny, "Observed during the build: something wrote outside the target directory and the sandbox's own temporary directories.";
    BEHAVIOUR_NOT_OBSERVED = "behaviour-not-observed", Warn, "What the service or its build did at run time could not be observed (strace missing, or the trace cut short); only static analysis judged its capabilities.";
    // sbom: the bill of materials
    SBOM_METADATA_UNAVAILABLE = "sbom-metadata-unavailable", Warn, "Licences and descriptions of some dependencies could not be learnt; the SBOM marks them unknown.";
}

/// The catalogued code with this id.
pub fn lookup(id: &str) -> Option<&'static Code> {
    ALL.iter().copied().find(|code| code.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn codes_are_unique_and_kebab_case() {
        let mut seen = HashSet::new();
        for code in ALL {
            assert!(seen.insert(code.id), "duplicate code {}", code.id);
            assert!(
                code.id
                    .split('-')
                    .all(|word| !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())),
                "code {} is not kebab-case",
                code.id
            );
            assert!(code.summary.ends_with('.'), "summary of {} is not a sentence", code.id);
        }
    }

    #[test]
    fn lookup_finds_catalogued_codes_only() {
        assert_eq!(lookup("vulnerability").map(|c| c.id), Some("vulnerability"));
        assert!(lookup("no-such-code").is_none());
    }
}
