//! From traced system calls to the distinct acts a report lists: connections, lookups, programs, writes and
//! reads, with what every program does anyway (the loader, the C library, the launch chain) left out.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Component, Path, PathBuf};

use assay_report::observed::{ACTS_SHOWN, ActKind, ObservedAct};
use serde::{Deserialize, Serialize};

use super::dns::query_name;
use super::trace::{Call, Returned, array, descriptor, fields, parse_int, string};

/// What counts as an act in one traced run, with paths as the traced processes see them.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// The program the launch chain (`setpriv`, `prlimit`) ends in: the first process's acts before it runs
    /// are Assay's, not the asset's.
    pub program: String,
    /// The first process's working directory: relative paths resolve against it.
    pub cwd: String,
    /// Whether reads are acts (the service's are; a build reads sources and libraries everywhere).
    pub reads: bool,
    /// Paths (and everything below) whose reads are not acts.
    pub quiet_reads: Vec<String>,
    /// Paths (and everything below) whose writes are not acts.
    pub quiet_writes: Vec<String>,
    /// Paths (and everything below) whose execution is not an act; each may also be a bare program name
    /// matched anywhere under `/usr` (`cc`, `ld.*`: a trailing `*` matches any rest).
    pub quiet_programs: Vec<String>,
    /// Loopback ports that are the service's own (it may talk to itself).
    pub own_ports: Vec<u16>,
}

/// Files every dynamically linked program, the C library's resolver and the Rust runtime read: not acts.
pub const SYSTEM_READS: &[&str] = &[
    "/etc/ld.so.cache",
    "/etc/ld.so.preload",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/resolv.conf",
    "/etc/hosts",
    "/etc/host.conf",
    "/etc/nsswitch.conf",
    "/etc/gai.conf",
    "/etc/services",
    "/etc/protocols",
    "/lib",
    "/lib32",
    "/lib64",
    "/usr/lib",
    "/usr/lib32",
    "/usr/lib64",
    "/usr/share/locale",
    "/usr/share/zoneinfo",
    "/proc/self",
    "/proc/thread-self",
    "/proc/sys",
    "/proc/meminfo",
    "/proc/cpuinfo",
    "/proc/stat",
    "/proc/filesystems",
    "/sys/fs/cgroup",
    "/sys/devices/system/cpu",
    "/sys/kernel/mm/transparent_hugepage",
    "/dev/null",
    "/dev/zero",
    "/dev/urandom",
    "/dev/random",
    "/dev/tty",
];

/// Devices any program may write: not acts.
/// (`/dev/fd/N` and its kin reopen a descriptor the process already holds: no new file.)
pub const SYSTEM_WRITES: &[&str] =
    &["/dev/null", "/dev/zero", "/dev/full", "/dev/tty", "/dev/fd", "/dev/stdout", "/dev/stderr", "/proc/self/fd"];

/// The C library's name-service cache socket, which it tries before every lookup.
const NSCD_SOCKETS: [&str; 2] = ["/var/run/nscd/socket", "/run/nscd/socket"];

/// Bytes of an argument or path kept for the report.
const TEXT_LIMIT: usize = 256;
/// Arguments of a program kept for the report.
const ARGS_LIMIT: usize = 8;

/// The distinct acts of a traced run, as they are collected.
#[derive(Debug, Default)]
pub struct Collector {
    scope: Scope,
    /// The first process, and whether its chain reached the program.
    root: Option<(u32, bool)>,
    acts: BTreeMap<(ActKind, String), ObservedAct>,
    omitted: HashSet<(ActKind, String)>,
    /// Where each (pid, fd) is connected to, for datagrams sent without an address.
    connected: HashMap<(u32, String), Endpoint>,
    /// Resolver sockets that carried a query (their connect is the lookup's, not an act of its own).
    resolver_used: HashSet<(u32, String)>,
    /// Resolver connections seen, to report when no query followed.
    resolver_connects: Vec<((u32, String), Endpoint, Returned)>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Endpoint {
    Ip(IpAddr, u16),
    Unix(String),
}

impl Endpoint {
    fn target(&self) -> String {
        match self {
            Endpoint::Ip(IpAddr::V6(ip), port) => format!("[{ip}]:{port}"),
            Endpoint::Ip(ip, port) => format!("{ip}:{port}"),
            Endpoint::Unix(path) => format!("unix:{path}"),
        }
    }

