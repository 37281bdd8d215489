//! HTTP server wiring: one fallback handler, fault/latency injection, graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use super::authn::{Auth, Identity};
use super::faults::{Faults, injected};
use super::handlers::{App, parse_query, route};
use super::store::Store;

/// Maximum accepted request body.
const MAX_BODY: usize = 32 * 1024 * 1024;

async fn handle(State(app): State<Arc<App>>, req: Request) -> Response {
    let method = req.method().clone();
    let uri = req.uri().clone();
    let headers = req.headers().clone();
    let path = uri.path().to_string();
    if !path.starts_with("/__sandbox/") {
        if let Err(e) = authorize(&app, &method, &path, uri.query(), &headers) {
            return e.into_response();
        }
        let latency = app.faults.latency();
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
        if let Some(code) = app.faults.take_failure(method.as_str(), &path) {
            tracing::info!(%method, %path, code, "injected failure");
            return injected(code).into_response();
        }
    }
    let body = match axum::body::to_bytes(req.into_body(), MAX_BODY).await {
        Ok(b) => b,
        Err(e) => {
            return super::error::ApiError::BadRequest(format!("reading body: {e}"))
                .into_response();
        }
    };
    let query = parse_query(uri.query());
    tracing::debug!(%method, %uri, "request");
    match route(&app, &method, &path, &query, &headers, &body) {
        Ok(resp) => resp,
        Err(err) => err.into_response(),
    }
}

/// Authenticates a request and, for a service account, authorizes it with RBAC.
fn authorize(
    app: &App,
    method: &axum::http::Method,
    path: &str,
    query: Option<&str>,
    headers: &axum::http::HeaderMap,
) -> Result<(), super::error::ApiError> {
    let state = app.store.lock();
    match app.auth.authenticate(headers, &state)? {
        Identity::Admin => Ok(()),
        Identity::User(user) => {
            let watch = parse_query(query)
                .get("watch")
                .is_some_and(|w| w == "true" || w == "1");
            let info = super::requestinfo::parse(method, path, watch);
            app.auth.authorize(&user, info, &state)
        }
    }
}

/// A running server.
#[derive(Debug)]
pub struct Running {
    /// Bound address.
    pub addr: SocketAddr,
    /// Store.
    pub store: Arc<Store>,
    /// Fault controls.
    pub faults: Faults,
    /// Tokens and the audit log.
    pub auth: Auth,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

/// Binds `listen` and serves in a background task.
pub async fn start(listen: SocketAddr) -> std::io::Result<Running> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let store = Store::new();
    let faults = Faults::new(store.clone());
    let auth = Auth::default();
    let app = Arc::new(App {
        store: store.clone(),
        faults: faults.clone(),
        auth: auth.clone(),
        addr: addr.to_string(),
    });
    let router = Router::new().fallback(handle).with_state(app);
    let (tx, rx) = oneshot::channel::<()>();
    let closer = store.clone();
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = rx.await;
            closer.close_watches();
        };
        if let Err(e) = axum::serve(listener, router)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!(error = %e, "kube sandbox server failed");
        }
    });
    tracing::info!(%addr, "kube sandbox listening");
    Ok(Running {
        addr,
        store,
        faults,
        auth,
        shutdown: Some(tx),
        task: Some(task),
    })
}

impl Running {
    /// Stops accepting requests, closes watches and waits for the server task.
    pub async fn stop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(std::time::Duration::from_secs(5), task).await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
