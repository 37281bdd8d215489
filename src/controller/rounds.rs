//! Reconcile rounds: at start-up, after every re-list of the watch and every resync interval,
//! every resource is reconciled once.
//!
//! A round hands the resources to the controller in order of organization, and only a window
//! of them at a time: a new one when an earlier one has been reconciled. So a round reads each
//! organization's listing once, when the first of its resources comes up, and the listing is let
//! go when the last of them is done. The work queued at once, and the Stytch listings held, are
//! bounded by the window instead of by the number of resources (handing every resource over at
//! once queues them in random order, which needs every organization's listing at the same time).

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::channel::mpsc::UnboundedReceiver;
use futures::{FutureExt, Stream, StreamExt};
use kube::ResourceExt;
use kube::runtime::reflector::{ObjectRef, Store};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::cached::CachedConnection;
use super::context::Context;

type Ref = ObjectRef<CachedConnection>;

/// How long a handed-out resource may stay unreconciled before a round stops waiting for it.
const STALE: Duration = Duration::from_secs(600);

/// The resources of the round in progress that were handed out and not yet reconciled.
#[derive(Debug, Default)]
pub struct Rounds {
    state: Mutex<State>,
    progress: Notify,
}

#[derive(Debug, Default)]
struct State {
    /// Handed out, not yet reconciled, with their organization and when they were handed out.
    /// At most a window's worth (see [`stream`]), so scanning it is cheap.
    pending: HashMap<Ref, (String, Instant)>,
    /// The organization whose resources are being handed out.
    current: Option<String>,
}

impl State {
    /// `org`, if no reconcile of this round needs its listing anymore.
    fn finished(&self, org: String) -> Option<String> {
        let needed = self.current.as_ref() == Some(&org)
            || self.pending.values().any(|(pending, _)| *pending == org);
        (!needed).then_some(org)
    }

    fn remove(&mut self, obj_ref: &Ref) -> Option<String> {
        self.pending.remove(obj_ref).map(|(org, _)| org)
    }
}

impl Rounds {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Records `obj_ref` (of `org`) as handed out. Returns the organization the round left
    /// behind, when none of its resources is still pending.
    fn hand_out(&self, obj_ref: Ref, org: String) -> Option<String> {
        let mut state = self.lock();
        state.pending.insert(obj_ref, (org.clone(), Instant::now()));
        let previous = state.current.replace(org)?;
        state.finished(previous)
    }

    /// Ends handing out; returns the last organization when none of its resources is pending.
    fn close(&self) -> Option<String> {
        let mut state = self.lock();
        let last = state.current.take()?;
        state.finished(last)
    }

    /// Marks `obj` reconciled. Returns its organization when this round is done with it, so
    /// its listing can be let go.
    pub fn done(&self, obj: &CachedConnection) -> Option<String> {
        let obj_ref = key(obj);
        let released = {
            let mut state = self.lock();
            let org = state.remove(&obj_ref)?;
            state.finished(org)
        };
        self.progress.notify_waiters();
        released
    }

    fn pending(&self) -> usize {
        self.lock().pending.len()
    }

    /// Forgets handed-out resources the store no longer has (deleted before their turn: the
    /// controller never reconciles them), and any handed out more than [`STALE`] before `now`
    /// (not expected: a safety valve, so a resource whose reconcile never reports back cannot
    /// hold up every later round). Returns the organizations left without pending ones.
    fn prune(&self, store: &Store<CachedConnection>, now: Instant) -> Vec<String> {
        let mut state = self.lock();
        let gone: Vec<Ref> = state
            .pending
            .iter()
            .filter(|(r, (_, at))| store.get(r).is_none() || now.duration_since(*at) > STALE)
            .map(|(r, _)| r.clone())
            .collect();
        if !gone.is_empty() {
            tracing::debug!(
                resources = gone.len(),
                "round forgets resources it handed out"
            );
        }
        let orgs: Vec<String> = gone.iter().filter_map(|r| state.remove(r)).collect();
        orgs.into_iter().filter_map(|o| state.finished(o)).collect()
    }

    /// Waits until fewer than `window` handed-out resources are pending.
    async fn room(&self, window: usize, store: &Store<CachedConnection>, ctx: &Context) {
        loop {
            let progress = self.progress.notified();
            if self.pending() < window {
                return;
            }
            if tokio::time::timeout(Duration::from_secs(1), progress)
                .await
                .is_err()
            {
                for org in self.prune(store, Instant::now()) {
                    ctx.orgs.release(&org);
                }
            }
        }
    }
}

