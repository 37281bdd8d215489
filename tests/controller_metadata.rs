//! Metadata URL mode end to end (issue #5): the IdP metadata is served over https by a local
//! server; create → `update_by_url`; IdP certificate rollover at a resync → `update_by_url` then
//! the old certificate deleted; unchanged metadata → zero writes.
//!
//! Why https: `spec.idp.metadataUrl` must match `^https://` at admission (CRD schema) and
//! `resolve` refuses http too. The test serves metadata under its own CA, trusted by the operator
//! (`--metadata-ca-file`) and by the Stytch sandbox (`metadata_trusted_ca_pem`).

mod support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use serde_json::json;
use support::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

const T: Duration = Duration::from_secs(25);
const ENTITY_ID: &str = "https://idp.example.com/saml/metadata";
const SSO_URL: &str = "https://idp.example.com/saml/sso";

/// A CA (written to a PEM file) and a server certificate for 127.0.0.1 signed by it.
fn test_pki(dir: &std::path::Path) -> (std::path::PathBuf, Vec<u8>, KeyPair) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, "metadata test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, ca_cert.pem()).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let cert = params.signed_by(&key, &issuer).unwrap();
    (ca_file, cert.der().to_vec(), key)
}

/// An https server on loopback answering every request with the current `body`.
async fn metadata_server(der: Vec<u8>, key: KeyPair, body: Arc<Mutex<String>>) -> String {
    let config = ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from(der)],
            PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
        )
        .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "https://127.0.0.1:{}/app/metadata.xml",
        listener.local_addr().unwrap().port()
    );
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let body = body.lock().unwrap().clone();
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
                    "HTTP/1.1 200 OK\r\ncontent-type: application/samlmetadata+xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(response.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    url
}

/// The base64 DER of a PEM certificate, on one line.
fn b64(pem: &str) -> String {
    pem.lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect()
}

fn metadata_xml(cert_pem: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{ENTITY_ID}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>{}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{SSO_URL}"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
"#,
        b64(cert_pem)
    )
}

fn live_certs(env: &Env) -> Vec<String> {
    env.connections()[0]
        .verification_certificates
        .iter()
        .map(|c| b64(&c.certificate))
        .collect()
}

fn sha(obj: &stytch_saml_operator::api::SamlConnection) -> Option<String> {
    obj.status.as_ref()?.metadata.as_ref()?.sha256.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_url_mode_follows_an_idp_certificate_rollover() {
    let dir = tempfile::tempdir().unwrap();
    let (ca_file, der, key) = test_pki(dir.path());
    let (old, new) = (cert("idp-2025"), cert("idp-2026"));
    let body = Arc::new(Mutex::new(metadata_xml(&old)));
    let url = metadata_server(der, key, body.clone()).await;

    let mut env = Env::new().await;
    let admin = env.stytch.admin();
    admin.set_behaviour(sandbox::stytch::Behaviour {
        metadata_trusted_ca_pem: Some(std::fs::read_to_string(&ca_file).unwrap()),
        ..admin.behaviour()
    });
    let ca = ca_file.display().to_string();
    env.start_operator(&["--resync-interval", "1s", "--metadata-ca-file", &ca]);
    env.apply(
        "acme",
        json!({
            "credentialsRef": {"name": "stytch-credentials"},
            "organizationId": "acme",
            "displayName": "Acme via metadata",
            "identityProvider": "okta",
            "idp": {"metadataUrl": url},
            "attributeMapping": {"email": "email", "fullName": "name"},
        }),
    )
    .await;
    let obj = env
        .wait_for("acme", "Ready from metadata", T, |o| {
            is(o, "Ready", "True") && sha(o).is_some()
        })
        .await;
    let first_sha = sha(&obj).unwrap();
    let writes = env.writes();
    assert_eq!(
        writes.iter().filter(|w| *w == "update_by_url").count(),
        1,
        "{writes:?}"
    );
    assert_eq!(
        writes.iter().filter(|w| *w == "create_connection").count(),
        1
    );
    let live = &env.connections()[0];
    assert_eq!(live.idp_entity_id, ENTITY_ID);
    assert_eq!(live.idp_sso_url, SSO_URL);
    assert_eq!(live_certs(&env), vec![b64(&old)]);

    // The IdP rolls its certificate over; the next resync picks it up.
    env.stytch.admin().clear_requests();
    *body.lock().unwrap() = metadata_xml(&new);
    let obj = env
        .wait_for("acme", "rolled over", T, |o| {
            is(o, "Ready", "True")
                && sha(o).is_some_and(|s| s != first_sha)
                && o.status
                    .as_ref()
                    .is_some_and(|s| s.verification_certificates.len() == 1)
        })
        .await;
    assert_eq!(live_certs(&env), vec![b64(&new)]);
    assert_eq!(
        env.writes(),
        vec!["update_by_url", "delete_verification_certificate"],
        "upload through the metadata URL, then delete the old certificate"
    );
    assert!(is(&obj, "Synced", "True"));

    // Unchanged metadata: resyncs read, never write.
    tokio::time::sleep(Duration::from_millis(500)).await;
    env.stytch.admin().clear_requests();
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let log = env.requests();
    println!(
        "3.5 s of resyncs with unchanged metadata: {} reads",
        log.len()
    );
    assert!(!log.is_empty(), "resyncs read Stytch");
    assert!(env.writes().is_empty(), "{log:?}");
    env.stop_operator().await;
}