    fn is_resolver(&self) -> bool {
        matches!(self, Endpoint::Ip(_, 53))
    }
}

impl Collector {
    /// A collector of acts within `scope`.
    pub fn new(scope: Scope) -> Self {
        Self { scope, ..Self::default() }
    }

    /// Takes one call into account.
    pub fn add(&mut self, call: &Call<'_>) {
        let (root, started) = *self.root.get_or_insert((call.pid, false));
        if call.pid == root && !started {
            // The launch chain: setpriv and prlimit, until they exec the program.
            if matches!(call.name, "execve" | "execveat")
                && call.result == Returned::Value(0)
                && self.exec_path(call).as_deref() == Some(self.scope.program.as_str())
            {
                self.root = Some((root, true));
            }
            return;
        }
        match call.name {
            "execve" => self.exec(call, 0),
            "execveat" => self.exec(call, 1),
            "open" | "creat" => self.open(call, None, 0),
            "openat" | "openat2" => self.open(call, Some(0), 1),
            "mkdir" | "rmdir" | "unlink" | "truncate" => self.write_path(call, None, 0),
            "mkdirat" | "unlinkat" => self.write_path(call, Some(0), 1),
            "rename" | "link" => {
                self.write_path(call, None, 0);
                self.write_path(call, None, 1);
            }
            "renameat" | "renameat2" | "linkat" => {
                self.write_path(call, Some(0), 1);
                self.write_path(call, Some(2), 3);
            }
            "symlink" => self.write_path(call, None, 1),
            "symlinkat" => self.write_path(call, Some(1), 2),
            "connect" => self.connect(call),
            "sendto" | "sendmsg" | "sendmmsg" => self.send(call),
            _ => {}
        }
    }

    /// The distinct acts, sorted, at most [`ACTS_SHOWN`] of each kind, and how many were left out.
    pub fn finish(mut self) -> (Vec<ObservedAct>, u64) {
        for (key, endpoint, result) in std::mem::take(&mut self.resolver_connects) {
            if !self.resolver_used.contains(&key) {
                self.record(ActKind::Network, endpoint.target(), Vec::new(), &result);
            }
        }
        (self.acts.into_values().collect(), self.omitted.len() as u64)
    }

    fn record(&mut self, kind: ActKind, target: String, args: Vec<String>, result: &Returned) {
        let key = (kind, target);
        if let Some(act) = self.acts.get_mut(&key) {
            act.times += 1;
            return;
        }
        if self.acts.keys().filter(|(k, _)| *k == kind).count() >= ACTS_SHOWN {
            self.omitted.insert(key);
            return;
        }
        let act =
            ObservedAct { kind, target: key.1.clone(), args, result: result.describe(), times: 1, declared: false };
        self.acts.insert(key, act);
    }

    fn exec_path(&self, call: &Call<'_>) -> Option<String> {
        let index = usize::from(call.name == "execveat");
        let path = string(call.args.get(index)?)?;
        let dirfd = (index == 1).then(|| call.args[0]);
        Some(self.resolve(dirfd, &path).display().to_string())
    }

    fn exec(&mut self, call: &Call<'_>, path_index: usize) {
        // A program not found (a PATH search trying each directory in turn) ran nothing.
        if call.result == Returned::Error("ENOENT".to_owned()) {
            return;
        }
        let Some(path) = call.args.get(path_index).and_then(|raw| string(raw)) else { return };
        let dirfd = (path_index == 1).then(|| call.args[0]);
        let program = self.resolve(dirfd, &path);
        if self.quiet_program(&program) {
            return;
        }
        let args = call
            .args
            .get(path_index + 1)
            .and_then(|raw| array(raw))
            .unwrap_or_default()
            .into_iter()
            .skip(1)
            .take(ARGS_LIMIT)
            .filter_map(|raw| string(raw).map(|bytes| text(&bytes)))
            .collect();
        self.record(ActKind::Process, program.display().to_string(), args, &call.result);
    }

    fn open(&mut self, call: &Call<'_>, dirfd: Option<usize>, path_index: usize) {
        let Some(path) = call.args.get(path_index).and_then(|raw| string(raw)) else { return };
        let flags = match call.name {
            "creat" => Some(0o1101), // O_WRONLY | O_CREAT | O_TRUNC
            "openat2" => {
                call.args.get(2).and_then(|how| fields(how, "flags").first().and_then(|flags| parse_int(flags)))
            }
            _ => call.args.get(path_index + 1).and_then(|flags| parse_int(flags)),
        };
        // O_WRONLY, O_RDWR, O_CREAT, O_TRUNC: the open can change the file.
        let writes = flags.is_none_or(|flags| flags & 0o3 != 0 || flags & 0o1100 != 0);
        let resolved = self.resolve(dirfd.and_then(|index| call.args.get(index).copied()), &path);
        self.file(writes, resolved, &call.result);
    }

