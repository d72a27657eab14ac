//! A small, bounded HTTP/1.1 server for Assay's read-only endpoints (`assay serve`, the worker's `/metrics`):
//! axum routes on hyper, with a cap on open connections, a deadline for a request's headers and one for a
//! whole connection, a small header buffer, and security headers on every response. Nothing here reads a
//! request body: every route is a GET.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::http::{HeaderValue, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tracing::warn;

/// How much one server lets its clients take.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Connections open at once; the next client waits in the kernel's backlog.
    pub max_connections: usize,
    /// From accepting a connection (or finishing a response) until the next request's headers are in.
    pub header_timeout: Duration,
    /// The longest a connection may stay open, however busy.
    pub connection_timeout: Duration,
    /// Bytes of request line and headers hyper buffers.
    pub max_header_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_connections: 64,
            header_timeout: Duration::from_secs(5),
            connection_timeout: Duration::from_secs(60),
            max_header_bytes: 16 * 1024,
        }
    }
}

/// The Content-Security-Policy of every response: nothing loads, nothing runs, nothing frames the page.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// `router` with the security headers every response carries.
pub fn hardened(router: Router) -> Router {
    router.layer(axum::middleware::map_response(|mut response: axum::response::Response| async move {
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CONTENT_SECURITY_POLICY));
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
        headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        response
    }))
}

/// Serves `router` on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, router: Router, limits: Limits) {
    let permits = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    loop {
        // The semaphore is never closed, so acquiring only waits.
        let Ok(permit) = Arc::clone(&permits).acquire_owned().await else { return };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(err) => {
                // Out of descriptors and the like: back off instead of spinning.
                warn!(error = %err, "cannot accept a connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let service = TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .max_buf_size(limits.max_header_bytes);
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            // A connection past its deadline is dropped, whatever it was doing.
            let _ = tokio::time::timeout(limits.connection_timeout, connection).await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::get;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn started(limits: Limits) -> std::net::SocketAddr {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let router = hardened(Router::new().route("/", get(|| async { "hello" })));
        tokio::spawn(serve(listener, router, limits));
        address
    }

    async fn get_root(address: std::net::SocketAddr) -> String {
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        stream.write_all(b"GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await.unwrap();
        let mut response = String::new();
        stream.read_to_string(&mut response).await.unwrap();
        response
    }

    #[tokio::test]
    async fn responses_carry_the_security_headers() {
        let address = started(Limits::default()).await;
        let response = get_root(address).await;
        assert!(response.starts_with("HTTP/1.1 200"), "{response}");
        assert!(response.contains("content-security-policy: default-src 'none'"), "{response}");
        assert!(response.contains("x-content-type-options: nosniff"));
    }

    #[tokio::test]
    async fn silent_clients_are_dropped_and_connections_are_capped() {
        let limits = Limits { max_connections: 2, header_timeout: Duration::from_millis(300), ..Limits::default() };
        let address = started(limits).await;
        // Two clients that never send a request hold both connections ...
        let mut silent = Vec::new();
        for _ in 0..2 {
            silent.push(tokio::net::TcpStream::connect(address).await.unwrap());
        }
        // ... until the header deadline drops them; then a real request is answered.
        let answered = tokio::time::timeout(Duration::from_secs(5), get_root(address)).await;
        assert!(answered.is_ok_and(|response| response.starts_with("HTTP/1.1 200")));
        for mut client in silent {
            let mut buffer = [0u8; 64];
            // Dropped: the read ends (EOF or an error response), it does not hang.
            let read = tokio::time::timeout(Duration::from_secs(5), client.read(&mut buffer)).await;
            assert!(read.is_ok(), "a silent client was not dropped");
        }
    }

    #[tokio::test]
    async fn oversized_headers_are_refused() {
        let address = started(Limits::default()).await;
        let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
        let huge = format!("GET / HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n", "a".repeat(64 * 1024));
        let _ = stream.write_all(huge.as_bytes()).await;
        let mut response = String::new();
        let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut response)).await.unwrap();
        assert!(!response.starts_with("HTTP/1.1 200"), "{response}");
    }
}
