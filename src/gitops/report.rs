//! The diff report of one resource and its pure construction from a desired and a live
//! connection: the differences, certificate changes and the exact calls the operator would make.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::reconcile::certs::{ParsedCertificate, parse_certificate_any_time};
use crate::reconcile::{Call, DesiredConnection, DesiredIdp, Plan, Problem, plan};
use crate::stytch::model::{SamlConnection as LiveConnection, UpdateConnectionRequest};

/// Outcome of one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ResourceStatus {
    InSync,
    Changes,
    Error,
    Create,
}

/// One differing spec field. Secret values never appear (keys show placeholders).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct DifferenceView {
    pub field: String,
    pub live: String,
    pub desired: String,
}

/// A verification certificate added (`add`) or removed (`remove`), described publicly.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CertificateChange {
    pub change: &'static str,
    pub subject: String,
    pub sha256: String,
    pub expires: String,
}

/// One Stytch call. `fields` holds the body's values, except secret fields (private keys),
/// which appear with a `null` value: their names only.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CallView {
    pub method: &'static str,
    pub path: String,
    pub fields: BTreeMap<String, Value>,
}

/// One reason the resource cannot be applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ProblemView {
    pub reason: String,
    pub field: String,
    pub message: String,
}

impl From<&Problem> for ProblemView {
    fn from(p: &Problem) -> Self {
        Self {
            reason: p.reason.as_str().to_owned(),
            field: p.field.clone(),
            message: p.message.clone(),
        }
    }
}

/// The report of one `SamlConnection`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct ResourceReport {
    pub name: String,
    pub namespace: String,
    pub connection_id: Option<String>,
    pub status: ResourceStatus,
    pub differences: Vec<DifferenceView>,
    pub certificates: Vec<CertificateChange>,
    pub calls: Vec<CallView>,
    pub problems: Vec<ProblemView>,
    /// Remarks that qualify the report (ObserveOnly, suspended, metadata fetched).
    pub notes: Vec<String>,
}

