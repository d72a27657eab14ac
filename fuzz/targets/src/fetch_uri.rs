//! `archive.uri` as a submission message gives it, fetched under a worker's policy: `file://` confined to the
//! archive root, any other scheme refused. http(s) URIs are left out: they would leave the machine.
//!
//! Input: one mode byte, then the URI, in which `{root}` stands for the archive root and `{dir}` for the folder
//! around it (the fuzzer cannot guess a temporary path). Beside the root lies `secret`; inside it `inside.crate`
//! and `link`, a symbolic link to `secret`. Properties: with mode even, the message promises the secret's digest,
//! and no URI may fetch it; with mode odd, it promises `inside.crate`'s, and whatever is fetched is that file.

use std::fs;
use std::time::Duration;

use assay_scanner::worker::FetchPolicy;
use assay_scanner::worker::fetch;
use assay_scanner::worker::message::Archive;
use sha2::{Digest, Sha256};

const SECRET: &[u8] = b"signing key";
const INSIDE: &[u8] = b"an archive!";

pub fn run(data: &[u8]) {
    let Some((&mode, body)) = data.split_first() else { return };
    let Ok(template) = std::str::from_utf8(body) else { return };
    let dir = crate::workdir();
    let root = dir.path().join("root");
    fs::create_dir(&root).expect("the harness makes the archive root");
    fs::write(dir.path().join("secret"), SECRET).expect("the harness writes the secret");
    fs::write(root.join("inside.crate"), INSIDE).expect("the harness writes the archive");
    std::os::unix::fs::symlink(dir.path().join("secret"), root.join("link")).expect("the harness links");
    let root = root.canonicalize().expect("the root exists");
    let uri = template.replace("{root}", &root.to_string_lossy()).replace("{dir}", &dir.path().to_string_lossy());
    if let Ok(url) = url::Url::parse(&uri)
        && matches!(url.scheme(), "http" | "https")
    {
        return;
    }
    let promised = if mode % 2 == 0 { SECRET } else { INSIDE };
    let archive = Archive {
        uri,
        sha256: Sha256::digest(promised).iter().map(|b| format!("{b:02x}")).collect(),
        size: promised.len() as u64,
    };
    let policy = FetchPolicy {
        max_bytes: 1024,
        timeout: Duration::from_secs(1),
        archive_root: Some(root),
        allow_private: false,
    };
    let scratch = dir.path().join("scratch");
    fs::create_dir(&scratch).expect("the harness makes the scratch directory");
    if let Ok(fetched) = fetch(&archive, &scratch, &policy) {
        assert!(mode % 2 == 1, "`{}` fetched a file outside the archive root", archive.uri);
        assert_eq!(fs::read(&fetched.path).expect("the fetched copy is readable"), INSIDE);
    }
}
