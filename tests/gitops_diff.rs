//! `diff` against the Stytch sandbox (and the Kubernetes sandbox for `--kubeconfig`): exit codes,
//! exactly the changed fields and calls, validation reasons, and no secret in any output.

use std::process::Output;
use std::time::Duration;

use sandbox::stytch::config::Seed;
use sandbox::stytch::model::X509Certificate;
use sandbox::stytch::{SamlConnection as SandboxConnection, StytchConfig, StytchSandbox};
use serde_json::{Value, json};

const PROJECT: &str = "project-test-55555555-5555-5555-5555-555555555555";
const SECRET: &str = "secret-test-gitops-diff-Vb71mZ";
const ORG: &str = "organization-test-66666666-6666-6666-6666-666666666666";
const KEY_A: &str = include_str!("fixtures/rsa-pkcs1-a.pem");
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

struct Env {
    sandbox: StytchSandbox,
    dir: tempfile::TempDir,
    creds: String,
    id: String,
    idp_cert: String,
}

/// The sandbox with one active connection, and a credentials Secret file.
async fn env() -> Env {
    let sandbox = StytchSandbox::start(StytchConfig::with_seed(Seed::single(
        PROJECT, SECRET, ORG, "acme",
    )))
    .await
    .unwrap();
    let idp_cert = cert("idp-a");
    let mapping = json!({"email": "mail", "full_name": "name"});
    let stored = sandbox
        .admin()
        .put_connection(
            PROJECT,
            ORG,
            SandboxConnection {
                display_name: "Acme Okta".into(),
                identity_provider: "okta".into(),
                idp_entity_id: "http://www.okta.com/exk1".into(),
                idp_sso_url: "https://acme.okta.com/sso".into(),
                verification_certificates: vec![X509Certificate {
                    certificate: idp_cert.clone(),
                    ..Default::default()
                }],
                attribute_mapping: mapping.as_object().unwrap().clone(),
                ..Default::default()
            },
        )
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("credentials.yaml");
    std::fs::write(
        &creds,
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: stytch-credentials\nstringData:\n  project_id: {PROJECT}\n  secret: {SECRET}\n  base_url: {}\n",
            sandbox.base_url()
        ),
    )
    .unwrap();
    Env {
        sandbox,
        creds: creds.display().to_string(),
        dir,
        id: stored.connection_id,
        idp_cert,
    }
}

impl Env {
    /// A manifest matching the live connection, with `edit` merged into its spec.
    fn manifest(&self, file: &str, edit: Value) -> String {
        let mut spec = json!({
            "credentialsRef": {"name": "stytch-credentials"},
            "organizationId": "acme",
            "connectionId": self.id,
            "displayName": "Acme Okta",
            "identityProvider": "okta",
            "idp": {"entityId": "http://www.okta.com/exk1", "ssoUrl": "https://acme.okta.com/sso",
                    "certificates": [{"pem": self.idp_cert}]},
            "attributeMapping": {"email": "mail", "fullName": "name"},
        });
        for (k, v) in edit.as_object().unwrap() {
            if v.is_null() {
                spec.as_object_mut().unwrap().remove(k);
            } else {
                spec[k] = v.clone();
            }
        }
        let doc = json!({"apiVersion": "sso.stytch-operator.dev/v1alpha1", "kind": "SamlConnection",
            "metadata": {"name": "acme", "namespace": "team-a"}, "spec": spec});
        let path = self.dir.path().join(file);
        std::fs::write(&path, serde_saphyr::to_string(&doc).unwrap()).unwrap();
        path.display().to_string()
    }

    async fn diff(&self, path: &str, extra: &[&str]) -> (Output, Output) {
        let mut args = vec!["diff", "-f", path, "--credentials-secret-file", &self.creds];
        args.extend_from_slice(extra);
        let human = cli(&args).await;
        args.extend_from_slice(&["--output", "json"]);
        let json = cli(&args).await;
        assert_eq!(human.status.code(), json.status.code(), "{}", text(&json));
        if std::env::var_os("GITOPS_PEEK").is_some() {
            eprintln!("{}\n{}", text(&human), text(&json));
        }
        (human, json)
    }
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

fn json_of(o: &Output) -> Value {
    serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(o)))
}

