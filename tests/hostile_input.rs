//! Hostile and bad input end to end (issue #8): a table of cases (tests/support/hostile_cases.rs),
//! each refused by the real `kubectl apply` against the Kubernetes sandbox with a message naming
//! the field, or admitted and ending with its condition reason, or accepted and Ready. All
//! admitted cases run at once against one operator and one Stytch sandbox, among good resources.
//! For every case: zero Stytch writes, no retry loop, and the operator stays healthy.

#[path = "support/hostile_admission.rs"]
mod hostile_admission;
#[path = "support/hostile_cases.rs"]
mod hostile_cases;
#[path = "support/hostile_server.rs"]
mod hostile_server;
#[path = "support/probe.rs"]
mod probe;
mod support;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::time::Duration;

use hostile_admission::admission_cases;
use hostile_cases::*;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, PostParams};
use probe::*;
use serde_json::{Value, json};
use support::*;

const T: Duration = Duration::from_secs(90);
const QUIET: Duration = Duration::from_secs(8);
const GOOD: [&str; 3] = [GOOD_FIRST, "good-among", "good-last"];

fn manifest(name: &str, spec: &Value) -> Value {
    json!({
        "apiVersion": "sso.stytch-operator.dev/v1alpha1", "kind": "SamlConnection",
        "metadata": {"name": name, "namespace": NS}, "spec": spec,
    })
}

