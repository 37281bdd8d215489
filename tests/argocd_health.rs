//! `docs/argocd/health.lua`, the Argo CD health check of `SamlConnection`, run with a real Lua
//! interpreter (Lua 5.4 through `mlua`; the script sticks to what Argo CD's Lua 5.1 also has)
//! against sample objects: Healthy, Progressing, Degraded, Suspended and a stale status.

use mlua::serde::SerializeOptions;
use mlua::{Lua, LuaSerdeExt, Table};
use serde_json::{Value, json};

const SCRIPT: &str = include_str!("../docs/argocd/health.lua");

/// Runs the health check with `obj` as the global `obj`, as Argo CD does.
fn health(obj: &Value) -> (String, String) {
    let lua = Lua::new();
    let options = SerializeOptions::new()
        .serialize_none_to_null(false)
        .serialize_unit_to_null(false);
    let value = lua.to_value_with(obj, options).unwrap();
    lua.globals().set("obj", value).unwrap();
    let result: Table = lua
        .load(SCRIPT)
        .set_name("health.lua")
        .eval()
        .unwrap_or_else(|e| panic!("health.lua failed: {e}"));
    let status: String = result.get("status").unwrap();
    let message: String = result.get("message").unwrap();
    (status, message)
}

fn cond(type_: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({
        "type": type_, "status": status, "reason": reason, "message": message,
        "observedGeneration": 3, "lastTransitionTime": "2026-12-01T00:00:00Z",
    })
}

fn object(generation: i64, status: Option<Value>) -> Value {
    let mut obj = json!({
        "apiVersion": "sso.stytch-operator.dev/v1alpha1",
        "kind": "SamlConnection",
        "metadata": {"name": "acme-okta", "namespace": "default", "generation": generation},
        "spec": {"credentialsRef": {"name": "stytch-credentials"}, "organizationId": "acme"},
    });
    if let Some(status) = status {
        obj["status"] = status;
    }
    obj
}

fn with_conditions(conditions: Vec<Value>) -> Value {
    object(
        3,
        Some(json!({
            "observedGeneration": 3,
            "connectionId": "saml-connection-test-1",
            "connectionStatus": "active",
            "conditions": conditions,
        })),
    )
}

#[test]
fn ready_is_healthy() {
    let obj = with_conditions(vec![
        cond(
            "Ready",
            "True",
            "Ready",
            "the connection is active and in sync",
        ),
        cond(
            "Active",
            "True",
            "Active",
            "Stytch reports the connection as active",
        ),
        cond(
            "Synced",
            "True",
            "Synced",
            "the live connection matches the spec",
        ),
        cond("Stalled", "False", "AsExpected", ""),
        cond(
            "CertificateExpiringSoon",
            "False",
            "CertificatesValid",
            "ok",
        ),
    ]);
    let (status, message) = health(&obj);
    assert_eq!(status, "Healthy");
    assert!(message.contains("in sync"), "{message}");
}

#[test]
fn expiring_certificate_is_still_healthy() {
    let obj = with_conditions(vec![
        cond("Ready", "True", "Ready", "ready"),
        cond("Stalled", "False", "AsExpected", ""),
        cond(
            "CertificateExpiringSoon",
            "True",
            "CertificateExpiringSoon",
            "a certificate expires at 2026-12-20T00:00:00Z",
        ),
    ]);
    assert_eq!(health(&obj).0, "Healthy");
}

#[test]
fn stalled_is_degraded_with_its_message() {
    let obj = with_conditions(vec![
        cond(
            "Ready",
            "False",
            "OrganizationNotFound",
            "no organization `acme`",
        ),
        cond(
            "Synced",
            "False",
            "OrganizationNotFound",
            "no organization `acme`",
        ),
        cond(
            "Stalled",
            "True",
            "OrganizationNotFound",
            "no organization `acme`",
        ),
    ]);
    let (status, message) = health(&obj);
    assert_eq!(status, "Degraded");
    assert_eq!(message, "OrganizationNotFound: no organization `acme`");
}

#[test]
fn failure_is_tested_before_success() {
    // Contradictory on purpose: Stalled wins over Ready.
    let obj = with_conditions(vec![
        cond("Ready", "True", "Ready", "ready"),
        cond(
            "Stalled",
            "True",
            "InvalidCredentials",
            "the secret was rejected",
        ),
    ]);
    assert_eq!(health(&obj).0, "Degraded");
}

#[test]
fn suspended_is_suspended() {
    let obj = with_conditions(vec![
        cond("Ready", "False", "Suspended", "spec.suspend is true"),
        cond(
            "Synced",
            "False",
            "Suspended",
            "spec.suspend is true; no Stytch calls are made",
        ),
        cond("Stalled", "False", "AsExpected", ""),
    ]);
    let (status, message) = health(&obj);
    assert_eq!(status, "Suspended");
    assert!(message.contains("spec.suspend"), "{message}");
}

#[test]
fn transient_failure_and_pending_are_progressing_with_the_ready_message() {
    let retrying = with_conditions(vec![
        cond("Ready", "False", "StytchUnavailable", "Stytch answered 503"),
        cond(
            "Synced",
            "False",
            "StytchUnavailable",
            "Stytch answered 503",
        ),
        cond("Stalled", "False", "AsExpected", ""),
    ]);
    assert_eq!(
        health(&retrying),
        (
            "Progressing".into(),
            "StytchUnavailable: Stytch answered 503".into()
        )
    );
    let staged = with_conditions(vec![
        cond(
            "Ready",
            "False",
            "Pending",
            "the connection is pending until these are set: idp.entityId",
        ),
        cond("Active", "False", "Pending", "pending"),
        cond(
            "Synced",
            "True",
            "Synced",
            "the live connection matches the spec",
        ),
        cond("Stalled", "False", "AsExpected", ""),
    ]);
    let (status, message) = health(&staged);
    assert_eq!(status, "Progressing");
    assert!(message.contains("idp.entityId"), "{message}");
}

#[test]
fn no_status_yet_is_progressing() {
    let (status, message) = health(&object(1, None));
    assert_eq!(status, "Progressing");
    assert!(message.contains("Waiting"), "{message}");
    let empty = object(1, Some(json!({})));
    assert_eq!(health(&empty).0, "Progressing");
}

#[test]
fn stale_observed_generation_is_progressing_even_when_ready() {
    let mut obj = with_conditions(vec![
        cond("Ready", "True", "Ready", "ready"),
        cond("Stalled", "False", "AsExpected", ""),
    ]);
    obj["metadata"]["generation"] = json!(4);
    let (status, message) = health(&obj);
    assert_eq!(status, "Progressing");
    assert!(message.contains("generation 4"), "{message}");
    // A stale Stalled is not reported either: the new spec may have fixed it.
    let mut stalled = with_conditions(vec![cond("Stalled", "True", "InvalidRoleId", "bad")]);
    stalled["metadata"]["generation"] = json!(4);
    assert_eq!(health(&stalled).0, "Progressing");
}

#[test]
fn null_fields_do_not_break_the_script() {
    let obj = object(
        2,
        Some(json!({"observedGeneration": 2, "conditions": [
            {"type": "Ready", "status": "True", "reason": "Ready", "message": null},
        ]})),
    );
    assert_eq!(health(&obj), ("Healthy".into(), "Ready".into()));
}
