//! In-memory object store: one global resourceVersion counter, an event log with a retained
//! window, and a broadcast channel feeding watches (events are published under the store lock,
//! so watchers see them in resourceVersion order without gaps).

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};

use serde_json::Value;
use tokio::sync::{broadcast, watch};

use super::resources::{ResourceType, builtins};

/// Number of events retained for watches resuming from a resourceVersion.
pub const RETAINED_EVENTS: usize = 2000;

/// Watch event type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    /// Object created.
    Added,
    /// Object changed.
    Modified,
    /// Object removed.
    Deleted,
}

impl EventType {
    /// Wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Added => "ADDED",
            Self::Modified => "MODIFIED",
            Self::Deleted => "DELETED",
        }
    }
}

/// A change recorded in the log.
#[derive(Debug, Clone)]
pub struct Change {
    /// resourceVersion of the change.
    pub rv: u64,
    /// Resource key (`plural.group`).
    pub key: String,
    /// Event type.
    pub kind: EventType,
    /// The object after the change (for deletions: the last state).
    pub object: Value,
    /// The object before the change, for modifications.
    pub old: Option<Value>,
}

/// Objects of one resource, keyed by `(namespace, name)` (`""` namespace for cluster scope).
pub type Objects = BTreeMap<(String, String), Value>;

/// Mutable store state; always accessed under the lock.
#[derive(Debug)]
pub struct State {
    /// Last issued resourceVersion.
    pub rv: u64,
    /// Watches starting at or below this resourceVersion get 410 Gone.
    pub compacted: u64,
    /// Resource types by key.
    pub types: BTreeMap<String, ResourceType>,
    /// Objects by resource key.
    pub objects: BTreeMap<String, Objects>,
    /// Retained change log.
    pub log: VecDeque<Arc<Change>>,
    tx: broadcast::Sender<Arc<Change>>,
}

impl State {
    /// Issues the next resourceVersion.
    pub fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    /// Objects of a resource key.
    pub fn objects(&self, key: &str) -> Option<&Objects> {
        self.objects.get(key)
    }

    /// Stores `object` (already carrying `rv`) and publishes the change.
    pub fn put(
        &mut self,
        key: &str,
        ns: &str,
        name: &str,
        object: Value,
        kind: EventType,
        old: Option<Value>,
    ) {
        let rv = object_rv(&object);
        self.objects
            .entry(key.to_string())
            .or_default()
            .insert((ns.to_string(), name.to_string()), object.clone());
        self.publish(Change {
            rv,
            key: key.to_string(),
            kind,
            object,
            old,
        });
    }

    /// Removes an object; `last` is its final state (carrying the deletion rv).
    pub fn remove(&mut self, key: &str, ns: &str, name: &str, last: Value) {
        if let Some(objs) = self.objects.get_mut(key) {
            objs.remove(&(ns.to_string(), name.to_string()));
        }
        let rv = object_rv(&last);
        self.publish(Change {
            rv,
            key: key.to_string(),
            kind: EventType::Deleted,
            object: last,
            old: None,
        });
    }

    fn publish(&mut self, change: Change) {
        let change = Arc::new(change);
        self.log.push_back(change.clone());
        while self.log.len() > RETAINED_EVENTS {
            if let Some(dropped) = self.log.pop_front() {
                self.compacted = self.compacted.max(dropped.rv);
            }
        }
        // No receivers is fine.
        let _ = self.tx.send(change);
    }

    /// Subscribes to future changes (call under the lock to avoid gaps).
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.tx.subscribe()
    }

    /// Simulated restart / compaction: forget the log and jump the counter.
    pub fn compact_all(&mut self, bump: u64) {
        self.rv += bump;
        self.compacted = self.rv;
        self.log.clear();
    }
}

/// resourceVersion of an object as a number (0 when missing).
pub fn object_rv(object: &Value) -> u64 {
    object
        .pointer("/metadata/resourceVersion")
        .and_then(Value::as_str)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0)
}

/// The shared store.
#[derive(Debug)]
pub struct Store {
    state: Mutex<State>,
    closer: watch::Sender<u64>,
}

impl Store {
    /// A store holding the built-in types and namespaces `default` and `kube-system`.
    pub fn new() -> Arc<Self> {
        let (tx, _) = broadcast::channel(8192);
        let mut state = State {
            rv: 0,
            compacted: 0,
            types: BTreeMap::new(),
            objects: BTreeMap::new(),
            log: VecDeque::new(),
            tx,
        };
        for rt in builtins() {
            state.types.insert(rt.key(), rt);
        }
        for ns in ["default", "kube-system", "kube-public"] {
            let rv = state.next_rv();
            let obj = super::meta::new_namespace(ns, rv);
            state.put("namespaces", "", ns, obj, EventType::Added, None);
        }
        let (closer, _) = watch::channel(0);
        Arc::new(Self {
            state: Mutex::new(state),
            closer,
        })
    }

    /// Locks the state (a poisoned lock is recovered: the state stays usable).
    pub fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A receiver notified when all watches must close.
    pub fn close_signal(&self) -> watch::Receiver<u64> {
        self.closer.subscribe()
    }

    /// Closes every open watch stream.
    pub fn close_watches(&self) {
        self.closer.send_modify(|n| *n += 1);
    }
}
