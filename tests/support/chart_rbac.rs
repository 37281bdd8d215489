//! The chart's rendered RBAC (`helm template`, ServiceAccount + Roles/ClusterRoles + bindings),
//! rendered once per test process and values, installed into a Kubernetes sandbox with the
//! admin client, so the operator runs with exactly the chart's permissions.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, ApiResource, DynamicObject, GroupVersionKind, PostParams};
use serde_json::{Value, json};

pub const CHART: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/charts/stytch-saml-operator");
/// Release name: the chart's full name (and service account) is `stytch-saml-operator`.
pub const RELEASE: &str = "stytch-saml-operator";
/// The chart's service account for [`RELEASE`].
pub const SERVICE_ACCOUNT: &str = "stytch-saml-operator";
/// Values of the default test install: leader election on (tests with `--leader-elect` use
/// the default Lease name), all namespaces.
pub fn default_values() -> Value {
    json!({"leaderElection": {"enabled": true}})
}

/// The helm binary (`.tools/bin/helm` or PATH), `None` with `SKIP_HELM=1` when missing;
/// `instead` tells what happens then.
pub fn find_helm(instead: &str) -> Option<PathBuf> {
    let local = Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/bin/helm");
    if local.is_file() {
        return Some(local);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("helm"))
            .find(|p| p.is_file())
    });
    if on_path.is_some() {
        return on_path;
    }
    if std::env::var("SKIP_HELM").is_ok_and(|v| v == "1") {
        eprintln!("helm not found; {instead} because SKIP_HELM=1");
        return None;
    }
    panic!(
        "helm is not installed: run bash scripts/install-helm.sh (scripts/test.sh runs it); with SKIP_HELM=1 {instead}"
    );
}

/// `helm` with `args`, its caches under the temporary directory.
pub fn run_helm(helm: &Path, args: &[&str]) -> std::process::Output {
    Command::new(helm)
        .args(args)
        .env(
            "HELM_CACHE_HOME",
            std::env::temp_dir().join("stytch-helm-cache"),
        )
        .env(
            "HELM_CONFIG_HOME",
            std::env::temp_dir().join("stytch-helm-config"),
        )
        .output()
        .unwrap()
}

/// `helm template` of the chart as `release` in `namespace` with `values` (JSON is YAML) and
/// `extra` arguments: the rendered objects.
pub fn template(
    helm: &Path,
    release: &str,
    namespace: &str,
    values: &Value,
    extra: &[&str],
) -> Vec<Value> {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("values.yaml");
    std::fs::write(&file, values.to_string()).unwrap();
    let file = file.display().to_string();
    let mut argv = vec!["template", release, CHART, "-n", namespace, "-f", &file];
    argv.extend_from_slice(extra);
    let out = run_helm(helm, &argv);
    assert!(
        out.status.success(),
        "helm template failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_saphyr::from_multiple::<Value>(&String::from_utf8(out.stdout).unwrap())
        .unwrap()
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

/// The RBAC objects (`rbac.yaml`, `serviceaccount.yaml`) of the chart rendered with `values`
/// in release namespace `namespace`; cached per process.
pub fn render(values: &Value, namespace: &str) -> Option<Vec<Value>> {
    static CACHE: OnceLock<Mutex<HashMap<String, Vec<Value>>>> = OnceLock::new();
    let key = format!("{namespace}/{values}");
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some(docs) = cache.lock().unwrap().get(&key) {
        return Some(docs.clone());
    }
    let only = [
        "--show-only",
        "templates/rbac.yaml",
        "--show-only",
        "templates/serviceaccount.yaml",
    ];
    let helm = find_helm("the operator runs as the sandbox admin")?;
    let docs = template(&helm, RELEASE, namespace, values, &only);
    cache.lock().unwrap().insert(key, docs.clone());
    Some(docs)
}

/// Every `(document index, rule index)` of the rendered Roles and ClusterRoles.
pub fn rule_ids(docs: &[Value]) -> Vec<(usize, usize)> {
    let mut ids = Vec::new();
    for (d, doc) in docs.iter().enumerate() {
        if let Some(rules) = doc.get("rules").and_then(Value::as_array) {
            ids.extend((0..rules.len()).map(|r| (d, r)));
        }
    }
    ids
}

/// `Kind/name: apiGroups resources [resourceNames] verbs` of a rule, for tables.
pub fn describe_rule(docs: &[Value], (d, r): (usize, usize)) -> String {
    let doc = &docs[d];
    let rule = &doc["rules"][r];
    let list = |f: &str| {
        rule.get(f)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(",")
            })
            .unwrap_or_default()
    };
    let names = list("resourceNames");
    format!(
        "{}/{}[{r}] {}/{}{} {}",
        doc["kind"].as_str().unwrap_or(""),
        doc.pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or(""),
        list("apiGroups"),
        list("resources"),
        if names.is_empty() {
            String::new()
        } else {
            format!(" names={names}")
        },
        list("verbs"),
    )
}

/// A copy of `docs` without one rule's `verb` (`None`: without the whole rule).
pub fn without(docs: &[Value], (d, r): (usize, usize), verb: Option<&str>) -> Vec<Value> {
    let mut docs = docs.to_vec();
    let rules = docs[d]["rules"].as_array_mut().unwrap();
    match verb {
        None => {
            rules.remove(r);
        }
        Some(verb) => {
            let verbs = rules[r]["verbs"].as_array_mut().unwrap();
            verbs.retain(|v| v != verb);
            if verbs.is_empty() {
                rules.remove(r);
            }
        }
    }
    docs
}

fn api_resource(doc: &Value) -> ApiResource {
    let api_version = doc["apiVersion"].as_str().unwrap_or("v1");
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let kind = doc["kind"].as_str().unwrap_or("");
    let plural = format!("{}s", kind.to_lowercase());
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), &plural)
}

/// Creates a namespace unless it exists (admin client).
pub async fn ensure_namespace(client: &kube::Client, name: &str) {
    let namespaces: Api<Namespace> = Api::all(client.clone());
    if namespaces.get_opt(name).await.unwrap().is_none() {
        let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": name}})).unwrap();
        namespaces
            .create(&PostParams::default(), &ns)
            .await
            .unwrap();
    }
}

/// Creates the objects with the admin `client` (namespaced ones in their `metadata.namespace`,
/// created when missing).
pub async fn install(client: &kube::Client, docs: &[Value]) {
    for doc in docs {
        if let Some(ns) = doc.pointer("/metadata/namespace").and_then(Value::as_str) {
            ensure_namespace(client, ns).await;
        }
        let ar = api_resource(doc);
        let obj: DynamicObject = serde_json::from_value(doc.clone()).unwrap();
        let api: Api<DynamicObject> =
            match doc.pointer("/metadata/namespace").and_then(Value::as_str) {
                Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
                None => Api::all_with(client.clone(), &ar),
            };
        api.create(&PostParams::default(), &obj)
            .await
            .unwrap_or_else(|e| panic!("creating {} failed: {e}", describe(doc)));
    }
}

fn describe(doc: &Value) -> String {
    format!(
        "{}/{}",
        doc["kind"].as_str().unwrap_or(""),
        doc.pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("")
    )
}
