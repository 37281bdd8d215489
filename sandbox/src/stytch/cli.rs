//! `sandbox stytch` command line: `--listen`, `--seed` (YAML), `--rate-limit`,
//! `--retry-after`. Prints `listening on http://<addr>` as the first stdout line once the
//! socket accepts connections, and exits with code 0 on SIGTERM or Ctrl-C.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use super::StytchSandbox;
use super::config::{Seed, StytchConfig};

/// Arguments of `sandbox stytch`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Loopback address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:8787")]
    pub listen: SocketAddr,
    /// YAML seed file (projects, organizations, optional connections and rate limit).
    #[arg(long)]
    pub seed: Option<PathBuf>,
    /// Requests per second per project (0 = unlimited); overrides the seed's value.
    #[arg(long)]
    pub rate_limit: Option<u32>,
    /// Send `Retry-After` on 429 answers.
    #[arg(long)]
    pub retry_after: bool,
    /// Refuse `http://` metadata URLs in update-by-URL (https only, like Stytch).
    #[arg(long)]
    pub https_metadata_only: bool,
    /// Base URL used in generated `acs_url`/`audience_uri` (default: the listen URL).
    #[arg(long)]
    pub public_base_url: Option<String>,
}

/// Waits for SIGTERM or SIGINT. The handlers are registered when this is called (not when
/// first polled), so no signal is lost after readiness is announced.
#[cfg(unix)]
fn termination() -> Result<impl std::future::Future<Output = ()>, std::io::Error> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    })
}

#[cfg(not(unix))]
fn termination() -> Result<impl std::future::Future<Output = ()>, std::io::Error> {
    Ok(async {
        let _ = tokio::signal::ctrl_c().await;
    })
}

/// Runs the Stytch emulator until SIGTERM or Ctrl-C.
pub async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let mut seed = match &args.seed {
        Some(path) => Seed::from_yaml(
            &std::fs::read_to_string(path)
                .map_err(|e| format!("cannot read seed {}: {e}", path.display()))?,
        )?,
        None => Seed::default(),
    };
    if let Some(limit) = args.rate_limit {
        seed.rate_limit_per_second = Some(limit);
    }
    let mut config = StytchConfig::with_seed(seed);
    config.listen = args.listen;
    config.retry_after = args.retry_after;
    config.public_base_url = args.public_base_url;
    config.behaviour.allow_http_metadata = !args.https_metadata_only;
    // Install the signal handlers before announcing readiness.
    let signal = termination()?;
    let sandbox = StytchSandbox::start(config).await?;
    {
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening on {}", sandbox.base_url())?;
        out.flush()?;
    }
    signal.await;
    tracing::info!("shutting down");
    sandbox.shutdown().await;
    Ok(())
}
