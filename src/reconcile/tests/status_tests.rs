//! Status computation: conditions, transitions, certificates, and change detection.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::fixtures::*;
use crate::api::SamlConnectionStatus;
use crate::reconcile::reasons::Reason;
use crate::reconcile::status::{Outcome, StatusInput, changed, compute};
use crate::stytch::model::SamlConnection;

const WARN: Duration = Duration::from_secs(30 * 24 * 3600);

fn input<'a>(
    live: Option<&'a SamlConnection>,
    previous: Option<&'a SamlConnectionStatus>,
    outcome: Outcome,
    now: Timestamp,
) -> StatusInput<'a> {
    StatusInput {
        generation: Some(3),
        previous,
        live,
        connection_id: None,
        outcome,
        metadata: None,
        reconcile_requested_at: None,
        now,
        expiry_warning: WARN,
    }
}

fn cond<'a>(s: &'a SamlConnectionStatus, type_: &str) -> (&'a str, &'a str) {
    let c = s
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .unwrap_or_else(|| panic!("{type_} missing"));
    assert_eq!(c.observed_generation, Some(3));
    (c.status.as_str(), c.reason.as_str())
}

#[test]
fn an_active_connection_in_sync_is_ready() {
    let live = live_in_sync(&[&cert("idp")]);
    let s = compute(&input(Some(&live), None, Outcome::InSync, now()));
    assert_eq!(cond(&s, "Ready"), ("True", "Ready"));
    assert_eq!(cond(&s, "Active"), ("True", "Active"));
    assert_eq!(cond(&s, "Synced"), ("True", "Synced"));
    assert_eq!(cond(&s, "Stalled"), ("False", "AsExpected"));
    assert_eq!(
        cond(&s, "CertificateExpiringSoon"),
        ("False", "CertificatesValid")
    );
    assert_eq!(s.connection_id.as_deref(), Some("saml-connection-test-1"));
    assert_eq!(s.organization_id.as_deref(), Some("organization-test-1"));
    assert_eq!(s.connection_status.as_deref(), Some("active"));
    assert!(
        s.acs_url
            .as_deref()
            .unwrap()
            .ends_with("saml-connection-test-1")
    );
    assert_eq!(s.verification_certificates.len(), 1);
    assert_eq!(s.verification_certificates[0].id, "cert-0");
    assert!(s.verification_certificates[0].subject.contains("idp"));
    assert!(s.verification_certificates[0].pem.is_none());
    assert!(
        s.signing_certificates[0]
            .pem
            .as_deref()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE-----")
    );
    assert_eq!(
        s.earliest_certificate_expiry.as_deref(),
        Some("2036-01-01T00:00:00Z")
    );
    assert_eq!(s.observed_generation, Some(3));
}

#[test]
fn a_pending_connection_names_the_missing_fields() {
    let live = SamlConnection {
        status: "pending".into(),
        acs_url: "https://acs".into(),
        ..Default::default()
    };
    let s = compute(&input(Some(&live), None, Outcome::InSync, now()));
    assert_eq!(cond(&s, "Active"), ("False", "Pending"));
    assert_eq!(cond(&s, "Ready"), ("False", "Pending"));
    let msg = &s
        .conditions
        .iter()
        .find(|c| c.type_ == "Active")
        .unwrap()
        .message;
    for f in [
        "idp.ssoUrl",
        "idp.entityId",
        "idp.certificates",
        "attributeMapping",
    ] {
        assert!(msg.contains(f), "{msg}");
    }
    assert_eq!(
        cond(&s, "CertificateExpiringSoon"),
        ("False", "NoCertificates")
    );
}

#[test]
fn permanent_errors_stall_and_transient_ones_do_not() {
    let live = live_in_sync(&[&cert("idp")]);
    let failed = |permanent| Outcome::Failed {
        reason: Reason::InvalidX509Certificate,
        message: "bad".into(),
        permanent,
    };
    let s = compute(&input(Some(&live), None, failed(true), now()));
    assert_eq!(cond(&s, "Stalled"), ("True", "InvalidX509Certificate"));
    assert_eq!(cond(&s, "Synced"), ("False", "InvalidX509Certificate"));
    assert_eq!(cond(&s, "Ready"), ("False", "InvalidX509Certificate"));
    let s = compute(&input(Some(&live), None, failed(false), now()));
    assert_eq!(cond(&s, "Stalled"), ("False", "AsExpected"));
    assert_eq!(cond(&s, "Ready").0, "False");
}

#[test]
fn drift_not_taken_and_suspend_have_their_reasons() {
    let live = live_in_sync(&[&cert("idp")]);
    let s = compute(&input(
        Some(&live),
        None,
        Outcome::Drift(vec!["displayName".into()]),
        now(),
    ));
    assert_eq!(cond(&s, "Synced"), ("False", "DriftDetected"));
    assert_eq!(s.drift, vec!["displayName".to_string()]);
    let s = compute(&input(
        Some(&live),
        None,
        Outcome::NotTaken(vec!["idp.ssoUrl".into()]),
        now(),
    ));
    assert_eq!(cond(&s, "Synced"), ("False", "ValueNotTaken"));
    assert!(
        s.conditions
            .iter()
            .any(|c| c.message.contains("idp.ssoUrl"))
    );
    let s = compute(&input(None, None, Outcome::Suspended, now()));
    assert_eq!(cond(&s, "Synced"), ("False", "Suspended"));
    assert_eq!(cond(&s, "Active"), ("Unknown", "Reconciling"));
}

