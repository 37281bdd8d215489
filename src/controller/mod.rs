//! The `SamlConnection` controller: kube-runtime wiring around [`reconcile::reconcile`].

mod apply;
mod cache;
mod cached;
mod compact;
mod context;
mod error;
mod kubeio;
mod lifecycle;
mod reconcile;
mod rounds;

use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::runtime::controller::{Action, Config as ControllerConfig, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::{WatchStreamExt, reflector, watcher};
use kube::{Api, ResourceExt};
use rand::Rng;

pub use cached::CachedConnection;
pub use context::{Context, Settings};
pub use error::Error;
pub use kubeio::{
    CONNECTION_ID_ANNOTATION, CREATE_PENDING_ANNOTATION, RECONCILE_REQUESTED_ANNOTATION,
    fetch_missing_sources,
};
pub use lifecycle::create_display_name;
pub use reconcile::connection_id_of;

use crate::reconcile::desired::{referenced_config_maps, referenced_secrets};

/// Backoff after a transient failure: exponential per object with full jitter, at least the
/// server's `Retry-After`.
pub fn error_policy(obj: Arc<CachedConnection>, error: &Error, ctx: Arc<Context>) -> Action {
    let failures = ctx.record_failure(&obj.uid().unwrap_or_default());
    let s = &ctx.settings;
    let exp = 1u32
        .checked_shl(failures.saturating_sub(1).min(16))
        .unwrap_or(u32::MAX);
    let cap = s.backoff_base.saturating_mul(exp).min(s.backoff_max);
    // Full jitter, but never below a tenth of the cap so retries stay spaced.
    let jittered = cap.mul_f64(rand::rng().random_range(0.1..=1.0));
    let delay = error
        .retry_after()
        .map_or(jittered, |after| after.max(jittered));
    tracing::debug!(object = %obj.name_any(), failures, ?delay, "backing off");
    Action::requeue(delay)
}

fn watch_config(settings: &Settings) -> watcher::Config {
    let mut wc = watcher::Config::default().any_semantic();
    if let Some(selector) = &settings.label_selector {
        wc = wc.labels(selector);
    }
    wc
}

/// The resources of `store` in `namespace` that reference the object `name` (a Secret when
/// `secret` is true, else a ConfigMap).
fn referencing(
    store: &Store<CachedConnection>,
    namespace: Option<String>,
    name: &str,
    secret: bool,
) -> Vec<ObjectRef<CachedConnection>> {
    store
        .state()
        .iter()
        .filter(|o| o.namespace() == namespace)
        .filter(|o| {
            if secret {
                referenced_secrets(&o.spec).contains(name)
            } else {
                referenced_config_maps(&o.spec).contains(name)
            }
        })
        .map(|o| ObjectRef::from_obj(o.as_ref()))
        .collect()
}

/// One controller for one namespace (or all): watches SamlConnections and the Secrets and
/// ConfigMaps they reference, and re-checks everything every resync interval.
fn controller(
    ctx: Arc<Context>,
    namespace: Option<&str>,
    readiness: Arc<Readiness>,
    shutdown: impl Future<Output = ()> + Send + Sync + 'static,
) -> impl Stream<Item = ()> {
    let client = ctx.client.clone();
    let (conns, secrets, config_maps): (Api<CachedConnection>, Api<Secret>, Api<ConfigMap>) =
        match namespace {
            Some(ns) => (
                Api::namespaced(client.clone(), ns),
                Api::namespaced(client.clone(), ns),
                Api::namespaced(client, ns),
            ),
            None => (
                Api::all(client.clone()),
                Api::all(client.clone()),
                Api::all(client),
            ),
        };
    let settings = ctx.settings.clone();
    // The reflector is built here (not by `Controller::new`) so the initial list can be seen:
    // `Store::wait_until_ready` wakes only one waiter and the controller itself is one, so
    // readiness is taken from the watcher's first `InitDone` instead.
    let (store, writer) = reflector::store();
    let first_sync = std::sync::atomic::AtomicBool::new(false);
    let (listed, listings) = futures::channel::mpsc::unbounded();
    // Changed objects are reconciled right away; a complete listing (start-up, re-list) starts
    // a round over all of them instead (see `rounds`).
    let trigger = reflector(
        writer,
        // Objects arrive as `CachedConnection`s: only what a reconcile reads stays in memory.
        watcher(conns, watch_config(&settings)).default_backoff(),
    )
    .inspect_ok(move |event| {
        if matches!(event, watcher::Event::InitDone) {
            if !first_sync.swap(true, std::sync::atomic::Ordering::SeqCst) {
                tracing::info!("SamlConnection cache synced");
                readiness.synced();
            }
            // Fails only once the rounds stream is gone, at shutdown.
            let _ = listed.unbounded_send(());
        }
    })
    .try_filter_map(|event| {
        futures::future::ready(Ok(match event {
            watcher::Event::Apply(obj) => Some(obj),
            _ => None,
        }))
    });
    let controller = Controller::for_stream(trigger, store.clone())
        .with_config(ControllerConfig::default().concurrency(settings.concurrency));
    let secret_store = store.clone();
    let rounds = Arc::new(rounds::Rounds::default());
    let round_stream = rounds::stream(rounds::Source {
        rounds: rounds.clone(),
        store: store.clone(),
        listed: listings,
        ctx: ctx.clone(),
        resync: settings.resync_interval,
        window: usize::from(settings.concurrency).saturating_mul(ROUND_WINDOW_PER_WORKER),
    });
    controller
        .watches(
            secrets,
            watcher::Config::default().any_semantic(),
            move |s: Secret| referencing(&secret_store, s.namespace(), &s.name_any(), true),
        )
        .watches(
            config_maps,
            watcher::Config::default().any_semantic(),
            move |c: ConfigMap| referencing(&store, c.namespace(), &c.name_any(), false),
        )
        .reconcile_on(round_stream)
        .graceful_shutdown_on(shutdown)
        .run(
            move |obj, ctx| {
                let rounds = rounds.clone();
                async move {
                    let result = reconcile::reconcile(obj.clone(), ctx.clone()).await;
                    if let Some(org) = rounds.done(&obj) {
                        ctx.orgs.release(&org);
                    }
                    result
                }
            },
            error_policy,
            ctx,
        )
        .map(|result| {
            if let Err(err) = result {
                tracing::debug!(%err, "controller event");
            }
        })
}

/// Resources of a round queued or reconciling at once, per concurrent reconcile.
const ROUND_WINDOW_PER_WORKER: usize = 4;

/// Runs the controllers until `shutdown` resolves. Returns once every controller stopped.
pub async fn run(
    ctx: Arc<Context>,
    readiness: Arc<Readiness>,
    shutdown: futures::future::Shared<impl Future<Output = ()> + Send + Sync + 'static>,
) {
    let namespaces: Vec<Option<String>> = if ctx.settings.namespaces.is_empty() {
        vec![None]
    } else {
        ctx.settings.namespaces.iter().cloned().map(Some).collect()
    };
    readiness.expect_caches(namespaces.len());
    let streams = namespaces.iter().map(|ns| {
        controller(
            ctx.clone(),
            ns.as_deref(),
            readiness.clone(),
            shutdown.clone(),
        )
        .boxed()
    });
    futures::stream::select_all(streams)
        .for_each(|()| async {})
        .await;
}

/// Tracks whether every controller's cache has synced (`/readyz`).
#[derive(Debug, Default)]
pub struct Readiness {
    pending: std::sync::atomic::AtomicUsize,
    started: std::sync::atomic::AtomicBool,
    standby: std::sync::atomic::AtomicBool,
}

impl Readiness {
    fn expect_caches(&self, caches: usize) {
        self.pending
            .store(caches, std::sync::atomic::Ordering::SeqCst);
        self.started
            .store(true, std::sync::atomic::Ordering::SeqCst);
    }

    fn synced(&self) {
        self.pending
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }

    /// Marks a replica waiting for leadership as ready (it is healthy, just not leading).
    pub fn standby(&self, waiting: bool) {
        self.standby
            .store(waiting, std::sync::atomic::Ordering::SeqCst);
    }

    /// True once every watched cache has its initial list, or while standing by.
    pub fn is_ready(&self) -> bool {
        self.standby.load(std::sync::atomic::Ordering::SeqCst)
            || self.started.load(std::sync::atomic::Ordering::SeqCst)
                && self.pending.load(std::sync::atomic::Ordering::SeqCst) == 0
    }
}

/// Counts reconciles in progress, so shutdown waits only when there is work to finish.
#[derive(Debug, Default)]
pub struct InFlight {
    count: std::sync::atomic::AtomicUsize,
    idle: tokio::sync::Notify,
}

impl InFlight {
    /// Marks a reconcile as started until the guard is dropped.
    pub fn start(self: &Arc<Self>) -> InFlightGuard {
        self.count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        InFlightGuard(self.clone())
    }

    /// Resolves once no reconcile is in progress.
    pub async fn idle(&self) {
        loop {
            let notified = self.idle.notified();
            if self.count.load(std::sync::atomic::Ordering::SeqCst) == 0 {
                return;
            }
            notified.await;
        }
    }
}

/// Held while a reconcile runs.
#[derive(Debug)]
pub struct InFlightGuard(Arc<InFlight>);

impl Drop for InFlightGuard {
    fn drop(&mut self) {
        if self
            .0
            .count
            .fetch_sub(1, std::sync::atomic::Ordering::SeqCst)
            == 1
        {
            self.0.idle.notify_waiters();
        }
    }
}

/// How long a graceful shutdown may take before the process exits anyway.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);
