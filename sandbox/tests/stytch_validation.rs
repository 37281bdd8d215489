//! Every documented validation and not-found error of the Stytch sandbox (reference §4.2).

mod stytch_common;

use reqwest::Method;
use serde_json::{Value, json};
use stytch_common::*;

async fn new_connection(env: &Env) -> String {
    env.create(json!({})).await["connection_id"]
        .as_str()
        .expect("id")
        .to_owned()
}

/// Sends `body` as an update of a fresh connection and expects `(status, error_type)`;
/// also checks that the rejected update changed nothing.
async fn expect_update_error(env: &Env, body: Value, status: u16, error_type: &str) {
    let cid = new_connection(env).await;
    let before = env.list().await;
    let (s, json) = env.update(&cid, body.clone()).await;
    assert_error(s, &json, status, error_type);
    assert_eq!(
        env.list().await,
        before,
        "rejected update {body} must not change state"
    );
}

#[tokio::test]
async fn invalid_x509_certificate() {
    let env = start().await;
    for bad in [
        "not a cert",
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
        PKCS1_A,
    ] {
        expect_update_error(
            &env,
            json!({"x509_certificate": bad}),
            400,
            "invalid_x509_certificate",
        )
        .await;
    }
}

#[tokio::test]
async fn attribute_mapping_rules() {
    let env = start().await;
    let cases = [
        (
            json!({"full_name": "name"}),
            "saml_connection_email_mapping_required",
        ),
        (
            json!({"email": "mail"}),
            "saml_connection_name_mapping_required",
        ),
        (
            json!({"email": "mail", "first_name": "fn"}),
            "saml_connection_name_mapping_required",
        ),
        (
            json!({"email": "mail", "full_name": {"nested": "x"}}),
            "saml_connection_no_nested_keys_in_attribute_mapping",
        ),
        (
            json!({"email": "mail", "full_name": "n", "groups": ["a"]}),
            "saml_connection_no_nested_keys_in_attribute_mapping",
        ),
    ];
    for (mapping, error_type) in cases {
        expect_update_error(&env, json!({"attribute_mapping": mapping}), 400, error_type).await;
    }
    // Both first_name and last_name are enough.
    let cid = new_connection(&env).await;
    let (s, body) = env
        .update(
            &cid,
            json!({"attribute_mapping": {"email": "m", "first_name": "f", "last_name": "l"}}),
        )
        .await;
    assert_eq!(s.as_u16(), 200, "{body}");
}

#[tokio::test]
async fn group_roles_need_a_groups_key_in_request_or_stored_mapping() {
    let env = start().await;
    let groups = json!([{"role_id": "stytch_admin", "group": "admins"}]);
    expect_update_error(
        &env,
        json!({"attribute_mapping": {"email": "m", "full_name": "n"}, "saml_group_implicit_role_assignments": groups}),
        400,
        "saml_connection_attribute_mapping_missing_groups_key",
    )
    .await;
    expect_update_error(
        &env,
        json!({"saml_group_implicit_role_assignments": groups}),
        400,
        "saml_connection_attribute_mapping_missing_groups_key",
    )
    .await;
    // Stored mapping with groups: accepted.
    let cid = new_connection(&env).await;
    env.update(
        &cid,
        json!({"attribute_mapping": {"email": "m", "full_name": "n", "groups": "g"}}),
    )
    .await;
    let (s, body) = env
        .update(
            &cid,
            json!({"saml_group_implicit_role_assignments": groups}),
        )
        .await;
    assert_eq!(s.as_u16(), 200, "{body}");
    // Removing groups from the stored mapping while group roles exist: refused.
    let (s, body) = env
        .update(
            &cid,
            json!({"attribute_mapping": {"email": "m", "full_name": "n"}}),
        )
        .await;
    assert_error(
        s,
        &body,
        400,
        "saml_connection_attribute_mapping_missing_groups_key",
    );
}

#[tokio::test]
async fn idp_sso_url_rules() {
    let env = start().await;
    expect_update_error(
        &env,
        json!({"idp_sso_url": "not a url"}),
        400,
        "saml_connection_idp_sso_url_invalid_format",
    )
    .await;
    expect_update_error(
        &env,
        json!({"idp_sso_url": "http://idp.example.com/sso"}),
        400,
        "saml_connection_idp_sso_url_not_https",
    )
    .await;
}

#[tokio::test]
async fn private_key_rules() {
    let env = start().await;
    expect_update_error(
        &env,
        json!({"signing_private_key": PKCS8}),
        400,
        "saml_signing_private_key_format_not_supported",
    )
    .await;
    expect_update_error(
        &env,
        json!({"saml_encryption_private_key": PKCS8}),
        400,
        "saml_signing_private_key_format_not_supported",
    )
    .await;
    let garbage =
        "-----BEGIN RSA PRIVATE KEY-----\nMIIBOgIBAAJBAK\n-----END RSA PRIVATE KEY-----\n";
    expect_update_error(
        &env,
        json!({"signing_private_key": garbage}),
        400,
        "saml_signing_private_key_invalid",
    )
    .await;
    expect_update_error(
        &env,
        json!({"signing_private_key": "just text"}),
        400,
        "saml_signing_private_key_invalid",
    )
    .await;
}

