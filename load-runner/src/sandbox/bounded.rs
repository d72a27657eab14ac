//! Running a command to completion under a wall clock, keeping a bounded amount of what it prints.

use std::io::{self, Read, Write};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use crate::cancel::Cancel;

/// How a bounded run ended.
#[derive(Debug)]
pub struct Finished {
    /// The exit status; `None` when the wall clock ran out (or the run was cancelled) and the process group
    /// was killed.
    pub status: Option<ExitStatus>,
    /// The first bytes of stdout, up to the output limit.
    pub stdout: Vec<u8>,
    /// The last bytes of stderr, up to the output limit.
    pub stderr: Vec<u8>,
    /// stdout and stderr together were longer than the limit.
    pub output_exceeded: bool,
    /// Time from spawn to exit (or kill).
    pub elapsed: Duration,
}

impl Finished {
    /// The wall clock ran out.
    pub fn timed_out(&self) -> bool {
        self.status.is_none()
    }

    /// The last `lines` lines of stderr, lossily decoded.
    pub fn stderr_tail(&self, lines: usize) -> String {
        tail_lines(&String::from_utf8_lossy(&self.stderr), lines)
    }
}

/// The last `lines` lines of `text`.
pub fn tail_lines(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Spawns `command` in its own process group with `stdin` written to it, waits at most `wall_clock` (or until
/// `cancel` is raised), then kills the whole group. Keeps at most `output_limit` bytes of each stream.
pub fn run_bounded(
    mut command: Command,
    stdin: Option<Vec<u8>>,
    wall_clock: Duration,
    output_limit: u64,
    cancel: &Cancel,
) -> io::Result<Finished> {
    command
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let started = Instant::now();
    let mut child = command.spawn()?;
    if let (Some(bytes), Some(mut pipe)) = (stdin, child.stdin.take()) {
        // A child that exits without reading its input is not an error of ours; its status says what happened.
        thread::spawn(move || pipe.write_all(&bytes));
    }
    let stdout = child.stdout.take().map(|pipe| thread::spawn(move || keep_head(pipe, output_limit)));
    let stderr = child.stderr.take().map(|pipe| thread::spawn(move || keep_tail(pipe, output_limit)));
    let status = wait_until(&mut child, started + wall_clock, cancel)?;
    // Whatever the child left behind in its group still holds the pipes open; it goes with the child.
    kill_group(&mut child);
    let (stdout, stdout_total) = stdout.and_then(|t| t.join().ok()).unwrap_or_default();
    let (stderr, stderr_total) = stderr.and_then(|t| t.join().ok()).unwrap_or_default();
    Ok(Finished {
        status,
        stdout,
        stderr,
        output_exceeded: stdout_total + stderr_total > output_limit,
        elapsed: started.elapsed(),
    })
}

/// Waits for `child` until `deadline` or `cancel`; then kills the child's process group and returns `None`.
pub fn wait_until(child: &mut Child, deadline: Instant, cancel: &Cancel) -> io::Result<Option<ExitStatus>> {
    loop {
        if let Some(status) = child.try_wait()? {
            return Ok(Some(status));
        }
        if Instant::now() >= deadline || cancel.is_cancelled() {
            kill_group(child);
            child.wait()?;
            return Ok(None);
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// Kills the process group `child` leads (spawned with `process_group(0)`), and the child itself.
pub fn kill_group(child: &mut Child) {
    if let Some(pid) = rustix::process::Pid::from_raw(child.id() as i32) {
        // The group may already be gone; the direct kill below covers the child either way.
        let _ = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL);
    }
    let _ = child.kill();
}

/// Reads `pipe` to its end, keeping the first `limit` bytes; returns them and the total length.
pub fn keep_head(pipe: impl Read, limit: u64) -> (Vec<u8>, u64) {
    let mut kept = Vec::new();
    let total = read_chunks(pipe, |chunk, total_before| {
        let room = usize::try_from(limit.saturating_sub(total_before)).unwrap_or(usize::MAX).min(chunk.len());
        kept.extend_from_slice(&chunk[..room]);
    });
    (kept, total)
}

/// Reads `pipe` to its end, keeping the last `limit` bytes; returns them and the total length.
pub fn keep_tail(pipe: impl Read, limit: u64) -> (Vec<u8>, u64) {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let mut kept = Vec::new();
    let total = read_chunks(pipe, |chunk, _| {
        kept.extend_from_slice(chunk);
        if kept.len() > limit.saturating_mul(2).max(16 * 1024) {
            kept.drain(..kept.len() - limit);
        }
    });
    if kept.len() > limit {
        kept.drain(..kept.len() - limit);
    }
    (kept, total)
}

/// Hands `pipe`'s bytes to `take` a chunk at a time, with the count read before that chunk, until the end
/// (or an error); returns the total read.
fn read_chunks(mut pipe: impl Read, mut take: impl FnMut(&[u8], u64)) -> u64 {
    let mut total = 0u64;
    let mut buffer = [0u8; 8192];
    while let Ok(read) = pipe.read(&mut buffer) {
        if read == 0 {
            break;
        }
        take(&buffer[..read], total);
        total += read as u64;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_is_bounded_and_counted() {
        let (head, total) = keep_head(&b"0123456789"[..], 4);
        assert_eq!((head.as_slice(), total), (&b"0123"[..], 10));
        let (tail, total) = keep_tail(&b"0123456789"[..], 4);
        assert_eq!((tail.as_slice(), total), (&b"6789"[..], 10));
    }

    /// A shell that leaves a background grandchild and a foreground child, both `sleep`s with an argument
    /// no other process on the machine has, so the test can look for them afterwards.
    fn family(tag: u32) -> (Command, String) {
        // `sleep 30.<tag><pid>`: thirty seconds, and a command line of its own.
        let marker = format!("30.{tag}{:010}", std::process::id());
        let mut command = Command::new("sh");
        command.args(["-c", &format!("sleep {marker} & sleep {marker}")]);
        (command, marker)
    }

    /// Every live (not zombie) process whose command line contains `marker`.
    fn alive_with(marker: &str) -> Vec<u32> {
        let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
        entries
            .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
            .filter(|pid| {
                // A zombie's command line reads empty; a process gone since the listing reads nothing.
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|cmdline| String::from_utf8_lossy(&cmdline).contains(marker))
            })
            .collect()
    }

    /// Polls (a kill is delivered asynchronously) until nothing carries `marker`, for at most two seconds.
    fn all_gone(marker: &str) -> Result<(), Vec<u32>> {
        let deadline = Instant::now() + Duration::from_secs(2);
        loop {
            let alive = alive_with(marker);
            if alive.is_empty() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(alive);
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn the_wall_clock_kills_the_process_group() {
        let (command, marker) = family(1);
        let finished = run_bounded(command, None, Duration::from_millis(200), 1024, &Cancel::default()).unwrap();
        assert!(finished.timed_out());
        assert!(finished.elapsed < Duration::from_secs(5), "{:?}", finished.elapsed);
        assert_eq!(all_gone(&marker), Ok(()), "the child and the grandchild it left in the background are gone");
    }

    #[test]
    fn cancelling_kills_the_process_group_before_the_wall_clock() {
        let (command, marker) = family(2);
        let cancel = Cancel::default();
        let raiser = cancel.clone();
        let raised = thread::spawn(move || {
            thread::sleep(Duration::from_millis(100));
            raiser.cancel();
        });
        let finished = run_bounded(command, None, Duration::from_secs(60), 1024, &cancel).unwrap();
        raised.join().unwrap();
        assert!(finished.timed_out(), "stopped, not exited");
        assert!(finished.elapsed < Duration::from_secs(30), "the cancel, not the wall clock, stopped it");
        assert_eq!(all_gone(&marker), Ok(()), "the child and the grandchild it left in the background are gone");
    }

    #[test]
    fn stdin_reaches_the_command() {
        let mut command = Command::new("cat");
        command.arg("-");
        let finished =
            run_bounded(command, Some(b"plan".to_vec()), Duration::from_secs(10), 1024, &Cancel::default()).unwrap();
        assert_eq!(finished.stdout, b"plan");
        assert!(finished.status.is_some_and(|s| s.success()));
    }
}