/// `kubectl <verb> -f` of one manifest written to `dir`.
async fn kubectl_file(
    env: &Env,
    verb: &str,
    dir: &std::path::Path,
    file: &str,
    obj: &Value,
) -> (bool, String) {
    let path = dir.join(format!("{file}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(obj).unwrap()).unwrap();
    kubectl(env, &[verb, "-f", &path.display().to_string()]).await
}

async fn apply_good(env: &Env, name: &str) {
    let mut spec = full_spec(&[&cert(name)]);
    spec["displayName"] = json!(format!("Good {name}"));
    env.apply(name, spec).await;
}

fn connection_id(obj: &stytch_saml_operator::api::SamlConnection) -> Option<String> {
    obj.status.as_ref()?.connection_id.clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_and_bad_inputs_are_refused_without_stytch_writes_or_retry_loops() {
    let server = hostile_server::start().await;
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("metadata-ca.pem");
    std::fs::write(&ca_file, &server.https.cert_pem).unwrap();
    let env = Env::new().await;
    let namespaces: Api<Namespace> = Api::all(env.client.clone());
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": OTHER_NS}})).unwrap();
    namespaces
        .create(&PostParams::default(), &ns)
        .await
        .unwrap();
    put_secret_in(&env, NS, "hostile-keys", key_secret_data()).await;
    put_secret_in(
        &env,
        OTHER_NS,
        "other-only",
        json!({"tls.crt": cert("other"), "pkcs1": fixture("rsa-pkcs1-b.pem"),
               "project_id": PROJECT, "secret": SECRET, "base_url": env.stytch.base_url()}),
    )
    .await;
    let ca = ca_file.display().to_string();
    let operator = ProbedOperator::start(
        &env,
        &[
            "--metadata-ca-file",
            &ca,
            "--metadata-allowed-hosts",
            "127.0.0.1",
        ],
    )
    .await;

    // A good resource first, then every admitted case at once, a good one among them, and a
    // good one after them.
    apply_good(&env, GOOD[0]).await;
    let runtime = runtime_cases(&server);
    for (i, case) in runtime.iter().enumerate() {
        env.apply(case.name, case.spec.clone()).await;
        if i == runtime.len() / 2 {
            apply_good(&env, GOOD[1]).await;
        }
    }
    apply_good(&env, GOOD[2]).await;

    // Admission: the real kubectl, one manifest per case.
    env.wait_for(GOOD_FIRST, "Ready", T, |o| is(o, "Ready", "True"))
        .await;
    let mut rows: Vec<(String, String, String)> = Vec::new();
    let admission = admission_cases();
    for case in &admission {
        let Expect::Admission(needle) = case.expect else {
            unreachable!()
        };
        let name = case.update_of.unwrap_or(case.name);
        let before = env.api.get_opt(name).await.unwrap().map(|o| o.spec);
        let (ok, output) = kubectl_file(
            &env,
            case.verb,
            dir.path(),
            case.name,
            &manifest(name, &case.spec),
        )
        .await;
        assert!(
            !ok,
            "{}: kubectl {} succeeded: {output}",
            case.name, case.verb
        );
        assert!(
            output.contains(needle),
            "{}: the refusal does not name `{needle}`: {output}",
            case.name
        );
        let after = env.api.get_opt(name).await.unwrap().map(|o| o.spec);
        assert_eq!(before, after, "{}: the stored object changed", case.name);
        let message = output.lines().last().unwrap_or_default().trim();
        let message: String = message.chars().take(110).collect();
        rows.push((
            case.name.into(),
            format!("admission ({})", case.verb),
            message,
        ));
    }

    // Runtime: each admitted case ends with its reason (or Ready).
    let mut reason_cases: BTreeMap<&str, u64> = BTreeMap::new();
    let key_lines: Vec<String> = [
        "rsa-pkcs1-a.pem",
        "rsa-pkcs1-b.pem",
        "rsa-pkcs8.pem",
        "ec.pem",
    ]
    .iter()
    .flat_map(|f| {
        fixture(f)
            .lines()
            .filter(|l| !l.starts_with("-----"))
            .map(|l| l[..l.len().min(40)].to_owned())
            .collect::<Vec<_>>()
    })
    .collect();
    for case in &runtime {
        match case.expect {
            Expect::Reason(expected) => {
                let obj = env
                    .wait_for(case.name, expected, T, |o| {
                        reason(o, "Ready").as_deref() == Some(expected)
                    })
                    .await;
                let (status, _, message) = condition(&obj, "Ready").unwrap();
                assert_eq!(status, "False", "{}", case.name);
                let stalled = is(&obj, "Stalled", "True");
                assert_eq!(stalled, !is_transient(expected), "{}: Stalled", case.name);
                assert!(
                    message.len() >= 15,
                    "{}: vague message {message:?}",
                    case.name
                );
                assert!(
                    !key_lines.iter().any(|l| message.contains(l.as_str())),
                    "{}: the message quotes key material: {message}",
                    case.name
                );
                *reason_cases.entry(expected).or_default() += 1;
                rows.push((case.name.into(), "condition".into(), expected.into()));
            }
            Expect::Ready => {
                env.wait_for(case.name, "Ready", T, |o| is(o, "Ready", "True"))
                    .await;
                rows.push((case.name.into(), "accepted".into(), "Ready".into()));
            }
            Expect::Admission(_) => unreachable!(),
        }
    }
    for name in GOOD {
        env.wait_for(name, "Ready among the bad ones", T, |o| {
            is(o, "Ready", "True")
        })
        .await;
    }

    // Bounded retries: once everything settled, no reason's reconcile count keeps growing.
    let before = operator.metrics().await;
    tokio::time::sleep(QUIET).await;
    let after = operator.metrics().await;
    let mut reconcile_counts: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    for (reason, cases) in &reason_cases {
        let label = format!("reason=\"{reason}\"");
        let (b, a) = (reconciles(&before, &label), reconciles(&after, &label));
        reconcile_counts.insert(reason, (b, a - b));
        let transient = is_transient(reason);
        // A permanent error is reconciled about once per cause (spec, Secret and watch events
        // of the start-up may each trigger one); a transient one backs off exponentially.
        assert!(b <= 6 * cases, "{reason}: {b} reconciles for {cases} cases");
        let allowed = if transient { 2 * cases } else { *cases };
        assert!(
            a - b <= allowed,
            "{reason}: {} more reconciles in {QUIET:?} for {cases} cases (retry loop)",
            a - b
        );
    }

    // Zero Stytch writes for every refused case: the only connections and writes belong to
    // resources that became Ready.
    let mut ready_ids = BTreeMap::new();
    for obj in env.api.list(&Default::default()).await.unwrap() {
        if is(&obj, "Ready", "True") {
            ready_ids.insert(
                obj.metadata.name.clone().unwrap(),
                connection_id(&obj).unwrap(),
            );
        }
    }
    let accepted = runtime.iter().filter(|c| c.expect == Expect::Ready).count();
    assert_eq!(ready_ids.len(), GOOD.len() + accepted, "{ready_ids:?}");
    let log = env.requests();
    let writes: Vec<_> = log.iter().filter(|r| r.write).collect();
    let creates = writes
        .iter()
        .filter(|r| r.endpoint == "create_connection")
        .count();
    assert_eq!(
        creates,
        ready_ids.len(),
        "one create per Ready resource, none for bad input: {writes:#?}, live {:#?}",
        env.connections()
    );
    for w in writes.iter().filter(|r| r.endpoint != "create_connection") {
        assert!(
            ready_ids.values().any(|id| w.path.contains(id.as_str())),
            "a write not for a Ready resource: {w:?}"
        );
    }
    let live = env.connections();
    assert_eq!(live.len(), ready_ids.len());
    assert!(
        live.iter()
            .all(|c| ready_ids.values().any(|id| *id == c.connection_id))
    );
    assert!(
        !log.iter()
            .any(|r| r.path.contains(UNKNOWN_CONNECTION) && r.write),
        "no write to the connection id that does not exist"
    );
    let unicode = live
        .iter()
        .find(|c| c.display_name.contains("日本語"))
        .expect("the unicode display name reached Stytch");
    assert_eq!(
        unicode.display_name,
        "Ünïcødé 日本語 ✓ — Okta (東京) \u{1F510}"
    );

    // Hostile servers got nowhere.
    assert_eq!(
        server.exfil_connections.load(Ordering::SeqCst),
        0,
        "an external entity was fetched"
    );
    assert_eq!(
        server.ok_requests.load(Ordering::SeqCst),
        0,
        "a refused URL or redirect was followed"
    );
    let huge_sent = server.huge_bytes_sent.load(Ordering::SeqCst);
    let huge_requests = server.huge_requests.load(Ordering::SeqCst);
    assert!(
        (2..=12).contains(&huge_requests),
        "{huge_requests} requests for the 50 MB bodies (at most one per reconcile)"
    );
    assert!(
        huge_sent < huge_requests * hostile_server::HUGE / 2,
        "the 50 MB bodies were read: {huge_sent} bytes sent in {huge_requests} requests"
    );

    // Still healthy, and still reconciling: a resource applied now becomes Ready.
    let (health, _) = operator.get("/healthz").await;
    let (ready, _) = operator.get("/readyz").await;
    assert_eq!((health, ready), (200, 200));
    apply_good(&env, "good-after-table").await;
    env.wait_for("good-after-table", "Ready after the table", T, |o| {
        is(o, "Ready", "True")
    })
    .await;

    println!(
        "\n{:<32} {:<20} {:<40} writes  reconciles(reason total: settle/+{QUIET:?})",
        "case", "layer", "outcome"
    );
    for (name, layer, outcome) in &rows {
        let per_reason = reconcile_counts
            .get(outcome.as_str())
            .map_or("-".to_owned(), |(b, d)| format!("{b}/+{d}"));
        let writes = ready_ids.get(name).map_or(0, |id| {
            1 + writes
                .iter()
                .filter(|w| w.path.contains(id.as_str()))
                .count()
        });
        println!("{name:<32} {layer:<20} {outcome:<40} {writes:<7} {per_reason}");
    }
    let rejected = rows.iter().filter(|r| r.2 != "Ready").count();
    println!(
        "{} cases: {rejected} refused ({} at admission, {} by condition), {accepted} accepted; \
         {} Stytch requests, {creates} creates (all for Ready resources); 50 MB bodies: {huge_requests} requests, {huge_sent} bytes sent (socket buffers included)",
        rows.len(),
        admission.len(),
        rejected - admission.len(),
        log.len(),
    );
    assert!(rejected >= 30);
    operator.stop().await;
}
