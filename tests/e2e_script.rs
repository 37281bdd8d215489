//! `tests/e2e/kind.sh`, the kind end-to-end test, made correct by construction: it is shellcheck
//! clean, its seed and sandbox Deployment work with the real `sandbox` binary, and its
//! cluster-side phases (sandbox manifests, `helm upgrade --install` of the chart, `kubectl apply`
//! of examples/, `kubectl wait --for=condition=Ready`, status checks, an update, deletion with
//! both policies, request-log assertions with curl and jq) run here, sourced from the script,
//! against the Kubernetes sandbox, the Stytch sandbox binary and the operator binary (two
//! replicas, started with the installed Deployment's arguments). Only cluster creation and the
//! image build and load (Docker) are not exercised.
//!
//! Needs shellcheck, helm, kubectl, curl and jq (`scripts/test.sh` installs them); set
//! `SKIP_SHELLCHECK=1` or `SKIP_HELM=1` to skip the tests that need those two.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};

const SCRIPT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/e2e/kind.sh");
const OPERATOR_BIN: &str = env!("CARGO_BIN_EXE_stytch-saml-operator");
const PROJECT: &str = "project-test-11111111-1111-1111-1111-111111111111";
const SECRET: &str = "secret-test-replace-me";
const ADOPTED: &str = "saml-connection-test-33333333-3333-3333-3333-333333333333";
/// The organizations of examples/ (as in the demo).
const ORGS: &[&str] = &[
    "acme", "globex", "initech", "umbrella", "hooli", "soylent", "vandelay",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn script_text() -> String {
    std::fs::read_to_string(SCRIPT).unwrap()
}

/// A tool on PATH or in `.tools/bin`, or `None` when `skip_var` is set; panics otherwise.
fn tool(name: &str, skip_var: Option<&str>) -> Option<PathBuf> {
    let local = root().join(".tools/bin").join(name);
    if local.is_file() {
        return Some(local);
    }
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    });
    if on_path.is_some() {
        return on_path;
    }
    if let Some(var) = skip_var
        && std::env::var(var).is_ok_and(|v| v == "1")
    {
        eprintln!("{name} not found; skipped because {var}=1");
        return None;
    }
    panic!(
        "{name} is not installed: run scripts/test.sh (it installs helm, shellcheck, kubectl, curl and jq){}",
        skip_var.map_or(String::new(), |v| format!(", or set {v}=1 to skip"))
    );
}

/// Runs `snippet` in bash after sourcing the script, with `env`; returns stdout or panics.
fn sourced(snippet: &str, env: &[(&str, String)]) -> String {
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!("source {SCRIPT}\n{snippet}"))
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "`{snippet}` failed:\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The `sandbox` binary of this workspace (built on demand).
fn sandbox_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(Path::parent).unwrap();
    let bin = dir.join("sandbox");
    if !bin.is_file() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "sandbox", "--bin", "sandbox"])
            .current_dir(root())
            .status()
            .unwrap();
        assert!(status.success(), "cannot build the sandbox binary");
    }
    assert!(bin.is_file(), "no sandbox binary at {}", bin.display());
    bin
}

/// Starts `sandbox <args>` and returns the child and the URL of its first stdout line.
async fn start_stytch(args: &[String]) -> (tokio::process::Child, String) {
    let mut child = tokio::process::Command::new(sandbox_bin())
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let first = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
        .await
        .expect("the sandbox printed nothing within 20 s")
        .unwrap()
        .unwrap_or_default();
    let url = first
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {first:?}"))
        .to_owned();
    (child, url)
}

