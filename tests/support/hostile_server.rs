//! A hostile IdP metadata server over https (sandbox::https): redirects to http, 50 MB bodies,
//! a hang, invalid XML, entity expansion, external entities; plus a plain TCP listener that
//! counts connections, as the target an external entity would make the parser fetch.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;

/// 50 MiB.
pub const HUGE: usize = 50 * 1024 * 1024;
const CHUNK: usize = 64 * 1024;

pub struct HostileServer {
    pub https: sandbox::https::HttpsServer,
    /// Bytes of the 50 MB bodies the server managed to hand to the TCP stack (kernel socket
    /// buffers take several MB after the client stopped reading).
    pub huge_bytes_sent: Arc<AtomicUsize>,
    /// Requests for the 50 MB bodies.
    pub huge_requests: Arc<AtomicUsize>,
    /// Requests to `/ok`, the only path that serves real metadata.
    pub ok_requests: Arc<AtomicUsize>,
    /// Connections to the external-entity target.
    pub exfil_connections: Arc<AtomicUsize>,
    /// `https://127.0.0.1:PORT` of the external-entity target (never answered).
    pub exfil_url: String,
}

impl HostileServer {
    /// `https://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.https.url)
    }

    /// The same server under a host name that is not allow-listed.
    pub fn localhost_url(&self, path: &str) -> String {
        format!("{}{path}", self.https.url.replace("127.0.0.1", "localhost"))
    }
}

fn huge_stream(sent: Arc<AtomicUsize>, requests: Arc<AtomicUsize>, declared: bool) -> Response {
    requests.fetch_add(1, Ordering::SeqCst);
    let chunks = (0..HUGE / CHUNK).map(move |_| {
        sent.fetch_add(CHUNK, Ordering::SeqCst);
        Ok::<_, std::io::Error>(vec![b' '; CHUNK])
    });
    let mut response = Body::from_stream(futures::stream::iter(chunks)).into_response();
    if declared {
        response
            .headers_mut()
            .insert(header::CONTENT_LENGTH, HUGE.into());
    }
    response
}

pub fn billion_laughs() -> String {
    let mut dtd = String::from("<!ENTITY lol0 \"lol\">\n");
    for i in 1..10 {
        let refs = format!("&lol{};", i - 1).repeat(10);
        dtd.push_str(&format!("<!ENTITY lol{i} \"{refs}\">\n"));
    }
    format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE md:EntityDescriptor [\n{dtd}]>\n\
         <md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" \
         entityID=\"&lol9;\"/>\n"
    )
}

fn external_entity(target: &str) -> String {
    format!(
        "<?xml version=\"1.0\"?>\n<!DOCTYPE md:EntityDescriptor [\n\
         <!ENTITY xxe SYSTEM \"{target}\">\n]>\n\
         <md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" \
         entityID=\"&xxe;\"/>\n"
    )
}

/// Starts the server and the external-entity target.
pub async fn start() -> HostileServer {
    let exfil = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let exfil_url = format!("https://{}/exfil", exfil.local_addr().unwrap());
    let exfil_connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&exfil_connections);
    tokio::spawn(async move {
        while let Ok((_tcp, _)) = exfil.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });

    let huge_bytes_sent = Arc::new(AtomicUsize::new(0));
    let huge_requests = Arc::new(AtomicUsize::new(0));
    let ok_requests = Arc::new(AtomicUsize::new(0));
    let (declared, chunked, ok) = (
        (Arc::clone(&huge_bytes_sent), Arc::clone(&huge_requests)),
        (Arc::clone(&huge_bytes_sent), Arc::clone(&huge_requests)),
        Arc::clone(&ok_requests),
    );
    let (xxe_http, xxe_file) = (
        external_entity(&exfil_url),
        external_entity("file:///etc/passwd"),
    );
    let router = Router::new()
        .route(
            "/ok",
            get(move || async move {
                ok.fetch_add(1, Ordering::SeqCst);
                "<md:EntityDescriptor xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\"/>"
            }),
        )
        .route(
            "/redirect-http",
            get(|| async { Redirect::temporary("http://127.0.0.1:1/ok") }),
        )
        .route("/loop", get(|| async { Redirect::temporary("/loop") }))
        .route(
            "/huge-declared",
            get(move || async move { huge_stream(declared.0, declared.1, true) }),
        )
        .route(
            "/huge-chunked",
            get(move || async move { huge_stream(chunked.0, chunked.1, false) }),
        )
        .route(
            "/hang",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                "too late"
            }),
        )
        .route(
            "/invalid-xml",
            get(|| async { "<md:EntityDescriptor entityID=\"x\"><md:IDPSSODescriptor>" }),
        )
        .route("/not-xml", get(|| async { "{\"metadata\": true}" }))
        .route(
            "/html",
            get(|| async { "<html><body>Sign in</body></html>" }),
        )
        .route("/billion-laughs", get(|| async { billion_laughs() }))
        .route("/xxe-http", get(move || async move { xxe_http }))
        .route("/xxe-file", get(move || async move { xxe_file }))
        .route(
            "/not-found",
            get(|| async { (axum::http::StatusCode::NOT_FOUND, "no such page") }),
        );
    let https = sandbox::https::serve_https(router).await.unwrap();
    HostileServer {
        https,
        huge_bytes_sent,
        huge_requests,
        ok_requests,
        exfil_connections,
        exfil_url,
    }
}
