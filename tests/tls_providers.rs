//! Both HTTP stacks (kube's client and the Stytch client's reqwest) make real https requests in
//! one process. With two rustls crypto providers compiled in, the first TLS connection panics
//! ("Could not automatically determine the process-level CryptoProvider"); this test keeps the
//! dependency features honest.

/// An https server on loopback answering every request with `body`; returns its URL and its
/// certificate (DER) for the clients to trust.
async fn https_server(body: &'static str) -> (String, Vec<u8>, sandbox::https::HttpsServer) {
    let router = axum::Router::new()
        .fallback(move || async move { ([("content-type", "application/json")], body) });
    let server = sandbox::https::serve_https(router).await.unwrap();
    (server.url.clone(), server.cert_der.clone(), server)
}

#[tokio::test]
async fn kube_and_stytch_clients_both_speak_https_in_one_process() {
    let (url, ca, _server) = https_server(
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
