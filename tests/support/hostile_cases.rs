//! The hostile and bad input table: each case is a whole `SamlConnection` spec and what must
//! happen to it — refused by `kubectl apply` (schema/CEL) with a message naming the field, a
//! condition reason, or accepted and Ready. This file holds the case type, the spec builders and
//! the admitted (runtime) cases; the admission cases are in hostile_admission.rs.

#![allow(dead_code)]

use serde_json::{Value, json};

use super::hostile_server::HostileServer;
use super::probe::fixture;
use crate::support::{cert, full_spec};

/// What must happen to a case.
#[derive(Clone, Debug, PartialEq)]
pub enum Expect {
    /// `kubectl apply` exits non-zero and its output contains this (the field or rule message).
    Admission(&'static str),
    /// Admitted; `Ready` gets this reason (and `Stalled=True` unless the reason is transient).
    Reason(&'static str),
    /// Admitted and becomes Ready.
    Ready,
}

pub struct Case {
    /// Resource name (also in the display name `hostile <name>`).
    pub name: &'static str,
    /// For admission cases that change an existing resource: its name.
    pub update_of: Option<&'static str>,
    /// The kubectl verb: `apply`, or `replace` where a removed field must reach the server
    /// (client-side apply keeps fields it did not set itself).
    pub verb: &'static str,
    pub spec: Value,
    pub expect: Expect,
}

/// Namespace holding Secrets that resources in `default` must not be able to read.
pub const OTHER_NS: &str = "hostile-other";
/// Connection id no connection has.
pub const UNKNOWN_CONNECTION: &str = "saml-connection-test-00000000-0000-4000-8000-000000000000";
/// Resource adopting [`UNKNOWN_CONNECTION`]; the immutability cases try to change its id.
pub const ADOPT_MISSING: &str = "connection-id-unknown";
/// Good resource applied first; the organizationId case tries to change it.
pub const GOOD_FIRST: &str = "good-first";

/// A certificate valid between two years.
pub fn cert_between(cn: &str, from: i32, to: i32) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![format!("{cn}.example.com")]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.not_before = rcgen::date_time_ymd(from, 1, 1);
    params.not_after = rcgen::date_time_ymd(to, 1, 1);
    params.self_signed(&key).unwrap().pem()
}

/// The base spec (valid) with `patch` merged in (JSON merge patch: null removes).
pub fn spec(name: &str, patch: Value) -> Value {
    let mut spec = full_spec(&[&cert(name)]);
    spec["displayName"] = json!(format!("hostile {name}"));
    merge(&mut spec, patch);
    spec
}

pub fn merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(&k);
                } else {
                    merge(t.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p,
    }
}

pub fn metadata(url: String) -> Value {
    json!({"idp": {"metadataUrl": url, "entityId": null, "ssoUrl": null, "certificates": null}})
}

pub fn pem(pem: String) -> Value {
    json!({"idp": {"certificates": [{"pem": pem}]}})
}

pub fn signing(secret: &str, key: &str) -> Value {
    json!({"signingPrivateKeyRef": {"name": secret, "key": key}})
}

pub fn admission(name: &'static str, patch: Value, needle: &'static str) -> Case {
    Case {
        name,
        update_of: None,
        verb: "apply",
        spec: spec(name, patch),
        expect: Expect::Admission(needle),
    }
}

pub fn update(
    name: &'static str,
    (verb, of): (&'static str, &'static str),
    spec: Value,
    needle: &'static str,
) -> Case {
    Case {
        name,
        update_of: Some(of),
        verb,
        spec,
        expect: Expect::Admission(needle),
    }
}

fn runtime(name: &'static str, patch: Value, reason: &'static str) -> Case {
    Case {
        name,
        update_of: None,
        verb: "apply",
        spec: spec(name, patch),
        expect: Expect::Reason(reason),
    }
}

fn accepted(name: &'static str, patch: Value) -> Case {
    Case {
        name,
        update_of: None,
        verb: "apply",
        spec: spec(name, patch),
        expect: Expect::Ready,
    }
}

