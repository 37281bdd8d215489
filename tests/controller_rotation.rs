//! Rotation scenarios end to end (issue #5): IdP certificates with overlap, the 5-certificate
//! limit, and Secret-held material (signing key, IdP certificate) rotated without a spec change.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, Patch, PatchParams, PostParams};
use serde_json::json;
use support::*;

const T: Duration = Duration::from_secs(25);

/// The base64 body of a PEM, without armour or whitespace: comparable across line wrapping.
fn body(pem: &str) -> String {
    pem.lines()
        .filter(|l| !l.starts_with("-----"))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect()
}

fn live_bodies(env: &Env) -> BTreeSet<String> {
    env.connections()[0]
        .verification_certificates
        .iter()
        .map(|c| body(&c.certificate))
        .collect()
}

fn bodies(pems: &[String]) -> BTreeSet<String> {
    pems.iter().map(|p| body(p)).collect()
}

fn cert_list(pems: &[String]) -> serde_json::Value {
    json!(pems.iter().map(|p| json!({"pem": p})).collect::<Vec<_>>())
}

/// Patches `spec.idp.certificates` and waits until the change is observed and in sync.
async fn set_certificates(env: &Env, name: &str, pems: &[String]) {
    let generation = env.api.get(name).await.unwrap().metadata.generation;
    env.patch_spec(name, json!({"idp": {"certificates": cert_list(pems)}}))
        .await;
    env.wait_for(name, "certificates in sync", T, |o| {
        o.status.as_ref().and_then(|s| s.observed_generation) > generation && is(o, "Ready", "True")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idp_certificates_rotate_with_overlap() {
    let mut env = Env::new().await;
    env.start_operator(&[]);
    let (old, new) = (cert("old"), cert("new"));
    env.apply("acme", full_spec(&[&old])).await;
    env.wait_for("acme", "Ready", T, |o| is(o, "Ready", "True"))
        .await;
    env.stytch.admin().clear_requests();

    set_certificates(&env, "acme", &[old.clone(), new.clone()]).await;
    assert_eq!(env.writes(), vec!["update_connection"], "one upload");
    assert_eq!(live_bodies(&env), bodies(&[old.clone(), new.clone()]));
    let obj = env.api.get("acme").await.unwrap();
    assert_eq!(obj.status.unwrap().verification_certificates.len(), 2);

    env.stytch.admin().clear_requests();
    set_certificates(&env, "acme", std::slice::from_ref(&new)).await;
    assert_eq!(env.writes(), vec!["delete_verification_certificate"]);
    assert_eq!(live_bodies(&env), bodies(std::slice::from_ref(&new)));
    let obj = env.api.get("acme").await.unwrap();
    assert!(is(&obj, "Ready", "True"));
    assert_eq!(obj.status.unwrap().verification_certificates.len(), 1);
    env.stop_operator().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replacing_five_certificates_never_exceeds_the_limit() {
    let mut env = Env::new().await;
    env.start_operator(&[]);
    let first: Vec<String> = (0..5).map(|i| cert(&format!("first{i}"))).collect();
    let second: Vec<String> = (0..5).map(|i| cert(&format!("second{i}"))).collect();
    let refs: Vec<&str> = first.iter().map(String::as_str).collect();
    env.apply("acme", full_spec(&refs)).await;
    env.wait_for("acme", "Ready", T, |o| is(o, "Ready", "True"))
        .await;
    assert_eq!(live_bodies(&env), bodies(&first));
    assert!(
        env.requests().iter().all(|r| r.status == 200),
        "{:?}",
        env.requests()
    );
    env.stytch.admin().clear_requests();

    set_certificates(&env, "acme", &second).await;
    assert_eq!(live_bodies(&env), bodies(&second));
    let log = env.requests();
    let bad: Vec<_> = log.iter().filter(|r| r.status != 200).collect();
    assert!(bad.is_empty(), "refused requests: {bad:?}");
    // Replay the writes: each update uploads one certificate, each delete removes one.
    let (mut count, mut peak) = (5i32, 5i32);
    for r in log.iter().filter(|r| r.write) {
        match r.endpoint.as_str() {
            "update_connection" => count += 1,
            "delete_verification_certificate" => count -= 1,
            other => panic!("unexpected write {other}"),
        }
        peak = peak.max(count);
        assert!(count >= 1, "the last certificate was deleted");
    }
    let writes = env.writes();
    println!("5→5 replacement: {} writes, peak {peak}", writes.len());
    assert!(peak <= 5, "live count reached {peak}");
    assert_eq!(count, 5);
    assert_eq!(writes.len(), 10, "5 uploads and 5 deletes: {writes:?}");
    env.stop_operator().await;
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

async fn put_secret(env: &Env, name: &str, key: &str, value: &str) {
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), NS);
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": name}, "stringData": {key: value},
    }))
    .unwrap();
    secrets
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
}

