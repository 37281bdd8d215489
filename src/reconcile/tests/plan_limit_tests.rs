//! The 5-certificate limit with updates by metadata URL, which add every metadata certificate
//! the connection lacks (found by `fuzz/fuzz_targets/plan.rs`).

use serde_json::json;

use super::fixtures::*;
use crate::reconcile::certs::parse_certificate;
use crate::reconcile::desired::{DesiredIdp, IdpMetadata, resolve};
use crate::reconcile::plan::{Call, MAX_VERIFICATION_CERTIFICATES, plan};
use crate::stytch::model::{SamlConnection, X509Certificate};

const URL: &str = "https://idp.example.com/metadata";

fn live(ids: &[&str]) -> SamlConnection {
    SamlConnection {
        status: "active".into(),
        idp_entity_id: "urn:idp".into(),
        idp_sso_url: "https://idp.example.com/sso".into(),
        verification_certificates: ids
            .iter()
            .map(|id| X509Certificate {
                certificate_id: (*id).into(),
                certificate: cert(id),
                ..Default::default()
            })
            .collect(),
        ..Default::default()
    }
}

#[test]
fn a_metadata_rollover_to_two_certificates_makes_room_for_both() {
    let spec = serde_json::from_value(json!({
        "credentialsRef": { "name": "stytch" },
        "organizationId": "acme",
        "idp": { "metadataUrl": URL },
    }))
    .unwrap();
    let mut desired = resolve(&spec, &sources(), now()).unwrap();
    let (new1, new2) = (cert("new1"), cert("new2"));
    desired.idp = DesiredIdp::MetadataUrl {
        url: URL.into(),
        metadata: Some(IdpMetadata {
            entity_id: "urn:idp".into(),
            sso_url: "https://idp.example.com/sso".into(),
            certificates: vec![
                parse_certificate(&new1, now()).unwrap(),
                parse_certificate(&new2, now()).unwrap(),
            ],
        }),
    };
    let live = live(&["s0", "s1", "s2", "s3"]);
    let p = plan(&desired, &live);
    assert_eq!(p.metadata_url_adds, 2);
    let calls = p.calls(4);
    // Before the fix the update ran first and took the connection to 6 certificates.
    assert_eq!(
        calls,
        vec![
            Call::DeleteVerificationCertificate("s3".into()),
            Call::UpdateByUrl(URL.into()),
            Call::DeleteVerificationCertificate("s2".into()),
            Call::DeleteVerificationCertificate("s1".into()),
            Call::DeleteVerificationCertificate("s0".into()),
        ]
    );
    let mut count = 4;
    for call in &calls {
        match call {
            Call::UpdateByUrl(_) => count += p.metadata_url_adds,
            Call::DeleteVerificationCertificate(_) => count -= 1,
            _ => {}
        }
        assert!(
            (1..=MAX_VERIFICATION_CERTIFICATES).contains(&count),
            "{count} after {call:?}"
        );
    }
    assert_eq!(count, 2);
}

#[test]
fn metadata_not_read_yet_counts_as_one_certificate() {
    let spec = serde_json::from_value(json!({
        "credentialsRef": { "name": "stytch" },
        "organizationId": "acme",
        "idp": { "metadataUrl": URL },
    }))
    .unwrap();
    let desired = resolve(&spec, &sources(), now()).unwrap();
    let p = plan(&desired, &SamlConnection::default());
    assert_eq!(p.metadata_url_adds, 1);
    assert_eq!(p.calls(0), vec![Call::UpdateByUrl(URL.into())]);
}

#[test]
fn a_second_copy_of_a_wanted_certificate_is_deleted_to_make_room() {
    let certs: Vec<String> = ["a", "e", "f", "g", "h"].iter().map(|n| cert(n)).collect();
    let list: Vec<_> = certs.iter().map(|pem| json!({ "pem": pem })).collect();
    let spec = serde_json::from_value(json!({
        "credentialsRef": { "name": "stytch" },
        "organizationId": "acme",
        "idp": { "certificates": list },
    }))
    .unwrap();
    let desired = resolve(&spec, &sources(), now()).unwrap();
    // Live: `a` twice (the copy re-wrapped with CRLF), then three certificates no longer wanted.
    let mut live = live(&["b", "c", "d"]);
    let copy = |id: &str, pem: String| X509Certificate {
        certificate_id: id.into(),
        certificate: pem,
        ..Default::default()
    };
    live.verification_certificates
        .insert(0, copy("a1", certs[0].replace('\n', "\r\n")));
    live.verification_certificates
        .insert(0, copy("a0", certs[0].clone()));
    let p = plan(&desired, &live);
    let deleted: Vec<&str> = p
        .delete_verification_certificates
        .iter()
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(
        deleted,
        ["a1", "b", "c", "d"],
        "the copy and the unwanted ones"
    );
    assert_eq!(p.upload_certificates.len(), 4);
    // Before the fix the copy was kept and the fourth upload took the connection to 6.
    let mut count = 5;
    for call in p.calls(5) {
        match &call {
            Call::Update(body) if body.x509_certificate.is_some() => count += 1,
            Call::DeleteVerificationCertificate(_) => count -= 1,
            _ => {}
        }
        assert!(
            (1..=MAX_VERIFICATION_CERTIFICATES).contains(&count),
            "{count} after {call:?}"
        );
    }
    assert_eq!(count, 5);
}
