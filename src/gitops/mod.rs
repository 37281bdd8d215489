//! GitOps helpers (issue #9): `diff` shows what applying `SamlConnection` manifests would change
//! in Stytch, without changing anything; `import` writes manifests that adopt live connections.
//!
//! Both reuse the controller's pure pipeline ([`crate::reconcile`]) and typed Stytch client, so
//! a `diff` reports exactly the calls the operator would make. Secret values (project secrets,
//! private keys) are never printed: only the names of the fields that carry them.

pub mod adopt;
pub mod diff;
pub mod import;
pub mod manifests;
pub mod render;
pub mod report;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use url::Url;

use crate::stytch::{StytchConfig, StytchError, StytchPool};

pub use diff::{DiffArgs, DiffReport, ResourceReport, ResourceStatus};
pub use import::ImportArgs;

/// Exit code of `diff` when nothing would change.
pub const EXIT_NO_CHANGES: u8 = 0;
/// Exit code of `diff` (and `import`) on errors, validation errors included.
pub const EXIT_ERROR: u8 = 1;
/// Exit code of `diff` when applying the manifests would change something.
pub const EXIT_CHANGES: u8 = 2;

/// How to reach Stytch and where referenced Secrets come from (shared by `diff` and `import`).
#[derive(Clone, Debug, Default, clap::Args)]
pub struct SourceArgs {
    /// Secret manifest (YAML) with the Stytch credentials: `project_id`, `secret`, optionally
    /// `base_url`. Used for every resource instead of its `credentialsRef`.
    #[arg(long, value_name = "FILE")]
    pub credentials_secret_file: Option<PathBuf>,
    /// Read referenced Secrets and ConfigMaps from the cluster of this kubeconfig.
    #[arg(long, value_name = "FILE")]
    pub kubeconfig: Option<PathBuf>,
    /// Read referenced Secrets and ConfigMaps from the cluster (in-cluster configuration, or
    /// `KUBECONFIG` / `~/.kube/config`), like `--kubeconfig` without naming the file.
    #[arg(long)]
    pub cluster: bool,
    /// Send every Stytch call to this base URL instead of the credentials' (e.g. a sandbox).
    #[arg(long, env = "STYTCH_BASE_URL")]
    pub stytch_base_url: Option<Url>,
}

impl SourceArgs {
    /// True when Secrets are read from a cluster.
    pub fn uses_cluster(&self) -> bool {
        self.kubeconfig.is_some() || self.cluster
    }

    /// The Stytch client pool these flags describe.
    pub fn stytch_pool(&self) -> Result<Arc<StytchPool>, GitopsError> {
        Ok(StytchPool::new(StytchConfig {
            base_url_override: self.stytch_base_url.clone(),
            ..Default::default()
        })?)
    }

    /// The Kubernetes client, when `--kubeconfig` or `--cluster` is given.
    pub async fn kube_client(&self) -> Result<Option<kube::Client>, GitopsError> {
        let config = match (&self.kubeconfig, self.cluster) {
            (Some(path), _) => {
                let kubeconfig = kube::config::Kubeconfig::read_from(path)
                    .map_err(|e| GitopsError::Kube(e.to_string()))?;
                kube::Config::from_custom_kubeconfig(kubeconfig, &Default::default())
                    .await
                    .map_err(|e| GitopsError::Kube(e.to_string()))?
            }
            (None, true) => kube::Config::infer()
                .await
                .map_err(|e| GitopsError::Kube(e.to_string()))?,
            (None, false) => return Ok(None),
        };
        kube::Client::try_from(config)
            .map(Some)
            .map_err(|e| GitopsError::Kube(e.to_string()))
    }

    /// The data of the `--credentials-secret-file` Secret, if given.
    pub fn credentials_file_data(&self) -> Result<Option<BTreeMap<String, Vec<u8>>>, GitopsError> {
        let Some(path) = &self.credentials_secret_file else {
            return Ok(None);
        };
        let inputs = manifests::read_paths(std::slice::from_ref(path))?;
        match inputs.secrets.as_slice() {
            [one] => Ok(Some(one.data.clone())),
            [] => Err(GitopsError::Manifest {
                path: path.display().to_string(),
                message: "no Secret in the credentials file".into(),
            }),
            _ => Err(GitopsError::Manifest {
                path: path.display().to_string(),
                message: "more than one Secret in the credentials file".into(),
            }),
        }
    }
}

/// Why `diff` or `import` cannot run at all. Messages never contain secret values.
#[derive(Debug, thiserror::Error)]
pub enum GitopsError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Manifest { path: String, message: String },
    #[error("Kubernetes: {0}")]
    Kube(String),
    #[error("Stytch: {0}")]
    Stytch(#[from] StytchError),
    #[error("credentials: {0}")]
    Credentials(String),
    #[error("{0}")]
    Usage(String),
    #[error("cannot render YAML: {0}")]
    Render(String),
}

/// `stytch-saml-operator diff`: prints the report; exit 0 = no changes, 2 = changes, 1 = errors.
pub async fn diff_command(args: &DiffArgs) -> ExitCode {
    match diff::run(args).await {
        Ok(report) => {
            print!("{}", render::render(&report, args.output));
            ExitCode::from(report.exit_code())
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}

/// `stytch-saml-operator import`: writes the manifests; exit 0 on success, 1 on errors.
pub async fn import_command(args: &ImportArgs) -> ExitCode {
    match import::run(args).await {
        Ok(summary) => {
            if !summary.is_empty() {
                eprintln!("{summary}");
            }
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::from(EXIT_ERROR)
        }
    }
}