    fn write_path(&mut self, call: &Call<'_>, dirfd: Option<usize>, path_index: usize) {
        let Some(path) = call.args.get(path_index).and_then(|raw| string(raw)) else { return };
        let resolved = self.resolve(dirfd.and_then(|index| call.args.get(index).copied()), &path);
        self.file(true, resolved, &call.result);
    }

    fn file(&mut self, writes: bool, path: PathBuf, result: &Returned) {
        let (kind, quiet) = if writes {
            (ActKind::Write, &self.scope.quiet_writes)
        } else {
            if !self.scope.reads {
                return;
            }
            (ActKind::Read, &self.scope.quiet_reads)
        };
        if quiet.iter().any(|prefix| path.starts_with(prefix)) {
            return;
        }
        self.record(kind, path.display().to_string(), Vec::new(), result);
    }

    fn connect(&mut self, call: &Call<'_>) {
        let Some(endpoint) = call.args.get(1).and_then(|raw| endpoint(raw)) else { return };
        let key = (call.pid, socket(call));
        self.connected.insert(key.clone(), endpoint.clone());
        if endpoint.is_resolver() {
            self.resolver_connects.push((key, endpoint, call.result.clone()));
        } else if !self.own(&endpoint) {
            self.record(ActKind::Network, endpoint.target(), Vec::new(), &call.result);
        }
    }

    fn send(&mut self, call: &Call<'_>) {
        let key = (call.pid, socket(call));
        let rest = call.args.get(1..).unwrap_or_default();
        let explicit = rest.iter().find_map(|raw| endpoint(raw));
        let payloads: Vec<Vec<u8>> = match call.name {
            "sendto" => rest.first().and_then(|raw| string(raw)).into_iter().collect(),
            _ => rest.iter().flat_map(|raw| fields(raw, "iov_base")).filter_map(string).collect(),
        };
        let names: Vec<String> = payloads.iter().filter_map(|payload| query_name(payload)).collect();
        let has_explicit = explicit.is_some();
        let destination = explicit.or_else(|| self.connected.get(&key).cloned());
        if !names.is_empty() && destination.as_ref().is_none_or(Endpoint::is_resolver) {
            self.resolver_used.insert(key);
            for name in names {
                self.record(ActKind::Lookup, name, Vec::new(), &call.result);
            }
            return;
        }
        match destination {
            // Not a query, on a socket connected to port 53: the resolver connection was something else.
            Some(endpoint) if !has_explicit && endpoint.is_resolver() => {
                self.resolver_used.insert(key);
                self.record(ActKind::Network, endpoint.target(), Vec::new(), &call.result);
            }
            // A datagram on a connected socket: its connect was recorded already.
            Some(_) if !has_explicit => {}
            Some(endpoint) if !self.own(&endpoint) => {
                self.record(ActKind::Network, endpoint.target(), Vec::new(), &call.result)
            }
            _ => {}
        }
    }

    fn own(&self, endpoint: &Endpoint) -> bool {
        match endpoint {
            Endpoint::Ip(ip, port) => ip.is_loopback() && self.scope.own_ports.contains(port),
            Endpoint::Unix(path) => NSCD_SOCKETS.contains(&path.as_str()),
        }
    }

    fn quiet_program(&self, program: &Path) -> bool {
        let name = program.file_name().and_then(|name| name.to_str()).unwrap_or_default();
        self.scope.quiet_programs.iter().any(|quiet| {
            if quiet.starts_with('/') {
                program.starts_with(quiet)
            } else if let Some(stem) = quiet.strip_suffix('*') {
                program.starts_with("/usr") && name.starts_with(stem)
            } else {
                program.starts_with("/usr") && name == quiet
            }
        })
    }

