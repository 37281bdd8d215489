//! The release operator binary as a child process: start, readiness, `/metrics`, `/proc`
//! sampling (RSS, CPU seconds) and graceful stop.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::process::{Child, Command};

use super::BoxError;

/// How to start the operator.
#[derive(Clone, Debug)]
pub struct OperatorSpec {
    pub binary: PathBuf,
    pub kubeconfig: PathBuf,
    pub stytch_base_url: String,
    pub resync_interval: String,
    pub rate_limit: f64,
    pub concurrency: u16,
    pub log_file: PathBuf,
}

/// A running operator process.
pub struct OperatorProcess {
    child: Child,
    pid: u32,
    metrics_url: String,
    http: reqwest::Client,
}

/// Memory and CPU of a process, from `/proc`.
#[derive(Clone, Copy, Debug, Default, serde::Serialize)]
pub struct ProcSample {
    /// Current resident set, MiB.
    pub rss_mib: f64,
    /// Peak resident set since start (`VmHWM`), MiB.
    pub hwm_mib: f64,
    /// User + system CPU seconds since start.
    pub cpu_seconds: f64,
}

/// The operator binary: `--operator-bin`, else next to this executable.
pub fn find_binary(explicit: Option<&Path>) -> Result<PathBuf, BoxError> {
    if let Some(path) = explicit {
        return Ok(path.to_owned());
    }
    let exe = std::env::current_exe()?;
    let dir = exe.parent().ok_or("current executable has no directory")?;
    let candidate = dir.join("stytch-saml-operator");
    if candidate.is_file() {
        Ok(candidate)
    } else {
        Err(format!(
            "no operator binary at {}; build it with `cargo build --release -p stytch-saml-operator` or pass --operator-bin",
            candidate.display()
        )
        .into())
    }
}

fn free_port() -> Result<u16, BoxError> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?.port())
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// Reads `/proc/<pid>/status` and `/proc/<pid>/stat`.
pub fn sample(pid: u32) -> Result<ProcSample, BoxError> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kib = |key: &str| -> f64 {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the `(comm)`: state is field 3, utime 14, stime 15.
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    let tick = |i: usize| -> f64 {
        fields
            .get(i)
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Ok(ProcSample {
        rss_mib: kib("VmRSS:") / 1024.0,
        hwm_mib: kib("VmHWM:") / 1024.0,
        cpu_seconds: (tick(11) + tick(12)) / clock_ticks(),
    })
}

impl OperatorProcess {
    /// Starts the binary and waits until `/readyz` answers 200 (at most 60 s).
    pub async fn start(spec: OperatorSpec) -> Result<Self, BoxError> {
        let port = free_port()?;
        let log = std::fs::File::create(&spec.log_file)?;
        let child = Command::new(&spec.binary)
            .arg("run")
            .arg("--kubeconfig")
            .arg(&spec.kubeconfig)
            .arg("--metrics-addr")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--resync-interval")
            .arg(&spec.resync_interval)
            .arg("--concurrency")
            .arg(spec.concurrency.to_string())
            .arg("--stytch-base-url")
            .arg(&spec.stytch_base_url)
            .arg("--stytch-rate-limit")
            .arg(spec.rate_limit.to_string())
            .arg("--log-format")
            .arg("json")
            .env("RUST_LOG", "warn")
            .stdout(std::process::Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()?;
        let pid = child.id().ok_or("operator exited at once")?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()?;
        let mut op = Self {
            child,
            pid,
            metrics_url: format!("http://127.0.0.1:{port}"),
            http,
        };
        // Up at /healthz, then /readyz (caches synced) for at most 10 s more: some builds
        // report readiness only once there is something to reconcile.
        let started = tokio::time::Instant::now();
        let mut healthy_at = None;
        loop {
            if let Some(status) = op.child.try_wait()? {
                return Err(format!(
                    "operator exited during start ({status}); see {}",
                    spec.log_file.display()
                )
                .into());
            }
            let path = if healthy_at.is_some() {
                "readyz"
            } else {
                "healthz"
            };
            let ok = op
                .http
                .get(format!("{}/{path}", op.metrics_url))
                .send()
                .await
                .is_ok_and(|r| r.status().is_success());
            match (ok, healthy_at) {
                (true, Some(_)) => return Ok(op),
                (true, None) => healthy_at = Some(tokio::time::Instant::now()),
                (false, Some(at)) if at.elapsed() > Duration::from_secs(10) => return Ok(op),
                _ => {}
            }
            if started.elapsed() > Duration::from_secs(60) {
                return Err("operator not healthy within 60 s".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn sample(&self) -> Result<ProcSample, BoxError> {
        sample(self.pid)
    }

    /// The `/metrics` exposition: each sample line's name-with-labels and value.
    pub async fn metrics(&self) -> Result<BTreeMap<String, f64>, BoxError> {
        let text = self
            .http
            .get(format!("{}/metrics", self.metrics_url))
            .send()
            .await?
            .error_for_status()?
            .text()
            .await?;
        Ok(text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (key, value) = l.rsplit_once(' ')?;
                Some((key.to_owned(), value.parse::<f64>().ok()?))
            })
            .collect())
    }

    /// Sum of the samples of `name` whose labels contain every one of `labels`.
    pub async fn sum(&self, name: &str, labels: &[&str]) -> Result<f64, BoxError> {
        Ok(sum_of(&self.metrics().await?, name, labels))
    }

    /// Sends SIGTERM and waits (at most 20 s, then kills).
    pub async fn stop(mut self) -> Result<(), BoxError> {
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(self.pid.to_string())
            .status();
        if tokio::time::timeout(Duration::from_secs(20), self.child.wait())
            .await
            .is_err()
        {
            self.child.start_kill()?;
            self.child.wait().await?;
        }
        Ok(())
    }
}

/// Sum of the samples of metric `name` whose label text contains every one of `labels`.
pub fn sum_of(metrics: &BTreeMap<String, f64>, name: &str, labels: &[&str]) -> f64 {
    metrics
        .iter()
        .filter(|(k, _)| {
            k.split_once('{').map_or(k.as_str(), |(n, _)| n) == name
                && labels.iter().all(|l| k.contains(l))
        })
        .map(|(_, v)| v)
        .sum::<f64>()
        + 0.0 // an empty float sum is -0.0
}
