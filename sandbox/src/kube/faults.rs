//! Fault injection: failing requests, forced `410 Gone`, latency, dropped watches, restarts.
//! Also reachable over HTTP under `/__sandbox/faults/...` (see [`admin`]).

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::{Value, json};

use super::error::{ApiError, ApiResult};
use super::store::Store;

/// resourceVersion jump applied by [`Faults::simulate_restart`].
pub const RESTART_RV_BUMP: u64 = 10_000;

#[derive(Debug)]
struct FailRule {
    remaining: usize,
    prefix: String,
    method: Option<String>,
    status: u16,
}

#[derive(Debug, Default)]
struct Inner {
    rules: Vec<FailRule>,
    gone_watches: usize,
    latency: Duration,
}

/// Fault controls of a running sandbox (cheap to clone).
#[derive(Debug, Clone)]
pub struct Faults {
    inner: Arc<Mutex<Inner>>,
    store: Arc<Store>,
}

impl Faults {
    pub(crate) fn new(store: Arc<Store>) -> Self {
        Self {
            inner: Arc::default(),
            store,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Ends every open watch stream (clients see EOF and re-watch).
    pub fn close_watches(&self) {
        tracing::info!("fault: closing all watches");
        self.store.close_watches();
    }

    /// Answers the next `n` requests whose path starts with `path_prefix` with `status`
    /// (e.g. 500 or 429) and a `Status` body.
    pub fn fail_next(&self, n: usize, path_prefix: &str, status: u16) {
        self.push_rule(n, None, path_prefix, status);
    }

    /// Like [`Faults::fail_next`], only for requests with the given HTTP method (`GET`, `PATCH`, ...).
    pub fn fail_next_method(&self, n: usize, method: &str, path_prefix: &str, status: u16) {
        self.push_rule(n, Some(method.to_ascii_uppercase()), path_prefix, status);
    }

    fn push_rule(&self, n: usize, method: Option<String>, prefix: &str, status: u16) {
        tracing::info!(n, ?method, prefix, status, "fault: failing requests");
        self.lock().rules.push(FailRule {
            remaining: n,
            prefix: prefix.to_string(),
            method,
            status,
        });
    }

    /// The next watch request gets a `410 Gone` ERROR event instead of events.
    pub fn gone_next_watch(&self) {
        self.lock().gone_watches += 1;
    }

    /// Adds latency before every API request (zero disables).
    pub fn set_latency(&self, latency: Duration) {
        self.lock().latency = latency;
    }

    /// Simulates an API server restart: closes all watches and moves the resourceVersion past
    /// the retained window, so watches resuming from an older resourceVersion get `410 Gone`.
    pub fn simulate_restart(&self) {
        self.store.lock().compact_all(RESTART_RV_BUMP);
        self.store.close_watches();
        tracing::info!("fault: simulated restart");
    }

    /// Removes all pending faults and latency.
    pub fn clear(&self) {
        *self.lock() = Inner::default();
    }

    /// A status code to fail this request with, consuming one use of a matching rule.
    pub(crate) fn take_failure(&self, method: &str, path: &str) -> Option<u16> {
        let mut inner = self.lock();
        let rule = inner.rules.iter_mut().find(|r| {
            r.remaining > 0
                && path.starts_with(&r.prefix)
                && r.method.as_deref().is_none_or(|m| m == method)
        })?;
        rule.remaining -= 1;
        let status = rule.status;
        inner.rules.retain(|r| r.remaining > 0);
        Some(status)
    }

    pub(crate) fn take_gone(&self) -> bool {
        let mut inner = self.lock();
        if inner.gone_watches > 0 {
            inner.gone_watches -= 1;
            true
        } else {
            false
        }
    }

    pub(crate) fn latency(&self) -> Duration {
        self.lock().latency
    }
}

/// The error for an injected failure.
pub fn injected(status: u16) -> ApiError {
    let reason = match status {
        429 => "TooManyRequests",
        500 => "InternalError",
        503 => "ServiceUnavailable",
        504 => "Timeout",
        _ => "InternalError",
    };
    ApiError::Custom {
        code: status,
        reason: reason.into(),
        message: format!("injected fault: {reason}"),
    }
}

/// `POST /__sandbox/faults/{close-watches|restart|gone-next-watch|clear|fail|latency}`.
/// `fail` takes `{"count": n, "pathPrefix": "/apis/...", "status": 500, "method": "GET"}`,
/// `latency` takes `{"millis": n}`.
pub fn admin(faults: &Faults, action: &str, body: &Value) -> ApiResult<Value> {
    match action {
        "close-watches" => faults.close_watches(),
        "restart" => faults.simulate_restart(),
        "gone-next-watch" => faults.gone_next_watch(),
        "clear" => faults.clear(),
        "fail" => {
            let count = body.get("count").and_then(Value::as_u64).unwrap_or(1) as usize;
            let prefix = body
                .get("pathPrefix")
                .and_then(Value::as_str)
                .unwrap_or("/");
            let status = body.get("status").and_then(Value::as_u64).unwrap_or(500) as u16;
            match body.get("method").and_then(Value::as_str) {
                Some(m) => faults.fail_next_method(count, m, prefix, status),
                None => faults.fail_next(count, prefix, status),
            }
        }
        "latency" => {
            let ms = body.get("millis").and_then(Value::as_u64).unwrap_or(0);
            faults.set_latency(Duration::from_millis(ms));
        }
        _ => return Err(ApiError::NoRoute),
    }
    Ok(json!({"ok": true, "action": action}))
}