    /// `path` made absolute: against the directory strace named for its descriptor (`-y`; for `AT_FDCWD`, the
    /// process's working directory at the call), else the launch's working directory for `AT_FDCWD` or no
    /// descriptor, else marked as relative to a descriptor Assay cannot name (outside every quiet prefix).
    fn resolve(&self, dirfd: Option<&str>, path: &[u8]) -> PathBuf {
        let path = PathBuf::from(text(path));
        if path.is_absolute() {
            return normalise(&path);
        }
        match dirfd.and_then(descriptor) {
            Some((_, Some(directory))) => normalise(&PathBuf::from(text(&directory)).join(path)),
            None | Some((-100, None)) => normalise(&Path::new(&self.scope.cwd).join(path)),
            Some((fd, None)) => Path::new(&format!("<fd {fd}>")).join(path),
        }
    }
}

/// The socket descriptor's number (its `-y` decoration changes once it is connected).
fn socket(call: &Call<'_>) -> String {
    let raw = call.args.first().copied().unwrap_or_default();
    raw.split('<').next().unwrap_or_default().trim().to_owned()
}

/// The address in a `sockaddr` argument (`{sa_family=0x2, sin_port="\x01\xbb", sin_addr="\x0a\x01\x02\x03"}`).
fn endpoint(raw: &str) -> Option<Endpoint> {
    let family = fields(raw, "sa_family").first().and_then(|family| parse_int(family))?;
    let bytes = |name: &str| fields(raw, name).first().and_then(|value| string(value));
    let port = |name: &str| bytes(name).filter(|b| b.len() == 2).map(|b| u16::from_be_bytes([b[0], b[1]]));
    match family {
        2 => {
            let address = bytes("sin_addr").filter(|b| b.len() == 4)?;
            let ip = Ipv4Addr::new(address[0], address[1], address[2], address[3]);
            Some(Endpoint::Ip(IpAddr::V4(ip), port("sin_port")?))
        }
        10 => {
            let address: [u8; 16] = bytes("sin6_addr")?.try_into().ok()?;
            Some(Endpoint::Ip(IpAddr::V6(Ipv6Addr::from(address)), port("sin6_port")?))
        }
        1 => {
            let path = bytes("sun_path")?;
            // An abstract socket's name starts with a NUL byte.
            let shown = match path.split_first() {
                Some((0, name)) => format!("@{}", text(name)),
                _ => text(&path),
            };
            Some(Endpoint::Unix(shown))
        }
        _ => None,
    }
}

/// Untrusted bytes as report text: lossy UTF-8, control characters escaped, at most [`TEXT_LIMIT`] bytes.
fn text(bytes: &[u8]) -> String {
    let bytes = &bytes[..bytes.len().min(TEXT_LIMIT)];
    String::from_utf8_lossy(bytes)
        .chars()
        .flat_map(|c| if c.is_control() { c.escape_default().collect() } else { vec![c] })
        .collect()
}

/// `..` and `.` resolved by the path's text alone (the files are not looked at: they are the sandbox's).
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(part) => out.push(part),
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::trace::parse_line;
    use super::*;

    fn scope() -> Scope {
        Scope {
            program: "/scratch/target/release/svc".to_owned(),
            cwd: "/scratch/asset".to_owned(),
            reads: true,
            quiet_reads: SYSTEM_READS.iter().map(|p| p.to_string()).chain(["/scratch".to_owned()]).collect(),
            quiet_writes: SYSTEM_WRITES.iter().map(|p| p.to_string()).chain(["/scratch/target".to_owned()]).collect(),
            quiet_programs: Vec::new(),
            own_ports: vec![18080],
        }
    }

    fn hex(text: &str) -> String {
        format!("\"{}\"", text.bytes().map(|b| format!("\\x{b:02x}")).collect::<String>())
    }

    fn collect(lines: &[String]) -> Vec<(ActKind, String, String)> {
        let mut collector = Collector::new(scope());
        for line in lines {
            if let Some(call) = parse_line(line) {
                collector.add(&call);
            }
        }
        collector.finish().0.into_iter().map(|act| (act.kind, act.target, act.result)).collect()
    }

    fn launch() -> Vec<String> {
        vec![
            format!("7 execve({}, [{}], 0x1 /* 2 vars */) = 0", hex("/usr/bin/setpriv"), hex("setpriv")),
            format!("7 openat(-100, {}, 0x80000) = -1 ENOENT (No such file)", hex("/etc/passwd")),
            format!("7 execve({}, [{}], 0x1 /* 2 vars */) = 0", hex("/scratch/target/release/svc"), hex("svc")),
        ]
    }

