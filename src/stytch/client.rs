//! The typed Stytch B2B SAML connection client.
//!
//! One [`StytchPool`] per process owns the HTTP connection pool, one token bucket per project
//! (shared by every client of that project) and one write lock per organization; a
//! [`StytchClient`] is a cheap handle for one set of credentials.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use super::credentials::Credentials;
use super::error::{StytchError, TransportKind};
use super::model::*;
use super::retry::{RetryPolicy, TokenBucket};

/// Characters left as they are in path parameters (RFC 3986 unreserved).
const PATH_PARAM: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Settings shared by every client.
#[derive(Clone, Debug)]
pub struct StytchConfig {
    /// Timeout of one HTTP request.
    pub request_timeout: Duration,
    /// Retry policy for transient failures.
    pub retry: RetryPolicy,
    /// Client-side limit per project, requests per second.
    pub rate_limit_per_second: f64,
    /// Burst allowed by the client-side limit.
    pub rate_limit_burst: u32,
    /// Overrides every project's API base URL (flag `--stytch-base-url`).
    pub base_url_override: Option<Url>,
    /// Extra trusted CA certificates (DER), for a Stytch-compatible endpoint behind a private
    /// CA; the platform's trust store is always used as well.
    pub extra_root_certificates: Vec<Vec<u8>>,
}

impl Default for StytchConfig {
    fn default() -> Self {
        Self {
            request_timeout: Duration::from_secs(15),
            retry: RetryPolicy::default(),
            rate_limit_per_second: 20.0,
            rate_limit_burst: 10,
            base_url_override: None,
            extra_root_certificates: Vec::new(),
        }
    }
}

/// Sees every Stytch HTTP exchange (metrics). `status` is `None` when no response came back.
pub trait RequestObserver: Send + Sync + std::fmt::Debug {
    fn observe(&self, endpoint: &'static str, status: Option<u16>);
}

/// `(project_id, organization)`: the scope of one write lock.
type OrgKey = (String, String);

/// Process-wide shared state of the Stytch clients.
#[derive(Debug)]
pub struct StytchPool {
    http: reqwest::Client,
    config: StytchConfig,
    limiters: Mutex<HashMap<String, Arc<TokenBucket>>>,
    observer: Option<Arc<dyn RequestObserver>>,
    org_locks: Mutex<HashMap<OrgKey, Arc<tokio::sync::Mutex<()>>>>,
}

impl StytchPool {
    /// Builds the HTTP client (rustls, `User-Agent: stytch-saml-operator/<version>`).
    pub fn new(config: StytchConfig) -> Result<Arc<Self>, StytchError> {
        Self::with_observer(config, None)
    }

    /// Like [`StytchPool::new`], reporting every request to `observer`.
    pub fn with_observer(
        config: StytchConfig,
        observer: Option<Arc<dyn RequestObserver>>,
    ) -> Result<Arc<Self>, StytchError> {
        let mut builder = reqwest::Client::builder();
        for der in &config.extra_root_certificates {
            let cert = reqwest::Certificate::from_der(der)
                .map_err(|e| StytchError::Config(format!("bad CA certificate: {e}")))?;
            builder = builder.add_root_certificate(cert);
        }
        let http = builder
            .user_agent(concat!("stytch-saml-operator/", env!("CARGO_PKG_VERSION")))
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout.min(Duration::from_secs(5)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| StytchError::Config(e.to_string()))?;
        Ok(Arc::new(Self {
            http,
            config,
            limiters: Mutex::default(),
            observer,
            org_locks: Mutex::default(),
        }))
    }