/// The reference the controller and the round use for `obj` (name and namespace only).
fn key(obj: &CachedConnection) -> Ref {
    let r = ObjectRef::new(&obj.name_any());
    match obj.namespace() {
        Some(ns) => r.within(&ns),
        None => r,
    }
}

/// Why a round starts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Start {
    /// The watch listed every resource (at start-up or after it lost its place).
    Listed,
    /// The resync interval passed: the round also reads Stytch afresh.
    Resync,
}

/// What drives the rounds of [`stream`].
pub struct Source {
    pub rounds: Arc<Rounds>,
    pub store: Store<CachedConnection>,
    /// One message per complete listing of the watch.
    pub listed: UnboundedReceiver<()>,
    pub ctx: Arc<Context>,
    pub resync: Duration,
    /// Handed-out resources pending at once, at most.
    pub window: usize,
}

/// The resources to reconcile, round after round: one round after every message of `listed`
/// (the watch's initial list and re-lists) and one every `resync` (ticks at a fixed rate; a
/// round that overruns a tick is followed by one right away, missed ticks are not made up).
/// At most `window` handed-out resources are pending at any time.
pub fn stream(source: Source) -> impl Stream<Item = Ref> + Send + 'static {
    struct Driver {
        d: Source,
        next_tick: Instant,
        queue: VecDeque<Arc<CachedConnection>>,
    }
    let driver = Driver {
        next_tick: Instant::now() + source.resync,
        d: Source {
            window: source.window.max(1),
            ..source
        },
        queue: VecDeque::new(),
    };
    futures::stream::unfold(driver, |mut driver| async move {
        let Driver {
            d,
            next_tick,
            queue,
        } = &mut driver;
        while queue.is_empty() {
            let left = d
                .rounds
                .close()
                .into_iter()
                .chain(d.rounds.prune(&d.store, Instant::now()));
            for org in left {
                d.ctx.orgs.release(&org);
            }
            let start = tokio::select! {
                () = tokio::time::sleep_until(*next_tick) => Start::Resync,
                listed = d.listed.next() => {
                    listed?;
                    Start::Listed
                }
            };
            // Starts that came in meanwhile are served by this round.
            while let Some(Some(())) = d.listed.next().now_or_never() {}
            let now = Instant::now();
            if start == Start::Resync || *next_tick <= now {
                *next_tick = (*next_tick + d.resync).max(now);
                d.ctx.start_resync_round();
            }
            *queue = order(&d.store);
            tracing::debug!(?start, resources = queue.len(), "reconcile round");
        }
        d.rounds.room(d.window, &d.store, &d.ctx).await;
        let obj = queue.pop_front()?;
        let obj_ref = key(&obj);
        if let Some(left) = d
            .rounds
            .hand_out(obj_ref.clone(), obj.spec.organization_id.clone())
        {
            d.ctx.orgs.release(&left);
        }
        Some((obj_ref, driver))
    })
}

/// The store's resources by organization, then namespace and name.
fn order(store: &Store<CachedConnection>) -> VecDeque<Arc<CachedConnection>> {
    let mut all = store.state();
    all.sort_by(|a, b| order_key(a).cmp(&order_key(b)));
    all.into()
}

fn order_key(o: &CachedConnection) -> (&str, Option<&str>, Option<&str>) {
    (
        &o.spec.organization_id,
        o.metadata.namespace.as_deref(),
        o.metadata.name.as_deref(),
    )
}

#[cfg(test)]
mod tests {
    use kube::runtime::reflector;
    use kube::runtime::watcher::Event;
    use serde_json::json;

    use super::*;

    fn conn(name: &str, org: &str) -> CachedConnection {
        serde_json::from_value(json!({
            "apiVersion": "sso.stytch-operator.dev/v1alpha1",
            "kind": "SamlConnection",
            "metadata": {"name": name, "namespace": "default"},
            "spec": {"organizationId": org, "credentialsRef": {"name": "creds"}},
        }))
        .expect("connection")
    }

