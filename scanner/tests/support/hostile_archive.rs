//! Archives made at test time: a clean minimal crate, and each way an archive can attack the gate.
//!
//! Headers are written raw (name bytes straight into the header) because `tar::Builder` refuses to
//! produce the malicious paths these tests need.

use std::io::{self, Read, Write};
use std::path::Path;

use flate2::Compression;
use flate2::write::GzEncoder;
use tar::{EntryType, Header};

/// Top folder of the minimal crate.
pub const TOP: &str = "demo-0.1.0";

const MANIFEST: &str = r#"[package]
name = "demo"
version = "0.1.0"
edition = "2021"
license = "MIT"

[package.metadata.marketplace]
kind = "component"
publisher = "tests"
summary = "Minimal clean component"
"#;

const LOCKFILE: &str = "version = 4\n\n[[package]]\nname = \"demo\"\nversion = \"0.1.0\"\n";

/// One raw tar entry.
pub struct Raw {
    pub name: Vec<u8>,
    pub kind: EntryType,
    pub data: Box<dyn Read>,
    pub size: u64,
    pub link: Option<Vec<u8>>,
}

impl Raw {
    pub fn file(name: &str, data: &[u8]) -> Self {
        Self::bytes(name.as_bytes(), EntryType::Regular, data.to_vec())
    }

    pub fn bytes(name: &[u8], kind: EntryType, data: Vec<u8>) -> Self {
        let size = data.len() as u64;
        Self { name: name.to_vec(), kind, data: Box::new(io::Cursor::new(data)), size, link: None }
    }

    pub fn link(name: &str, kind: EntryType, target: &str) -> Self {
        let mut raw = Self::bytes(name.as_bytes(), kind, Vec::new());
        raw.link = Some(target.as_bytes().to_vec());
        raw
    }
}

