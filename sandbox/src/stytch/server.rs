//! HTTP server: shared state, the request pipeline (request log → fault rules → auth → rate
//! limit → handler) and the accept loop. The accept loop is hand-written (hyper HTTP/1) so a
//! fault rule can close a connection without writing any response.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tower::ServiceExt;

use super::auth::{authenticate, basic_credentials};
use super::config::{Behaviour, Seed};
use super::faults::{Faults, Outcome};
use super::ratelimit::RateLimiter;
use super::requestlog::{LogEntry, RequestLog, classify, is_write};
use super::state::{Store, lock};

/// Prefix of the test-control endpoints (no auth, never logged).
pub const ADMIN_PREFIX: &str = "/__sandbox/";

/// State shared by the server, the admin endpoints and [`super::Admin`].
#[derive(Debug)]
pub struct Shared {
    pub store: Mutex<Store>,
    pub behaviour: Mutex<Behaviour>,
    pub log: Mutex<RequestLog>,
    pub faults: Mutex<Faults>,
    pub limiter: Mutex<RateLimiter>,
    /// `http://127.0.0.1:PORT`.
    pub base_url: String,
    /// Base of generated `acs_url` / `audience_uri`.
    pub public_base_url: String,
    /// The seed given at start (what `/__sandbox/reset` restores).
    pub initial_seed: Mutex<Seed>,
}

/// Response extension: close the connection instead of answering.
#[derive(Clone, Copy, Debug)]
pub struct DropConnection;

/// Request extension: the client's socket address.
#[derive(Clone, Copy, Debug)]
pub struct PeerAddr(pub SocketAddr);

/// Keeps a request in the log's in-flight set until answered; when dropped unanswered (hyper
/// drops the pipeline when the client goes away) the request is marked abandoned.
struct InFlight<'a> {
    shared: &'a Shared,
    token: u64,
    /// Status of the change once the handler made it (before any `latency_after`).
    served: u16,
    answered: bool,
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        if !self.answered {
            lock(&self.shared.log).abandon(self.token, self.served, log_time());
        }
    }
}

fn log_time() -> String {
    jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

#[derive(Debug, thiserror::Error)]
#[error("connection dropped by a sandbox fault rule")]
struct DroppedByFault;

#[derive(Debug, thiserror::Error)]
#[error("response cut off by a sandbox fault rule")]
struct ResetByFault;

/// The response's status line, headers (with the full `Content-Length`) and the first half of
/// its body; then the body fails, so hyper closes the connection in the middle of the response.
async fn cut_off(response: Response) -> Response {
    use futures::StreamExt;
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    parts.headers.insert(
        axum::http::header::CONTENT_LENGTH,
        axum::http::HeaderValue::from(bytes.len()),
    );
    let half = bytes.slice(..bytes.len() / 2);
    let head = futures::stream::once(async move { Ok::<_, ResetByFault>(half) });
    // A pause lets hyper flush the head and the half body before the error aborts it.
    let reset = futures::stream::once(async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        Err(ResetByFault)
    });
    Response::from_parts(parts, Body::from_stream(head.chain(reset)))
}

fn now_ms() -> u64 {
    u64::try_from(jiff::Timestamp::now().as_millisecond()).unwrap_or(0)
}

async fn authed(shared: &Shared, mut req: Request, next: Next) -> Response {
    match authenticate(shared, req.headers(), now_ms()) {
        Ok(project) => {
            req.extensions_mut().insert(project);
            next.run(req).await
        }
        Err(response) => *response,
    }
}

/// The Stytch request pipeline (skipped for `/__sandbox/`).
pub async fn pipeline(State(shared): State<Arc<Shared>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_owned();
    if path.starts_with(ADMIN_PREFIX) {
        return next.run(req).await;
    }
    let method = req.method().as_str().to_owned();
    let query = req.uri().query().map(str::to_owned);
    let project_id = basic_credentials(req.headers()).ok().map(|(user, _)| user);
    let endpoint = classify(&method, &path);
    let peer = req.extensions().get::<PeerAddr>().map(|p| p.0.to_string());
    let mut entry = LogEntry {
        seq: 0,
        timestamp: String::new(),
        started: log_time(),
        peer,
        write: is_write(&method),
        method: method.clone(),
        path: path.clone(),
        query,
        endpoint: endpoint.to_owned(),
        status: 0,
        project_id,
        fault_rule: None,
    };
    let mut in_flight = InFlight {
        token: lock(&shared.log).begin(entry.clone()),
        shared: &shared,
        served: 0,
        answered: false,
    };
    let decision = lock(&shared.faults).evaluate(&method, &path);
    let mut fault_rule = None;
    let response = match decision {
        None => authed(&shared, req, next).await,
        Some(d) => {
            tracing::debug!(rule = %d.rule_id, %method, %path, "fault rule fired");
            fault_rule = Some(d.rule_id);
            if !d.latency.is_zero() {
                tokio::time::sleep(d.latency).await;
            }
            match d.outcome {
                Outcome::Pass => {
                    let response = authed(&shared, req, next).await;
                    in_flight.served = response.status().as_u16();
                    if !d.latency_after.is_zero() {
                        tokio::time::sleep(d.latency_after).await;
                    }
                    response
                }
                Outcome::Respond(err) => err.into_response(),
                Outcome::Drop => {
                    let mut r = Response::new(Body::empty());
                    r.extensions_mut().insert(DropConnection);
                    r
                }
                Outcome::ResetMidResponse => cut_off(authed(&shared, req, next).await).await,
            }
        }
    };
    let dropped = response.extensions().get::<DropConnection>().is_some();
    let status = if dropped {
        0
    } else {
        response.status().as_u16()
    };
    tracing::info!(%method, %path, endpoint, status, "stytch request");
    entry.timestamp = log_time();
    entry.status = status;
    entry.fault_rule = fault_rule;
    {
        let mut log = lock(&shared.log);
        log.end(in_flight.token);
        log.record(entry);
    }
    in_flight.answered = true;
    response
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let service = hyper::service::service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
        let router = router.clone();
        async move {
            let mut req = req.map(Body::new);
            req.extensions_mut().insert(PeerAddr(peer));
            let response = match router.oneshot(req).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            if response.extensions().get::<DropConnection>().is_some() {
                Err(DroppedByFault)
            } else {
                Ok(response)
            }
        }
    });
    let conn =
        hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service);
    tokio::pin!(conn);
    tokio::select! {
        result = conn.as_mut() => {
            if let Err(e) = result {
                tracing::debug!(error = %e, "connection closed with error");
            }
        }
        _ = shutdown.changed() => {
            conn.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
        }
    }
}

/// Accepts connections until `shutdown` changes (or its sender is dropped), then lets open
/// connections finish their current request (at most 5 s).
pub async fn accept_loop(
    listener: TcpListener,
    router: Router,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    connections.spawn(serve_connection(
                        stream,
                        peer,
                        router.clone(),
                        shutdown.clone(),
                    ));
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            },
            _ = shutdown.changed() => break,
        }
        while connections.try_join_next().is_some() {}
    }
    drop(listener);
    let _ = tokio::time::timeout(Duration::from_secs(6), async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    connections.abort_all();
}
