//! Rule-set files as a security team writes them: the TOML file, or a custom Rego policy it loads.
//!
//! Input: one mode byte, then the text. An even mode byte takes it as the rule-set file; an odd one as a
//! Rego policy, loaded by a rule set that names it.

use std::fs;

use assay_rules::RuleSet;

pub fn run(data: &[u8]) {
    let Some((&mode, body)) = data.split_first() else { return };
    let dir = crate::workdir();
    let rules = dir.path().join("rules.toml");
    if mode % 2 == 0 {
        fs::write(&rules, body).expect("the harness writes its input");
    } else {
        fs::write(dir.path().join("policy.rego"), body).expect("the harness writes its input");
        fs::write(&rules, "version = 1\nrego = [\"policy.rego\"]\n").expect("the harness writes its rule set");
    }
    if let Ok(rule_set) = RuleSet::load(&rules) {
        let _ = rule_set.identity();
    }
}
