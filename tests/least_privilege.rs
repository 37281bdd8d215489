//! Least privilege (issue #8): the operator runs as the chart's service account with exactly the
//! chart's rendered RBAC (leader election on). With the full set every named scenario succeeds
//! and no request is denied; removing any one verb of any rule breaks the scenario named for it.
//! Prints a table rule -> verb -> scenario -> outcome.

mod support;

use std::collections::BTreeSet;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::api::events::v1::Event;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use support::chart_rbac::{self, default_values, describe_rule, rule_ids, without};
use support::*;

/// How long a scenario step may take before it counts as broken.
const STEP: Duration = Duration::from_secs(20);
/// Scenarios running at once (each has its own sandboxes and operator).
const PARALLEL: usize = 6;

type Outcome = Result<(), String>;
type Run = for<'a> fn(&'a Env) -> Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// A short named scenario and the operator flags it runs with.
#[derive(Clone, Copy)]
struct Scenario {
    name: &'static str,
    flags: &'static [&'static str],
    run: Run,
}

const LEADER: &[&str] = &["--leader-elect", "--leader-election-lease-seconds", "2"];

fn scenarios() -> Vec<Scenario> {
    let all: [(&'static str, &'static [&'static str], Run); 7] = [
        ("create-ready", &[], |e| Box::pin(create_ready(e))),
        ("delete-cleans-up", &[], |e| Box::pin(delete_cleans_up(e))),
        ("edit-propagates", &[], |e| Box::pin(edit_propagates(e))),
        ("secret-rotation", &[], |e| Box::pin(secret_rotation(e))),
        ("event-recorded", &[], |e| Box::pin(event_recorded(e))),
        ("event-series", &[], |e| Box::pin(event_series(e))),
        ("leader-ready", LEADER, |e| Box::pin(leader_ready(e))),
    ];
    all.into_iter()
        .map(|(name, flags, run)| Scenario { name, flags, run })
        .collect()
}

/// Polls `check` until it holds or [`STEP`] passes (then `Err(what)`).
async fn within<F, Fut>(what: &str, mut check: F) -> Outcome
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + STEP;
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("{what} not within {}s", STEP.as_secs()))
}

async fn ready(env: &Env, name: &str) -> Outcome {
    within(&format!("{name} Ready"), || async {
        env.api
            .get_opt(name)
            .await
            .ok()
            .flatten()
            .is_some_and(|o| is(&o, "Ready", "True"))
    })
    .await
}

async fn create_ready(env: &Env) -> Outcome {
    env.apply("one", full_spec(&[&cert("one")])).await;
    ready(env, "one").await
}

async fn delete_cleans_up(env: &Env) -> Outcome {
    let mut spec = full_spec(&[&cert("gone")]);
    spec["deletionPolicy"] = json!("Delete");
    env.apply("gone", spec).await;
    ready(env, "gone").await?;
    env.api
        .delete("gone", &Default::default())
        .await
        .map_err(|e| e.to_string())?;
    within("finalizer removed and resource gone", || async {
        matches!(env.api.get_opt("gone").await, Ok(None))
    })
    .await?;
    within("Stytch connection deleted", || async {
        env.connections().is_empty()
    })
    .await
}

fn cert_body(pem: &str) -> String {
    pem.lines()
        .filter(|l| !l.starts_with("-----"))
        .flat_map(|l| l.chars().filter(|c| !c.is_whitespace()))
        .collect()
}

/// Waits until the operator sent no request for 3 s (its follow-up reconciles are done).
async fn quiescent(env: &Env) -> Outcome {
    let mut last = (env.kube.audit().len(), tokio::time::Instant::now());
    within("the operator quiescent for 3s", || {
        let now = env.kube.audit().len();
        if now != last.0 {
            last = (now, tokio::time::Instant::now());
        }
        let quiet = last.1.elapsed() >= Duration::from_secs(3);
        async move { quiet }
    })
    .await
}

