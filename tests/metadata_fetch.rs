//! `MetadataFetcher` against a loopback axum server (plain http with `allow_http_for_tests`, and
//! https through a small TLS-terminating proxy trusted via `extra_root_certificates`).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;
use base64::Engine;
use rcgen::{CertificateParams, KeyPair};
use sha2::{Digest, Sha256};
use stytch_saml_operator::metadata::{FetchError, FetchPolicy, MetadataError, MetadataFetcher};
use stytch_saml_operator::reconcile::Reason;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const BIG: usize = 3 * 1024 * 1024;

fn metadata_xml() -> String {
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["idp.example.com".to_owned()]).unwrap();
    let der = params.self_signed(&key).unwrap().der().to_vec();
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    format!(
        r#"<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.example.com/entity">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#
    )
}

struct Server {
    /// `http://127.0.0.1:port`
    http: String,
    /// `https://127.0.0.1:port` (TLS proxy in front of the same routes).
    https: String,
    ca_der: Vec<u8>,
    xml: String,
    /// HTTP requests seen by the routes.
    requests: Arc<AtomicUsize>,
    /// TCP connections accepted by the TLS proxy.
    tls_connections: Arc<AtomicUsize>,
}

async fn server() -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let http = format!("http://{}", listener.local_addr().unwrap());
    let xml = metadata_xml();
    let requests = Arc::new(AtomicUsize::new(0));

    let served = xml.clone();
    let plain = http.clone();
    let counter = Arc::clone(&requests);
    let app = Router::new()
        .route("/metadata", get(move || async move { served }))
        .route("/not-metadata", get(|| async { "<html>login</html>" }))
        .route("/big", get(|| async { vec![b'x'; BIG].into_response() }))
        .route(
            "/big-stream",
            get(|| async {
                let chunks = (0..BIG / 65536).map(|_| Ok::<_, std::io::Error>(vec![b' '; 65536]));
                Body::from_stream(futures::stream::iter(chunks)).into_response()
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "too late"
            }),
        )
        .route(
            "/redirect-http",
            get(move || async move { Redirect::temporary(&format!("{plain}/metadata")) }),
        )
        .route(
            "/redirect-localhost",
            get(|| async { Redirect::temporary("http://localhost:1/metadata") }),
        )
        .route(
            "/hop/{n}",
            get(|Path(n): Path<u32>| async move {
                match n {
                    0 => Redirect::temporary("/metadata"),
                    n => Redirect::temporary(&format!("/hop/{}", n - 1)),
                }
            }),
        )
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            counter.fetch_add(1, Ordering::SeqCst);
            async move { next.run(req).await }
        }));
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let (https, ca_der, tls_connections) = tls_proxy(http.trim_start_matches("http://")).await;
    Server {
        http,
        https,
        ca_der,
        xml,
        requests,
        tls_connections,
    }
}

/// Terminates TLS (certificate for 127.0.0.1) and pipes bytes to `backend`.
async fn tls_proxy(backend: &str) -> (String, Vec<u8>, Arc<AtomicUsize>) {
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    let der = params.self_signed(&key).unwrap().der().to_vec();
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("https://{}", listener.local_addr().unwrap());
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&connections);
    let backend = backend.to_owned();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let (acceptor, backend) = (acceptor.clone(), backend.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut upstream) = tokio::net::TcpStream::connect(&backend).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
            });
        }
    });
    (url, der, connections)
}

fn plain_http_policy() -> FetchPolicy {
    FetchPolicy {
        allow_http_for_tests: true,
        ..FetchPolicy::default()
    }
}

fn https_policy(server: &Server) -> FetchPolicy {
    FetchPolicy {
        allowed_hosts: Some(vec!["127.0.0.1".to_owned()]),
        extra_root_certificates: vec![server.ca_der.clone()],
        ..FetchPolicy::default()
    }
}

async fn fetch(
    policy: FetchPolicy,
    url: &str,
) -> Result<stytch_saml_operator::metadata::FetchedMetadata, FetchError> {
    let fetcher = MetadataFetcher::new(policy).unwrap();
    // A guard far above any limit under test, so a hang fails the test instead of blocking it.
    tokio::time::timeout(Duration::from_secs(20), fetcher.fetch(url))
        .await
        .expect("fetch did not finish")
}

