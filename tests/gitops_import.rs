//! `import` against the Stytch sandbox (and the Kubernetes sandbox for the cluster path): the
//! manifests adopt the live connections, keep private keys out, and `diff` on them reports no
//! changes.

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use sandbox::stytch::config::Seed;
use sandbox::stytch::model::{GroupRoleAssignment, RoleAssignment, X509Certificate};
use sandbox::stytch::{SamlConnection as SandboxConnection, StytchConfig, StytchSandbox};
use serde_json::{Value, json};

const PROJECT: &str = "project-test-33333333-3333-3333-3333-333333333333";
const SECRET: &str = "secret-test-gitops-import-Kx93pQ";
const ORG: &str = "organization-test-44444444-4444-4444-4444-444444444444";
const KEY_A: &str = include_str!("fixtures/rsa-pkcs1-a.pem");
const KEY_B: &str = include_str!("fixtures/rsa-pkcs1-b.pem");
const BIN: &str = env!("CARGO_BIN_EXE_stytch-saml-operator");

fn cert(cn: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![format!("{cn}.example.com")]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2036, 1, 1);
    params.self_signed(&key).unwrap().pem()
}

async fn sandbox() -> StytchSandbox {
    StytchSandbox::start(StytchConfig::with_seed(Seed::single(
        PROJECT, SECRET, ORG, "acme",
    )))
    .await
    .unwrap()
}

/// A connection using every importable field, plus a signing key and an encryption key.
fn rich_connection(sandbox: &StytchSandbox, display_name: &str) -> String {
    let mapping = json!({"email": "mail", "first_name": "given", "last_name": "sn",
        "groups": "memberOf", "department": "dept"});
    let conn = SandboxConnection {
        display_name: display_name.into(),
        identity_provider: "okta".into(),
        idp_entity_id: "http://www.okta.com/exk1".into(),
        idp_sso_url: "https://acme.okta.com/app/sso/saml".into(),
        verification_certificates: [cert("idp-a"), cert("idp-b")]
            .into_iter()
            .map(|pem| X509Certificate {
                certificate: pem,
                ..Default::default()
            })
            .collect(),
        attribute_mapping: mapping.as_object().unwrap().clone(),
        saml_connection_implicit_role_assignments: vec![RoleAssignment {
            role_id: "stytch_member".into(),
        }],
        saml_group_implicit_role_assignments: vec![GroupRoleAssignment {
            role_id: "admin".into(),
            group: "Admins".into(),
        }],
        alternative_audience_uri: "https://legacy.example.com/saml".into(),
        idp_initiated_auth_disabled: true,
        nameid_format: "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified".into(),
        ..Default::default()
    };
    let admin = sandbox.admin();
    let stored = admin.put_connection(PROJECT, ORG, conn).unwrap();
    let id = stored.connection_id;
    admin
        .update_connection(
            PROJECT,
            ORG,
            &id,
            json!({"signing_private_key": KEY_B, "saml_encryption_private_key": KEY_A}),
        )
        .unwrap();
    id
}

fn credentials_file(dir: &Path, sandbox: &StytchSandbox) -> String {
    let path = dir.join("credentials.yaml");
    let yaml = format!(
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: stytch-credentials\nstringData:\n  project_id: {PROJECT}\n  secret: {SECRET}\n  base_url: {}\n",
        sandbox.base_url()
    );
    std::fs::write(&path, yaml).unwrap();
    path.display().to_string()
}

