//! The controller end to end against both sandboxes: create, resync without writes, one field
//! change → one update with that field, the staged workflow, delete with both policies.

mod support;

use std::time::Duration;

use serde_json::json;
use support::*;

const T: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn create_from_scratch_then_resync_costs_zero_writes() {
    let mut env = Env::new().await;
    env.start_operator(&["--resync-interval", "1s"]);
    env.apply("acme", full_spec(&[&cert("idp")])).await;
    let obj = env
        .wait_for("acme", "Ready", T, |o| is(o, "Ready", "True"))
        .await;
    let status = obj.status.clone().unwrap();
    let id = status.connection_id.clone().unwrap();
    assert!(id.starts_with("saml-connection-test-"));
    assert_eq!(status.connection_status.as_deref(), Some("active"));
    assert!(status.acs_url.as_deref().unwrap().ends_with(&id));
    assert_eq!(status.organization_id.as_deref(), Some(ORG));
    assert_eq!(status.verification_certificates.len(), 1);
    assert!(
        obj.metadata
            .finalizers
            .as_ref()
            .unwrap()
            .contains(&"sso.stytch-operator.dev/connection".to_string())
    );
    assert_eq!(
        obj.metadata.annotations.as_ref().unwrap()["sso.stytch-operator.dev/connection-id"],
        id
    );
    assert_eq!(
        env.writes(),
        vec!["create_connection", "update_connection"],
        "create, then one update with fields and the certificate"
    );
    assert_eq!(env.connections().len(), 1);

    // Resyncs (every second) read but never write.
    let before = env.requests().len();
    tokio::time::sleep(Duration::from_millis(3500)).await;
    let after = env.requests();
    assert!(after.len() > before, "resync read the organization");
    assert_eq!(
        env.writes().len(),
        2,
        "no write on resync: {:?}",
        &after[before..]
    );
    env.stop_operator().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_field_change_sends_one_update_with_only_that_field() {
    let mut env = Env::new().await;
    env.start_operator(&[]);
    env.apply("acme", full_spec(&[&cert("idp")])).await;
    env.wait_for("acme", "Ready", T, |o| is(o, "Ready", "True"))
        .await;
    let cases = [
        (json!({"displayName": "Acme renamed"}), "display_name"),
        (json!({"identityProvider": "generic"}), "identity_provider"),
        (
            json!({"idp": {"ssoUrl": "https://acme.okta.com/new/sso"}}),
            "idp_sso_url",
        ),
        (
            json!({"idp": {"entityId": "urn:acme:new"}}),
            "idp_entity_id",
        ),
        (
            json!({"attributeMapping": {"fullName": null, "firstName": "given", "lastName": "family"}}),
            "attribute_mapping",
        ),
        (
            json!({"nameIdFormat": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"}),
            "nameid_format",
        ),
        (
            json!({"alternativeAudienceUri": "https://old.example.com/aud"}),
            "alternative_audience_uri",
        ),
        (
            json!({"alternativeAcsUrl": "https://old.example.com/acs"}),
            "alternative_acs_url",
        ),
        (
            json!({"idpInitiatedAuthDisabled": true}),
            "idp_initiated_auth_disabled",
        ),
        (
            json!({"roleAssignments": [{"roleId": "stytch_member"}]}),
            "saml_connection_implicit_role_assignments",
        ),
    ];
    for (patch, field) in cases {
        env.stytch.admin().clear_requests();
        let generation = env.api.get("acme").await.unwrap().metadata.generation;
        env.patch_spec("acme", patch).await;
        env.wait_for("acme", "observed the change", T, |o| {
            o.status.as_ref().and_then(|s| s.observed_generation) > generation
                && is(o, "Synced", "True")
        })
        .await;
        let writes: Vec<_> = env.requests().into_iter().filter(|r| r.write).collect();
        assert_eq!(writes.len(), 1, "{field}: {writes:?}");
        assert_eq!(writes[0].endpoint, "update_connection");
        let live = &env.connections()[0];
        let body_fields = field;
        assert!(
            serde_json::to_value(live)
                .unwrap()
                .get(body_fields)
                .is_some(),
            "{field}"
        );
    }
    env.stop_operator().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_staged_workflow_goes_from_pending_to_active() {
    let mut env = Env::new().await;
    env.start_operator(&[]);
    env.apply("staged", json!({"credentialsRef": {"name": "stytch-credentials"}, "organizationId": "acme", "displayName": "Acme (waiting)"})).await;
    let obj = env
        .wait_for("staged", "Pending", T, |o| {
            reason(o, "Active").as_deref() == Some("Pending")
        })
        .await;
    let (_, _, message) = condition(&obj, "Active").unwrap();
    for missing in [
        "idp.ssoUrl",
        "idp.entityId",
        "idp.certificates",
        "attributeMapping",
    ] {
        assert!(message.contains(missing), "{message}");
    }
    assert!(
        obj.status.as_ref().unwrap().acs_url.is_some(),
        "ACS URL is there for the IdP admin"
    );
    assert!(is(&obj, "Synced", "True"), "nothing else to do yet");
    assert_eq!(env.writes(), vec!["create_connection"]);
    let full = full_spec(&[&cert("idp")]);
    env.patch_spec(
        "staged",
        json!({"idp": full["idp"], "attributeMapping": full["attributeMapping"]}),
    )
    .await;
    env.wait_for("staged", "Active", T, |o| {
        is(o, "Active", "True") && is(o, "Ready", "True")
    })
    .await;
    assert_eq!(env.writes(), vec!["create_connection", "update_connection"]);
    env.stop_operator().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_honours_the_deletion_policy() {
    let mut env = Env::new().await;
    env.start_operator(&[]);
    env.apply("doomed", full_spec(&[&cert("idp")])).await;
    let mut orphan = full_spec(&[&cert("idp2")]);
    orphan["displayName"] = json!("Orphaned");
    orphan["deletionPolicy"] = json!("Orphan");
    env.apply("kept", orphan).await;
    env.wait_for("doomed", "Ready", T, |o| is(o, "Ready", "True"))
        .await;
    env.wait_for("kept", "Ready", T, |o| is(o, "Ready", "True"))
        .await;
    assert_eq!(env.connections().len(), 2);
    env.api.delete("doomed", &Default::default()).await.unwrap();
    env.api.delete("kept", &Default::default()).await.unwrap();
    env.wait_gone("doomed", T).await;
    env.wait_gone("kept", T).await;
    let left = env.connections();
    assert_eq!(left.len(), 1, "Delete removed one, Orphan kept one");
    assert_eq!(left[0].display_name, "Orphaned");
    env.stop_operator().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_reason_an_event_and_no_write() {
    let mut env = Env::new().await;
    env.start_operator(&[]);
    let mut spec =
        full_spec(&["-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"]);
    spec["connectionId"] = json!("saml-connection-test-none");
    env.apply("bad", spec).await;
    let obj = env
        .wait_for("bad", "Stalled", T, |o| is(o, "Stalled", "True"))
        .await;
    assert_eq!(
        reason(&obj, "Stalled").as_deref(),
        Some("InvalidX509Certificate")
    );
    assert_eq!(
        reason(&obj, "Ready").as_deref(),
        Some("InvalidX509Certificate")
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        env.requests().is_empty(),
        "no Stytch call at all: {:?}",
        env.requests()
    );
    let events: kube::Api<k8s_openapi::api::events::v1::Event> =
        kube::Api::namespaced(env.client.clone(), NS);
    let list = events.list(&Default::default()).await.unwrap();
    assert!(
        list.items
            .iter()
            .any(|e| e.reason.as_deref() == Some("InvalidX509Certificate")
                && e.type_.as_deref() == Some("Warning")),
        "{:?}",
        list.items
    );
    env.stop_operator().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reconcile_request_annotation_reads_stytch_afresh() {
    let mut env = Env::new().await;
    // A long resync interval: only the request can cause the next read.
    env.start_operator(&["--resync-interval", "1h"]);
    env.apply("acme", full_spec(&[&cert("idp")])).await;
    env.wait_for("acme", "Ready", T, |o| is(o, "Ready", "True"))
        .await;
    // Someone renames the connection in the Stytch dashboard.
    let id = env.connections()[0].connection_id.clone();
    env.stytch
        .admin()
        .edit_connection(
            PROJECT,
            ORG,
            &id,
            json!({"display_name": "Renamed in the dashboard"}),
        )
        .unwrap();
    env.stytch.admin().clear_requests();
    let annotate = json!({"metadata": {"annotations": {"sso.stytch-operator.dev/reconcile-requested-at": "2026-12-03T12:00:00Z"}}});
    env.api
        .patch(
            "acme",
            &Default::default(),
            &kube::api::Patch::Merge(&annotate),
        )
        .await
        .unwrap();
    let obj = env
        .wait_for("acme", "request handled", T, |o| {
            o.status
                .as_ref()
                .and_then(|s| s.last_handled_reconcile_at.as_deref())
                == Some("2026-12-03T12:00:00Z")
        })
        .await;
    assert!(is(&obj, "Ready", "True"));
    let reads = env
        .requests()
        .iter()
        .filter(|r| r.endpoint == "get_connections")
        .count();
    assert!(reads >= 1, "the request read Stytch: {:?}", env.requests());
    assert_eq!(
        env.writes(),
        vec!["update_connection"],
        "the dashboard edit was undone"
    );
    assert_eq!(env.connections()[0].display_name, "Acme Okta");
    env.stop_operator().await;
}
