//! Success paths of the seven Stytch endpoints over real HTTP, with the response shapes the
//! official SDKs require.

mod stytch_common;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use stytch_common::*;

const CONNECTION_FIELDS: [(&str, &str); 20] = [
    ("organization_id", "string"),
    ("connection_id", "string"),
    ("status", "string"),
    ("idp_entity_id", "string"),
    ("display_name", "string"),
    ("idp_sso_url", "string"),
    ("acs_url", "string"),
    ("audience_uri", "string"),
    ("signing_certificates", "array"),
    ("verification_certificates", "array"),
    ("encryption_private_keys", "array"),
    ("saml_connection_implicit_role_assignments", "array"),
    ("saml_group_implicit_role_assignments", "array"),
    ("alternative_audience_uri", "string"),
    ("identity_provider", "string"),
    ("nameid_format", "string"),
    ("alternative_acs_url", "string"),
    ("idp_initiated_auth_disabled", "bool"),
    ("allow_gateway_callback", "bool"),
    ("attribute_mapping", "object"),
];

fn assert_connection_shape(c: &Value) {
    for (field, kind) in CONNECTION_FIELDS {
        let v = &c[field];
        let ok = match kind {
            "string" => v.is_string(),
            "array" => v.is_array(),
            "bool" => v.is_boolean(),
            _ => v.is_object(),
        };
        assert!(ok, "field {field} should be a {kind}: {c}");
    }
}

