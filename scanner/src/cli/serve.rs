//! `assay serve`: the read-only web console over a report store (see `assay_scanner::console`).

use std::net::SocketAddr;

use anyhow::Context;
use assay_scanner::console;
use assay_scanner::http::{Limits, serve};
use clap::Args;

use super::{Outcome, block_on};

#[derive(Args)]
pub(super) struct ServeArgs {
    /// Report store: a directory or a postgres:// URL. Read only.
    #[arg(long, value_name = "DIR|URL", env = "ASSAY_STORE", hide_env_values = true)]
    store: String,
    /// Address to listen on. The console has no login: keep it on loopback or behind an authenticating proxy.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// Connections served at once; further clients wait.
    #[arg(long, value_name = "N", default_value_t = Limits::default().max_connections)]
    max_connections: usize,
}

pub(super) fn run(args: ServeArgs) -> anyhow::Result<Outcome> {
    block_on(async {
        let store = assay_scanner::store::Store::open(&args.store)
            .await
            .with_context(|| format!("cannot open the store {}", args.store))?;
        let listener = tokio::net::TcpListener::bind(args.addr)
            .await
            .with_context(|| format!("cannot listen on {}", args.addr))?;
        let address = listener.local_addr().context("cannot read the listening address")?;
        eprintln!("serving the report store on http://{address}/ (read only; Ctrl-C stops)");
        let limits = Limits { max_connections: args.max_connections, ..Limits::default() };
        tokio::select! {
            () = serve(listener, console::router(store), limits) => {}
            _ = tokio::signal::ctrl_c() => eprintln!("stopped"),
        }
        Ok(Outcome::Done)
    })
}
