//! Request windows in the Stytch sandbox log: when each request arrived and was answered, who
//! sent it, which are in flight, and which were abandoned by a client that went away (with or
//! without the change made), driven by `latency_ms` / `latency_after_ms` fault rules.

mod stytch_common;

use std::time::{Duration, Instant};

use sandbox::stytch::FaultRule;
use serde_json::json;
use stytch_common::*;

async fn eventually(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

fn create_with_timeout(env: &Env, timeout: Duration) -> tokio::task::JoinHandle<bool> {
    let request = env
        .http
        .post(env.url(&format!("/v1/b2b/sso/saml/{ORG}")))
        .basic_auth(PROJECT, Some(SECRET))
        .header("Content-Type", "application/json")
        .body(json!({"display_name": "slow"}).to_string())
        .timeout(timeout);
    tokio::spawn(async move { request.send().await.is_ok() })
}

#[tokio::test]
async fn answered_requests_carry_their_window_and_client_address() {
    let env = start().await;
    let admin = env.sandbox.admin();
    admin.add_fault(FaultRule {
        path: "/v1/b2b/sso/saml/".into(),
        method: Some("POST".into()),
        latency_ms: 150,
        latency_after_ms: 150,
        ..Default::default()
    });
    let pending = create_with_timeout(&env, Duration::from_secs(10));
    eventually("the create to be in flight", || {
        admin.in_flight().len() == 1
    })
    .await;
    let open = admin.in_flight();
    assert_eq!(
        (open[0].endpoint.as_str(), open[0].status),
        ("create_connection", 0)
    );
    assert!(pending.await.unwrap(), "answered");
    assert!(admin.in_flight().is_empty());
    assert!(admin.abandoned().is_empty());
    let log = admin.requests();
    let started: jiff::Timestamp = log[0].started.parse().unwrap();
    let answered: jiff::Timestamp = log[0].timestamp.parse().unwrap();
    let took = answered.duration_since(started);
    assert!(
        took >= jiff::SignedDuration::from_millis(290),
        "latency before and after: {took:?}"
    );
    let peer: std::net::SocketAddr = log[0].peer.as_deref().unwrap().parse().unwrap();
    assert!(peer.ip().is_loopback());
    assert_eq!(env.list().await.len(), 1);
}

#[tokio::test]
async fn a_client_gone_after_the_change_leaves_an_abandoned_entry_with_its_status() {
    let env = start().await;
    let admin = env.sandbox.admin();
    admin.add_fault(FaultRule {
        path: "/v1/b2b/sso/saml/".into(),
        method: Some("POST".into()),
        latency_after_ms: 3_000,
        ..Default::default()
    });
    // The client gives up while the sandbox holds back the answer to a create it made.
    assert!(
        !create_with_timeout(&env, Duration::from_millis(300))
            .await
            .unwrap()
    );
    eventually("the request to be abandoned", || {
        admin.abandoned().len() == 1
    })
    .await;
    let gone = &admin.abandoned()[0];
    assert_eq!(
        (gone.endpoint.as_str(), gone.status),
        ("create_connection", 200)
    );
    assert!(admin.requests().is_empty(), "never answered, so not logged");
    assert!(admin.in_flight().is_empty());
    assert_eq!(env.list().await.len(), 1, "the change was made");
}

#[tokio::test]
async fn a_client_gone_before_the_change_leaves_nothing_made() {
    let env = start().await;
    let admin = env.sandbox.admin();
    admin.add_fault(FaultRule {
        path: "/v1/b2b/sso/saml/".into(),
        method: Some("POST".into()),
        latency_ms: 3_000,
        ..Default::default()
    });
    assert!(
        !create_with_timeout(&env, Duration::from_millis(300))
            .await
            .unwrap()
    );
    eventually("the request to be abandoned", || {
        admin.abandoned().len() == 1
    })
    .await;
    assert_eq!(admin.abandoned()[0].status, 0);
    admin.clear_faults();
    assert!(env.list().await.is_empty(), "no change was made");
}
