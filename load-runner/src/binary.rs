//! The binary that was measured: its sha256 (read from the build's target directory without following a
//! link the build may have planted), size and the toolchain that built it — what the signed VSA attests as
//! its second subject, so a marketplace deploys exactly what was load-tested.

use std::fs::File;
use std::io::{self, Read};
use std::path::Path;
use std::process::Command;

use assay_report::load::BuiltBinary;
use rustix::fs::{Mode, OFlags};
use sha2::{Digest, Sha256};

/// Binaries larger than this are not hashed (a service binary is megabytes, not gigabytes).
const MAX_BINARY_BYTES: u64 = 1 << 31;

/// The toolchain the sandboxed builds use, as `rustc -vV` describes it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Toolchain {
    /// `release: …` (with the commit, from the first line).
    pub release: Option<String>,
    /// `host: …`, the target triple builds produce.
    pub host: Option<String>,
}

impl Toolchain {
    /// Asks the operator's `rustc` (from `/`, so no toolchain file of a submission can choose it).
    pub fn probe() -> Self {
        let Ok(output) = Command::new("rustc").arg("-vV").current_dir("/").env_remove("RUSTUP_TOOLCHAIN").output()
        else {
            return Self::default();
        };
        let text = String::from_utf8_lossy(&output.stdout);
        let field = |name: &str| text.lines().find_map(|line| Some(line.strip_prefix(name)?.trim().to_owned()));
        let first = text.lines().next().and_then(|line| line.strip_prefix("rustc ")).map(str::to_owned);
        Self { release: first.or_else(|| field("release:")), host: field("host:") }
    }
}

/// The measured binary `bin` at `path` (host path in the build's target directory), or why it cannot be read.
pub fn describe(path: &Path, bin: &str, toolchain: &Toolchain) -> io::Result<BuiltBinary> {
    // The build ran untrusted code with write access to the target directory: never follow a link there, and
    // never wait on a FIFO planted there (a blocking open would hang the worker until a writer came).
    let flags = OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::CLOEXEC;
    let fd = rustix::fs::open(path, flags, Mode::empty())?;
    let mut file = File::from(fd);
    let metadata = file.metadata()?;
    if !metadata.is_file() || metadata.len() > MAX_BINARY_BYTES {
        return Err(io::Error::other(format!("{} is not a regular file of at most 2 GiB", path.display())));
    }
    let mut hasher = Sha256::new();
    let mut buffer = vec![0u8; 1 << 16];
    loop {
        let read = file.read(&mut buffer)?;
        if read == 0 {
            break;
        }
        hasher.update(&buffer[..read]);
    }
    let sha256 = assay_report::digest::hex(&hasher.finalize());
    Ok(BuiltBinary {
        name: format!("bin/{bin}"),
        sha256,
        size: metadata.len(),
        toolchain: toolchain.release.clone(),
        profile: "release".to_owned(),
        target: toolchain.host.clone(),
        reproducible: None,
        rebuilt_sha256: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_is_hashed_and_a_planted_link_is_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|err| panic!("{err}"));
        let binary = dir.path().join("svc");
        std::fs::write(&binary, b"abc").unwrap_or_else(|err| panic!("{err}"));
        let described = describe(&binary, "svc", &Toolchain::default()).unwrap_or_else(|err| panic!("{err}"));
        assert_eq!(described.sha256, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!((described.name.as_str(), described.size), ("bin/svc", 3));
        let link = dir.path().join("link");
        std::os::unix::fs::symlink("/etc/passwd", &link).unwrap_or_else(|err| panic!("{err}"));
        assert!(describe(&link, "svc", &Toolchain::default()).is_err());
        let fifo = dir.path().join("fifo");
        rustix::fs::mknodat(rustix::fs::CWD, &fifo, rustix::fs::FileType::Fifo, Mode::RUSR | Mode::WUSR, 0)
            .unwrap_or_else(|err| panic!("{err}"));
        assert!(describe(&fifo, "svc", &Toolchain::default()).is_err(), "a FIFO is refused without waiting");
    }

    #[test]
    fn the_toolchain_names_its_release_and_target() {
        let toolchain = Toolchain::probe();
        assert!(toolchain.release.as_deref().is_some_and(|release| release.starts_with('1')), "{toolchain:?}");
        assert!(toolchain.host.as_deref().is_some_and(|host| host.contains('-')), "{toolchain:?}");
    }
}
