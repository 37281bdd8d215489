//! Pure parts of `diff` and `import`: names, secret hygiene of call bodies, statuses, exit codes,
//! and the import → resolve → plan round trip.

use std::collections::BTreeMap;

use jiff::Timestamp;
use serde_json::json;

use super::adopt::spec_of;
use super::diff::DiffReport;
use super::import::{ImportOptions, render as render_manifest, resource_names, slug};
use super::render::{OutputFormat, render};
use super::report::{Mode, ResourceReport, ResourceStatus, compare, update_fields};
use crate::api::DeletionPolicy;
use crate::reconcile::{DesiredConnection, DesiredIdp, Sources, plan, resolve};
use crate::secret::SecretString;
use crate::stytch::model::{
    EncryptionPrivateKey, SamlConnection as Live, UpdateConnectionRequest, X509Certificate,
};

const KEY: &str = include_str!("../../tests/fixtures/rsa-pkcs1-a.pem");

fn cert(cn: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![format!("{cn}.example.com")]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2036, 1, 1);
    params.self_signed(&key).unwrap().pem()
}

fn live() -> Live {
    Live {
        connection_id: "saml-connection-test-1".into(),
        display_name: "Acme".into(),
        identity_provider: "google-workspace".into(),
        idp_entity_id: "https://idp.example.com".into(),
        idp_sso_url: "https://idp.example.com/sso".into(),
        verification_certificates: vec![X509Certificate {
            certificate_id: "c1".into(),
            certificate: cert("idp"),
            ..Default::default()
        }],
        encryption_private_keys: vec![EncryptionPrivateKey {
            private_key_id: "k1".into(),
            private_key: SecretString::new(KEY),
            created_at: None,
        }],
        attribute_mapping: Some(BTreeMap::from([
            ("email".into(), json!("mail")),
            ("full_name".into(), json!("cn")),
            ("title".into(), json!("t")),
        ])),
        nameid_format: "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress".into(),
        ..Default::default()
    }
}

fn options() -> ImportOptions {
    ImportOptions {
        organization: "acme".into(),
        namespace: Some("sso".into()),
        credentials_secret_name: "stytch-credentials".into(),
        deletion_policy: DeletionPolicy::Orphan,
        observe_only: false,
    }
}

fn desired_name(name: &str) -> DesiredConnection {
    DesiredConnection {
        display_name: Some(name.into()),
        identity_provider: None,
        idp: DesiredIdp::Unmanaged,
        attribute_mapping: None,
        nameid_format: None,
        alternative_audience_uri: None,
        alternative_acs_url: None,
        idp_initiated_auth_disabled: None,
        role_ids: None,
        group_roles: None,
        signing_key: None,
        encryption_key: None,
    }
}

#[test]
fn names_are_dns_labels_and_unique() {
    assert_eq!(slug("Acme Okta (prod)"), "acme-okta-prod");
    assert_eq!(slug("--Ünïcode__x--"), "n-code-x");
    assert_eq!(slug(&"a".repeat(80)).len(), 63);
    let conns: Vec<Live> = ["Acme", "acme", "", "Acme"]
        .iter()
        .enumerate()
        .map(|(i, n)| Live {
            display_name: (*n).into(),
            connection_id: format!("saml-connection-test-{i}"),
            ..Default::default()
        })
        .collect();
    assert_eq!(
        resource_names(&conns),
        ["acme", "acme-2", "saml-connection-test-2", "acme-3"]
    );
}

#[test]
fn imported_spec_resolves_to_an_empty_plan() {
    let live = live();
    let mut notes = Vec::new();
    let spec = spec_of(&live, &options(), Timestamp::now(), &mut notes);
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(spec.name_id_format, None, "the default format is left out");
    let desired = resolve(&spec, &Sources::default(), Timestamp::now()).unwrap();
    let p = plan(&desired, &live);
    assert!(p.is_empty(), "{:?}", p.differences);
}

#[test]
fn imported_manifests_never_contain_private_keys() {
    let yaml = render_manifest(&live(), "acme", &options(), Timestamp::now()).unwrap();
    assert!(!yaml.contains("PRIVATE KEY"), "{yaml}");
    for line in KEY.lines().filter(|l| l.len() > 20) {
        assert!(!yaml.contains(line));
    }
    assert!(yaml.contains("# Encryption keys: 1 exist"), "{yaml}");
    assert!(yaml.contains("deletionPolicy: Orphan"), "{yaml}");
    assert!(
        !yaml.contains("suspend") && !yaml.contains("status:"),
        "{yaml}"
    );
}

#[test]
fn call_bodies_name_secret_fields_without_values() {
    let body = UpdateConnectionRequest {
        display_name: Some("New".into()),
        signing_private_key: Some(SecretString::new(KEY)),
        saml_encryption_private_key: Some(SecretString::new(KEY)),
        ..Default::default()
    };
    let fields = update_fields(&body);
    assert_eq!(fields["display_name"], json!("New"));
    assert!(fields["signing_private_key"].is_null());
    assert!(fields["saml_encryption_private_key"].is_null());
    assert!(!serde_json::to_string(&fields).unwrap().contains("PRIVATE"));
}

#[test]
fn statuses_and_exit_codes() {
    let live = live();
    let mut same = ResourceReport::new("a", "ns", ResourceStatus::Error);
    compare(
        &mut same,
        "acme",
        &desired_name("Acme"),
        Some(&live),
        Mode::default(),
    );
    assert_eq!(same.status, ResourceStatus::InSync);
    assert!(same.calls.is_empty());
    let mut changed = ResourceReport::new("b", "ns", ResourceStatus::Error);
    compare(
        &mut changed,
        "acme",
        &desired_name("New"),
        Some(&live),
        Mode::default(),
    );
    assert_eq!(changed.status, ResourceStatus::Changes);
    assert_eq!(changed.calls.len(), 1);
    let mut created = ResourceReport::new("c", "ns", ResourceStatus::Error);
    compare(
        &mut created,
        "acme",
        &desired_name("New"),
        None,
        Mode::default(),
    );
    assert_eq!(created.status, ResourceStatus::Create);
    assert_eq!(
        created.calls.len(),
        1,
        "the name rides on Create: {:?}",
        created.calls
    );
    let observe = Mode {
        observe_only: true,
        suspend: false,
    };
    let mut observed = ResourceReport::new("d", "ns", ResourceStatus::Error);
    compare(
        &mut observed,
        "acme",
        &desired_name("New"),
        Some(&live),
        observe,
    );
    assert!(observed.calls.is_empty() && !observed.notes.is_empty());

    assert_eq!(DiffReport::new(vec![same.clone()]).exit_code(), 0);
    assert_eq!(
        DiffReport::new(vec![same.clone(), changed.clone()]).exit_code(),
        2
    );
    assert_eq!(DiffReport::new(vec![created]).exit_code(), 2);
    let error = ResourceReport::error("e", "ns", Vec::new());
    assert_eq!(DiffReport::new(vec![changed.clone(), error]).exit_code(), 1);

    let text = render(&DiffReport::new(vec![changed]), OutputFormat::Text);
    assert!(text.contains("samlconnection/ns/b (connection saml-connection-test-1)"));
    assert!(text.contains("~ displayName: \"Acme\" → \"New\""), "{text}");
    assert!(text.ends_with("changes: applying these manifests would make the calls above\n"));
}