    /// A client for one project's credentials.
    pub fn client(self: &Arc<Self>, credentials: Credentials) -> Result<StytchClient, StytchError> {
        let raw = match &self.config.base_url_override {
            Some(url) => url.as_str().to_owned(),
            None => credentials.resolved_base_url(),
        };
        let mut base_url =
            Url::parse(&raw).map_err(|_| StytchError::Config("base URL is not a URL".into()))?;
        if !base_url.path().ends_with('/') {
            let path = format!("{}/", base_url.path());
            base_url.set_path(&path);
        }
        let limiter = self
            .limiters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry(credentials.project_id.clone())
            .or_insert_with(|| {
                Arc::new(TokenBucket::new(
                    self.config.rate_limit_per_second,
                    self.config.rate_limit_burst,
                ))
            })
            .clone();
        Ok(StytchClient {
            pool: Arc::clone(self),
            base_url,
            credentials,
            limiter,
        })
    }

    fn org_lock(&self, project_id: &str, organization: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.org_locks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((project_id.to_owned(), organization.to_owned()))
            .or_default()
            .clone()
    }
}

/// Whether a request may be sent again after an ambiguous failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Idempotency {
    /// Reads, deletes and field updates: repeating them has no further effect (writes are
    /// still not resent after an answer that timed out or broke off).
    Idempotent,
    /// Creates and additive updates: resend only when the request was certainly not processed.
    NonIdempotent,
}

/// A client for one Stytch project.
#[derive(Clone, Debug)]
pub struct StytchClient {
    pool: Arc<StytchPool>,
    base_url: Url,
    credentials: Credentials,
    limiter: Arc<TokenBucket>,
}

impl StytchClient {
    /// The project this client acts for.
    pub fn project_id(&self) -> &str {
        &self.credentials.project_id
    }

    /// The API base URL in use.
    pub fn base_url(&self) -> &Url {
        &self.base_url
    }

    /// Who this client acts as: SHA-256 of project id, secret and base URL. Caches key on it
    /// so that an answer read with one Secret never serves a resource holding another (a wrong
    /// secret gets its own 401). Not reversible; never logged.
    pub fn identity(&self) -> [u8; 32] {
        use sha2::{Digest, Sha256};
        let mut hash = Sha256::new();
        for part in [
            self.credentials.project_id.as_str(),
            self.credentials.secret.expose(),
            self.base_url.as_str(),
        ] {
            hash.update((part.len() as u64).to_be_bytes());
            hash.update(part.as_bytes());
        }
        hash.finalize().into()
    }

    /// `POST /v1/b2b/sso/saml/{organization_id}`.
    pub async fn create_connection(
        &self,
        organization: &str,
        body: &CreateConnectionRequest,
    ) -> Result<SamlConnection, StytchError> {
        let path = format!("v1/b2b/sso/saml/{}", enc(organization));
        let _write = self.write_lock(organization).await;
        let response: ConnectionResponse = self
            .send(
                "create_connection",
                Method::POST,
                &path,
                Some(body),
                Idempotency::NonIdempotent,
            )
            .await?;
        connection_of("create_connection", response)
    }

    /// `PUT /v1/b2b/sso/saml/{organization_id}/connections/{connection_id}`.
    pub async fn update_connection(
        &self,
        organization: &str,
        connection: &str,
        body: &UpdateConnectionRequest,
    ) -> Result<SamlConnection, StytchError> {
        let path = format!(
            "v1/b2b/sso/saml/{}/connections/{}",
            enc(organization),
            enc(connection)
        );
        // Certificates and keys accumulate on the server: such an update is not idempotent.
        let idempotency = if body.x509_certificate.is_some()
            || body.signing_private_key.is_some()
            || body.saml_encryption_private_key.is_some()
        {
            Idempotency::NonIdempotent
        } else {
            Idempotency::Idempotent
        };
        let _write = self.write_lock(organization).await;
        let response: ConnectionResponse = self
            .send(
                "update_connection",
                Method::PUT,
                &path,
                Some(body),
                idempotency,
            )
            .await?;
        connection_of("update_connection", response)
    }

