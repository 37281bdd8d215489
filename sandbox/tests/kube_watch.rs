//! Watches against the sandbox: raw watch semantics, kube-runtime watcher reconnects, faults.

mod kube_common;

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use kube::api::{Patch, PatchParams, PostParams, WatchEvent, WatchParams};
use kube::core::DynamicObject;
use kube::runtime::WatchStreamExt;
use kube::runtime::watcher::{self, Event};
use kube_common::*;
use serde_json::json;

fn name(o: &DynamicObject) -> String {
    o.metadata.name.clone().unwrap_or_default()
}

async fn next_raw(
    stream: &mut (impl futures::Stream<Item = kube::Result<WatchEvent<DynamicObject>>> + Unpin),
) -> WatchEvent<DynamicObject> {
    tokio::time::timeout(Duration::from_secs(10), stream.next())
        .await
        .expect("event in time")
        .expect("stream open")
        .expect("event ok")
}

/// Next event that is not a bookmark.
async fn next_event(
    stream: &mut (impl futures::Stream<Item = kube::Result<WatchEvent<DynamicObject>>> + Unpin),
) -> WatchEvent<DynamicObject> {
    loop {
        match next_raw(stream).await {
            WatchEvent::Bookmark(_) => continue,
            other => return other,
        }
    }
}

fn describe(ev: &WatchEvent<DynamicObject>) -> String {
    match ev {
        WatchEvent::Added(o) => format!("ADDED {}", name(o)),
        WatchEvent::Modified(o) => format!("MODIFIED {}", name(o)),
        WatchEvent::Deleted(o) => format!("DELETED {}", name(o)),
        WatchEvent::Bookmark(b) => format!("BOOKMARK {}", b.metadata.resource_version),
        WatchEvent::Error(s) => format!("ERROR {}", s.code),
    }
}

#[tokio::test]
async fn watch_initial_events_then_live_changes_in_order() {
    bounded(async {
        let (_sb, client) = with_widgets().await;
        let api = widgets(&client, "default");
        api.create(&PostParams::default(), &widget("a", "red", 1))
            .await
            .expect("a");
        let stream = api
            .watch(&WatchParams::default(), "0")
            .await
            .expect("watch");
        let mut stream = Box::pin(stream);
        assert_eq!(describe(&next_event(&mut stream).await), "ADDED a");
        let b = api
            .create(&PostParams::default(), &widget("b", "red", 1))
            .await
            .expect("b");
        api.patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"size": 2}})),
        )
        .await
        .expect("patch");
        api.delete("b", &Default::default()).await.expect("delete");
        let mut seen = Vec::new();
        let mut last_rv = 0;
        for _ in 0..3 {
            let ev = next_event(&mut stream).await;
            if let WatchEvent::Added(o) | WatchEvent::Modified(o) | WatchEvent::Deleted(o) = &ev {
                assert!(rv(o) > last_rv, "events in resourceVersion order");
                last_rv = rv(o);
            }
            seen.push(describe(&ev));
        }
        assert_eq!(seen, vec!["ADDED b", "MODIFIED a", "DELETED b"]);
        // Resuming from b's resourceVersion replays only later events.
        let resumed = api
            .watch(&WatchParams::default(), &rv(&b).to_string())
            .await
            .expect("resume");
        let mut resumed = Box::pin(resumed);
        assert_eq!(describe(&next_event(&mut resumed).await), "MODIFIED a");
        assert_eq!(describe(&next_event(&mut resumed).await), "DELETED b");
    })
    .await;
}

#[tokio::test]
async fn label_selector_watch_sees_objects_leave_and_enter() {
    bounded(async {
        let (_sb, client) = with_widgets().await;
        let api = widgets(&client, "default");
        let mut w = widget("a", "red", 1);
        w.metadata.labels = Some([("sel".to_string(), "yes".to_string())].into());
        api.create(&PostParams::default(), &w).await.expect("a");
        let mut stream = Box::pin(
            api.watch(&WatchParams::default().labels("sel=yes"), "0")
                .await
                .expect("watch"),
        );
        assert_eq!(describe(&next_event(&mut stream).await), "ADDED a");
        api.patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"sel": "no"}}})),
        )
        .await
        .expect("out");
        assert_eq!(describe(&next_event(&mut stream).await), "DELETED a");
        api.patch(
            "a",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"labels": {"sel": "yes"}}})),
        )
        .await
        .expect("in");
        assert_eq!(describe(&next_event(&mut stream).await), "ADDED a");
    })
    .await;
}

