//! A crate registry on 127.0.0.1 for the download tests: it serves `.crate` files made at test time, can
//! misbehave on purpose (wrong bytes, 503 first), and records every path asked for.
//!
//! Test scaffolding only: one request per connection, `Connection: close`, no keep-alive.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use super::hostile_archive::{Raw, build};

/// What the registry answers for one path.
#[derive(Clone)]
pub enum Answer {
    /// 200 with these bytes.
    Bytes(Vec<u8>),
    /// This many 503s, then 200 with the bytes.
    FlakyThen(usize, Vec<u8>),
    /// 302 to this location.
    Redirect(String),
}

/// A running registry; its thread serves until the test process ends.
pub struct Registry {
    pub url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

impl Registry {
    /// Serves `answers` (path → answer); any other path is a 404.
    pub fn start(answers: HashMap<String, Answer>) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let url = format!("http://{}/crates", listener.local_addr().unwrap());
        let requests = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&requests);
        let answers = Arc::new(Mutex::new(answers));
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut line = String::new();
                if BufReader::new(&stream).read_line(&mut line).is_err() {
                    continue;
                }
                let path = line.split_whitespace().nth(1).unwrap_or("").to_owned();
                seen.lock().unwrap().push(path.clone());
                let mut answers = answers.lock().unwrap();
                let mut location = String::new();
                let (status, body) = match answers.get_mut(&path) {
                    Some(Answer::Redirect(to)) => {
                        location = format!("location: {to}\r\n");
                        ("302 Found", Vec::new())
                    }
                    Some(Answer::Bytes(bytes)) => ("200 OK", bytes.clone()),
                    Some(Answer::FlakyThen(failures, bytes)) if *failures > 0 => {
                        *failures -= 1;
                        let _ = bytes;
                        ("503 Service Unavailable", Vec::new())
                    }
                    Some(Answer::FlakyThen(_, bytes)) => ("200 OK", bytes.clone()),
                    None => ("404 Not Found", Vec::new()),
                };
                let head = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/gzip\r\ncontent-length: {}\r\n{location}connection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(&body));
            }
        });
        Self { url, requests }
    }

    /// Paths asked for so far.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().unwrap().clone()
    }
}

/// A `.crate` of a tiny library `name` `version` (licence MIT, a description saying where it came from).
pub fn tiny_crate(name: &str, version: &str) -> Vec<u8> {
    let top = format!("{name}-{version}");
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"{version}\"\nedition = \"2021\"\nlicense = \"MIT\"\n\
         description = \"{name} from the test registry\"\nrepository = \"https://git.example/{name}\"\n\n[lib]\npath = \"src/lib.rs\"\n"
    );
    build(vec![
        Raw::file(&format!("{top}/Cargo.toml"), manifest.as_bytes()),
        Raw::file(&format!("{top}/src/lib.rs"), b"pub fn answer() -> u32 {\n    42\n}\n"),
    ])
}

/// Lowercase hex sha256, as Cargo.lock writes checksums.
pub fn sha256(bytes: &[u8]) -> String {
    assay_report::digest::sha256_hex(bytes)
}

/// A Cargo.lock entry for a crates.io package.
pub fn lock_entry(name: &str, version: &str, checksum: &str) -> String {
    format!(
        "[[package]]\nname = \"{name}\"\nversion = \"{version}\"\nsource = \"registry+https://github.com/rust-lang/crates.io-index\"\nchecksum = \"{checksum}\"\n"
    )
}
