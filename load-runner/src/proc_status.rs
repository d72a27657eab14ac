//! Memory figures of a process from `/proc/<pid>/status` (Linux): peak resident memory and the like.

/// The `field` (e.g. `VmHWM`) of `process` (a pid, or `self`) in KiB; `None` off Linux or when the process
/// is gone.
pub fn memory_kib(process: &str, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{process}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':')?.trim().strip_suffix("kB")?.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_a_peak_and_a_missing_field_is_none() {
        assert!(memory_kib("self", "VmHWM").is_some_and(|kib| kib > 0));
        assert_eq!(memory_kib("self", "NoSuchField"), None);
    }
}