#[tokio::test]
async fn too_old_resource_version_gets_410_gone_event() {
    bounded(async {
        let (sb, client) = with_widgets().await;
        let api = widgets(&client, "default");
        let w = api
            .create(&PostParams::default(), &widget("a", "red", 1))
            .await
            .expect("a");
        sb.faults().simulate_restart();
        let mut stream = Box::pin(
            api.watch(&WatchParams::default(), &rv(&w).to_string())
                .await
                .expect("watch"),
        );
        match next_event(&mut stream).await {
            WatchEvent::Error(s) => {
                assert_eq!(s.code, 410);
                assert_eq!(s.reason, "Expired");
            }
            other => panic!("expected 410, got {}", describe(&other)),
        }
        // Forced 410 on the next watch, even from a fresh resourceVersion.
        sb.faults().gone_next_watch();
        let mut stream = Box::pin(
            api.watch(&WatchParams::default(), "0")
                .await
                .expect("watch"),
        );
        assert_eq!(describe(&next_event(&mut stream).await), "ERROR 410");
        let mut stream = Box::pin(
            api.watch(&WatchParams::default(), "0")
                .await
                .expect("watch"),
        );
        assert_eq!(describe(&next_event(&mut stream).await), "ADDED a");
    })
    .await;
}

#[tokio::test]
async fn bookmarks_and_timeout_seconds() {
    bounded(async {
        let (_sb, client) = with_widgets().await;
        let api = widgets(&client, "default");
        let w = api
            .create(&PostParams::default(), &widget("a", "red", 1))
            .await
            .expect("a");
        let wp = WatchParams::default().timeout(4);
        let started = Instant::now();
        let mut stream = Box::pin(api.watch(&wp, &rv(&w).to_string()).await.expect("watch"));
        match next_raw(&mut stream).await {
            WatchEvent::Bookmark(b) => {
                assert!(b.metadata.resource_version.parse::<u64>().expect("rv") >= rv(&w))
            }
            other => panic!("expected bookmark, got {}", describe(&other)),
        }
        // The server ends the stream after timeoutSeconds.
        let rest = tokio::time::timeout(Duration::from_secs(10), stream.try_collect::<Vec<_>>())
            .await
            .expect("stream ends");
        assert!(rest.is_ok());
        let took = started.elapsed();
        assert!(
            took >= Duration::from_secs(3) && took < Duration::from_secs(8),
            "{took:?}"
        );
    })
    .await;
}

#[tokio::test]
async fn streaming_list_initial_events_end_bookmark() {
    bounded(async {
        let (_sb, client) = with_widgets().await;
        let api = widgets(&client, "default");
        for n in ["a", "b"] {
            api.create(&PostParams::default(), &widget(n, "red", 1))
                .await
                .expect("create");
        }
        let mut events = Box::pin(watcher::watcher(
            api.clone(),
            watcher::Config::default().streaming_lists(),
        ));
        let mut init = BTreeSet::new();
        loop {
            let ev = tokio::time::timeout(Duration::from_secs(10), events.next())
                .await
                .expect("in time")
                .expect("open")
                .expect("ok");
            match ev {
                Event::InitApply(o) => {
                    init.insert(name(&o));
                }
                Event::InitDone => break,
                _ => {}
            }
        }
        assert_eq!(init, BTreeSet::from(["a".to_string(), "b".to_string()]));
    })
    .await;
}

/// Collects names applied through a kube-runtime watcher, counting (re)lists.
fn spawn_watcher(
    api: kube::Api<DynamicObject>,
    cfg: watcher::Config,
) -> (Arc<Mutex<BTreeSet<String>>>, Arc<Mutex<usize>>) {
    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    let inits = Arc::new(Mutex::new(0usize));
    let (s, i) = (seen.clone(), inits.clone());
    tokio::spawn(async move {
        let mut stream = Box::pin(watcher::watcher(api, cfg).default_backoff());
        while let Some(ev) = stream.next().await {
            match ev {
                Ok(Event::Apply(o)) | Ok(Event::InitApply(o)) => {
                    s.lock().expect("lock").insert(name(&o));
                }
                Ok(Event::Init) => *i.lock().expect("lock") += 1,
                _ => {}
            }
        }
    });
    (seen, inits)
}

