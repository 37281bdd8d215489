//! Test controls of the Stytch sandbox: fault rules, request log and counters, seeding,
//! reset and out-of-band edits (Rust admin API and `/__sandbox/` HTTP endpoints).

mod stytch_common;

use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use sandbox::stytch::{FaultRule, SamlConnection, Seed};
use serde_json::{Value, json};
use stytch_common::*;

#[tokio::test]
async fn request_log_and_counters_distinguish_reads_and_writes() {
    let env = start().await;
    let admin = env.sandbox.admin();
    let cid = env.create(json!({})).await["connection_id"]
        .as_str()
        .expect("id")
        .to_owned();
    env.update(&cid, json!({"display_name": "x"})).await;
    env.list().await;
    env.call_as(
        PROJECT,
        "wrong",
        Method::GET,
        &format!("/v1/b2b/sso/{ORG}"),
        None,
    )
    .await;
    let log = admin.requests();
    let summary: Vec<_> = log
        .iter()
        .map(|e| (e.method.as_str(), e.endpoint.as_str(), e.status, e.write))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("POST", "create_connection", 200, true),
            ("PUT", "update_connection", 200, true),
            ("GET", "get_connections", 200, false),
            ("GET", "get_connections", 401, false),
        ]
    );
    assert_eq!(log[0].project_id.as_deref(), Some(PROJECT));
    assert_eq!(
        log.iter().map(|e| e.seq).collect::<Vec<_>>(),
        vec![1, 2, 3, 4]
    );
    let counters = admin.counters();
    assert_eq!((counters.total, counters.writes), (4, 2));
    assert_eq!(counters.by_endpoint.get("get_connections"), Some(&2));
    assert_eq!(counters.by_method.get("PUT"), Some(&1));
    // The same over HTTP; admin calls are not logged.
    let body: Value = env
        .http
        .get(env.url("/__sandbox/requests"))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(body["entries"].as_array().map(Vec::len), Some(4));
    assert_eq!(body["counters"]["writes"], 2);
    let resp = env
        .http
        .delete(env.url("/__sandbox/requests"))
        .send()
        .await
        .expect("sent");
    assert!(resp.status().is_success());
    env.list().await;
    assert_eq!(admin.write_count(), 0, "a read-only pass makes zero writes");
    assert_eq!(admin.requests().len(), 1);
}

#[tokio::test]
async fn fault_rule_returns_error_for_next_n_matching_requests() {
    let env = start().await;
    let admin = env.sandbox.admin();
    let rule = admin.add_fault(FaultRule {
        path: "/v1/b2b/sso/*/connections/*".into(),
        method: Some("DELETE".into()),
        status: Some(503),
        error_type: Some("internal_server_error".into()),
        times: Some(2),
        ..FaultRule::default()
    });
    let cid = env.create(json!({})).await["connection_id"]
        .as_str()
        .expect("id")
        .to_owned();
    let path = format!("/v1/b2b/sso/{ORG}/connections/{cid}");
    for _ in 0..2 {
        let (s, body) = env.call(Method::DELETE, &path, None).await;
        assert_error(s, &body, 503, "internal_server_error");
    }
    assert_eq!(env.list().await.len(), 1, "faulted deletes did not run");
    let (s, _) = env.call(Method::DELETE, &path, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(admin.faults().is_empty(), "exhausted rule is removed");
    let log = admin.requests();
    assert_eq!(
        log.iter()
            .filter(|e| e.fault_rule.as_deref() == Some(rule.id.as_str()))
            .count(),
        2
    );
}

#[tokio::test]
async fn fault_rule_latency_and_drop() {
    let env = start().await;
    let admin = env.sandbox.admin();
    admin.add_fault(FaultRule {
        path: format!("/v1/b2b/sso/{ORG}"),
        method: Some("GET".into()),
        latency_ms: 300,
        times: Some(1),
        ..FaultRule::default()
    });
    let t = Instant::now();
    let (s, _) = env
        .call(Method::GET, &format!("/v1/b2b/sso/{ORG}"), None)
        .await;
    assert_eq!(s, StatusCode::OK, "latency-only rule passes the request on");
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );

    admin.add_fault(FaultRule {
        path: "/v1/b2b/sso/saml/".into(),
        drop_connection: true,
        times: Some(1),
        ..FaultRule::default()
    });
    let err = env
        .http
        .post(env.url(&format!("/v1/b2b/sso/saml/{ORG}")))
        .basic_auth(PROJECT, Some(SECRET))
        .send()
        .await
        .expect_err("connection dropped without a response");
    assert!(!err.is_status() && !err.is_timeout(), "{err:?}");
    assert!(env.list().await.is_empty(), "dropped create did not run");
    assert_eq!(admin.requests().iter().filter(|e| e.status == 0).count(), 1);
    // The server keeps serving.
    env.create(json!({})).await;

    // A reset in the middle of the response: the create took effect, the client got the
    // status and headers, and the body breaks off.
    admin.add_fault(FaultRule {
        path: "/v1/b2b/sso/saml/".into(),
        method: Some("POST".into()),
        reset_mid_response: true,
        times: Some(1),
        ..FaultRule::default()
    });
    let resp = env
        .http
        .post(env.url(&format!("/v1/b2b/sso/saml/{ORG}")))
        .basic_auth(PROJECT, Some(SECRET))
        .json(&json!({"display_name": "cut off"}))
        .send()
        .await
        .expect("status line and headers arrive");
    assert_eq!(resp.status(), StatusCode::OK);
    let announced = resp.content_length().expect("Content-Length");
    let err = resp.bytes().await.expect_err("the body breaks off");
    assert!(!err.is_timeout(), "{err:?}");
    assert!(announced > 0);
    let live = env.list().await;
    assert_eq!(live.len(), 2, "the cut-off create took effect");
    let cut: Vec<_> = admin
        .requests()
        .into_iter()
        .filter(|e| e.endpoint == "create_connection" && e.fault_rule.is_some())
        .map(|e| e.status)
        .collect();
    assert_eq!(
        cut,
        vec![0, 200],
        "logged with the status it was answered with"
    );
    env.create(json!({})).await;
}

