//! Crash between Create and recording the new id: the operator process is SIGKILLed after
//! Stytch created the connection but before the id reached the resource. After a restart there
//! is exactly one connection, adopted by the resource.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use sandbox::stytch::faults::FaultRule;
use support::*;

const OBJ_PATH: &str =
    "/apis/sso.stytch-operator.dev/v1alpha1/namespaces/default/samlconnections/acme";

fn spawn(env: &Env) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_stytch-saml-operator"))
        .args(["run", "--metrics-addr", "127.0.0.1:0"])
        .arg("--kubeconfig")
        .arg(&env.operator_kubeconfig)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

async fn until(what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_between_create_and_recording_the_id_leaves_exactly_one_connection() {
    let env = Env::new().await;
    // Stytch answers Create only after 1.5 s, so the test can act while it is in flight.
    env.stytch.admin().add_fault(FaultRule {
        path: "/v1/b2b/sso/saml/".into(),
        method: Some("POST".into()),
        latency_ms: 1500,
        ..Default::default()
    });
    let mut operator = spawn(&env);
    env.apply("acme", full_spec(&[&cert("idp")])).await;
    // Create is in flight: from now on every write to the resource fails, so the new id cannot
    // be recorded.
    until("Create to reach Stytch", Duration::from_secs(20), || {
        env.stytch.admin().faults().iter().any(|f| f.hits > 0)
    })
    .await;
    assert!(
        env.requests()
            .iter()
            .filter(|r| r.endpoint == "create_connection")
            .all(|r| r.status != 200),
        "Create must still be in flight"
    );
    env.kube
        .faults()
        .fail_next_method(10_000, "PATCH", OBJ_PATH, 500);
    env.kube
        .faults()
        .fail_next_method(10_000, "PUT", OBJ_PATH, 500);
    until("Create to complete", Duration::from_secs(10), || {
        env.requests()
            .iter()
            .any(|r| r.endpoint == "create_connection" && r.status == 200)
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    operator.kill().await.unwrap();

    let obj = env.api.get("acme").await.unwrap();
    let annotations = obj.metadata.annotations.clone().unwrap_or_default();
    assert!(
        annotations.contains_key("sso.stytch-operator.dev/create-pending"),
        "{annotations:?}"
    );
    assert!(
        !annotations.contains_key("sso.stytch-operator.dev/connection-id"),
        "the id must not have been recorded: {annotations:?}"
    );
    assert!(
        obj.status
            .as_ref()
            .and_then(|s| s.connection_id.clone())
            .is_none()
    );
    assert_eq!(env.connections().len(), 1, "Stytch created the connection");

    env.kube.faults().clear();
    env.stytch.admin().clear_faults();
    let mut operator = spawn(&env);
    let obj = env
        .wait_for(
            "acme",
            "Ready after restart",
            Duration::from_secs(20),
            |o| is(o, "Ready", "True"),
        )
        .await;
    let creates = env
        .requests()
        .iter()
        .filter(|r| r.endpoint == "create_connection")
        .count();
    assert_eq!(creates, 1, "no second Create");
    let live = env.connections();
    assert_eq!(live.len(), 1, "exactly one connection");
    assert_eq!(
        obj.status.unwrap().connection_id.as_deref(),
        Some(live[0].connection_id.as_str())
    );
    let annotations = obj.metadata.annotations.unwrap_or_default();
    assert!(!annotations.contains_key("sso.stytch-operator.dev/create-pending"));
    assert_eq!(
        annotations.get("sso.stytch-operator.dev/connection-id"),
        Some(&live[0].connection_id)
    );
    operator.kill().await.unwrap();
}
