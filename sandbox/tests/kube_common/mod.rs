//! Shared helpers of the `kube_*` integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use sandbox::kube::KubeSandbox;
use serde_json::{Value, json};

/// Upper bound for any single kubectl invocation.
pub const KUBECTL_TIMEOUT: Duration = Duration::from_secs(40);

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/kube_fixtures")
        .join(name)
}

pub async fn start() -> KubeSandbox {
    KubeSandbox::start().await.expect("sandbox starts")
}

/// Result of a kubectl run.
#[derive(Debug)]
pub struct Run {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs kubectl against the sandbox with a bounded time, optionally feeding stdin.
pub async fn kubectl_in(sb: &KubeSandbox, args: &[&str], stdin: Option<&str>) -> Run {
    use tokio::io::AsyncWriteExt;
    let cache = sb.kubeconfig_path().with_file_name("kubectl-cache");
    let mut cmd = tokio::process::Command::new("kubectl");
    cmd.arg("--kubeconfig")
        .arg(sb.kubeconfig_path())
        .arg("--cache-dir")
        .arg(&cache)
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let mut child = cmd.spawn().expect("kubectl spawns");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.unwrap_or("").to_string();
    tokio::spawn(async move {
        let _ = input.write_all(data.as_bytes()).await;
    });
    let out: Output = tokio::time::timeout(KUBECTL_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("kubectl {args:?} timed out"))
        .expect("kubectl runs");
    let run = Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    eprintln!(
        "kubectl {args:?} -> ok={} stdout={} stderr={}",
        run.ok, run.stdout, run.stderr
    );
    run
}

pub async fn kubectl(sb: &KubeSandbox, args: &[&str]) -> Run {
    kubectl_in(sb, args, None).await
}

/// `ApiResource` of the test Widget.
pub fn widget_resource() -> ApiResource {
    ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk("example.test", "v1", "Widget"),
        "widgets",
    )
}

pub fn widgets(client: &kube::Client, ns: &str) -> Api<DynamicObject> {
    Api::namespaced_with(client.clone(), ns, &widget_resource())
}

/// The Widget CRD fixture as JSON.
pub fn widget_crd() -> Value {
    let text = std::fs::read_to_string(fixture("widget-crd.yaml")).expect("fixture");
    serde_saphyr::from_str(&text).expect("yaml")
}

/// Registers the Widget CRD through kube-rs.
pub async fn install_widget_crd(client: &kube::Client) {
    use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    let crd: CustomResourceDefinition = serde_json::from_value(widget_crd()).expect("crd");
    crds.create(&PostParams::default(), &crd)
        .await
        .expect("crd created");
}

/// A Widget object.
pub fn widget(name: &str, color: &str, size: i64) -> DynamicObject {
    let mut obj = DynamicObject::new(name, &widget_resource());
    obj.data = json!({"spec": {"color": color, "size": size}});
    obj
}

/// Sandbox + client with the Widget CRD installed.
pub async fn with_widgets() -> (KubeSandbox, kube::Client) {
    let sb = start().await;
    let client = sb.client().await.expect("client");
    install_widget_crd(&client).await;
    (sb, client)
}

/// Polls `f` until it returns true or the deadline passes.
pub async fn eventually<F, Fut>(what: &str, timeout: Duration, mut f: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if f().await {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

pub fn rv(obj: &DynamicObject) -> u64 {
    obj.metadata
        .resource_version
        .as_deref()
        .and_then(|r| r.parse().ok())
        .expect("rv")
}

/// Runs a test body with an overall time bound.
pub async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(Duration::from_secs(90), f)
        .await
        .expect("test timed out")
}

/// Raw HTTP helper returning status and JSON body.
pub async fn http(
    sb: &KubeSandbox,
    method: &str,
    path: &str,
    content_type: &str,
    body: &str,
) -> (u16, Value) {
    let client = reqwest::Client::new();
    let url = format!("{}{}", sb.base_url(), path);
    let m = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
    let resp = client
        .request(m, url)
        .header("content-type", content_type)
        .body(body.to_string())
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .expect("request");
    let code = resp.status().as_u16();
    let text = resp.text().await.expect("body");
    (
        code,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}
