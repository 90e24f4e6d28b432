//! The `hearsay` binary: parses the command line, starts logging, and runs the node until Ctrl-C or SIGTERM
//! (or, as `hearsay url`, prints the running node's page URL).

use clap::Parser;
use hearsay_node::config::{Cli, Command};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,hyper=warn,warp=warn,turn=off".into()),
        )
        .with_writer(std::io::stderr)
        // Colour codes only for a person at a terminal, not in files and pipes (`cargo xtask demo > log`).
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let cli = Cli::parse();
    if let Some(Command::Url) = cli.command {
        let dir = hearsay_node::config::data_dir_or_default(cli.data_dir)?;
        println!("{}", hearsay_node::page_url(&dir)?);
        return Ok(());
    }
    let config = cli.into_config()?;
    hearsay_node::run(config, shutdown_signal()).await
}

/// Resolves on the first Ctrl-C (SIGINT) or SIGTERM.
async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
    tracing::info!("shutting down");
}
