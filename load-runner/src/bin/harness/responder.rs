//! `assay-load-harness --respond`: a trivial HTTP/1.1 responder (keep-alive, `200 ok` to every request at
//! once) that the host runs in place of a service to measure what the harness itself can drive.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok";

/// Listens on `127.0.0.1:$PORT` until killed.
pub fn respond() -> ExitCode {
    let port = std::env::var("PORT").ok().and_then(|port| port.parse::<u16>().ok());
    let Some(listener) = port.and_then(|port| TcpListener::bind(("127.0.0.1", port)).ok()) else {
        eprintln!("assay-load-harness --respond: cannot listen on 127.0.0.1:$PORT");
        return ExitCode::from(2);
    };
    for stream in listener.incoming().flatten() {
        std::thread::spawn(move || answer(stream));
    }
    ExitCode::SUCCESS
}

/// Answers each request head on `stream` (requests carry no body) until the peer closes.
fn answer(mut stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let mut buffer = [0u8; 8192];
    let mut pending: Vec<u8> = Vec::new();
    loop {
        let read = match stream.read(&mut buffer) {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        pending.extend_from_slice(&buffer[..read]);
        let mut answered = 0;
        while let Some(end) = pending[answered..].windows(4).position(|window| window == b"\r\n\r\n") {
            answered += end + 4;
            if stream.write_all(RESPONSE).is_err() {
                return;
            }
        }
        pending.drain(..answered);
        if pending.len() > 64 * 1024 {
            return;
        }
    }
}
