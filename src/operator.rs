//! `stytch-saml-operator run`: flags, and the wiring of clients, controller and HTTP server.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use kube::runtime::events::{Recorder, Reporter};
use url::Url;

use crate::controller::{self, Context, InFlight, Readiness, Settings};
use crate::metadata::{FetchPolicy, MetadataFetcher};
use crate::metrics::Metrics;
use crate::stytch::{StytchConfig, StytchPool};
use crate::telemetry::LogFormat;

/// Flags of `stytch-saml-operator run` (each also readable from the environment).
#[derive(Clone, Debug, clap::Args)]
pub struct RunArgs {
    /// Namespace to watch (repeatable or comma-separated); all namespaces when absent.
    #[arg(long = "namespace", env = "WATCH_NAMESPACES", value_delimiter = ',')]
    pub namespaces: Vec<String>,
    /// Only manage SamlConnections matching this label selector (sharding).
    #[arg(long, env = "LABEL_SELECTOR")]
    pub label_selector: Option<String>,
    /// How often every resource is compared with Stytch again (e.g. 10m, 1h).
    #[arg(long, default_value = "10m", value_parser = parse_duration)]
    pub resync_interval: Duration,
    /// Reconciles running at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: u16,
    /// Address of /healthz, /readyz and /metrics.
    #[arg(long, env = "METRICS_ADDR", default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,
    /// Log format.
    #[arg(long, value_enum, env = "LOG_FORMAT", default_value = "text")]
    pub log_format: LogFormat,
    /// Warn (CertificateExpiringSoon) this long before a certificate expires (e.g. 30d).
    #[arg(long, default_value = "30d", value_parser = parse_duration)]
    pub certificate_expiry_warning: Duration,
    /// Send every Stytch call to this base URL instead of the credentials' (e.g. a sandbox).
    #[arg(long, env = "STYTCH_BASE_URL")]
    pub stytch_base_url: Option<Url>,
    /// Hosts metadata URLs may point at (comma-separated; `*.example.com` allowed). Any https
    /// host when absent.
    #[arg(long, value_delimiter = ',')]
    pub metadata_allowed_hosts: Vec<String>,
    /// Client-side limit of Stytch requests per second per project.
    #[arg(long, default_value_t = 20.0)]
    pub stytch_rate_limit: f64,
    /// Timeout of one Stytch HTTP request (e.g. `15s`); a request past it counts as
    /// unavailable and is retried with backoff.
    #[arg(long, default_value = "15s", value_parser = parse_duration)]
    pub stytch_request_timeout: Duration,
    /// Kubeconfig to use instead of the in-cluster or default configuration.
    #[arg(long, env = "KUBECONFIG")]
    pub kubeconfig: Option<PathBuf>,
    /// PEM file of extra CA certificates trusted for metadata URLs (an IdP behind a private CA).
    #[arg(long, env = "METADATA_CA_FILE")]
    pub metadata_ca_file: Option<PathBuf>,
    #[command(flatten)]
    pub leader: crate::leader::LeaderArgs,
}

/// Parses `90s`, `10m`, `1h`, `30d` and the like.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let (number, unit) = trimmed.split_at(
        trimmed
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(trimmed.len()),
    );
    let n: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration like 90s, 10m, 1h or 30d"))?;
    let secs = match unit {
        "ms" => return Ok(Duration::from_millis(n)),
        "s" | "" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => {
            return Err(format!(
                "`{text}` has an unknown unit; use ms, s, m, h or d"
            ));
        }
    };
    Ok(Duration::from_secs(secs))
}

