//! The demo's environment: both sandboxes, seeded for `examples/`, and the operator in-process.

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use clap::Parser;
use futures::FutureExt;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use kube::{CustomResourceExt, ResourceExt};
use serde_json::{Value, json};
use stytch_saml_operator::api::SamlConnection;
use stytch_saml_operator::operator::RunArgs;

use crate::kube::KubeSandbox;
use crate::stytch::config::{Seed, SeedOrganization, SeedProject};
use crate::stytch::{StytchConfig, StytchSandbox};

/// The project the examples' credentials Secret names.
pub const PROJECT: &str = "project-test-11111111-1111-1111-1111-111111111111";
pub const SECRET: &str = "secret-test-replace-me";
/// Organizations (slugs) the examples use.
pub const ORGS: &[&str] = &[
    "acme", "globex", "initech", "umbrella", "hooli", "soylent", "vandelay",
];
/// The connection the adoption example names.
pub const ADOPTED: &str = "saml-connection-test-33333333-3333-3333-3333-333333333333";
const DEMO_SIGNING_KEY: &str = include_str!("../../tests/fixtures/test-only-rsa-pkcs1-a.pem");

type BoxError = Box<dyn std::error::Error>;

/// What an example's comment promises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expectation {
    /// `Ready=True`.
    Ready,
    /// Staged: `Active=False` reason `Pending`, `Synced=True`.
    Pending,
}

impl Expectation {
    /// Derived from the spec: without IdP details or attribute mapping a created connection
    /// stays pending; everything else becomes Ready.
    pub fn for_spec(obj: &SamlConnection) -> Self {
        let complete = obj.spec.idp.is_some() && obj.spec.attribute_mapping.is_some();
        if complete || obj.spec.connection_id.is_some() {
            Self::Ready
        } else {
            Self::Pending
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Self::Ready => "Ready",
            Self::Pending => "Pending (awaiting IdP details)",
        }
    }

    pub fn reached(self, obj: &SamlConnection) -> bool {
        let cond = |t: &str| {
            obj.status
                .as_ref()
                .and_then(|s| s.conditions.iter().find(|c| c.type_ == t).cloned())
        };
        match self {
            Self::Ready => cond("Ready").is_some_and(|c| c.status == "True"),
            Self::Pending => {
                cond("Active").is_some_and(|c| c.reason == "Pending")
                    && cond("Synced").is_some_and(|c| c.status == "True")
                    && obj.status.as_ref().is_some_and(|s| s.acs_url.is_some())
                    && (obj.spec.signing_private_key_ref.is_none()
                        || obj
                            .status
                            .as_ref()
                            .is_some_and(|s| !s.signing_certificates.is_empty()))
            }
        }
    }
}

/// One example's outcome.
pub struct ExampleResult {
    pub name: String,
    pub object: SamlConnection,
    pub expectation: Expectation,
    pub reached: bool,
}

#[derive(Parser)]
struct OperatorCli {
    #[command(flatten)]
    run: RunArgs,
}

/// Both sandboxes plus the metadata server and (once started) the operator.
pub struct DemoEnv {
    pub kube: KubeSandbox,
    pub stytch: StytchSandbox,
    pub client: kube::Client,
    metadata: crate::https::HttpsServer,
    metadata_ca: tempfile::NamedTempFile,
    stop: Option<futures::channel::oneshot::Sender<()>>,
    operator: Option<tokio::task::JoinHandle<()>>,
}

/// An IdP metadata document for a fresh certificate.
fn metadata_xml() -> Result<String, BoxError> {
    use base64::Engine;
    let key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(vec!["idp.initech.example".into()])?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "idp.initech.example");
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    params.not_after = rcgen::date_time_ymd(2035, 1, 1);
    let der = params.self_signed(&key)?.der().to_vec();
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    Ok(format!(
        r#"<?xml version="1.0"?><md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.initech.example/saml"><md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol"><md:KeyDescriptor use="signing"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>{b64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor><md:SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.initech.example/saml/sso"/></md:IDPSSODescriptor></md:EntityDescriptor>"#
    ))
}

fn cert_pem(cn: &str) -> Result<String, BoxError> {
    let key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(vec![cn.to_owned()])?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    params.not_after = rcgen::date_time_ymd(2035, 1, 1);
    Ok(params.self_signed(&key)?.pem())
}

impl DemoEnv {
    /// Starts both sandboxes, installs the CRD, seeds the examples' organizations and the
    /// connection the adoption example names, and serves IdP metadata.
    pub async fn start() -> Result<Self, BoxError> {
        let kube = KubeSandbox::start().await?;
        let organizations = ORGS
            .iter()
            .enumerate()
            .map(|(i, slug)| SeedOrganization {
                organization_id: format!(
                    "organization-test-{:08x}-0000-4000-8000-{:012x}",
                    i + 1,
                    i + 1
                ),
                organization_slug: (*slug).to_owned(),
                ..Default::default()
            })
            .collect();
        let seed = Seed {
            projects: vec![SeedProject {
                project_id: PROJECT.into(),
                secret: SECRET.into(),
                organizations,
            }],
            ..Default::default()
        };
        let stytch = StytchSandbox::start(StytchConfig::with_seed(seed)).await?;
        let existing: crate::stytch::model::SamlConnection = serde_json::from_value(json!({
            "connection_id": ADOPTED,
            "display_name": "Vandelay Industries",
            "identity_provider": "generic",
            "idp_entity_id": "https://idp.vandelay.example/saml",
            "idp_sso_url": "https://idp.vandelay.example/saml/sso",
            "attribute_mapping": {"email": "email", "full_name": "name"},
            "verification_certificates": [{"certificate": cert_pem("idp.vandelay.example")?}],
        }))?;
        stytch
            .admin()
            .put_connection(PROJECT, "vandelay", existing)?;
        let client = kube.client().await?;
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        crds.create(&PostParams::default(), &SamlConnection::crd())
            .await?;
        let xml = metadata_xml()?;
        let metadata = crate::https::serve_https(
            Router::new().route("/saml/metadata", get(move || async move { xml })),
        )
        .await?;
        // Both the operator and the Stytch sandbox fetch the metadata: both trust its certificate.
        let mut behaviour = stytch.admin().behaviour();
        behaviour.metadata_trusted_ca_pem = Some(metadata.cert_pem.clone());
        stytch.admin().set_behaviour(behaviour);
        let metadata_ca = tempfile::NamedTempFile::new()?;
        std::fs::write(metadata_ca.path(), &metadata.cert_pem)?;
        Ok(Self {
            kube,
            stytch,
            client,
            metadata,
            metadata_ca,
            stop: None,
            operator: None,
        })
    }

