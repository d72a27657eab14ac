//! Finds what code does by the paths it calls: a heuristic over the syntax tree, not a type check.
//!
//! A call is matched by the last two segments of its path (`TcpStream::connect`, `fs::write`), so it is
//! found whether the code wrote `std::net::TcpStream::connect` or imported `TcpStream` first; client
//! crates (`reqwest`, `ureq`, …) are matched by any path that starts with them.

use assay_report::Location;
use syn::visit::{self, Visit};

/// What a use lets the code do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Capability {
    /// Outbound connections.
    Network,
    /// Listening sockets (a service listens; that is not egress).
    Listen,
    /// Reading files.
    FilesystemRead,
    /// Writing, creating or removing files.
    FilesystemWrite,
    /// Spawning processes.
    Process,
    /// Reading environment variables.
    Env,
    /// `unsafe` blocks, functions, impls, traits.
    Unsafe,
    /// `extern` blocks and `#[link]`.
    Ffi,
    /// `include_bytes!`/`include_str!` of a file outside `src/`.
    IncludeOutsideSrc,
}

impl Capability {
    /// The kebab-case name used in facts.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Network => "network",
            Self::Listen => "listen",
            Self::FilesystemRead => "filesystem-read",
            Self::FilesystemWrite => "filesystem-write",
            Self::Process => "process",
            Self::Env => "env",
            Self::Unsafe => "unsafe",
            Self::Ffi => "ffi",
            Self::IncludeOutsideSrc => "include-outside-src",
        }
    }
}

/// One use of a capability in the source.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Use {
    /// File, relative to the asset root.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// What was used.
    pub capability: Capability,
    /// The path or construct, as written (`TcpStream::connect`, `unsafe block`).
    pub detail: String,
    /// For [`Capability::Env`]: the variable name when it is a literal.
    pub env_name: Option<String>,
}

impl Use {
    /// Where it is.
    pub fn location(&self) -> Location {
        Location::file_line(&self.file, self.line)
    }
}

/// `(type or module, function)` → capability.
const CALLS: &[(&str, &str, Capability)] = &[
    ("TcpStream", "connect", Capability::Network),
    ("TcpStream", "connect_timeout", Capability::Network),
    ("UdpSocket", "connect", Capability::Network),
    ("UdpSocket", "send_to", Capability::Network),
    ("TcpSocket", "connect", Capability::Network),
    ("UnixStream", "connect", Capability::Network),
    ("TcpListener", "bind", Capability::Listen),
    ("UdpSocket", "bind", Capability::Listen),
    ("UnixListener", "bind", Capability::Listen),
    ("File", "create", Capability::FilesystemWrite),
    ("File", "create_new", Capability::FilesystemWrite),
    ("File", "open", Capability::FilesystemRead),
    ("fs", "write", Capability::FilesystemWrite),
    ("fs", "create_dir", Capability::FilesystemWrite),
    ("fs", "create_dir_all", Capability::FilesystemWrite),
    ("fs", "remove_file", Capability::FilesystemWrite),
    ("fs", "remove_dir_all", Capability::FilesystemWrite),
    ("fs", "rename", Capability::FilesystemWrite),
    ("fs", "copy", Capability::FilesystemWrite),
    ("fs", "set_permissions", Capability::FilesystemWrite),
    ("OpenOptions", "new", Capability::FilesystemWrite),
    ("fs", "read", Capability::FilesystemRead),
    ("fs", "read_to_string", Capability::FilesystemRead),
    ("fs", "read_dir", Capability::FilesystemRead),
    ("fs", "metadata", Capability::FilesystemRead),
    ("Command", "new", Capability::Process),
    ("process", "Command", Capability::Process),
    ("env", "var", Capability::Env),
    ("env", "var_os", Capability::Env),
    ("env", "vars", Capability::Env),
    ("env", "vars_os", Capability::Env),
];

/// Crates whose use means outbound HTTP or sockets.
const CLIENT_CRATES: &[&str] =
    &["reqwest", "ureq", "isahc", "surf", "attohttpc", "curl", "awc", "hyper_util", "tungstenite", "tokio_tungstenite"];