#[tokio::test]
async fn create_returns_a_complete_pending_connection() {
    let env = start().await;
    let (status, body) = env
        .call(
            Method::POST,
            &format!("/v1/b2b/sso/saml/{ORG}"),
            Some(json!({"display_name": "Okta", "identity_provider": "okta", "organization_id": ORG, "unknown": 1})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["status_code"], 200);
    assert!(
        body["request_id"]
            .as_str()
            .is_some_and(|r| r.starts_with("request-id-test-"))
    );
    let c = &body["connection"];
    assert_connection_shape(c);
    let cid = c["connection_id"].as_str().expect("id");
    assert!(cid.starts_with("saml-connection-test-"), "{cid}");
    assert_eq!(c["status"], "pending");
    assert_eq!(c["organization_id"], ORG);
    assert_eq!(c["display_name"], "Okta");
    assert_eq!(c["identity_provider"], "okta");
    assert_eq!(
        c["nameid_format"],
        "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    );
    let callback = format!("{}/v1/b2b/sso/callback/{cid}", env.sandbox.base_url());
    assert_eq!(c["acs_url"], callback.as_str());
    assert_eq!(c["audience_uri"], callback.as_str());
    assert_eq!(c["idp_initiated_auth_disabled"], false);
    assert_eq!(c["attribute_mapping"], json!({}));
}

#[tokio::test]
async fn create_without_body_defaults_to_generic() {
    let env = start().await;
    let (status, body) = env
        .call(Method::POST, &format!("/v1/b2b/sso/saml/{ORG}"), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["connection"]["identity_provider"], "generic");
    assert_eq!(body["connection"]["display_name"], "");
}

#[tokio::test]
async fn organizations_are_addressed_by_id_slug_or_encoded_external_id() {
    let env = start().await;
    let c = env.create(json!({"display_name": "a"})).await;
    for key in [ORG.to_owned(), SLUG.to_owned(), enc(EXTERNAL_ID)] {
        let (status, body) = env
            .call(
                Method::GET,
                &format!("/v1/b2b/sso/{key}?organization_id={key}"),
                None,
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{key}: {body}");
        assert_eq!(
            body["saml_connections"][0]["connection_id"],
            c["connection_id"]
        );
        assert_eq!(body["saml_connections"][0]["organization_id"], ORG);
        assert_eq!(body["oidc_connections"], json!([]));
        assert_eq!(body["external_connections"], json!([]));
    }
    // Created through the slug, stored under the canonical id.
    let (status, body) = env
        .call(
            Method::POST,
            &format!("/v1/b2b/sso/saml/{SLUG}"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["connection"]["organization_id"], ORG);
    assert_eq!(env.list().await.len(), 2);
}

#[tokio::test]
async fn full_update_activates_and_records_certificate_details() {
    let env = start().await;
    let c = env.create(json!({})).await;
    let cid = c["connection_id"].as_str().expect("id");
    let (pem, _) = cert("Okta IdP", 2020, 2040);
    // Partial updates stay pending.
    let (status, body) = env
        .update(cid, json!({"idp_sso_url": "https://idp.example.com/sso", "connection_id": cid, "organization_id": ORG}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["connection"]["status"], "pending");
    let (status, body) = env.update(cid, activating_update(&pem)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let c = &body["connection"];
    assert_connection_shape(c);
    assert_eq!(c["status"], "active");
    let certs = c["verification_certificates"].as_array().expect("certs");
    assert_eq!(certs.len(), 1);
    let v = &certs[0];
    assert!(
        v["certificate_id"]
            .as_str()
            .is_some_and(|s| s.starts_with("saml-verification-key-test-"))
    );
    assert_eq!(v["certificate"], pem.as_str());
    assert_eq!(v["issuer"], "Okta IdP");
    assert_eq!(v["created_at"], "2020-01-01T00:00:00Z");
    assert_eq!(v["expires_at"], "2040-01-01T00:00:00Z");
    assert_rfc3339(&v["updated_at"]);
    // The list shows the same connection.
    assert_eq!(&env.list().await[0], c);
}

#[tokio::test]
async fn verification_certificate_delete_accepts_empty_and_missing_bodies() {
    let env = start().await;
    let cid = env.create(json!({})).await["connection_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (a, _) = cert("A", 2021, 2031);
    let (b, _) = cert("B", 2021, 2031);
    let (c, _) = cert("C", 2021, 2031);
    for pem in [&a, &b] {
        env.update(&cid, json!({"x509_certificate": pem})).await;
    }
    let (_, body) = env.update(&cid, activating_update(&c)).await;
    assert_eq!(body["connection"]["status"], "active");
    let ids: Vec<String> = body["connection"]["verification_certificates"]
        .as_array()
        .expect("certs")
        .iter()
        .map(|c| c["certificate_id"].as_str().expect("id").to_owned())
        .collect();
    let base = format!("/v1/b2b/sso/saml/{ORG}/connections/{cid}/verification_certificates");
    let (status, body) = env
        .call(Method::DELETE, &format!("{base}/{}", ids[0]), None)
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["certificate_id"], ids[0].as_str());
    let (status, _) = env
        .call(
            Method::DELETE,
            &format!("{base}/{}", ids[1]),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let remaining = &env.list().await[0]["verification_certificates"];
    assert_eq!(remaining.as_array().map(Vec::len), Some(1));
    assert_eq!(remaining[0]["certificate_id"], ids[2].as_str());
}

#[tokio::test]
async fn delete_connection_removes_it() {
    let env = start().await;
    let cid = env.create(json!({})).await["connection_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let keep = env.create(json!({})).await["connection_id"].clone();
    let (status, body) = env
        .call(
            Method::DELETE,
            &format!("/v1/b2b/sso/{SLUG}/connections/{cid}"),
            Some(json!({})),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["connection_id"], cid.as_str());
    let list = env.list().await;
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["connection_id"], keep);
}

#[tokio::test]
async fn projects_are_isolated() {
    let env = start().await;
    env.create(json!({})).await;
    let (status, body) = env
        .call_as(
            OTHER_PROJECT,
            OTHER_SECRET,
            Method::GET,
            &format!("/v1/b2b/sso/{ORG}"),
            None,
        )
        .await;
    assert_error(status, &body, 404, "organization_not_found");
    let (status, body) = env
        .call_as(
            OTHER_PROJECT,
            OTHER_SECRET,
            Method::GET,
            &format!("/v1/b2b/sso/{OTHER_ORG}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["saml_connections"], json!([]));
}
