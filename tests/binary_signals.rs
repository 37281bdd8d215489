//! The release binary exits promptly on SIGTERM in every state: API server unreachable, idle
//! and watching, and in the middle of a Stytch call that hangs.

mod support;

use std::process::Stdio;
use std::time::{Duration, Instant};

use sandbox::stytch::faults::FaultRule;
use support::*;
use tokio::process::{Child, Command};

const BIN: &str = env!("CARGO_BIN_EXE_stytch-saml-operator");

fn spawn(kubeconfig: &std::path::Path) -> Child {
    Command::new(BIN)
        .args([
            "run",
            "--metrics-addr",
            "127.0.0.1:0",
            "--resync-interval",
            "1s",
        ])
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap()
}

/// Sends SIGTERM and returns how long the process took to exit, and its exit status.
async fn terminate(mut child: Child) -> (Duration, std::process::ExitStatus) {
    let pid = child.id().unwrap() as i32;
    let start = Instant::now();
    // SAFETY: sending a signal to our own child process.
    let rc = unsafe { libc_kill(pid, 15) };
    assert_eq!(rc, 0);
    let status = tokio::time::timeout(Duration::from_secs(20), child.wait())
        .await
        .expect("did not exit within 20 s")
        .unwrap();
    (start.elapsed(), status)
}

unsafe extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, sig: i32) -> i32;
}

#[tokio::test]
async fn exits_on_sigterm_while_the_api_server_is_unreachable() {
    let dir = tempfile::tempdir().unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        sandbox::kube::kubeconfig_yaml(&format!("http://127.0.0.1:{port}")),
    )
    .unwrap();
    let child = spawn(&kubeconfig);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (took, status) = terminate(child).await;
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(3), "took {took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exits_on_sigterm_while_idle_and_during_a_hanging_stytch_call() {
    let env = Env::new().await;
    let child = spawn(&env.operator_kubeconfig);
    env.apply("acme", full_spec(&[&cert("idp")])).await;
    env.wait_for("acme", "Ready", Duration::from_secs(20), |o| {
        is(o, "Ready", "True")
    })
    .await;
    let (took, status) = terminate(child).await;
    assert!(status.success(), "{status:?}");
    assert!(took < Duration::from_secs(3), "idle: took {took:?}");

    // Every Stytch call now hangs for a minute; the next resync gets stuck inside one.
    env.stytch.admin().add_fault(FaultRule {
        path: "/v1/b2b".into(),
        latency_ms: 60_000,
        ..Default::default()
    });
    let child = spawn(&env.operator_kubeconfig);
    let deadline = Instant::now() + Duration::from_secs(20);
    while !env.stytch.admin().faults().iter().any(|f| f.hits > 0) {
        assert!(
            Instant::now() < deadline,
            "no request reached the hanging fault"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (took, status) = terminate(child).await;
    assert!(status.success(), "{status:?}");
    assert!(
        took < stytch_saml_operator::controller::SHUTDOWN_GRACE + Duration::from_secs(2),
        "in-flight: took {took:?}"
    );
}