async fn rotate_secret(env: &Env, name: &str, key: &str, value: &str) {
    use base64::Engine;
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), NS);
    let encoded = base64::engine::general_purpose::STANDARD.encode(value);
    secrets
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(json!({"data": {key: encoded}})),
        )
        .await
        .unwrap();
}

fn signing_pem(obj: &stytch_saml_operator::api::SamlConnection) -> Option<String> {
    let status = obj.status.as_ref()?;
    match status.signing_certificates.as_slice() {
        [one] => one.pem.clone(),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_the_signing_key_secret_updates_without_a_spec_change() {
    let mut env = Env::new().await;
    env.start_operator(&[]);
    put_secret(&env, "saml-signing", "tls.key", &fixture("rsa-pkcs1-a.pem")).await;
    let mut spec = full_spec(&[&cert("idp")]);
    spec["signingPrivateKeyRef"] = json!({"name": "saml-signing", "key": "tls.key"});
    env.apply("acme", spec).await;
    let obj = env
        .wait_for("acme", "Ready with a signing certificate", T, |o| {
            is(o, "Ready", "True") && signing_pem(o).is_some()
        })
        .await;
    let first = signing_pem(&obj).unwrap();
    let generation = obj.metadata.generation;
    assert_eq!(
        env.connections()[0].signing_certificates.len(),
        1,
        "Stytch derived one signing certificate"
    );
    env.stytch.admin().clear_requests();

    rotate_secret(&env, "saml-signing", "tls.key", &fixture("rsa-pkcs1-b.pem")).await;
    let obj = env
        .wait_for("acme", "new signing certificate", T, |o| {
            is(o, "Ready", "True") && signing_pem(o).is_some_and(|p| p != first)
        })
        .await;
    assert_eq!(obj.metadata.generation, generation, "no spec change");
    assert_eq!(env.writes(), vec!["update_connection"]);
    let live = &env.connections()[0].signing_certificates;
    assert_eq!(live.len(), 1);
    assert_eq!(
        body(&live[0].certificate),
        body(&signing_pem(&obj).unwrap())
    );
    env.stop_operator().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotating_an_idp_certificate_secret_uploads_the_new_certificate() {
    let mut env = Env::new().await;
    env.start_operator(&[]);
    let (old, new) = (cert("old"), cert("new"));
    put_secret(&env, "idp-cert", "cert.pem", &old).await;
    let mut spec = full_spec(&[]);
    spec["idp"]["certificates"] =
        json!([{"secretKeyRef": {"name": "idp-cert", "key": "cert.pem"}}]);
    env.apply("acme", spec).await;
    env.wait_for("acme", "Ready", T, |o| is(o, "Ready", "True"))
        .await;
    assert_eq!(live_bodies(&env), bodies(std::slice::from_ref(&old)));
    env.stytch.admin().clear_requests();

    rotate_secret(&env, "idp-cert", "cert.pem", &new).await;
    let new_body = body(&new);
    let deadline = tokio::time::Instant::now() + T;
    while live_bodies(&env) != BTreeSet::from([new_body.clone()]) {
        assert!(tokio::time::Instant::now() < deadline, "not rotated");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    env.wait_for("acme", "Ready", T, |o| {
        is(o, "Ready", "True")
            && o.status
                .as_ref()
                .is_some_and(|s| s.verification_certificates.len() == 1)
    })
    .await;
    assert_eq!(
        env.writes(),
        vec!["update_connection", "delete_verification_certificate"],
        "upload the new certificate, then delete the old one"
    );
    env.stop_operator().await;
}