/// gzip(tar(entries)), with headers written as given.
pub fn build(entries: Vec<Raw>) -> Vec<u8> {
    let encoder = GzEncoder::new(Vec::new(), Compression::fast());
    let mut builder = tar::Builder::new(encoder);
    for mut entry in entries {
        let mut header = Header::new_gnu();
        {
            let name = &mut header.as_old_mut().name;
            assert!(entry.name.len() <= name.len(), "raw names must fit the 100-byte header field");
            name[..entry.name.len()].copy_from_slice(&entry.name);
        }
        if let Some(link) = &entry.link {
            let field = &mut header.as_old_mut().linkname;
            field[..link.len()].copy_from_slice(link);
        }
        header.set_entry_type(entry.kind);
        header.set_size(entry.size);
        header.set_mode(0o644);
        header.set_mtime(0);
        if entry.kind == EntryType::Char {
            header.set_device_major(1).unwrap();
            header.set_device_minor(3).unwrap();
        }
        header.set_cksum();
        builder.append(&header, &mut entry.data).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap()
}

/// The clean minimal crate's entries.
pub fn clean_entries() -> Vec<Raw> {
    vec![
        Raw::file(&format!("{TOP}/Cargo.toml"), MANIFEST.as_bytes()),
        Raw::file(&format!("{TOP}/Cargo.lock"), LOCKFILE.as_bytes()),
        Raw::file(&format!("{TOP}/src/lib.rs"), b"pub fn demo() {}\n"),
    ]
}

/// The clean minimal crate, which is accepted.
pub fn clean() -> Vec<u8> {
    build(clean_entries())
}

/// The clean crate plus `extra` entries.
pub fn clean_plus(extra: Vec<Raw>) -> Vec<u8> {
    let mut entries = clean_entries();
    entries.extend(extra);
    build(entries)
}

/// `demo-0.1.0/../../../escape.txt`: climbs out of the unpack directory.
pub fn path_traversal() -> Vec<u8> {
    clean_plus(vec![Raw::file(&format!("{TOP}/../../../escape.txt"), b"escaped\n")])
}

/// An absolute path pointing at `target`.
pub fn absolute_path(target: &Path) -> Vec<u8> {
    clean_plus(vec![Raw::file(target.to_str().unwrap(), b"escaped\n")])
}

/// A symlink to far above the unpack directory, then a file written through it.
pub fn symlink_escape() -> Vec<u8> {
    clean_plus(vec![
        Raw::link(&format!("{TOP}/outside"), EntryType::Symlink, "../../../.."),
        Raw::file(&format!("{TOP}/outside/escape.txt"), b"escaped\n"),
    ])
}

/// A hard link to a host file.
pub fn hard_link() -> Vec<u8> {
    clean_plus(vec![Raw::link(&format!("{TOP}/passwd"), EntryType::Link, "/etc/passwd")])
}

/// A character device (like /dev/null).
pub fn device_file() -> Vec<u8> {
    clean_plus(vec![Raw::bytes(format!("{TOP}/null").as_bytes(), EntryType::Char, Vec::new())])
}

/// A named pipe.
pub fn fifo() -> Vec<u8> {
    clean_plus(vec![Raw::bytes(format!("{TOP}/pipe").as_bytes(), EntryType::Fifo, Vec::new())])
}

/// One file of `size` bytes.
pub fn big_file(size: usize) -> Vec<u8> {
    clean_plus(vec![Raw::file(&format!("{TOP}/data.bin"), &vec![b'x'; size])])
}

/// `count` extra small files.
pub fn many_files(count: usize) -> Vec<u8> {
    clean_plus((0..count).map(|i| Raw::file(&format!("{TOP}/f{i}.txt"), b"x")).collect())
}

/// A file of `size` zero bytes: compresses about 1000:1.
pub fn ratio_bomb(size: u64) -> Vec<u8> {
    let mut zeros = Raw::bytes(format!("{TOP}/zeros.bin").as_bytes(), EntryType::Regular, Vec::new());
    zeros.data = Box::new(io::repeat(0).take(size));
    zeros.size = size;
    clean_plus(vec![zeros])
}

/// A GNU long-name record claiming `size` bytes: libraries that read names into memory whole would try.
pub fn long_name_bomb(size: u64) -> Vec<u8> {
    let mut name = Raw::bytes(b"././@LongLink", EntryType::GNULongName, Vec::new());
    name.data = Box::new(io::repeat(b'a').take(size));
    name.size = size;
    clean_plus(vec![name, Raw::file(&format!("{TOP}/after.txt"), b"x")])
}

/// The same path twice.
pub fn duplicate_entry() -> Vec<u8> {
    clean_plus(vec![Raw::file(&format!("{TOP}/src/lib.rs"), b"pub fn other() {}\n")])
}

/// A crate whose Cargo.toml is not TOML (error on line 3).
pub fn broken_manifest() -> Vec<u8> {
    build(vec![
        Raw::file(&format!("{TOP}/Cargo.toml"), b"[package]\nname = \"demo\"\nversion = 0.1.0\n"),
        Raw::file(&format!("{TOP}/Cargo.lock"), LOCKFILE.as_bytes()),
    ])
}

/// A crate with no Cargo.toml.
pub fn missing_manifest() -> Vec<u8> {
    build(vec![Raw::file(&format!("{TOP}/src/lib.rs"), b"pub fn demo() {}\n")])
}

/// The first half of a valid archive.
pub fn truncated() -> Vec<u8> {
    let mut bytes = big_file(64 * 1024);
    bytes.truncate(bytes.len() / 2);
    bytes
}

/// Plain text with a .crate name.
pub fn not_an_archive() -> Vec<u8> {
    b"this is not a gzip file\n".to_vec()
}

/// A real crate directory packed the way `cargo package` packs it: one `top/` folder, files only.
pub fn crate_of(dir: &Path, top: &str) -> Vec<u8> {
    let encoder = GzEncoder::new(Vec::new(), Compression::default());
    let mut builder = tar::Builder::new(encoder);
    let mut files = Vec::new();
    collect(dir, dir, &mut files);
    files.sort();
    for relative in files {
        let bytes = std::fs::read(dir.join(&relative)).unwrap();
        let mut header = Header::new_gnu();
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_mtime(0);
        header.set_cksum();
        builder.append_data(&mut header, format!("{top}/{relative}"), bytes.as_slice()).unwrap();
    }
    let mut encoder = builder.into_inner().unwrap();
    encoder.flush().unwrap();
    encoder.finish().unwrap()
}

fn collect(root: &Path, dir: &Path, files: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        let relative = path.strip_prefix(root).unwrap().to_str().unwrap().to_owned();
        if relative == "target" {
            continue;
        }
        if path.is_dir() {
            collect(root, &path, files);
        } else {
            files.push(relative);
        }
    }
}