#[tokio::test]
async fn identity_provider_and_roles() {
    let env = start().await;
    let (s, body) = env
        .call(
            Method::POST,
            &format!("/v1/b2b/sso/saml/{ORG}"),
            Some(json!({"identity_provider": "googleworkspace"})),
        )
        .await;
    assert_error(s, &body, 400, "invalid_sso_idp");
    assert!(
        env.list().await.is_empty(),
        "rejected create must not add a connection"
    );
    expect_update_error(
        &env,
        json!({"identity_provider": "adfs"}),
        400,
        "invalid_sso_idp",
    )
    .await;
    expect_update_error(
        &env,
        json!({"saml_connection_implicit_role_assignments": [{"role_id": ""}]}),
        400,
        "invalid_rbac_role_id",
    )
    .await;
    expect_update_error(
        &env,
        json!({"attribute_mapping": {"email": "m", "full_name": "n", "groups": "g"}, "saml_group_implicit_role_assignments": [{"role_id": " ", "group": "g"}]}),
        400,
        "invalid_rbac_role_id",
    )
    .await;
}

#[tokio::test]
async fn certificate_limits() {
    let env = start().await;
    let cid = new_connection(&env).await;
    for i in 0..5 {
        let (pem, _) = cert(&format!("c{i}"), 2021, 2031);
        let (s, body) = env.update(&cid, json!({"x509_certificate": pem})).await;
        assert_eq!(s.as_u16(), 200, "{body}");
    }
    let (pem, _) = cert("sixth", 2021, 2031);
    let (s, body) = env.update(&cid, json!({"x509_certificate": pem})).await;
    assert_error(s, &body, 400, "too_many_sso_verification_certificates");
    assert_eq!(
        env.list().await[0]["verification_certificates"]
            .as_array()
            .map(Vec::len),
        Some(5)
    );
}

#[tokio::test]
async fn last_certificate_of_an_active_connection_cannot_be_deleted() {
    let env = start().await;
    let cid = new_connection(&env).await;
    let (pem, _) = cert("only", 2021, 2031);
    let (_, body) = env.update(&cid, activating_update(&pem)).await;
    assert_eq!(body["connection"]["status"], "active");
    let cert_id = body["connection"]["verification_certificates"][0]["certificate_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let path =
        format!("/v1/b2b/sso/saml/{ORG}/connections/{cid}/verification_certificates/{cert_id}");
    let (s, body) = env.call(Method::DELETE, &path, None).await;
    assert_error(s, &body, 400, "cannot_delete_last_sso_verification_key");
    // A pending connection may lose its only certificate.
    let pending = new_connection(&env).await;
    let (_, body) = env.update(&pending, json!({"x509_certificate": pem})).await;
    let id = body["connection"]["verification_certificates"][0]["certificate_id"].clone();
    let path = format!(
        "/v1/b2b/sso/saml/{ORG}/connections/{pending}/verification_certificates/{}",
        id.as_str().expect("id")
    );
    let (s, body) = env.call(Method::DELETE, &path, None).await;
    assert_eq!(s.as_u16(), 200, "{body}");
}

#[tokio::test]
async fn clearing_a_prerequisite_of_an_active_connection_is_refused() {
    let env = start().await;
    let cid = new_connection(&env).await;
    let (pem, _) = cert("idp", 2021, 2031);
    env.update(&cid, activating_update(&pem)).await;
    for (body, error_type) in [
        (
            json!({"idp_sso_url": ""}),
            "saml_connection_idp_sso_url_required",
        ),
        (
            json!({"attribute_mapping": {}}),
            "saml_connection_attribute_mapping_required",
        ),
        (json!({"idp_entity_id": ""}), "invalid_idp_entity_id"),
    ] {
        let (s, json) = env.update(&cid, body).await;
        assert_error(s, &json, 400, error_type);
    }
    assert_eq!(env.list().await[0]["status"], "active");
}

#[tokio::test]
async fn not_found_errors() {
    let env = start().await;
    let cid = new_connection(&env).await;
    let cases = [
        (
            Method::GET,
            "/v1/b2b/sso/nope".to_owned(),
            "organization_not_found",
        ),
        (
            Method::POST,
            "/v1/b2b/sso/saml/nope".to_owned(),
            "organization_not_found",
        ),
        (
            Method::PUT,
            format!("/v1/b2b/sso/saml/{ORG}/connections/saml-connection-test-x"),
            "saml_connection_not_found",
        ),
        (
            Method::PUT,
            format!("/v1/b2b/sso/saml/{ORG}/connections/saml-connection-test-x/url"),
            "saml_connection_not_found",
        ),
        (
            Method::DELETE,
            format!("/v1/b2b/sso/{ORG}/connections/saml-connection-test-x"),
            "sso_connection_not_found",
        ),
        (
            Method::DELETE,
            format!("/v1/b2b/sso/saml/{ORG}/connections/{cid}/verification_certificates/nope"),
            "sso_verification_key_not_found",
        ),
        (
            Method::DELETE,
            format!("/v1/b2b/sso/saml/{ORG}/connections/{cid}/encryption_private_keys/nope"),
            "sso_encryption_private_key_not_found",
        ),
        (
            Method::DELETE,
            format!(
                "/v1/b2b/sso/saml/{ORG}/connections/saml-connection-test-x/encryption_private_keys/nope"
            ),
            "saml_connection_not_found",
        ),
        (
            Method::GET,
            "/v1/b2b/nothing/here".to_owned(),
            "route_not_found",
        ),
    ];
    for (method, path, error_type) in cases {
        let (s, body) = env.call(method.clone(), &path, Some(json!({}))).await;
        assert_error(s, &body, 404, error_type);
    }
}

#[tokio::test]
async fn malformed_json_body_is_a_bad_request() {
    let env = start().await;
    let cid = new_connection(&env).await;
    let resp = env
        .http
        .put(env.url(&format!("/v1/b2b/sso/saml/{ORG}/connections/{cid}")))
        .basic_auth(PROJECT, Some(SECRET))
        .body("{not json")
        .send()
        .await
        .expect("sent");
    let status = resp.status();
    let body: Value = resp.json().await.expect("json");
    assert_error(status, &body, 400, "bad_request");
}
