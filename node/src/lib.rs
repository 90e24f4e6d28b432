//! The hearsay node: one process per user that serves the user's page and (as later work lands) runs the gossip
//! overlay, a STUN server and a TURN server.
//!
//! Drive it with [`run`]: give it a [`config::Config`] and a future that resolves when the node should stop. It
//! binds every listener first (so a port in use fails fast with a clear error), prints the page URL on stdout as
//! `hearsay: page at https://…/`, and serves until the shutdown future resolves.
//!
//! Layout: [`config`] (command line and environment), [`tls`] (the node's self-signed certificate),
//! [`web`] (HTTPS server, the embedded page and the page's WebSocket).
#![forbid(unsafe_code)]

pub mod config;
pub mod gossip;
pub mod tls;
pub mod web;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use hearsay_shared::page::NodeIdentity;

/// The line prefix, on stdout, that tells scripts and tests where the page is served.
pub const PAGE_URL_PREFIX: &str = "hearsay: page at ";

/// Runs the node until `shutdown` resolves.
pub async fn run(config: config::Config, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
    let tls = tls::load_or_create(&config.data_dir)?;
    let listener = tokio::net::TcpListener::bind(config.web)
        .await
        .with_context(|| format!("binding the web server to {}", config.web))?;
    let web_addr = listener.local_addr()?;

    let node = Arc::new(web::NodeInfo {
        identity: NodeIdentity {
            name: config.name.clone(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        },
        started: Instant::now(),
    });
    let routes = web::routes(node, config.assets.clone());

    let host = match web_addr.ip() {
        ip if ip.is_unspecified() => "127.0.0.1".to_owned(),
        std::net::IpAddr::V6(ip) => format!("[{ip}]"),
        ip => ip.to_string(),
    };
    tracing::info!(name = %config.name, data_dir = %config.data_dir.display(), "node started");
    println!("{PAGE_URL_PREFIX}https://{host}:{}/", web_addr.port());

    web::serve_https(listener, tls, routes, shutdown).await;
    Ok(())
}
