//! Update-by-metadata-URL: metadata served over loopback HTTP, and its three error types.

mod stytch_common;

use base64::Engine;
use reqwest::Method;
use sandbox::stytch::StytchConfig;
use serde_json::{Value, json};
use stytch_common::*;

fn metadata_xml(
    entity: &str,
    redirect: Option<&str>,
    post: Option<&str>,
    certs: &[Vec<u8>],
) -> String {
    let b64 = |der: &Vec<u8>| base64::engine::general_purpose::STANDARD.encode(der);
    let keys: String = certs
        .iter()
        .map(|der| {
            format!(
                r#"<md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>
{}
</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"#,
                b64(der)
            )
        })
        .collect();
    let mut services = String::new();
    if let Some(p) = post {
        services += &format!(
            r#"<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{p}"/>"#
        );
    }
    if let Some(r) = redirect {
        services += &format!(
            r#"<md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{r}"/>"#
        );
    }
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{entity}">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    {keys}
    <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
    {services}
  </md:IDPSSODescriptor>
</md:EntityDescriptor>"#
    )
}

async fn update_by_url(env: &Env, cid: &str, url: &str) -> (reqwest::StatusCode, Value) {
    env.call(
        Method::PUT,
        &format!("/v1/b2b/sso/saml/{ORG}/connections/{cid}/url"),
        Some(json!({"metadata_url": url, "organization_id": ORG, "connection_id": cid})),
    )
    .await
}

async fn new_connection(env: &Env) -> String {
    env.create(json!({})).await["connection_id"]
        .as_str()
        .expect("id")
        .to_owned()
}

#[tokio::test]
async fn metadata_sets_entity_sso_url_and_certificates() {
    let env = start().await;
    let cid = new_connection(&env).await;
    let (_, der) = cert("Metadata IdP", 2024, 2034);
    let xml = metadata_xml(
        "https://idp.example.com/metadata",
        Some("https://idp.example.com/redirect"),
        Some("https://idp.example.com/post"),
        &[der],
    );
    let (base, _server) = serve_file(xml, "application/samlmetadata+xml").await;
    let (status, body) = update_by_url(&env, &cid, &format!("{base}/metadata.xml")).await;
    assert_eq!(status.as_u16(), 200, "{body}");
    let c = &body["connection"];
    assert_eq!(c["idp_entity_id"], "https://idp.example.com/metadata");
    assert_eq!(
        c["idp_sso_url"], "https://idp.example.com/redirect",
        "HTTP-Redirect preferred"
    );
    let certs = c["verification_certificates"].as_array().expect("certs");
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0]["issuer"], "Metadata IdP");
    assert_eq!(certs[0]["expires_at"], "2034-01-01T00:00:00Z");
    assert!(
        certs[0]["certificate"]
            .as_str()
            .is_some_and(|p| p.starts_with("-----BEGIN CERTIFICATE-----"))
    );
    assert_eq!(c["status"], "pending", "attribute_mapping still missing");
    let (_, body) = env
        .update(
            &cid,
            json!({"attribute_mapping": {"email": "e", "full_name": "n"}}),
        )
        .await;
    assert_eq!(body["connection"]["status"], "active");
    // Fetching the same metadata again does not duplicate the certificate.
    let (_, body) = update_by_url(&env, &cid, &format!("{base}/metadata.xml")).await;
    assert_eq!(
        body["connection"]["verification_certificates"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[tokio::test]
async fn post_binding_is_used_when_there_is_no_redirect_binding() {
    let env = start().await;
    let cid = new_connection(&env).await;
    let (_, der) = cert("x", 2024, 2034);
    let xml = metadata_xml(
        "urn:idp",
        None,
        Some("https://idp.example.com/post"),
        &[der],
    );
    let (base, _server) = serve_file(xml, "text/xml").await;
    let (status, body) = update_by_url(&env, &cid, &base).await;
    assert_eq!(status.as_u16(), 200, "{body}");
    assert_eq!(
        body["connection"]["idp_sso_url"],
        "https://idp.example.com/post"
    );
}

#[tokio::test]
async fn metadata_url_errors() {
    let env = start().await;
    let cid = new_connection(&env).await;
    let (_, der) = cert("x", 2024, 2034);

    // Not a URL, missing, unreachable.
    for url in ["not a url", ""] {
        let (s, body) = update_by_url(&env, &cid, url).await;
        assert_error(s, &body, 400, "invalid_saml_metadata_url");
    }
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr")
    };
    let (s, body) = update_by_url(&env, &cid, &format!("http://{closed}/metadata")).await;
    assert_error(s, &body, 400, "invalid_saml_metadata_url");

    // Not XML.
    let (base, _s1) = serve_file("{\"this\": \"is json\"}".into(), "application/json").await;
    let (s, body) = update_by_url(&env, &cid, &base).await;
    assert_error(s, &body, 400, "invalid_xml_from_saml_metadata_url");

    // XML but not SAML metadata; metadata without an SSO service; bad certificate.
    let not_saml = "<?xml version=\"1.0\"?><html><body>login</body></html>".to_owned();
    let no_sso = metadata_xml("urn:idp", None, None, &[der]);
    let bad_cert = metadata_xml(
        "urn:idp",
        Some("https://idp.example.com/r"),
        None,
        &[b"nonsense".to_vec()],
    );
    for xml in [not_saml, no_sso, bad_cert] {
        let (base, _s) = serve_file(xml, "text/xml").await;
        let (s, body) = update_by_url(&env, &cid, &base).await;
        assert_error(s, &body, 400, "saml_connection_metadata_invalid_format");
    }
    assert_eq!(
        env.list().await[0]["idp_entity_id"],
        "",
        "failed updates changed nothing"
    );
}

#[tokio::test]
async fn http_metadata_can_be_refused() {
    let mut config = StytchConfig::with_seed(seed());
    config.behaviour.allow_http_metadata = false;
    let env = start_with(config).await;
    let cid = new_connection(&env).await;
    let (_, der) = cert("x", 2024, 2034);
    let (base, _server) = serve_file(
        metadata_xml("urn:idp", Some("https://i/r"), None, &[der]),
        "text/xml",
    )
    .await;
    let (s, body) = update_by_url(&env, &cid, &base).await;
    assert_error(s, &body, 400, "invalid_saml_metadata_url");
}