async fn cli(args: &[&str]) -> Output {
    let run = tokio::process::Command::new(BIN)
        .args(args)
        .env_remove("STYTCH_BASE_URL")
        .env_remove("KUBECONFIG")
        .kill_on_drop(true)
        .output();
    tokio::time::timeout(Duration::from_secs(60), run)
        .await
        .expect("the command finished in time")
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Lines of the private keys' base64 bodies, and the project secret.
fn assert_no_secrets(output: &str) {
    assert!(!output.contains(SECRET), "project secret leaked");
    for key in [KEY_A, KEY_B] {
        for line in key
            .lines()
            .filter(|l| !l.starts_with("-----") && l.len() > 20)
        {
            assert!(!output.contains(line), "private key material leaked");
        }
    }
    assert!(
        !output.contains("PRIVATE KEY-----"),
        "a private key PEM leaked"
    );
}

#[tokio::test]
async fn import_then_diff_reports_no_changes() {
    let sandbox = sandbox().await;
    let id = rich_connection(&sandbox, "Acme Okta (prod)");
    let dir = tempfile::tempdir().unwrap();
    let creds = credentials_file(dir.path(), &sandbox);
    let out_dir = dir.path().join("manifests");
    let out_dir_s = out_dir.display().to_string();
    let import = cli(&[
        "import",
        "--organization",
        "acme",
        "--namespace",
        "team-a",
        "--credentials-secret-file",
        &creds,
        "--output-dir",
        &out_dir_s,
    ])
    .await;
    assert!(import.status.success(), "{}", text(&import));
    let file = out_dir.join("acme-okta-prod.yaml");
    let yaml = std::fs::read_to_string(&file).unwrap();
    assert_no_secrets(&yaml);
    assert_no_secrets(&text(&import));
    for expected in [
        &format!("connectionId: {id}") as &str,
        "organizationId: acme",
        "namespace: team-a",
        "identityProvider: okta",
        "BEGIN CERTIFICATE",
        "deletionPolicy: Orphan",
        "managementPolicy: Full",
        "department: dept",
        "nameIdFormat: urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
        "# Signing key:",
        "signingPrivateKeyRef: {name: acme-okta-prod-signing-key",
        "# Encryption keys: 1 exist",
        "kubectl -n team-a create secret generic stytch-credentials",
    ] {
        assert!(yaml.contains(expected), "missing {expected:?} in:\n{yaml}");
    }
    // The manifest is a valid SamlConnection.
    let parsed: stytch_saml_operator::api::SamlConnection = serde_saphyr::from_str(&yaml).unwrap();
    assert_eq!(parsed.spec.idp.unwrap().certificates.unwrap().len(), 2);
    assert!(parsed.spec.signing_private_key_ref.is_none());

    let diff = cli(&[
        "diff",
        "-f",
        &out_dir_s,
        "--credentials-secret-file",
        &creds,
    ])
    .await;
    let out = text(&diff);
    assert_eq!(diff.status.code(), Some(0), "{out}");
    assert!(out.contains("no changes"), "{out}");
    assert!(out.contains(&format!(
        "samlconnection/team-a/acme-okta-prod (connection {id})"
    )));
    assert_no_secrets(&out);
    let json = cli(&[
        "diff",
        "-f",
        &out_dir_s,
        "--credentials-secret-file",
        &creds,
        "-o",
        "json",
    ])
    .await;
    assert_eq!(json.status.code(), Some(0), "{}", text(&json));
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(report["changes"], json!(false));
    assert_eq!(report["resources"][0]["status"], json!("in-sync"));
    assert_no_secrets(&text(&json));
    if std::env::var("GITOPS_PEEK").is_ok() {
        eprintln!("{yaml}\n{out}\n{}", text(&json));
    }
    // Edit one field of the imported file: exactly that field, exactly one PUT.
    std::fs::write(
        &file,
        yaml.replace(
            "displayName: Acme Okta (prod)",
            "displayName: Acme Okta (staging)",
        ),
    )
    .unwrap();
    let edited = cli(&[
        "diff",
        "-f",
        &out_dir_s,
        "--credentials-secret-file",
        &creds,
        "-o",
        "json",
    ])
    .await;
    assert_eq!(edited.status.code(), Some(2), "{}", text(&edited));
    let r = &serde_json::from_slice::<Value>(&edited.stdout).unwrap()["resources"][0];
    assert_eq!(
        r["differences"],
        json!([{"field": "displayName", "live": "Acme Okta (prod)", "desired": "Acme Okta (staging)"}])
    );
    assert_eq!(
        r["calls"],
        json!([{"method": "PUT", "path": format!("/v1/b2b/sso/saml/acme/connections/{id}"),
                "fields": {"display_name": "Acme Okta (staging)"}}])
    );
    // Nothing was written to Stytch by any command.
    assert_eq!(sandbox.admin().write_count(), 0);
}

#[tokio::test]
async fn import_one_connection_observe_only_to_stdout_with_unique_names() {
    let sandbox = sandbox().await;
    let first = rich_connection(&sandbox, "Acme");
    let second = rich_connection(&sandbox, "Acme");
    let dir = tempfile::tempdir().unwrap();
    let creds = credentials_file(dir.path(), &sandbox);
    let all = cli(&[
        "import",
        "--organization",
        ORG,
        "--credentials-secret-file",
        &creds,
    ])
    .await;
    assert!(all.status.success(), "{}", text(&all));
    let stdout = String::from_utf8_lossy(&all.stdout).to_string();
    let docs: Vec<stytch_saml_operator::api::SamlConnection> =
        serde_saphyr::from_multiple(&stdout).unwrap();
    let mut names: Vec<_> = docs
        .iter()
        .map(|d| d.metadata.name.clone().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["acme", "acme-2"]);
    assert!(docs.iter().all(|d| d.spec.organization_id == ORG));

    let one = cli(&[
        "import",
        "--organization",
        "acme",
        "--connection",
        &second,
        "--observe-only",
        "--deletion-policy",
        "Delete",
        "--credentials-secret-file",
        &creds,
    ])
    .await;
    assert!(one.status.success(), "{}", text(&one));
    let stdout = String::from_utf8_lossy(&one.stdout).to_string();
    assert!(stdout.contains("managementPolicy: ObserveOnly"), "{stdout}");
    assert!(stdout.contains("deletionPolicy: Delete"), "{stdout}");
    assert!(
        stdout.contains(&second) && !stdout.contains(&first),
        "{stdout}"
    );
    assert_no_secrets(&stdout);

    let missing = cli(&[
        "import",
        "--organization",
        "acme",
        "--connection",
        "saml-connection-test-nope",
        "--credentials-secret-file",
        &creds,
    ])
    .await;
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing).contains("not found"), "{}", text(&missing));
}

