//! Secret hygiene (issue #8): the real binary at debug level, once with text and once with JSON
//! logs, through a whole lifecycle with distinctive secret values — create with a signing and an
//! encryption key, update, signing key rotation, a 401 from a wrong project secret, validation
//! errors about a key Secret (a PKCS#8 key, a garbage key), delete. Then stdout+stderr, every
//! Event, every SamlConnection (`kubectl get -o yaml` after each step), `kubectl describe` and
//! `/metrics` are scanned for the secrets, their base64 forms and every line of the key bodies:
//! 0 occurrences. The Secrets themselves are scanned too, as a control that the needles match.

#[path = "support/probe.rs"]
mod probe;
mod support;

use std::process::Stdio;
use std::time::Duration;

use base64::Engine;
use probe::*;
use serde_json::json;
use support::*;
use tokio::io::AsyncReadExt;

const T: Duration = Duration::from_secs(60);
const WRONG_SECRET: &str = "secret-test-HygieneWrong-Qx7Lm2PzR4";
/// Looks like key material, is not: the garbage key must not be echoed in errors either.
const JUNK_KEY_BODY: &str = "HygieneJunkKeyQ9w8e7r6t5y4u3i2o1p0ZxCvBnMlKjHgFdSa";

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// Every form in which a secret could leak: the value, its base64 (as in a Secret's `data`),
/// and for PEM keys every body line and 40-character pieces of the base64 of the whole PEM.
fn needles() -> Vec<(String, String)> {
    let mut out = vec![
        ("project secret".to_owned(), SECRET.to_owned()),
        ("project secret, base64".to_owned(), b64(SECRET)),
        ("wrong project secret".to_owned(), WRONG_SECRET.to_owned()),
        ("wrong project secret, base64".to_owned(), b64(WRONG_SECRET)),
        ("garbage key body".to_owned(), JUNK_KEY_BODY.to_owned()),
    ];
    for file in ["rsa-pkcs1-a.pem", "rsa-pkcs1-b.pem", "rsa-pkcs8.pem"] {
        let pem = fixture(file);
        for (i, line) in pem.lines().filter(|l| !l.starts_with("-----")).enumerate() {
            out.push((format!("{file} body line {i}"), line.to_owned()));
        }
        let encoded = b64(&pem);
        // Skip the first 60 characters: the base64 of the shared `-----BEGIN ...` header.
        for (i, start) in (60..encoded.len().saturating_sub(40))
            .step_by(40)
            .enumerate()
        {
            out.push((
                format!("{file} base64 piece {i}"),
                encoded[start..start + 40].to_owned(),
            ));
        }
    }
    out
}

/// Runs the binary; its stdout+stderr are collected until it is killed.
struct Binary {
    child: tokio::process::Child,
    output: tokio::task::JoinHandle<Vec<u8>>,
    port: u16,
}

impl Binary {
    fn start(env: &Env, log_format: &str) -> Self {
        let port = free_port();
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_stytch-saml-operator"))
            .args(["run", "--log-format", log_format, "--resync-interval", "2s"])
            .args(["--metrics-addr", &format!("127.0.0.1:{port}")])
            .arg("--kubeconfig")
            .arg(&env.operator_kubeconfig)
            .env("RUST_LOG", "debug")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let (mut stdout, mut stderr) = (child.stdout.take().unwrap(), child.stderr.take().unwrap());
        let output = tokio::spawn(async move {
            let (mut out, mut err) = (Vec::new(), Vec::new());
            let _ = tokio::join!(stdout.read_to_end(&mut out), stderr.read_to_end(&mut err));
            out.extend(err);
            out
        });
        Self {
            child,
            output,
            port,
        }
    }

