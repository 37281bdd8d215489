//! Conformance: Stytch's official Python SDK (`stytch==15.3.0`) drives the sandbox through
//! all seven endpoints (`sandbox/conformance/python_sdk.py`). Fails when the SDK is missing,
//! unless `SKIP_PYTHON_SDK=1`.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sandbox::stytch::{Seed, StytchConfig, StytchSandbox};

const PROJECT: &str = "project-test-55555555-5555-5555-5555-555555555555";
const SECRET: &str = "secret-test-python";
const ORG: &str = "organization-test-66666666-6666-6666-6666-666666666666";

fn sdk_available() -> bool {
    Command::new("python3")
        .args(["-c", "import stytch, cryptography"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn official_python_sdk_accepts_every_response() {
    if !sdk_available() {
        if std::env::var("SKIP_PYTHON_SDK").as_deref() == Ok("1") {
            eprintln!("SKIP_PYTHON_SDK=1: skipping the Python SDK conformance test");
            return;
        }
        panic!(
            "python3 cannot import the Stytch Python SDK: run scripts/test.sh (it installs the \
             Stytch Python SDK), or `pip install stytch==15.3.0`; set SKIP_PYTHON_SDK=1 to skip"
        );
    }
    let sandbox = StytchSandbox::start(StytchConfig::with_seed(Seed::single(
        PROJECT,
        SECRET,
        ORG,
        "python-org",
    )))
    .await
    .expect("sandbox starts");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/conformance/python_sdk.py");
    let base_url = format!("{}/", sandbox.base_url());
    let output = tokio::task::spawn_blocking(move || {
        let mut child = Command::new("python3")
            .args([script, &base_url, PROJECT, SECRET, ORG])
            .env("NO_PROXY", "127.0.0.1,localhost")
            .env("no_proxy", "127.0.0.1,localhost")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn python3");
        let deadline = Instant::now() + Duration::from_secs(180);
        while child.try_wait().expect("try_wait").is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        child.wait_with_output().expect("output")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "python SDK conformance failed ({:?})\nstdout:\n{stdout}\nstderr:\n{stderr}",
        output.status
    );
    assert!(stdout.contains("python SDK conformance: OK"), "{stdout}");
    // The script really exercised all seven endpoints.
    let counters = sandbox.admin().counters();
    for endpoint in [
        "create_connection",
        "update_connection",
        "update_by_url",
        "delete_verification_certificate",
        "delete_encryption_private_key",
        "get_connections",
        "delete_connection",
    ] {
        assert!(
            counters.by_endpoint.get(endpoint).copied().unwrap_or(0) > 0,
            "{endpoint} not called: {counters:?}"
        );
    }
    sandbox.shutdown().await;
}
