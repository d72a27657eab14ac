//! The submission message v1 (ARCHITECTURE.md), parsed strictly: a message that is not exactly that is
//! refused with a reason, and with its submission id when one can be read.

use serde::{Deserialize, Serialize};

/// The schema id of v1 submissions.
pub const SUBMISSION_SCHEMA: &str = "assay.submission/v1";

/// A submission message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Submission {
    /// [`SUBMISSION_SCHEMA`].
    pub schema: String,
    /// Unique id of the submission (a UUID).
    pub submission_id: String,
    /// What the publisher says the asset is.
    pub asset: SubmittedAsset,
    /// Where to fetch it and what it must hash to.
    pub archive: Archive,
    /// The marketplace listing (becomes the VSA's resourceUri).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listing: Option<String>,
    /// The rule set to judge it by.
    #[serde(default = "default_rules")]
    pub rules: String,
}

/// The asset as submitted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubmittedAsset {
    /// Crate name.
    pub name: String,
    /// Crate version.
    pub version: String,
    /// Publisher id.
    pub publisher: String,
}

/// The archive to fetch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Archive {
    /// `file://` or `http(s)://`.
    pub uri: String,
    /// Lowercase hex sha256 the fetched bytes must have.
    pub sha256: String,
    /// Size the fetched bytes must have.
    pub size: u64,
}

fn default_rules() -> String {
    "default".to_owned()
}

/// A message that is not a valid v1 submission.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refused {
    /// The submission id, when the message carries a readable one.
    pub submission_id: Option<String>,
    /// Why it was refused (goes in `x-assay-error` and in the rejected report).
    pub reason: String,
}

/// Parses and validates a message body.
pub fn parse(body: &[u8]) -> Result<Submission, Refused> {
    let value: serde_json::Value = serde_json::from_slice(body)
        .map_err(|err| Refused { submission_id: None, reason: format!("not JSON: {err}") })?;
    let submission_id =
        value.get("submission_id").and_then(|v| v.as_str()).filter(|id| valid_id(id)).map(str::to_owned);
    let refused = |reason: String| Refused { submission_id: submission_id.clone(), reason };
    match value.get("schema").and_then(|s| s.as_str()) {
        Some(SUBMISSION_SCHEMA) => {}
        Some(other) => return Err(refused(format!("unknown schema `{other}`; this worker reads {SUBMISSION_SCHEMA}"))),
        None => return Err(refused("missing field `schema`".to_owned())),
    }
    let submission: Submission =
        serde_json::from_value(value).map_err(|err| refused(format!("not a valid {SUBMISSION_SCHEMA}: {err}")))?;
    if !valid_id(&submission.submission_id) {
        return Err(refused("submission_id must be 1–64 characters of [A-Za-z0-9-]".to_owned()));
    }
    for (field, text) in [("asset.name", &submission.asset.name), ("asset.version", &submission.asset.version)] {
        if !safe_path_segment(text) {
            return Err(refused(format!("{field} `{text}` is not a plain name (letters, digits, . _ - +)")));
        }
    }
    if submission.archive.sha256.len() != 64 || !submission.archive.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(refused(format!("archive.sha256 `{}` is not 64 hex digits", submission.archive.sha256)));
    }
    let scheme = submission.archive.uri.split_once("://").map(|(scheme, _)| scheme);
    if !matches!(scheme, Some("file" | "http" | "https")) {
        return Err(refused(format!("archive.uri `{}` is not file://, http:// or https://", submission.archive.uri)));
    }
    if submission.rules != "default" {
        return Err(refused(format!("rule set `{}` is not known to this worker (only `default`)", submission.rules)));
    }
    Ok(Submission {
        archive: Archive { sha256: submission.archive.sha256.to_ascii_lowercase(), ..submission.archive },
        ..submission
    })
}

/// Ids become directory names in the store: keep them to a safe alphabet.
fn valid_id(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Names and versions become directory names too: no separators, no `..`.
fn safe_path_segment(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 128
        && !text.starts_with('.')
        && text.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'+'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(edit: impl FnOnce(&mut serde_json::Value)) -> Vec<u8> {
        let mut value = serde_json::json!({
            "schema": "assay.submission/v1",
            "submission_id": "0b6f0c52-8a3e-4d0e-9a7e-2f1d5c3b9e10",
            "asset": { "name": "acme-connector", "version": "1.2.0", "publisher": "acme" },
            "archive": { "uri": "file:///srv/uploads/acme-connector-1.2.0.crate", "sha256": "a".repeat(64), "size": 18342 },
            "listing": "https://marketplace.example/listings/acme-connector",
            "rules": "default"
        });
        edit(&mut value);
        serde_json::to_vec(&value).unwrap()
    }

    #[test]
    fn the_architecture_example_parses() {
        let submission = parse(&message(|_| {})).unwrap();
        assert_eq!(submission.asset.name, "acme-connector");
        assert_eq!(submission.archive.size, 18342);
    }

    #[test]
    fn malformed_messages_are_refused_with_the_id_when_readable() {
        let not_json = parse(b"{oops").unwrap_err();
        assert_eq!(not_json.submission_id, None);
        type Edit = Box<dyn FnOnce(&mut serde_json::Value)>;
        let cases: Vec<Edit> = vec![
            Box::new(|v| v["schema"] = "assay.submission/v9".into()),
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("archive");
            }),
            Box::new(|v| v["archive"]["sha256"] = "xyz".into()),
            Box::new(|v| v["archive"]["uri"] = "ftp://host/x.crate".into()),
            Box::new(|v| v["asset"]["name"] = "../../etc".into()),
            Box::new(|v| v["rules"] = "strict".into()),
        ];
        for edit in cases {
            let refused = parse(&message(edit)).unwrap_err();
            assert_eq!(
                refused.submission_id.as_deref(),
                Some("0b6f0c52-8a3e-4d0e-9a7e-2f1d5c3b9e10"),
                "{}",
                refused.reason
            );
        }
        let bad_id = parse(&message(|v| v["submission_id"] = "../x".into())).unwrap_err();
        assert_eq!(bad_id.submission_id, None, "an unsafe id is not used");
    }
}