/// Finds capability uses in one parsed file.
pub fn find(file: &str, ast: &syn::File) -> Vec<Use> {
    let mut finder = Finder { file, uses: Vec::new() };
    finder.visit_file(ast);
    finder.uses
}

struct Finder<'f> {
    file: &'f str,
    uses: Vec<Use>,
}

impl Finder<'_> {
    fn push(&mut self, span: proc_macro2::Span, capability: Capability, detail: String, env_name: Option<String>) {
        let line = u32::try_from(span.start().line).unwrap_or(0).max(1);
        self.uses.push(Use { file: self.file.to_owned(), line, capability, detail, env_name });
    }

    fn call(&mut self, path: &syn::Path, first_arg: Option<&syn::Expr>) {
        let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        let span = path.segments.first().map_or_else(proc_macro2::Span::call_site, |s| s.ident.span());
        if let [.., owner, function] = names.as_slice()
            && let Some((_, _, capability)) = CALLS.iter().find(|(o, f, _)| o == owner && f == function)
        {
            let env_name = (*capability == Capability::Env).then(|| literal(first_arg)).flatten();
            let detail = match &env_name {
                Some(name) => format!("{}(\"{name}\")", names.join("::")),
                None => names.join("::"),
            };
            self.push(span, *capability, detail, env_name);
        }
    }
}

fn literal(expr: Option<&syn::Expr>) -> Option<String> {
    match expr? {
        syn::Expr::Lit(syn::ExprLit { lit: syn::Lit::Str(text), .. }) => Some(text.value()),
        _ => None,
    }
}

