//! Watch streams: initial events, replay from the retained log, live events in resourceVersion
//! order, bookmarks, `sendInitialEvents`, `410 Gone`, `timeoutSeconds`, forced closes.

use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::response::Response;
use serde_json::{Value, json};
use tokio::sync::{broadcast, mpsc};

use super::error::ApiError;
use super::events;
use super::faults::Faults;
use super::resources::ResourceType;
use super::selectors::{FieldSelector, LabelSelector};
use super::store::{Change, EventType, State, Store};

/// Interval between bookmarks when `allowWatchBookmarks=true`.
pub const BOOKMARK_INTERVAL: Duration = Duration::from_secs(2);
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

/// A watch request.
#[derive(Debug, Clone)]
pub struct WatchSpec {
    /// Resource type.
    pub rt: ResourceType,
    /// Requested version.
    pub version: String,
    /// Namespace filter (`None`: all namespaces / cluster scope).
    pub ns: Option<String>,
    /// Label selector.
    pub labels: LabelSelector,
    /// Field selector.
    pub fields: FieldSelector,
    /// `resourceVersion` parameter.
    pub rv: Option<String>,
    /// `sendInitialEvents=true`.
    pub send_initial: bool,
    /// `allowWatchBookmarks=true`.
    pub bookmarks: bool,
    /// `timeoutSeconds`.
    pub timeout: Option<Duration>,
    /// Events carry one-row `Table` objects (`kubectl get -w`).
    pub table: bool,
    /// Events carry `PartialObjectMetadata` objects (kube-rs metadata watcher).
    pub metadata_only: bool,
}

impl WatchSpec {
    fn selects(&self, obj: &Value) -> bool {
        let ns_ok = match &self.ns {
            Some(ns) => super::meta::meta_str(obj, "namespace").unwrap_or("") == ns,
            None => true,
        };
        ns_ok && self.labels.matches(obj) && self.fields.matches(obj)
    }

    fn output(&self, obj: &Value) -> Value {
        let mut o = obj.clone();
        o["apiVersion"] = json!(self.rt.api_version(&self.version));
        if self.metadata_only {
            return super::handlers::partial(&o);
        }
        if self.table {
            let rv = super::store::object_rv(&o);
            return super::table::render(&self.rt, &self.version, &[o], rv, "Metadata");
        }
        o
    }

    /// The event (if any) this watch sends for a change.
    fn event_for(&self, change: &Change) -> Option<Value> {
        let key = self.rt.key();
        let as_core_event = key == "events" && change.key == events::NEW_EVENTS_KEY;
        if change.key != key && !as_core_event {
            return None;
        }
        if as_core_event {
            let converted = Change {
                rv: change.rv,
                key: key.clone(),
                kind: change.kind,
                object: events::to_core(&change.object),
                old: change.old.as_ref().map(events::to_core),
            };
            return self.event_for(&converted);
        }
        let now = self.selects(&change.object);
        let kind = match change.kind {
            EventType::Modified => {
                let before = change.old.as_ref().map(|o| self.selects(o)).unwrap_or(now);
                match (before, now) {
                    (true, true) => EventType::Modified,
                    (false, true) => EventType::Added,
                    (true, false) => EventType::Deleted,
                    (false, false) => return None,
                }
            }
            k if now => k,
            _ => return None,
        };
        Some(json!({"type": kind.as_str(), "object": self.output(&change.object)}))
    }

    fn bookmark(&self, rv: u64, initial_end: bool) -> Value {
        let mut metadata = json!({"resourceVersion": rv.to_string()});
        if initial_end {
            metadata["annotations"] = json!({"k8s.io/initial-events-end": "true"});
        }
        json!({"type": "BOOKMARK", "object": {
            "kind": self.rt.kind, "apiVersion": self.rt.api_version(&self.version), "metadata": metadata}})
    }
}

fn gone(message: String) -> Value {
    json!({"type": "ERROR", "object": ApiError::Gone(message).status()})
}