    /// `PUT /v1/b2b/sso/saml/{organization_id}/connections/{connection_id}/url`.
    pub async fn update_by_url(
        &self,
        organization: &str,
        connection: &str,
        metadata_url: &str,
    ) -> Result<SamlConnection, StytchError> {
        let path = format!(
            "v1/b2b/sso/saml/{}/connections/{}/url",
            enc(organization),
            enc(connection)
        );
        let body = UpdateByUrlRequest {
            metadata_url: metadata_url.to_owned(),
        };
        let _write = self.write_lock(organization).await;
        let response: ConnectionResponse = self
            .send(
                "update_by_url",
                Method::PUT,
                &path,
                Some(&body),
                Idempotency::NonIdempotent,
            )
            .await?;
        connection_of("update_by_url", response)
    }

    /// `DELETE .../connections/{connection_id}/verification_certificates/{certificate_id}`.
    pub async fn delete_verification_certificate(
        &self,
        organization: &str,
        connection: &str,
        certificate_id: &str,
    ) -> Result<String, StytchError> {
        let path = format!(
            "v1/b2b/sso/saml/{}/connections/{}/verification_certificates/{}",
            enc(organization),
            enc(connection),
            enc(certificate_id)
        );
        let _write = self.write_lock(organization).await;
        let response: DeleteResponse = self
            .send::<(), _>(
                "delete_verification_certificate",
                Method::DELETE,
                &path,
                None,
                Idempotency::Idempotent,
            )
            .await?;
        Ok(response
            .certificate_id
            .unwrap_or_else(|| certificate_id.to_owned()))
    }

    /// `DELETE .../connections/{connection_id}/encryption_private_keys/{private_key_id}`.
    pub async fn delete_encryption_private_key(
        &self,
        organization: &str,
        connection: &str,
        private_key_id: &str,
    ) -> Result<String, StytchError> {
        let path = format!(
            "v1/b2b/sso/saml/{}/connections/{}/encryption_private_keys/{}",
            enc(organization),
            enc(connection),
            enc(private_key_id)
        );
        let _write = self.write_lock(organization).await;
        let response: DeleteResponse = self
            .send::<(), _>(
                "delete_encryption_private_key",
                Method::DELETE,
                &path,
                None,
                Idempotency::Idempotent,
            )
            .await?;
        Ok(response
            .private_key_id
            .unwrap_or_else(|| private_key_id.to_owned()))
    }

    /// `GET /v1/b2b/sso/{organization_id}`: every SSO connection of the organization.
    pub async fn get_connections(
        &self,
        organization: &str,
    ) -> Result<GetConnectionsResponse, StytchError> {
        let path = format!("v1/b2b/sso/{}", enc(organization));
        self.send::<(), _>(
            "get_connections",
            Method::GET,
            &path,
            None,
            Idempotency::Idempotent,
        )
        .await
    }

    /// `DELETE /v1/b2b/sso/{organization_id}/connections/{connection_id}`.
    pub async fn delete_connection(
        &self,
        organization: &str,
        connection: &str,
    ) -> Result<String, StytchError> {
        let path = format!(
            "v1/b2b/sso/{}/connections/{}",
            enc(organization),
            enc(connection)
        );
        let _write = self.write_lock(organization).await;
        let response: DeleteResponse = self
            .send::<(), _>(
                "delete_connection",
                Method::DELETE,
                &path,
                None,
                Idempotency::Idempotent,
            )
            .await?;
        Ok(response
            .connection_id
            .unwrap_or_else(|| connection.to_owned()))
    }

    async fn write_lock(&self, organization: &str) -> tokio::sync::OwnedMutexGuard<()> {
        self.pool
            .org_lock(&self.credentials.project_id, organization)
            .lock_owned()
            .await
    }