    pub fn kubeconfig(&self) -> &Path {
        self.kube.kubeconfig_path()
    }

    pub fn stytch_url(&self) -> &str {
        self.stytch.base_url()
    }

    /// Runs the real controller in-process against both sandboxes.
    pub fn start_operator(&mut self) -> Result<(), BoxError> {
        let kubeconfig = self.kube.kubeconfig_path().display().to_string();
        let ca = self.metadata_ca.path().display().to_string();
        let argv = [
            "operator",
            "--kubeconfig",
            &kubeconfig,
            "--metrics-addr",
            "127.0.0.1:0",
            "--stytch-base-url",
            self.stytch.base_url(),
            "--metadata-ca-file",
            &ca,
        ];
        let args = OperatorCli::try_parse_from(argv)?.run;
        let (stop, stopped) = futures::channel::oneshot::channel::<()>();
        self.operator = Some(tokio::spawn(async move {
            if let Err(err) =
                stytch_saml_operator::operator::run(args, stopped.map(|_| ()), Default::default())
                    .await
            {
                eprintln!("operator failed: {err}");
            }
        }));
        self.stop = Some(stop);
        Ok(())
    }

    /// The example manifests as the sandbox needs them, as YAML documents: the metadata URL
    /// pointed at the local IdP, plus the signing-key Secret the signing example asks the user
    /// to create. The examples themselves are not modified.
    pub fn prepared_examples(&self, dir: &Path) -> Result<Vec<Value>, BoxError> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
            .collect();
        paths.sort();
        let mut docs = vec![
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "soylent-saml-keys"}, "stringData": {"signing.pem": DEMO_SIGNING_KEY}}),
        ];
        for path in paths {
            let text = std::fs::read_to_string(&path)?;
            for mut doc in serde_saphyr::from_multiple::<Value>(&text)? {
                if doc["spec"]["idp"]["metadataUrl"].is_string() {
                    doc["spec"]["idp"]["metadataUrl"] =
                        json!(format!("{}/saml/metadata", self.metadata.url));
                }
                docs.push(doc);
            }
        }
        Ok(docs)
    }

    /// Writes [`DemoEnv::prepared_examples`] into `out` (one file per document), for `kubectl
    /// apply -f`.
    pub fn write_prepared_examples(&self, dir: &Path, out: &Path) -> Result<(), BoxError> {
        for (i, doc) in self.prepared_examples(dir)?.iter().enumerate() {
            std::fs::write(
                out.join(format!("{i:02}.json")),
                serde_json::to_string_pretty(doc)?,
            )?;
        }
        Ok(())
    }

    /// Creates every prepared example object through the Kubernetes API.
    pub async fn apply_examples(&self, dir: &Path) -> Result<Vec<String>, BoxError> {
        let secrets: Api<Secret> = Api::namespaced(self.client.clone(), "default");
        let conns: Api<SamlConnection> = Api::namespaced(self.client.clone(), "default");
        let mut applied = Vec::new();
        for doc in self.prepared_examples(dir)? {
            match doc["kind"].as_str() {
                Some("Secret") => {
                    let secret: Secret = serde_json::from_value(doc)?;
                    applied.push(format!("secret/{}", secret.name_any()));
                    secrets.create(&PostParams::default(), &secret).await?;
                }
                Some("SamlConnection") => {
                    let obj: SamlConnection = serde_json::from_value(doc)?;
                    applied.push(format!("samlconnection/{}", obj.name_any()));
                    conns.create(&PostParams::default(), &obj).await?;
                }
                other => return Err(format!("unexpected kind {other:?} in the examples").into()),
            }
        }
        Ok(applied)
    }

    /// Waits until every SamlConnection reached its promised state, or the timeout.
    pub async fn wait_for_examples(
        &self,
        timeout: Duration,
    ) -> Result<Vec<ExampleResult>, BoxError> {
        let conns: Api<SamlConnection> = Api::namespaced(self.client.clone(), "default");
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let mut results: Vec<ExampleResult> = conns
                .list(&Default::default())
                .await?
                .items
                .into_iter()
                .map(|object| {
                    let expectation = Expectation::for_spec(&object);
                    ExampleResult {
                        name: object.name_any(),
                        reached: expectation.reached(&object),
                        expectation,
                        object,
                    }
                })
                .collect();
            results.sort_by(|a, b| a.name.cmp(&b.name));
            if results.iter().all(|r| r.reached) || tokio::time::Instant::now() > deadline {
                return Ok(results);
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    /// Stops the operator and both sandboxes.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.operator.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), handle).await;
        }
        self.kube.shutdown().await;
        self.stytch.shutdown().await;
    }
}
