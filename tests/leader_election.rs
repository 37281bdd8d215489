//! Replicas with `--leader-elect`: one leads and reconciles; when it stops gracefully the standby
//! takes over at once; when it is SIGKILLed the standby takes over once the Lease expires. No
//! resource is ever created twice.

mod support;

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use serde_json::json;
use support::*;

async fn holder(env: &Env) -> Option<String> {
    let leases: kube::Api<Lease> = kube::Api::namespaced(env.client.clone(), NS);
    leases
        .get_opt("stytch-saml-operator")
        .await
        .unwrap()?
        .spec?
        .holder_identity
}

fn spec(name: &str) -> serde_json::Value {
    let mut s = full_spec(&[&cert(name)]);
    s["displayName"] = json!(name);
    s
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_standby_takes_over_when_the_leader_goes() {
    let env = Env::new().await;
    let flags = ["--leader-elect", "--leader-election-lease-seconds", "3"];
    let first = env.spawn_operator(&flags);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while holder(&env).await.is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nobody took the Lease"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let second = env.spawn_operator(&flags);
    let leader = holder(&env).await.unwrap();
    env.apply("one", spec("one")).await;
    env.wait_for("one", "Ready", Duration::from_secs(20), |o| {
        is(o, "Ready", "True")
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        holder(&env).await.unwrap(),
        leader,
        "the leader kept its Lease"
    );

    // Graceful stop releases the Lease: the standby takes over at once.
    first.stop().await;
    env.apply("two", spec("two")).await;
    env.wait_for("two", "Ready", Duration::from_secs(20), |o| {
        is(o, "Ready", "True")
    })
    .await;
    let new_leader = holder(&env).await.unwrap();
    assert_ne!(new_leader, leader);

    let creates = env
        .writes()
        .iter()
        .filter(|w| *w == "create_connection")
        .count();
    assert_eq!(
        creates,
        2,
        "exactly one create per resource: {:?}",
        env.writes()
    );
    assert_eq!(env.connections().len(), 2);
    second.stop().await;
}

fn spawn_binary(env: &Env, pod: &str) -> tokio::process::Child {
    tokio::process::Command::new(env!("CARGO_BIN_EXE_stytch-saml-operator"))
        .args([
            "run",
            "--metrics-addr",
            "127.0.0.1:0",
            "--leader-elect",
            "--leader-election-lease-seconds",
            "3",
        ])
        .arg("--kubeconfig")
        .arg(env.kube.kubeconfig_path())
        .env("POD_NAME", pod)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_leader_is_replaced_within_the_lease_duration() {
    let env = Env::new().await;
    let mut a = spawn_binary(&env, "replica-a");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while holder(&env).await.is_none() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "nobody took the Lease"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let mut b = spawn_binary(&env, "replica-b");
    env.apply("one", spec("one")).await;
    env.wait_for("one", "Ready", Duration::from_secs(20), |o| {
        is(o, "Ready", "True")
    })
    .await;
    let leader = holder(&env).await.unwrap();
    let (victim, survivor) = if leader.starts_with("replica-a") {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    victim.kill().await.unwrap();
    let killed_at = tokio::time::Instant::now();
    env.apply("two", spec("two")).await;
    env.wait_for("two", "Ready", Duration::from_secs(20), |o| {
        is(o, "Ready", "True")
    })
    .await;
    let takeover = killed_at.elapsed();
    let new_leader = holder(&env).await.unwrap();
    assert_ne!(new_leader, leader);
    println!("takeover after SIGKILL: {takeover:?} (lease 3 s)");
    assert!(takeover < Duration::from_secs(8), "took {takeover:?}");
    let creates = env
        .writes()
        .iter()
        .filter(|w| *w == "create_connection")
        .count();
    assert_eq!(
        creates,
        2,
        "exactly one create per resource: {:?}",
        env.writes()
    );
    survivor.kill().await.unwrap();
}