#[test]
fn shellcheck_is_clean() {
    let Some(shellcheck) = tool("shellcheck", Some("SKIP_SHELLCHECK")) else {
        return;
    };
    for script in [
        SCRIPT.to_owned(),
        root().join("scripts/install-helm.sh").display().to_string(),
    ] {
        let out = Command::new(&shellcheck).arg(&script).output().unwrap();
        assert!(
            out.status.success(),
            "shellcheck {script}:\n{}",
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn script_runs_the_commands_exercised_here() {
    let text = script_text();
    for needle in [
        "set -euo pipefail",
        r#"kubectl -n "$NS" wait --for=condition=Ready "samlconnection/$name""#,
        r#"kubectl -n "$NS" wait --for=condition=Ready samlconnection/acme-okta"#,
        r#""$STYTCH_URL/__sandbox/requests""#,
        r#""$HELM" upgrade --install "$RELEASE" "$ROOT/charts/stytch-saml-operator""#,
        r#"--set stytch.baseUrl="$STYTCH_CLUSTER_URL""#,
        r#"args: [stytch, --listen, "0.0.0.0:8787", --seed, /seed/seed.yaml"#,
        r#"kubectl -n "$NS" delete samlconnection acme-okta"#,
        r#"kubectl -n "$NS" delete samlconnection vandelay-adopted"#,
        "kind create cluster",
        "kind load docker-image",
        "docker build",
        r#"if [ "${BASH_SOURCE[0]}" = "$0" ]; then"#,
    ] {
        assert!(text.contains(needle), "kind.sh lacks {needle:?}");
    }
    // The cluster-side phases are exactly the ones cluster_phases_run_against_the_sandboxes runs
    // (it calls `cluster_phases` itself): every phase is a function defined in the script.
    let body: Vec<&str> = text
        .split("cluster_phases() {\n")
        .nth(1)
        .and_then(|rest| rest.split("\n}\n").next())
        .expect("cluster_phases() in kind.sh")
        .lines()
        .map(str::trim)
        .collect();
    assert_eq!(
        body,
        [
            "deploy_sandbox",
            "install_operator",
            "apply_examples",
            "wait_for_examples",
            "check_status",
            "change_field",
            "delete_both_policies",
            "check_request_log",
        ]
    );
    // main runs them after the Docker-only phases, nothing else.
    let main: Vec<&str> = text
        .split("\nmain() {\n")
        .nth(1)
        .and_then(|rest| rest.split("\n}\n").next())
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("for ") && !l.starts_with("command -v") && *l != "done")
        .collect();
    assert_eq!(
        main,
        [
            "local tool",
            "trap cleanup EXIT",
            "create_cluster",
            "kubectl config use-context \"kind-$CLUSTER\"",
            "build_images",
            "cluster_phases",
            "log \"end-to-end test passed\"",
        ]
    );
    // Every example but the metadata-URL one (skipped, with a comment) is applied and awaited.
    let names: Vec<String> = std::fs::read_dir(root().join("examples"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(names.iter().any(|n| n == "30-metadata-url.yaml"));
    assert!(text.contains("SKIPPED_EXAMPLE=30-metadata-url.yaml"));
    for name in [
        "acme-okta",
        "globex-entra",
        "hooli-rotation",
        "vandelay-adopted",
        "umbrella-staged",
        "soylent-signed",
    ] {
        assert!(text.contains(name), "{name} not awaited");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seed_parses_with_the_sandbox_binary() {
    let seed = sourced("seed_yaml", &[]);
    let parsed = sandbox::stytch::config::Seed::from_yaml(&seed).unwrap();
    assert_eq!(parsed.projects.len(), 1);
    let project = &parsed.projects[0];
    assert_eq!(project.project_id, PROJECT);
    assert_eq!(project.secret, SECRET);
    let slugs: Vec<&str> = project
        .organizations
        .iter()
        .map(|o| o.organization_slug.as_str())
        .collect();
    assert_eq!(slugs, ORGS);
    // The credentials example names the same project and secret.
    let credentials = std::fs::read_to_string(root().join("examples/00-credentials.yaml")).unwrap();
    assert!(credentials.contains(&format!("project_id: {PROJECT}")));
    assert!(credentials.contains(&format!("secret: {SECRET}")));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("seed.yaml");
    std::fs::write(&path, &seed).unwrap();
    let (mut child, url) = start_stytch(&[
        "stytch".into(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--seed".into(),
        path.display().to_string(),
    ])
    .await;
    let conns: Value = reqwest::get(format!(
        "{url}/__sandbox/projects/{PROJECT}/organizations/vandelay/connections"
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(conns[0]["connection_id"], ADOPTED, "{conns}");
    assert_eq!(conns[0]["display_name"], "Vandelay Industries");
    let log: Value = reqwest::get(format!("{url}/__sandbox/requests"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(log["entries"], json!([]));
    child.kill().await.unwrap();
}

/// What the test's stand-in for the cluster's controllers did.
#[derive(Default)]
struct Cluster {
    operators: Vec<tokio::process::Child>,
    operator_args: Vec<String>,
}

/// Stands in for the Deployment controller and kubelet: marks the script's Deployments
/// Available once they exist, and runs the operator Deployment's replicas as processes of the
/// operator binary with the Deployment's arguments (the in-cluster Stytch URL and the metrics
/// address swapped for local ones), Available only once their readiness probes pass.
async fn run_deployments(
    client: kube::Client,
    kubeconfig: PathBuf,
    stytch_url: String,
    cluster: std::sync::Arc<tokio::sync::Mutex<Cluster>>,
) {
    let available = json!({"status": {"conditions": [{
        "type": "Available", "status": "True", "reason": "MinimumReplicasAvailable",
        "message": "started by the test",
    }]}});
    let targets = [
        ("stytch-sandbox", "stytch-sandbox"),
        ("stytch-saml-operator", "stytch-saml-operator"),
    ];
    let mut done = [false, false];
    loop {
        for (i, (ns, name)) in targets.iter().enumerate() {
            if done[i] {
                continue;
            }
            let api: Api<Deployment> = Api::namespaced(client.clone(), ns);
            let Ok(Some(deployment)) = api.get_opt(name).await else {
                continue;
            };
            if *name == "stytch-saml-operator" {
                let spec = deployment.spec.unwrap();
                let replicas = spec.replicas.unwrap_or(1);
                let pod = spec.template.spec.unwrap();
                let container = &pod.containers[0];
                let args = container.args.clone().unwrap_or_default();
                let mut argv: Vec<String> = args
                    .iter()
                    .filter(|a| {
                        !a.starts_with("--metrics-addr") && !a.starts_with("--stytch-base-url")
                    })
                    .cloned()
                    .collect();
                argv.extend([
                    format!("--stytch-base-url={stytch_url}"),
                    format!("--kubeconfig={}", kubeconfig.display()),
                ]);
                assert_eq!(replicas, 2, "the kind run uses two replicas");
                let readiness_path = container
                    .readiness_probe
                    .as_ref()
                    .and_then(|p| p.http_get.as_ref())
                    .and_then(|g| g.path.clone())
                    .expect("a readiness probe");
                let mut cluster = cluster.lock().await;
                cluster.operator_args = args;
                let mut ports = Vec::new();
                for replica in 0..replicas {
                    let port = free_port();
                    ports.push(port);
                    cluster.operators.push(
                        tokio::process::Command::new(OPERATOR_BIN)
                            .args(&argv)
                            .arg(format!("--metrics-addr=127.0.0.1:{port}"))
                            .env("POD_NAME", format!("stytch-saml-operator-{replica}"))
                            .env("POD_NAMESPACE", ns)
                            .env("RUST_LOG", "warn")
                            .stdout(Stdio::null())
                            .stderr(Stdio::inherit())
                            .kill_on_drop(true)
                            .spawn()
                            .unwrap(),
                    );
                }
                drop(cluster);
                // Available only once every replica passes its readiness probe, like the
                // kubelet and the Deployment controller (a standby replica is ready too).
                for port in ports {
                    wait_ready(&format!("http://127.0.0.1:{port}{readiness_path}")).await;
                }
            }
            api.patch_status(name, &PatchParams::default(), &Patch::Merge(&available))
                .await
                .unwrap();
            done[i] = true;
        }
        if done.iter().all(|d| *d) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Polls a readiness endpoint until it answers 2xx (at most 30 s).
async fn wait_ready(url: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(resp) = reqwest::get(url).await
            && resp.status().is_success()
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{url} did not become ready within 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_phases_run_against_the_sandboxes() {
    let Some(helm) = tool("helm", Some("SKIP_HELM")) else {
        return;
    };
    for needed in ["kubectl", "curl", "jq"] {
        tool(needed, None);
    }
    let kube = sandbox::kube::KubeSandbox::start().await.unwrap();
    let client = kube.client().await.unwrap();
    let kubeconfig = kube.kubeconfig_path().to_path_buf();
    let base_env = vec![("KUBECONFIG", kubeconfig.display().to_string())];

    // The in-cluster sandbox as the script deploys it: its seed ConfigMap and Deployment args,
    // run with the real binary (listen address and seed path made local).
    let manifests = sourced("sandbox_manifests", &base_env);
    let docs: Vec<Value> = serde_saphyr::from_multiple(&manifests).unwrap();
    let kinds: Vec<&str> = docs.iter().filter_map(|d| d["kind"].as_str()).collect();
    assert_eq!(kinds, ["Namespace", "ConfigMap", "Deployment", "Service"]);
    let seed = docs[1]["data"]["seed.yaml"].as_str().unwrap();
    assert_eq!(seed, sourced("seed_yaml", &[]));
    let container = &docs[2]["spec"]["template"]["spec"]["containers"][0];
    let mount = container["volumeMounts"][0]["mountPath"].as_str().unwrap();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("seed.yaml"), seed).unwrap();
    let args: Vec<String> = container["args"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            let a = a.as_str().unwrap();
            if a == "0.0.0.0:8787" {
                "127.0.0.1:0".to_owned()
            } else if let Some(file) = a.strip_prefix(&format!("{mount}/")) {
                dir.path().join(file).display().to_string()
            } else {
                a.to_owned()
            }
        })
        .collect();
    assert_eq!(args[0], "stytch");
    let (mut stytch, stytch_url) = start_stytch(&args).await;
    assert_eq!(docs[3]["spec"]["ports"][0]["port"], 8787);

    let cluster = std::sync::Arc::new(tokio::sync::Mutex::new(Cluster::default()));
    let deployments = tokio::spawn(run_deployments(
        client.clone(),
        kubeconfig.clone(),
        stytch_url.clone(),
        cluster.clone(),
    ));
    let mut env = base_env.clone();
    env.extend([
        ("STYTCH_URL", stytch_url.clone()),
        ("HELM", helm.display().to_string()),
        ("WAIT_TIMEOUT", "60s".to_owned()),
    ]);
    let out = tokio::time::timeout(
        Duration::from_secs(240),
        tokio::process::Command::new("bash")
            .arg("-c")
            .arg(format!("source {SCRIPT}\ncluster_phases"))
            .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
            .output(),
    )
    .await
    .expect("cluster_phases did not finish within 240 s")
    .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "cluster_phases failed:\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    deployments.await.unwrap();
    for expected in [
        "condition met",
        "ok: umbrella-staged Active reason = Pending",
        "ok: connectionStatus = active",
        "ok: live display_name = Acme Okta (renamed)",
        "ok: vandelay connections left in Stytch (Orphan) = 1",
        "ok: create_connection calls = 5",
        "ok: writes for vandelay = 0",
        "NOTES:",
    ] {
        assert!(
            stdout.contains(expected) || stderr.contains(expected),
            "missing {expected:?}:\n{stdout}\n{stderr}"
        );
    }
    let mut cluster = cluster.lock().await;
    // The chart's arguments as the kind run uses them: namespaced, two replicas electing a leader.
    assert_eq!(
        cluster.operator_args,
        [
            "run",
            "--metrics-addr=0.0.0.0:8080",
            "--log-format=text",
            "--resync-interval=30s",
            "--concurrency=8",
            "--certificate-expiry-warning=30d",
            "--stytch-rate-limit=20",
            "--namespace=e2e",
            "--stytch-base-url=http://stytch-sandbox.stytch-sandbox.svc:8787",
            "--leader-elect",
            "--leader-election-namespace=stytch-saml-operator",
            "--leader-election-lease=stytch-saml-operator",
            "--leader-election-lease-seconds=15",
        ]
    );
    let leases: Api<k8s_openapi::api::coordination::v1::Lease> =
        Api::namespaced(client.clone(), "stytch-saml-operator");
    let lease = leases.get("stytch-saml-operator").await.unwrap();
    let holder = lease
        .spec
        .and_then(|s| s.holder_identity)
        .unwrap_or_default();
    assert!(holder.starts_with("stytch-saml-operator-"), "{holder}");
    for child in &mut cluster.operators {
        assert!(
            child.try_wait().unwrap().is_none(),
            "an operator replica exited"
        );
        child.kill().await.unwrap();
    }
    stytch.kill().await.unwrap();
}