async fn wait_seen(seen: &Arc<Mutex<BTreeSet<String>>>, n: &str) {
    let n = n.to_string();
    eventually(
        &format!("watcher sees {n}"),
        Duration::from_secs(20),
        || {
            let ok = seen.lock().expect("lock").contains(&n);
            async move { ok }
        },
    )
    .await;
}

#[tokio::test]
async fn watcher_reconnects_after_dropped_streams_gone_and_restart() {
    bounded(async {
        let (sb, client) = with_widgets().await;
        let api = widgets(&client, "default");
        for cfg in [
            watcher::Config::default(),
            watcher::Config::default().streaming_lists(),
        ] {
            let (seen, inits) = spawn_watcher(api.clone(), cfg);
            let tag = *inits.lock().expect("lock");
            let p = format!("s{tag}-{}", sb.resource_version());
            api.create(&PostParams::default(), &widget(&format!("{p}-1"), "red", 1))
                .await
                .expect("1");
            wait_seen(&seen, &format!("{p}-1")).await;
            sb.faults().close_watches();
            api.create(&PostParams::default(), &widget(&format!("{p}-2"), "red", 1))
                .await
                .expect("2");
            wait_seen(&seen, &format!("{p}-2")).await;
            sb.faults().gone_next_watch();
            sb.faults().close_watches();
            api.create(&PostParams::default(), &widget(&format!("{p}-3"), "red", 1))
                .await
                .expect("3");
            wait_seen(&seen, &format!("{p}-3")).await;
            sb.faults().simulate_restart();
            api.create(&PostParams::default(), &widget(&format!("{p}-4"), "red", 1))
                .await
                .expect("4");
            wait_seen(&seen, &format!("{p}-4")).await;
            assert!(*inits.lock().expect("lock") >= 2, "410 forced a relist");
        }
    })
    .await;
}

#[tokio::test]
async fn injected_failures_and_latency() {
    bounded(async {
        let (sb, client) = with_widgets().await;
        let api = widgets(&client, "default");
        api.create(&PostParams::default(), &widget("a", "red", 1))
            .await
            .expect("a");
        sb.faults().fail_next(2, "/apis/example.test/", 500);
        for _ in 0..2 {
            match api.get("a").await {
                Err(kube::Error::Api(s)) => {
                    assert_eq!((s.code, s.reason.as_str()), (500, "InternalError"))
                }
                other => panic!("expected 500, got {other:?}"),
            }
        }
        assert!(api.get("a").await.is_ok());
        sb.faults().fail_next_method(1, "PATCH", "/apis/", 500);
        assert!(api.get("a").await.is_ok(), "GET not affected");
        match api
            .patch(
                "a",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"size": 2}})),
            )
            .await
        {
            Err(kube::Error::Api(s)) => assert_eq!(s.code, 500),
            other => panic!("expected 500, got {other:?}"),
        }
        // kube-rs retries 429 by itself (3 attempts by default): two throttled answers are absorbed.
        sb.faults().fail_next_method(2, "PATCH", "/apis/", 429);
        let w = api
            .patch(
                "a",
                &PatchParams::default(),
                &Patch::Merge(json!({"spec": {"size": 3}})),
            )
            .await
            .expect("retried");
        assert_eq!(w.data["spec"]["size"], json!(3));
        let (code, body) = http(
            &sb,
            "GET",
            "/api/v1/namespaces/default",
            "application/json",
            "",
        )
        .await;
        assert_eq!((code, body["kind"].as_str()), (200, Some("Namespace")));
        sb.faults().fail_next(1, "/api/v1/namespaces/default", 429);
        let (code, body) = http(
            &sb,
            "GET",
            "/api/v1/namespaces/default",
            "application/json",
            "",
        )
        .await;
        assert_eq!(
            (code, body["reason"].as_str()),
            (429, Some("TooManyRequests"))
        );
        sb.faults().set_latency(Duration::from_millis(300));
        let t = Instant::now();
        api.get("a").await.expect("slow get");
        assert!(t.elapsed() >= Duration::from_millis(300));
        sb.faults().clear();
        // The same controls over HTTP.
        let (code, _) = http(
            &sb,
            "POST",
            "/__sandbox/faults/fail",
            "application/json",
            r#"{"count":1,"pathPrefix":"/api/v1","status":503}"#,
        )
        .await;
        assert_eq!(code, 200);
        let (code, body) = http(&sb, "GET", "/api/v1/namespaces", "application/json", "").await;
        assert_eq!((code, body["code"].as_u64()), (503, Some(503)));
    })
    .await;
}
