//! Bad input is refused on a read, never on a write (issue #8 regressions): an unknown
//! organization, and a wrong project secret next to a right one, stall before Create; the
//! resource then deletes without any Stytch call.

#[path = "support/probe.rs"]
mod probe;
mod support;

use std::time::Duration;

use probe::{ProbedOperator, put_secret_in};
use serde_json::json;
use support::*;

const T: Duration = Duration::from_secs(60);
const CREATE_PENDING: &str = "sso.stytch-operator.dev/create-pending";

/// Regression: an unknown organization used to be discovered by a refused Create (a write
/// attempt, and a create-pending marker on the resource). Now a read finds it first.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_organization_is_read_never_written() {
    let env = Env::new().await;
    let operator = ProbedOperator::start(&env, &[]).await;
    let mut spec = full_spec(&[&cert("idp")]);
    spec["organizationId"] = json!("no-such-org");
    env.apply("nowhere", spec).await;
    let obj = env
        .wait_for("nowhere", "OrganizationNotFound", T, |o| {
            is(o, "Stalled", "True")
        })
        .await;
    assert_eq!(
        reason(&obj, "Ready").as_deref(),
        Some("OrganizationNotFound")
    );
    let annotations = obj.metadata.annotations.unwrap_or_default();
    assert!(!annotations.contains_key(CREATE_PENDING), "{annotations:?}");
    // The reconciles its own writes trigger (finalizer, status) may read again, how many depends
    // on how their watch events coalesce; after that, nothing: a stalled resource is not retried.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let settled = env.requests().len();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let endpoints: Vec<String> = env.requests().into_iter().map(|r| r.endpoint).collect();
    assert!(!endpoints.is_empty());
    assert!(
        endpoints.iter().all(|e| e == "get_connections"),
        "only reads: {endpoints:?}"
    );
    assert!(endpoints.len() <= 4, "a few reads at most: {endpoints:?}");
    assert_eq!(endpoints.len(), settled, "not retried: {endpoints:?}");
    operator.stop().await;
}

/// Regression: the organization listing cache was keyed by project id only, so a resource with
/// a wrong secret was served the listing another resource had read with the right one; its
/// Create was then refused with 401 after the create-pending marker was set, and deleting it
/// needed Stytch, which kept refusing: it could not be deleted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_secret_gets_its_own_401_on_a_read_and_deletes_without_stytch() {
    let env = Env::new().await;
    put_secret_in(
        &env,
        NS,
        "wrong-credentials",
        json!({"project_id": PROJECT, "secret": "secret-test-Wrong-Pw9", "base_url": env.stytch.base_url()}),
    )
    .await;
    let operator = ProbedOperator::start(&env, &["--resync-interval", "1h"]).await;
    env.apply("good", full_spec(&[&cert("good")])).await;
    env.wait_for("good", "Ready", T, |o| is(o, "Ready", "True"))
        .await;
    let mut wrong = full_spec(&[&cert("wrong")]);
    wrong["displayName"] = json!("Wrong credentials");
    wrong["credentialsRef"] = json!({"name": "wrong-credentials"});
    env.apply("wrong", wrong).await;
    let obj = env
        .wait_for("wrong", "InvalidCredentials", T, |o| {
            reason(o, "Ready").as_deref() == Some("InvalidCredentials")
        })
        .await;
    let refused: Vec<_> = env
        .requests()
        .into_iter()
        .filter(|r| r.status == 401)
        .collect();
    assert!(!refused.is_empty());
    assert!(
        refused.iter().all(|r| !r.write),
        "the wrong secret was refused on a write: {refused:?}"
    );
    let annotations = obj.metadata.annotations.unwrap_or_default();
    assert!(!annotations.contains_key(CREATE_PENDING), "{annotations:?}");
    env.stytch.admin().clear_requests();
    env.api.delete("wrong", &Default::default()).await.unwrap();
    env.wait_gone("wrong", T).await;
    assert!(
        env.requests().is_empty(),
        "deletion called Stytch: {:?}",
        env.requests()
    );
    operator.stop().await;
}
