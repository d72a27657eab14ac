//! The registry download setting (`--registry-url`, a base URL or a template with cargo's markers) and the
//! crate URLs built from it.
//!
//! Input: the setting, a newline, the crate name. Only names a lockfile could carry past Assay's name check
//! reach `crate_url`, as in a scan.

use std::str::FromStr;

use assay_scanner::asset::check_package_name;
use assay_scanner::deps::RegistryUrl;

pub fn run(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (setting, name) = text.split_once('\n').unwrap_or((text, "serde"));
    let Ok(registry) = RegistryUrl::from_str(setting) else { return };
    if check_package_name(name).is_ok() {
        let url = registry.crate_url(name, "1.0.0", &"ab".repeat(32));
        assert!(!url.is_empty(), "an empty crate URL");
    }
}
