//! The service under test, supervised from inside the sandbox: started with its limits, polled until ready,
//! sampled from `/proc` while it runs, stopped, and accounted for.

use std::collections::HashMap;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use assay_load_runner::plan::{ServiceExit, ServiceLaunch};
use assay_load_runner::proc_status::memory_kib;
use assay_load_runner::sandbox::bounded::{keep_tail, kill_group, tail_lines};
use assay_report::load::{MEMORY_PROCESSES_SHOWN, MemoryAccounting, ProcessPeak, ServiceUsage};

use crate::recorder::Recorder;

/// How often `/proc` is sampled and the service's liveness checked.
const SAMPLE_EVERY: Duration = Duration::from_millis(50);
/// Bytes of output kept for the log tail.
const LOG_TAIL: u64 = 16 * 1024;

/// Peaks seen so far, written by the sampler.
#[derive(Default)]
struct Peaks {
    /// The largest sum of `VmRSS` over the service's processes at one sample.
    rss: AtomicU64,
    vm: AtomicU64,
    tasks: AtomicU64,
    processes: AtomicU64,
    /// Each process's own `VmHWM` (and command name), by pid.
    own: Mutex<HashMap<u32, (String, u64)>>,
}

/// A running service.
pub struct Service {
    child: Arc<Mutex<Child>>,
    started: Instant,
    ready: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    peaks: Arc<Peaks>,
    exit: Arc<Mutex<Option<ServiceExit>>>,
    sampler: Option<JoinHandle<()>>,
    output: Vec<JoinHandle<(Vec<u8>, u64)>>,
    port: u16,
}

/// What the service used and how it ended.
pub struct Accounting {
    /// Usage for the report.
    pub usage: ServiceUsage,
    /// How it ended on its own, if it did.
    pub exit: Option<ServiceExit>,
    /// Most virtual memory mapped.
    pub peak_vm: Option<u64>,
    /// Bytes it wrote.
    pub output_bytes: u64,
}

