//! RBAC enforcement over HTTP: a service-account identity (TokenRequest or the library's
//! kubeconfig helper) driven by kube-rs and the real `kubectl`, authorized by Roles,
//! ClusterRoles and their bindings stored through the API; the admin token stays unrestricted.

mod kube_common;

use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube_common::*;
use serde_json::{Value, json};

const RBAC_YAML: &str = r#"apiVersion: v1
kind: ServiceAccount
metadata: {name: op, namespace: ops}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: widgets, namespace: team-a}
rules:
  - apiGroups: ["example.test"]
    resources: ["widgets"]
    verbs: ["get", "list", "watch", "patch"]
  - apiGroups: ["example.test"]
    resources: ["widgets/status"]
    verbs: ["patch"]
  - apiGroups: [""]
    resources: ["configmaps"]
    resourceNames: ["only-this"]
    verbs: ["get"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: widgets, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: widgets}
subjects: [{kind: ServiceAccount, name: op, namespace: ops}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: read-secrets}
rules:
  - apiGroups: [""]
    resources: ["secrets"]
    verbs: ["get", "list"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: read-secrets, namespace: team-a}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: read-secrets}
subjects: [{kind: ServiceAccount, name: op, namespace: ops}]
"#;

async fn setup() -> (sandbox::kube::KubeSandbox, kube::Client) {
    let (sb, admin) = with_widgets().await;
    let r = kubectl(&sb, &["create", "namespace", "ops"]).await;
    assert!(r.ok, "{r:?}");
    for ns in ["team-a", "team-b"] {
        let r = kubectl(&sb, &["create", "namespace", ns]).await;
        assert!(r.ok, "{r:?}");
        widgets(&admin, ns)
            .create(&PostParams::default(), &widget("w", "red", 1))
            .await
            .expect("widget");
        for name in ["only-this", "other"] {
            let cm: ConfigMap =
                serde_json::from_value(json!({"metadata": {"name": name}})).expect("cm");
            Api::<ConfigMap>::namespaced(admin.clone(), ns)
                .create(&PostParams::default(), &cm)
                .await
                .expect("configmap");
        }
        let s: Secret = serde_json::from_value(
            json!({"metadata": {"name": "creds"}, "stringData": {"k": "v"}}),
        )
        .expect("secret");
        Api::<Secret>::namespaced(admin.clone(), ns)
            .create(&PostParams::default(), &s)
            .await
            .expect("secret");
    }
    let r = kubectl_in(&sb, &["apply", "-f", "-"], Some(RBAC_YAML)).await;
    assert!(r.ok, "{r:?}");
    (sb, admin)
}

fn code(err: &kube::Error) -> Option<(u16, String, String)> {
    match err {
        kube::Error::Api(s) => Some((s.code, s.reason.clone(), s.message.clone())),
        _ => None,
    }
}

#[tokio::test]
async fn service_account_is_limited_to_its_rules() {
    bounded(async {
        let (sb, _admin) = setup().await;
        let sa = sb.service_account_client("ops", "op").await.expect("sa client");
        // Allowed by the Role in team-a.
        let a = widgets(&sa, "team-a");
        assert_eq!(a.list(&ListParams::default()).await.expect("list").items.len(), 1);
        a.get("w").await.expect("get");
        a.patch("w", &PatchParams::default(), &Patch::Merge(json!({"metadata": {"labels": {"x": "y"}}})))
            .await
            .expect("patch");
        a.patch_status("w", &PatchParams::default(), &Patch::Merge(json!({"status": {"observedGeneration": 1}})))
            .await
            .expect("patch status");
        // Verbs not granted.
        let err = a.delete("w", &Default::default()).await.expect_err("delete denied");
        assert_eq!(
            code(&err),
            Some((403, "Forbidden".into(), "widgets.example.test \"w\" is forbidden: User \"system:serviceaccount:ops:op\" cannot delete resource \"widgets\" in API group \"example.test\" in the namespace \"team-a\"".into()))
        );
        let err = a.create(&PostParams::default(), &widget("n", "red", 1)).await.expect_err("create denied");
        assert_eq!(code(&err).map(|c| c.0), Some(403));
        // Another namespace, and the cluster scope.
        let err = widgets(&sa, "team-b").get("w").await.expect_err("team-b denied");
        assert_eq!(code(&err).map(|c| c.0), Some(403));
        let all: Api<kube::api::DynamicObject> = Api::all_with(sa.clone(), &widget_resource());
        let err = all.list(&ListParams::default()).await.expect_err("cluster list denied");
        assert_eq!(
            code(&err).map(|c| c.2),
            Some("widgets.example.test is forbidden: User \"system:serviceaccount:ops:op\" cannot list resource \"widgets\" in API group \"example.test\" at the cluster scope".into())
        );
        // resourceNames: the named ConfigMap only, and never a list.
        let cms: Api<ConfigMap> = Api::namespaced(sa.clone(), "team-a");
        cms.get("only-this").await.expect("named get");
        assert_eq!(code(&cms.get("other").await.expect_err("other name")).map(|c| c.0), Some(403));
        assert_eq!(code(&cms.list(&ListParams::default()).await.expect_err("list")).map(|c| c.0), Some(403));
        // A ClusterRole through a RoleBinding: that namespace only.
        Api::<Secret>::namespaced(sa.clone(), "team-a").get("creds").await.expect("secret in team-a");
        let err = Api::<Secret>::namespaced(sa.clone(), "team-b").get("creds").await.expect_err("team-b secret");
        assert_eq!(code(&err).map(|c| c.0), Some(403));
        let err = Api::<Secret>::all(sa.clone()).list(&ListParams::default()).await.expect_err("all secrets");
        assert_eq!(code(&err).map(|c| c.0), Some(403));
        // The audit log saw every request of the service account, denials included.
        let audit = sb.audit();
        assert!(audit.iter().all(|e| e.user == "system:serviceaccount:ops:op"));
        assert_eq!(audit.iter().filter(|e| !e.allowed).count(), 8, "{audit:#?}");
    })
    .await;
}

