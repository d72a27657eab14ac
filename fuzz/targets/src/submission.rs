//! Submission messages as the broker delivers them. Property: a message that parses re-reads the same once
//! serialised, so what the worker stores is what it judged.

use assay_scanner::worker::message::parse;

pub fn run(data: &[u8]) {
    let Ok(submission) = parse(data) else { return };
    let again = serde_json::to_vec(&submission).expect("a parsed submission serialises");
    assert_eq!(parse(&again).as_ref(), Ok(&submission), "a parsed submission does not re-read the same");
}
