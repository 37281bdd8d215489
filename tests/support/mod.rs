//! Test harness: both sandboxes, the CRD, a credentials Secret, and the operator running
//! in-process against them over real HTTP.

#![allow(dead_code)]

pub mod chart_rbac;

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;
use kube::api::{Api, PostParams};
use sandbox::kube::KubeSandbox;
use sandbox::stytch::config::Seed;
use sandbox::stytch::{StytchConfig as SandboxConfig, StytchSandbox};
use serde_json::{Value, json};
use stytch_saml_operator::api::SamlConnection;
use stytch_saml_operator::operator::RunArgs;

pub const PROJECT: &str = "project-test-11111111-1111-1111-1111-111111111111";
pub const SECRET: &str = "secret-test-e2e-Zq8xW3v";
pub const ORG: &str = "organization-test-22222222-2222-2222-2222-222222222222";
pub const NS: &str = "default";

#[derive(Parser)]
struct Args {
    #[command(flatten)]
    run: RunArgs,
}

/// An operator running in-process.
pub struct Operator {
    stop: Option<futures::channel::oneshot::Sender<()>>,
    handle: Option<tokio::task::JoinHandle<()>>,
}

impl Operator {
    /// Stops it gracefully (releasing its Lease when it leads).
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.handle.take() {
            let _ = tokio::time::timeout(Duration::from_secs(15), handle).await;
        }
    }

    /// Kills it abruptly (no Lease release), like a crashed pod.
    pub fn abort(mut self) {
        if let Some(handle) = self.handle.take() {
            handle.abort();
        }
    }
}

pub struct Env {
    pub kube: KubeSandbox,
    pub stytch: StytchSandbox,
    pub client: kube::Client,
    pub api: Api<SamlConnection>,
    /// The kubeconfig operators started by this harness use: the chart's service account with
    /// exactly the chart's rendered RBAC (the admin kubeconfig when helm is skipped).
    pub operator_kubeconfig: PathBuf,
    stop: Option<futures::channel::oneshot::Sender<()>>,
    operator: Option<tokio::task::JoinHandle<()>>,
}

impl Env {
    /// Sandboxes, CRD and credentials, without the operator. The operator will run with the
    /// chart's RBAC rendered with [`chart_rbac::default_values`].
    pub async fn new() -> Self {
        Self::with_rbac(chart_rbac::render(&chart_rbac::default_values(), NS)).await
    }

