//! Status computation: desired + live + outcome → `SamlConnectionStatus`. Pure.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use super::certs::parse_certificate_any_time;
use super::reasons::Reason;
use crate::api::{CertificateStatus, MetadataStatus, SamlConnectionStatus};
use crate::stytch::model::{SamlConnection, X509Certificate};

/// Condition types.
pub const READY: &str = "Ready";
pub const ACTIVE: &str = "Active";
pub const SYNCED: &str = "Synced";
pub const STALLED: &str = "Stalled";
pub const CERTIFICATE_EXPIRING_SOON: &str = "CertificateExpiringSoon";

/// How the reconcile went.
#[derive(Clone, Debug, PartialEq)]
pub enum Outcome {
    /// The live connection matches the spec.
    InSync,
    /// ObserveOnly: these spec fields differ from the live connection.
    Drift(Vec<String>),
    /// Written, but these fields did not take the desired value on read-back.
    NotTaken(Vec<String>),
    /// `spec.suspend` is true.
    Suspended,
    /// A failure; `permanent` ones wait for a user change (Stalled).
    Failed {
        reason: Reason,
        message: String,
        permanent: bool,
    },
}

/// Everything status computation needs.
#[derive(Clone, Debug)]
pub struct StatusInput<'a> {
    pub generation: Option<i64>,
    pub previous: Option<&'a SamlConnectionStatus>,
    /// The live connection as last read (after writes).
    pub live: Option<&'a SamlConnection>,
    /// Connection id known from the spec, status or annotations when there is no live object.
    pub connection_id: Option<&'a str>,
    pub outcome: Outcome,
    pub metadata: Option<MetadataStatus>,
    /// The reconcile-requested-at annotation's value seen by this reconcile.
    pub reconcile_requested_at: Option<String>,
    pub now: Timestamp,
    pub expiry_warning: Duration,
}

/// Computes the new status. `lastTransitionTime` is carried over from `previous` unless the
/// condition's status flipped.
pub fn compute(input: &StatusInput<'_>) -> SamlConnectionStatus {
    let previous = input.previous.cloned().unwrap_or_default();
    let mut status = SamlConnectionStatus {
        observed_generation: input.generation,
        connection_id: input
            .live
            .map(|l| l.connection_id.clone())
            .or_else(|| input.connection_id.map(str::to_owned))
            .or(previous.connection_id.clone()),
        organization_id: input
            .live
            .map(|l| l.organization_id.clone())
            .or(previous.organization_id.clone()),
        connection_status: input
            .live
            .map(|l| l.status.clone())
            .or(previous.connection_status.clone()),
        acs_url: input
            .live
            .map(|l| l.acs_url.clone())
            .or(previous.acs_url.clone()),
        audience_uri: input
            .live
            .map(|l| l.audience_uri.clone())
            .or(previous.audience_uri.clone()),
        metadata: input.metadata.clone().or(previous.metadata.clone()),
        last_handled_reconcile_at: input
            .reconcile_requested_at
            .clone()
            .or(previous.last_handled_reconcile_at.clone()),
        ..Default::default()
    };
    if let Some(live) = input.live {
        status.verification_certificates = live
            .verification_certificates
            .iter()
            .map(|c| certificate_status(c, false))
            .collect();
        status.signing_certificates = live
            .signing_certificates
            .iter()
            .map(|c| certificate_status(c, true))
            .collect();
        status.last_sync_time = Some(input.now.to_string());
    } else {
        status.verification_certificates = previous.verification_certificates.clone();
        status.signing_certificates = previous.signing_certificates.clone();
        status.last_sync_time = previous.last_sync_time.clone();
    }
    let earliest = status
        .verification_certificates
        .iter()
        .chain(&status.signing_certificates)
        .filter_map(|c| c.not_after.as_deref()?.parse::<Timestamp>().ok())
        .min();
    status.earliest_certificate_expiry = earliest.map(|t| t.to_string());
    status.drift = match &input.outcome {
        Outcome::Drift(fields) | Outcome::NotTaken(fields) => fields.clone(),
        _ => Vec::new(),
    };

    let active = active_condition(input.live);
    let synced = synced_condition(&input.outcome);
    let ready = if active.0 == "True" && synced.0 == "True" {
        (
            "True",
            Reason::Ready,
            "the connection is active and matches the spec".to_owned(),
        )
    } else if synced.0 != "True" {
        ("False", synced.1, synced.2.clone())
    } else {
        ("False", active.1, active.2.clone())
    };
    let stalled = match &input.outcome {
        Outcome::Failed {
            reason,
            message,
            permanent: true,
        } => ("True", *reason, message.clone()),
        _ => (
            "False",
            Reason::AsExpected,
            "no error awaits a change of the resource".to_owned(),
        ),
    };
    let expiring = expiry_condition(earliest, input.now, input.expiry_warning);
    let prev = &previous.conditions;
    let g = input.generation;
    let now = input.now;
    status.conditions = vec![
        condition(prev, READY, ready, g, now),
        condition(prev, ACTIVE, active, g, now),
        condition(prev, SYNCED, synced, g, now),
        condition(prev, STALLED, stalled, g, now),
        condition(prev, CERTIFICATE_EXPIRING_SOON, expiring, g, now),
    ];
    status
}

