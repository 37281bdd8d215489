//! A loopback https server for tests and the demo: serves an axum router with a fresh
//! self-signed certificate, and hands out that certificate so clients can trust it.
//!
//! Needed because the `SamlConnection` schema admits only https metadata URLs.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use hyper_util::rt::TokioIo;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tower::ServiceExt;

/// A running https server.
#[derive(Debug)]
pub struct HttpsServer {
    /// `https://127.0.0.1:PORT` (no trailing slash).
    pub url: String,
    /// The server certificate (self-signed, for `127.0.0.1` and `localhost`) as PEM.
    pub cert_pem: String,
    /// The same certificate as DER.
    pub cert_der: Vec<u8>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for HttpsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum HttpsError {
    #[error("certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("TLS: {0}")]
    Tls(#[from] tokio_rustls::rustls::Error),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
}

/// Serves `router` over https on `127.0.0.1:<random port>`.
pub async fn serve_https(router: Router) -> Result<HttpsServer, HttpsError> {
    let key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()])?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "sandbox https server");
    let cert = params.self_signed(&key)?;
    let cert_der = cert.der().to_vec();
    let provider = Arc::new(tokio_rustls::rustls::crypto::aws_lc_rs::default_provider());
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(cert_der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )?;
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("https://127.0.0.1:{}", listener.local_addr()?.port());
    let task = tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, router) = (acceptor.clone(), router.clone());
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let service = hyper::service::service_fn(
                    move |req: hyper::Request<hyper::body::Incoming>| {
                        router.clone().oneshot(req.map(Body::new))
                    },
                );
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(tls), service)
                    .await;
            });
        }
    });
    Ok(HttpsServer {
        url,
        cert_pem: cert.pem(),
        cert_der,
        task,
    })
}
