//! The real `kubectl` applying what a Helm chart renders (built-in kinds, generic storage).

mod kube_common;

use kube_common::*;

const CHART: &str = r#"apiVersion: v1
kind: Namespace
metadata:
  name: op
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: op, namespace: op}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: op}
stringData: {token: abc}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: op}
data: {a: "1"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: op, namespace: op}
spec:
  replicas: 1
  selector: {matchLabels: {app: op}}
  template:
    metadata: {labels: {app: op}}
    spec:
      serviceAccountName: op
      containers:
      - name: op
        image: example/op:1
        env:
        - {name: A, value: "1"}
---
apiVersion: v1
kind: Service
metadata: {name: op, namespace: op}
spec:
  selector: {app: op}
  ports: [{port: 8080, name: http}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: op}
rules: [{apiGroups: ["sso.stytch-operator.dev"], resources: ["samlconnections"], verbs: ["*"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: op}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: op}
subjects: [{kind: ServiceAccount, name: op, namespace: op}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: op, namespace: op}
rules: [{apiGroups: ["coordination.k8s.io"], resources: ["leases"], verbs: ["*"]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: op, namespace: op}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: op}
subjects: [{kind: ServiceAccount, name: op, namespace: op}]
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: op, namespace: op}
spec: {minAvailable: 1, selector: {matchLabels: {app: op}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: op, namespace: op}
spec: {podSelector: {matchLabels: {app: op}}, policyTypes: [Ingress]}
---
apiVersion: coordination.k8s.io/v1
kind: Lease
metadata: {name: op, namespace: op}
spec: {holderIdentity: a}
"#;

#[tokio::test]
async fn kubectl_applies_chart_builtins() {
    bounded(async {
        let sb = start().await;
        let r = kubectl_in(&sb, &["apply", "-f", "-"], Some(CHART)).await;
        assert!(r.ok, "{r:?}");
        assert_eq!(
            r.stdout.lines().filter(|l| l.ends_with(" created")).count(),
            13,
            "{r:?}"
        );
        // Secret stringData is folded into base64 data.
        let r = kubectl(
            &sb,
            &[
                "get",
                "secret",
                "creds",
                "-n",
                "op",
                "-o",
                "jsonpath={.data.token}/{.type}/{.stringData}",
            ],
        )
        .await;
        assert_eq!(r.stdout, "YWJj/Opaque/");
        // Strategic merge patch path for built-ins: change the container env, keep the rest.
        let changed = CHART.replace(
            "- {name: A, value: \"1\"}",
            "- {name: A, value: \"2\"}\n        - {name: B, value: \"3\"}",
        );
        let r = kubectl_in(&sb, &["apply", "-f", "-"], Some(&changed)).await;
        assert!(
            r.ok && r.stdout.contains("deployment.apps/op configured")
                && r.stdout.contains("configmap/cfg unchanged"),
            "{r:?}"
        );
        let r = kubectl(
            &sb,
            &[
                "get",
                "deploy",
                "op",
                "-n",
                "op",
                "-o",
                "jsonpath={.spec.template.spec.containers[0].env[*].value}/{.metadata.generation}",
            ],
        )
        .await;
        assert_eq!(r.stdout, "2 3/2");
        let r = kubectl(
            &sb,
            &[
                "get",
                "deploy,svc,cm,secret,sa,pdb,netpol,lease,role,rolebinding",
                "-n",
                "op",
                "-o",
                "name",
            ],
        )
        .await;
        assert!(r.ok && r.stdout.lines().count() == 10, "{r:?}");
        let r = kubectl(
            &sb,
            &["get", "clusterrole,clusterrolebinding", "-o", "name"],
        )
        .await;
        assert_eq!(r.stdout.lines().count(), 2, "{r:?}");
        let r = kubectl(&sb, &["get", "ns"]).await;
        assert!(
            r.ok && r.stdout.contains("op ") && r.stdout.starts_with("NAME"),
            "{r:?}"
        );
        // Deleting the namespace removes what it holds.
        let r = kubectl(&sb, &["delete", "ns", "op", "--timeout=10s"]).await;
        assert!(r.ok, "{r:?}");
        let r = kubectl(&sb, &["get", "cm", "-n", "op", "-o", "name"]).await;
        assert_eq!(r.stdout.trim(), "");
    })
    .await;
}

#[tokio::test]
async fn kubectl_create_commands_send_protobuf() {
    bounded(async {
        let sb = start().await;
        let r = kubectl(&sb, &["create", "namespace", "demo"]).await;
        assert!(r.ok && r.stdout.contains("namespace/demo created"), "{r:?}");
        let r = kubectl(&sb, &["create", "configmap", "cfg", "-n", "demo", "--from-literal=a=b", "--from-literal=c=d"]).await;
        assert!(r.ok, "{r:?}");
        let r = kubectl(&sb, &["create", "secret", "generic", "creds", "-n", "demo", "--from-literal=project_id=p1"]).await;
        assert!(r.ok, "{r:?}");
        let r = kubectl(&sb, &["create", "serviceaccount", "bot", "-n", "demo"]).await;
        assert!(r.ok, "{r:?}");
        let r = kubectl(&sb, &["get", "ns", "demo", "-o", "jsonpath={.metadata.labels.kubernetes\\.io/metadata\\.name} {.spec.finalizers[0]} {.metadata.generateName}|"]).await;
        assert_eq!(r.stdout, "demo kubernetes |");
        let r = kubectl(&sb, &["get", "cm", "cfg", "-n", "demo", "-o", "jsonpath={.data.a}{.data.c}"]).await;
        assert_eq!(r.stdout, "bd");
        let r = kubectl(&sb, &["get", "secret", "creds", "-n", "demo", "-o", "jsonpath={.data.project_id} {.type}"]).await;
        assert_eq!(r.stdout, "cDE= Opaque");
        assert!(kubectl(&sb, &["get", "sa", "bot", "-n", "demo"]).await.ok);
        // Other kinds sent as protobuf are refused with 415.
        let r = kubectl(&sb, &["create", "deployment", "d", "--image=nginx"]).await;
        assert!(!r.ok && r.stderr.contains("unknown format"), "{r:?}");
    })
    .await;
}