/// Why the operator cannot start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot configure the Kubernetes client: {0}")]
    Kube(String),
    #[error("cannot build the Stytch client: {0}")]
    Stytch(#[from] crate::stytch::StytchError),
    #[error("cannot read --metadata-ca-file: {0}")]
    CaFile(String),
    #[error("cannot build the metadata fetcher: {0}")]
    Metadata(#[from] crate::metadata::FetchError),
    #[error("cannot serve HTTP on {addr}: {source}")]
    Http {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error(transparent)]
    Leader(#[from] crate::leader::LeaderError),
    #[error("leadership lost; exiting so a restart can rejoin the election")]
    LeadershipLost,
}

async fn kube_client(args: &RunArgs) -> Result<kube::Client, StartError> {
    let config = match &args.kubeconfig {
        Some(path) => {
            let kubeconfig = kube::config::Kubeconfig::read_from(path)
                .map_err(|e| StartError::Kube(e.to_string()))?;
            kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
                .await
                .map_err(|e| StartError::Kube(e.to_string()))?
        }
        None => kube::Config::infer()
            .await
            .map_err(|e| StartError::Kube(e.to_string()))?,
    };
    kube::Client::try_from(config).map_err(|e| StartError::Kube(e.to_string()))
}

/// Starts everything and runs until `shutdown` resolves.
pub async fn run(
    args: RunArgs,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
    in_flight: Arc<InFlight>,
) -> Result<(), StartError> {
    let shutdown = shutdown.shared();
    let client = kube_client(&args).await?;
    let metrics = Arc::new(Metrics::default());
    let stytch = StytchPool::with_observer(
        StytchConfig {
            base_url_override: args.stytch_base_url.clone(),
            rate_limit_per_second: args.stytch_rate_limit,
            request_timeout: args.stytch_request_timeout,
            ..Default::default()
        },
        Some(metrics.clone()),
    )?;
    let extra_root_certificates = match &args.metadata_ca_file {
        Some(path) => crate::metadata::read_ca_file(path).map_err(StartError::CaFile)?,
        None => Vec::new(),
    };
    let metadata = MetadataFetcher::new(FetchPolicy {
        extra_root_certificates,
        allowed_hosts: (!args.metadata_allowed_hosts.is_empty())
            .then(|| args.metadata_allowed_hosts.clone()),
        ..Default::default()
    })?;
    let reporter = Reporter {
        controller: "stytch-saml-operator".into(),
        instance: std::env::var("POD_NAME").ok(),
    };
    let settings = Settings {
        expiry_warning: args.certificate_expiry_warning,
        resync_interval: args.resync_interval,
        namespaces: args.namespaces.clone(),
        label_selector: args.label_selector.clone(),
        concurrency: args.concurrency,
        ..Default::default()
    };
    let ctx = Arc::new(Context::new(
        client.clone(),
        stytch,
        metadata,
        metrics.clone(),
        Recorder::new(client, reporter),
        settings,
        in_flight,
    ));
    let readiness = Arc::new(Readiness::default());
    let addr = crate::http::serve(
        args.metrics_addr,
        metrics,
        readiness.clone(),
        shutdown.clone(),
    )
    .await
    .map_err(|source| StartError::Http {
        addr: args.metrics_addr,
        source,
    })?;
    tracing::info!(%addr, namespaces = ?args.namespaces, "stytch-saml-operator started");
    if !args.leader.leader_elect {
        controller::run(ctx, readiness, shutdown).await;
        tracing::info!("stytch-saml-operator stopped");
        return Ok(());
    }
    // A standby replica is ready (healthy) while it waits for the Lease.
    readiness.standby(true);
    let identity = crate::leader::identity();
    let mut leadership = tokio::select! {
        leadership = crate::leader::acquire(ctx.client.clone(), &args.leader, identity) => leadership?,
        () = shutdown.clone() => return Ok(()),
    };
    readiness.standby(false);
    let (lost_tx, lost_rx) = futures::channel::oneshot::channel::<()>();
    let stop = futures::future::select(shutdown.clone(), lost_rx.map(|_| ()))
        .map(|_| ())
        .shared();
    let controllers = controller::run(ctx, readiness, stop);
    tokio::pin!(controllers);
    let lost = tokio::select! {
        () = &mut controllers => false,
        () = leadership.lost() => true,
    };
    if lost {
        let _ = lost_tx.send(());
        let _ = tokio::time::timeout(controller::SHUTDOWN_GRACE, controllers).await;
        return Err(StartError::LeadershipLost);
    }
    leadership.release().await;
    tracing::info!("stytch-saml-operator stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("10m"), Ok(Duration::from_secs(600)));
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert!(parse_duration("ten minutes").is_err());
        assert!(parse_duration("5y").is_err());
    }
}
