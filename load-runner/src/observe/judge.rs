//! Observed acts judged against the contract: each act the contract does not declare is a finding of its
//! own, at the contract key that would have to declare it.

use std::net::IpAddr;

use assay_report::contract::{CONTRACT_TABLE, Capabilities, FilesystemAccess};
use assay_report::observed::{ActKind, ObservedAct, ObservedBehaviour};
use assay_report::{Finding, Location, codes};

/// Marks each act of the service declared or not, and returns a finding for each undeclared one.
pub fn judge_service(observed: &mut ObservedBehaviour, declared: &Capabilities) -> Vec<Finding> {
    let mut findings = Vec::new();
    for act in &mut observed.acts {
        act.declared = match act.kind {
            ActKind::Network => declared.network.iter().any(|grant| grants_endpoint(grant, &act.target)),
            ActKind::Lookup => declared.network.iter().any(|grant| grants_name(grant, &act.target)),
            ActKind::Process => declared.process,
            ActKind::Write => declared.filesystem == FilesystemAccess::Write,
            ActKind::Read => declared.filesystem != FilesystemAccess::None,
        };
        if act.declared {
            continue;
        }
        let (code, what, key, help) = match act.kind {
            ActKind::Network => (
                &codes::RUNTIME_UNDECLARED_NETWORK,
                format!("connected to {}", act.target),
                "network",
                format!("declare \"{}\" under network, or remove the connection", act.target),
            ),
            ActKind::Lookup => (
                &codes::RUNTIME_UNDECLARED_NETWORK,
                format!("looked up the host name `{}`", act.target),
                "network",
                format!("declare \"{}:PORT\" under network, or remove the lookup", act.target),
            ),
            ActKind::Process => (
                &codes::RUNTIME_UNDECLARED_PROCESS,
                format!("executed {}", command_line(act)),
                "process",
                "declare process = true, or do not start programs".to_owned(),
            ),
            ActKind::Write => (
                &codes::RUNTIME_UNDECLARED_FILESYSTEM,
                format!("opened {} for writing", act.target),
                "filesystem",
                "declare filesystem = \"write\", or do not write files".to_owned(),
            ),
            ActKind::Read => (
                &codes::RUNTIME_UNDECLARED_FILESYSTEM,
                format!("read {}, outside its working directory", act.target),
                "filesystem",
                "declare filesystem = \"read\", or read only files in the working directory".to_owned(),
            ),
        };
        let key = format!("{}.capabilities.{key}", CONTRACT_TABLE.join("."));
        findings.push(
            Finding::new(code, format!("observed at run time: the service {what}{}", outcome(act)))
                .at(Location::file("Cargo.toml").with_key(key))
                .help(help),
        );
    }
    findings
}

/// Marks every act of the build undeclared (no contract grants a build anything) and returns its findings.
pub fn judge_build(observed: &mut ObservedBehaviour) -> Vec<Finding> {
    let mut findings = Vec::new();
    for act in &mut observed.acts {
        act.declared = false;
        let (code, what) = match act.kind {
            ActKind::Network => (&codes::BUILD_NETWORK, format!("connected to {}", act.target)),
            ActKind::Lookup => (&codes::BUILD_NETWORK, format!("looked up the host name `{}`", act.target)),
            ActKind::Process => (&codes::BUILD_PROCESS, format!("executed {}", command_line(act))),
            ActKind::Write | ActKind::Read => {
                (&codes::BUILD_WRITE_OUTSIDE_TARGET, format!("wrote {} (outside the target directory)", act.target))
            }
        };
        findings.push(Finding::new(code, format!("observed during the build: something {what}{}", outcome(act))).help(
            "build scripts and proc macros may only compile: no network, no programs besides the toolchain and \
                 the C compiler tools, no writes outside OUT_DIR",
        ));
    }
    findings
}

fn command_line(act: &ObservedAct) -> String {
    let mut words = vec![format!("`{}", act.target)];
    words.extend(act.args.iter().cloned());
    format!("{}`", words.join(" "))
}

fn outcome(act: &ObservedAct) -> String {
    let times = if act.times > 1 { format!(", {} times", act.times) } else { String::new() };
    if act.kind == ActKind::Lookup {
        return format!(" (a DNS query sent{times}; no resolver answers inside the sandbox)");
    }
    match act.result.as_str() {
        "ok" => format!(" (it succeeded inside the sandbox{times})"),
        error => format!(" (the sandbox refused it: {error}{times})"),
    }
}

/// Whether the contract entry `host:port` covers the observed `address:port`.
fn grants_endpoint(grant: &str, target: &str) -> bool {
    let (Some((host, port)), Some((address, observed_port))) = (split(grant), split(target)) else {
        return false;
    };
    if port != "*" && port != observed_port {
        return false;
    }
    let address = address.trim_start_matches('[').trim_end_matches(']');
    let host = host.trim_start_matches('[').trim_end_matches(']');
    match (host.parse::<IpAddr>(), address.parse::<IpAddr>()) {
        (Ok(declared), Ok(observed)) => declared == observed,
        (Err(_), Ok(observed)) => host.eq_ignore_ascii_case("localhost") && observed.is_loopback(),
        _ => false,
    }
}

/// Whether the contract entry `host:port` names the host `name` looked up.
fn grants_name(grant: &str, name: &str) -> bool {
    split(grant).is_some_and(|(host, _)| host.trim_end_matches('.').eq_ignore_ascii_case(name.trim_end_matches('.')))
}

fn split(endpoint: &str) -> Option<(&str, &str)> {
    endpoint.rsplit_once(':')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn act(kind: ActKind, target: &str) -> ObservedAct {
        ObservedAct {
            kind,
            target: target.to_owned(),
            args: Vec::new(),
            result: "ENETUNREACH".to_owned(),
            times: 1,
            declared: false,
        }
    }

    #[test]
    fn declared_endpoints_and_names_pass_and_others_are_findings() {
        let declared = Capabilities {
            network: vec!["api.example.com:443".to_owned(), "10.0.0.7:5432".to_owned(), "localhost:*".to_owned()],
            ..Capabilities::default()
        };
        let mut observed = ObservedBehaviour {
            acts: vec![
                act(ActKind::Lookup, "api.example.com"),
                act(ActKind::Network, "10.0.0.7:5432"),
                act(ActKind::Network, "127.0.0.1:9000"),
                act(ActKind::Network, "10.0.0.7:22"),
                act(ActKind::Lookup, "exfil.example.net"),
                act(ActKind::Process, "/bin/sh"),
            ],
            ..ObservedBehaviour::default()
        };
        let findings = judge_service(&mut observed, &declared);
        let declared: Vec<bool> = observed.acts.iter().map(|act| act.declared).collect();
        assert_eq!(declared, [true, true, true, false, false, false]);
        let messages: Vec<String> = findings.iter().map(|f| format!("{} {}", f.code, f.message)).collect();
        assert_eq!(messages.len(), 3, "{messages:?}");
        assert!(
            messages[0]
                .starts_with("runtime-undeclared-network observed at run time: the service connected to 10.0.0.7:22")
        );
        assert!(messages[1].contains("`exfil.example.net`"));
        assert!(messages[2].starts_with("runtime-undeclared-process"));
    }
}
