//! Namespace termination: contents are deleted, finalizers are honoured, then the namespace goes.

mod kube_common;

use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube_common::*;
use serde_json::json;

#[tokio::test]
async fn namespace_deletion_waits_for_finalizers_and_refuses_new_content() {
    bounded(async {
        let (_sb, client) = with_widgets().await;
        let nss: Api<Namespace> = Api::all(client.clone());
        let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "t"}})).expect("ns");
        nss.create(&PostParams::default(), &ns)
            .await
            .expect("create ns");
        let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "t");
        let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "c"}})).expect("cm");
        cms.create(&PostParams::default(), &cm).await.expect("cm");
        let api = widgets(&client, "t");
        let mut w = widget("w", "red", 1);
        w.metadata.finalizers = Some(vec!["example.test/cleanup".into()]);
        api.create(&PostParams::default(), &w)
            .await
            .expect("widget");

        nss.delete("t", &DeleteParams::default())
            .await
            .expect("delete ns");
        let t = nss.get("t").await.expect("still there");
        assert!(t.metadata.deletion_timestamp.is_some());
        assert_eq!(
            t.status.and_then(|s| s.phase).as_deref(),
            Some("Terminating")
        );
        assert!(cms.get("c").await.is_err(), "plain content deleted at once");
        assert!(
            api.get("w")
                .await
                .expect("widget waits")
                .metadata
                .deletion_timestamp
                .is_some()
        );
        match cms.create(&PostParams::default(), &cm).await {
            Err(kube::Error::Api(s)) => {
                assert_eq!((s.code, s.reason.as_str()), (403, "Forbidden"));
                assert!(
                    s.message.contains("because it is being terminated"),
                    "{}",
                    s.message
                );
            }
            other => panic!("expected 403, got {other:?}"),
        }
        api.patch(
            "w",
            &PatchParams::default(),
            &Patch::Merge(json!({"metadata": {"finalizers": null}})),
        )
        .await
        .expect("drop finalizer");
        assert!(api.get("w").await.is_err());
        match nss.get("t").await {
            Err(kube::Error::Api(s)) => assert_eq!(s.code, 404),
            other => panic!("namespace should be gone, got {other:?}"),
        }
    })
    .await;
}
