//! A minimal kube-runtime `Controller` against the sandbox: finalizer, status via server-side
//! apply on `/status`, kubectl wait/delete, and recovery after a simulated API server restart.

mod kube_common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use kube::api::{Api, Patch, PatchParams};
use kube::runtime::controller::{Action, Controller};
use kube::runtime::finalizer::{self, Event as FinalizerEvent, finalizer};
use kube::runtime::watcher;
use kube::{CustomResource, ResourceExt};
use kube_common::*;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(CustomResource, Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[kube(
    group = "example.test",
    version = "v1",
    kind = "Widget",
    namespaced,
    status = "WidgetStatus"
)]
#[serde(rename_all = "camelCase")]
struct WidgetSpec {
    color: String,
    size: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    max_size: Option<i64>,
}

#[derive(Serialize, Deserialize, Clone, Debug, Default, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct WidgetStatus {
    #[serde(default)]
    conditions: Vec<Cond>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    observed_generation: Option<i64>,
}

#[derive(Serialize, Deserialize, Clone, Debug, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Cond {
    #[serde(rename = "type")]
    type_: String,
    status: String,
    reason: String,
    message: String,
    last_transition_time: String,
}

const FINALIZER: &str = "example.test/cleanup";

struct Ctx {
    client: kube::Client,
    cleaned: Mutex<Vec<String>>,
}

#[derive(Debug, thiserror::Error)]
#[error(transparent)]
struct ReconcileError(#[from] finalizer::Error<kube::Error>);

async fn reconcile(w: Arc<Widget>, ctx: Arc<Ctx>) -> Result<Action, ReconcileError> {
    let api: Api<Widget> = Api::namespaced(ctx.client.clone(), &w.namespace().unwrap_or_default());
    let ctx2 = ctx.clone();
    let status_api = api.clone();
    Ok(finalizer(&api, FINALIZER, w, |event| async move {
        match event {
            FinalizerEvent::Apply(w) => {
                let status = json!({
                    "apiVersion": "example.test/v1", "kind": "Widget",
                    "status": {
                        "observedGeneration": w.metadata.generation,
                        "conditions": [{"type": "Ready", "status": "True", "reason": "Reconciled",
                            "message": format!("size {}", w.spec.size), "lastTransitionTime": "2024-01-01T00:00:00Z"}],
                    }
                });
                status_api.patch_status(&w.name_any(), &PatchParams::apply("widget-controller").force(), &Patch::Apply(status))
                    .await?;
                Ok(Action::await_change())
            }
            FinalizerEvent::Cleanup(w) => {
                ctx2.cleaned.lock().expect("lock").push(w.name_any());
                Ok(Action::await_change())
            }
        }
    })
    .await?)
}

fn error_policy(_w: Arc<Widget>, err: &ReconcileError, _ctx: Arc<Ctx>) -> Action {
    eprintln!("reconcile error: {err}");
    Action::requeue(Duration::from_millis(200))
}

fn spec_yaml(name: &str, size: i64) -> String {
    format!(
        "apiVersion: example.test/v1\nkind: Widget\nmetadata:\n  name: {name}\nspec:\n  color: green\n  size: {size}\n"
    )
}

#[tokio::test]
async fn controller_with_finalizer_and_ssa_status() {
    bounded(async {
        let sb = start().await;
        let crd = fixture("widget-crd.yaml");
        assert!(
            kubectl(&sb, &["apply", "-f", crd.to_str().expect("path")])
                .await
                .ok
        );
        assert!(
            kubectl(
                &sb,
                &[
                    "wait",
                    "--for",
                    "condition=established",
                    "--timeout=10s",
                    "crd/widgets.example.test"
                ]
            )
            .await
            .ok
        );

        let client = sb.client().await.expect("client");
        let ctx = Arc::new(Ctx {
            client: client.clone(),
            cleaned: Mutex::new(vec![]),
        });
        let api: Api<Widget> = Api::namespaced(client.clone(), "default");
        let controller = tokio::spawn(
            Controller::new(api.clone(), watcher::Config::default())
                .run(reconcile, error_policy, ctx.clone())
                .for_each(|_| async {}),
        );

        assert!(
            kubectl_in(&sb, &["apply", "-f", "-"], Some(&spec_yaml("w1", 2)))
                .await
                .ok
        );
        let r = kubectl(
            &sb,
            &[
                "wait",
                "--for=condition=Ready",
                "widget/w1",
                "--timeout=20s",
            ],
        )
        .await;
        assert!(r.ok, "{r:?}");
        let w = api.get("w1").await.expect("get");
        assert_eq!(w.finalizers(), &[FINALIZER.to_string()]);
        assert_eq!(
            w.status.as_ref().and_then(|s| s.observed_generation),
            Some(1)
        );

        // Once reconciled, the controller is quiet: its status applies are no-ops.
        tokio::time::sleep(Duration::from_millis(500)).await;
        let settled = sb.resource_version();
        tokio::time::sleep(Duration::from_millis(1500)).await;
        assert_eq!(sb.resource_version(), settled, "no reconcile hot loop");

        // A spec change is observed.
        assert!(
            kubectl_in(&sb, &["apply", "-f", "-"], Some(&spec_yaml("w1", 3)))
                .await
                .ok
        );
        let api2 = api.clone();
        eventually("observedGeneration 2", Duration::from_secs(20), || {
            let api = api2.clone();
            async move {
                let w = api.get("w1").await.expect("get");
                w.status.and_then(|s| s.observed_generation) == Some(2)
            }
        })
        .await;
        let r = kubectl(&sb, &["get", "widget", "w1", "--no-headers"]).await;
        assert_eq!(r.stdout.split_whitespace().nth(3), Some("True"), "{r:?}");

        // The controller survives a simulated API server restart (410 on re-watch, relist).
        sb.faults().simulate_restart();
        assert!(
            kubectl_in(&sb, &["apply", "-f", "-"], Some(&spec_yaml("w2", 1)))
                .await
                .ok
        );
        let r = kubectl(
            &sb,
            &[
                "wait",
                "--for=condition=Ready",
                "widget/w2",
                "--timeout=20s",
            ],
        )
        .await;
        assert!(r.ok, "{r:?}");

        // Deletion runs the cleanup, then the finalizer is removed and the object disappears.
        let r = kubectl(&sb, &["delete", "widget", "w1", "--timeout=20s"]).await;
        assert!(r.ok, "{r:?}");
        assert!(
            ctx.cleaned
                .lock()
                .expect("lock")
                .contains(&"w1".to_string())
        );
        assert!(!kubectl(&sb, &["get", "widget", "w1"]).await.ok);
        controller.abort();
    })
    .await;
}
