//! Finds what code does by the paths it calls: a heuristic over the syntax tree, not a type check.
//!
//! A call is matched by the last two segments of its path (`TcpStream::connect`, `fs::write`), so it is
//! found whether the code wrote `std::net::TcpStream::connect` or imported `TcpStream` first; names brought
//! in by `use` (renamed, single-segment, glob) are resolved to their paths first; client crates (`reqwest`,
//! `ureq`, …) are matched by any path that starts with them.
//!
//! Macro bodies are not Rust syntax to `syn`, so they (and attribute arguments) are scanned token by token
//! for the same paths, for `unsafe`, and for `link`: code moved into a `macro_rules!` body, or into the
//! arguments of any macro call, is seen as well. `asm!`, `global_asm!` and `naked_asm!` are unsafe.

use assay_report::Location;
use assay_report::contract::Capability;
use proc_macro2::{Delimiter, Spacing, TokenStream, TokenTree};
use syn::visit::{self, Visit};

use super::imports::Imports;

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
    let mut imports = Imports::default();
    imports.visit_file(ast);
    let mut finder = Finder { file, uses: Vec::new(), imports };
    finder.visit_file(ast);
    finder.uses
}

struct Finder<'f> {
    file: &'f str,
    uses: Vec<Use>,
    imports: Imports,
}

impl Finder<'_> {
    fn push(&mut self, span: proc_macro2::Span, capability: Capability, detail: String, env_name: Option<String>) {
        let line = u32::try_from(span.start().line).unwrap_or(0).max(1);
        self.uses.push(Use { file: self.file.to_owned(), line, capability, detail, env_name });
    }

    fn call(&mut self, path: &syn::Path, first_arg: Option<&syn::Expr>) {
        let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        let span = path.segments.first().map_or_else(proc_macro2::Span::call_site, |s| s.ident.span());
        self.call_names(&names, span, literal(first_arg));
    }

    /// Records the capability a call path names, after resolving imports; `argument` is its first argument
    /// when that is a string literal (the variable of `env::var`).
    fn call_names(&mut self, names: &[String], span: proc_macro2::Span, argument: Option<String>) {
        for candidate in self.imports.candidates(names) {
            if let [.., owner, function] = candidate.as_slice()
                && let Some((_, _, capability)) = CALLS.iter().find(|(o, f, _)| o == owner && f == function)
            {
                let env_name = (*capability == Capability::Env).then_some(argument).flatten();
                let detail = match &env_name {
                    Some(name) => format!("{}(\"{name}\")", names.join("::")),
                    None => names.join("::"),
                };
                self.push(span, *capability, detail, env_name);
                return;
            }
        }
    }

    /// A client crate's path (or hyper's client side) is outbound network use.
    fn client_crate(&mut self, names: &[String], span: proc_macro2::Span) {
        let first = self.imports.candidates(names).into_iter().find_map(|candidate| {
            let hyper_client = candidate.first().is_some_and(|s| s == "hyper")
                && candidate.iter().any(|s| s == "client" || s == "Client");
            let client = candidate.first().is_some_and(|s| CLIENT_CRATES.contains(&s.as_str()));
            (client || hyper_client).then_some(candidate)
        });
        if first.is_some() {
            self.push(span, Capability::Network, names.join("::"), None);
        }
    }

    /// Records what a compiler built-in macro does; `false` for any other macro (its tokens are scanned).
    fn builtin_macro(&mut self, name: &str, span: proc_macro2::Span, argument: Option<String>) -> bool {
        match name {
            "env" | "option_env" => self.push(span, Capability::Env, format!("{name}!"), argument),
            "include_bytes" | "include_str" => {
                if let Some(path) = argument.filter(|p| p.starts_with('/') || p.starts_with("..")) {
                    self.push(span, Capability::IncludeOutsideSrc, format!("{name}!(\"{path}\")"), None);
                }
            }
            "asm" | "global_asm" | "naked_asm" => self.push(span, Capability::Unsafe, format!("{name}!"), None),
            _ => return false,
        }
        true
    }

    /// Scans tokens syn does not parse (macro bodies and arguments, attribute arguments) for the same
    /// paths, `unsafe` and `link`.
    fn scan_tokens(&mut self, tokens: TokenStream) {
        let mut path: Vec<String> = Vec::new();
        let mut start = proc_macro2::Span::call_site();
        let mut joined = false;
        let mut trees = tokens.into_iter().peekable();
        while let Some(tree) = trees.next() {
            match tree {
                TokenTree::Ident(ident) => {
                    let name = ident.to_string();
                    if !joined {
                        self.flush(&mut path, start, None);
                        start = ident.span();
                    }
                    joined = false;
                    match name.as_str() {
                        "unsafe" => self.push(
                            ident.span(),
                            Capability::Unsafe,
                            "unsafe (in a macro or attribute)".to_owned(),
                            None,
                        ),
                        "link" if matches!(trees.peek(), Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Parenthesis) =>
                        {
                            self.push(
                                ident.span(),
                                Capability::Ffi,
                                "link(…) (in a macro or attribute)".to_owned(),
                                None,
                            );
                        }
                        _ => path.push(name),
                    }
                }
                TokenTree::Punct(punct) if punct.as_char() == ':' && punct.spacing() == Spacing::Joint => {
                    if matches!(trees.peek(), Some(TokenTree::Punct(next)) if next.as_char() == ':') {
                        trees.next();
                        joined = true;
                    }
                }
                TokenTree::Group(group) => {
                    // `path(…)`: the group is the call's arguments; a leading string literal is its first.
                    let argument =
                        (group.delimiter() == Delimiter::Parenthesis).then(|| first_string(&group.stream())).flatten();
                    self.flush(&mut path, start, argument);
                    joined = false;
                    self.scan_tokens(group.stream());
                }
                // `name!(…)` inside tokens: a macro call, built-in ones recorded as such.
                TokenTree::Punct(punct) if punct.as_char() == '!' && path.len() == 1 => {
                    if let Some(TokenTree::Group(group)) = trees.peek() {
                        let name = path.pop().unwrap_or_default();
                        self.builtin_macro(&name, start, first_string(&group.stream()));
                    }
                    self.flush(&mut path, start, None);
                    joined = false;
                }
                _ => {
                    self.flush(&mut path, start, None);
                    joined = false;
                }
            }
        }
        self.flush(&mut path, start, None);
    }

    fn flush(&mut self, path: &mut Vec<String>, span: proc_macro2::Span, argument: Option<String>) {
        if !path.is_empty() {
            let names = std::mem::take(path);
            self.call_names(&names, span, argument);
            self.client_crate(&names, span);
        }
    }
}