#[tokio::test]
async fn fetches_parses_and_hashes_over_loopback_http() {
    let s = server().await;
    let before = jiff::Timestamp::now();
    let got = fetch(plain_http_policy(), &format!("{}/metadata", s.http))
        .await
        .unwrap();
    assert_eq!(got.body, s.xml.as_bytes());
    let expected: String = Sha256::digest(s.xml.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(got.sha256, expected);
    assert_eq!(got.sha256.len(), 64);
    assert!(got.fetched_at >= before);
    assert_eq!(got.metadata.entity_id, "https://idp.example.com/entity");
    assert_eq!(got.metadata.sso_url, "https://idp.example.com/sso");
    assert_eq!(got.metadata.certificates.len(), 1);
    assert_eq!(s.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn fetches_over_https_with_an_extra_root_and_follows_three_redirects() {
    let s = server().await;
    let got = fetch(https_policy(&s), &format!("{}/hop/2", s.https))
        .await
        .unwrap();
    assert_eq!(got.body, s.xml.as_bytes());
    assert_eq!(s.requests.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn http_is_refused_without_the_test_flag() {
    let s = server().await;
    let err = fetch(FetchPolicy::default(), &format!("{}/metadata", s.http))
        .await
        .unwrap_err();
    assert_eq!(err, FetchError::NotHttps("http".into()));
    assert_eq!(err.reason(), Reason::MetadataUrlNotHttps);
    assert_eq!(s.requests.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn host_outside_the_allow_list_is_refused_without_connecting() {
    let s = server().await;
    let policy = FetchPolicy {
        allowed_hosts: Some(vec!["idp.example.com".into(), "*.okta.com".into()]),
        ..https_policy(&s)
    };
    let err = fetch(policy, &format!("{}/metadata", s.https))
        .await
        .unwrap_err();
    assert_eq!(err, FetchError::HostNotAllowed("127.0.0.1".into()));
    assert_eq!(err.reason(), Reason::MetadataHostNotAllowed);
    assert_eq!(s.tls_connections.load(Ordering::SeqCst), 0);
    assert_eq!(s.requests.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn redirect_to_http_is_refused() {
    let s = server().await;
    let err = fetch(https_policy(&s), &format!("{}/redirect-http", s.https))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        FetchError::RedirectRefused(Box::new(FetchError::NotHttps("http".into())))
    );
    assert_eq!(err.reason(), Reason::MetadataUrlNotHttps);
    // Only the redirecting request reached the server.
    assert_eq!(s.requests.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn redirect_to_a_host_outside_the_allow_list_is_refused() {
    let s = server().await;
    let policy = FetchPolicy {
        allowed_hosts: Some(vec!["127.0.0.1".into()]),
        ..plain_http_policy()
    };
    let err = fetch(policy, &format!("{}/redirect-localhost", s.http))
        .await
        .unwrap_err();
    assert_eq!(
        err,
        FetchError::RedirectRefused(Box::new(FetchError::HostNotAllowed("localhost".into())))
    );
    assert_eq!(err.reason(), Reason::MetadataHostNotAllowed);
}

#[tokio::test]
async fn a_fourth_redirect_is_refused() {
    let s = server().await;
    let err = fetch(plain_http_policy(), &format!("{}/hop/3", s.http))
        .await
        .unwrap_err();
    assert_eq!(err, FetchError::TooManyRedirects);
    assert_eq!(s.requests.load(Ordering::SeqCst), 4);
}

#[tokio::test]
async fn oversized_bodies_are_aborted() {
    let s = server().await;
    for path in ["/big", "/big-stream"] {
        let err = fetch(plain_http_policy(), &format!("{}{path}", s.http))
            .await
            .unwrap_err();
        assert_eq!(err, FetchError::TooLarge { limit: 1024 * 1024 }, "{path}");
    }
}

#[tokio::test]
async fn a_hanging_server_times_out() {
    let s = server().await;
    let policy = FetchPolicy {
        timeout: Duration::from_secs(1),
        ..plain_http_policy()
    };
    let started = Instant::now();
    let err = fetch(policy, &format!("{}/slow", s.http))
        .await
        .unwrap_err();
    assert_eq!(err, FetchError::Timeout(Duration::from_secs(1)));
    assert!(err.is_transient());
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn not_found_is_an_error() {
    let s = server().await;
    let err = fetch(plain_http_policy(), &format!("{}/missing", s.http))
        .await
        .unwrap_err();
    assert_eq!(err, FetchError::Status(StatusCode::NOT_FOUND.as_u16()));
    assert_eq!(err.reason(), Reason::MetadataUrlInvalid);
    assert!(!err.is_transient());
}

#[tokio::test]
async fn a_page_that_is_not_metadata_is_a_metadata_error() {
    let s = server().await;
    let err = fetch(plain_http_policy(), &format!("{}/not-metadata", s.http))
        .await
        .unwrap_err();
    assert!(
        matches!(err, FetchError::Metadata(MetadataError::InvalidFormat(_))),
        "{err:?}"
    );
    assert_eq!(err.reason(), Reason::MetadataInvalidFormat);
    assert!(!err.to_string().contains("login"));
}
