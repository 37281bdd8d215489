//! The benchmark's environment: both sandboxes (seeded with M organizations, optionally with
//! pre-existing connections to adopt), the CRD, the credentials Secret, resource creation and
//! a watch that records when each resource first turns `Ready=True`.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, PostParams};
use kube::runtime::watcher;
use kube::{CustomResourceExt, ResourceExt};
use serde_json::{Value, json};
use stytch_saml_operator::api::SamlConnection;
use tokio::time::Instant;

use super::BoxError;
use crate::kube::KubeSandbox;
use crate::stytch::config::{Seed, SeedOrganization, SeedProject};
use crate::stytch::model::{SamlConnection as SeedConnection, X509Certificate};
use crate::stytch::{StytchConfig, StytchSandbox};

pub const PROJECT: &str = "project-test-bench0000-0000-4000-8000-000000000001";
pub const SECRET: &str = "secret-test-bench-only";
pub const NS: &str = "default";
pub const CREDENTIALS: &str = "stytch-credentials";
pub const ENTITY_ID: &str = "https://idp.bench.example/saml";
pub const SSO_URL: &str = "https://idp.bench.example/saml/sso";

/// Organization slug number `j`.
pub fn org_slug(j: usize) -> String {
    format!("bench-org-{j:03}")
}

/// Resource name number `i`.
pub fn name(i: usize) -> String {
    format!("bench-{i:05}")
}

/// A self-signed IdP certificate valid 2025..2035.
pub fn cert_pem() -> Result<String, BoxError> {
    let key = rcgen::KeyPair::generate()?;
    let mut params = rcgen::CertificateParams::new(vec!["idp.bench.example".to_owned()])?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "idp.bench.example");
    params.not_before = rcgen::date_time_ymd(2025, 1, 1);
    params.not_after = rcgen::date_time_ymd(2035, 1, 1);
    Ok(params.self_signed(&key)?.pem())
}

/// How resources are declared.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum Mode {
    /// New connections: full spec (IdP, one certificate, attribute mapping); Stytch needs a
    /// create and an update per resource.
    Create,
    /// Pre-seeded active connections adopted via `spec.connectionId`, spec = display name only
    /// (already equal): no writes needed, only reads.
    Adopt,
}

/// Both sandboxes, CRD and Secret installed.
pub struct BenchEnv {
    pub kube: KubeSandbox,
    pub stytch: StytchSandbox,
    pub client: kube::Client,
    pub api: Api<SamlConnection>,
    pub orgs: usize,
    pub cert: String,
    /// Connection ids pre-seeded for adoption, by resource index.
    pub seeded: Vec<(String, String)>,
}

impl BenchEnv {
    /// Starts both sandboxes with `orgs` organizations, the Stytch per-project rate limit
    /// `rate_limit` (0 = none), and for [`Mode::Adopt`] `n` pre-seeded active connections.
    pub async fn start(
        orgs: usize,
        rate_limit: u32,
        mode: Mode,
        n: usize,
    ) -> Result<Self, BoxError> {
        let orgs = orgs.max(1);
        let cert = cert_pem()?;
        let mut organizations: Vec<SeedOrganization> = (0..orgs)
            .map(|j| SeedOrganization {
                organization_id: format!("organization-test-bench{j:04}-0000-4000-8000-{j:012}"),
                organization_slug: org_slug(j),
                ..SeedOrganization::default()
            })
            .collect();
        let mut seeded = Vec::new();
        if mode == Mode::Adopt {
            for i in 0..n {
                let id = format!("saml-connection-test-bench-{i:08}");
                let org = &mut organizations[i % orgs];
                org.saml_connections.push(SeedConnection {
                    connection_id: id.clone(),
                    display_name: name(i),
                    status: "active".into(),
                    idp_entity_id: ENTITY_ID.into(),
                    idp_sso_url: SSO_URL.into(),
                    identity_provider: "okta".into(),
                    verification_certificates: vec![X509Certificate {
                        certificate: cert.clone(),
                        ..X509Certificate::default()
                    }],
                    attribute_mapping: json!({"email": "email", "full_name": "name"})
                        .as_object()
                        .cloned()
                        .unwrap_or_default(),
                    ..SeedConnection::default()
                });
                seeded.push((org_slug(i % orgs), id));
            }
        }
        let seed = Seed {
            projects: vec![SeedProject {
                project_id: PROJECT.into(),
                secret: SECRET.into(),
                organizations,
            }],
            ..Seed::default()
        };
        let stytch = StytchSandbox::start(StytchConfig {
            rate_limit_per_second: rate_limit,
            ..StytchConfig::with_seed(seed)
        })
        .await?;
        let kube = KubeSandbox::start().await?;
        let client = kube.client().await?;
        let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
        crds.create(&PostParams::default(), &SamlConnection::crd())
            .await?;
        let secrets: Api<Secret> = Api::namespaced(client.clone(), NS);
        let secret: Secret = serde_json::from_value(json!({
            "metadata": {"name": CREDENTIALS},
            "stringData": {"project_id": PROJECT, "secret": SECRET, "base_url": stytch.base_url()},
        }))?;
        secrets.create(&PostParams::default(), &secret).await?;
        let api = Api::namespaced(client.clone(), NS);
        Ok(Self {
            kube,
            stytch,
            client,
            api,
            orgs,
            cert,
            seeded,
        })
    }