#[tokio::test]
async fn import_reads_credentials_from_the_cluster() {
    use k8s_openapi::api::core::v1::Secret;
    use kube::api::{Api, PostParams};
    let sandbox = sandbox().await;
    let id = rich_connection(&sandbox, "Cluster Co");
    let kube = sandbox::kube::KubeSandbox::start().await.unwrap();
    let client = kube.client().await.unwrap();
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "stytch-credentials", "namespace": "default"},
        "stringData": {"project_id": PROJECT, "secret": SECRET},
    }))
    .unwrap();
    Api::<Secret>::namespaced(client, "default")
        .create(&PostParams::default(), &secret)
        .await
        .unwrap();
    let kubeconfig = kube.kubeconfig_path().display().to_string();
    let out = cli(&[
        "import",
        "--organization",
        "acme",
        "--kubeconfig",
        &kubeconfig,
        "--stytch-base-url",
        sandbox.base_url(),
    ])
    .await;
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(stdout.contains(&format!("connectionId: {id}")), "{stdout}");
    assert_no_secrets(&text(&out));

    let wrong = cli(&[
        "import",
        "--organization",
        "acme",
        "--kubeconfig",
        &kubeconfig,
        "--credentials-secret-name",
        "absent",
        "--stytch-base-url",
        sandbox.base_url(),
    ])
    .await;
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        text(&wrong).contains("`absent` not found"),
        "{}",
        text(&wrong)
    );
}