    /// Like [`Env::new`], with these RBAC objects (ServiceAccount `stytch-saml-operator` in
    /// `default` plus roles and bindings) installed for the operator; `None`: admin.
    pub async fn with_rbac(rbac: Option<Vec<Value>>) -> Self {
        let kube = KubeSandbox::start().await.unwrap();
        let stytch = StytchSandbox::start(SandboxConfig::with_seed(Seed::single(
            PROJECT, SECRET, ORG, "acme",
        )))
        .await
        .unwrap();
        let client = kube.client().await.unwrap();
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        crds.create(&PostParams::default(), &SamlConnection::crd())
            .await
            .unwrap();
        let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": "stytch-credentials"},
            "stringData": {"project_id": PROJECT, "secret": SECRET, "base_url": stytch.base_url()},
        }))
        .unwrap();
        secrets
            .create(&PostParams::default(), &secret)
            .await
            .unwrap();
        let api = Api::namespaced(client.clone(), NS);
        let operator_kubeconfig = match rbac {
            Some(docs) => {
                chart_rbac::install(&client, &docs).await;
                kube.service_account_kubeconfig(NS, chart_rbac::SERVICE_ACCOUNT)
                    .unwrap()
            }
            None => kube.kubeconfig_path().to_path_buf(),
        };
        Self {
            kube,
            stytch,
            client,
            api,
            operator_kubeconfig,
            stop: None,
            operator: None,
        }
    }

    /// Starts the operator in-process with extra flags.
    pub fn start_operator(&mut self, extra: &[&str]) {
        let op = self.spawn_operator(extra);
        self.stop = op.stop;
        self.operator = op.handle;
    }

    /// Starts another in-process operator, owned by the caller.
    pub fn spawn_operator(&self, extra: &[&str]) -> Operator {
        let kubeconfig = self.operator_kubeconfig.display().to_string();
        let mut argv = vec![
            "run",
            "--kubeconfig",
            &kubeconfig,
            "--metrics-addr",
            "127.0.0.1:0",
            "--stytch-rate-limit",
            "1000",
        ];
        argv.extend_from_slice(extra);
        let args =
            Args::parse_from(std::iter::once("test").chain(argv.iter().skip(1).copied())).run;
        let (stop, stopped) = futures::channel::oneshot::channel::<()>();
        use futures::FutureExt;
        let handle = Some(tokio::spawn(async move {
            stytch_saml_operator::operator::run(args, stopped.map(|_| ()), Default::default())
                .await
                .unwrap();
        }));
        Operator {
            stop: Some(stop),
            handle,
        }
    }

    pub async fn stop_operator(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.operator.take() {
            let _ = tokio::time::timeout(Duration::from_secs(15), handle).await;
        }
    }

    pub async fn apply(&self, name: &str, spec: Value) -> SamlConnection {
        let obj: SamlConnection = serde_json::from_value(json!({
            "apiVersion": "sso.stytch-operator.dev/v1alpha1", "kind": "SamlConnection",
            "metadata": {"name": name}, "spec": spec,
        }))
        .unwrap();
        self.api.create(&PostParams::default(), &obj).await.unwrap()
    }

    pub async fn patch_spec(&self, name: &str, patch: Value) {
        self.api
            .patch(
                name,
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(json!({"spec": patch})),
            )
            .await
            .unwrap();
    }

    /// Polls until `check` holds for the resource, or panics after `timeout`.
    pub async fn wait_for(
        &self,
        name: &str,
        what: &str,
        timeout: Duration,
        check: impl Fn(&SamlConnection) -> bool,
    ) -> SamlConnection {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(obj) = self.api.get_opt(name).await.unwrap()
                && check(&obj)
            {
                return obj;
            }
            if tokio::time::Instant::now() > deadline {
                let obj = self.api.get_opt(name).await.unwrap();
                panic!(
                    "timed out waiting for {name}: {what}; last: {:#?}",
                    obj.map(|o| o.status)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub async fn wait_gone(&self, name: &str, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        while self.api.get_opt(name).await.unwrap().is_some() {
            assert!(
                tokio::time::Instant::now() < deadline,
                "{name} was not deleted"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Writes (non-GET requests) the Stytch sandbox saw, by endpoint name.
    pub fn writes(&self) -> Vec<String> {
        self.stytch
            .admin()
            .requests()
            .into_iter()
            .filter(|r| r.write)
            .map(|r| r.endpoint)
            .collect()
    }

    /// How many writes the Stytch sandbox saw to `endpoint` (e.g. `create_connection`).
    pub fn writes_to(&self, endpoint: &str) -> usize {
        self.writes().iter().filter(|w| *w == endpoint).count()
    }

    pub fn requests(&self) -> Vec<sandbox::stytch::requestlog::LogEntry> {
        self.stytch.admin().requests()
    }

    pub fn connections(&self) -> Vec<sandbox::stytch::model::SamlConnection> {
        self.stytch.admin().connections(PROJECT, ORG).unwrap()
    }
}

pub fn condition(obj: &SamlConnection, type_: &str) -> Option<(String, String, String)> {
    obj.status
        .as_ref()?
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| (c.status.clone(), c.reason.clone(), c.message.clone()))
}

pub fn is(obj: &SamlConnection, type_: &str, status: &str) -> bool {
    condition(obj, type_).is_some_and(|(s, _, _)| s == status)
}

pub fn reason(obj: &SamlConnection, type_: &str) -> Option<String> {
    condition(obj, type_).map(|(_, r, _)| r)
}

/// A certificate PEM valid until 2036 (generated).
pub fn cert(cn: &str) -> String {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params = rcgen::CertificateParams::new(vec![format!("{cn}.example.com")]).unwrap();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, cn);
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after = rcgen::date_time_ymd(2036, 1, 1);
    params.self_signed(&key).unwrap().pem()
}

pub fn full_spec(certs: &[&str]) -> Value {
    json!({
        "credentialsRef": {"name": "stytch-credentials"},
        "organizationId": "acme",
        "displayName": "Acme Okta",
        "identityProvider": "okta",
        "idp": {
            "entityId": "http://www.okta.com/exk1acme",
            "ssoUrl": "https://acme.okta.com/app/sso/saml",
            "certificates": certs.iter().map(|c| json!({"pem": c})).collect::<Vec<_>>(),
        },
        "attributeMapping": {"email": "email", "fullName": "name"},
    })
}
