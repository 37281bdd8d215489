//! The binary's HTTP endpoints: `/healthz` at once, `/readyz` once the SamlConnection cache has
//! synced (also for an empty cluster, and for a leader-elected replica), `/metrics` after work.

mod support;

use std::time::Duration;

use support::*;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn status(url: &str) -> Option<u16> {
    reqwest::get(url).await.ok().map(|r| r.status().as_u16())
}

async fn wait_status(url: &str, want: u16, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let got = status(url).await;
        if got == Some(want) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{url} answered {got:?}, wanted {want}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_turns_ready_once_caches_sync_even_with_nothing_to_reconcile() {
    let env = Env::new().await;
    for extra in [&[][..], &["--leader-elect"][..]] {
        let port = free_port();
        let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_stytch-saml-operator"))
            .args(["run", "--metrics-addr", &format!("127.0.0.1:{port}")])
            .args(extra)
            .arg("--kubeconfig")
            .arg(&env.operator_kubeconfig)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let base = format!("http://127.0.0.1:{port}");
        wait_status(&format!("{base}/healthz"), 200, Duration::from_secs(10)).await;
        wait_status(&format!("{base}/readyz"), 200, Duration::from_secs(10)).await;
        let metrics = reqwest::get(format!("{base}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            metrics.contains("stytch_saml_operator_reconcile_duration_seconds"),
            "{metrics}"
        );
        child.kill().await.unwrap();
    }
}
