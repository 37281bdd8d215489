//! The diff: in-sync connections plan nothing; each change plans exactly its field.

use serde_json::json;

use super::fixtures::*;
use crate::api::SamlConnectionSpec;
use crate::reconcile::certs::parse_certificate;
use crate::reconcile::desired::{DesiredIdp, IdpMetadata};
use crate::reconcile::plan::{Call, MAX_VERIFICATION_CERTIFICATES, plan};
use crate::stytch::model::{SamlConnection, UpdateConnectionRequest, X509Certificate};

fn minimal(extra: serde_json::Value) -> SamlConnectionSpec {
    let mut base = json!({ "credentialsRef": { "name": "stytch" }, "organizationId": "acme" });
    base.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    serde_json::from_value(base).unwrap()
}

/// Replays the calls, checking the certificate count stays within 1..=5 once it is non-zero.
fn replay(calls: &[Call], mut count: usize) -> usize {
    for call in calls {
        match call {
            Call::Update(body) if body.x509_certificate.is_some() => count += 1,
            Call::UpdateByUrl(_) => count += 1,
            Call::DeleteVerificationCertificate(_) => {
                assert!(count > 1, "would delete the last certificate: {calls:?}");
                count -= 1;
            }
            _ => {}
        }
        assert!(
            count <= MAX_VERIFICATION_CERTIFICATES,
            "over the limit: {calls:?}"
        );
    }
    count
}

#[test]
fn a_connection_in_sync_plans_nothing() {
    let certs = [cert("one"), cert("two")];
    let refs: Vec<&str> = certs.iter().map(String::as_str).collect();
    let p = plan(&desired(&full_spec(&refs)), &live_in_sync(&refs));
    assert!(p.is_empty(), "{p:#?}");
    assert!(p.differences.is_empty());
    assert!(p.calls(2).is_empty());
}

/// For every field: a live value written differently but meaning the same plans nothing, and a
/// different value plans an update with exactly that field.
#[test]
fn every_field_in_sync_is_empty_and_a_change_is_exactly_that_field() {
    let base = SamlConnection::default();
    type Setter = fn(&mut SamlConnection);
    let cases: Vec<(serde_json::Value, Setter, Setter, &str, &str)> = vec![
        (
            json!({"displayName": "Acme"}),
            |l| l.display_name = "Acme".into(),
            |l| l.display_name = "Other".into(),
            "display_name",
            "displayName",
        ),
        (
            json!({"identityProvider": "google-workspace"}),
            |l| l.identity_provider = "googleworkspace".into(),
            |l| l.identity_provider = "okta".into(),
            "identity_provider",
            "identityProvider",
        ),
        (
            json!({"nameIdFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"}),
            |l| l.nameid_format = "".into(),
            |l| l.nameid_format = "urn:x".into(),
            "nameid_format",
            "nameIdFormat",
        ),
        (
            json!({"alternativeAudienceUri": "https://a.example.com/aud"}),
            |l| l.alternative_audience_uri = "https://A.example.com/aud/".into(),
            |l| l.alternative_audience_uri = "https://b.example.com".into(),
            "alternative_audience_uri",
            "alternativeAudienceUri",
        ),
        (
            json!({"alternativeAcsUrl": ""}),
            |l| l.alternative_acs_url = "".into(),
            |l| l.alternative_acs_url = "https://acs.example.com".into(),
            "alternative_acs_url",
            "alternativeAcsUrl",
        ),
        (
            json!({"idpInitiatedAuthDisabled": false}),
            |l| l.idp_initiated_auth_disabled = false,
            |l| l.idp_initiated_auth_disabled = true,
            "idp_initiated_auth_disabled",
            "idpInitiatedAuthDisabled",
        ),
        (
            json!({"attributeMapping": {"email": "mail", "fullName": "name"}}),
            |l| {
                l.attribute_mapping =
                    serde_json::from_value(json!({"full_name": "name", "email": "mail"})).unwrap()
            },
            |l| l.attribute_mapping = serde_json::from_value(json!({"email": "mail"})).unwrap(),
            "attribute_mapping",
            "attributeMapping",
        ),
        (
            json!({"roleAssignments": [{"roleId": "b"}, {"roleId": "a"}, {"roleId": "a"}]}),
            |l| {
                l.saml_connection_implicit_role_assignments =
                    serde_json::from_value(json!([{"role_id": "a"}, {"role_id": "b"}])).unwrap()
            },
            |l| {
                l.saml_connection_implicit_role_assignments =
                    serde_json::from_value(json!([{"role_id": "a"}])).unwrap()
            },
            "saml_connection_implicit_role_assignments",
            "roleAssignments",
        ),
        (
            json!({"groupRoleAssignments": [{"group": "g", "roleId": "r"}], "attributeMapping": null}),
            |l| {
                l.saml_group_implicit_role_assignments =
                    serde_json::from_value(json!([{"group": "g", "role_id": "r"}])).unwrap()
            },
            |l| l.saml_group_implicit_role_assignments = vec![],
            "saml_group_implicit_role_assignments",
            "groupRoleAssignments",
        ),
        (
            json!({"idp": {"entityId": "urn:idp"}}),
            |l| l.idp_entity_id = "urn:idp".into(),
            |l| l.idp_entity_id = "urn:other".into(),
            "idp_entity_id",
            "idp.entityId",
        ),
        (
            json!({"idp": {"ssoUrl": "https://idp.example.com/sso"}}),
            |l| l.idp_sso_url = "https://idp.example.com/sso/".into(),
            |l| l.idp_sso_url = "https://idp.example.com/other".into(),
            "idp_sso_url",
            "idp.ssoUrl",
        ),
    ];
    for (extra, same, different, api_field, spec_field) in cases {
        let mut extra = extra;
        if extra.get("groupRoleAssignments").is_some() {
            extra["attributeMapping"] = json!({"email": "e", "fullName": "n", "groups": "groups"});
        }
        let d = desired_unchecked(minimal(extra));
        let mut live = base.clone();
        same(&mut live);
        if d.attribute_mapping.is_some() && live.attribute_mapping.is_none() {
            live.attribute_mapping =
                serde_json::from_value(json!({"email": "e", "full_name": "n", "groups": "groups"}))
                    .unwrap();
        }
        let p = plan(&d, &live);
        assert!(p.is_empty(), "{spec_field}: in sync but planned {p:#?}");
        different(&mut live);
        let p = plan(&d, &live);
        assert_eq!(p.update.field_names(), vec![api_field], "{spec_field}");
        assert_eq!(p.drift(), vec![spec_field.to_string()], "{spec_field}");
        assert_eq!(p.calls(0).len(), 1, "{spec_field}: one call");
    }
}

