//! Resolve + validate: the happy path and a table of bad inputs, each mapped to its reason.

use serde_json::{Value, json};

use super::fixtures::*;
use crate::api::SamlConnectionSpec;
use crate::reconcile::desired::{
    DesiredIdp, Sources, referenced_config_maps, referenced_secrets, resolve,
};
use crate::reconcile::reasons::Reason;

fn spec_with(patch: Value) -> SamlConnectionSpec {
    let mut base = serde_json::to_value(full_spec(&[&cert("idp")])).unwrap();
    json_merge(&mut base, patch);
    serde_json::from_value(base).unwrap()
}

fn json_merge(target: &mut Value, patch: Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                if v.is_null() {
                    t.remove(&k);
                } else {
                    json_merge(t.entry(k).or_insert(Value::Null), v);
                }
            }
        }
        (t, p) => *t = p,
    }
}

#[test]
fn a_full_spec_resolves() {
    let spec = full_spec(&[&cert("one"), &cert("two")]);
    let d = resolve(&spec, &sources(), now()).unwrap();
    assert_eq!(d.display_name.as_deref(), Some("Acme Okta"));
    assert_eq!(d.identity_provider.as_deref(), Some("okta"));
    assert_eq!(
        d.role_ids,
        Some(vec!["stytch_member".to_string(), "viewer".to_string()])
    );
    assert_eq!(
        d.group_roles,
        Some(vec![("admins".to_string(), "stytch_admin".to_string())])
    );
    let mapping = d.attribute_mapping.unwrap();
    assert_eq!(
        mapping.get("first_name").map(String::as_str),
        Some("firstName")
    );
    assert_eq!(mapping.get("department").map(String::as_str), Some("dept"));
    match d.idp {
        DesiredIdp::Explicit {
            certificates: Some(certs),
            ..
        } => {
            assert_eq!(certs.len(), 2);
            assert!(certs[0].subject.contains("one"));
            assert_eq!(certs[0].sha256.len(), 95);
        }
        other => panic!("unexpected idp {other:?}"),
    }
    assert!(d.signing_key.is_some() && d.encryption_key.is_some());
}

#[test]
fn a_staged_spec_with_only_a_display_name_resolves() {
    let spec: SamlConnectionSpec = serde_json::from_value(json!({
        "credentialsRef": { "name": "stytch" },
        "organizationId": "acme",
        "displayName": "Acme (waiting for IdP)",
    }))
    .unwrap();
    let d = resolve(&spec, &Sources::default(), now()).unwrap();
    assert_eq!(d.idp, DesiredIdp::Unmanaged);
    assert_eq!(d.attribute_mapping, None);
    assert_eq!(d.role_ids, None);
}

#[test]
fn certificates_come_from_secrets_and_config_maps() {
    let spec = spec_with(json!({ "idp": { "certificates": [
        { "secretKeyRef": { "name": "idp-certs", "key": "new.pem" } },
        { "configMapKeyRef": { "name": "idp-ca", "key": "old.pem" } },
    ]}}));
    let mut sources = sources();
    sources.secrets.insert(
        "idp-certs".into(),
        [("new.pem".to_string(), cert("new").into_bytes())].into(),
    );
    sources.config_maps.insert(
        "idp-ca".into(),
        [("old.pem".to_string(), cert("old"))].into(),
    );
    let d = resolve(&spec, &sources, now()).unwrap();
    let DesiredIdp::Explicit {
        certificates: Some(certs),
        ..
    } = d.idp
    else {
        panic!()
    };
    assert_eq!(certs.len(), 2);
    assert_eq!(
        referenced_secrets(&spec),
        ["idp-certs", "saml-keys", "stytch"]
            .map(String::from)
            .into()
    );
    assert_eq!(
        referenced_config_maps(&spec),
        ["idp-ca"].map(String::from).into()
    );
}

#[test]
fn the_same_certificate_twice_counts_once() {
    let pem = cert("dup");
    let d = desired(&full_spec(&[&pem, &pem]));
    let DesiredIdp::Explicit {
        certificates: Some(certs),
        ..
    } = d.idp
    else {
        panic!()
    };
    assert_eq!(certs.len(), 1);
}

