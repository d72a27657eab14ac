//! The rule-set digest: sha256 over a canonical form — one line per code with its level, then every policy
//! in a fixed order — so two rule sets that judge alike share it, and any change that could change a verdict
//! changes it. Reports, VSAs and re-judging name a rule set by it.

use assay_report::RulesIdentity;

use crate::RuleSet;

/// The canonical text the digest is taken over.
pub(crate) fn canonical(rules: &RuleSet) -> String {
    let mut out = String::new();
    for code in rules.levels.codes() {
        let level = rules.levels.of(code).map_or("unknown", |level| level.as_str());
        out.push_str(&format!("level {code}={level}\n"));
    }
    if let Some(licenses) = &rules.licenses {
        licenses.canonical(&mut out);
    }
    crate::bans::canonical(&rules.bans, &mut out);
    rules.sources.canonical(&mut out);
    crate::metadata::canonical(&rules.metadata, &mut out);
    rules.build.canonical(&mut out);
    crate::capabilities::canonical(&rules.forbidden, &mut out);
    crate::ceilings::canonical(&rules.ceilings, &mut out);
    crate::waivers::canonical(&rules.waivers, &mut out);
    if let Some(rego) = &rules.rego {
        rego.canonical(&mut out);
    }
    rules.advisories.canonical(&mut out);
    rules.lineage.canonical(&mut out);
    out
}

/// Where the rule set came from and its digest.
pub(crate) fn identity(rules: &RuleSet) -> RulesIdentity {
    RulesIdentity { uri: rules.uri.clone(), sha256: assay_report::digest::sha256_hex(canonical(rules).as_bytes()) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use assay_report::Severity;

    #[test]
    fn the_digest_changes_with_any_level() {
        let builtin = RuleSet::builtin().identity();
        assert_eq!(builtin.sha256.len(), 64);
        assert_eq!(builtin, RuleSet::builtin().identity());
        assert_ne!(builtin.sha256, RuleSet::builtin().with_level("db-stale", Severity::Deny).identity().sha256);
    }

    /// The canonical form of the bundled rule set, pinned: a refactoring that changes it changes every
    /// stored verdict's rule-set digest, which must be a decision, not an accident.
    #[test]
    fn the_bundled_canonical_form_is_stable() {
        let canonical = canonical(&RuleSet::builtin());
        assert!(canonical.starts_with("level archive-"), "{canonical}");
        let policy_lines: Vec<&str> = canonical.lines().filter(|l| !l.starts_with("level ")).collect();
        assert_eq!(
            policy_lines,
            [
                "licenses.allow=0BSD,Apache-2.0,BSD-2-Clause,BSD-3-Clause,BSL-1.0,CC0-1.0,ISC,MIT,MIT-0,MPL-2.0,Unicode-3.0,Unicode-DFS-2016,Unlicense,Zlib",
                "licenses.exception ring=OpenSSL,ISC",
                "sources.allow-git=false",
                "sources.allow-registries=",
                "metadata.require=license,description,repository",
                "build.scripts=",
                "build.proc-macros=",
                "forbid kind=component data-class=* network,process",
                "forbid kind=* data-class=pii unsafe,process",
                r#"ceilings={"p95":"500ms","p99":"2000ms","error-rate":"1%","min-rps":10.0,"max-rss":"512MiB","startup":"30s"}"#,
                "advisories.severity-threshold=low",
                "lineage.performance-regression=20% latency-noise=1ms memory-noise=4MiB",
            ]
        );
        // The digest every report judged by the bundled rule set carries (see the scan snapshots).
        assert_eq!(
            RuleSet::builtin().identity().sha256,
            "c1e2c1fd4c9930e8483853d761030d2295862a9f116678a00e65c06dad0c10e6"
        );
    }
}
