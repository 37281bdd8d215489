//! The real Helm client installing, upgrading and uninstalling the product chart in the sandbox.
//! Helm comes from `.tools/bin/helm` or `PATH` (`scripts/test.sh` installs it); `SKIP_HELM=1`
//! skips this test where Helm is unavailable.

mod kube_common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use kube_common::*;
use sandbox::kube::KubeSandbox;

fn helm() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let local = root.join(".tools/bin/helm");
    if local.exists() {
        return Some(local);
    }
    let on_path = std::env::var_os("PATH").and_then(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join("helm"))
            .find(|c| c.exists())
    });
    if on_path.is_some() {
        return on_path;
    }
    if std::env::var("SKIP_HELM").is_ok_and(|v| v == "1") {
        eprintln!("helm not found; skipped because SKIP_HELM=1");
        return None;
    }
    panic!(
        "helm is not installed: run scripts/test.sh or bash scripts/install-helm.sh; SKIP_HELM=1 skips"
    );
}

async fn run_helm(helm: &Path, sb: &KubeSandbox, args: &[&str]) -> Run {
    let home = sb.kubeconfig_path().with_file_name("helm-home");
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(helm)
            .args(args)
            .arg("--kubeconfig")
            .arg(sb.kubeconfig_path())
            .env("HELM_CACHE_HOME", home.join("cache"))
            .env("HELM_CONFIG_HOME", home.join("config"))
            .env("HELM_DATA_HOME", home.join("data"))
            .kill_on_drop(true)
            .output(),
    )
    .await
    .expect("helm in time")
    .expect("helm runs");
    let run = Run {
        ok: out.status.success(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    eprintln!("helm {args:?} -> {run:?}");
    run
}

#[tokio::test]
async fn helm_install_upgrade_uninstall() {
    let Some(helm) = helm() else { return };
    bounded(async {
        let sb = start().await;
        let chart = Path::new(env!("CARGO_MANIFEST_DIR")).join("../charts/stytch-saml-operator");
        let chart = chart.to_str().expect("path");
        let r = run_helm(
            &helm,
            &sb,
            &["install", "rel", chart, "-n", "ops", "--create-namespace"],
        )
        .await;
        assert!(r.ok && r.stdout.contains("STATUS: deployed"), "{r:?}");
        let r = kubectl(
            &sb,
            &[
                "get",
                "deploy",
                "-n",
                "ops",
                "-o",
                "jsonpath={.items[*].metadata.labels.app\\.kubernetes\\.io/instance}",
            ],
        )
        .await;
        assert_eq!(r.stdout, "rel");
        let r = run_helm(
            &helm,
            &sb,
            &[
                "upgrade",
                "rel",
                chart,
                "-n",
                "ops",
                "--set",
                "replicaCount=2",
            ],
        )
        .await;
        assert!(r.ok && r.stdout.contains("has been upgraded"), "{r:?}");
        let r = kubectl(
            &sb,
            &[
                "get",
                "deploy",
                "-n",
                "ops",
                "-o",
                "jsonpath={.items[0].spec.replicas}",
            ],
        )
        .await;
        assert_eq!(r.stdout, "2");
        let r = run_helm(&helm, &sb, &["list", "-n", "ops"]).await;
        assert!(
            r.ok && r.stdout.contains("deployed") && r.stdout.lines().count() == 2,
            "{r:?}"
        );
        let r = run_helm(&helm, &sb, &["uninstall", "rel", "-n", "ops"]).await;
        assert!(r.ok, "{r:?}");
        let r = kubectl(
            &sb,
            &["get", "deploy,sa,secrets", "-n", "ops", "-o", "name"],
        )
        .await;
        assert_eq!(r.stdout.trim(), "", "{r:?}");
    })
    .await;
}
