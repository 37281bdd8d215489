//! Update semantics of the Stytch sandbox: partial updates, clearing, certificate
//! accumulation and de-duplication, signing and encryption keys.

mod stytch_common;

use reqwest::{Method, StatusCode};
use serde_json::json;
use stytch_common::*;

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