    #[test]
    fn the_launch_chain_and_system_files_are_not_acts() {
        let mut lines = launch();
        lines.push(format!("7 openat(-100, {}, 0x80000) = 3", hex("/etc/ld.so.cache")));
        lines.push(format!("7 openat(-100, {}, 0x80000) = 3", hex("config.toml")));
        lines.push(format!("7 openat(-100, {}, 0x241, 0666) = 3", hex("/dev/null")));
        assert_eq!(collect(&lines), vec![]);
    }

    #[test]
    fn a_dial_a_shell_a_write_and_a_lookup_are_each_one_act() {
        let mut lines = launch();
        let addr = r#"{sa_family=0x2, sin_port="\x01\xbb", sin_addr="\x0a\x01\x02\x03"}"#;
        lines.push(format!("7 connect(3, {addr}, 16) = -1 ENETUNREACH (Network is unreachable)"));
        lines.push(format!("7 connect(4, {addr}, 16) = -1 ENETUNREACH (Network is unreachable)"));
        lines.push(format!("8 execve({}, [{}, {}, {}], 0x1) = 0", hex("/bin/sh"), hex("sh"), hex("-c"), hex("id")));
        lines.push(format!("8 execve({}, [{}], 0x1) = -1 ENOENT (No such file)", hex("/usr/local/bin/x"), hex("x")));
        lines.push(format!("7 openat(-100, {}, 0x241, 0666) = -1 ENOENT (No such)", hex("../../etc/cron.d/x")));
        lines.push(format!("7 openat(-100, {}, 0x80000) = -1 ENOENT (No such)", hex("/root/.ssh/id_rsa")));
        let resolver = r#"{sa_family=0x2, sin_port="\x00\x35", sin_addr="\x7f\x00\x00\x01"}"#;
        let query = "\\xca\\xd0\\x01\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x03\\x61\\x70\\x69\\x01\\x78\\x00\\x00\\x01\\x00\\x01";
        lines.push(format!("7 connect(5, {resolver}, 16) = 0"));
        lines.push(format!("7 sendto(5, \"{query}\", 23, 0x4000, NULL, 0) = 23"));
        let own = r#"{sa_family=0x2, sin_port="\x46\xa0", sin_addr="\x7f\x00\x00\x01"}"#;
        lines.push(format!("7 connect(6, {own}, 16) = 0"));
        let acts = collect(&lines);
        assert_eq!(
            acts,
            vec![
                (ActKind::Network, "10.1.2.3:443".to_owned(), "ENETUNREACH".to_owned()),
                (ActKind::Lookup, "api.x".to_owned(), "ok".to_owned()),
                (ActKind::Process, "/bin/sh".to_owned(), "ok".to_owned()),
                (ActKind::Write, "/etc/cron.d/x".to_owned(), "ENOENT".to_owned()),
                (ActKind::Read, "/root/.ssh/id_rsa".to_owned(), "ENOENT".to_owned()),
            ]
        );
    }

    #[test]
    fn a_resolver_connection_without_a_query_is_a_connection() {
        let mut lines = launch();
        let resolver = r#"{sa_family=0x2, sin_port="\x00\x35", sin_addr="\x08\x08\x08\x08"}"#;
        lines.push(format!("7 connect(5, {resolver}, 16) = 0"));
        lines.push(format!("7 sendto(5, {}, 5, 0, NULL, 0) = 5", hex("hello")));
        assert_eq!(collect(&lines), vec![(ActKind::Network, "8.8.8.8:53".to_owned(), "ok".to_owned())]);
    }

    #[test]
    fn relative_paths_resolve_against_the_directory_strace_names() {
        let mut lines = launch();
        let target = hex("/scratch/target/deps").replace('"', "");
        lines.push(format!("7 openat(5<{target}>, {}, 0x241, 0644) = 3<{target}>", hex("full.rmeta")));
        let etc = hex("/etc").replace('"', "");
        lines.push(format!("7 openat(-100<{etc}>, {}, 0x80000) = 3", hex("shadow")));
        lines.push(format!("7 openat(9, {}, 0x80000) = 3", hex("x")));
        let acts: Vec<String> = collect(&lines).into_iter().map(|(_, target, _)| target).collect();
        assert_eq!(acts, ["/etc/shadow", "<fd 9>/x"]);
    }

    #[test]
    fn paths_are_normalised_by_their_text() {
        assert_eq!(normalise(Path::new("/scratch/asset/../../etc/./passwd")), Path::new("/etc/passwd"));
        assert_eq!(normalise(Path::new("/../../x")), Path::new("/x"));
    }
}
