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

fn assert_rfc3339(v: &Value) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("timestamp expected, got {v}"));
    s.parse::<jiff::Timestamp>()
        .unwrap_or_else(|e| panic!("{s} is not RFC 3339: {e}"));
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
async fn partial_update_semantics() {
    let env = start().await;
    let cid = env.create(json!({"display_name": "keep"})).await["connection_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (_, body) = env
        .update(&cid, json!({
            "idp_initiated_auth_disabled": true,
            "allow_gateway_callback": true,
            "alternative_audience_uri": "https://old.example.com/aud",
            "alternative_acs_url": "https://old.example.com/acs",
            "nameid_format": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
            "identity_provider": "microsoft-entra",
            "attribute_mapping": {"email": "mail", "first_name": "fn", "last_name": "ln", "groups": "groups"},
            "saml_connection_implicit_role_assignments": [{"role_id": "stytch_member"}],
            "saml_group_implicit_role_assignments": [{"role_id": "stytch_admin", "group": "admins"}],
        }))
        .await;
    let c = &body["connection"];
    assert_eq!(c["display_name"], "keep", "omitted field untouched");
    assert_eq!(c["idp_initiated_auth_disabled"], true);
    assert_eq!(c["identity_provider"], "microsoft-entra");
    assert_eq!(
        c["saml_group_implicit_role_assignments"][0]["group"],
        "admins"
    );
    // Explicit false is honoured; mapping is replaced as a unit; "" and [] clear.
    let (status, body) = env
        .update(
            &cid,
            json!({
                "idp_initiated_auth_disabled": false,
                "attribute_mapping": {"email": "mail", "full_name": "name"},
                "saml_group_implicit_role_assignments": [],
                "saml_connection_implicit_role_assignments": [],
                "alternative_audience_uri": "",
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let c = &body["connection"];
    assert_eq!(c["idp_initiated_auth_disabled"], false);
    assert_eq!(c["allow_gateway_callback"], true);
    assert_eq!(
        c["attribute_mapping"],
        json!({"email": "mail", "full_name": "name"})
    );
    assert_eq!(c["saml_group_implicit_role_assignments"], json!([]));
    assert_eq!(c["saml_connection_implicit_role_assignments"], json!([]));
    assert_eq!(c["alternative_audience_uri"], "");
    assert_eq!(c["alternative_acs_url"], "https://old.example.com/acs");
}

#[tokio::test]
async fn empty_values_can_be_configured_to_be_ignored() {
    let mut config = sandbox::stytch::StytchConfig::with_seed(seed());
    config.behaviour.empty_values_clear = false;
    let env = start_with(config).await;
    let cid = env.create(json!({"display_name": "name"})).await["connection_id"]
        .as_str()
        .expect("id")
        .to_owned();
    env.update(
        &cid,
        json!({"saml_connection_implicit_role_assignments": [{"role_id": "r"}]}),
    )
    .await;
    let (_, body) = env
        .update(&cid, json!({"display_name": "", "saml_connection_implicit_role_assignments": [], "attribute_mapping": {}}))
        .await;
    assert_eq!(body["connection"]["display_name"], "name");
    assert_eq!(
        body["connection"]["saml_connection_implicit_role_assignments"][0]["role_id"],
        "r"
    );
}

#[tokio::test]
async fn certificates_accumulate_and_duplicates_are_deduplicated_by_default() {
    let env = start().await;
    let cid = env.create(json!({})).await["connection_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (a, _) = cert("A", 2021, 2031);
    let (b, _) = cert("B", 2022, 2032);
    env.update(&cid, json!({"x509_certificate": a})).await;
    env.update(&cid, json!({"x509_certificate": a})).await;
    let (_, body) = env.update(&cid, json!({"x509_certificate": b})).await;
    let issuers: Vec<_> = body["connection"]["verification_certificates"]
        .as_array()
        .expect("certs")
        .iter()
        .map(|c| c["issuer"].clone())
        .collect();
    assert_eq!(issuers, vec![json!("A"), json!("B")]);

    let mut config = sandbox::stytch::StytchConfig::with_seed(seed());
    config.behaviour.dedupe_certificates = false;
    let env = start_with(config).await;
    let cid = env.create(json!({})).await["connection_id"]
        .as_str()
        .expect("id")
        .to_owned();
    env.update(&cid, json!({"x509_certificate": a})).await;
    let (_, body) = env.update(&cid, json!({"x509_certificate": a})).await;
    assert_eq!(
        body["connection"]["verification_certificates"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
}

#[tokio::test]
async fn signing_private_key_yields_a_stytch_certificate_for_that_key() {
    let env = start().await;
    let cid = env.create(json!({})).await["connection_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let (status, body) = env
        .update(&cid, json!({"signing_private_key": PKCS1_A}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let certs = body["connection"]["signing_certificates"]
        .as_array()
        .expect("certs")
        .clone();
    assert_eq!(certs.len(), 1);
    assert_eq!(certs[0]["issuer"], "Stytch");
    assert_rfc3339(&certs[0]["created_at"]);
    assert_rfc3339(&certs[0]["expires_at"]);
    let pem = certs[0]["certificate"].as_str().expect("pem");
    let (_, block) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).expect("pem");
    let parsed = block.parse_x509().expect("x509");
    // The certificate's public key is the key we uploaded.
    let key = rcgen::KeyPair::from_pem(PKCS1_A).expect("key");
    assert_eq!(
        parsed.public_key().subject_public_key.data.as_ref(),
        key.public_key_raw()
    );
    // A new key replaces the signing certificate.
    let (_, body) = env
        .update(&cid, json!({"signing_private_key": PKCS1_B}))
        .await;
    let again = body["connection"]["signing_certificates"]
        .as_array()
        .expect("certs");
    assert_eq!(again.len(), 1);
    assert_ne!(again[0]["certificate"], certs[0]["certificate"]);
}

#[tokio::test]
async fn encryption_keys_are_added_and_deleted() {
    let env = start().await;
    let cid = env.create(json!({})).await["connection_id"]
        .as_str()
        .expect("id")
        .to_owned();
    env.update(&cid, json!({"saml_encryption_private_key": PKCS1_A}))
        .await;
    let (status, body) = env
        .update(&cid, json!({"saml_encryption_private_key": PKCS1_B}))
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let keys = body["connection"]["encryption_private_keys"]
        .as_array()
        .expect("keys")
        .clone();
    assert_eq!(keys.len(), 2);
    let id = keys[0]["private_key_id"].as_str().expect("id");
    assert!(id.starts_with("saml-encryption-key-test-"));
    assert_rfc3339(&keys[0]["created_at"]);
    let path = format!("/v1/b2b/sso/saml/{ORG}/connections/{cid}/encryption_private_keys/{id}");
    let (status, body) = env.call(Method::DELETE, &path, Some(json!({}))).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["private_key_id"], id);
    assert_eq!(body["status_code"], 200);
    assert_eq!(
        env.list().await[0]["encryption_private_keys"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
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
