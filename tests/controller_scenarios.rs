//! Controller scenarios end to end against both sandboxes (issue #5): adoption, out-of-band
//! edits (Full and ObserveOnly), suspend, deletion without credentials, and auth failures.
//! Each asserts the Kubernetes side (conditions, status, Events) and the Stytch request log.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, PostParams};
use sandbox::stytch::model::{SamlConnection as LiveConnection, X509Certificate};
use serde_json::{Value, json};
use support::*;

const T: Duration = Duration::from_secs(20);

/// Polls `check` every 100 ms until it holds, or panics after `timeout`.
async fn until(what: &str, timeout: Duration, check: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + timeout;
    while !check() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Seeds a connection in the Stytch sandbox that already matches `full_spec(&[pem])`.
fn seed_matching(env: &Env, id: &str, pem: &str) -> LiveConnection {
    let spec = full_spec(&[pem]);
    let conn = LiveConnection {
        connection_id: id.into(),
        status: "active".into(),
        display_name: spec["displayName"].as_str().unwrap().into(),
        identity_provider: "okta".into(),
        idp_entity_id: spec["idp"]["entityId"].as_str().unwrap().into(),
        idp_sso_url: spec["idp"]["ssoUrl"].as_str().unwrap().into(),
        verification_certificates: vec![X509Certificate {
            certificate: pem.into(),
            ..Default::default()
        }],
        attribute_mapping: serde_json::from_value(json!({"email": "email", "full_name": "name"}))
            .unwrap(),
        ..Default::default()
    };
    env.stytch
        .admin()
        .put_connection(PROJECT, ORG, conn)
        .unwrap()
}

fn adopt_spec(id: &str, pem: &str) -> Value {
    let mut spec = full_spec(&[pem]);
    spec["connectionId"] = json!(id);
    spec
}

async fn warning_events(env: &Env, reason: &str) -> usize {
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(env.client.clone(), NS);
    let list = events.list(&Default::default()).await.unwrap();
    list.items
        .iter()
        .filter(|e| e.reason.as_deref() == Some(reason) && e.type_.as_deref() == Some("Warning"))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adopting_an_existing_connection_writes_nothing_and_a_missing_one_stalls() {
    let mut env = Env::new().await;
    let pem = cert("idp");
    let id = "saml-connection-test-adopt-0001";
    seed_matching(&env, id, &pem);
    env.start_operator(&[]);
    env.apply("adopted", adopt_spec(id, &pem)).await;
    let obj = env
        .wait_for("adopted", "Ready", T, |o| is(o, "Ready", "True"))
        .await;
    let status = obj.status.unwrap();
    assert_eq!(status.connection_id.as_deref(), Some(id));
    assert_eq!(status.verification_certificates.len(), 1);
    assert!(
        env.writes().is_empty(),
        "adoption wrote: {:?}",
        env.writes()
    );
    assert_eq!(env.connections().len(), 1);

    env.apply(
        "missing",
        adopt_spec("saml-connection-test-missing", &cert("x")),
    )
    .await;
    let obj = env
        .wait_for("missing", "Stalled", T, |o| is(o, "Stalled", "True"))
        .await;
    assert!(is(&obj, "Ready", "False"));
    assert_eq!(
        reason(&obj, "Stalled").as_deref(),
        Some("ConnectionNotFound")
    );
    assert_eq!(reason(&obj, "Ready").as_deref(), Some("ConnectionNotFound"));
    assert!(
        condition(&obj, "Ready")
            .unwrap()
            .2
            .contains("saml-connection-test-missing")
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(env.writes().is_empty(), "no create in place of an adoption");
    assert_eq!(env.connections().len(), 1);
    env.stop_operator().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn out_of_band_edits_are_restored_or_reported_as_drift() {
    let mut env = Env::new().await;
    env.start_operator(&["--resync-interval", "1s"]);
    env.apply("full", full_spec(&[&cert("idp")])).await;
    let obj = env
        .wait_for("full", "Ready", T, |o| is(o, "Ready", "True"))
        .await;
    let full_id = obj.status.unwrap().connection_id.unwrap();
    let pem = cert("observed");
    let observed_id = "saml-connection-test-observed-01";
    seed_matching(&env, observed_id, &pem);
    let mut spec = adopt_spec(observed_id, &pem);
    spec["managementPolicy"] = json!("ObserveOnly");
    env.apply("observed", spec).await;
    env.wait_for("observed", "Ready", T, |o| is(o, "Ready", "True"))
        .await;
    env.stytch.admin().clear_requests();

    // Full: a dashboard edit is undone at the next resync, with one update.
    let admin = env.stytch.admin();
    admin
        .edit_connection(PROJECT, ORG, &full_id, json!({"display_name": "Edited"}))
        .unwrap();
    until("display name restored", T, || {
        admin
            .connection(PROJECT, ORG, &full_id)
            .is_some_and(|c| c.display_name == "Acme Okta")
    })
    .await;
    env.wait_for("full", "Ready", T, |o| is(o, "Ready", "True"))
        .await;
    assert_eq!(env.writes(), vec!["update_connection"]);

    // ObserveOnly: the same edit is reported, never written.
    admin
        .edit_connection(PROJECT, ORG, observed_id, json!({"display_name": "Edited"}))
        .unwrap();
    let obj = env
        .wait_for("observed", "DriftDetected", T, |o| {
            reason(o, "Synced").as_deref() == Some("DriftDetected")
        })
        .await;
    assert!(is(&obj, "Synced", "False"));
    assert!(is(&obj, "Ready", "False"));
    let status = obj.status.unwrap();
    assert!(
        status.drift.contains(&"displayName".to_string()),
        "{:?}",
        status.drift
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        env.writes(),
        vec!["update_connection"],
        "ObserveOnly never writes"
    );
    let live = admin.connection(PROJECT, ORG, observed_id).unwrap();
    assert_eq!(live.display_name, "Edited");
    env.stop_operator().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_resource_makes_no_stytch_call_until_resumed() {
    let mut env = Env::new().await;
    env.start_operator(&["--resync-interval", "1s"]);
    env.apply("acme", full_spec(&[&cert("idp")])).await;
    let obj = env
        .wait_for("acme", "Ready", T, |o| is(o, "Ready", "True"))
        .await;
    let id = obj.status.unwrap().connection_id.unwrap();
    env.patch_spec("acme", json!({"suspend": true})).await;
    let obj = env
        .wait_for("acme", "Suspended", T, |o| {
            reason(o, "Synced").as_deref() == Some("Suspended")
        })
        .await;
    assert!(is(&obj, "Synced", "False"));
    assert!(is(&obj, "Ready", "False"));
    env.stytch.admin().clear_requests();
    env.stytch
        .admin()
        .edit_connection(PROJECT, ORG, &id, json!({"display_name": "Edited"}))
        .unwrap();
    // Several resyncs pass while suspended.
    tokio::time::sleep(Duration::from_millis(3500)).await;
    assert!(
        env.requests().is_empty(),
        "Stytch calls while suspended: {:?}",
        env.requests()
    );
    env.patch_spec("acme", json!({"suspend": false})).await;
    env.wait_for("acme", "Ready again", T, |o| is(o, "Ready", "True"))
        .await;
    assert_eq!(env.connections()[0].display_name, "Acme Okta");
    assert_eq!(env.writes(), vec!["update_connection"]);
    env.stop_operator().await;
}

fn credentials_secret(env: &Env, name: &str, secret: &str) -> Secret {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "stringData": {"project_id": PROJECT, "secret": secret, "base_url": env.stytch.base_url()},
    }))
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deletion_waits_for_the_credentials_secret_unless_orphaned() {
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
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), NS);
    secrets
        .delete("stytch-credentials", &Default::default())
        .await
        .unwrap();
    env.stytch.admin().clear_requests();

    // Orphan needs no credentials: gone at once, connection kept.
    env.api.delete("kept", &Default::default()).await.unwrap();
    env.wait_gone("kept", T).await;

    env.api.delete("doomed", &Default::default()).await.unwrap();
    let obj = env
        .wait_for("doomed", "CredentialsSecretNeededForDeletion", T, |o| {
            reason(o, "Stalled").as_deref() == Some("CredentialsSecretNeededForDeletion")
        })
        .await;
    assert!(obj.metadata.deletion_timestamp.is_some());
    assert!(is(&obj, "Ready", "False"));
    let message = condition(&obj, "Stalled").unwrap().2;
    assert!(message.contains("stytch-credentials"), "{message}");
    assert!(warning_events(&env, "CredentialsSecretNeededForDeletion").await >= 1);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(env.api.get_opt("doomed").await.unwrap().is_some());
    assert_eq!(env.connections().len(), 2);
    assert!(env.requests().is_empty(), "{:?}", env.requests());

    secrets
        .create(
            &PostParams::default(),
            &credentials_secret(&env, "stytch-credentials", SECRET),
        )
        .await
        .unwrap();
    env.wait_gone("doomed", T).await;
    let left = env.connections();
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].display_name, "Orphaned");
    assert_eq!(env.writes(), vec!["delete_connection"]);
    env.stop_operator().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_credentials_stall_with_a_named_secret_and_no_hot_loop() {
    let mut env = Env::new().await;
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), NS);
    secrets
        .create(
            &PostParams::default(),
            &credentials_secret(&env, "bad-credentials", "secret-test-wrong"),
        )
        .await
        .unwrap();
    env.start_operator(&[]);
    let mut spec = full_spec(&[&cert("idp")]);
    spec["credentialsRef"] = json!({"name": "bad-credentials"});
    env.apply("acme", spec).await;
    let obj = env
        .wait_for("acme", "InvalidCredentials", T, |o| {
            reason(o, "Ready").as_deref() == Some("InvalidCredentials")
        })
        .await;
    let message = condition(&obj, "Ready").unwrap().2;
    assert!(message.contains("bad-credentials"), "{message}");
    assert!(!message.contains("secret-test-wrong"), "{message}");
    assert!(is(&obj, "Stalled", "True"));
    assert!(warning_events(&env, "InvalidCredentials").await >= 1);
    let first = env.requests().len();
    tokio::time::sleep(Duration::from_secs(5)).await;
    let all = env.requests();
    println!(
        "auth failure: {first} Stytch requests until the condition, {} more in 5 s",
        all.len() - first
    );
    assert!(all.iter().all(|r| r.status == 401), "{all:?}");
    assert!(all.len() <= 5, "hot loop: {all:?}");
    assert!(env.connections().is_empty());
    env.stop_operator().await;
}