    /// The spec of resource `i`.
    pub fn spec(&self, i: usize, mode: Mode) -> Value {
        let org = org_slug(i % self.orgs.max(1));
        match mode {
            Mode::Create => json!({
                "credentialsRef": {"name": CREDENTIALS},
                "organizationId": org,
                "displayName": name(i),
                "identityProvider": "okta",
                "idp": {
                    "entityId": ENTITY_ID,
                    "ssoUrl": SSO_URL,
                    "certificates": [{"pem": self.cert}],
                },
                "attributeMapping": {"email": "email", "fullName": "name"},
            }),
            Mode::Adopt => json!({
                "credentialsRef": {"name": CREDENTIALS},
                "organizationId": org,
                "connectionId": self.seeded.get(i).map(|(_, id)| id.clone()),
                "displayName": name(i),
            }),
        }
    }

    /// Creates resource `i` (like `kubectl create`).
    pub async fn create(&self, i: usize, mode: Mode) -> Result<(), BoxError> {
        let obj: SamlConnection = serde_json::from_value(json!({
            "apiVersion": "sso.stytch-operator.dev/v1alpha1", "kind": "SamlConnection",
            "metadata": {"name": name(i)}, "spec": self.spec(i, mode),
        }))?;
        self.api.create(&PostParams::default(), &obj).await?;
        Ok(())
    }

    /// Creates resources `range` with `concurrency` requests in flight; returns when each
    /// create was sent, by name.
    pub async fn create_many(
        &self,
        range: std::ops::Range<usize>,
        mode: Mode,
        concurrency: usize,
    ) -> Result<HashMap<String, Instant>, BoxError> {
        let results: Vec<(String, Instant)> = futures::stream::iter(range)
            .map(|i| async move {
                let sent = Instant::now();
                self.create(i, mode).await.map(|()| (name(i), sent))
            })
            .buffer_unordered(concurrency.max(1))
            .try_collect()
            .await?;
        Ok(results.into_iter().collect())
    }
}

/// Whether the resource's `Ready` condition is `True`.
pub fn is_ready(obj: &SamlConnection) -> bool {
    obj.status.as_ref().is_some_and(|s| {
        s.conditions
            .iter()
            .any(|c| c.type_ == "Ready" && c.status == "True")
    })
}

/// Records the first time each resource was seen `Ready=True` by a watch.
#[derive(Clone, Default)]
pub struct ReadyLog {
    seen: Arc<Mutex<HashMap<String, Instant>>>,
}

impl ReadyLog {
    /// Starts watching `api` in a background task (aborted with the returned handle).
    pub fn watch(api: Api<SamlConnection>) -> (Self, tokio::task::JoinHandle<()>) {
        let log = Self::default();
        let seen = log.seen.clone();
        let task = tokio::spawn(async move {
            let stream = watcher(api, watcher::Config::default().any_semantic());
            futures::pin_mut!(stream);
            while let Some(event) = stream.next().await {
                let objs = match event {
                    Ok(watcher::Event::Apply(o) | watcher::Event::InitApply(o)) => vec![o],
                    _ => continue,
                };
                let now = Instant::now();
                let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
                for o in objs.into_iter().filter(is_ready) {
                    seen.entry(o.name_any()).or_insert(now);
                }
            }
        });
        (log, task)
    }

    pub fn count(&self) -> usize {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .len()
    }

    pub fn get(&self, name: &str) -> Option<Instant> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(name)
            .copied()
    }

    pub fn snapshot(&self) -> HashMap<String, Instant> {
        self.seen
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until at least `n` resources were Ready, polling every `poll`; `false` on timeout.
    pub async fn wait_count(&self, n: usize, timeout: Duration, poll: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while self.count() < n {
            if Instant::now() > deadline {
                return false;
            }
            tokio::time::sleep(poll).await;
        }
        true
    }
}
