//! The Helm chart `charts/stytch-saml-operator`, checked with the real Helm engine: `helm lint`,
//! `helm template` with default and non-default values (security context, RBAC rules, args,
//! optional objects), the values schema, the CRD copy, and an install into the Kubernetes sandbox
//! with the operator binary run with the rendered Deployment's arguments until an example is
//! Ready.
//!
//! Helm comes from `.tools/bin/helm` (`bash scripts/install-helm.sh`, run by `scripts/test.sh`)
//! or PATH; without it these tests fail, unless `SKIP_HELM=1`.

mod support;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use support::chart_rbac::{CHART, find_helm, run_helm, template};
use support::*;

const OPERATOR_BIN: &str = env!("CARGO_BIN_EXE_stytch-saml-operator");
const RELEASE: &str = "op";
const RELEASE_NS: &str = "ops";
const FULLNAME: &str = "op-stytch-saml-operator";

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The helm binary, or `None` when it is missing and `SKIP_HELM=1`.
fn helm() -> Option<PathBuf> {
    find_helm("these tests are skipped")
}

/// `helm template` with `values` (JSON is YAML); the rendered objects.
fn render(helm: &Path, values: &Value) -> Vec<Value> {
    template(helm, RELEASE, RELEASE_NS, values, &[])
}

fn kinds(docs: &[Value]) -> Vec<String> {
    let mut kinds: Vec<String> = docs
        .iter()
        .map(|d| d["kind"].as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    kinds
}

fn find<'a>(docs: &'a [Value], kind: &str, name: &str) -> &'a Value {
    docs.iter()
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in {:?}", kinds(docs)))
}

fn all<'a>(docs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    docs.iter().filter(|d| d["kind"] == kind).collect()
}

fn container(docs: &[Value]) -> &Value {
    &find(docs, "Deployment", FULLNAME)["spec"]["template"]["spec"]["containers"][0]
}