impl Service {
    /// Starts the service through its privilege-dropping, limit-setting prefix, in its own process group.
    pub fn start(launch: &ServiceLaunch, recorder: Arc<Recorder>) -> io::Result<Self> {
        let mut words = launch.prefix.iter().map(String::as_str).chain([launch.program.as_str()]);
        let program = words.next().unwrap_or_default();
        let mut command = Command::new(program);
        command
            .args(words)
            .args(&launch.args)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .envs(launch.env.iter().map(|(key, value)| (key, value)))
            .env(&launch.port_env, launch.port.to_string())
            .current_dir(&launch.cwd)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = command.spawn()?;
        let started = Instant::now();
        let pid = child.id();
        let output = [
            child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
            child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        .map(|pipe| thread::spawn(move || keep_tail(pipe, LOG_TAIL)))
        .collect();
        let child = Arc::new(Mutex::new(child));
        let ready = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let peaks = Arc::new(Peaks::default());
        let exit = Arc::new(Mutex::new(None));
        let sampler = {
            let (child, ready, stop, peaks, exit) =
                (child.clone(), ready.clone(), stop.clone(), peaks.clone(), exit.clone());
            thread::spawn(move || sample(pid, &child, &ready, &stop, &peaks, &exit, &recorder))
        };
        Ok(Self { child, started, ready, stop, peaks, exit, sampler: Some(sampler), output, port: launch.port })
    }

    /// Polls `GET path` until it answers 2xx (returns the time since start), the service exits, or `timeout`.
    pub fn wait_ready(&self, path: &str, timeout: Duration) -> Option<Duration> {
        let address = SocketAddr::from(([127, 0, 0, 1], self.port));
        while self.started.elapsed() < timeout {
            if self.exit.lock().map(|exit| exit.is_some()).unwrap_or(true) {
                return None;
            }
            if answers_2xx(address, path) {
                self.ready.store(true, Ordering::SeqCst);
                return Some(self.started.elapsed());
            }
            thread::sleep(Duration::from_millis(25));
        }
        None
    }

    /// Stops the service (SIGKILL to its process group) unless it already ended, and accounts for it.
    pub fn stop(mut self) -> Accounting {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(sampler) = self.sampler.take() {
            let _ = sampler.join();
        }
        if let Ok(mut child) = self.child.lock() {
            kill_group(&mut child);
            let _ = child.wait();
        }
        let mut log = Vec::new();
        let mut output_bytes = 0;
        for reader in self.output.drain(..) {
            if let Ok((kept, total)) = reader.join() {
                log.extend_from_slice(&kept);
                output_bytes += total;
            }
        }
        let non_zero = |value: u64| (value > 0).then_some(value);
        let own = self.peaks.own.lock().map(|own| own.clone()).unwrap_or_default();
        let largest_own = own.values().map(|(_, hwm)| *hwm).max().unwrap_or(0);
        Accounting {
            usage: ServiceUsage {
                peak_rss_bytes: non_zero(self.peaks.rss.load(Ordering::SeqCst).max(largest_own)),
                memory: Some(memory_accounting(&own, self.peaks.processes.load(Ordering::SeqCst))),
                cpu_ms: children_cpu_ms(),
                peak_tasks: self.peaks.tasks.load(Ordering::SeqCst),
                exited: None,
                log_tail: tail_lines(&String::from_utf8_lossy(&log), 20),
            },
            exit: self.exit.lock().ok().and_then(|exit| exit.clone()),
            peak_vm: non_zero(self.peaks.vm.load(Ordering::SeqCst)),
            output_bytes,
        }
    }
}

/// The sampler: records peaks of the service's tree and notices when the service ends on its own.
fn sample(
    pid: u32,
    child: &Mutex<Child>,
    ready: &AtomicBool,
    stop: &AtomicBool,
    peaks: &Peaks,
    exit: &Mutex<Option<ServiceExit>>,
    recorder: &Recorder,
) {
    while !stop.load(Ordering::SeqCst) {
        if let Some((_, vm)) = memory(pid) {
            peaks.vm.fetch_max(vm, Ordering::SeqCst);
        }
        let processes = service_processes(pid);
        peaks.tasks.fetch_max(processes.iter().map(|p| p.threads).sum(), Ordering::SeqCst);
        peaks.rss.fetch_max(processes.iter().map(|p| p.rss).sum(), Ordering::SeqCst);
        peaks.processes.fetch_max(processes.len() as u64, Ordering::SeqCst);
        if let Ok(mut own) = peaks.own.lock() {
            for process in processes {
                let entry = own.entry(process.pid).or_insert_with(|| (process.command.clone(), 0));
                entry.1 = entry.1.max(process.hwm);
            }
        }
        let status = child.lock().ok().and_then(|mut child| child.try_wait().ok().flatten());
        if let Some(status) = status {
            if let Ok(mut exit) = exit.lock() {
                *exit = Some(describe_exit(status, ready.load(Ordering::SeqCst), recorder.issued()));
            }
            return;
        }
        thread::sleep(SAMPLE_EVERY);
    }
}

fn describe_exit(status: ExitStatus, ready: bool, after_requests: u64) -> ServiceExit {
    ServiceExit {
        phase: if ready { "load" } else { "startup" }.to_owned(),
        code: status.code(),
        signal: status.signal(),
        after_requests,
    }
}

/// `VmHWM` and `VmPeak` of `pid`, in bytes.
fn memory(pid: u32) -> Option<(u64, u64)> {
    let process = pid.to_string();
    Some((memory_kib(&process, "VmHWM")? * 1024, memory_kib(&process, "VmPeak")? * 1024))
}

/// What one sample saw of one process of the service.
struct ProcessSample {
    pid: u32,
    command: String,
    threads: u64,
    /// `VmRSS` now, bytes.
    rss: u64,
    /// `VmHWM` so far, bytes.
    hwm: u64,
}

/// How the memory was counted, for the report.
fn memory_accounting(own: &HashMap<u32, (String, u64)>, peak_processes: u64) -> MemoryAccounting {
    let mut largest: Vec<ProcessPeak> = own
        .iter()
        .map(|(pid, (command, hwm))| ProcessPeak { pid: *pid, command: command.clone(), peak_rss_bytes: *hwm })
        .collect();
    largest.sort_by(|a, b| b.peak_rss_bytes.cmp(&a.peak_rss_bytes).then(a.pid.cmp(&b.pid)));
    largest.truncate(MEMORY_PROCESSES_SHOWN);
    let interval = u64::try_from(SAMPLE_EVERY.as_millis()).unwrap_or(u64::MAX);
    MemoryAccounting {
        sample_interval_ms: interval,
        peak_processes,
        processes_seen: own.len() as u64,
        largest,
        note: format!(
            "peak memory is the largest sum of resident memory over every process of the service, sampled every \
             {interval} ms (a spike shorter than that between samples can be missed; each process's own peak is \
             exact); the sandbox's address-space limit applies to each process on its own, not to their sum \
             (no cgroups here), so only the max-rss budget bounds the total"
        ),
    }
}

/// The service's processes: every process of its uid when it runs as a uid of its own (a double fork cannot
/// hide a process from that count, nor from the kernel's limit), else the tree rooted at `root`.
fn service_processes(root: u32) -> Vec<ProcessSample> {
    let Ok(entries) = std::fs::read_dir("/proc") else { return Vec::new() };
    let uid_of = |status: &str| {
        status.lines().find_map(|line| line.strip_prefix("Uid:")?.split_whitespace().next()?.parse::<u32>().ok())
    };
    let service_uid = std::fs::read_to_string(format!("/proc/{root}/status")).ok().and_then(|s| uid_of(&s));
    let own_uid = Some(rustix::process::getuid().as_raw());
    let by_uid = service_uid.filter(|uid| Some(*uid) != own_uid);
    let mut parents: HashMap<u32, u32> = HashMap::new();
    let mut samples: Vec<(ProcessSample, bool)> = Vec::new();
    for entry in entries.flatten() {
        let Some(pid) = entry.file_name().to_str().and_then(|name| name.parse::<u32>().ok()) else { continue };
        let Ok(status) = std::fs::read_to_string(entry.path().join("status")) else { continue };
        let field = |name: &str| status.lines().find_map(|line| line.strip_prefix(name)?.trim().parse::<u64>().ok());
        let kib = |name: &str| {
            status
                .lines()
                .find_map(|line| line.strip_prefix(name)?.trim().strip_suffix("kB")?.trim().parse::<u64>().ok())
        };
        if let (Some(ppid), Some(threads)) = (field("PPid:"), field("Threads:")) {
            parents.insert(pid, u32::try_from(ppid).unwrap_or(0));
            let command = status.lines().find_map(|line| line.strip_prefix("Name:")).unwrap_or_default().trim();
            let sample = ProcessSample {
                pid,
                command: command.to_owned(),
                threads,
                rss: kib("VmRSS:").unwrap_or(0) * 1024,
                hwm: kib("VmHWM:").unwrap_or(0) * 1024,
            };
            samples.push((sample, by_uid.is_some() && uid_of(&status) == by_uid));
        }
    }
    let in_tree = |pid: u32| {
        let mut current = pid;
        for _ in 0..64 {
            if current == root {
                return true;
            }
            match parents.get(&current) {
                Some(&parent) if parent != 0 => current = parent,
                _ => return false,
            }
        }
        false
    };
    samples
        .into_iter()
        .filter(|(sample, same_uid)| if by_uid.is_some() { *same_uid } else { in_tree(sample.pid) })
        .map(|(sample, _)| sample)
        .collect()
}

/// CPU time of waited-for children (the kernel's rusage, as `/proc/self/stat` fields 16 and 17), in ms.
fn children_cpu_ms() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name, which may itself contain spaces.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: u64 = fields.get(13)?.parse::<u64>().ok()? + fields.get(14)?.parse::<u64>().ok()?;
    Some(ticks * 1000 / rustix::param::clock_ticks_per_second().max(1))
}

/// Whether `GET path` on `address` answers with a 2xx status line.
fn answers_2xx(address: SocketAddr, path: &str) -> bool {
    exchange(address, "GET", path, &[], None)
}

/// Sends one HTTP/1.1 request on a fresh connection; whether the answer's status is 2xx.
pub fn exchange(address: SocketAddr, method: &str, path: &str, headers: &[(&str, &str)], body: Option<&str>) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&address, Duration::from_millis(500)) else { return false };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(1)));
    let _ = stream.set_write_timeout(Some(Duration::from_secs(1)));
    let mut request =
        format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n", address.port());
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    let body = body.unwrap_or_default();
    if !body.is_empty() {
        request.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    request.push_str("\r\n");
    request.push_str(body);
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    let mut read = 0;
    while read < head.len() {
        match stream.read(&mut head[read..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => read += n,
        }
    }
    read == head.len() && head.starts_with(b"HTTP/1.") && head[9] == b'2'
}
