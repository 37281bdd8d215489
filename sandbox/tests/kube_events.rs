//! Events (kube-runtime `Recorder`), Leases and `kubectl describe` / `get -w` around them.

mod kube_common;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::events::v1::Event as K8sEvent;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Resource, ResourceExt};
use kube_common::*;
use serde_json::json;

#[tokio::test]
async fn recorder_events_show_up_in_describe() {
    bounded(async {
        let (sb, client) = with_widgets().await;
        let api = widgets(&client, "default");
        let w = api
            .create(&PostParams::default(), &widget("w", "red", 1))
            .await
            .expect("create");
        let recorder = Recorder::new(
            client.clone(),
            Reporter {
                controller: "widget-controller".into(),
                instance: None,
            },
        );
        let reference = w.object_ref(&widget_resource());
        let ev = Event {
            type_: EventType::Normal,
            reason: "Synced".into(),
            note: Some("widget synced".into()),
            action: "Sync".into(),
            secondary: None,
        };
        recorder.publish(&ev, &reference).await.expect("publish");
        // A repeated event is folded into a series (PATCH on the same Event).
        recorder
            .publish(&ev, &reference)
            .await
            .expect("publish again");
        let events: Api<K8sEvent> = Api::namespaced(client.clone(), "default");
        let list = events.list(&ListParams::default()).await.expect("list");
        assert_eq!(list.items.len(), 1, "{:?}", list.items);
        assert_eq!(list.items[0].reason.as_deref(), Some("Synced"));
        let r = kubectl(&sb, &["describe", "widget", "w"]).await;
        assert!(
            r.ok && r.stdout.contains("Synced") && r.stdout.contains("widget synced"),
            "{r:?}"
        );
        // The core Event API lists and watches them too.
        let core: Api<k8s_openapi::api::core::v1::Event> =
            Api::namespaced(client.clone(), "default");
        let mut stream = Box::pin(
            core.watch(&kube::api::WatchParams::default(), "0")
                .await
                .expect("watch"),
        );
        let first = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            futures::StreamExt::next(&mut stream),
        )
        .await
        .expect("in time")
        .expect("open")
        .expect("ok");
        match first {
            kube::api::WatchEvent::Added(e) => {
                assert_eq!(e.reason.as_deref(), Some("Synced"));
                assert_eq!(e.involved_object.name.as_deref(), Some("w"));
            }
            other => panic!("expected ADDED, got {other:?}"),
        }
        let r = kubectl(&sb, &["get", "events"]).await;
        let header: Vec<&str> = r
            .stdout
            .lines()
            .next()
            .unwrap_or("")
            .split_whitespace()
            .collect();
        assert_eq!(
            header,
            vec![
                "NAME", "LAST", "SEEN", "TYPE", "REASON", "OBJECT", "MESSAGE", "AGE"
            ],
            "{r:?}"
        );
        assert!(
            r.stdout.contains("Normal")
                && r.stdout.contains("Synced")
                && r.stdout.contains("widget synced"),
            "{r:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn leases_support_optimistic_leader_election() {
    bounded(async {
        let sb = start().await;
        let client = sb.client().await.expect("client");
        let leases: Api<Lease> = Api::namespaced(client.clone(), "default");
        let lease: Lease = serde_json::from_value(json!({
            "metadata": {"name": "leader"},
            "spec": {"holderIdentity": "a", "leaseDurationSeconds": 15}
        }))
        .expect("lease");
        let created = leases.create(&PostParams::default(), &lease).await.expect("create");
        let mut taken = created.clone();
        taken.spec.as_mut().expect("spec").holder_identity = Some("b".into());
        leases.replace("leader", &PostParams::default(), &taken).await.expect("b takes over");
        let mut stale = created.clone();
        stale.spec.as_mut().expect("spec").holder_identity = Some("c".into());
        assert!(leases.replace("leader", &PostParams::default(), &stale).await.is_err(), "stale takeover must conflict");
        let applied = leases
            .patch("leader", &PatchParams::apply("b"), &Patch::Apply(json!({"apiVersion": "coordination.k8s.io/v1", "kind": "Lease", "spec": {"holderIdentity": "b", "leaseDurationSeconds": 20}})))
            .await
            .expect("apply");
        assert_eq!(applied.spec.and_then(|s| s.lease_duration_seconds), Some(20));
        assert_eq!(applied.metadata.name.as_deref(), Some("leader"));
        let _ = created.name_any();
    })
    .await;
}

#[tokio::test]
async fn custom_resource_put_requires_resource_version_and_get_watch_prints_rows() {
    bounded(async {
        let (sb, client) = with_widgets().await;
        let api = widgets(&client, "default");
        let mut w = api.create(&PostParams::default(), &widget("w", "red", 1)).await.expect("create");
        w.metadata.resource_version = None;
        match api.replace("w", &PostParams::default(), &w).await {
            Err(kube::Error::Api(s)) => {
                assert_eq!(s.code, 422);
                assert!(s.message.contains("metadata.resourceVersion: Invalid value: 0: must be specified for an update"), "{}", s.message);
            }
            other => panic!("expected 422, got {other:?}"),
        }
        let r = kubectl(&sb, &["get", "widgets", "-w", "--output-watch-events=true", "--request-timeout=2s"]).await;
        let lines: Vec<Vec<&str>> = r.stdout.lines().map(|l| l.split_whitespace().collect()).collect();
        assert_eq!(lines.first().map(|l| l[..4].to_vec()), Some(vec!["EVENT", "NAME", "COLOR", "SIZE"]), "{r:?}");
        assert_eq!(lines.get(1).map(|l| l[..4].to_vec()), Some(vec!["ADDED", "w", "red", "1"]), "{r:?}");
    })
    .await;
}
