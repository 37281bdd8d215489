//! Basic auth and the per-project fixed-window rate limit of the Stytch sandbox.

mod stytch_common;

use std::time::Duration;

use reqwest::{Method, StatusCode};
use sandbox::stytch::StytchConfig;
use serde_json::Value;
use stytch_common::*;

fn list_path() -> String {
    format!("/v1/b2b/sso/{ORG}")
}

#[tokio::test]
async fn missing_or_malformed_authorization_is_400() {
    let env = start().await;
    let url = env.url(&list_path());
    let requests = [
        env.http.get(&url),
        env.http.get(&url).header("Authorization", "Bearer abc"),
        env.http
            .get(&url)
            .header("Authorization", "Basic !!!notbase64"),
        env.http
            .get(&url)
            .header("Authorization", "Basic bm9jb2xvbg=="), // "nocolon"
    ];
    for req in requests {
        let resp = req.send().await.expect("sent");
        let status = resp.status();
        let body: Value = resp.json().await.expect("json");
        assert_error(status, &body, 400, "invalid_authorization_header");
    }
}

#[tokio::test]
async fn wrong_secret_or_unknown_project_is_401() {
    let env = start().await;
    for (project, secret) in [
        (PROJECT, "wrong"),
        ("project-test-unknown", SECRET),
        (PROJECT, OTHER_SECRET),
    ] {
        let (status, body) = env
            .call_as(project, secret, Method::GET, &list_path(), None)
            .await;
        assert_error(status, &body, 401, "unauthorized_credentials");
    }
    let (status, _) = env.call(Method::GET, &list_path(), None).await;
    assert_eq!(status, StatusCode::OK);
}

/// Sleeps until just after the start of the next whole second, so that a burst of requests
/// falls into one rate-limit window.
async fn align_to_second() {
    let ms = jiff::Timestamp::now().as_millisecond().rem_euclid(1000) as u64;
    tokio::time::sleep(Duration::from_millis(1000 - ms + 20)).await;
}

#[tokio::test]
async fn rate_limit_answers_429_in_the_same_second_and_recovers_in_the_next() {
    let mut config = StytchConfig::with_seed(seed());
    config.rate_limit_per_second = 3;
    let env = start_with(config).await;
    align_to_second().await;
    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(env.call(Method::GET, &list_path(), None).await.0.as_u16());
    }
    assert_eq!(statuses, vec![200, 200, 200, 429, 429]);
    let resp = env
        .http
        .get(env.url(&list_path()))
        .basic_auth(PROJECT, Some(SECRET))
        .send()
        .await
        .expect("sent");
    assert!(
        resp.headers().get("retry-after").is_none(),
        "Retry-After is off by default"
    );
    let status = resp.status();
    let body: Value = resp.json().await.expect("json");
    assert_error(status, &body, 429, "too_many_requests");
    // Another project has its own window.
    let (status, _) = env
        .call_as(
            OTHER_PROJECT,
            OTHER_SECRET,
            Method::GET,
            &format!("/v1/b2b/sso/{OTHER_ORG}"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    align_to_second().await;
    assert_eq!(
        env.call(Method::GET, &list_path(), None).await.0,
        StatusCode::OK
    );
}

#[tokio::test]
async fn rate_limit_is_settable_at_runtime_with_retry_after() {
    let env = start().await;
    let admin = env.sandbox.admin();
    admin.set_rate_limit(1, Some(true));
    assert_eq!(admin.rate_limit().rate_limit_per_second, 1);
    align_to_second().await;
    assert_eq!(
        env.call(Method::GET, &list_path(), None).await.0,
        StatusCode::OK
    );
    let resp = env
        .http
        .get(env.url(&list_path()))
        .basic_auth(PROJECT, Some(SECRET))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(
        resp.headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok()),
        Some("1")
    );
    // Via HTTP: back to unlimited.
    let resp = env
        .http
        .put(env.url("/__sandbox/rate_limit"))
        .json(&serde_json::json!({"rate_limit_per_second": 0}))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::OK);
    for _ in 0..5 {
        assert_eq!(
            env.call(Method::GET, &list_path(), None).await.0,
            StatusCode::OK
        );
    }
    let counters = admin.counters();
    assert_eq!(counters.by_status.get("429"), Some(&1));
}
