//! Leader election with `kube-lease-manager` (server-side apply conflicts make locking exclusive).

mod kube_common;

use std::time::Duration;

use kube_common::*;
use kube_lease_manager::{LeaseCreateMode, LeaseManagerBuilder};

#[tokio::test]
async fn lease_manager_lock_is_exclusive_and_handed_over_on_release() {
    bounded(async {
        let sb = start().await;
        let client = sb.client().await.expect("client");
        let build = |id: &str| {
            LeaseManagerBuilder::new(client.clone(), "leader")
                .with_namespace("default")
                .with_identity(id)
                .with_duration(4)
                .with_grace(1)
                .with_create_mode(LeaseCreateMode::AutoCreate)
                .build()
        };
        let a = build("a").await.expect("a");
        let b = build("b").await.expect("b");
        let a_locked = tokio::time::timeout(Duration::from_secs(10), a.changed())
            .await
            .expect("a in time")
            .expect("a changed");
        assert!(a_locked, "a acquires the free lease");
        // b cannot take a held (and renewed) lease.
        let b_try = tokio::time::timeout(Duration::from_millis(1500), b.changed()).await;
        assert!(
            !matches!(b_try, Ok(Ok(true))),
            "b must not lock while a holds it: {b_try:?}"
        );
        a.release().await.expect("release");
        let b_locked = tokio::time::timeout(Duration::from_secs(15), async {
            loop {
                if b.changed().await.expect("b changed") {
                    return true;
                }
            }
        })
        .await
        .expect("b locks after release");
        assert!(b_locked);
        let lease: k8s_openapi::api::coordination::v1::Lease =
            kube::Api::namespaced(client.clone(), "default")
                .get("leader")
                .await
                .expect("lease");
        assert_eq!(
            lease.spec.and_then(|s| s.holder_identity).as_deref(),
            Some("b")
        );
    })
    .await;
}