/// A certificate from a Secret key; rotating the Secret puts the new certificate in Stytch,
/// noticed through the Secret watch.
async fn secret_rotation(env: &Env) -> Outcome {
    let secret = |pem: &str| -> Secret {
        serde_json::from_value(
            json!({"metadata": {"name": "idp-cert"}, "stringData": {"tls.crt": pem}}),
        )
        .unwrap()
    };
    let secrets: Api<Secret> = Api::namespaced(env.client.clone(), NS);
    secrets
        .create(&PostParams::default(), &secret(&cert("first")))
        .await
        .unwrap();
    let mut spec = full_spec(&[]);
    spec["idp"]["certificates"] = json!([{"secretKeyRef": {"name": "idp-cert", "key": "tls.crt"}}]);
    env.apply("rot", spec).await;
    ready(env, "rot").await?;
    quiescent(env).await?;
    let second = cert("second");
    let patch = json!({"stringData": {"tls.crt": second}});
    secrets
        .patch("idp-cert", &PatchParams::default(), &Patch::Merge(patch))
        .await
        .unwrap();
    let want = cert_body(&second);
    within("the rotated certificate in Stytch", || async {
        env.connections().first().is_some_and(|c| {
            c.verification_certificates
                .iter()
                .any(|v| cert_body(&v.certificate) == want)
        })
    })
    .await?;
    // Noticed through a Secret watch. Without one a rotation may still reach Stytch through an
    // unrelated reconcile (a re-list of SamlConnections, a retried watch), but not by design.
    let audit = env.kube.audit();
    let count = |verb: &str, resource: &str| {
        audit
            .iter()
            .filter(|a| a.allowed && a.request.verb == verb && a.request.resource == resource)
            .count()
    };
    if count("watch", "secrets") == 0 {
        return Err("rotation not noticed through a Secret watch (none established)".into());
    }
    let lists = count("list", "samlconnections");
    if lists != 1 {
        return Err(format!(
            "rotation noticed only after {lists} SamlConnection lists"
        ));
    }
    Ok(())
}

/// A spec edit after Ready reaches Stytch, and the status follows it (a changed status is
/// computed from the stored one, which the operator reads: the cache keeps only its digest).
async fn edit_propagates(env: &Env) -> Outcome {
    env.apply("edit", full_spec(&[&cert("edit")])).await;
    ready(env, "edit").await?;
    env.patch_spec("edit", json!({"displayName": "Acme Edited"}))
        .await;
    within("the edit sent to Stytch", || async {
        env.connections()
            .first()
            .is_some_and(|c| c.display_name == "Acme Edited")
    })
    .await?;
    within("the status of the edited generation", || async {
        env.api
            .get_opt("edit")
            .await
            .ok()
            .flatten()
            .is_some_and(|o| {
                let observed = o.status.as_ref().and_then(|s| s.observed_generation);
                observed.is_some() && observed == o.metadata.generation && is(&o, "Ready", "True")
            })
    })
    .await
}

/// Two updates of one resource: the second `StytchUpdated` Event is counted in the first one's
/// series (kube-runtime's Recorder patches it).
async fn event_series(env: &Env) -> Outcome {
    env.apply("ser", full_spec(&[&cert("ser")])).await;
    ready(env, "ser").await?;
    for (i, name) in ["Acme One", "Acme Two"].into_iter().enumerate() {
        env.patch_spec("ser", json!({"displayName": name})).await;
        within("the update sent to Stytch", || async {
            env.writes()
                .iter()
                .filter(|w| *w == "update_connection")
                .count()
                > i
        })
        .await?;
    }
    let events: Api<Event> = Api::namespaced(env.client.clone(), NS);
    within("an Event series of 2 updates", || async {
        events.list(&ListParams::default()).await.is_ok_and(|l| {
            l.items.iter().any(|e| {
                e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("ser")
                    && e.series.as_ref().is_some_and(|s| s.count >= 2)
            })
        })
    })
    .await
}

async fn event_recorded(env: &Env) -> Outcome {
    env.apply("ev", full_spec(&[&cert("ev")])).await;
    ready(env, "ev").await?;
    let events: Api<Event> = Api::namespaced(env.client.clone(), NS);
    within("an Event about the resource", || async {
        events.list(&ListParams::default()).await.is_ok_and(|l| {
            l.items
                .iter()
                .any(|e| e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some("ev"))
        })
    })
    .await
}

/// The Lease is taken and kept across renewals; the leader reconciles.
async fn leader_ready(env: &Env) -> Outcome {
    let leases: Api<Lease> = Api::namespaced(env.client.clone(), NS);
    let holder = || async {
        leases
            .get_opt("stytch-saml-operator")
            .await
            .ok()
            .flatten()
            .and_then(|l| l.spec?.holder_identity)
    };
    within("Lease acquired", || async { holder().await.is_some() }).await?;
    env.apply("led", full_spec(&[&cert("led")])).await;
    ready(env, "led").await?;
    let first = holder().await;
    let renewed = |l: &Lease| l.spec.as_ref().and_then(|s| s.renew_time.clone());
    let before = leases
        .get("stytch-saml-operator")
        .await
        .map_err(|e| e.to_string())?;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = leases
        .get("stytch-saml-operator")
        .await
        .map_err(|e| e.to_string())?;
    if holder().await != first || renewed(&after) == renewed(&before) {
        return Err("the leader did not keep renewing its Lease".into());
    }
    Ok(())
}