#[tokio::test]
async fn probabilistic_faults_are_deterministic_per_seed() {
    async fn pattern(seed_value: u64) -> Vec<u16> {
        let mut config = sandbox::stytch::StytchConfig::with_seed(seed());
        config.fault_rng_seed = seed_value;
        let env = start_with(config).await;
        let resp = env
            .http
            .post(env.url("/__sandbox/faults"))
            .json(&json!({"path": "/v1/", "status": 500, "probability": 0.5}))
            .send()
            .await
            .expect("sent");
        let rule: Value = resp.json().await.expect("json");
        assert!(rule["id"].as_str().is_some_and(|s| !s.is_empty()));
        let mut out = Vec::new();
        for _ in 0..24 {
            out.push(
                env.call(Method::GET, &format!("/v1/b2b/sso/{ORG}"), None)
                    .await
                    .0
                    .as_u16(),
            );
        }
        out
    }
    let a = pattern(42).await;
    assert_eq!(a, pattern(42).await);
    let failures = a.iter().filter(|s| **s == 500).count();
    assert!((3..=21).contains(&failures), "{a:?}");
    assert!(a.iter().all(|s| *s == 200 || *s == 500));
}

#[tokio::test]
async fn fault_rules_can_be_listed_and_cleared_over_http() {
    let env = start().await;
    for path in ["/v1/a", "/v1/b"] {
        env.http
            .post(env.url("/__sandbox/faults"))
            .json(&json!({"path": path, "status": 500}))
            .send()
            .await
            .expect("sent");
    }
    let list: Vec<FaultRule> = env
        .http
        .get(env.url("/__sandbox/faults"))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    assert_eq!(list.len(), 2);
    let resp = env
        .http
        .delete(env.url(&format!("/__sandbox/faults/{}", list[0].id)))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    assert_eq!(env.sandbox.admin().faults().len(), 1);
    env.http
        .delete(env.url("/__sandbox/faults"))
        .send()
        .await
        .expect("sent");
    assert!(env.sandbox.admin().faults().is_empty());
}