    async fn stop(mut self) -> String {
        self.child.kill().await.unwrap();
        let bytes = self.output.await.unwrap();
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

async fn yaml_of_connections(env: &Env) -> String {
    let (ok, text) = kubectl(env, &["get", "samlconnections", "-o", "yaml"]).await;
    assert!(ok, "{text}");
    text
}

/// The lifecycle; returns what was scanned, by source.
async fn lifecycle(log_format: &str) -> Vec<(String, String)> {
    let env = Env::new().await;
    let (key_a, key_b) = (fixture("rsa-pkcs1-a.pem"), fixture("rsa-pkcs1-b.pem"));
    let junk = format!(
        "-----BEGIN RSA PRIVATE KEY-----\n{JUNK_KEY_BODY}\n-----END RSA PRIVATE KEY-----\n"
    );
    put_secret_in(
        &env,
        NS,
        "keys",
        json!({"signing": key_a, "encryption": key_b}),
    )
    .await;
    put_secret_in(
        &env,
        NS,
        "bad-keys",
        json!({"pkcs8": fixture("rsa-pkcs8.pem"), "junk": junk}),
    )
    .await;
    put_secret_in(
        &env,
        NS,
        "wrong-credentials",
        json!({"project_id": PROJECT, "secret": WRONG_SECRET, "base_url": env.stytch.base_url()}),
    )
    .await;
    let binary = Binary::start(&env, log_format);
    let mut scanned: Vec<(String, String)> = Vec::new();

    // Create with both keys.
    let mut spec = full_spec(&[&cert("idp")]);
    spec["signingPrivateKeyRef"] = json!({"name": "keys", "key": "signing"});
    spec["encryptionPrivateKeyRef"] = json!({"name": "keys", "key": "encryption"});
    env.apply("acme", spec).await;
    env.wait_for("acme", "Ready", T, |o| is(o, "Ready", "True"))
        .await;
    let live = &env.connections()[0];
    assert_eq!(
        live.encryption_private_keys.len(),
        1,
        "the encryption key is live"
    );
    scanned.push((
        "kubectl get -o yaml (created)".into(),
        yaml_of_connections(&env).await,
    ));

    // Update.
    env.patch_spec("acme", json!({"displayName": "Acme renamed"}))
        .await;
    env.wait_for("acme", "renamed", T, |o| {
        is(o, "Ready", "True") && o.status.as_ref().and_then(|s| s.observed_generation) == Some(2)
    })
    .await;
    scanned.push((
        "kubectl get -o yaml (updated)".into(),
        yaml_of_connections(&env).await,
    ));

    // Signing key rotation: the Secret changes, the spec does not.
    let before = env.connections()[0].signing_certificates.clone();
    let (ok, text) = kubectl(
        &env,
        &[
            "patch",
            "secret",
            "keys",
            "--type",
            "merge",
            "-p",
            &json!({"stringData": {"signing": fixture("rsa-pkcs1-b.pem")}}).to_string(),
        ],
    )
    .await;
    assert!(ok, "{text}");
    let deadline = tokio::time::Instant::now() + T;
    while env.connections()[0].signing_certificates == before {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the signing key was not rotated"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    env.wait_for("acme", "Ready after rotation", T, |o| {
        is(o, "Ready", "True")
    })
    .await;
    scanned.push((
        "kubectl get -o yaml (rotated)".into(),
        yaml_of_connections(&env).await,
    ));

    // A 401, and validation errors about a key Secret.
    let mut wrong = full_spec(&[&cert("idp2")]);
    wrong["displayName"] = json!("Wrong credentials");
    wrong["credentialsRef"] = json!({"name": "wrong-credentials"});
    env.apply("wrong", wrong).await;
    for (name, key, expected) in [
        ("pkcs8", "pkcs8", "SigningPrivateKeyFormatNotSupported"),
        ("junk", "junk", "SigningPrivateKeyInvalid"),
    ] {
        let mut spec = full_spec(&[&cert(name)]);
        spec["displayName"] = json!(format!("Bad key {name}"));
        spec["signingPrivateKeyRef"] = json!({"name": "bad-keys", "key": key});
        env.apply(name, spec).await;
        env.wait_for(name, expected, T, |o| {
            reason(o, "Ready").as_deref() == Some(expected)
        })
        .await;
    }
    env.wait_for("wrong", "InvalidCredentials", T, |o| {
        reason(o, "Ready").as_deref() == Some("InvalidCredentials")
    })
    .await;
    // A few resyncs at debug level.
    tokio::time::sleep(Duration::from_secs(5)).await;
    scanned.push((
        "kubectl get -o yaml (errors)".into(),
        yaml_of_connections(&env).await,
    ));
    let (_, describe) = kubectl(&env, &["describe", "samlconnections"]).await;
    scanned.push(("kubectl describe".into(), describe));
    let (_, metrics) = http_get(binary.port, "/metrics").await;
    assert!(metrics.contains("stytch_saml_operator_reconciles_total"));
    scanned.push(("/metrics".into(), metrics));

    // Delete everything.
    for name in ["acme", "wrong", "pkcs8", "junk"] {
        env.api.delete(name, &Default::default()).await.unwrap();
    }
    for name in ["acme", "wrong", "pkcs8", "junk"] {
        env.wait_gone(name, T).await;
    }
    assert!(env.connections().is_empty(), "the connection was deleted");
    let (_, events) = kubectl(&env, &["get", "events", "-o", "yaml"]).await;
    let (_, new_events) = kubectl(&env, &["get", "events.events.k8s.io", "-o", "yaml"]).await;
    assert!(
        events.contains("SigningPrivateKeyInvalid"),
        "the Events were captured"
    );
    scanned.push(("Events (core/v1)".into(), events));
    scanned.push(("Events (events.k8s.io/v1)".into(), new_events));
    let logs = binary.stop().await;
    let debug = if log_format == "json" {
        "\"level\":\"DEBUG\""
    } else {
        "DEBUG" // text logs may carry ANSI colour codes around the level
    };
    let debug_lines = logs.lines().filter(|l| l.contains(debug)).count();
    assert!(
        debug_lines > 10,
        "debug-level logs were captured: {debug_lines} lines"
    );
    println!("{log_format}: {debug_lines} DEBUG lines");
    assert!(logs.contains("InvalidCredentials"), "the 401 was logged");
    scanned.push((format!("stdout+stderr ({log_format} logs)"), logs));

    // Control: the needles do match where the secrets legitimately are.
    let (_, secrets) = kubectl(&env, &["get", "secrets", "-o", "yaml"]).await;
    let control = needles()
        .iter()
        .filter(|(what, n)| !what.starts_with("project secret") && secrets.contains(n.as_str()))
        .count();
    assert!(
        control > 40,
        "only {control} needles found in the Secrets themselves"
    );
    scanned
}

async fn scan(log_format: &str) {
    let scanned = lifecycle(log_format).await;
    let needles = needles();
    let (mut bytes, mut lines, mut hits) = (0, 0, Vec::new());
    for (source, text) in &scanned {
        bytes += text.len();
        lines += text.lines().count();
        for (what, needle) in &needles {
            let n = text.matches(needle.as_str()).count();
            if n > 0 {
                hits.push(format!("{source}: {n} × {what}"));
            }
        }
    }
    println!(
        "{log_format}: scanned {} sources, {bytes} bytes, {lines} lines for {} needles: {} occurrences",
        scanned.len(),
        needles.len(),
        hits.len()
    );
    for (source, text) in &scanned {
        println!(
            "  {source}: {} bytes, {} lines",
            text.len(),
            text.lines().count()
        );
    }
    assert!(
        hits.is_empty(),
        "secret material leaked:\n{}",
        hits.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_text_logs_events_statuses_or_metrics() {
    scan("text").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_json_logs_events_statuses_or_metrics() {
    scan("json").await;
}
