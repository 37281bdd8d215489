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
    format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: sandbox\n  cluster:\n    server: {server}\nusers:\n- name: sandbox\n  user:\n    token: sandbox\ncontexts:\n- name: sandbox\n  context:\n    cluster: sandbox\n    user: sandbox\n    namespace: default\ncurrent-context: sandbox\npreferences: {{}}\n"
    )
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
        let kubeconfig = kube::config::Kubeconfig::read_from(&self.kubeconfig)?;
        let config = kube::Config::from_custom_kubeconfig(
            kubeconfig,
            &kube::config::KubeConfigOptions::default(),
        )
        .await?;
        Ok(kube::Client::try_from(config)?)
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
