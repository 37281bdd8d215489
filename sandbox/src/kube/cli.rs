//! `sandbox kube` command line.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Arguments of `sandbox kube`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub listen: SocketAddr,
    /// Where to write a kubeconfig (with current context `sandbox`) for the server.
    #[arg(long)]
    pub kubeconfig_out: Option<PathBuf>,
}

async fn terminated() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot listen for SIGTERM");
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = term.recv() => {}
            _ = tokio::signal::ctrl_c() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Runs the Kubernetes emulator until SIGTERM or Ctrl-C.
pub async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let mut running = super::server::start(args.listen).await?;
    let url = format!("http://{}", running.addr);
    if let Some(path) = &args.kubeconfig_out {
        std::fs::write(path, super::kubeconfig_yaml(&url))?;
    }
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on {url}")?;
    stdout.flush()?;
    terminated().await;
    tracing::info!("shutting down");
    running.stop().await;
    Ok(())
}