/// (case name, spec patch, extra Secret data for `saml-keys`, expected reason, field)
/// A bad input: the patch to the base spec, extra data for the `saml-keys` Secret, and the
/// reason and field it must be reported with.
struct BadInput {
    name: &'static str,
    patch: Value,
    secret: Option<(&'static str, String)>,
    reason: Reason,
    field: &'static str,
}

fn bad_inputs() -> Vec<BadInput> {
    let pem_cert = |pem: String| json!({ "idp": { "certificates": [{ "pem": pem }] } });
    let case = |name, patch, secret, reason, field| BadInput {
        name,
        patch,
        secret,
        reason,
        field,
    };
    vec![
        case(
            "garbage pem",
            pem_cert("not a certificate".into()),
            None,
            Reason::InvalidX509Certificate,
            "spec.idp.certificates[0]",
        ),
        case(
            "pem with a broken body",
            pem_cert("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n".into()),
            None,
            Reason::InvalidX509Certificate,
            "spec.idp.certificates[0]",
        ),
        case(
            "a key where a certificate belongs",
            pem_cert(KEY_A.into()),
            None,
            Reason::InvalidX509Certificate,
            "spec.idp.certificates[0]",
        ),
        case(
            "expired certificate",
            pem_cert(cert_between("old", 2019, 2021)),
            None,
            Reason::CertificateExpired,
            "spec.idp.certificates[0]",
        ),
        case(
            "certificate chain",
            pem_cert(format!("{}{}", cert("a"), cert("b"))),
            None,
            Reason::CertificateChainNotAccepted,
            "spec.idp.certificates[0]",
        ),
        case(
            "six certificates",
            json!({ "idp": { "certificates": (0..6).map(|i| json!({"pem": cert(&format!("c{i}"))})).collect::<Vec<_>>() } }),
            None,
            Reason::TooManyVerificationCertificates,
            "spec.idp.certificates",
        ),
        case(
            "empty certificate list",
            json!({ "idp": { "certificates": [] } }),
            None,
            Reason::TooManyVerificationCertificates,
            "spec.idp.certificates",
        ),
        case(
            "two sources in one entry",
            json!({ "idp": { "certificates": [{ "pem": cert("x"), "secretKeyRef": { "name": "a", "key": "b" } }] } }),
            None,
            Reason::InvalidX509Certificate,
            "spec.idp.certificates[0]",
        ),
        case(
            "certificate Secret missing",
            json!({ "idp": { "certificates": [{ "secretKeyRef": { "name": "nope", "key": "tls.crt" } }] } }),
            None,
            Reason::SecretNotFound,
            "spec.idp.certificates[0].secretKeyRef",
        ),
        case(
            "certificate Secret key missing",
            json!({ "idp": { "certificates": [{ "secretKeyRef": { "name": "saml-keys", "key": "tls.crt" } }] } }),
            None,
            Reason::SecretKeyNotFound,
            "spec.idp.certificates[0].secretKeyRef",
        ),
        case(
            "certificate ConfigMap missing",
            json!({ "idp": { "certificates": [{ "configMapKeyRef": { "name": "nope", "key": "ca.crt" } }] } }),
            None,
            Reason::ConfigMapNotFound,
            "spec.idp.certificates[0].configMapKeyRef",
        ),
        case(
            "http SSO URL",
            json!({ "idp": { "ssoUrl": "http://acme.okta.com/sso" } }),
            None,
            Reason::IdpSsoUrlNotHttps,
            "spec.idp.ssoUrl",
        ),
        case(
            "SSO URL that is not a URL",
            json!({ "idp": { "ssoUrl": "acme.okta.com/sso" } }),
            None,
            Reason::IdpSsoUrlInvalidFormat,
            "spec.idp.ssoUrl",
        ),
        case(
            "empty entity id",
            json!({ "idp": { "entityId": " " } }),
            None,
            Reason::InvalidIdpEntityId,
            "spec.idp.entityId",
        ),
        case(
            "http metadata URL",
            json!({ "idp": { "metadataUrl": "http://idp.example.com/metadata", "entityId": null, "ssoUrl": null, "certificates": null } }),
            None,
            Reason::MetadataUrlNotHttps,
            "spec.idp.metadataUrl",
        ),
        case(
            "metadata URL that is not a URL",
            json!({ "idp": { "metadataUrl": "metadata.xml", "entityId": null, "ssoUrl": null, "certificates": null } }),
            None,
            Reason::MetadataUrlInvalid,
            "spec.idp.metadataUrl",
        ),
        case(
            "metadata URL with explicit fields",
            json!({ "idp": { "metadataUrl": "https://idp.example.com/metadata" } }),
            None,
            Reason::MetadataInvalidFormat,
            "spec.idp",
        ),
        case(
            "empty email mapping",
            json!({ "attributeMapping": { "email": "  " } }),
            None,
            Reason::EmailMappingRequired,
            "spec.attributeMapping.email",
        ),
        case(
            "first name without last name",
            json!({ "attributeMapping": { "lastName": null } }),
            None,
            Reason::NameMappingRequired,
            "spec.attributeMapping",
        ),
        case(
            "group roles without groups mapping",
            json!({ "attributeMapping": { "groups": null } }),
            None,
            Reason::AttributeMappingMissingGroupsKey,
            "spec.attributeMapping.groups",
        ),
        case(
            "group roles without any mapping",
            json!({ "attributeMapping": null }),
            None,
            Reason::AttributeMappingMissingGroupsKey,
            "spec.attributeMapping.groups",
        ),
        case(
            "additional key repeating a named key",
            json!({ "attributeMapping": { "additional": { "email": "mail" } } }),
            None,
            Reason::NestedAttributeMappingKeys,
            "spec.attributeMapping.additional.email",
        ),
        case(
            "dotted (nested) additional key",
            json!({ "attributeMapping": { "additional": { "address.city": "city" } } }),
            None,
            Reason::NestedAttributeMappingKeys,
            "spec.attributeMapping.additional.address.city",
        ),
        case(
            "empty role id",
            json!({ "roleAssignments": [{ "roleId": " " }] }),
            None,
            Reason::InvalidRoleId,
            "spec.roleAssignments[0].roleId",
        ),
        case(
            "empty group in a group role",
            json!({ "groupRoleAssignments": [{ "group": "", "roleId": "r" }] }),
            None,
            Reason::InvalidRoleId,
            "spec.groupRoleAssignments[0]",
        ),
        case(
            "alternative ACS URL that is not a URL",
            json!({ "alternativeAcsUrl": "old acs" }),
            None,
            Reason::InvalidAlternativeUrl,
            "spec.alternativeAcsUrl",
        ),
        case(
            "PKCS#8 signing key",
            json!({}),
            Some(("signing.pem", KEY_PKCS8.into())),
            Reason::SigningPrivateKeyFormatNotSupported,
            "spec.signingPrivateKeyRef",
        ),
        case(
            "EC signing key",
            json!({}),
            Some(("signing.pem", KEY_EC.into())),
            Reason::SigningPrivateKeyFormatNotSupported,
            "spec.signingPrivateKeyRef",
        ),
        case(
            "garbage signing key",
            json!({}),
            Some((
                "signing.pem",
                "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n".into(),
            )),
            Reason::SigningPrivateKeyInvalid,
            "spec.signingPrivateKeyRef",
        ),
        case(
            "signing key that is not PEM",
            json!({}),
            Some(("signing.pem", "hello".into())),
            Reason::SigningPrivateKeyInvalid,
            "spec.signingPrivateKeyRef",
        ),
        case(
            "PKCS#8 encryption key",
            json!({}),
            Some(("encryption.pem", KEY_PKCS8.into())),
            Reason::EncryptionPrivateKeyFormatNotSupported,
            "spec.encryptionPrivateKeyRef",
        ),
        case(
            "garbage encryption key",
            json!({}),
            Some(("encryption.pem", "junk".into())),
            Reason::EncryptionPrivateKeyInvalid,
            "spec.encryptionPrivateKeyRef",
        ),
        case(
            "signing key Secret missing",
            json!({ "signingPrivateKeyRef": { "name": "gone", "key": "k" } }),
            None,
            Reason::SecretNotFound,
            "spec.signingPrivateKeyRef",
        ),
        case(
            "signing key missing from its Secret",
            json!({ "signingPrivateKeyRef": { "name": "saml-keys", "key": "absent.pem" } }),
            None,
            Reason::SecretKeyNotFound,
            "spec.signingPrivateKeyRef",
        ),
    ]
}

#[test]
fn bad_inputs_map_to_their_reasons() {
    let cases = bad_inputs();
    assert!(cases.len() >= 20);
    for BadInput {
        name,
        patch,
        secret,
        reason,
        field,
    } in cases
    {
        let spec = spec_with(patch);
        let mut sources = sources();
        if let Some((key, value)) = secret {
            sources
                .secrets
                .get_mut("saml-keys")
                .unwrap()
                .insert(key.into(), value.into_bytes());
        }
        let problems = resolve(&spec, &sources, now()).expect_err(name);
        assert!(
            problems
                .iter()
                .any(|p| p.reason == reason && p.field == field),
            "{name}: expected {reason} at {field}, got {problems:?}"
        );
        for p in &problems {
            for key in [KEY_A, KEY_B, KEY_PKCS8, KEY_EC] {
                let body_line = key.lines().nth(1).unwrap();
                assert!(
                    !p.message.contains(body_line),
                    "{name}: key material in {p:?}"
                );
            }
            assert!(
                !p.message.contains("secret-test-1"),
                "{name}: secret in {p:?}"
            );
        }
    }
}

#[test]
fn every_problem_is_reported_not_only_the_first() {
    let spec = spec_with(json!({
        "idp": { "ssoUrl": "http://x", "certificates": [{ "pem": "junk" }] },
        "roleAssignments": [{ "roleId": "" }],
    }));
    let reasons: Vec<_> = resolve(&spec, &sources(), now())
        .unwrap_err()
        .into_iter()
        .map(|p| p.reason)
        .collect();
    for r in [
        Reason::IdpSsoUrlNotHttps,
        Reason::InvalidX509Certificate,
        Reason::InvalidRoleId,
    ] {
        assert!(reasons.contains(&r), "{r} missing from {reasons:?}");
    }
}