impl ResourceReport {
    /// An empty report in state `status`.
    pub fn new(name: &str, namespace: &str, status: ResourceStatus) -> Self {
        Self {
            name: name.to_owned(),
            namespace: namespace.to_owned(),
            connection_id: None,
            status,
            differences: Vec::new(),
            certificates: Vec::new(),
            calls: Vec::new(),
            problems: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// A report listing problems.
    pub fn error(name: &str, namespace: &str, problems: Vec<ProblemView>) -> Self {
        Self {
            problems,
            ..Self::new(name, namespace, ResourceStatus::Error)
        }
    }
}

/// What the resource asks of the connection, besides the desired fields.
#[derive(Clone, Copy, Debug, Default)]
pub struct Mode {
    pub observe_only: bool,
    pub suspend: bool,
}

/// Fills `report` from the plan of `desired` against `live` (`None`: the connection would be
/// created, and the plan is made against an empty connection).
pub fn compare(
    report: &mut ResourceReport,
    organization: &str,
    desired: &DesiredConnection,
    live: Option<&LiveConnection>,
    mode: Mode,
) {
    let empty = LiveConnection::default();
    let base = live.unwrap_or(&empty);
    if let Some(l) = live {
        report.connection_id = Some(l.connection_id.clone());
    }
    let p = plan(desired, base);
    report.differences = p
        .differences
        .iter()
        .map(|d| DifferenceView {
            field: d.field.to_owned(),
            live: d.live.clone(),
            desired: d.desired.clone(),
        })
        .collect();
    report.certificates = certificate_changes(&p, desired, base);
    let id = live.map_or("{new_connection_id}", |l| l.connection_id.as_str());
    let mut calls = Vec::new();
    // The controller creates the connection, then plans against what Create returned: the
    // differences above are against nothing, the calls below are the controller's.
    let mut after_create = p;
    if live.is_none() {
        let display_name = desired
            .display_name
            .clone()
            .unwrap_or_else(|| format!("{}/{}", report.namespace, report.name));
        let mut fields = BTreeMap::from([(
            "display_name".to_owned(),
            Value::String(display_name.clone()),
        )]);
        if let Some(idp) = &desired.identity_provider {
            fields.insert("identity_provider".into(), Value::String(idp.clone()));
        }
        calls.push(CallView {
            method: "POST",
            path: format!("/v1/b2b/sso/saml/{organization}"),
            fields,
        });
        let created = LiveConnection {
            display_name,
            identity_provider: desired
                .identity_provider
                .clone()
                .unwrap_or_else(|| "generic".into()),
            ..LiveConnection::default()
        };
        after_create = plan(desired, &created);
    }
    let connection = format!("/v1/b2b/sso/saml/{organization}/connections/{id}");
    calls.extend(
        after_create
            .calls(base.verification_certificates.len())
            .iter()
            .map(|call| call_view(&connection, call)),
    );
    report.status = match (live, after_create.is_empty()) {
        (None, _) => ResourceStatus::Create,
        (Some(_), true) => ResourceStatus::InSync,
        (Some(_), false) => ResourceStatus::Changes,
    };
    if mode.suspend && report.status != ResourceStatus::InSync {
        report
            .notes
            .push("suspend is true: the operator makes no call while suspended".into());
        calls.clear();
    } else if mode.observe_only && report.status != ResourceStatus::InSync {
        report.notes.push(
            "managementPolicy is ObserveOnly: the operator reports this drift in status.drift and makes no call".into(),
        );
        calls.clear();
    }
    report.calls = calls;
}

fn call_view(connection: &str, call: &Call) -> CallView {
    match call {
        Call::UpdateByUrl(url) => CallView {
            method: "PUT",
            path: format!("{connection}/url"),
            fields: BTreeMap::from([("metadata_url".to_owned(), Value::String(url.clone()))]),
        },
        Call::Update(body) => CallView {
            method: "PUT",
            path: connection.to_owned(),
            fields: update_fields(body),
        },
        Call::DeleteVerificationCertificate(id) => CallView {
            method: "DELETE",
            path: format!("{connection}/verification_certificates/{id}"),
            fields: BTreeMap::new(),
        },
        Call::DeleteEncryptionKey(id) => CallView {
            method: "DELETE",
            path: format!("{connection}/encryption_private_keys/{id}"),
            fields: BTreeMap::new(),
        },
    }
}

/// The body's fields: values for public ones, `null` for private keys (names only), and a
/// certificate description instead of its PEM.
pub fn update_fields(body: &UpdateConnectionRequest) -> BTreeMap<String, Value> {
    let mut public = body.clone();
    let signing = public.signing_private_key.take().is_some();
    let encryption = public.saml_encryption_private_key.take().is_some();
    let certificate = public.x509_certificate.take();
    let mut fields: BTreeMap<String, Value> = match serde_json::to_value(&public) {
        Ok(Value::Object(map)) => map.into_iter().collect(),
        _ => BTreeMap::new(),
    };
    if signing {
        fields.insert("signing_private_key".into(), Value::Null);
    }
    if encryption {
        fields.insert("saml_encryption_private_key".into(), Value::Null);
    }
    if let Some(pem) = certificate {
        let text = match parse_certificate_any_time(&pem) {
            Ok(c) => describe(&c),
            Err(_) => "(certificate)".to_owned(),
        };
        fields.insert("x509_certificate".into(), Value::String(text));
    }
    fields
}

fn certificate_changes(
    p: &Plan,
    desired: &DesiredConnection,
    live: &LiveConnection,
) -> Vec<CertificateChange> {
    let mut out: Vec<CertificateChange> = p
        .upload_certificates
        .iter()
        .map(|c| change("add", c))
        .collect();
    // In metadata URL mode Stytch adds the metadata's certificates itself (update by URL).
    if p.metadata_url.is_some()
        && let DesiredIdp::MetadataUrl {
            metadata: Some(meta),
            ..
        } = &desired.idp
    {
        let live_prints: Vec<String> = live
            .verification_certificates
            .iter()
            .filter_map(|c| parse_certificate_any_time(&c.certificate).ok())
            .map(|c| c.sha256)
            .collect();
        out.extend(
            meta.certificates
                .iter()
                .filter(|c| !live_prints.contains(&c.sha256))
                .map(|c| change("add", c)),
        );
    }
    for old in &p.delete_verification_certificates {
        let parsed = live
            .verification_certificates
            .iter()
            .find(|c| c.certificate_id == old.id)
            .and_then(|c| parse_certificate_any_time(&c.certificate).ok());
        out.push(match parsed {
            Some(c) => change("remove", &c),
            None => CertificateChange {
                change: "remove",
                subject: format!("(unparsable certificate {})", old.id),
                sha256: old.sha256.clone(),
                expires: String::new(),
            },
        });
    }
    out
}

fn change(kind: &'static str, c: &ParsedCertificate) -> CertificateChange {
    CertificateChange {
        change: kind,
        subject: c.subject.clone(),
        sha256: c.sha256.clone(),
        expires: c.not_after.strftime("%Y-%m-%d").to_string(),
    }
}

/// `subject sha256:AB:CD:EF:01:23… expires 2036-01-01`.
pub fn describe(c: &ParsedCertificate) -> String {
    describe_parts(
        &c.subject,
        &c.sha256,
        &c.not_after.strftime("%Y-%m-%d").to_string(),
    )
}

/// Like [`describe`], from the parts of a [`CertificateChange`].
pub fn describe_parts(subject: &str, sha256: &str, expires: &str) -> String {
    let short: String = sha256.to_uppercase().chars().take(14).collect();
    if expires.is_empty() {
        format!("{subject} sha256:{short}…")
    } else {
        format!("{subject} sha256:{short}… expires {expires}")
    }
}