#[tokio::test]
async fn tokens_authenticate_and_admin_stays_unrestricted() {
    bounded(async {
        let (sb, admin) = setup().await;
        // TokenRequest over HTTP (admin), then the token as a bearer.
        let (status, body) = http(
            &sb,
            "POST",
            "/api/v1/namespaces/ops/serviceaccounts/op/token",
            "application/json",
            "{}",
        )
        .await;
        assert_eq!(status, 201, "{body}");
        let token = body
            .pointer("/status/token")
            .and_then(Value::as_str)
            .expect("token")
            .to_string();
        let (status, _) = http(
            &sb,
            "POST",
            "/api/v1/namespaces/ops/serviceaccounts/missing/token",
            "application/json",
            "{}",
        )
        .await;
        assert_eq!(status, 404);
        let get = |token: String, path: &'static str| {
            let url = format!("{}{path}", sb.base_url());
            async move {
                let resp = reqwest::Client::new()
                    .get(url)
                    .bearer_auth(token)
                    .send()
                    .await
                    .expect("request");
                let code = resp.status().as_u16();
                (code, resp.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        assert_eq!(
            get(
                token.clone(),
                "/apis/example.test/v1/namespaces/team-a/widgets"
            )
            .await
            .0,
            200
        );
        // Discovery is open to any authenticated user.
        for path in [
            "/api",
            "/apis",
            "/api/v1",
            "/apis/example.test/v1",
            "/version",
        ] {
            assert_eq!(get(token.clone(), path).await.0, 200, "{path}");
        }
        let (code, body) = get(token.clone(), "/api/v1/namespaces/team-b/secrets").await;
        assert_eq!(
            (code, body["reason"].as_str()),
            (403, Some("Forbidden")),
            "{body}"
        );
        // An unknown token is 401; the admin token and kubeconfig stay unrestricted.
        let (code, body) = get("not-a-token".into(), "/api/v1/namespaces/team-a/secrets").await;
        assert_eq!(
            (code, body["reason"].as_str()),
            (401, Some("Unauthorized")),
            "{body}"
        );
        assert_eq!(get("sandbox".into(), "/api/v1/secrets").await.0, 200);
        Api::<Secret>::all(admin.clone())
            .list(&ListParams::default())
            .await
            .expect("admin lists all");
        // The real kubectl (which sends no token over plain http) impersonating the account.
        let as_sa = "--as=system:serviceaccount:ops:op";
        let r = kubectl(&sb, &[as_sa, "get", "widgets", "-n", "team-a"]).await;
        assert!(r.ok && r.stdout.contains('w'), "{r:?}");
        let r = kubectl(&sb, &[as_sa, "get", "secrets", "-n", "team-b"]).await;
        assert!(
            !r.ok
                && r.stderr.contains("Forbidden")
                && r.stderr.contains("cannot list resource \"secrets\""),
            "{r:?}"
        );
        // Deleting the ServiceAccount invalidates its tokens.
        let r = kubectl(&sb, &["delete", "serviceaccount", "op", "-n", "ops"]).await;
        assert!(r.ok, "{r:?}");
        assert_eq!(
            get(token, "/apis/example.test/v1/namespaces/team-a/widgets")
                .await
                .0,
            401
        );
    })
    .await;
}