    #[test]
    fn an_organization_is_released_when_the_round_moved_on_and_its_last_resource_is_done() {
        let rounds = Rounds::default();
        let (a1, a2, b1) = (
            conn("a1", "org-a"),
            conn("a2", "org-a"),
            conn("b1", "org-b"),
        );
        assert_eq!(rounds.hand_out(key(&a1), "org-a".into()), None);
        assert_eq!(rounds.hand_out(key(&a2), "org-a".into()), None);
        // org-a is still being handed out: a finished reconcile does not release it.
        assert_eq!(rounds.done(&a1), None);
        // The round moves to org-b while a2 is pending: org-a stays.
        assert_eq!(rounds.hand_out(key(&b1), "org-b".into()), None);
        assert_eq!(rounds.done(&a2).as_deref(), Some("org-a"));
        // b1 is done while org-b is current: released only when the round closes.
        assert_eq!(rounds.done(&b1), None);
        assert_eq!(rounds.close().as_deref(), Some("org-b"));
        assert_eq!(rounds.pending(), 0);
    }

    #[test]
    fn moving_on_from_a_finished_organization_releases_it_at_once() {
        let rounds = Rounds::default();
        let (a1, b1) = (conn("a1", "org-a"), conn("b1", "org-b"));
        rounds.hand_out(key(&a1), "org-a".into());
        assert_eq!(rounds.done(&a1), None);
        assert_eq!(
            rounds.hand_out(key(&b1), "org-b".into()).as_deref(),
            Some("org-a")
        );
        // A reconcile the round did not hand out is not counted.
        assert_eq!(rounds.done(&conn("other", "org-c")), None);
        assert_eq!(rounds.pending(), 1);
        // Closing while b1 is pending releases nothing; b1's reconcile does.
        assert_eq!(rounds.close(), None);
        assert_eq!(rounds.done(&b1).as_deref(), Some("org-b"));
    }

    #[test]
    fn a_resource_handed_out_twice_counts_once() {
        let rounds = Rounds::default();
        let a1 = conn("a1", "org-a");
        rounds.hand_out(key(&a1), "org-a".into());
        rounds.hand_out(key(&a1), "org-a".into());
        assert_eq!(rounds.pending(), 1);
        rounds.close();
        assert_eq!(rounds.done(&a1).as_deref(), Some("org-a"));
        assert_eq!(rounds.done(&a1), None);
    }

    #[test]
    fn resources_deleted_before_their_turn_are_pruned() {
        let (store, mut writer) = reflector::store::<CachedConnection>();
        let (kept, gone) = (conn("kept", "org-a"), conn("gone", "org-b"));
        writer.apply_watcher_event(&Event::Apply(kept.clone()));
        let rounds = Rounds::default();
        rounds.hand_out(key(&kept), "org-a".into());
        rounds.hand_out(key(&gone), "org-b".into());
        rounds.close();
        assert_eq!(
            rounds.prune(&store, Instant::now()),
            vec!["org-b".to_owned()]
        );
        assert_eq!(rounds.pending(), 1);
        assert_eq!(rounds.done(&kept).as_deref(), Some("org-a"));
    }

    #[test]
    fn a_resource_that_never_reports_back_is_forgotten_after_a_while() {
        let (store, mut writer) = reflector::store::<CachedConnection>();
        let stuck = conn("stuck", "org-a");
        writer.apply_watcher_event(&Event::Apply(stuck.clone()));
        let rounds = Rounds::default();
        rounds.hand_out(key(&stuck), "org-a".into());
        rounds.close();
        let now = Instant::now();
        assert!(rounds.prune(&store, now).is_empty());
        assert_eq!(rounds.pending(), 1);
        let later = now + STALE + Duration::from_secs(1);
        assert_eq!(rounds.prune(&store, later), vec!["org-a".to_owned()]);
        assert_eq!(rounds.pending(), 0);
    }

    #[test]
    fn a_round_goes_organization_by_organization() {
        let (store, mut writer) = reflector::store::<CachedConnection>();
        for (name, org) in [
            ("z", "org-a"),
            ("y", "org-b"),
            ("x", "org-a"),
            ("w", "org-c"),
        ] {
            writer.apply_watcher_event(&Event::Apply(conn(name, org)));
        }
        let names: Vec<String> = order(&store).iter().map(|o| o.name_any()).collect();
        assert_eq!(names, ["x", "z", "y", "w"]);
    }
}
