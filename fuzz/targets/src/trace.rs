//! strace output as the load stage reads it (the traced code chooses every string in it): each line parsed and
//! its acts collected under a scope like the service's. Properties: no act target or argument carries a
//! control character (they reach terminals and pages), and no kind lists more than the report's bound.

use assay_load_runner::observe::{SYSTEM_READS, SYSTEM_WRITES, Scope, read_acts};
use assay_report::observed::{ACTS_SHOWN, ActKind};

pub fn run(data: &[u8]) {
    let scope = Scope {
        program: "/scratch/target/release/svc".to_owned(),
        cwd: "/scratch/asset".to_owned(),
        reads: true,
        quiet_reads: SYSTEM_READS.iter().map(|path| path.to_string()).collect(),
        quiet_writes: SYSTEM_WRITES.iter().map(|path| path.to_string()).collect(),
        quiet_programs: vec!["cc".to_owned(), "ld.*".to_owned(), "/opt/rust".to_owned()],
        own_ports: vec![18080],
    };
    let read = read_acts(data, scope).expect("reading from memory cannot fail");
    for kind in [ActKind::Network, ActKind::Lookup, ActKind::Process, ActKind::Write, ActKind::Read] {
        assert!(read.acts.iter().filter(|act| act.kind == kind).count() <= ACTS_SHOWN, "more {kind} acts than shown");
    }
    for act in &read.acts {
        for text in std::iter::once(&act.target).chain(&act.args) {
            assert!(!text.chars().any(char::is_control), "a control character in {text:?}");
        }
    }
}
