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

/// Sleeps until just after the start of the next whole second.
async fn align_to_second() {
    let ms = jiff::Timestamp::now().as_millisecond().rem_euclid(1000) as u64;
    tokio::time::sleep(Duration::from_millis(1000 - ms + 20)).await;
}

/// One response of a burst: status, `Retry-After`, body, and whether it was from OTHER_PROJECT.
type Answer = (u16, Option<String>, Value, bool);

/// Sends `n` concurrent list requests as PROJECT (plus one as OTHER_PROJECT when `other`)
/// inside one wall-clock second. If a slow machine makes the burst straddle a second
/// boundary, it is retried (at most 3 times). Answers are sorted by status.
async fn burst(env: &Env, n: usize, other: bool) -> Vec<Answer> {
    for _ in 0..3 {
        align_to_second().await;
        let start = jiff::Timestamp::now().as_second();
        let mut requests = Vec::new();
        for i in 0..n + usize::from(other) {
            let is_other = i == n;
            let (project, secret, org) = if is_other {
                (OTHER_PROJECT, OTHER_SECRET, OTHER_ORG)
            } else {
                (PROJECT, SECRET, ORG)
            };
            let req = env
                .http
                .get(env.url(&format!("/v1/b2b/sso/{org}")))
                .basic_auth(project, Some(secret));
            requests.push(async move {
                let resp = req.send().await.expect("sent");
                let retry = resp
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                let status = resp.status().as_u16();
                (
                    status,
                    retry,
                    resp.json::<Value>().await.expect("json"),
                    is_other,
                )
            });
        }
        let mut answers = futures::future::join_all(requests).await;
        if jiff::Timestamp::now().as_second() == start {
            answers.sort_by_key(|a| a.0);
            return answers;
        }
    }
    panic!("could not send a burst within one second in 3 tries");
}

#[tokio::test]
async fn rate_limit_answers_429_in_the_same_second_and_recovers_in_the_next() {
    let mut config = StytchConfig::with_seed(seed());
    config.rate_limit_per_second = 3;
    let env = start_with(config).await;
    let answers = burst(&env, 5, true).await;
    let statuses: Vec<u16> = answers.iter().map(|a| a.0).collect();
    assert_eq!(statuses, vec![200, 200, 200, 200, 429, 429], "{answers:?}");
    assert!(
        answers.iter().any(|a| a.3 && a.0 == 200),
        "the other project has its own window"
    );
    for (status, retry, body, _) in &answers[4..] {
        assert!(retry.is_none(), "Retry-After is off by default");
        let code = StatusCode::from_u16(*status).expect("status");
        assert_error(code, body, 429, "too_many_requests");
    }
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
    let answers = burst(&env, 2, false).await;
    assert_eq!(answers[0].0, 200);
    assert_eq!(answers[1].0, 429);
    assert_eq!(answers[1].1.as_deref(), Some("1"));
    // Via HTTP: back to unlimited.
    let resp = env
        .http
        .put(env.url("/__sandbox/rate_limit"))
        .json(&serde_json::json!({"rate_limit_per_second": 0}))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::OK);
    let answers = burst(&env, 5, false).await;
    assert!(answers.iter().all(|a| a.0 == 200), "{answers:?}");
}
