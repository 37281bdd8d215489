//! Discovery and OpenAPI documents served by the sandbox.

mod kube_common;

use kube_common::*;
use serde_json::json;

#[tokio::test]
async fn discovery_lists_crds_and_builtins() {
    bounded(async {
        let (_sb, client) = with_widgets().await;
        let discovery = kube::Discovery::new(client.clone())
            .run()
            .await
            .expect("discovery");
        let (ar, caps) = discovery
            .resolve_gvk(&kube::core::GroupVersionKind::gvk(
                "example.test",
                "v1",
                "Widget",
            ))
            .expect("widget discovered");
        assert_eq!(ar.plural, "widgets");
        assert_eq!(caps.scope, kube::discovery::Scope::Namespaced);
        assert!(caps.subresources.iter().any(|(s, _)| s.plural == "status"));
        for gvk in [
            ("", "v1", "Secret"),
            ("apps", "v1", "Deployment"),
            ("coordination.k8s.io", "v1", "Lease"),
            ("events.k8s.io", "v1", "Event"),
            ("policy", "v1", "PodDisruptionBudget"),
        ] {
            assert!(
                discovery
                    .resolve_gvk(&kube::core::GroupVersionKind::gvk(gvk.0, gvk.1, gvk.2))
                    .is_some(),
                "{gvk:?}"
            );
        }
        let v = client.apiserver_version().await.expect("version");
        assert_eq!(v.major, "1");
    })
    .await;
}

#[tokio::test]
async fn openapi_v3_documents_for_crds() {
    bounded(async {
        let (sb, _client) = with_widgets().await;
        let (code, index) = http(&sb, "GET", "/openapi/v3", "application/json", "").await;
        assert_eq!(code, 200);
        let url = index["paths"]["apis/example.test/v1"]["serverRelativeURL"]
            .as_str()
            .expect("gv listed")
            .to_string();
        assert!(
            url.starts_with("/openapi/v3/apis/example.test/v1?hash="),
            "{url}"
        );
        assert!(index["paths"]["api/v1"].is_object());
        let (code, doc) = http(&sb, "GET", &url, "application/json", "").await;
        assert_eq!(code, 200);
        let schema = &doc["components"]["schemas"]["test.example.v1.Widget"];
        assert_eq!(
            schema["x-kubernetes-group-version-kind"],
            json!([{"group": "example.test", "version": "v1", "kind": "Widget"}])
        );
        assert_eq!(
            schema["properties"]["spec"]["required"],
            json!(["color", "size"])
        );
        let patch =
            &doc["paths"]["/apis/example.test/v1/namespaces/{namespace}/widgets/{name}"]["patch"];
        let params: Vec<&str> = patch["parameters"]
            .as_array()
            .expect("params")
            .iter()
            .filter_map(|p| p["name"].as_str())
            .collect();
        assert!(params.contains(&"fieldValidation"), "{params:?}");
        let (_, core) = http(&sb, "GET", "/openapi/v3/api/v1", "application/json", "").await;
        assert!(core["components"]["schemas"]["io.k8s.api.core.v1.Secret"].is_object());
        // The hash changes when a CRD changes the group-version document.
        let mut crd = widget_crd();
        crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["description"] = json!("changed");
        let (code, _) = http(
            &sb,
            "PUT",
            "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.test",
            "application/json",
            &crd.to_string(),
        )
        .await;
        assert_eq!(code, 200);
        let (_, index2) = http(&sb, "GET", "/openapi/v3", "application/json", "").await;
        assert_ne!(
            index2["paths"]["apis/example.test/v1"]["serverRelativeURL"].as_str(),
            Some(url.as_str())
        );
        // Aggregated discovery is declined with plain JSON.
        let (code, groups) = http(&sb, "GET", "/apis", "application/json", "").await;
        assert_eq!((code, groups["kind"].as_str()), (200, Some("APIGroupList")));
        assert!(
            groups["groups"]
                .as_array()
                .expect("groups")
                .iter()
                .any(|g| g["name"] == "example.test")
        );
    })
    .await;
}
