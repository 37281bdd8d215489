//! The examples applied with real `kubectl apply -f` against the sandboxes reach the state their
//! comments promise (`kubectl wait`), with the real controller running.

use std::process::Command;
use std::time::Duration;

use sandbox::demo::{DemoEnv, Expectation};

fn kubectl(env: &DemoEnv, args: &[&str]) -> std::process::Output {
    Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(env.kubeconfig())
        .args(args)
        .output()
        .expect("kubectl is installed (scripts/test.sh installs it)")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn examples_applied_with_kubectl_reach_their_promised_state() {
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");
    let mut env = DemoEnv::start().await.unwrap();
    env.start_operator().unwrap();
    let dir = tempfile::tempdir().unwrap();
    env.write_prepared_examples(examples.as_ref(), dir.path())
        .unwrap();
    let kube_env = &env;
    let out = tokio::task::block_in_place(|| {
        kubectl(
            kube_env,
            &["apply", "-f", &dir.path().display().to_string()],
        )
    });
    assert!(
        out.status.success(),
        "kubectl apply failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("samlconnection.sso.stytch-operator.dev/acme-okta created"),
        "{stdout}"
    );

    let results = env
        .wait_for_examples(Duration::from_secs(30))
        .await
        .unwrap();
    assert_eq!(results.len(), 7);
    for r in &results {
        if r.expectation == Expectation::Ready {
            let target = format!("samlconnection/{}", r.name);
            let out = tokio::task::block_in_place(|| {
                kubectl(
                    kube_env,
                    &["wait", "--for=condition=Ready", &target, "--timeout=30s"],
                )
            });
            assert!(
                out.status.success(),
                "{}: {}",
                r.name,
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert!(
            r.reached,
            "{} did not reach {:?}: {:#?}",
            r.name, r.expectation, r.object.status
        );
    }
    let staged = results
        .iter()
        .find(|r| r.name == "umbrella-staged")
        .unwrap();
    assert_eq!(staged.expectation, Expectation::Pending);
    let out = tokio::task::block_in_place(|| kubectl(kube_env, &["get", "samlconn"]));
    let table = String::from_utf8_lossy(&out.stdout);
    for column in [
        "NAME",
        "ORG",
        "CONNECTION",
        "IDP",
        "STATUS",
        "READY",
        "CERT-EXPIRY",
        "AGE",
    ] {
        assert!(table.contains(column), "missing column {column}:\n{table}");
    }
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("acme-okta") && l.contains("active") && l.contains("True")),
        "{table}"
    );
    env.stop().await;
}
