//! The closed set of capabilities: what code can be seen doing, and what a contract can grant.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Something code can do that a marketplace cares about. Source analysis reports every kind; a contract
/// grants (and a rule set's `[capabilities] forbid` names) the [`Capability::GRANTS`] only.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Capability {
    /// Outbound connections.
    Network,
    /// Listening sockets (a service listens; that is not egress).
    Listen,
    /// Reading files.
    FilesystemRead,
    /// Writing, creating or removing files.
    FilesystemWrite,
    /// Spawning processes.
    Process,
    /// Reading environment variables.
    Env,
    /// `unsafe` blocks, functions, impls, traits, inline assembly.
    Unsafe,
    /// `extern` blocks and `#[link]`.
    Ffi,
    /// `include_bytes!`/`include_str!` of a file outside `src/`.
    IncludeOutsideSrc,
}

impl Capability {
    /// Every capability, in order.
    pub const ALL: [Capability; 9] = [
        Self::Network,
        Self::Listen,
        Self::FilesystemRead,
        Self::FilesystemWrite,
        Self::Process,
        Self::Env,
        Self::Unsafe,
        Self::Ffi,
        Self::IncludeOutsideSrc,
    ];

    /// The capabilities a contract grants and a rule set may forbid.
    pub const GRANTS: [Capability; 6] =
        [Self::Network, Self::FilesystemRead, Self::FilesystemWrite, Self::Process, Self::Env, Self::Unsafe];

    /// The kebab-case name used in facts, contracts and rule sets.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Network => "network",
            Self::Listen => "listen",
            Self::FilesystemRead => "filesystem-read",
            Self::FilesystemWrite => "filesystem-write",
            Self::Process => "process",
            Self::Env => "env",
            Self::Unsafe => "unsafe",
            Self::Ffi => "ffi",
            Self::IncludeOutsideSrc => "include-outside-src",
        }
    }

    /// The capability by its name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|capability| capability.as_str() == name)
    }

    /// The grant a use of this capability needs: FFI is unsafe code; listening and embedding files need none.
    pub fn grant(self) -> Option<Capability> {
        match self {
            Self::Ffi => Some(Self::Unsafe),
            Self::Listen | Self::IncludeOutsideSrc => None,
            other => Some(other),
        }
    }

    /// The names of [`Capability::GRANTS`], for help texts.
    pub fn grant_names() -> String {
        let names: Vec<&str> = Self::GRANTS.iter().map(|c| c.as_str()).collect();
        names.join(", ")
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_serde() {
        for capability in Capability::ALL {
            assert_eq!(Capability::parse(capability.as_str()), Some(capability));
            assert_eq!(serde_json::to_value(capability).unwrap(), capability.as_str());
        }
        assert_eq!(Capability::parse("teleport"), None);
    }

    #[test]
    fn every_use_needs_a_grant_or_none() {
        for capability in Capability::ALL {
            if let Some(grant) = capability.grant() {
                assert!(Capability::GRANTS.contains(&grant), "{capability} needs {grant}");
            }
        }
    }
}
