//! The `[package.metadata.marketplace.load]` section of asset contract v1: scenarios and budgets.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::quantity::{ByteSize, Percent, Rate, TimeSpan};

/// How to load-test a service: `users` concurrent goose users, each waiting for its response before sending the
/// next request (a closed model), at full speed or paced to a total `rate`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct LoadSpec {
    /// Concurrent users.
    pub users: u32,
    /// Users started per second.
    pub ramp: Rate,
    /// Measured time after ramp-up.
    pub duration: TimeSpan,
    /// Requests per second of all users together: send slots are released evenly spaced at this rate and
    /// each request takes one; absent, users send as fast as responses come back. A paced load measures the
    /// service rather than how fast the harness and the service can share the machine's cores.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate: Option<Rate>,
    /// Budget for all requests together.
    #[serde(default)]
    pub budget: Budget,
    /// What the users do; at least one.
    #[serde(rename = "scenario")]
    pub scenarios: Vec<Scenario>,
}

/// Performance limits. Every key is optional; an absent key is not checked (rule-set ceilings still apply).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Budget {
    /// Median latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50: Option<TimeSpan>,
    /// 95th percentile latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95: Option<TimeSpan>,
    /// 99th percentile latency.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99: Option<TimeSpan>,
    /// Share of requests that failed (connection errors and non-2xx).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<Percent>,
    /// Minimum sustained requests per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_rps: Option<f64>,
    /// Maximum peak resident memory of the service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_rss: Option<ByteSize>,
    /// Maximum time from start to ready.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub startup: Option<TimeSpan>,
}

/// One kind of request the users make, chosen by weight.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Scenario {
    /// Shown in reports and findings.
    pub name: String,
    /// Relative frequency.
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// The request.
    pub request: Request,
    /// Stricter limits for this scenario alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
}

/// An HTTP request against the service.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct Request {
    /// HTTP method.
    #[serde(default = "default_method")]
    pub method: String,
    /// Path and query, starting with `/`.
    pub path: String,
    /// Extra headers.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// Request body.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body: Option<String>,
}

fn default_weight() -> u32 {
    1
}

fn default_method() -> String {
    "GET".to_owned()
}

impl LoadSpec {
    /// The longest a paced user may wait for a send slot, `users / rate` (zero at full speed): once before
    /// its first request, which opens the window, and once more when the run ends.
    pub fn slot_wait(&self) -> Duration {
        self.rate.map_or(Duration::ZERO, |rate| Duration::from_secs_f64(f64::from(self.users) / rate.0))
    }

    /// Problems that types alone cannot rule out, as `(key, message)` pairs relative to the load table.
    pub fn problems(&self) -> Vec<(String, String)> {
        let mut problems = Vec::new();
        if self.users == 0 {
            problems.push(("users".to_owned(), "`users` must be at least 1".to_owned()));
        }
        if self.scenarios.is_empty() {
            problems.push(("scenario".to_owned(), "declare at least one [[...load.scenario]]".to_owned()));
        }
        for (index, scenario) in self.scenarios.iter().enumerate() {
            if scenario.weight == 0 {
                problems
                    .push((format!("scenario[{index}].weight"), format!("scenario `{}` has weight 0", scenario.name)));
            }
            if !scenario.request.path.starts_with('/') {
                problems.push((
                    format!("scenario[{index}].request.path"),
                    format!("scenario `{}`: path `{}` must start with `/`", scenario.name, scenario.request.path),
                ));
            }
            const METHODS: [&str; 6] = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"];
            if !METHODS.contains(&scenario.request.method.as_str()) {
                problems.push((
                    format!("scenario[{index}].request.method"),
                    format!(
                        "scenario `{}`: method `{}` is not one of {}",
                        scenario.name,
                        scenario.request.method,
                        METHODS.join(", ")
                    ),
                ));
            }
        }
        problems
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_architecture_example_parses() {
        let spec: LoadSpec = toml::from_str(
            r#"
            users = 16
            ramp = "8/s"
            duration = "15s"
            budget = { p95 = "50ms", p99 = "120ms", error-rate = "0.5%", min-rps = 200, max-rss = "128MiB" }

            [[scenario]]
            name = "list records"
            weight = 3
            request = { method = "GET", path = "/v1/records", headers = { accept = "application/json" } }
            budget = { p95 = "30ms" }
            "#,
        )
        .unwrap();
        assert_eq!(spec.users, 16);
        assert_eq!(spec.rate, None);
        assert_eq!(spec.budget.min_rps, Some(200.0));
        assert_eq!(spec.scenarios[0].weight, 3);
        assert!(spec.problems().is_empty());
    }

    #[test]
    fn a_rate_is_requests_per_second_of_all_users_and_above_zero() {
        let spec = |rate: &str| {
            toml::from_str::<LoadSpec>(&format!(
                "users = 4\nramp = \"4/s\"\nduration = \"2s\"\nrate = \"{rate}\"\n[[scenario]]\nname = \"x\"\nrequest = {{ path = \"/\" }}\n"
            ))
        };
        let paced = spec("200/s").unwrap();
        assert_eq!(paced.rate.map(|rate| rate.0), Some(200.0));
        assert_eq!(paced.slot_wait(), Duration::from_millis(20), "4 users share 200 slots a second");
        let err = spec("0/s").unwrap_err();
        assert!(err.to_string().contains("`0/s` is not a rate"), "{err}");
    }

    #[test]
    fn a_bad_quantity_is_an_error_naming_the_value() {
        let err = toml::from_str::<Budget>(r#"p95 = "fast""#).unwrap_err();
        assert!(err.to_string().contains("`fast` is not a time span"), "{err}");
    }

    #[test]
    fn semantic_problems_are_listed_with_their_key() {
        let spec: LoadSpec = toml::from_str(
            r#"
            users = 0
            ramp = "1/s"
            duration = "1s"
            [[scenario]]
            name = "x"
            request = { method = "FETCH", path = "v1" }
            "#,
        )
        .unwrap();
        let keys: Vec<_> = spec.problems().into_iter().map(|(key, _)| key).collect();
        assert_eq!(keys, ["users", "scenario[0].request.path", "scenario[0].request.method"]);
    }
}
