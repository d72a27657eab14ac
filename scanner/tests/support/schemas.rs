//! JSON Schema validation against the official schemas in `../shared/schemas`, with no network: the
//! schemas a schema refers to (CycloneDX's SPDX and JSF) are served from the same folder.

use std::path::PathBuf;

use jsonschema::{Retrieve, Uri, Validator};
use serde_json::Value;

/// Serves `http://cyclonedx.org/schema/<file>` from `../shared/schemas/<file>` and refuses anything else.
struct SharedSchemas {
    dir: PathBuf,
}

impl Retrieve for SharedSchemas {
    fn retrieve(&self, uri: &Uri<String>) -> Result<Value, Box<dyn std::error::Error + Send + Sync>> {
        let file = uri
            .as_str()
            .strip_prefix("http://cyclonedx.org/schema/")
            .ok_or_else(|| format!("refusing to fetch {uri} (no network in tests)"))?;
        let text = std::fs::read_to_string(self.dir.join(file))?;
        Ok(serde_json::from_str(&text)?)
    }
}

/// A validator for `../shared/schemas/<file>`, or `None` (reason printed) when `../shared` is absent.
pub fn validator(file: &str) -> Option<Validator> {
    let dir = super::shared("schemas")?;
    let schema: Value = serde_json::from_str(&std::fs::read_to_string(dir.join(file)).unwrap()).unwrap();
    Some(
        jsonschema::options()
            .should_validate_formats(true)
            .with_retriever(SharedSchemas { dir })
            .build(&schema)
            .unwrap_or_else(|err| panic!("cannot compile {file}: {err}")),
    )
}

/// Every schema error of `instance`, as `path: message` lines.
pub fn errors(validator: &Validator, instance: &Value) -> Vec<String> {
    validator.iter_errors(instance).map(|e| format!("{}: {e}", e.instance_path())).collect()
}