fn desired_unchecked(spec: SamlConnectionSpec) -> crate::reconcile::DesiredConnection {
    crate::reconcile::resolve(&spec, &sources(), now()).unwrap()
}

#[test]
fn false_and_empty_lists_are_sent_explicitly() {
    let d = desired_unchecked(minimal(
        json!({"idpInitiatedAuthDisabled": false, "roleAssignments": []}),
    ));
    let mut live = SamlConnection {
        idp_initiated_auth_disabled: true,
        ..Default::default()
    };
    live.saml_connection_implicit_role_assignments =
        serde_json::from_value(json!([{"role_id": "x"}])).unwrap();
    let body = serde_json::to_value(plan(&d, &live).update).unwrap();
    assert_eq!(
        body,
        json!({"idp_initiated_auth_disabled": false, "saml_connection_implicit_role_assignments": []})
    );
}

#[test]
fn unmanaged_fields_are_left_alone() {
    let d = desired_unchecked(minimal(json!({})));
    let live = live_in_sync(&[&cert("x")]);
    assert!(plan(&d, &live).is_empty());
}

fn explicit_certs(certs: &[&str]) -> crate::reconcile::DesiredConnection {
    let list: Vec<_> = certs.iter().map(|c| json!({"pem": c})).collect();
    desired_unchecked(minimal(json!({"idp": {"certificates": list}})))
}

