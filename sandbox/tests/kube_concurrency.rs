//! Concurrent writers and watchers; the metadata-only API.

mod kube_common;

use std::collections::BTreeMap;
use std::time::Duration;

use futures::StreamExt;
use kube::api::Api;
use kube::api::{ListParams, Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::core::{DynamicObject, PartialObjectMeta};
use kube::runtime::{WatchStreamExt, watcher};
use kube_common::*;
use serde_json::json;

#[tokio::test]
async fn concurrent_writers_are_serialised_and_watch_sees_every_change_in_order() {
    bounded(async {
        let (_sb, client) = with_widgets().await;
        let api = widgets(&client, "default");
        api.create(&PostParams::default(), &widget("shared", "red", 1))
            .await
            .expect("create");
        let mut stream = Box::pin(
            api.watch(&WatchParams::default(), "0")
                .await
                .expect("watch"),
        );
        let writers: Vec<_> = (0..6)
            .map(|i| {
                let api = api.clone();
                tokio::spawn(async move {
                    api.create(
                        &PostParams::default(),
                        &widget(&format!("own-{i}"), "red", 1),
                    )
                    .await
                    .expect("own");
                    let mut done = 0;
                    while done < 5 {
                        // Read-modify-write with optimistic concurrency: retry on 409.
                        let mut w = api.get("shared").await.expect("get");
                        let size = w.data["spec"]["size"].as_i64().expect("size");
                        w.data["spec"]["size"] = json!(size + 1);
                        w.data["spec"]["maxSize"] = json!(1000);
                        match api.replace("shared", &PostParams::default(), &w).await {
                            Ok(_) => done += 1,
                            Err(kube::Error::Api(s)) if s.code == 409 => continue,
                            Err(e) => panic!("unexpected {e:?}"),
                        }
                    }
                })
            })
            .collect();
        for w in writers {
            w.await.expect("writer");
        }
        let shared = api.get("shared").await.expect("get");
        assert_eq!(
            shared.data["spec"]["size"],
            json!(31),
            "every increment applied exactly once"
        );
        // 1 initial ADDED + 6 creates + 30 updates, strictly increasing resourceVersions.
        let mut last = 0;
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        let mut total = 0;
        while total < 37 {
            let ev = tokio::time::timeout(Duration::from_secs(10), stream.next())
                .await
                .expect("in time")
                .expect("open")
                .expect("ok");
            let (kind, obj) = match ev {
                WatchEvent::Added(o) => ("ADDED", o),
                WatchEvent::Modified(o) => ("MODIFIED", o),
                WatchEvent::Bookmark(_) => continue,
                other => panic!("unexpected {other:?}"),
            };
            assert!(rv(&obj) > last, "resourceVersion order");
            last = rv(&obj);
            *counts.entry(kind).or_default() += 1;
            total += 1;
        }
        assert_eq!(counts.get("ADDED"), Some(&7));
        assert_eq!(counts.get("MODIFIED"), Some(&30));
    })
    .await;
}

#[tokio::test]
async fn metadata_api_and_metadata_watcher() {
    bounded(async {
        let (_sb, client) = with_widgets().await;
        let api = widgets(&client, "default");
        let mut w = widget("m", "red", 1);
        w.metadata.labels = Some([("k".to_string(), "v".to_string())].into());
        api.create(&PostParams::default(), &w)
            .await
            .expect("create");
        let meta = api.get_metadata("m").await.expect("get_metadata");
        assert_eq!(
            meta.metadata
                .labels
                .and_then(|l| l.get("k").cloned())
                .as_deref(),
            Some("v")
        );
        let list = api
            .list_metadata(&ListParams::default())
            .await
            .expect("list_metadata");
        assert_eq!(list.items.len(), 1);
        let meta_api: Api<PartialObjectMeta<DynamicObject>> =
            Api::namespaced_with(client.clone(), "default", &widget_resource());
        let mut events = Box::pin(watcher(meta_api, watcher::Config::default()).applied_objects());
        let first = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("in time")
            .expect("open")
            .expect("ok");
        assert_eq!(first.metadata.name.as_deref(), Some("m"));
        api.patch(
            "m",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"k": "w"}}})),
        )
        .await
        .expect("patch");
        let second = tokio::time::timeout(Duration::from_secs(10), events.next())
            .await
            .expect("in time")
            .expect("open")
            .expect("ok");
        assert_eq!(
            second
                .metadata
                .labels
                .and_then(|l| l.get("k").cloned())
                .as_deref(),
            Some("w")
        );
    })
    .await;
}