impl<'ast> Visit<'ast> for Finder<'_> {
    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        if let syn::Expr::Path(path) = call.func.as_ref() {
            self.call(&path.path, call.args.first());
        }
        visit::visit_expr_call(self, call);
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        // hyper serves as often as it connects: only its client side is egress.
        let hyper_client = path.segments.first().is_some_and(|s| s.ident == "hyper")
            && path.segments.iter().any(|s| s.ident == "client" || s.ident == "Client");
        if let Some(first) = path.segments.first()
            && (CLIENT_CRATES.contains(&first.ident.to_string().as_str()) || hyper_client)
        {
            let detail = path.segments.iter().map(|s| s.ident.to_string()).collect::<Vec<_>>().join("::");
            self.push(first.ident.span(), Capability::Network, detail, None);
        }
        visit::visit_path(self, path);
    }

    fn visit_use_path(&mut self, path: &'ast syn::UsePath) {
        if CLIENT_CRATES.contains(&path.ident.to_string().as_str()) {
            self.push(path.ident.span(), Capability::Network, format!("use {}", path.ident), None);
        }
        visit::visit_use_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let name = mac.path.segments.last().map(|s| s.ident.to_string()).unwrap_or_default();
        let span = mac.path.segments.first().map_or_else(proc_macro2::Span::call_site, |s| s.ident.span());
        let argument = mac.parse_body::<syn::LitStr>().ok().map(|text| text.value());
        match name.as_str() {
            "env" | "option_env" => self.push(span, Capability::Env, format!("{name}!"), argument),
            "include_bytes" | "include_str" => {
                if let Some(path) = argument.filter(|p| p.starts_with('/') || p.starts_with("..")) {
                    self.push(span, Capability::IncludeOutsideSrc, format!("{name}!(\"{path}\")"), None);
                }
            }
            _ => {}
        }
        visit::visit_macro(self, mac);
    }

    fn visit_expr_unsafe(&mut self, block: &'ast syn::ExprUnsafe) {
        self.push(block.unsafe_token.span, Capability::Unsafe, "unsafe block".to_owned(), None);
        visit::visit_expr_unsafe(self, block);
    }

    fn visit_item_fn(&mut self, item: &'ast syn::ItemFn) {
        if let syn::Safety::Unsafe(token) = &item.sig.safety {
            self.push(token.span, Capability::Unsafe, format!("unsafe fn {}", item.sig.ident), None);
        }
        visit::visit_item_fn(self, item);
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        if let syn::Safety::Unsafe(token) = &item.sig.safety {
            self.push(token.span, Capability::Unsafe, format!("unsafe fn {}", item.sig.ident), None);
        }
        visit::visit_impl_item_fn(self, item);
    }

    fn visit_item_impl(&mut self, item: &'ast syn::ItemImpl) {
        if let Some(token) = &item.unsafety {
            self.push(token.span, Capability::Unsafe, "unsafe impl".to_owned(), None);
        }
        visit::visit_item_impl(self, item);
    }

    fn visit_item_trait(&mut self, item: &'ast syn::ItemTrait) {
        if let Some(token) = &item.unsafety {
            self.push(token.span, Capability::Unsafe, format!("unsafe trait {}", item.ident), None);
        }
        visit::visit_item_trait(self, item);
    }

    fn visit_item_foreign_mod(&mut self, item: &'ast syn::ItemForeignMod) {
        self.push(item.abi.extern_token.span, Capability::Ffi, "extern block".to_owned(), None);
        visit::visit_item_foreign_mod(self, item);
    }

    fn visit_attribute(&mut self, attribute: &'ast syn::Attribute) {
        if attribute.path().is_ident("link") {
            let span = attribute.path().segments.first().map_or_else(proc_macro2::Span::call_site, |s| s.ident.span());
            self.push(span, Capability::Ffi, "#[link]".to_owned(), None);
        }
        visit::visit_attribute(self, attribute);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uses(source: &str) -> Vec<(u32, Capability, String, Option<String>)> {
        let ast = syn::parse_file(source).unwrap();
        let mut found: Vec<_> =
            find("src/lib.rs", &ast).into_iter().map(|u| (u.line, u.capability, u.detail, u.env_name)).collect();
        found.sort();
        found
    }

    #[test]
    fn finds_each_capability_at_its_line() {
        let found = uses(
            r#"use std::net::{TcpListener, TcpStream};
fn main() {
    let _l = TcpListener::bind("127.0.0.1:0");
    let _c = TcpStream::connect("example.com:80");
    let _ = std::fs::write("/tmp/x", b"x");
    let _ = std::fs::read_to_string("Cargo.toml");
    let _ = std::process::Command::new("sh");
    let _ = std::env::var("TOKEN");
    let _ = env!("CARGO_PKG_NAME");
    unsafe { core::hint::unreachable_unchecked() }
}
extern "C" { fn abs(x: i32) -> i32; }
static DATA: &[u8] = include_bytes!("../../secret.bin");
"#,
        );
        let kinds: Vec<(u32, Capability)> = found.iter().map(|(line, capability, _, _)| (*line, *capability)).collect();
        assert_eq!(
            kinds,
            [
                (3, Capability::Listen),
                (4, Capability::Network),
                (5, Capability::FilesystemWrite),
                (6, Capability::FilesystemRead),
                (7, Capability::Process),
                (8, Capability::Env),
                (9, Capability::Env),
                (10, Capability::Unsafe),
                (12, Capability::Ffi),
                (13, Capability::IncludeOutsideSrc),
            ]
        );
        assert_eq!(found[5].3.as_deref(), Some("TOKEN"));
        assert_eq!(found[6].3.as_deref(), Some("CARGO_PKG_NAME"));
    }

    #[test]
    fn client_crates_are_egress_and_look_alikes_are_not() {
        let found = uses("use reqwest::Client;\nfn f() { let _ = my::connect(); let _ = Stream::connected(); }\n");
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].1, Capability::Network);
        let hyper = uses(
            "fn f() { let _ = hyper::client::conn::http1::handshake(io); let _ = hyper::server::conn::http1::Builder::new(); }\n",
        );
        assert_eq!(hyper.len(), 1, "hyper's server side is not egress: {hyper:?}");
        let tokio = uses("async fn f() { let _ = tokio::net::TcpStream::connect(\"a:1\").await; }\n");
        assert_eq!(tokio[0].1, Capability::Network);
    }
}