    async fn send<B: Serialize, T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        method: Method,
        path: &str,
        body: Option<&B>,
        idempotency: Idempotency,
    ) -> Result<T, StytchError> {
        let url = self
            .base_url
            .join(path)
            .map_err(|e| StytchError::Config(format!("cannot build URL: {e}")))?;
        let body = match body {
            Some(b) => Some(serde_json::to_vec(b).map_err(|e| StytchError::Config(e.to_string()))?),
            None => None,
        };
        let retry = &self.pool.config.retry;
        let mut attempt = 0;
        loop {
            self.limiter.acquire().await;
            let result = self
                .send_once(endpoint, &method, &url, body.as_deref())
                .await;
            let err = match result {
                Ok(value) => return Ok(value),
                Err(err) => err,
            };
            attempt += 1;
            // A write whose outcome is unknown is never sent blindly again, even an idempotent
            // one: it may have succeeded, and the caller re-reads the live state instead.
            let blind_repeat = method != Method::GET && err.outcome_unknown();
            let may_resend = (idempotency == Idempotency::Idempotent && !blind_repeat)
                || err.request_not_processed();
            if attempt >= retry.max_attempts || !err.class().is_retryable() || !may_resend {
                return Err(err);
            }
            let delay = retry.delay(attempt - 1, err.retry_after(), &mut rand::rng());
            tracing::debug!(endpoint, attempt, ?delay, error = %err, "retrying Stytch request");
            tokio::time::sleep(delay).await;
        }
    }

    async fn send_once<T: DeserializeOwned>(
        &self,
        endpoint: &'static str,
        method: &Method,
        url: &Url,
        body: Option<&[u8]>,
    ) -> Result<T, StytchError> {
        let mut request = self
            .pool
            .http
            .request(method.clone(), url.clone())
            .basic_auth(
                &self.credentials.project_id,
                Some(self.credentials.secret.expose()),
            )
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(body) = body {
            request = request.body(body.to_vec());
        }
        let observe = |status: Option<u16>| {
            if let Some(observer) = &self.pool.observer {
                observer.observe(endpoint, status);
            }
        };
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => {
                observe(None);
                return Err(transport(endpoint, &e));
            }
        };
        let status = response.status().as_u16();
        observe(Some(status));
        let retry_after = response
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = response
            .bytes()
            .await
            .map_err(|e| transport(endpoint, &e))?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&bytes).map_err(|e| StytchError::Decode {
                endpoint,
                status,
                message: e.to_string(),
            });
        }
        let error: ErrorBody = serde_json::from_slice(&bytes).unwrap_or_default();
        Err(StytchError::Api {
            endpoint,
            status,
            error_type: if error.error_type.is_empty() {
                error.error.unwrap_or_default()
            } else {
                error.error_type
            },
            message: if error.error_message.is_empty() {
                error.error_description.unwrap_or_default()
            } else {
                error.error_message
            },
            request_id: error.request_id,
            retry_after,
        })
    }
}

fn enc(segment: &str) -> String {
    utf8_percent_encode(segment, PATH_PARAM).to_string()
}

fn transport(endpoint: &'static str, err: &reqwest::Error) -> StytchError {
    let kind = if err.is_connect() {
        TransportKind::Connect
    } else if err.is_timeout() {
        TransportKind::Timeout
    } else {
        TransportKind::Other
    };
    let message = source_chain(err);
    StytchError::Transport {
        endpoint,
        kind,
        message,
    }
}

/// The source chain of a reqwest error, without the URL the error itself prints: short, stable
/// and free of query strings.
pub fn source_chain(err: &reqwest::Error) -> String {
    let mut parts = Vec::new();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        parts.push(s.to_string());
        source = s.source();
    }
    if parts.is_empty() {
        "request failed".to_owned()
    } else {
        parts.join(": ")
    }
}

fn connection_of(
    endpoint: &'static str,
    response: ConnectionResponse,
) -> Result<SamlConnection, StytchError> {
    response.connection.ok_or(StytchError::Decode {
        endpoint,
        status: response.status_code,
        message: "response has no `connection`".into(),
    })
}
