//! The `sandbox kube` binary contract, and the product CRD applied with kubectl.

mod kube_common;

use std::time::Duration;

use kube_common::*;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test]
async fn binary_prints_listening_line_writes_kubeconfig_and_stops_on_sigterm() {
    bounded(async {
        let dir = tempfile::tempdir().expect("tempdir");
        let kc = dir.path().join("kubeconfig");
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_sandbox"))
            .args(["kube", "--listen", "127.0.0.1:0", "--kubeconfig-out"])
            .arg(&kc)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let first = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("first line in time")
            .expect("read")
            .expect("a line");
        let url = first
            .strip_prefix("listening on ")
            .expect("listening line")
            .to_string();
        assert!(
            url.starts_with("http://127.0.0.1:") && !url.ends_with(":0"),
            "{url}"
        );
        let config = std::fs::read_to_string(&kc).expect("kubeconfig written");
        assert!(
            config.contains(&format!("server: {url}"))
                && config.contains("current-context: sandbox")
        );

        let out = tokio::time::timeout(
            KUBECTL_TIMEOUT,
            tokio::process::Command::new("kubectl")
                .arg("--kubeconfig")
                .arg(&kc)
                .args(["get", "ns", "-o", "name"])
                .output(),
        )
        .await
        .expect("kubectl in time")
        .expect("kubectl runs");
        let names = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            names.contains("namespace/default") && names.contains("namespace/kube-system"),
            "{names}"
        );

        let pid = child.id().expect("pid").to_string();
        let killed = std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .expect("kill");
        assert!(killed.success());
        let status = tokio::time::timeout(Duration::from_secs(10), child.wait())
            .await
            .expect("exits in time")
            .expect("wait");
        assert!(status.success(), "clean exit on SIGTERM: {status:?}");
    })
    .await;
}

#[tokio::test]
async fn product_crd_applies_and_explains() {
    bounded(async {
        let crd =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../crds/samlconnection.yaml");
        assert!(
            crd.exists(),
            "crds/samlconnection.yaml is expected in the repository"
        );
        let sb = start().await;
        let r = kubectl(&sb, &["apply", "-f", crd.to_str().expect("path")]).await;
        assert!(
            r.ok && r
                .stdout
                .contains("samlconnections.sso.stytch-operator.dev created"),
            "{r:?}"
        );
        let r = kubectl(
            &sb,
            &[
                "wait",
                "--for",
                "condition=established",
                "--timeout=10s",
                "crd/samlconnections.sso.stytch-operator.dev",
            ],
        )
        .await;
        assert!(r.ok, "{r:?}");
        let r = kubectl(&sb, &["explain", "samlconnection.spec"]).await;
        assert!(
            r.ok && r.stdout.contains("KIND:       SamlConnection")
                && r.stdout.contains("credentialsRef"),
            "{r:?}"
        );
        let r = kubectl(&sb, &["get", "samlconn"]).await;
        assert!(r.ok && r.stderr.contains("No resources found"), "{r:?}");
    })
    .await;
}
