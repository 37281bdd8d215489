//! Leader election on a `coordination.k8s.io/v1` Lease (crate `kube-lease-manager`): with
//! several replicas, only the holder of the Lease runs the controllers.

use std::time::Duration;

use kube_lease_manager::{LeaseManager, LeaseManagerBuilder};
use rand::Rng;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Leader election flags.
#[derive(Clone, Debug, clap::Args)]
pub struct LeaderArgs {
    /// Run the controllers only while holding the Lease (for more than one replica).
    #[arg(long)]
    pub leader_elect: bool,
    /// Namespace of the Lease: the operator's own namespace.
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pub leader_election_namespace: String,
    /// Name of the Lease.
    #[arg(long, default_value = "stytch-saml-operator")]
    pub leader_election_lease: String,
    /// Lease duration in seconds: how long a crashed leader blocks the others.
    #[arg(long, default_value_t = 15)]
    pub leader_election_lease_seconds: u64,
}

/// Why leadership could not be taken.
#[derive(Debug, thiserror::Error)]
#[error("leader election failed: {0}")]
pub struct LeaderError(String);

/// Held while this replica leads; dropping it releases the Lease.
pub struct Leadership {
    state: watch::Receiver<bool>,
    task: JoinHandle<kube_lease_manager::Result<LeaseManager>>,
}

/// This replica's identity: the pod name (or `stytch-saml-operator`) plus a random suffix.
pub fn identity() -> String {
    let base = std::env::var("POD_NAME").unwrap_or_else(|_| "stytch-saml-operator".into());
    format!("{base}-{:08x}", rand::rng().random::<u32>())
}

/// Waits until this replica holds the Lease.
pub async fn acquire(
    client: kube::Client,
    args: &LeaderArgs,
    identity: String,
) -> Result<Leadership, LeaderError> {
    let duration = args.leader_election_lease_seconds.max(2);
    let manager = LeaseManagerBuilder::new(client, args.leader_election_lease.clone())
        .with_namespace(args.leader_election_namespace.clone())
        .with_identity(identity.clone())
        .with_duration(duration)
        .with_grace((duration / 3).max(1))
        .with_field_manager(crate::api::FIELD_MANAGER)
        .build()
        .await
        .map_err(|e| LeaderError(e.to_string()))?;
    let (mut state, task) = manager.watch().await;
    tracing::info!(%identity, lease = %args.leader_election_lease, "waiting for leadership");
    state
        .wait_for(|leading| *leading)
        .await
        .map_err(|e| LeaderError(e.to_string()))?;
    tracing::info!(%identity, "became leader");
    Ok(Leadership { state, task })
}

impl Leadership {
    /// Resolves when leadership is lost.
    pub async fn lost(&mut self) {
        let _ = self.state.wait_for(|leading| !*leading).await;
    }

    /// Releases the Lease (so a standby takes over at once) and waits, briefly, for that.
    pub async fn release(self) {
        let Leadership { state, task } = self;
        drop(state);
        let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
    }
}
