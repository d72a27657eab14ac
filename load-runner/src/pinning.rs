//! CPUs of their own for the service and the harness: on a machine with two or more CPUs the harness gets
//! the last one Assay may use and the service the rest, through util-linux's `taskset` (affinity is inherited
//! by every process and thread each starts), so neither one's work queues behind the other's.

use std::path::PathBuf;

use assay_report::load::Pinning;

use crate::sandbox::find_program;

/// The pinning to use, with the `taskset` that applies it; `None` with one CPU, without `taskset`, or when
/// pinning is off.
pub fn choose(enabled: bool) -> Option<(Pinning, PathBuf)> {
    if !enabled {
        return None;
    }
    let taskset = find_program("taskset")?;
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let allowed = status.lines().find_map(|line| line.strip_prefix("Cpus_allowed_list:"))?;
    Some((split(&parse_list(allowed.trim())?)?, taskset))
}

/// Harness on the last CPU, service on the others.
fn split(cpus: &[u32]) -> Option<Pinning> {
    let (harness, service) = cpus.split_last()?;
    (!service.is_empty()).then(|| Pinning { service_cpus: format_list(service), harness_cpus: harness.to_string() })
}

/// `0-2,4` into `[0, 1, 2, 4]`; `None` when unreadable (or absurdly large).
fn parse_list(text: &str) -> Option<Vec<u32>> {
    let mut cpus = Vec::new();
    for part in text.split(',').filter(|part| !part.is_empty()) {
        let (first, last) = match part.split_once('-') {
            Some((first, last)) => (first.trim().parse::<u32>().ok()?, last.trim().parse::<u32>().ok()?),
            None => {
                let cpu = part.trim().parse().ok()?;
                (cpu, cpu)
            }
        };
        if last < first || last - first > 4096 || cpus.len() > 4096 {
            return None;
        }
        cpus.extend(first..=last);
    }
    cpus.sort_unstable();
    cpus.dedup();
    Some(cpus)
}

/// `[0, 1, 2, 4]` as `0,1,2,4` (what `taskset -c` reads).
fn format_list(cpus: &[u32]) -> String {
    cpus.iter().map(u32::to_string).collect::<Vec<_>>().join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_harness_takes_the_last_cpu_and_the_service_the_rest() {
        let pinning = split(&parse_list("0-2,5").unwrap()).unwrap();
        assert_eq!(pinning.service_cpus, "0,1,2");
        assert_eq!(pinning.harness_cpus, "5");
    }

    #[test]
    fn one_cpu_is_not_split_and_garbage_is_refused() {
        assert_eq!(split(&parse_list("3").unwrap()), None);
        assert_eq!(parse_list("2-1"), None);
        assert_eq!(parse_list("x"), None);
        assert_eq!(parse_list("0-999999"), None);
    }
}
