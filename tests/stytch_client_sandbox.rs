//! The operator's Stytch client against the Stytch sandbox over real HTTP: every endpoint, and
//! the sandbox's validation errors classified into the operator's reasons.

use axum::Router;
use axum::routing::get;
use rcgen::{CertificateParams, DnType, KeyPair};
use sandbox::stytch::config::Seed;
use sandbox::stytch::{FaultRule, StytchConfig as SandboxConfig, StytchSandbox};
use stytch_saml_operator::reconcile::Reason;
use stytch_saml_operator::secret::SecretString;
use stytch_saml_operator::stytch::model::{
    CreateConnectionRequest, SamlConnection, UpdateConnectionRequest,
};
use stytch_saml_operator::stytch::{
    Credentials, ErrorClass, StytchClient, StytchConfig, StytchPool,
};

const PROJECT: &str = "project-test-11111111-1111-1111-1111-111111111111";
const SECRET: &str = "secret-test-sandbox-client";
const ORG: &str = "organization-test-22222222-2222-2222-2222-222222222222";
const KEY_A: &str = include_str!("fixtures/rsa-pkcs1-a.pem");
const KEY_B: &str = include_str!("fixtures/rsa-pkcs1-b.pem");

fn cert(cn: &str) -> (String, String) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec![format!("{cn}.example.com")]).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    let cert = params.self_signed(&key).unwrap();
    use base64::Engine;
    (
        cert.pem(),
        base64::engine::general_purpose::STANDARD.encode(cert.der()),
    )
}

async fn start() -> (StytchSandbox, StytchClient) {
    let sandbox = StytchSandbox::start(SandboxConfig::with_seed(Seed::single(
        PROJECT, SECRET, ORG, "acme",
    )))
    .await
    .unwrap();
    let pool = StytchPool::new(StytchConfig::default()).unwrap();
    let client = pool
        .client(Credentials {
            project_id: PROJECT.into(),
            secret: SecretString::new(SECRET),
            base_url: Some(sandbox.base_url().parse().unwrap()),
        })
        .unwrap();
    (sandbox, client)
}

/// Creates the "Acme" Okta connection in organization `acme` (its slug).
async fn create_acme(c: &StytchClient) -> SamlConnection {
    c.create_connection(
        "acme",
        &CreateConnectionRequest {
            display_name: Some("Acme".into()),
            identity_provider: Some("okta".into()),
        },
    )
    .await
    .unwrap()
}

