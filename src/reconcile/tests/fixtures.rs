//! Fixtures: certificates made with rcgen at fixed dates, test keys, specs and live connections.

use std::collections::BTreeMap;

use jiff::Timestamp;
use rcgen::{CertificateParams, DnType, KeyPair, date_time_ymd};
use serde_json::json;

use crate::api::SamlConnectionSpec;
use crate::reconcile::desired::{DesiredConnection, Sources, resolve};
use crate::stytch::model::{SamlConnection, X509Certificate};

pub const KEY_A: &str = include_str!("../../../tests/fixtures/rsa-pkcs1-a.pem");
pub const KEY_B: &str = include_str!("../../../tests/fixtures/rsa-pkcs1-b.pem");
pub const KEY_PKCS8: &str = include_str!("../../../tests/fixtures/rsa-pkcs8.pem");
pub const KEY_EC: &str = include_str!("../../../tests/fixtures/ec.pem");
pub const SIGNING_CERT_A: &str = include_str!("../../../tests/fixtures/signing-cert-a.pem");

/// The clock every test runs at.
pub fn now() -> Timestamp {
    "2026-12-03T12:00:00Z".parse().unwrap()
}

/// A self-signed certificate valid between the given years (1 January).
pub fn cert_between(cn: &str, from_year: i32, to_year: i32) -> String {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(vec![format!("{cn}.example.com")]).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    params.not_before = date_time_ymd(from_year, 1, 1);
    params.not_after = date_time_ymd(to_year, 1, 1);
    params.self_signed(&key).unwrap().pem()
}

/// A certificate valid until 2036.
pub fn cert(cn: &str) -> String {
    cert_between(cn, 2024, 2036)
}

/// A spec with every field set, taking certificates as inline PEM.
pub fn full_spec(certs: &[&str]) -> SamlConnectionSpec {
    let certificates: Vec<_> = certs.iter().map(|pem| json!({ "pem": pem })).collect();
    serde_json::from_value(json!({
        "credentialsRef": { "name": "stytch" },
        "organizationId": "acme",
        "connectionId": "saml-connection-test-1",
        "displayName": "Acme Okta",
        "identityProvider": "okta",
        "idp": {
            "entityId": "http://www.okta.com/exk1",
            "ssoUrl": "https://acme.okta.com/app/sso/saml",
            "certificates": certificates,
        },
        "attributeMapping": {
            "email": "email", "firstName": "firstName", "lastName": "lastName",
            "groups": "groups", "additional": { "department": "dept" }
        },
        "nameIdFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
        "alternativeAudienceUri": "https://old.example.com/audience",
        "alternativeAcsUrl": "https://old.example.com/acs",
        "idpInitiatedAuthDisabled": true,
        "roleAssignments": [{ "roleId": "stytch_member" }, { "roleId": "viewer" }],
        "groupRoleAssignments": [{ "group": "admins", "roleId": "stytch_admin" }],
        "signingPrivateKeyRef": { "name": "saml-keys", "key": "signing.pem" },
        "encryptionPrivateKeyRef": { "name": "saml-keys", "key": "encryption.pem" },
    }))
    .unwrap()
}

/// Sources holding the credentials and the key Secret with keys A (signing) and B (encryption).
pub fn sources() -> Sources {
    let mut sources = Sources::default();
    sources.secrets.insert(
        "stytch".into(),
        BTreeMap::from([
            ("project_id".into(), b"project-test-1".to_vec()),
            ("secret".into(), b"secret-test-1".to_vec()),
        ]),
    );
    sources.secrets.insert(
        "saml-keys".into(),
        BTreeMap::from([
            ("signing.pem".into(), KEY_A.as_bytes().to_vec()),
            ("encryption.pem".into(), KEY_B.as_bytes().to_vec()),
        ]),
    );
    sources
}

pub fn desired(spec: &SamlConnectionSpec) -> DesiredConnection {
    resolve(spec, &sources(), now()).unwrap()
}

fn x509(id: &str, pem: &str) -> X509Certificate {
    X509Certificate {
        certificate_id: id.into(),
        certificate: pem.into(),
        issuer: "issuer".into(),
        ..Default::default()
    }
}

/// A live connection equal to `full_spec(certs)`, written the way Stytch returns it
/// (PEM re-wrapped, URLs with trailing slashes, roles in another order).
pub fn live_in_sync(certs: &[&str]) -> SamlConnection {
    let mapping = json!({
        "email": "email", "first_name": "firstName", "last_name": "lastName",
        "groups": "groups", "department": "dept"
    });
    SamlConnection {
        organization_id: "organization-test-1".into(),
        connection_id: "saml-connection-test-1".into(),
        status: "active".into(),
        idp_entity_id: "http://www.okta.com/exk1".into(),
        display_name: "Acme Okta".into(),
        idp_sso_url: "https://ACME.okta.com/app/sso/saml/".into(),
        acs_url: "https://test.stytch.com/v1/b2b/sso/callback/saml-connection-test-1".into(),
        audience_uri: "https://test.stytch.com/v1/b2b/sso/callback/saml-connection-test-1".into(),
        signing_certificates: vec![x509("", SIGNING_CERT_A)],
        verification_certificates: certs
            .iter()
            .enumerate()
            .map(|(i, pem)| {
                x509(
                    &format!("cert-{i}"),
                    &format!("\n  {}  \n", pem.replace('\n', "\r\n")),
                )
            })
            .collect(),
        encryption_private_keys: vec![crate::stytch::model::EncryptionPrivateKey {
            private_key_id: "key-b".into(),
            private_key: crate::secret::SecretString::new(KEY_B),
            created_at: None,
        }],
        saml_connection_implicit_role_assignments: vec![
            crate::stytch::model::ImplicitRoleAssignment {
                role_id: "viewer".into(),
            },
            crate::stytch::model::ImplicitRoleAssignment {
                role_id: "stytch_member".into(),
            },
        ],
        saml_group_implicit_role_assignments: vec![
            crate::stytch::model::GroupImplicitRoleAssignment {
                role_id: "stytch_admin".into(),
                group: "admins".into(),
            },
        ],
        alternative_audience_uri: "https://old.example.com/audience/".into(),
        identity_provider: "okta".into(),
        nameid_format: "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified".into(),
        alternative_acs_url: "https://old.example.com/acs".into(),
        idp_initiated_auth_disabled: true,
        allow_gateway_callback: false,
        attribute_mapping: serde_json::from_value(mapping).unwrap(),
        extra: Default::default(),
    }
}
