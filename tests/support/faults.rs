//! Shared pieces of the fault matrix (issue #8): rows run in parallel, a sampler that catches
//! a stale `Ready=True` while a fault blocks a change, counts from the Stytch request log
//! (requests per minute per connection or organization, successful writes), /metrics sums,
//! and the report table. The operator on a known /metrics port comes from `probe.rs`.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sandbox::stytch::requestlog::LogEntry;
use serde_json::Value;
use stytch_saml_operator::api::SamlConnection;

use crate::support::{Env, is};

pub use crate::probe::{ProbedOperator, metric_sum, reconciles};

/// Runs every row at once (each in its own sandboxes), its report per row, in order.
pub async fn run_rows<R, F>(rows: Vec<R>, run: fn(R) -> F) -> Vec<F::Output>
where
    F: Future + Send + 'static,
    F::Output: Send + 'static,
{
    let tasks: Vec<_> = rows.into_iter().map(|row| tokio::spawn(run(row))).collect();
    let mut reports = Vec::new();
    for task in tasks {
        reports.push(task.await.unwrap());
    }
    reports
}

/// `stytch_saml_operator_reconciles_total` samples with `result="error"`.
pub fn reconcile_errors(metrics: &str) -> u64 {
    reconciles(metrics, "result=\"error\"")
}

/// Generous bound for anything to converge on a loaded 2-core machine.
pub const CONVERGE: Duration = Duration::from_secs(120);

/// What the Stytch sandbox must hold for a resource: its display name and its certificates.
pub fn desired_in_stytch(env: &Env, obj: &SamlConnection) -> bool {
    let Some(id) = obj.status.as_ref().and_then(|s| s.connection_id.clone()) else {
        return false;
    };
    let spec = serde_json::to_value(&obj.spec).unwrap_or_default();
    let name = spec["displayName"].as_str().unwrap_or_default();
    let certs = spec["idp"]["certificates"].as_array().map_or(0, Vec::len);
    env.connections()
        .iter()
        .find(|c| c.connection_id == id)
        .is_some_and(|c| c.display_name == name && c.verification_certificates.len() == certs)
}

/// `observedGeneration == generation`, `Ready=True` and Stytch holds the spec.
pub fn converged(env: &Env, obj: &SamlConnection) -> bool {
    current(obj) && is(obj, "Ready", "True") && desired_in_stytch(env, obj)
}

/// The status was computed for the current generation.
pub fn current(obj: &SamlConnection) -> bool {
    obj.status.as_ref().and_then(|s| s.observed_generation) == obj.metadata.generation
}

/// Waits until every named resource converged; panics with the last statuses otherwise.
pub async fn wait_converged(env: &Env, names: &[String]) {
    wait_converged_within(env, names, CONVERGE).await;
}