#[tokio::test]
async fn every_endpoint_round_trips_through_the_sandbox() {
    let (sandbox, c) = start().await;
    let created = create_acme(&c).await;
    assert_eq!(created.status, "pending");
    assert_eq!(
        created.organization_id, ORG,
        "slug resolves to the canonical id"
    );
    assert!(created.acs_url.ends_with(&created.connection_id));
    let id = created.connection_id.clone();

    let (pem_a, _) = cert("idp-a");
    let mapping =
        serde_json::from_value(serde_json::json!({"email": "email", "full_name": "name"})).unwrap();
    let updated = c
        .update_connection(
            ORG,
            &id,
            &UpdateConnectionRequest {
                idp_entity_id: Some("urn:idp".into()),
                idp_sso_url: Some("https://idp.example.com/sso".into()),
                attribute_mapping: Some(mapping),
                x509_certificate: Some(pem_a),
                signing_private_key: Some(SecretString::new(KEY_A)),
                saml_encryption_private_key: Some(SecretString::new(KEY_B)),
                idp_initiated_auth_disabled: Some(false),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(updated.status, "active");
    assert_eq!(updated.verification_certificates.len(), 1);
    assert_eq!(updated.signing_certificates.len(), 1);
    assert_eq!(updated.encryption_private_keys.len(), 1);

    // Update by metadata URL, served locally.
    let (pem_b, b64_b) = cert("idp-b");
    let xml = format!(
        r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="urn:idp:meta"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{b64_b}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.example.com/meta-sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let meta_url = format!("http://{}/metadata", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(
            listener,
            Router::new().route("/metadata", get(move || async move { xml })),
        )
        .await
        .unwrap()
    });
    let by_url = c.update_by_url(ORG, &id, &meta_url).await.unwrap();
    assert_eq!(by_url.idp_entity_id, "urn:idp:meta");
    assert_eq!(by_url.idp_sso_url, "https://idp.example.com/meta-sso");
    assert_eq!(by_url.verification_certificates.len(), 2);
    assert!(
        by_url
            .verification_certificates
            .iter()
            .any(|v| v.certificate.contains(pem_b.lines().nth(1).unwrap()))
    );

    let old = by_url.verification_certificates[0].certificate_id.clone();
    assert_eq!(
        c.delete_verification_certificate(ORG, &id, &old)
            .await
            .unwrap(),
        old
    );
    let key_id = by_url.encryption_private_keys[0].private_key_id.clone();
    assert_eq!(
        c.delete_encryption_private_key(ORG, &id, &key_id)
            .await
            .unwrap(),
        key_id
    );

    let list = c.get_connections("acme").await.unwrap();
    assert_eq!(list.saml_connections.len(), 1);
    assert_eq!(list.saml_connections[0].verification_certificates.len(), 1);
    assert!(list.saml_connections[0].encryption_private_keys.is_empty());

    assert_eq!(c.delete_connection(ORG, &id).await.unwrap(), id);
    assert!(
        c.get_connections(ORG)
            .await
            .unwrap()
            .saml_connections
            .is_empty()
    );
    let writes = sandbox.admin().write_count();
    assert_eq!(writes, 6, "create, update, update-by-url, 3 deletes");
}

#[tokio::test]
async fn sandbox_errors_classify_into_reasons() {
    let (_sandbox, c) = start().await;
    let id = c
        .create_connection(ORG, &CreateConnectionRequest::default())
        .await
        .unwrap()
        .connection_id;
    let cases: Vec<(UpdateConnectionRequest, Reason)> = vec![
        (
            UpdateConnectionRequest {
                x509_certificate: Some("junk".into()),
                ..Default::default()
            },
            Reason::InvalidX509Certificate,
        ),
        (
            UpdateConnectionRequest {
                idp_sso_url: Some("http://idp.example.com".into()),
                ..Default::default()
            },
            Reason::IdpSsoUrlNotHttps,
        ),
        (
            UpdateConnectionRequest {
                signing_private_key: Some(SecretString::new(include_str!(
                    "fixtures/rsa-pkcs8.pem"
                ))),
                ..Default::default()
            },
            Reason::SigningPrivateKeyFormatNotSupported,
        ),
        (
            UpdateConnectionRequest {
                attribute_mapping: Some(
                    serde_json::from_value(serde_json::json!({"full_name": "n"})).unwrap(),
                ),
                ..Default::default()
            },
            Reason::EmailMappingRequired,
        ),
        (
            UpdateConnectionRequest {
                identity_provider: Some("azure".into()),
                ..Default::default()
            },
            Reason::InvalidIdentityProvider,
        ),
    ];
    for (body, reason) in cases {
        let e = c.update_connection(ORG, &id, &body).await.unwrap_err();
        assert_eq!(e.class(), ErrorClass::Permanent, "{e}");
        assert_eq!(
            e.error_type().and_then(Reason::from_error_type),
            Some(reason),
            "{e}"
        );
    }
    let e = c
        .update_connection(
            ORG,
            "saml-connection-test-missing",
            &UpdateConnectionRequest::default(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::NotFound);
    let e = c.get_connections("no-such-org").await.unwrap_err();
    assert_eq!(
        e.error_type().and_then(Reason::from_error_type),
        Some(Reason::OrganizationNotFound)
    );
}

#[tokio::test]
async fn a_wrong_secret_is_an_auth_error() {
    let (sandbox, _) = start().await;
    let pool = StytchPool::new(StytchConfig::default()).unwrap();
    let c = pool
        .client(Credentials {
            project_id: PROJECT.into(),
            secret: SecretString::new("wrong"),
            base_url: Some(sandbox.base_url().parse().unwrap()),
        })
        .unwrap();
    let e = c.get_connections(ORG).await.unwrap_err();
    assert_eq!(e.class(), ErrorClass::Auth);
    assert_eq!(e.error_type(), Some("unauthorized_credentials"));
}

#[tokio::test]
async fn a_write_cut_off_mid_response_is_not_resent_but_a_read_is() {
    let (sandbox, c) = start().await;
    let admin = sandbox.admin();
    let created = create_acme(&c).await;
    let reset = |method: &str| FaultRule {
        path: "/v1/b2b/sso".into(),
        method: Some(method.into()),
        reset_mid_response: true,
        times: Some(1),
        ..FaultRule::default()
    };
    admin.add_fault(reset("PUT"));
    let rename = UpdateConnectionRequest {
        display_name: Some("Renamed".into()),
        ..Default::default()
    };
    let err = c
        .update_connection("acme", &created.connection_id, &rename)
        .await
        .unwrap_err();
    assert_eq!(err.class(), ErrorClass::Transient, "{err:?}");
    let puts = admin
        .requests()
        .iter()
        .filter(|e| e.endpoint == "update_connection")
        .count();
    assert_eq!(
        puts, 1,
        "the rename took effect once and was not sent again"
    );
    let live = admin.connections(PROJECT, ORG).unwrap();
    assert_eq!(live[0].display_name, "Renamed");

    admin.clear_requests();
    admin.add_fault(reset("GET"));
    let listed = c.get_connections("acme").await.unwrap();
    assert_eq!(listed.saml_connections.len(), 1);
    assert_eq!(admin.requests().len(), 2, "a read cut off is read again");
}
