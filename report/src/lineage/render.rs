//! A release diff as lines for people (`assay diff`, `summary.md`): one change per line, `+` gained or
//! added, `-` dropped or removed, `~` changed; every name the asset controls escaped.

use crate::untrusted::escape;

use super::ReleaseDiff;

/// The sections of `diff` that have changes, each as `(heading, lines)`.
pub fn sections(diff: &ReleaseDiff) -> Vec<(&'static str, Vec<String>)> {
    let mut contract = Vec::new();
    contract.extend(diff.contract.gained.iter().map(|grant| format!("+ {}", escape(&grant.to_string()))));
    contract.extend(diff.contract.dropped.iter().map(|grant| format!("- {}", escape(&grant.to_string()))));
    for change in diff.contract.service.iter().chain(&diff.contract.budgets) {
        contract.push(format!("~ {}", field(&change.field, change.previous.as_deref(), change.current.as_deref())));
    }

    let deps = &diff.dependencies;
    let mut dependencies = Vec::new();
    for added in &deps.added {
        let code: Vec<&str> = deps
            .new_build_time_code
            .iter()
            .filter(|code| code.name == added.name && code.version == added.version)
            .map(|code| code.what.as_str())
            .collect();
        let code = if code.is_empty() { String::new() } else { format!(", runs {} at build time", code.join(" and ")) };
        dependencies.push(format!(
            "+ {} {} ({}{code})",
            escape(&added.name),
            escape(&added.version),
            escape(&added.source_kind)
        ));
    }
    dependencies
        .extend(deps.removed.iter().map(|removed| format!("- {} {}", escape(&removed.name), escape(&removed.version))));
    for (arrow, changes) in [("upgraded", &deps.upgraded), ("DOWNGRADED", &deps.downgraded)] {
        for change in changes {
            let gained: Vec<&str> = deps
                .new_build_time_code
                .iter()
                .filter(|code| code.how == "upgraded" && code.name == change.name && code.version == change.current)
                .map(|code| code.what.as_str())
                .collect();
            let gained = if gained.is_empty() { String::new() } else { format!(", now runs {}", gained.join(" and ")) };
            dependencies.push(format!(
                "~ {} {} -> {} ({arrow}{gained})",
                escape(&change.name),
                escape(&change.previous),
                escape(&change.current)
            ));
        }
    }
    dependencies.extend(deps.new_sources.iter().map(|source| format!("+ source {}", escape(source))));

    let performance = diff
        .performance
        .iter()
        .filter(|change| change.current != change.previous)
        .map(|change| {
            let percent = change.change_percent.map_or(String::new(), |percent| format!(" ({percent:+.0}%)"));
            format!(
                "~ {} {}: {} -> {}{percent}",
                escape(&change.scenario),
                change.metric,
                change.show(change.previous),
                change.show(change.current)
            )
        })
        .collect();

    let metadata = diff
        .metadata
        .iter()
        .map(|change| format!("~ {}", field(&change.field, change.previous.as_deref(), change.current.as_deref())))
        .collect();

    [("contract", contract), ("dependencies", dependencies), ("performance", performance), ("metadata", metadata)]
        .into_iter()
        .filter(|(_, lines)| !lines.is_empty())
        .collect()
}

fn field(name: &str, previous: Option<&str>, current: Option<&str>) -> String {
    let shown = |value: Option<&str>| value.map_or_else(|| "(none)".to_owned(), |v| format!("`{}`", escape(v)));
    format!("{}: {} -> {}", escape(name), shown(previous), shown(current))
}
