//! Benchmark: the bundled rule set plus 20 custom Rego rules, evaluated and judged over the facts of an
//! asset with 500 dependencies. Run: `cargo bench -p assay-rules`.

use std::hint::black_box;

use assay_report::contract::{AssetKind, Capabilities, Capability, Contract};
use assay_report::facts::{AssetFacts, DependencyFact, Facts, SourceFact};
use assay_report::{Finding, codes};
use assay_rules::RuleSet;
use criterion::{Criterion, criterion_group, criterion_main};

fn facts() -> Facts {
    let dependencies = (0..500)
        .map(|i| DependencyFact {
            name: format!("crate-{i:03}"),
            version: format!("1.{}.{}", i % 9, i % 5),
            source_kind: if i % 50 == 0 { "git".into() } else { "crates-io".into() },
            license: Some(if i % 3 == 0 { "MIT/Apache-2.0".into() } else { "MIT OR Apache-2.0".into() }),
            repository: (i % 7 != 0).then(|| format!("https://github.com/example/crate-{i}")),
            kind: "normal".into(),
            dependents: vec![format!("crate-{:03}", i / 2)],
            ..DependencyFact::default()
        })
        .collect();
    Facts {
        schema: "assay.facts/v1".into(),
        asset: AssetFacts {
            name: "bench".into(),
            version: "1.0.0".into(),
            kind: Some(AssetKind::Connector),
            data_classes: vec!["pii".into()],
            license: Some("MIT".into()),
            ..AssetFacts::default()
        },
        contract: Some(Contract {
            kind: AssetKind::Connector,
            publisher: "bench".into(),
            summary: "bench".into(),
            data_classes: vec!["pii".into()],
            capabilities: Capabilities {
                network: vec!["api.example:443".into()],
                env: vec!["PORT".into()],
                ..Capabilities::default()
            },
            service: None,
            load: None,
        }),
        dependencies,
        advisories: Vec::new(),
        source: (0..200)
            .map(|i| SourceFact {
                capability: Capability::Env,
                file: format!("src/m{i}.rs"),
                line: 3,
                detail: "std::env::var".into(),
            })
            .collect(),
        load: None,
        lineage: None,
    }
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::create_dir(dir.path().join("policies")).expect("policies dir");
    for i in 0..20 {
        let policy = format!(
            "package assay.bench{i}\n\nimport rego.v1\n\ndeny contains {{\"code\": \"bench-{i}\", \"msg\": d.name}} if {{\n  \"pii\" in input.asset.data_classes\n  some d in input.dependencies\n  not d.repository\n  endswith(d.name, \"{}\")\n}}\n\nwarn contains {{\"code\": \"bench-warn-{i}\", \"msg\": u.file}} if {{\n  some u in input.source\n  u.line == {}\n}}\n",
            i % 10,
            i + 1
        );
        std::fs::write(dir.path().join(format!("policies/p{i:02}.rego")), policy).expect("policy");
    }
    let mut text = assay_rules::DEFAULT_RULES.to_owned();
    text = text.replacen("version = 1\n", "version = 1\nrego = [\"policies/*.rego\"]\n", 1);
    let path = dir.path().join("rules.toml");
    std::fs::write(&path, &text).expect("rules file");
    let rules = RuleSet::load(&path).expect("valid rule set");
    let facts = facts();
    let findings: Vec<Finding> = (0..50).map(|i| Finding::new(&codes::UNMAINTAINED, format!("advisory {i}"))).collect();
    assert!(!rules.evaluate(&facts).is_empty());
    c.bench_function("rules_default_plus_20_rego_500_deps", |b| {
        b.iter(|| {
            let mut all = findings.clone();
            all.extend(rules.evaluate(black_box(&facts)));
            rules.judge(&mut all, None)
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