fn live_with(certs: &[(&str, &str)]) -> SamlConnection {
    SamlConnection {
        status: "active".into(),
        verification_certificates: certs
            .iter()
            .map(|(id, pem)| X509Certificate {
                certificate_id: id.to_string(),
                certificate: pem.to_string(),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

#[test]
fn rotation_with_overlap_then_removal_of_the_old_certificate() {
    let (old, new) = (cert("old"), cert("new"));
    // Step 1: list both → upload the new one, delete nothing.
    let p = plan(
        &explicit_certs(&[&old, &new]),
        &live_with(&[("c-old", &old)]),
    );
    assert_eq!(p.upload_certificates.len(), 1);
    assert!(p.upload_certificates[0].subject.contains("new"));
    assert!(p.delete_verification_certificates.is_empty());
    assert_eq!(
        p.calls(1),
        vec![Call::Update(Box::new(UpdateConnectionRequest {
            x509_certificate: Some(p.upload_certificates[0].pem.clone()),
            ..Default::default()
        }))]
    );
    // Step 2: list only the new one → delete the old one, upload nothing.
    let p = plan(
        &explicit_certs(&[&new]),
        &live_with(&[("c-old", &old), ("c-new", &new)]),
    );
    assert!(p.upload_certificates.is_empty());
    assert_eq!(
        p.calls(2),
        vec![Call::DeleteVerificationCertificate("c-old".into())]
    );
    // Step 3: in sync.
    assert!(plan(&explicit_certs(&[&new]), &live_with(&[("c-new", &new)])).is_empty());
}

#[test]
fn replacing_the_only_certificate_uploads_before_deleting() {
    let (old, new) = (cert("old"), cert("new"));
    let p = plan(&explicit_certs(&[&new]), &live_with(&[("c-old", &old)]));
    let calls = p.calls(1);
    assert!(matches!(calls[0], Call::Update(_)), "{calls:?}");
    assert_eq!(
        calls[1],
        Call::DeleteVerificationCertificate("c-old".into())
    );
    assert_eq!(replay(&calls, 1), 1);
}

#[test]
fn the_five_certificate_limit_is_never_exceeded() {
    let stale: Vec<String> = (0..5).map(|i| cert(&format!("stale{i}"))).collect();
    let fresh: Vec<String> = (0..5).map(|i| cert(&format!("fresh{i}"))).collect();
    let live_pairs: Vec<(String, &str)> = stale
        .iter()
        .enumerate()
        .map(|(i, p)| (format!("s{i}"), p.as_str()))
        .collect();
    let live_refs: Vec<(&str, &str)> = live_pairs.iter().map(|(i, p)| (i.as_str(), *p)).collect();
    for wanted in 1..=5 {
        let refs: Vec<&str> = fresh[..wanted].iter().map(String::as_str).collect();
        let mut d = explicit_certs(&refs);
        if wanted == 2 {
            // A field change alongside: the first upload rides on it.
            d.display_name = Some("renamed".into());
        }
        let p = plan(&d, &live_with(&live_refs));
        assert_eq!(p.upload_certificates.len(), wanted);
        assert_eq!(p.delete_verification_certificates.len(), 5);
        let calls = p.calls(5);
        assert_eq!(replay(&calls, 5), wanted, "{calls:?}");
        let uploads = calls
            .iter()
            .filter(|c| matches!(c, Call::Update(b) if b.x509_certificate.is_some()))
            .count();
        assert_eq!(uploads, wanted, "one certificate per update call");
    }
}

#[test]
fn the_signing_key_is_matched_by_its_public_key() {
    let mut spec =
        minimal(json!({"signingPrivateKeyRef": {"name": "saml-keys", "key": "signing.pem"}}));
    let live = live_in_sync(&[]);
    assert!(
        plan(&desired_unchecked(spec.clone()), &live).is_empty(),
        "key A matches the live signing certificate"
    );
    spec.signing_private_key_ref.as_mut().unwrap().key = "encryption.pem".into();
    let p = plan(&desired_unchecked(spec), &live);
    assert_eq!(p.update.field_names(), vec!["signing_private_key"]);
    let shown = format!("{:?} {:?}", p.differences, p.update);
    assert!(
        !shown.contains(KEY_B.lines().nth(1).unwrap()),
        "key material leaked: {shown}"
    );
}

#[test]
fn encryption_keys_other_than_the_desired_one_are_deleted() {
    let spec =
        minimal(json!({"encryptionPrivateKeyRef": {"name": "saml-keys", "key": "encryption.pem"}}));
    let mut live = live_in_sync(&[]);
    assert!(plan(&desired_unchecked(spec.clone()), &live).is_empty());
    live.encryption_private_keys
        .push(crate::stytch::model::EncryptionPrivateKey {
            private_key_id: "key-a".into(),
            private_key: crate::secret::SecretString::new(KEY_A),
            created_at: None,
        });
    let p = plan(&desired_unchecked(spec.clone()), &live);
    assert_eq!(p.delete_encryption_keys, vec!["key-a".to_string()]);
    assert!(p.update.is_empty());
    live.encryption_private_keys
        .retain(|k| k.private_key_id == "key-a");
    let p = plan(&desired_unchecked(spec), &live);
    assert_eq!(p.update.field_names(), vec!["saml_encryption_private_key"]);
    assert_eq!(
        p.calls(0).last(),
        Some(&Call::DeleteEncryptionKey("key-a".into()))
    );
}

#[test]
fn metadata_url_mode_updates_only_when_the_idp_differs_and_prunes_old_certificates() {
    let url = "https://idp.example.com/metadata";
    let mut d = desired_unchecked(minimal(json!({"idp": {"metadataUrl": url}})));
    // Nothing fetched, IdP unset → let Stytch read the metadata.
    let p = plan(&d, &SamlConnection::default());
    assert_eq!(p.metadata_url.as_deref(), Some(url));
    let (old, new) = (cert("old"), cert("new"));
    let meta = |pem: &str| IdpMetadata {
        entity_id: "urn:idp".into(),
        sso_url: "https://idp.example.com/sso".into(),
        certificates: vec![parse_certificate(pem, now()).unwrap()],
    };
    let mut live = live_with(&[("c-old", &old)]);
    live.idp_entity_id = "urn:idp".into();
    live.idp_sso_url = "https://idp.example.com/sso/".into();
    d.idp = DesiredIdp::MetadataUrl {
        url: url.into(),
        metadata: Some(meta(&old)),
    };
    assert!(plan(&d, &live).is_empty(), "metadata equal to live");
    // IdP rolled over to a new certificate → update by URL, then prune the old one.
    d.idp = DesiredIdp::MetadataUrl {
        url: url.into(),
        metadata: Some(meta(&new)),
    };
    let p = plan(&d, &live);
    assert_eq!(
        p.calls(1),
        vec![
            Call::UpdateByUrl(url.into()),
            Call::DeleteVerificationCertificate("c-old".into())
        ]
    );
}
