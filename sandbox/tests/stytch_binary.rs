//! Contract of `sandbox stytch` for scripts: first stdout line `listening on http://<addr>`
//! once it accepts requests, YAML seed, `--rate-limit`, clean exit (code 0) on SIGTERM/SIGINT.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const SEED: &str = r#"
projects:
  - project_id: project-test-11111111-1111-1111-1111-111111111111
    secret: secret-test-abc
    organizations:
      - organization_id: organization-test-22222222-2222-2222-2222-222222222222
        organization_slug: acme
        organization_external_id: acme-ext   # optional
        saml_connections:
          - connection_id: saml-connection-test-seeded
            display_name: Seeded
rate_limit_per_second: 0
"#;

struct Running {
    child: Child,
    base_url: String,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn(extra: &[&str]) -> (Running, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let seed = dir.path().join("seed.yaml");
    std::fs::write(&seed, SEED).expect("write seed");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sandbox"))
        .args(["stytch", "--listen", "127.0.0.1:0", "--seed"])
        .arg(&seed)
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sandbox binary");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("first stdout line within 30 s");
    let base_url = line
        .trim_end()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(base_url.starts_with("http://127.0.0.1:"), "{base_url}");
    assert!(
        !base_url.ends_with(":0"),
        "the real port is reported: {base_url}"
    );
    (Running { child, base_url }, dir)
}

fn signal(child: &Child, sig: &str) {
    let status = Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success());
}

fn wait_exit(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "binary did not exit within 15 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn get(base: &str, path: &str) -> (u16, serde_json::Value) {
    let resp = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .get(format!("{base}{path}"))
        .basic_auth(
            "project-test-11111111-1111-1111-1111-111111111111",
            Some("secret-test-abc"),
        )
        .send()
        .await
        .expect("request");
    let status = resp.status().as_u16();
    (status, resp.json().await.expect("json"))
}

#[tokio::test]
async fn serves_the_yaml_seed_and_exits_cleanly_on_sigterm() {
    let (mut run, _dir) = spawn(&[]);
    // Ready as soon as the line is printed: no retry loop.
    let (status, body) = get(&run.base_url, "/v1/b2b/sso/acme-ext").await;
    assert_eq!(status, 200, "{body}");
    let c = &body["saml_connections"][0];
    assert_eq!(c["connection_id"], "saml-connection-test-seeded");
    assert_eq!(c["display_name"], "Seeded");
    assert_eq!(
        c["acs_url"],
        format!(
            "{}/v1/b2b/sso/callback/saml-connection-test-seeded",
            run.base_url
        )
        .as_str()
    );
    signal(&run.child, "-TERM");
    let status = wait_exit(&mut run.child);
    assert_eq!(status.code(), Some(0), "{status:?}");
}

#[tokio::test]
async fn rate_limit_flag_and_ctrl_c() {
    let (mut run, _dir) = spawn(&["--rate-limit", "1"]);
    let mut statuses = Vec::new();
    // Two back-to-back requests; if they straddle a second boundary, retry once (bounded).
    for _ in 0..3 {
        statuses = vec![
            get(&run.base_url, "/v1/b2b/sso/acme").await.0,
            get(&run.base_url, "/v1/b2b/sso/acme").await.0,
        ];
        if statuses.contains(&429) {
            break;
        }
    }
    assert!(statuses.contains(&429), "{statuses:?}");
    signal(&run.child, "-INT");
    let status = wait_exit(&mut run.child);
    assert_eq!(status.code(), Some(0), "{status:?}");
}