/// Cases admitted by the API server: each must end with its reason, or Ready.
pub fn runtime_cases(server: &HostileServer) -> Vec<Case> {
    let chain = format!("{}{}", cert("chain-a"), cert("chain-b"));
    let bad_body = "-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n";
    vec![
        runtime(
            "cert-not-pem",
            pem("not a certificate".into()),
            "InvalidX509Certificate",
        ),
        runtime(
            "cert-bad-base64",
            pem(bad_body.into()),
            "InvalidX509Certificate",
        ),
        runtime(
            "cert-is-a-private-key",
            pem(fixture("rsa-pkcs1-b.pem")),
            "InvalidX509Certificate",
        ),
        runtime(
            "cert-expired",
            pem(cert_between("expired", 2019, 2021)),
            "CertificateExpired",
        ),
        runtime("cert-chain", pem(chain), "CertificateChainNotAccepted"),
        runtime(
            "cert-secret-other-namespace",
            json!({"idp": {"certificates": [{"secretKeyRef": {"name": "other-only", "key": "tls.crt"}}]}}),
            "SecretNotFound",
        ),
        runtime(
            "cert-secret-key-missing",
            json!({"idp": {"certificates": [{"secretKeyRef": {"name": "hostile-keys", "key": "tls.crt"}}]}}),
            "SecretKeyNotFound",
        ),
        runtime(
            "cert-configmap-missing",
            json!({"idp": {"certificates": [{"configMapKeyRef": {"name": "absent", "key": "ca.crt"}}]}}),
            "ConfigMapNotFound",
        ),
        runtime(
            "signing-key-pkcs8",
            signing("hostile-keys", "pkcs8"),
            "SigningPrivateKeyFormatNotSupported",
        ),
        runtime(
            "signing-key-ec",
            signing("hostile-keys", "ec"),
            "SigningPrivateKeyFormatNotSupported",
        ),
        runtime(
            "signing-key-garbage",
            signing("hostile-keys", "garbage"),
            "SigningPrivateKeyInvalid",
        ),
        runtime(
            "encryption-key-pkcs8",
            json!({"encryptionPrivateKeyRef": {"name": "hostile-keys", "key": "pkcs8"}}),
            "EncryptionPrivateKeyFormatNotSupported",
        ),
        runtime(
            "signing-secret-missing",
            signing("absent", "pkcs1"),
            "SecretNotFound",
        ),
        runtime(
            "signing-key-missing",
            signing("hostile-keys", "absent"),
            "SecretKeyNotFound",
        ),
        runtime(
            "signing-secret-other-namespace",
            signing("other-only", "pkcs1"),
            "SecretNotFound",
        ),
        runtime(
            "credentials-missing",
            json!({"credentialsRef": {"name": "absent"}}),
            "CredentialsSecretNotFound",
        ),
        runtime(
            "credentials-other-namespace",
            json!({"credentialsRef": {"name": "other-only"}}),
            "CredentialsSecretNotFound",
        ),
        runtime(
            "credentials-incomplete",
            json!({"credentialsRef": {"name": "hostile-keys"}}),
            "CredentialsSecretInvalid",
        ),
        runtime(
            "sso-url-unparseable",
            json!({"idp": {"ssoUrl": "https://[::1/sso"}}),
            "IdpSsoUrlInvalidFormat",
        ),
        runtime(
            "entity-id-blank",
            json!({"idp": {"entityId": "   "}}),
            "InvalidIdpEntityId",
        ),
        runtime(
            "mapping-dotted-key",
            json!({"attributeMapping": {"additional": {"address.city": "city"}}}),
            "NestedAttributeMappingKeys",
        ),
        runtime(
            "mapping-email-blank",
            json!({"attributeMapping": {"email": "  "}}),
            "EmailMappingRequired",
        ),
        runtime(
            "alternative-acs-not-a-url",
            json!({"alternativeAcsUrl": "old acs"}),
            "InvalidAlternativeUrl",
        ),
        runtime(
            "role-id-blank",
            json!({"roleAssignments": [{"roleId": " "}]}),
            "InvalidRoleId",
        ),
        runtime(
            "organization-unknown",
            json!({"organizationId": "no-such-org"}),
            "OrganizationNotFound",
        ),
        runtime(
            ADOPT_MISSING,
            json!({"connectionId": UNKNOWN_CONNECTION}),
            "ConnectionNotFound",
        ),
        runtime(
            "metadata-host-not-allowed",
            metadata(server.localhost_url("/ok")),
            "MetadataHostNotAllowed",
        ),
        runtime(
            "metadata-redirect-http",
            metadata(server.url("/redirect-http")),
            "MetadataUrlNotHttps",
        ),
        runtime(
            "metadata-redirect-loop",
            metadata(server.url("/loop")),
            "MetadataUrlInvalid",
        ),
        runtime(
            "metadata-not-found",
            metadata(server.url("/not-found")),
            "MetadataUrlInvalid",
        ),
        runtime(
            "metadata-url-unparseable",
            metadata("https://[::1/metadata".into()),
            "MetadataUrlInvalid",
        ),
        runtime(
            "metadata-50mb-declared",
            metadata(server.url("/huge-declared")),
            "MetadataInvalidFormat",
        ),
        runtime(
            "metadata-50mb-chunked",
            metadata(server.url("/huge-chunked")),
            "MetadataInvalidFormat",
        ),
        runtime(
            "metadata-invalid-xml",
            metadata(server.url("/invalid-xml")),
            "MetadataXmlInvalid",
        ),
        runtime(
            "metadata-not-xml",
            metadata(server.url("/not-xml")),
            "MetadataXmlInvalid",
        ),
        runtime(
            "metadata-html",
            metadata(server.url("/html")),
            "MetadataInvalidFormat",
        ),
        runtime(
            "metadata-billion-laughs",
            metadata(server.url("/billion-laughs")),
            "MetadataXmlInvalid",
        ),
        runtime(
            "metadata-external-entity-http",
            metadata(server.url("/xxe-http")),
            "MetadataXmlInvalid",
        ),
        runtime(
            "metadata-external-entity-file",
            metadata(server.url("/xxe-file")),
            "MetadataXmlInvalid",
        ),
        runtime(
            "metadata-hangs",
            metadata(server.url("/hang")),
            "MetadataFetchFailed",
        ),
        accepted(
            "display-name-unicode",
            json!({"displayName": "Ünïcødé 日本語 ✓ — Okta (東京) \u{1F510}"}),
        ),
        accepted("display-name-256", json!({"displayName": "é".repeat(256)})),
        accepted("display-name-empty", json!({"displayName": ""})),
    ]
}

/// Transient reasons: retried with backoff, not Stalled.
pub fn is_transient(reason: &str) -> bool {
    matches!(reason, "MetadataFetchFailed")
}

/// The Secrets the cases reference: `hostile-keys` in `default` (one valid PKCS#1 key, and
/// keys in refused formats), `other-only` only in [`OTHER_NS`].
pub fn key_secret_data() -> Value {
    json!({
        "pkcs1": fixture("rsa-pkcs1-a.pem"),
        "pkcs8": fixture("rsa-pkcs8.pem"),
        "ec": fixture("ec.pem"),
        "garbage": "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n",
    })
}