fn args(docs: &[Value]) -> Vec<String> {
    container(docs)["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .collect()
}

/// The rules the operator needs in each watched namespace (or cluster-wide).
fn watch_rules() -> Value {
    json!([
        {"apiGroups": ["sso.stytch-operator.dev"], "resources": ["samlconnections"], "verbs": ["list", "watch", "patch"]},
        {"apiGroups": ["sso.stytch-operator.dev"], "resources": ["samlconnections/status"], "verbs": ["get", "patch"]},
        {"apiGroups": [""], "resources": ["secrets", "configmaps"], "verbs": ["get", "list", "watch"]},
        {"apiGroups": ["events.k8s.io"], "resources": ["events"], "verbs": ["create", "patch"]},
    ])
}

fn subjects() -> Value {
    json!([{"kind": "ServiceAccount", "name": FULLNAME, "namespace": RELEASE_NS}])
}

fn non_default_values() -> Value {
    json!({
        "replicaCount": 2,
        "watchNamespaces": ["team-a", "team-b"],
        "labelSelector": "shard in (a,b)",
        "resyncInterval": "1m",
        "concurrency": 4,
        "logFormat": "text",
        "certificateExpiryWarning": "14d",
        "stytch": {"baseUrl": "http://stytch-sandbox.stytch-sandbox.svc:8787", "rateLimit": 5},
        "metadata": {"allowedHosts": ["*.okta.com", "login.microsoftonline.com"],
                     "caConfigMap": {"name": "idp-ca", "key": "ca.pem"}},
        "networkPolicy": {"enabled": true,
                          "metricsFrom": [{"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}]},
        "serviceMonitor": {"enabled": true, "labels": {"release": "prometheus"}},
        "image": {"repository": "registry.example/stytch-saml-operator", "tag": "1.2.3"},
    })
}

#[test]
fn chart_crd_is_identical_to_crds_folder() {
    let chart =
        std::fs::read(root().join("charts/stytch-saml-operator/crds/samlconnection.yaml")).unwrap();
    let generated = std::fs::read(root().join("crds/samlconnection.yaml")).unwrap();
    assert!(
        chart == generated,
        "charts/stytch-saml-operator/crds/samlconnection.yaml differs from crds/samlconnection.yaml; copy it: cp crds/samlconnection.yaml charts/stytch-saml-operator/crds/"
    );
    // The chart's appVersion is the crate's version (the image tag it defaults to).
    let chart_yaml: Value = serde_saphyr::from_str(
        &std::fs::read_to_string(root().join("charts/stytch-saml-operator/Chart.yaml")).unwrap(),
    )
    .unwrap();
    assert_eq!(chart_yaml["appVersion"], env!("CARGO_PKG_VERSION"));
}

#[test]
fn helm_lint_passes_with_default_and_non_default_values() {
    let Some(helm) = helm() else { return };
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("values.yaml");
    std::fs::write(&file, non_default_values().to_string()).unwrap();
    let file = file.display().to_string();
    for extra in [vec![], vec!["-f", file.as_str()]] {
        let mut argv = vec!["lint", "--strict", CHART];
        argv.extend(extra);
        let out = run_helm(&helm, &argv);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "helm lint {argv:?}: {stdout}");
        assert!(
            stdout.contains("1 chart(s) linted, 0 chart(s) failed"),
            "{stdout}"
        );
        assert!(!stdout.contains("[WARNING]"), "{stdout}");
        assert!(!stdout.contains("[ERROR]"), "{stdout}");
    }
}

#[test]
fn default_values_render_a_hardened_cluster_wide_operator() {
    let Some(helm) = helm() else { return };
    let docs = render(&helm, &json!({}));
    assert_eq!(
        kinds(&docs),
        [
            "ClusterRole",
            "ClusterRoleBinding",
            "Deployment",
            "Service",
            "ServiceAccount"
        ]
    );
    for doc in &docs {
        if !["ClusterRole", "ClusterRoleBinding"].contains(&doc["kind"].as_str().unwrap()) {
            assert_eq!(doc["metadata"]["namespace"], RELEASE_NS, "{doc}");
        }
        assert_eq!(
            doc["metadata"]["labels"]["app.kubernetes.io/managed-by"],
            "Helm"
        );
    }

    let deployment = find(&docs, "Deployment", FULLNAME);
    assert_eq!(deployment["spec"]["replicas"], 1);
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], FULLNAME);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(pod["securityContext"]["runAsUser"], 65532);
    assert_eq!(
        pod["securityContext"]["seccompProfile"]["type"],
        "RuntimeDefault"
    );
    let c = container(&docs);
    assert_eq!(
        c["image"],
        format!(
            "ghcr.io/stytch-saml-operator/stytch-saml-operator:{}",
            env!("CARGO_PKG_VERSION")
        )
    );
    let sc = &c["securityContext"];
    assert_eq!(sc["runAsNonRoot"], true);
    assert_eq!(sc["readOnlyRootFilesystem"], true);
    assert_eq!(sc["allowPrivilegeEscalation"], false);
    assert_eq!(sc["privileged"], false);
    assert_eq!(sc["capabilities"], json!({"drop": ["ALL"]}));
    assert_eq!(sc["seccompProfile"]["type"], "RuntimeDefault");
    for key in ["requests", "limits"] {
        for resource in ["cpu", "memory"] {
            assert!(
                c["resources"][key][resource].is_string(),
                "resources.{key}.{resource}"
            );
        }
    }
    assert_eq!(c["livenessProbe"]["httpGet"]["path"], "/healthz");
    assert_eq!(c["livenessProbe"]["httpGet"]["port"], "metrics");
    assert_eq!(c["readinessProbe"]["httpGet"]["path"], "/readyz");
    assert_eq!(c["readinessProbe"]["httpGet"]["port"], "metrics");
    assert_eq!(
        c["ports"],
        json!([{"name": "metrics", "containerPort": 8080, "protocol": "TCP"}])
    );
    let env: Vec<&str> = c["env"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(env, ["POD_NAME", "POD_NAMESPACE", "RUST_LOG"]);
    assert_eq!(
        c["env"][1]["valueFrom"]["fieldRef"]["fieldPath"],
        "metadata.namespace"
    );
    assert_eq!(
        args(&docs),
        [
            "run",
            "--metrics-addr=0.0.0.0:8080",
            "--log-format=json",
            "--resync-interval=10m",
            "--concurrency=8",
            "--certificate-expiry-warning=30d",
            "--stytch-rate-limit=20",
        ]
    );

    let role = find(&docs, "ClusterRole", FULLNAME);
    assert_eq!(role["rules"], watch_rules());
    let binding = find(&docs, "ClusterRoleBinding", FULLNAME);
    assert_eq!(
        binding["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": FULLNAME})
    );
    assert_eq!(binding["subjects"], subjects());

    let service = find(&docs, "Service", &format!("{FULLNAME}-metrics"));
    assert_eq!(
        service["spec"]["ports"],
        json!([{"name": "http-metrics", "port": 8080, "targetPort": "metrics", "protocol": "TCP"}])
    );
    assert_eq!(
        service["spec"]["selector"],
        deployment["spec"]["selector"]["matchLabels"]
    );
}

#[test]
fn non_default_values_render_namespaced_rbac_leader_election_and_optional_objects() {
    let Some(helm) = helm() else { return };
    let docs = render(&helm, &non_default_values());
    assert_eq!(
        kinds(&docs),
        [
            "ClusterRole",
            "ClusterRoleBinding",
            "Deployment",
            "NetworkPolicy",
            "PodDisruptionBudget",
            "Role",
            "Role",
            "Role",
            "RoleBinding",
            "RoleBinding",
            "RoleBinding",
            "Service",
            "ServiceAccount",
            "ServiceMonitor",
        ]
    );
    assert_eq!(
        args(&docs),
        [
            "run",
            "--metrics-addr=0.0.0.0:8080",
            "--log-format=text",
            "--resync-interval=1m",
            "--concurrency=4",
            "--certificate-expiry-warning=14d",
            "--stytch-rate-limit=5",
            "--namespace=team-a",
            "--namespace=team-b",
            "--label-selector=shard in (a,b)",
            "--stytch-base-url=http://stytch-sandbox.stytch-sandbox.svc:8787",
            "--metadata-allowed-hosts=*.okta.com,login.microsoftonline.com",
            "--metadata-ca-file=/etc/stytch-saml-operator/metadata-ca/ca.pem",
            "--leader-elect",
            "--leader-election-namespace=ops",
            "--leader-election-lease=stytch-saml-operator",
            "--leader-election-lease-seconds=15",
        ]
    );
    let deployment = find(&docs, "Deployment", FULLNAME);
    assert_eq!(deployment["spec"]["replicas"], 2);
    let pod = &deployment["spec"]["template"]["spec"];
    assert_eq!(
        pod["volumes"],
        json!([{"name": "metadata-ca", "configMap": {"name": "idp-ca"}}])
    );
    assert_eq!(
        container(&docs)["image"],
        "registry.example/stytch-saml-operator:1.2.3"
    );

    // One Role and RoleBinding per watched namespace, with exactly the watch rules.
    for ns in ["team-a", "team-b"] {
        let role = all(&docs, "Role")
            .into_iter()
            .find(|r| r["metadata"]["namespace"] == ns)
            .unwrap_or_else(|| panic!("no Role in {ns}"));
        assert_eq!(role["metadata"]["name"], FULLNAME);
        assert_eq!(role["rules"], watch_rules());
        let binding = all(&docs, "RoleBinding")
            .into_iter()
            .find(|r| r["metadata"]["namespace"] == ns)
            .unwrap();
        assert_eq!(binding["roleRef"]["kind"], "Role");
        assert_eq!(binding["roleRef"]["name"], FULLNAME);
        assert_eq!(binding["subjects"], subjects());
    }
    // Cluster-wide: only listing SamlConnections; no Secrets, ConfigMaps or writes.
    let cluster_roles = all(&docs, "ClusterRole");
    assert_eq!(cluster_roles.len(), 1);
    assert_eq!(
        cluster_roles[0]["metadata"]["name"],
        format!("{FULLNAME}-connection-list")
    );
    assert_eq!(
        cluster_roles[0]["rules"],
        json!([{"apiGroups": ["sso.stytch-operator.dev"], "resources": ["samlconnections"], "verbs": ["list"]}])
    );
    // The Lease, in the release namespace only.
    let leader = find(&docs, "Role", &format!("{FULLNAME}-leader-election"));
    assert_eq!(leader["metadata"]["namespace"], RELEASE_NS);
    assert_eq!(
        leader["rules"],
        json!([
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]},
            {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "resourceNames": ["stytch-saml-operator"], "verbs": ["get", "patch"]},
        ])
    );
    let leader_binding = find(&docs, "RoleBinding", &format!("{FULLNAME}-leader-election"));
    assert_eq!(leader_binding["metadata"]["namespace"], RELEASE_NS);
    assert_eq!(leader_binding["subjects"], subjects());

    let selector = &deployment["spec"]["selector"]["matchLabels"];
    let pdb = find(&docs, "PodDisruptionBudget", FULLNAME);
    assert_eq!(pdb["spec"]["minAvailable"], 1);
    assert_eq!(&pdb["spec"]["selector"]["matchLabels"], selector);

    let netpol = find(&docs, "NetworkPolicy", FULLNAME);
    assert_eq!(&netpol["spec"]["podSelector"]["matchLabels"], selector);
    assert_eq!(netpol["spec"]["policyTypes"], json!(["Ingress", "Egress"]));
    assert_eq!(
        netpol["spec"]["ingress"],
        json!([{"ports": [{"port": "metrics", "protocol": "TCP"}],
                "from": [{"namespaceSelector": {"matchLabels": {"name": "monitoring"}}}]}])
    );
    let egress_ports: BTreeSet<(i64, String)> = netpol["spec"]["egress"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|rule| rule["ports"].as_array().unwrap().clone())
        .map(|p| {
            (
                p["port"].as_i64().unwrap(),
                p["protocol"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        egress_ports,
        BTreeSet::from([
            (53, "TCP".into()),
            (53, "UDP".into()),
            (443, "TCP".into()),
            (6443, "TCP".into())
        ])
    );

    let monitor = find(&docs, "ServiceMonitor", FULLNAME);
    assert_eq!(monitor["metadata"]["labels"]["release"], "prometheus");
    assert_eq!(&monitor["spec"]["selector"]["matchLabels"], selector);
    assert_eq!(monitor["spec"]["endpoints"][0]["port"], "http-metrics");
    assert_eq!(monitor["spec"]["endpoints"][0]["path"], "/metrics");
    let service = find(&docs, "Service", &format!("{FULLNAME}-metrics"));
    // The ServiceMonitor selects the metrics Service (its labels include the selector labels).
    for (k, v) in selector.as_object().unwrap() {
        assert_eq!(&service["metadata"]["labels"][k], v);
    }
}

#[test]
fn leader_election_and_pdb_can_be_forced_on_and_rbac_turned_off() {
    let Some(helm) = helm() else { return };
    let docs = render(
        &helm,
        &json!({"leaderElection": {"enabled": true}, "podDisruptionBudget": {"enabled": true}}),
    );
    assert!(args(&docs).contains(&"--leader-elect".to_owned()));
    find(&docs, "PodDisruptionBudget", FULLNAME);
    find(&docs, "Role", &format!("{FULLNAME}-leader-election"));

    let docs = render(
        &helm,
        &json!({"rbac": {"create": false}, "serviceAccount": {"create": false, "name": "custom"}}),
    );
    assert_eq!(kinds(&docs), ["Deployment", "Service"]);
    assert_eq!(
        find(&docs, "Deployment", FULLNAME)["spec"]["template"]["spec"]["serviceAccountName"],
        "custom"
    );

    let docs = render(
        &helm,
        &json!({"watchNamespaces": ["only"], "rbac": {"clusterWideConnectionList": false}}),
    );
    assert!(all(&docs, "ClusterRole").is_empty());
    assert!(all(&docs, "ClusterRoleBinding").is_empty());
}

#[test]
fn values_schema_rejects_bad_values() {
    let Some(helm) = helm() else { return };
    for (set, message) in [
        ("logFormat=xml", "logFormat"),
        ("resyncInterval=ten minutes", "resyncInterval"),
        ("replicaCount=-1", "replicaCount"),
        ("watchNamespaces[0]=Not_A_Namespace", "watchNamespaces"),
        ("stytch.baseUrl=ftp://x", "baseUrl"),
        ("unknownKey=1", "unknownKey"),
    ] {
        let out = run_helm(&helm, &["template", RELEASE, CHART, "--set", set]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "--set {set} was accepted");
        assert!(stderr.contains(message), "--set {set}: {stderr}");
    }
}

fn kubectl(kubeconfig: &Path, args: &[&str]) -> std::process::Output {
    Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .output()
        .expect("kubectl is installed (scripts/test.sh installs it)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rendered_chart_installs_into_the_sandbox_and_its_args_run_the_operator() {
    let Some(helm) = helm() else { return };
    let env = Env::new().await;
    let kubeconfig = env.kube.kubeconfig_path().to_path_buf();
    // Watch the sandbox's "default" namespace (where Env put the credentials Secret), two
    // replicas electing a leader, Stytch calls to the Stytch sandbox.
    let docs = render(
        &helm,
        &json!({
            "replicaCount": 2,
            "watchNamespaces": [NS],
            "resyncInterval": "30s",
            "stytch": {"baseUrl": env.stytch.base_url()},
            "networkPolicy": {"enabled": true},
        }),
    );
    assert_eq!(docs.len(), 11, "{:?}", kinds(&docs));

    // Apply every rendered object with kubectl.
    let dir = tempfile::tempdir().unwrap();
    let ns_file = dir.path().join("namespace.json");
    std::fs::write(
        &ns_file,
        json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": RELEASE_NS}})
            .to_string(),
    )
    .unwrap();
    let rendered = dir.path().join("rendered");
    std::fs::create_dir(&rendered).unwrap();
    for (i, doc) in docs.iter().enumerate() {
        std::fs::write(rendered.join(format!("{i:02}.json")), doc.to_string()).unwrap();
    }
    let kc = kubeconfig.clone();
    let (ns_out, out) = tokio::task::spawn_blocking(move || {
        (
            kubectl(&kc, &["apply", "-f", &ns_file.display().to_string()]),
            kubectl(&kc, &["apply", "-f", &rendered.display().to_string()]),
        )
    })
    .await
    .unwrap();
    assert!(ns_out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "kubectl apply: {stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout.lines().filter(|l| l.ends_with(" created")).count(),
        docs.len(),
        "{stdout}"
    );

    // Run the operator binary with the stored Deployment's args and probe its endpoints.
    let client = env.client.clone();
    let deployments: kube::Api<k8s_openapi::api::apps::v1::Deployment> =
        kube::Api::namespaced(client.clone(), RELEASE_NS);
    let stored = deployments.get(FULLNAME).await.unwrap();
    let stored = serde_json::to_value(stored).unwrap();
    let c = &stored["spec"]["template"]["spec"]["containers"][0];
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut argv: Vec<String> = c["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap().to_owned())
        .filter(|a| !a.starts_with("--metrics-addr="))
        .collect();
    assert!(argv.contains(&"--leader-elect".to_owned()));
    assert!(argv.contains(&format!("--namespace={NS}")));
    argv.push(format!("--metrics-addr=127.0.0.1:{port}"));
    argv.push(format!("--kubeconfig={}", kubeconfig.display()));
    let mut operator = tokio::process::Command::new(OPERATOR_BIN)
        .args(&argv)
        .env("POD_NAME", format!("{FULLNAME}-abc"))
        .env("POD_NAMESPACE", RELEASE_NS)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();

    let example = root().join("examples/10-okta-explicit.yaml");
    let kc = kubeconfig.clone();
    let out = tokio::task::spawn_blocking(move || {
        kubectl(
            &kc,
            &["apply", "-n", NS, "-f", &example.display().to_string()],
        )
    })
    .await
    .unwrap();
    assert!(out.status.success(), "{out:?}");
    let obj = env
        .wait_for("acme-okta", "Ready", Duration::from_secs(30), |o| {
            is(o, "Ready", "True")
        })
        .await;
    assert_eq!(
        obj.status.unwrap().connection_status.as_deref(),
        Some("active")
    );

    // The probes the kubelet would run pass (readiness within 15 s, like the probe's budget).
    let http = reqwest::Client::new();
    for probe in ["livenessProbe", "readinessProbe"] {
        let path = c[probe]["httpGet"]["path"].as_str().unwrap();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
        loop {
            let resp = http
                .get(format!("http://127.0.0.1:{port}{path}"))
                .send()
                .await
                .unwrap();
            if resp.status().is_success() {
                break;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{probe} {path} still answers {}: {}",
                resp.status(),
                resp.text().await.unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    let metrics = http
        .get(format!("http://127.0.0.1:{port}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("stytch_saml_operator_reconciles_total"),
        "{metrics}"
    );
    // The Lease the leader-election Role allows, in the release namespace.
    let leases: kube::Api<k8s_openapi::api::coordination::v1::Lease> =
        kube::Api::namespaced(client, RELEASE_NS);
    let lease = leases.get("stytch-saml-operator").await.unwrap();
    let holder = lease
        .spec
        .and_then(|s| s.holder_identity)
        .unwrap_or_default();
    assert!(holder.starts_with(&format!("{FULLNAME}-abc")), "{holder}");
    assert!(operator.try_wait().unwrap().is_none());
    operator.kill().await.unwrap();
}