#[test]
fn certificate_expiry_warning_and_expired() {
    let live = live_in_sync(&[&cert_between("soon", 2020, 2027)]);
    let twenty_days_before = "2026-12-12T00:00:00Z".parse().unwrap();
    let s = compute(&input(
        Some(&live),
        None,
        Outcome::InSync,
        twenty_days_before,
    ));
    assert_eq!(
        cond(&s, "CertificateExpiringSoon"),
        ("True", "CertificateExpiringSoon")
    );
    let after: Timestamp = "2027-01-02T00:00:00Z".parse().unwrap();
    let s = compute(&input(Some(&live), None, Outcome::InSync, after));
    assert_eq!(
        cond(&s, "CertificateExpiringSoon"),
        ("True", "CertificateExpired")
    );
    let long_before: Timestamp = "2026-06-01T00:00:00Z".parse().unwrap();
    let s = compute(&input(Some(&live), None, Outcome::InSync, long_before));
    assert_eq!(
        cond(&s, "CertificateExpiringSoon"),
        ("False", "CertificatesValid")
    );
}

#[test]
fn last_transition_time_moves_only_when_the_status_flips() {
    let live = live_in_sync(&[&cert("idp")]);
    let t0 = now();
    let first = compute(&input(Some(&live), None, Outcome::InSync, t0));
    let t1 = t0 + SignedDuration::from_hours(1);
    let second = compute(&input(
        Some(&live),
        Some(&first),
        Outcome::Drift(vec!["displayName".into()]),
        t1,
    ));
    let time = |s: &SamlConnectionStatus, t: &str| {
        s.conditions
            .iter()
            .find(|c| c.type_ == t)
            .unwrap()
            .last_transition_time
            .0
    };
    assert_eq!(time(&second, "Active"), t0, "Active stayed True");
    assert_eq!(time(&second, "Synced"), t1, "Synced flipped");
    assert_eq!(time(&second, "Ready"), t1);
    let third = compute(&input(
        Some(&live),
        Some(&second),
        Outcome::Drift(vec!["displayName".into()]),
        t1 + SignedDuration::from_hours(1),
    ));
    assert_eq!(
        time(&third, "Synced"),
        t1,
        "same status, same transition time"
    );
}

#[test]
fn a_status_equal_but_for_timestamps_is_unchanged() {
    let live = live_in_sync(&[&cert("idp")]);
    let first = compute(&input(Some(&live), None, Outcome::InSync, now()));
    let later = compute(&input(
        Some(&live),
        Some(&first),
        Outcome::InSync,
        now() + SignedDuration::from_mins(10),
    ));
    assert_ne!(first.last_sync_time, later.last_sync_time);
    assert!(!changed(Some(&first), &later));
    assert!(changed(None, &later));
    let drifted = compute(&input(
        Some(&live),
        Some(&first),
        Outcome::Drift(vec!["x".into()]),
        now(),
    ));
    assert!(changed(Some(&first), &drifted));
}

#[test]
fn without_a_live_connection_previous_facts_are_kept() {
    let live = live_in_sync(&[&cert("idp")]);
    let first = compute(&input(Some(&live), None, Outcome::InSync, now()));
    let failed = Outcome::Failed {
        reason: Reason::StytchUnavailable,
        message: "503".into(),
        permanent: false,
    };
    let s = compute(&input(None, Some(&first), failed, now()));
    assert_eq!(s.acs_url, first.acs_url);
    assert_eq!(s.verification_certificates, first.verification_certificates);
    assert_eq!(cond(&s, "Ready"), ("False", "StytchUnavailable"));
    assert_eq!(cond(&s, "Active"), ("Unknown", "Reconciling"));
}

#[test]
fn carried_over_signing_certificates_keep_their_pem() {
    let live = live_in_sync(&[&cert("idp")]);
    let previous = compute(&input(Some(&live), None, Outcome::InSync, now()));
    assert!(
        previous
            .signing_certificates
            .iter()
            .all(|c| c.pem.is_some()),
        "fixture has a signing certificate with its PEM"
    );
    let failed = Outcome::Failed {
        reason: Reason::StytchUnavailable,
        message: "503".into(),
        permanent: false,
    };
    let s = compute(&input(None, Some(&previous), failed, now()));
    assert_eq!(s.signing_certificates, previous.signing_certificates);
}

#[test]
fn the_handled_reconcile_request_is_recorded_and_kept() {
    let live = live_in_sync(&[&cert("idp")]);
    let mut with_request = input(Some(&live), None, Outcome::InSync, now());
    with_request.reconcile_requested_at = Some("2026-12-03T10:00:00Z".into());
    let first = compute(&with_request);
    assert_eq!(
        first.last_handled_reconcile_at.as_deref(),
        Some("2026-12-03T10:00:00Z")
    );
    let later = compute(&input(Some(&live), Some(&first), Outcome::InSync, now()));
    assert_eq!(
        later.last_handled_reconcile_at,
        first.last_handled_reconcile_at
    );
}
