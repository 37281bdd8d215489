//! In-memory Kubernetes API server emulator (issue #4) that real `kubectl` and kube-rs drive
//! over plain HTTP on loopback. See `sandbox/KUBE_SANDBOX.md` for what is emulated.
//!
//! ```no_run
//! # async fn demo() -> Result<(), sandbox::kube::SandboxError> {
//! let sandbox = sandbox::kube::KubeSandbox::start().await?;
//! let client = sandbox.client().await?;
//! sandbox.faults().close_watches();
//! # drop(client);
//! sandbox.shutdown().await;
//! # Ok(()) }
//! ```

pub mod authn;
pub mod builtin;
pub mod cel;
pub mod cli;
pub mod crd;
pub mod delete;
pub mod discovery;
pub mod error;
pub mod events;
pub mod faults;
pub mod fieldset;
pub mod handlers;
pub mod meta;
pub mod openapi;
pub mod ops;
pub mod patch;
pub mod protobuf;
pub mod rbac;
pub mod requestinfo;
pub mod resources;
pub mod selectors;
pub mod server;
pub mod ssa;
pub mod store;
pub mod table;
pub mod validate;
pub mod verbs;
pub mod watch;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

pub use faults::Faults;

/// Errors starting or using the sandbox.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// Binding or writing files failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The kubeconfig could not be loaded by kube-rs.
    #[error("kubeconfig error: {0}")]
    Kubeconfig(#[from] kube::config::KubeconfigError),
    /// The kube client could not be built.
    #[error("kube client error: {0}")]
    Client(#[from] kube::Error),
}

/// Kubeconfig YAML for a server URL (context `sandbox`, namespace `default`, token `sandbox`).
pub fn kubeconfig_yaml(server: &str) -> String {
    kubeconfig_yaml_for(server, authn::ADMIN_TOKEN, "default")
}

/// Kubeconfig YAML for a server URL with a bearer token and a default namespace.
pub fn kubeconfig_yaml_for(server: &str, token: &str, namespace: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: sandbox\n  cluster:\n    server: {server}\nusers:\n- name: sandbox\n  user:\n    token: {token}\ncontexts:\n- name: sandbox\n  context:\n    cluster: sandbox\n    user: sandbox\n    namespace: {namespace}\ncurrent-context: sandbox\npreferences: {{}}\n"
    )
}

/// A kube-rs client from a kubeconfig file.
pub async fn client_from(path: &Path) -> Result<kube::Client, SandboxError> {
    let kubeconfig = kube::config::Kubeconfig::read_from(path)?;
    let config = kube::Config::from_custom_kubeconfig(
        kubeconfig,
        &kube::config::KubeConfigOptions::default(),
    )
    .await?;
    Ok(kube::Client::try_from(config)?)
}

/// A running in-memory API server.
#[derive(Debug)]
pub struct KubeSandbox {
    running: server::Running,
    kubeconfig: PathBuf,
    _dir: tempfile::TempDir,
}

impl KubeSandbox {
    /// Starts a sandbox on `127.0.0.1:<random port>` and writes its kubeconfig to a temp dir.
    pub async fn start() -> Result<Self, SandboxError> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0))).await
    }

    /// Starts a sandbox on a given address.
    pub async fn start_on(listen: SocketAddr) -> Result<Self, SandboxError> {
        let running = server::start(listen).await?;
        let dir = tempfile::tempdir()?;
        let kubeconfig = dir.path().join("kubeconfig");
        std::fs::write(
            &kubeconfig,
            kubeconfig_yaml(&format!("http://{}", running.addr)),
        )?;
        Ok(Self {
            running,
            kubeconfig,
            _dir: dir,
        })
    }

    /// Path of the kubeconfig (current context `sandbox`, namespace `default`).
    pub fn kubeconfig_path(&self) -> &Path {
        &self.kubeconfig
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.running.addr)
    }

    /// Bound socket address.
    pub fn addr(&self) -> SocketAddr {
        self.running.addr
    }

    /// A kube-rs client built from the sandbox kubeconfig (default namespace `default`).
    pub async fn client(&self) -> Result<kube::Client, SandboxError> {
        client_from(&self.kubeconfig).await
    }

    /// Writes a kubeconfig whose user is the service account `namespace/name` (a new token;
    /// requests are authorized by RBAC, and fail with 401 once the ServiceAccount is gone).
    /// The file lives as long as the sandbox.
    pub fn service_account_kubeconfig(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<PathBuf, SandboxError> {
        let token = self.running.auth.issue(namespace, name);
        let path = self.kubeconfig.with_file_name(format!(
            "kubeconfig-{namespace}-{name}-{}",
            &token[token.len() - 8..]
        ));
        std::fs::write(
            &path,
            kubeconfig_yaml_for(&self.base_url(), &token, namespace),
        )?;
        Ok(path)
    }

    /// A kube-rs client acting as the service account `namespace/name`.
    pub async fn service_account_client(
        &self,
        namespace: &str,
        name: &str,
    ) -> Result<kube::Client, SandboxError> {
        client_from(&self.service_account_kubeconfig(namespace, name)?).await
    }

    /// Tokens and the audit log of service-account requests.
    pub fn auth(&self) -> &authn::Auth {
        &self.running.auth
    }

    /// Service-account requests so far (allowed and denied), oldest first.
    pub fn audit(&self) -> Vec<authn::AuditEntry> {
        self.running.auth.audit()
    }

    /// Fault injection controls.
    pub fn faults(&self) -> &Faults {
        &self.running.faults
    }

    /// Current global resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.running.store.lock().rv
    }

    /// Stops the server (open watches are closed).
    pub async fn shutdown(mut self) {
        self.running.stop().await;
    }
}