/// The value of a token stream's first token when it is a string literal.
fn first_string(tokens: &TokenStream) -> Option<String> {
    match tokens.clone().into_iter().next()? {
        TokenTree::Literal(literal) => {
            syn::parse2::<syn::LitStr>(TokenTree::Literal(literal).into()).ok().map(|s| s.value())
        }
        _ => None,
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
        if let Some(first) = path.segments.first() {
            let names: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
            self.client_crate(&names, first.ident.span());
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
        if !self.builtin_macro(&name, span, argument) {
            self.scan_tokens(mac.tokens.clone());
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
        // `#[unsafe(no_mangle)]`, `#[cfg_attr(unix, link(name = "c"))]`, a path in an attribute argument.
        if let syn::Meta::List(list) = &attribute.meta {
            if attribute.path().is_ident("unsafe") {
                let span =
                    attribute.path().segments.first().map_or_else(proc_macro2::Span::call_site, |s| s.ident.span());
                self.push(span, Capability::Unsafe, "#[unsafe(…)]".to_owned(), None);
            } else if !attribute.path().is_ident("doc") {
                self.scan_tokens(list.tokens.clone());
            }
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

    fn kinds(source: &str) -> Vec<(u32, Capability)> {
        uses(source).into_iter().map(|(line, capability, _, _)| (line, capability)).collect()
    }

    #[test]
    fn renamed_single_and_glob_imports_are_resolved() {
        let found = kinds(
            r#"use std::net::TcpStream as Pipe;
use std::fs::write;
use std::env::var as lookup;
use std::process::*;
fn f() {
    let _ = Pipe::connect("a:1");
    let _ = write("/tmp/x", b"x");
    let _ = lookup("TOKEN");
    let _ = Command::new("sh");
}
"#,
        );
        assert_eq!(
            found,
            [
                (6, Capability::Network),
                (7, Capability::FilesystemWrite),
                (8, Capability::Env),
                (9, Capability::Process)
            ]
        );
        assert_eq!(
            uses("use std::env::var as lookup;\nfn f() { lookup(\"TOKEN\"); }\n")[0].3.as_deref(),
            Some("TOKEN")
        );
    }

    #[test]
    fn code_in_macro_bodies_and_arguments_is_seen() {
        let found = kinds(
            r#"macro_rules! sneak {
    () => {
        std::net::TcpStream::connect("10.0.0.1:1")
    };
}
fn f() {
    let _ = vec![std::process::Command::new("sh")];
    println!("{:?}", std::env::var("SECRET"));
    let _ = format!("{}", env!("HOME"));
    sneak!();
}
macro_rules! raw { () => { unsafe { core::hint::unreachable_unchecked() } } }
"#,
        );
        assert_eq!(
            found,
            [
                (3, Capability::Network),
                (7, Capability::Process),
                (8, Capability::Env),
                (9, Capability::Env),
                (12, Capability::Unsafe),
            ]
        );
        assert_eq!(uses("fn f() { println!(\"{:?}\", std::env::var(\"SECRET\")); }\n")[0].3.as_deref(), Some("SECRET"));
    }

    #[test]
    fn asm_unsafe_attributes_and_links_in_attributes_are_unsafe() {
        let found = kinds(
            r#"std::arch::global_asm!("nop");
fn f() { unsafe { core::arch::asm!("nop") } }
#[unsafe(no_mangle)]
pub extern "C" fn g() {}
#[cfg_attr(unix, link(name = "c"))]
extern "C" {}
"#,
        );
        assert!(found.contains(&(1, Capability::Unsafe)), "global_asm!: {found:?}");
        assert!(found.contains(&(2, Capability::Unsafe)), "asm!: {found:?}");
        assert!(found.contains(&(3, Capability::Unsafe)), "#[unsafe(no_mangle)]: {found:?}");
        assert!(found.contains(&(5, Capability::Ffi)), "link in cfg_attr: {found:?}");
    }

    #[test]
    fn ordinary_macros_and_attributes_stay_silent() {
        let found = kinds(
            "#[derive(Debug, Clone)]\n#[serde(rename = \"x\")]\nstruct S;\nfn f() { println!(\"connect {}\", 1); let _ = vec![1, 2]; assert_eq!(1, 1); }\n",
        );
        assert!(found.is_empty(), "{found:?}");
    }
}