fn assert_no_secrets(output: &str) {
    assert!(!output.contains(SECRET), "project secret leaked:\n{output}");
    for line in KEY_A
        .lines()
        .filter(|l| !l.starts_with("-----") && l.len() > 20)
    {
        assert!(
            !output.contains(line),
            "private key material leaked:\n{output}"
        );
    }
    assert!(
        !output.contains("PRIVATE KEY-----"),
        "a key PEM leaked:\n{output}"
    );
}

#[tokio::test]
async fn a_changed_field_shows_exactly_that_field_and_one_put() {
    let env = env().await;
    let same = env.manifest("same.yaml", json!({}));
    let (human, _) = env.diff(&same, &[]).await;
    assert_eq!(human.status.code(), Some(0), "{}", text(&human));

    let path = env.manifest("edited.yaml", json!({"displayName": "Acme Okta 2"}));
    let (human, json) = env.diff(&path, &[]).await;
    let out = text(&human);
    assert_eq!(human.status.code(), Some(2), "{out}");
    assert!(
        out.contains(&format!(
            "samlconnection/team-a/acme (connection {})",
            env.id
        )),
        "{out}"
    );
    assert!(
        out.contains("~ displayName: \"Acme Okta\" → \"Acme Okta 2\""),
        "{out}"
    );
    assert_eq!(out.matches(" ~ ").count(), 1, "{out}");
    assert!(
        out.contains(&format!(
            "1. PUT /v1/b2b/sso/saml/acme/connections/{} {{display_name: \"Acme Okta 2\"}}",
            env.id
        )),
        "{out}"
    );
    assert!(!out.contains("2. "), "{out}");
    let report = json_of(&json);
    assert_eq!(report["changes"], json!(true));
    let r = &report["resources"][0];
    assert_eq!(r["status"], json!("changes"));
    assert_eq!(
        r["differences"],
        json!([{"field": "displayName", "live": "Acme Okta", "desired": "Acme Okta 2"}])
    );
    assert_eq!(
        r["calls"],
        json!([{"method": "PUT", "path": format!("/v1/b2b/sso/saml/acme/connections/{}", env.id),
                "fields": {"display_name": "Acme Okta 2"}}])
    );
    // diff never writes.
    assert_eq!(env.sandbox.admin().write_count(), 0);
}

