//! Both HTTP stacks (kube's client and the Stytch client's reqwest) make real https requests in
//! one process. With two rustls crypto providers compiled in, the first TLS connection panics
//! ("Could not automatically determine the process-level CryptoProvider"); this test keeps the
//! dependency features honest.

use std::sync::Arc;

use rcgen::{CertificateParams, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A TLS server on loopback answering every request with `body` (HTTP/1.1, then close).
async fn https_server(body: &'static str) -> (String, Vec<u8>) {
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let cert = params.self_signed(&key).unwrap();
    let der = cert.der().to_vec();
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(der.clone())],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut buf = vec![0u8; 8192];
                let mut read = 0;
                while !buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf[read..]).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => read += n,
                    }
                }
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (url, der)
}

#[tokio::test]
async fn kube_and_stytch_clients_both_speak_https_in_one_process() {
    let (url, ca) = https_server(
        r#"{"major":"1","minor":"33","gitVersion":"v1.33.0","gitCommit":"","gitTreeState":"","buildDate":"","goVersion":"","compiler":"","platform":"linux/amd64","request_id":"r","status_code":200,"saml_connections":[],"oidc_connections":[],"external_connections":[]}"#,
    )
    .await;

    let mut config = kube::Config::new(url.parse().unwrap());
    config.root_cert = Some(vec![ca.clone()]);
    let kube_client = kube::Client::try_from(config).unwrap();
    let version = kube_client.apiserver_version().await.unwrap();
    assert_eq!(version.git_version, "v1.33.0");

    use stytch_saml_operator::stytch::{Credentials, StytchConfig, StytchPool};
    let pool = StytchPool::new(StytchConfig {
        extra_root_certificates: vec![ca],
        ..Default::default()
    })
    .unwrap();
    let stytch = pool
        .client(Credentials {
            project_id: "project-test-1".into(),
            secret: stytch_saml_operator::secret::SecretString::new("s"),
            base_url: Some(url.parse().unwrap()),
        })
        .unwrap();
    let list = stytch.get_connections("acme").await.unwrap();
    assert!(list.saml_connections.is_empty());
}
