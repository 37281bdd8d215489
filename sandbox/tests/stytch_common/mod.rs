//! Shared helpers of the Stytch sandbox tests: a seeded sandbox, an authenticated HTTP
//! client, test certificates (generated with rcgen) and a tiny loopback HTTP file server.

#![allow(dead_code)]

use std::time::Duration;

use rcgen::{CertificateParams, DistinguishedName, DnType, KeyPair, date_time_ymd};
use reqwest::{Method, StatusCode};
use sandbox::stytch::{Seed, SeedOrganization, SeedProject, StytchConfig, StytchSandbox};
use serde_json::Value;

pub const PROJECT: &str = "project-test-11111111-1111-1111-1111-111111111111";
pub const SECRET: &str = "secret-test-abc";
pub const ORG: &str = "organization-test-22222222-2222-2222-2222-222222222222";
pub const SLUG: &str = "acme";
/// Contains reserved characters so that clients must percent-encode it.
pub const EXTERNAL_ID: &str = "acme ext/1";
pub const OTHER_PROJECT: &str = "project-test-33333333-3333-3333-3333-333333333333";
pub const OTHER_SECRET: &str = "secret-test-other";
pub const OTHER_ORG: &str = "organization-test-44444444-4444-4444-4444-444444444444";

pub const PKCS1_A: &str = include_str!("../fixtures/test-only-rsa-pkcs1-a.pem");
pub const PKCS1_B: &str = include_str!("../fixtures/test-only-rsa-pkcs1-b.pem");
pub const PKCS8: &str = include_str!("../fixtures/test-only-rsa-pkcs8.pem");

/// Seed with two projects: PROJECT/ORG (slug + external id) and OTHER_PROJECT/OTHER_ORG.
pub fn seed() -> Seed {
    Seed {
        projects: vec![
            SeedProject {
                project_id: PROJECT.into(),
                secret: SECRET.into(),
                organizations: vec![SeedOrganization {
                    organization_id: ORG.into(),
                    organization_slug: SLUG.into(),
                    organization_external_id: Some(EXTERNAL_ID.into()),
                    ..SeedOrganization::default()
                }],
            },
            SeedProject {
                project_id: OTHER_PROJECT.into(),
                secret: OTHER_SECRET.into(),
                organizations: vec![SeedOrganization {
                    organization_id: OTHER_ORG.into(),
                    organization_slug: "other".into(),
                    ..SeedOrganization::default()
                }],
            },
        ],
        ..Seed::default()
    }
}

/// A started sandbox plus a client authenticated as PROJECT.
pub struct Env {
    pub sandbox: StytchSandbox,
    pub http: reqwest::Client,
}

pub async fn start() -> Env {
    start_with(StytchConfig::with_seed(seed())).await
}

pub async fn start_with(config: StytchConfig) -> Env {
    let sandbox = StytchSandbox::start(config).await.expect("sandbox starts");
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("client");
    Env { sandbox, http }
}

/// Percent-encodes a path segment like the Python/Node SDKs do.
pub fn enc(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, percent_encoding::NON_ALPHANUMERIC).to_string()
}

impl Env {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.sandbox.base_url(), path)
    }

    /// Sends a request as PROJECT with `Content-Type: application/json`, returns status + JSON.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_as(PROJECT, SECRET, method, path, body).await
    }

    pub async fn call_as(
        &self,
        project: &str,
        secret: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method, self.url(path))
            .basic_auth(project, Some(secret))
            .header("Content-Type", "application/json");
        if let Some(b) = body {
            req = req.body(b.to_string());
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let json = resp.json::<Value>().await.expect("JSON body");
        (status, json)
    }

    /// Creates a connection in ORG and returns it.
    pub async fn create(&self, body: Value) -> Value {
        let (status, json) = self
            .call(Method::POST, &format!("/v1/b2b/sso/saml/{ORG}"), Some(body))
            .await;
        assert_eq!(status, StatusCode::OK, "{json}");
        json["connection"].clone()
    }

    /// PUT update of a connection in ORG.
    pub async fn update(&self, cid: &str, body: Value) -> (StatusCode, Value) {
        self.call(
            Method::PUT,
            &format!("/v1/b2b/sso/saml/{ORG}/connections/{cid}"),
            Some(body),
        )
        .await
    }

    /// The connections of ORG as listed by the API.
    pub async fn list(&self) -> Vec<Value> {
        let (status, json) = self
            .call(Method::GET, &format!("/v1/b2b/sso/{ORG}"), None)
            .await;
        assert_eq!(status, StatusCode::OK, "{json}");
        json["saml_connections"].as_array().expect("list").clone()
    }
}

/// Asserts an error body: status, `error_type`, and the five documented keys.
pub fn assert_error(status: StatusCode, json: &Value, want_status: u16, want_type: &str) {
    assert_eq!(status.as_u16(), want_status, "{json}");
    assert_eq!(json["error_type"], want_type, "{json}");
    assert_eq!(json["status_code"], want_status, "{json}");
    assert!(
        json["request_id"].as_str().is_some_and(|s| !s.is_empty()),
        "{json}"
    );
    assert!(
        json["error_message"]
            .as_str()
            .is_some_and(|s| !s.is_empty()),
        "{json}"
    );
    assert!(
        json["error_url"]
            .as_str()
            .is_some_and(|s| s.starts_with("https://")),
        "{json}"
    );
}

/// A self-signed certificate (ECDSA P-256) with issuer CN `cn`, valid from Jan 1 of
/// `from_year` to Jan 1 of `to_year`. Returns `(PEM, DER)`.
pub fn cert(cn: &str, from_year: i32, to_year: i32) -> (String, Vec<u8>) {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    params.distinguished_name = dn;
    params.not_before = date_time_ymd(from_year, 1, 1);
    params.not_after = date_time_ymd(to_year, 1, 1);
    let c = params.self_signed(&key).expect("self-signed");
    (c.pem(), c.der().to_vec())
}

/// A full update that activates a connection.
pub fn activating_update(cert_pem: &str) -> Value {
    serde_json::json!({
        "idp_entity_id": "https://idp.example.com/entity",
        "idp_sso_url": "https://idp.example.com/sso",
        "attribute_mapping": {"email": "email", "full_name": "name"},
        "x509_certificate": cert_pem,
    })
}

/// A loopback HTTP server answering `body` with `content_type` on every path; returns its
/// base URL and its task (the server stops with the test runtime).
pub async fn serve_file(
    body: String,
    content_type: &'static str,
) -> (String, tokio::task::JoinHandle<()>) {
    let app = axum::Router::new().fallback(move || {
        let body = body.clone();
        async move { ([("content-type", content_type)], body) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}"), task)
}

/// Asserts an RFC 3339 timestamp string.
pub fn assert_rfc3339(v: &Value) {
    let s = v
        .as_str()
        .unwrap_or_else(|| panic!("timestamp expected, got {v}"));
    s.parse::<jiff::Timestamp>()
        .unwrap_or_else(|e| panic!("{s} is not RFC 3339: {e}"));
}