#[tokio::test]
async fn bad_manifests_exit_1_with_their_reasons() {
    let env = env().await;
    let path = env.manifest(
        "bad.yaml",
        json!({"idp": {"entityId": "x", "ssoUrl": "http://acme.okta.com/sso",
                       "certificates": [{"pem": "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"}]}}),
    );
    let (human, json) = env.diff(&path, &[]).await;
    let out = text(&human);
    assert_eq!(human.status.code(), Some(1), "{out}");
    assert!(out.contains("IdpSsoUrlNotHttps spec.idp.ssoUrl"), "{out}");
    assert!(
        out.contains("InvalidX509Certificate spec.idp.certificates[0]"),
        "{out}"
    );
    let r = &json_of(&json)["resources"][0];
    assert_eq!(r["status"], json!("error"));
    let reasons: Vec<&str> = r["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["IdpSsoUrlNotHttps", "InvalidX509Certificate"]);

    // Schema errors, unknown connections and missing credentials are errors too.
    let schema = env.manifest("schema.yaml", json!({"identityProvider": "not-an-idp"}));
    let (human, _) = env.diff(&schema, &[]).await;
    assert_eq!(human.status.code(), Some(1));
    assert!(text(&human).contains("InvalidManifest"), "{}", text(&human));
    let gone = env.manifest(
        "gone.yaml",
        json!({"connectionId": "saml-connection-test-gone"}),
    );
    let (human, _) = env.diff(&gone, &[]).await;
    assert_eq!(human.status.code(), Some(1));
    assert!(
        text(&human).contains("ConnectionNotFound"),
        "{}",
        text(&human)
    );
    let no_creds = cli(&["diff", "-f", &gone]).await;
    assert_eq!(no_creds.status.code(), Some(1));
    assert!(
        text(&no_creds).contains("CredentialsSecretNotFound"),
        "{}",
        text(&no_creds)
    );
}

#[tokio::test]
async fn secrets_and_keys_never_appear_in_any_output() {
    let env = env().await;
    // Local Secret manifests: the key PEM in stringData, then the resource referencing it.
    let secret = json!({"apiVersion": "v1", "kind": "Secret",
        "metadata": {"name": "saml-keys", "namespace": "team-a"}, "stringData": {"tls.key": KEY_A}});
    let keys = env.dir.path().join("keys.yaml");
    std::fs::write(&keys, serde_saphyr::to_string(&secret).unwrap()).unwrap();
    env.manifest(
        "keys-conn.yaml",
        json!({"signingPrivateKeyRef": {"name": "saml-keys", "key": "tls.key"},
               "encryptionPrivateKeyRef": {"name": "saml-keys", "key": "tls.key"}}),
    );
    let dir = env.dir.path().display().to_string();
    let (human, json) = env.diff(&dir, &[]).await;
    let (out, js) = (text(&human), text(&json));
    assert_eq!(human.status.code(), Some(2), "{out}");
    assert_no_secrets(&out);
    assert_no_secrets(&js);
    assert!(
        out.contains("signing_private_key: (secret, not shown)"),
        "{out}"
    );
    assert!(
        out.contains("saml_encryption_private_key: (secret, not shown)"),
        "{out}"
    );
    let report = json_of(&json);
    let fields = &report["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["status"] == json!("changes"))
        .unwrap()["calls"][0]["fields"];
    assert_eq!(fields["signing_private_key"], Value::Null);
    assert_eq!(fields["saml_encryption_private_key"], Value::Null);
}

#[tokio::test]
async fn certificates_show_subject_fingerprint_and_expiry_and_unknown_ids_would_be_created() {
    let env = env().await;
    let new_cert = cert("idp-next");
    let path = env.manifest(
        "rotate.yaml",
        json!({"idp": {"entityId": "http://www.okta.com/exk1", "ssoUrl": "https://acme.okta.com/sso",
                       "certificates": [{"pem": new_cert}]}}),
    );
    let (human, json) = env.diff(&path, &[]).await;
    let out = text(&human);
    assert_eq!(human.status.code(), Some(2), "{out}");
    assert!(out.contains("~ idp.certificates:"), "{out}");
    assert!(out.contains("+ CN=idp-next sha256:"), "{out}");
    assert!(out.contains("- CN=idp-a sha256:"), "{out}");
    assert!(out.contains("expires 2036-01-01"), "{out}");
    let r = &json_of(&json)["resources"][0];
    let methods: Vec<&str> = r["calls"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["method"].as_str().unwrap())
        .collect();
    assert_eq!(methods, ["PUT", "DELETE"], "{r}");
    assert!(
        r["calls"][1]["path"]
            .as_str()
            .unwrap()
            .contains("/verification_certificates/")
    );
    assert!(
        !text(&json).contains("BEGIN CERTIFICATE"),
        "PEMs are described, not dumped"
    );

    let create = env.manifest("create.yaml", json!({"connectionId": null}));
    let (human, json) = env.diff(&create, &[]).await;
    let out = text(&human);
    assert_eq!(human.status.code(), Some(2), "{out}");
    assert!(out.contains("+ create"), "{out}");
    assert!(
        out.contains("1. POST /v1/b2b/sso/saml/acme {display_name: \"Acme Okta\""),
        "{out}"
    );
    assert_eq!(json_of(&json)["resources"][0]["status"], json!("create"));
}

#[tokio::test]
async fn observe_only_reports_drift_without_calls() {
    let env = env().await;
    let path = env.manifest(
        "observe.yaml",
        json!({"displayName": "Renamed", "managementPolicy": "ObserveOnly"}),
    );
    let (human, json) = env.diff(&path, &[]).await;
    let out = text(&human);
    assert_eq!(human.status.code(), Some(2), "{out}");
    assert!(out.contains("ObserveOnly"), "{out}");
    assert_eq!(json_of(&json)["resources"][0]["calls"], json!([]));
}

#[tokio::test]
async fn the_cluster_path_reads_referenced_secrets_with_kubeconfig() {
    use k8s_openapi::api::core::v1::{Namespace, Secret};
    use kube::api::{Api, PostParams};
    let env = env().await;
    let kube = sandbox::kube::KubeSandbox::start().await.unwrap();
    let client = kube.client().await.unwrap();
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": "team-a"}})).unwrap();
    // A sandbox that pre-creates namespaces answers 409; both are fine.
    let _ = Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await;
    let secrets: Api<Secret> = Api::namespaced(client, "team-a");
    for (name, data) in [
        (
            "stytch-credentials",
            json!({"project_id": PROJECT, "secret": SECRET}),
        ),
        ("idp-cert", json!({"ca.crt": env.idp_cert})),
    ] {
        let secret: Secret = serde_json::from_value(
            json!({"metadata": {"name": name, "namespace": "team-a"}, "stringData": data}),
        )
        .unwrap();
        secrets
            .create(&PostParams::default(), &secret)
            .await
            .unwrap();
    }
    let path = env.manifest(
        "cluster.yaml",
        json!({"idp": {"entityId": "http://www.okta.com/exk1", "ssoUrl": "https://acme.okta.com/sso",
               "certificates": [{"secretKeyRef": {"name": "idp-cert", "key": "ca.crt"}}]}}),
    );
    let kubeconfig = kube.kubeconfig_path().display().to_string();
    let base = env.sandbox.base_url().to_owned();
    let args = [
        "diff",
        "-f",
        &path,
        "--kubeconfig",
        &kubeconfig,
        "--stytch-base-url",
        &base,
    ];
    let same = cli(&args).await;
    assert_eq!(same.status.code(), Some(0), "{}", text(&same));
    assert!(text(&same).contains("no changes"));
    assert_no_secrets(&text(&same));

    let edited = env.manifest(
        "cluster.yaml",
        json!({"idp": {"entityId": "http://www.okta.com/exk1", "ssoUrl": "https://acme.okta.com/sso",
               "certificates": [{"secretKeyRef": {"name": "absent", "key": "ca.crt"}}]}}),
    );
    let missing = cli(&[
        "diff",
        "-f",
        &edited,
        "--kubeconfig",
        &kubeconfig,
        "--stytch-base-url",
        &base,
    ])
    .await;
    assert_eq!(missing.status.code(), Some(1), "{}", text(&missing));
    assert!(
        text(&missing).contains("SecretNotFound"),
        "{}",
        text(&missing)
    );
}

fn metadata_xml(cert_pem: &str) -> String {
    let b64: String = cert_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    format!(
        r#"<?xml version="1.0" encoding="UTF-8"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="http://www.okta.com/exk1">
  <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <md:KeyDescriptor use="signing">
      <ds:KeyInfo><ds:X509Data><ds:X509Certificate>{b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo>
    </md:KeyDescriptor>
    <md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://acme.okta.com/sso"/>
  </md:IDPSSODescriptor>
</md:EntityDescriptor>
"#
    )
}

#[tokio::test]
async fn metadata_url_resources_are_diffed_against_the_fetched_metadata() {
    use std::sync::{Arc, Mutex};
    let env = env().await;
    let body = Arc::new(Mutex::new(metadata_xml(&env.idp_cert)));
    let served = body.clone();
    let router = axum::Router::new().route(
        "/metadata.xml",
        axum::routing::get(move || {
            let xml = served.lock().unwrap().clone();
            async move { xml }
        }),
    );
    let server = sandbox::https::serve_https(router).await.unwrap();
    let ca = env.dir.path().join("metadata-ca.pem");
    std::fs::write(&ca, &server.cert_pem).unwrap();
    let ca = ca.display().to_string();
    let url = format!("{}/metadata.xml", server.url);
    let path = env.manifest("meta.yaml", json!({"idp": {"metadataUrl": url}}));

    let (human, _) = env.diff(&path, &["--metadata-ca-file", &ca]).await;
    let out = text(&human);
    assert_eq!(human.status.code(), Some(0), "{out}");
    assert!(
        out.contains(&format!("metadata fetched from {url}")),
        "{out}"
    );

    // The IdP rolls its certificate over: Stytch re-reads the metadata, the old one goes.
    *body.lock().unwrap() = metadata_xml(&cert("idp-next"));
    let (human, json) = env.diff(&path, &["--metadata-ca-file", &ca]).await;
    assert_eq!(human.status.code(), Some(2), "{}", text(&human));
    let r = &json_of(&json)["resources"][0];
    let calls = r["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 2, "{r}");
    assert!(calls[0]["path"].as_str().unwrap().ends_with("/url"), "{r}");
    assert_eq!(calls[0]["fields"], json!({"metadata_url": url}));
    assert_eq!(calls[1]["method"], json!("DELETE"));
    let out = text(&human);
    assert!(out.contains("+ CN=idp-next sha256:"), "{out}");
    assert!(out.contains("- CN=idp-a sha256:"), "{out}");

    // Without trusting the server's certificate the fetch fails: an error, not a guess.
    let (human, _) = env.diff(&path, &[]).await;
    assert_eq!(human.status.code(), Some(1), "{}", text(&human));
    assert!(
        text(&human).contains("spec.idp.metadataUrl"),
        "{}",
        text(&human)
    );
}