#[tokio::test]
async fn seed_over_http_with_connections_and_reset() {
    let env = start().await;
    let (pem, _) = cert("Seeded IdP", 2020, 2030);
    let seed_json = json!({
        "projects": [{
            "project_id": "project-test-seeded",
            "secret": "s3",
            "organizations": [{
                "organization_id": "organization-test-seeded",
                "organization_slug": "seeded",
                "saml_connections": [{
                    "connection_id": "saml-connection-test-seeded",
                    "idp_entity_id": "https://idp.example.com",
                    "idp_sso_url": "https://idp.example.com/sso",
                    "attribute_mapping": {"email": "e", "full_name": "n"},
                    "verification_certificates": [{"certificate": pem}]
                }]
            }]
        }]
    });
    let resp = env
        .http
        .post(env.url("/__sandbox/seed"))
        .json(&seed_json)
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::OK);
    let (s, _) = env
        .call(Method::GET, &format!("/v1/b2b/sso/{ORG}"), None)
        .await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "seed replaced the old projects"
    );
    let (s, body) = env
        .call_as(
            "project-test-seeded",
            "s3",
            Method::GET,
            "/v1/b2b/sso/seeded",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let c = &body["saml_connections"][0];
    assert_eq!(c["status"], "active");
    assert_eq!(c["organization_id"], "organization-test-seeded");
    assert_eq!(c["verification_certificates"][0]["issuer"], "Seeded IdP");
    assert_eq!(
        c["verification_certificates"][0]["expires_at"],
        "2030-01-01T00:00:00Z"
    );
    assert!(
        c["acs_url"]
            .as_str()
            .is_some_and(|u| u.ends_with("/v1/b2b/sso/callback/saml-connection-test-seeded"))
    );
    // Bad seeds are refused and change nothing.
    let resp = env
        .http
        .post(env.url("/__sandbox/seed"))
        .json(&json!({"projects": [{"project_id": ""}]}))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    // Reset restores the start-up seed.
    let resp = env
        .http
        .post(env.url("/__sandbox/reset"))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(env.list().await.is_empty());
    assert_eq!(env.sandbox.admin().requests().len(), 1);
}

#[tokio::test]
async fn out_of_band_edits_bypass_validation_and_are_not_logged() {
    let env = start().await;
    let admin = env.sandbox.admin();
    let cid = env.create(json!({"display_name": "orig"})).await["connection_id"]
        .as_str()
        .expect("id")
        .to_owned();
    admin.clear_requests();
    // Raw edit: accepted although http:// would be refused by the API.
    let edited = admin
        .edit_connection(PROJECT, SLUG, &cid, json!({"idp_sso_url": "http://drift.example.com", "display_name": "drifted", "connection_id": "ignored"}))
        .expect("edit");
    assert_eq!(edited.idp_sso_url, "http://drift.example.com");
    assert_eq!(edited.connection_id, cid);
    // A certificate added "in the dashboard" gets an id, issuer and dates.
    let (pem, _) = cert("Dashboard IdP", 2020, 2030);
    let edited = admin
        .edit_connection(
            PROJECT,
            ORG,
            &cid,
            json!({"verification_certificates": [{"certificate": pem}]}),
        )
        .expect("edit");
    let added = &edited.verification_certificates[0];
    assert!(
        added
            .certificate_id
            .starts_with("saml-verification-key-test-")
    );
    assert_eq!(added.issuer, "Dashboard IdP");
    assert_eq!(added.expires_at.as_deref(), Some("2030-01-01T00:00:00Z"));
    assert_eq!(
        edited.status, "pending",
        "raw edits do not recompute status"
    );
    let listed = env.list().await;
    assert_eq!(listed[0]["display_name"], "drifted");
    // Validated edit over HTTP.
    let resp = env
        .http
        .patch(env.url(&format!(
            "/__sandbox/projects/{PROJECT}/organizations/{ORG}/connections/{cid}?validate=true"
        )))
        .json(&json!({"idp_sso_url": "http://still-bad"}))
        .send()
        .await
        .expect("sent");
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let resp = env
        .http
        .patch(env.url(&format!(
            "/__sandbox/projects/{PROJECT}/organizations/{ORG}/connections/{cid}"
        )))
        .json(&json!({"display_name": "dashboard"}))
        .send()
        .await
        .expect("sent");
    let c: SamlConnection = resp.json().await.expect("json");
    assert_eq!(c.display_name, "dashboard");
    assert_eq!(
        admin.connection(PROJECT, ORG, &cid).map(|c| c.display_name),
        Some("dashboard".into())
    );
    assert_eq!(admin.requests().len(), 1, "only the list call was logged");
    // Seed via the Rust API too.
    let mut s: Seed = seed();
    s.projects.truncate(1);
    admin.seed(s).expect("seed");
    assert!(admin.connections(PROJECT, ORG).expect("org").is_empty());
}
