//! Fault scenarios end to end (issue #5): Stytch 429/5xx bursts and Kubernetes watch
//! disruptions converge without duplicate writes; bad inputs stall with their reason, no Stytch
//! write and no retry storm; no secret value ever shows in Events, status or /metrics.

#[path = "support/probe.rs"]
mod probe;
mod support;

use std::time::Duration;

use kube::api::{Api, PostParams};
use probe::*;
use sandbox::stytch::FaultRule;
use serde_json::json;
use support::*;

const T: Duration = Duration::from_secs(30);
const CONNECTIONS: &str =
    "/apis/sso.stytch-operator.dev/v1alpha1/namespaces/default/samlconnections";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stytch_errors_and_watch_disruptions_converge_without_duplicate_writes() {
    let mut env = Env::new().await;
    let admin = env.stytch.admin();
    let rule = |method: Option<&str>, status: u16, times: u32| FaultRule {
        path: "/v1/b2b/sso".into(),
        method: method.map(Into::into),
        status: Some(status),
        times: Some(times),
        ..Default::default()
    };
    admin.add_fault(rule(None, 429, 6));
    admin.add_fault(rule(Some("POST"), 503, 2));
    admin.add_fault(rule(Some("PUT"), 500, 2));
    admin.add_fault(rule(Some("GET"), 502, 2));
    let faults = env.kube.faults();
    faults.fail_next_method(3, "PATCH", CONNECTIONS, 500);
    faults.gone_next_watch();
    env.start_operator(&[]);
    let names = ["alpha", "beta", "gamma"];
    for (i, name) in names.iter().enumerate() {
        let mut spec = full_spec(&[&cert(name)]);
        spec["displayName"] = json!(format!("Connection {name}"));
        env.apply(name, spec).await;
        if i == 1 {
            env.kube.faults().close_watches();
        }
    }
    for name in names {
        env.wait_for(name, "Ready despite faults", T, |o| is(o, "Ready", "True"))
            .await;
    }
    let log = env.requests();
    let counters = admin.counters();
    println!(
        "faults phase: {} Stytch requests, by endpoint {:?}, by status {:?}",
        counters.total, counters.by_endpoint, counters.by_status
    );
    let created = log
        .iter()
        .filter(|r| r.endpoint == "create_connection" && r.status == 200)
        .count();
    assert_eq!(created, 3, "one create per resource");
    let live = env.connections();
    assert_eq!(live.len(), 3);
    for name in names {
        assert_eq!(
            live.iter()
                .filter(|c| c.display_name == format!("Connection {name}"))
                .count(),
            1
        );
    }
    assert!(admin.faults().is_empty(), "every fault fired");
    assert!(
        counters.total <= 80,
        "too many requests: {}",
        counters.total
    );

    // A forced 410 and dropped watches, then a change: picked up once, written once.
    admin.clear_requests();
    env.kube.faults().gone_next_watch();
    env.kube.faults().simulate_restart();
    let generation = env.api.get("beta").await.unwrap().metadata.generation;
    env.patch_spec("beta", json!({"displayName": "Beta renamed"}))
        .await;
    env.wait_for("beta", "renamed", T, |o| {
        o.status.as_ref().and_then(|s| s.observed_generation) > generation && is(o, "Ready", "True")
    })
    .await;
    let counters = admin.counters();
    println!(
        "after 410/restart: {} Stytch requests, by endpoint {:?}",
        counters.total, counters.by_endpoint
    );
    assert_eq!(env.writes(), vec!["update_connection"]);
    assert!(counters.total <= 20, "{counters:?}");
    env.stop_operator().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_inputs_stall_with_their_reason_and_are_not_retried_in_a_loop() {
    let env = Env::new().await;
    put_secret(
        &env,
        "keys",
        json!({"pkcs8": fixture("rsa-pkcs8.pem"), "pkcs1": fixture("rsa-pkcs1-a.pem")}),
    )
    .await;
    let operator = ProbedOperator::start(&env, &[]).await;
    let bad_pem = "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n";
    env.apply("bad-pem", full_spec(&[bad_pem])).await;
    let mut pkcs8 = full_spec(&[&cert("idp")]);
    pkcs8["signingPrivateKeyRef"] = json!({"name": "keys", "key": "pkcs8"});
    env.apply("pkcs8", pkcs8).await;
    let mut missing = full_spec(&[&cert("idp")]);
    missing["signingPrivateKeyRef"] = json!({"name": "keys", "key": "absent"});
    env.apply("missing-key", missing).await;

    // An http SSO URL never gets past admission.
    let mut http = full_spec(&[&cert("idp")]);
    http["idp"]["ssoUrl"] = json!("http://acme.okta.com/app/sso/saml");
    let obj: stytch_saml_operator::api::SamlConnection = serde_json::from_value(json!({
        "apiVersion": "sso.stytch-operator.dev/v1alpha1", "kind": "SamlConnection",
        "metadata": {"name": "http-sso"}, "spec": http,
    }))
    .unwrap();
    match env.api.create(&PostParams::default(), &obj).await {
        Err(kube::Error::Api(status)) => assert_eq!(status.code, 422, "{status:?}"),
        other => panic!("http SSO URL admitted: {other:?}"),
    }

    let cases = [
        ("bad-pem", "InvalidX509Certificate"),
        ("pkcs8", "SigningPrivateKeyFormatNotSupported"),
        ("missing-key", "SecretKeyNotFound"),
    ];
    for (name, expected) in cases {
        let obj = env
            .wait_for(name, expected, T, |o| is(o, "Stalled", "True"))
            .await;
        assert_eq!(reason(&obj, "Stalled").as_deref(), Some(expected), "{name}");
        assert_eq!(reason(&obj, "Ready").as_deref(), Some(expected), "{name}");
        let message = condition(&obj, "Ready").unwrap().2;
        assert!(message.contains("spec."), "{name}: {message}");
    }
    let before = operator.metrics().await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = operator.metrics().await;
    for (name, expected) in cases {
        let label = format!("reason=\"{expected}\"");
        let (b, a) = (reconciles(&before, &label), reconciles(&after, &label));
        println!(
            "{name}: {b} reconciles until stalled, {} in the next 5 s",
            a - b
        );
        assert!(
            (1..=5).contains(&b),
            "{name}: {b} reconciles before stalling"
        );
        assert!(a - b <= 1, "{name} retried {} times in 5 s", a - b);
    }
    assert!(
        env.requests().is_empty(),
        "no Stytch call for invalid input: {:?}",
        env.requests()
    );
    let events: Api<k8s_openapi::api::events::v1::Event> = Api::namespaced(env.client.clone(), NS);
    let events = events.list(&Default::default()).await.unwrap().items;
    for (name, expected) in cases {
        let n = events
            .iter()
            .filter(|e| e.reason.as_deref() == Some(expected))
            .filter(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
            .count();
        assert_eq!(n, 1, "{name}: one {expected} Warning");
    }
    operator.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secret_values_never_appear_in_events_status_or_metrics() {
    let env = Env::new().await;
    let (key_a, key_b) = (fixture("rsa-pkcs1-a.pem"), fixture("rsa-pkcs1-b.pem"));
    put_secret(&env, "keys", json!({"signing": key_a, "encryption": key_b})).await;
    put_secret(
        &env,
        "wrong-credentials",
        json!({"project_id": PROJECT, "secret": "secret-test-Wrong-Pw9", "base_url": env.stytch.base_url()}),
    )
    .await;
    let operator = ProbedOperator::start(&env, &["--resync-interval", "1s"]).await;
    let mut spec = full_spec(&[&cert("idp")]);
    spec["signingPrivateKeyRef"] = json!({"name": "keys", "key": "signing"});
    spec["encryptionPrivateKeyRef"] = json!({"name": "keys", "key": "encryption"});
    env.apply("acme", spec).await;
    let mut wrong = full_spec(&[&cert("idp2")]);
    wrong["credentialsRef"] = json!({"name": "wrong-credentials"});
    env.apply("wrong", wrong).await;
    let mut statuses = Vec::new();
    let obj = env
        .wait_for("acme", "Ready", T, |o| is(o, "Ready", "True"))
        .await;
    statuses.push(serde_json::to_string(&obj).unwrap());
    let live = &env.connections()[0];
    assert_eq!(live.encryption_private_keys.len(), 1, "the key is live");
    let obj = env
        .wait_for("wrong", "InvalidCredentials", T, |o| {
            reason(o, "Ready").as_deref() == Some("InvalidCredentials")
        })
        .await;
    statuses.push(serde_json::to_string(&obj).unwrap());
    env.patch_spec("acme", json!({"displayName": "Acme renamed"}))
        .await;
    let obj = env
        .wait_for("acme", "renamed", T, |o| {
            is(o, "Ready", "True")
                && o.status.as_ref().and_then(|s| s.observed_generation) == Some(2)
        })
        .await;
    statuses.push(serde_json::to_string(&obj).unwrap());
    tokio::time::sleep(Duration::from_secs(2)).await;
    for o in env.api.list(&Default::default()).await.unwrap() {
        statuses.push(serde_json::to_string(&o).unwrap());
    }
    env.api.delete("acme", &Default::default()).await.unwrap();
    env.wait_gone("acme", T).await;
    let metrics = operator.metrics().await;

    let new_events: Api<k8s_openapi::api::events::v1::Event> =
        Api::namespaced(env.client.clone(), NS);
    let new_events = new_events.list(&Default::default()).await.unwrap().items;
    let core_events: Api<k8s_openapi::api::core::v1::Event> =
        Api::namespaced(env.client.clone(), NS);
    let core_events = core_events.list(&Default::default()).await.unwrap().items;
    assert!(!new_events.is_empty(), "the lifecycle produced Events");
    let mut haystacks: Vec<(String, String)> = Vec::new();
    for e in &new_events {
        haystacks.push(("events.k8s.io/v1".into(), serde_json::to_string(e).unwrap()));
    }
    for e in &core_events {
        haystacks.push(("core/v1 Event".into(), serde_json::to_string(e).unwrap()));
    }
    for s in statuses {
        haystacks.push(("SamlConnection".into(), s));
    }
    haystacks.push(("/metrics".into(), metrics));
    let pem_line = |pem: &str| pem.lines().nth(3).unwrap().to_owned();
    let needles = [
        SECRET.to_owned(),
        "secret-test-Wrong-Pw9".to_owned(),
        pem_line(&key_a),
        pem_line(&key_b),
    ];
    println!(
        "scanned {} events.k8s.io/v1 Events, {} core/v1 Events, statuses and /metrics",
        new_events.len(),
        core_events.len()
    );
    for (what, text) in &haystacks {
        for needle in &needles {
            assert!(
                !text.contains(needle.as_str()),
                "{what} contains a secret value: {text}"
            );
        }
        assert!(
            !text.contains("PRIVATE KEY"),
            "{what} contains a private key"
        );
    }
    operator.stop().await;
}
