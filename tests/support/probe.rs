//! The operator started in-process by the test itself on a known metrics port (for /metrics
//! and /healthz), metrics scraping and reconcile counting, fixtures, Secrets and `kubectl`
//! against the Kubernetes sandbox; shared by the fault, fault-matrix, hostile-input,
//! refused-write and secret-hygiene tests (`#[path = "support/probe.rs"] mod probe;`).

#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use clap::Parser;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use serde_json::json;
use stytch_saml_operator::operator::StartError;

use crate::support::{Env, NS};

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    run: stytch_saml_operator::operator::RunArgs,
}

/// A free loopback port (bound, then released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The operator started in-process by the test itself, on a known metrics port.
pub struct ProbedOperator {
    pub port: u16,
    stop: Option<futures::channel::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<Result<(), StartError>>,
}

impl ProbedOperator {
    /// Starts it as the harness runs operators (the chart's RBAC, `env.operator_kubeconfig`).
    pub async fn start(env: &Env, extra: &[&str]) -> Self {
        Self::start_with(&env.operator_kubeconfig, extra).await
    }

    /// Starts it with `kubeconfig` on a free port, and on another one when that port was taken
    /// in the meantime (many sandboxes and operators bind ports concurrently); returns once
    /// /metrics answers.
    pub async fn start_with(kubeconfig: &Path, extra: &[&str]) -> Self {
        let kubeconfig = kubeconfig.display().to_string();
        for _ in 0..10 {
            let port = free_port();
            let metrics = format!("127.0.0.1:{port}");
            let mut argv = vec!["test", "--kubeconfig", &kubeconfig];
            argv.extend_from_slice(&["--metrics-addr", &metrics, "--stytch-rate-limit", "1000"]);
            argv.extend_from_slice(extra);
            let args = Args::parse_from(argv).run;
            let (stop, stopped) = futures::channel::oneshot::channel::<()>();
            let task = tokio::spawn(async move {
                use futures::FutureExt;
                stytch_saml_operator::operator::run(args, stopped.map(|_| ()), Default::default())
                    .await
            });
            let url = format!("http://127.0.0.1:{port}/metrics");
            for _ in 0..300 {
                if task.is_finished() {
                    break;
                }
                if let Ok(r) = reqwest::get(&url).await
                    && r.text()
                        .await
                        .unwrap_or_default()
                        .contains("# TYPE stytch_saml_operator_")
                    && !task.is_finished()
                {
                    return Self {
                        port,
                        stop: Some(stop),
                        task,
                    };
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            match task.await.unwrap() {
                Err(StartError::Http { .. }) => continue,
                other => panic!("the operator did not start: {other:?}"),
            }
        }
        panic!("no free port for the operator's /metrics");
    }

    /// GET of a path on the metrics port (retried while the server starts).
    pub async fn get(&self, path: &str) -> (u16, String) {
        http_get(self.port, path).await
    }

    pub async fn metrics(&self) -> String {
        self.get("/metrics").await.1
    }

    /// Stops it; panics if it failed.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let stopped = tokio::time::timeout(Duration::from_secs(15), self.task).await;
        if let Ok(Ok(Err(e))) = stopped {
            panic!("the operator failed: {e}");
        }
    }
}

/// GET `http://127.0.0.1:{port}{path}`, retried for up to 10 s while nothing listens.
pub async fn http_get(port: u16, path: &str) -> (u16, String) {
    let url = format!("http://127.0.0.1:{port}{path}");
    for _ in 0..100 {
        if let Ok(r) = reqwest::get(&url).await {
            let status = r.status().as_u16();
            return (status, r.text().await.unwrap());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("nothing answers at {url}");
}

/// Sum of the samples of a metric whose label set contains `filter`.
pub fn metric_sum(metrics: &str, name: &str, filter: &str) -> u64 {
    metrics
        .lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(filter))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

/// Sum of `stytch_saml_operator_reconciles_total` samples whose labels contain `filter`.
pub fn reconciles(metrics: &str, filter: &str) -> u64 {
    metric_sum(metrics, "stytch_saml_operator_reconciles_total", filter)
}

/// A file under tests/fixtures/.
pub fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

/// Creates a Secret from `stringData` in the test namespace.
pub async fn put_secret(env: &Env, name: &str, data: serde_json::Value) {
    put_secret_in(env, NS, name, data).await;
}

/// Creates a Secret from `stringData` in namespace `ns`.
pub async fn put_secret_in(env: &Env, ns: &str, name: &str, data: serde_json::Value) {
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), ns);
    let secret: Secret =
        serde_json::from_value(json!({"metadata": {"name": name}, "stringData": data})).unwrap();
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
}

/// Runs the real `kubectl` against the Kubernetes sandbox: (success, stdout + stderr).
pub async fn kubectl(env: &Env, args: &[&str]) -> (bool, String) {
    let out = tokio::process::Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(env.kube.kubeconfig_path())
        .args(args)
        .output()
        .await
        .expect("kubectl on PATH");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