fn initial_events(state: &State, spec: &WatchSpec) -> (Vec<Value>, bool) {
    let rv_param = spec.rv.as_deref().filter(|r| !r.is_empty() && *r != "0");
    let mut events = Vec::new();
    if spec.send_initial || rv_param.is_none() {
        if let Some(objs) = state.objects(&spec.rt.key()) {
            for obj in objs.values().filter(|o| spec.selects(o)) {
                events.push(json!({"type": "ADDED", "object": spec.output(obj)}));
            }
        }
        if spec.rt.key() == "events" {
            for obj in state
                .objects(events::NEW_EVENTS_KEY)
                .into_iter()
                .flat_map(|m| m.values())
            {
                let core = events::to_core(obj);
                if spec.selects(&core) {
                    events.push(json!({"type": "ADDED", "object": spec.output(&core)}));
                }
            }
        }
        if spec.send_initial {
            events.push(spec.bookmark(state.rv, true));
        }
        return (events, true);
    }
    let from: u64 = match rv_param.and_then(|r| r.parse().ok()) {
        Some(n) => n,
        None => {
            return (
                vec![gone(format!("invalid resource version: {:?}", spec.rv))],
                false,
            );
        }
    };
    if from < state.compacted {
        return (
            vec![gone(format!(
                "too old resource version: {from} ({})",
                state.compacted + 1
            ))],
            false,
        );
    }
    for change in state.log.iter().filter(|c| c.rv > from) {
        events.extend(spec.event_for(change));
    }
    (events, true)
}

fn line(v: &Value) -> Bytes {
    let mut s = v.to_string();
    s.push('\n');
    Bytes::from(s)
}

/// Starts a watch and returns the streaming response.
pub fn serve(store: Arc<Store>, faults: &Faults, spec: WatchSpec) -> Response {
    let mut close_rx = store.close_signal();
    close_rx.borrow_and_update();
    let (initial, live, start_rv) = {
        let state = store.lock();
        if faults.take_gone() {
            (
                vec![gone(format!(
                    "too old resource version: {} (injected)",
                    state.rv
                ))],
                None,
                state.rv,
            )
        } else {
            let (events, ok) = initial_events(&state, &spec);
            (events, ok.then(|| state.subscribe()), state.rv)
        }
    };
    tracing::debug!(resource = %spec.rt.key(), rv = ?spec.rv, initial = initial.len(), "watch started");
    let (tx, rx) = mpsc::channel::<Bytes>(256);
    tokio::spawn(async move {
        for ev in &initial {
            if tx.send(line(ev)).await.is_err() {
                return;
            }
        }
        let Some(mut live) = live else { return };
        let deadline = tokio::time::sleep(spec.timeout.unwrap_or(DEFAULT_TIMEOUT));
        tokio::pin!(deadline);
        let mut tick = tokio::time::interval(BOOKMARK_INTERVAL);
        tick.tick().await;
        let mut last_rv = start_rv;
        loop {
            let out = tokio::select! {
                _ = &mut deadline => break,
                _ = close_rx.changed() => break,
                _ = tx.closed() => break,
                _ = tick.tick(), if spec.bookmarks => spec.bookmark(last_rv, false),
                r = live.recv() => match r {
                    Ok(change) => {
                        last_rv = change.rv;
                        match spec.event_for(&change) {
                            Some(ev) => ev,
                            None => continue,
                        }
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) | Err(broadcast::error::RecvError::Closed) => break,
                },
            };
            if tx.send(line(&out)).await.is_err() {
                break;
            }
        }
        tracing::debug!(resource = %spec.rt.key(), "watch ended");
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv()
            .await
            .map(|b| (Ok::<Bytes, std::convert::Infallible>(b), rx))
    });
    Response::builder()
        .header("content-type", "application/json")
        .header("cache-control", "no-cache, private")
        .body(Body::from_stream(stream))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}
