//! Shared state of the controller: clients, caches, settings, metrics, Event recorder.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Resource, ResourceExt};
use tokio::time::Instant;

use super::cache::OrgCache;
use super::cached::CachedConnection;
use crate::metadata::MetadataFetcher;
use crate::metrics::Metrics;
use crate::stytch::StytchPool;

/// Settings of a running controller.
#[derive(Clone, Debug)]
pub struct Settings {
    /// How long before a certificate's expiry `CertificateExpiringSoon` turns True.
    pub expiry_warning: Duration,
    /// How often every resource is compared with Stytch again.
    pub resync_interval: Duration,
    /// Namespaces watched; empty means all.
    pub namespaces: Vec<String>,
    /// Label selector restricting the watched resources (sharding).
    pub label_selector: Option<String>,
    /// Concurrent reconciles.
    pub concurrency: u16,
    /// Base delay of the per-object backoff after transient errors.
    pub backoff_base: Duration,
    /// Largest per-object backoff.
    pub backoff_max: Duration,
    /// Minimum spacing of identical Warning Events for one object.
    pub warning_event_interval: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            expiry_warning: Duration::from_secs(30 * 24 * 3600),
            resync_interval: Duration::from_secs(600),
            namespaces: Vec::new(),
            label_selector: None,
            concurrency: 8,
            backoff_base: Duration::from_secs(1),
            backoff_max: Duration::from_secs(300),
            warning_event_interval: Duration::from_secs(300),
        }
    }
}

/// Everything a reconcile needs.
pub struct Context {
    pub client: kube::Client,
    pub stytch: Arc<StytchPool>,
    pub orgs: OrgCache,
    pub metadata: MetadataFetcher,
    pub metrics: Arc<Metrics>,
    pub recorder: Recorder,
    pub settings: Settings,
    /// When the current resync round began: answers read since then serve the whole round.
    resync_started: Mutex<Instant>,
    /// Reconciles in progress (shutdown waits for them, up to a grace period).
    pub in_flight: Arc<super::InFlight>,
    /// Consecutive transient failures per object uid.
    failures: Mutex<HashMap<String, u32>>,
    /// Last time a Warning with a given reason was published per object uid.
    warnings: Mutex<HashMap<(String, String), Instant>>,
}

impl Context {
    pub fn new(
        client: kube::Client,
        stytch: Arc<StytchPool>,
        metadata: MetadataFetcher,
        metrics: Arc<Metrics>,
        recorder: Recorder,
        settings: Settings,
        in_flight: Arc<super::InFlight>,
    ) -> Self {
        Self {
            client,
            stytch,
            // A resync round is served by one read per organization; the TTL only bounds how
            // stale an answer can get, and is below the interval so every round reads afresh.
            orgs: OrgCache::new(settings.resync_interval / 2),
            resync_started: Mutex::new(Instant::now()),
            metadata,
            metrics,
            recorder,
            settings,
            in_flight,
            failures: Mutex::default(),
            warnings: Mutex::default(),
        }
    }

    /// Marks the start of a resync round.
    pub fn start_resync_round(&self) {
        *self
            .resync_started
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Instant::now();
    }

    /// How fresh the organization listing must be for `obj`: a resource whose spec changed since
    /// its status was written, or with a new reconcile request, needs a read made now; a new
    /// resource or a resync can use one from this resync round (so a burst of new resources of
    /// one organization costs one read).
    pub fn freshness_for(&self, obj: &CachedConnection) -> Instant {
        let status = obj.status.as_ref();
        let observed = status.and_then(|s| s.observed_generation);
        let requested = obj.annotations().get(super::RECONCILE_REQUESTED_ANNOTATION);
        let handled = status.and_then(|s| s.last_handled_reconcile_at.as_ref());
        let spec_changed = observed.is_some() && observed != obj.metadata.generation;
        if spec_changed || (requested.is_some() && requested != handled) {
            Instant::now()
        } else {
            *self
                .resync_started
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        }
    }

    /// Counts a transient failure and returns how many happened in a row.
    pub fn record_failure(&self, uid: &str) -> u32 {
        let mut failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let n = failures.entry(uid.to_owned()).or_default();
        *n = n.saturating_add(1);
        *n
    }

    /// Resets the failure count after a reconcile that did not fail transiently.
    pub fn record_success(&self, uid: &str) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(uid);
    }

    /// Publishes an Event about `obj`. Warnings with the same reason are published at most once
    /// per `warning_event_interval` per object, so a flapping resource cannot flood Events.
    pub async fn event(
        &self,
        obj: &CachedConnection,
        type_: EventType,
        reason: &str,
        action: &str,
        note: String,
    ) {
        if type_ == EventType::Warning {
            let key = (obj.uid().unwrap_or_default(), reason.to_owned());
            let mut warnings = self.warnings.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(last) = warnings.get(&key)
                && last.elapsed() < self.settings.warning_event_interval
            {
                return;
            }
            warnings.insert(key, Instant::now());
        }
        let event = Event {
            type_,
            reason: reason.to_owned(),
            note: Some(note.chars().take(1000).collect()),
            action: action.to_owned(),
            secondary: None,
        };
        if let Err(err) = self.recorder.publish(&event, &obj.object_ref(&())).await {
            tracing::warn!(%err, object = %obj.name_any(), "cannot publish Event");
        }
    }

    /// Forgets per-object state of a deleted resource.
    pub fn forget(&self, obj: &CachedConnection) {
        let uid = obj.uid().unwrap_or_default();
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&uid);
        self.warnings
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(u, _), _| *u != uid);
        self.metrics
            .forget(&obj.namespace().unwrap_or_default(), &obj.name_any());
    }
}