type Cond = (&'static str, Reason, String);

fn active_condition(live: Option<&SamlConnection>) -> Cond {
    let Some(live) = live else {
        return (
            "Unknown",
            Reason::Reconciling,
            "the live connection has not been read".into(),
        );
    };
    if live.is_active() {
        return (
            "True",
            Reason::Active,
            "Stytch reports the connection as active".into(),
        );
    }
    let mut missing = Vec::new();
    if live.idp_sso_url.is_empty() {
        missing.push("idp.ssoUrl");
    }
    if live.idp_entity_id.is_empty() {
        missing.push("idp.entityId");
    }
    if live.verification_certificates.is_empty() {
        missing.push("idp.certificates");
    }
    if live.attribute_mapping.as_ref().is_none_or(|m| m.is_empty()) {
        missing.push("attributeMapping");
    }
    let message = if missing.is_empty() {
        "Stytch reports the connection as pending".to_owned()
    } else {
        format!(
            "the connection is pending until these are set: {}; give the IdP admin status.acsUrl and status.audienceUri",
            missing.join(", ")
        )
    };
    ("False", Reason::Pending, message)
}

fn synced_condition(outcome: &Outcome) -> Cond {
    match outcome {
        Outcome::InSync => (
            "True",
            Reason::Synced,
            "the live connection matches the spec".into(),
        ),
        Outcome::Drift(fields) => (
            "False",
            Reason::DriftDetected,
            format!(
                "ObserveOnly: these fields differ from the live connection: {}",
                fields.join(", ")
            ),
        ),
        Outcome::NotTaken(fields) => (
            "False",
            Reason::ValueNotTaken,
            format!("Stytch did not take these values: {}", fields.join(", ")),
        ),
        Outcome::Suspended => (
            "False",
            Reason::Suspended,
            "spec.suspend is true; no Stytch calls are made".into(),
        ),
        Outcome::Failed {
            reason, message, ..
        } => ("False", *reason, message.clone()),
    }
}

fn expiry_condition(earliest: Option<Timestamp>, now: Timestamp, warning: Duration) -> Cond {
    let Some(earliest) = earliest else {
        return (
            "False",
            Reason::NoCertificates,
            "the connection has no certificates".into(),
        );
    };
    if earliest <= now {
        return (
            "True",
            Reason::CertificateExpired,
            format!("a certificate expired at {earliest}"),
        );
    }
    let remaining = earliest.duration_since(now);
    let warning = jiff::SignedDuration::try_from(warning).unwrap_or(jiff::SignedDuration::MAX);
    if remaining <= warning {
        (
            "True",
            Reason::CertificateExpiringSoon,
            format!("a certificate expires at {earliest}"),
        )
    } else {
        (
            "False",
            Reason::CertificatesValid,
            format!("the earliest certificate expiry is {earliest}"),
        )
    }
}

fn condition(
    previous: &[Condition],
    type_: &str,
    (status, reason, message): Cond,
    generation: Option<i64>,
    now: Timestamp,
) -> Condition {
    let last_transition_time = previous
        .iter()
        .find(|c| c.type_ == type_ && c.status == status)
        .map(|c| c.last_transition_time.clone())
        .unwrap_or(Time(now));
    Condition {
        type_: type_.to_owned(),
        status: status.to_owned(),
        reason: reason.as_str().to_owned(),
        message,
        observed_generation: generation,
        last_transition_time,
    }
}

fn certificate_status(cert: &X509Certificate, include_pem: bool) -> CertificateStatus {
    let parsed = parse_certificate_any_time(&cert.certificate).ok();
    CertificateStatus {
        id: cert.certificate_id.clone(),
        sha256_fingerprint: parsed
            .as_ref()
            .map(|p| p.sha256.clone())
            .unwrap_or_default(),
        subject: parsed
            .as_ref()
            .map(|p| p.subject.clone())
            .unwrap_or_default(),
        not_before: parsed
            .as_ref()
            .map(|p| p.not_before.to_string())
            .or(cert.created_at.clone()),
        not_after: parsed
            .as_ref()
            .map(|p| p.not_after.to_string())
            .or(cert.expires_at.clone()),
        pem: (include_pem).then(|| {
            parsed
                .map(|p| p.pem)
                .unwrap_or_else(|| cert.certificate.clone())
        }),
    }
}

/// What identifies a status for [`changed`]: a SHA-256 over everything but timestamps
/// (`lastTransitionTime`, `lastSyncTime`, `metadata.fetchedAt`) and the content of certificate
/// PEMs (a certificate is identified by its id and SHA-256 fingerprint; only whether a PEM is
/// there counts). The controller's cache keeps this digest instead of the status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusDigest([u8; 32]);

/// The digest of `status`; `None` if it could not be serialized (not expected: a status holds
/// only strings, integers and lists), which [`changed`] treats as changed.
pub fn digest(status: &SamlConnectionStatus) -> Option<StatusDigest> {
    use sha2::{Digest, Sha256};
    let bytes = serde_json::to_vec(&strip_times(status)).ok()?;
    Some(StatusDigest(Sha256::digest(bytes).into()))
}

/// True when `new` differs from `old` in anything [`digest`] covers: an unchanged status is not
/// written.
pub fn changed(old: Option<&SamlConnectionStatus>, new: &SamlConnectionStatus) -> bool {
    differs_from(old.and_then(digest), new)
}

/// True unless `new` has the digest `old` (an unknown digest always differs).
pub fn differs_from(old: Option<StatusDigest>, new: &SamlConnectionStatus) -> bool {
    old.is_none() || old != digest(new)
}

fn strip_times(status: &SamlConnectionStatus) -> SamlConnectionStatus {
    let mut s = status.clone();
    s.last_sync_time = None;
    if let Some(m) = &mut s.metadata {
        m.fetched_at = None;
    }
    for c in &mut s.conditions {
        c.last_transition_time = Time(Timestamp::UNIX_EPOCH);
    }
    for cert in s
        .signing_certificates
        .iter_mut()
        .chain(&mut s.verification_certificates)
    {
        // Whether there is a PEM counts, its content is covered by the fingerprint.
        if let Some(pem) = cert.pem.as_mut() {
            pem.clear();
        }
    }
    s
}