/// Runs one scenario in a fresh Env with `rbac` installed.
async fn run(
    scenario: Scenario,
    rbac: Vec<Value>,
) -> (Outcome, Vec<sandbox::kube::authn::AuditEntry>) {
    let mut env = Env::with_rbac(Some(rbac)).await;
    env.start_operator(scenario.flags);
    let outcome = (scenario.run)(&env).await;
    env.stop_operator().await;
    (outcome, env.kube.audit())
}

/// The scenario that needs `verb` of rule `(doc, rule)` of the default chart RBAC.
fn scenario_for(docs: &[Value], id: (usize, usize), verb: &str) -> &'static str {
    let rule = &docs[id.0]["rules"][id.1];
    let resources: Vec<&str> = rule["resources"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    match (resources.as_slice(), verb) {
        (["leases"], _) => "leader-ready",
        (["events"], "patch") => "event-series",
        (["events"], _) => "event-recorded",
        (["samlconnections"], "watch") => "edit-propagates",
        (["samlconnections/status"], "get") => "edit-propagates",
        (["secrets", ..], "list" | "watch") => "secret-rotation",
        (["samlconnections"], "patch") => "delete-cleans-up",
        _ => "create-ready",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rule_of_the_chart_rbac_is_needed() {
    let docs = chart_rbac::render(&default_values(), NS).expect("helm renders the chart");
    let all = scenarios();
    // Full set: every scenario succeeds, nothing is denied.
    let full: Vec<_> = all
        .iter()
        .map(|scenario| {
            let (scenario, docs) = (*scenario, docs.clone());
            tokio::spawn(async move { (scenario.name, run(scenario, docs).await) })
        })
        .collect();
    let mut used = BTreeSet::new();
    for task in full {
        let (name, (outcome, audit)) = task.await.unwrap();
        assert_eq!(outcome, Ok(()), "{name} with the full chart RBAC");
        let denied: Vec<_> = audit.iter().filter(|a| !a.allowed).collect();
        assert!(
            denied.is_empty(),
            "{name}: denied with the full RBAC: {denied:#?}"
        );
        assert!(
            !audit.is_empty(),
            "{name}: the operator did not run as the service account"
        );
        used.extend(audit.iter().map(|a| {
            format!(
                "{} {}/{}",
                a.request.verb,
                a.request.api_group,
                a.request.full_resource()
            )
        }));
    }
    println!("requests the operator made with the full chart RBAC: {used:#?}");
    // One removal per verb of every rule.
    let mut cases = Vec::new();
    for id in rule_ids(&docs) {
        let verbs: Vec<String> = docs[id.0]["rules"][id.1]["verbs"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .map(String::from)
            .collect();
        for verb in verbs {
            cases.push((id, verb));
        }
    }
    let limit = Arc::new(tokio::sync::Semaphore::new(PARALLEL));
    let mut tasks = Vec::new();
    for (id, verb) in cases {
        let name = scenario_for(&docs, id, &verb);
        let scenario = *all.iter().find(|s| s.name == name).unwrap();
        let reduced = without(&docs, id, Some(&verb));
        let limit = limit.clone();
        let label = describe_rule(&docs, id);
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await.unwrap();
            let (outcome, audit) = run(scenario, reduced).await;
            let denied = audit.iter().filter(|a| !a.allowed).count();
            if outcome.is_ok() {
                let seen: Vec<_> = audit
                    .iter()
                    .map(|a| (&a.request.verb, a.request.full_resource(), a.allowed))
                    .collect();
                println!("{label} -{verb}: {name} still works; requests: {seen:?}");
            }
            (label, verb, name, outcome, denied)
        }));
    }
    let mut rows = Vec::new();
    for task in tasks {
        rows.push(task.await.unwrap());
    }
    println!(
        "{:<95} {:<8} {:<20} outcome (denied requests)",
        "rule", "removed", "scenario"
    );
    for (label, verb, name, outcome, denied) in &rows {
        let shown = match outcome {
            Ok(()) => "STILL WORKS".to_string(),
            Err(e) => format!("broken: {e}"),
        };
        println!("{label:<95} {verb:<8} {name:<20} {shown} ({denied})");
    }
    let unneeded: Vec<_> = rows
        .iter()
        .filter(|r| r.3.is_ok())
        .map(|r| format!("{} -{}", r.0, r.1))
        .collect();
    assert!(
        unneeded.is_empty(),
        "rules not shown necessary: {unneeded:#?}"
    );
    assert!(
        rows.iter().all(|r| r.4 > 0),
        "every broken scenario saw a denial"
    );
}