/// [`wait_converged`] with another bound (after a long fault the per-resource backoff, up to
/// 300 s, decides when the next attempt comes).
pub async fn wait_converged_within(env: &Env, names: &[String], within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let mut pending = Vec::new();
        for name in names {
            match env.api.get_opt(name).await {
                Ok(Some(obj)) if converged(env, &obj) => {}
                Ok(obj) => pending.push((name.clone(), obj.and_then(|o| o.status))),
                Err(_) => pending.push((name.clone(), None)),
            }
        }
        if pending.is_empty() {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not converged: {pending:#?}; Stytch: {:#?}",
            env.connections()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Samples every resource every 100 ms: a resource reporting `Ready=True` or `Synced=True` for
/// its current generation while Stytch does not hold that generation's spec is a stale Ready.
/// (Stytch is read after the resource, so a write made before the status counts.)
pub struct StaleReadySampler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<(usize, Vec<String>)>,
}

impl StaleReadySampler {
    pub fn start(env: &Arc<Env>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let (env, flag) = (env.clone(), stop.clone());
        let task = tokio::spawn(async move {
            let (mut samples, mut stale) = (0, Vec::new());
            while !flag.load(Ordering::Relaxed) {
                if let Ok(list) = env.api.list(&Default::default()).await {
                    for obj in list {
                        samples += 1;
                        let claims = is(&obj, "Ready", "True") || is(&obj, "Synced", "True");
                        if claims && current(&obj) && !desired_in_stytch(&env, &obj) {
                            stale.push(format!(
                                "{} generation {:?}",
                                obj.metadata.name.unwrap_or_default(),
                                obj.metadata.generation
                            ));
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (samples, stale)
        });
        Self { stop, task }
    }

    /// Stops sampling: (samples taken, stale observations).
    pub async fn finish(self) -> (usize, Vec<String>) {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap()
    }
}

/// Every request the Stytch sandbox saw, answered or abandoned by a client that timed out (an
/// abandoned request carries the status of the change it already made, `0` for none), in
/// arrival order; the flag tells the abandoned ones.
pub fn stytch_log(env: &Env) -> Vec<(LogEntry, bool)> {
    let admin = env.stytch.admin();
    let mut log: Vec<(LogEntry, bool)> = admin.requests().into_iter().map(|e| (e, false)).collect();
    log.extend(admin.abandoned().into_iter().map(|e| (e, true)));
    log.sort_by(|a, b| a.0.started.cmp(&b.0.started));
    log
}

/// The connection id a Stytch path names, else `org:<organization>`.
pub fn log_key(path: &str) -> String {
    let segments: Vec<&str> = path.trim_start_matches("/v1/b2b/sso/").split('/').collect();
    match segments.as_slice() {
        ["saml", _, "connections", id, ..] | [_, "connections", id, ..] => (*id).to_owned(),
        ["saml", org] | [org] => format!("org:{org}"),
        _ => path.to_owned(),
    }
}

/// Milliseconds since the epoch of a request-log timestamp.
pub fn log_ms(entry: &LogEntry) -> i64 {
    entry
        .timestamp
        .parse::<jiff::Timestamp>()
        .map(|t| t.as_millisecond())
        .unwrap_or_default()
}

/// Largest number of requests for one key in any `window`, over the keys of connections
/// (`org == false`) or of organizations (creates and lists, shared by its resources).
pub fn max_per_window(log: &[LogEntry], window: Duration, org: bool) -> (String, usize) {
    let mut by_key: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for e in log {
        let key = log_key(&e.path);
        if key.starts_with("org:") == org {
            by_key.entry(key).or_default().push(log_ms(e));
        }
    }
    let width = i64::try_from(window.as_millis()).unwrap_or(i64::MAX);
    let mut best = (String::new(), 0);
    for (key, mut times) in by_key {
        times.sort_unstable();
        let mut start = 0;
        for end in 0..times.len() {
            while times[end] - times[start] >= width {
                start += 1;
            }
            if end + 1 - start > best.1 {
                best = (key.clone(), end + 1 - start);
            }
        }
    }
    best
}

/// Successful (2xx) writes by endpoint.
pub fn successful_writes(log: &[LogEntry]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for e in log
        .iter()
        .filter(|e| e.write && (200..300).contains(&e.status))
    {
        *out.entry(e.endpoint.clone()).or_default() += 1;
    }
    out
}

/// Successful writes per connection / organization key.
pub fn successful_writes_by_key(log: &[LogEntry]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for e in log
        .iter()
        .filter(|e| e.write && (200..300).contains(&e.status))
    {
        *out.entry(log_key(&e.path)).or_default() += 1;
    }
    out
}

/// Requests answered with something else than 2xx (or not answered).
pub fn failed(log: &[LogEntry]) -> usize {
    log.iter()
        .filter(|e| !(200..300).contains(&e.status))
        .count()
}

/// Stytch requests the operator itself counted as failed (status not 2xx, or no response).
pub fn operator_failed_requests(metrics: &str) -> u64 {
    let all = metric_sum(metrics, "stytch_saml_operator_stytch_requests_total", "");
    let ok = metric_sum(
        metrics,
        "stytch_saml_operator_stytch_requests_total",
        "status=\"200\"",
    );
    all - ok
}

/// Top-level status fields and condition types, to show no status field was lost.
pub fn status_shape(obj: &SamlConnection) -> (Vec<String>, Vec<String>) {
    let status = serde_json::to_value(&obj.status).unwrap_or(Value::Null);
    let fields = status
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    let types = obj
        .status
        .as_ref()
        .map(|s| s.conditions.iter().map(|c| c.type_.clone()).collect())
        .unwrap_or_default();
    (fields, types)
}

/// Prints a table (`--nocapture`) with a header row.
pub fn print_table(title: &str, header: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.len());
        }
    }
    let line = |cells: Vec<&str>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    println!("\n{title}");
    println!("{}", line(header.to_vec()));
    println!(
        "{}",
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("-|-")
    );
    for row in rows {
        println!("{}", line(row.iter().map(String::as_str).collect()));
    }
}
