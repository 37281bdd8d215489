//! Stytch B2B SAML API emulator (issue #3), wire-compatible with the official SDKs
//! (see `shared/stytch-b2b-saml-api.md`, the "reference").
//!
//! Serves the seven SAML connection endpoints (reference §2) over plain HTTP on a loopback
//! address, with Basic auth per seeded project, organizations addressed by id, slug or
//! external id, a per-project fixed-window rate limit, and test controls under `/__sandbox/`
//! (see [`admin_http`] and [`Admin`]).
//!
//! # Behaviour chosen where the reference is uncertain
//!
//! - **Statuses**: 200 on success; 400 for validation errors, 404 for unknown
//!   organizations/connections/certificates/keys, 401 `unauthorized_credentials` for an unknown
//!   project or wrong secret, 400 `invalid_authorization_header` for a missing or malformed
//!   `Authorization` header, 429 `too_many_requests`, 404 `route_not_found`, 405
//!   `method_not_allowed`, 400 `bad_request` for a body that is not JSON.
//! - **Partial updates**: omitted (or `null`) fields are untouched; `attribute_mapping` is
//!   replaced as a unit; explicit `false` is honoured. By default `""`, `[]` and `{}` clear
//!   the field ([`Behaviour::empty_values_clear`]; set it to `false` to ignore empty values,
//!   which is what the Java SDK's always-empty collections would need). `""` is always ignored
//!   for `identity_provider`, `nameid_format`, `x509_certificate`, `signing_private_key` and
//!   `saml_encryption_private_key` (they add or select, they don't clear).
//! - **Activation**: a connection becomes `active` once `idp_sso_url`, `idp_entity_id`, a
//!   non-empty `attribute_mapping` and at least one verification certificate are set, and never
//!   goes back to `pending`. Clearing a prerequisite of an active connection is refused:
//!   `saml_connection_idp_sso_url_required`, `saml_connection_attribute_mapping_required`,
//!   `invalid_idp_entity_id` (400).
//! - **Certificates**: each `x509_certificate` adds an entry (`saml-verification-key-test-<uuid>`,
//!   `issuer` = issuer CN or the full issuer DN, `created_at` = notBefore, `expires_at` =
//!   notAfter, `updated_at` = upload time); the PEM is stored as sent. Uploading a certificate
//!   whose DER is already present adds nothing by default ([`Behaviour::dedupe_certificates`]).
//!   At most 5 (`too_many_sso_verification_certificates`). The last certificate of an *active*
//!   connection cannot be deleted (`cannot_delete_last_sso_verification_key`).
//! - **Keys**: `signing_private_key` must be PKCS#1; it *replaces* `signing_certificates` with
//!   one self-signed certificate (CN `Stytch`, issuer `"Stytch"`, valid 10 years,
//!   id `saml-signing-key-test-<uuid>`). `saml_encryption_private_key` (PKCS#1) adds an entry
//!   (`saml-encryption-key-test-<uuid>`, the PEM as sent, max 5 →
//!   `too_many_encryption_certificates`). Both keys use the `saml_signing_private_key_*` error
//!   types (Stytch's error list has no encryption-specific names).
//! - **Roles**: an empty `role_id` is `invalid_rbac_role_id`, an empty `group` is
//!   `invalid_rbac_role_assignment`; role ids are not checked against an RBAC policy. Group
//!   assignments need a `groups` key in the effective mapping (request's, else stored).
//! - **Create**: `identity_provider` defaults to `generic`, `display_name` to `""`,
//!   `nameid_format` to the emailAddress format. `acs_url` = `audience_uri` =
//!   `<base>/v1/b2b/sso/callback/<connection_id>` where `<base>` is the sandbox's own base URL
//!   (or [`StytchConfig::public_base_url`]).
//! - **Update by URL**: `http://` metadata URLs are allowed in the sandbox
//!   ([`Behaviour::allow_http_metadata`], default `true`). The metadata sets `idp_entity_id` and
//!   `idp_sso_url` (HTTP-Redirect, else HTTP-POST binding; must be https) and adds its signing
//!   certificates like `x509_certificate` does.
//! - **Lists**: `oidc_connections` and `external_connections` are always `[]`.
//! - **Rate limit**: per project, N requests per wall-clock second, counted after a successful
//!   auth (requests with bad credentials are not counted); `Retry-After` only when enabled.
//! - **Pipeline order**: request log → fault rules → auth → rate limit → handler. Fault rules
//!   therefore fire before auth, and faulted requests are not counted by the rate limit.
//! - **Request log**: every Stytch request (including 401/404/429 and faulted ones; a dropped
//!   connection is logged with status `0`); `/__sandbox/` calls are never logged.

pub mod admin;
pub mod admin_http;
pub mod auth;
pub mod certs;
pub mod cli;
pub mod config;
pub mod connection;
pub mod error;
pub mod faults;
pub mod handlers;
pub mod metadata;
pub mod model;
pub mod ratelimit;
pub mod requestlog;
pub mod server;
pub mod state;
pub mod validate;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

pub use admin::{Admin, RateLimitSettings};
pub use config::{Behaviour, Seed, SeedOrganization, SeedProject, StytchConfig};
pub use error::{ApiError, ErrorBody, SandboxError};
pub use faults::FaultRule;
pub use model::SamlConnection;
pub use requestlog::{Counters, LogEntry};

use faults::Faults;
use ratelimit::RateLimiter;
use requestlog::RequestLog;
use server::Shared;
use state::Store;

/// A running Stytch sandbox. Stops when [`StytchSandbox::shutdown`] is awaited or when dropped.
#[derive(Debug)]
pub struct StytchSandbox {
    addr: SocketAddr,
    base_url: String,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl StytchSandbox {
    /// Binds `config.listen`, loads the seed and starts serving in a background task.
    pub async fn start(config: StytchConfig) -> Result<Self, SandboxError> {
        let listener =
            TcpListener::bind(config.listen)
                .await
                .map_err(|source| SandboxError::Bind {
                    addr: config.listen.to_string(),
                    source,
                })?;
        let addr = listener.local_addr()?;
        if !addr.ip().is_loopback() {
            tracing::warn!(%addr, "the Stytch sandbox is meant for loopback addresses only");
        }
        let base_url = format!("http://{addr}");
        let public_base_url = config
            .public_base_url
            .clone()
            .unwrap_or_else(|| base_url.clone())
            .trim_end_matches('/')
            .to_owned();
        let store = Store::from_seed(&config.seed, &public_base_url)?;
        let limit = config
            .seed
            .rate_limit_per_second
            .unwrap_or(config.rate_limit_per_second);
        let shared = Arc::new(Shared {
            store: Mutex::new(store),
            behaviour: Mutex::new(config.seed.behaviour.clone().unwrap_or(config.behaviour)),
            log: Mutex::new(RequestLog::default()),
            faults: Mutex::new(Faults::new(config.fault_rng_seed)),
            limiter: Mutex::new(RateLimiter::new(limit, config.retry_after)),
            base_url: base_url.clone(),
            public_base_url,
            initial_seed: Mutex::new(config.seed),
        });
        let router = handlers::routes()
            .merge(admin_http::routes())
            .layer(axum::middleware::from_fn_with_state(
                shared.clone(),
                server::pipeline,
            ))
            .with_state(shared.clone());
        let (tx, rx) = watch::channel(false);
        let task = tokio::spawn(server::accept_loop(listener, router, rx));
        tracing::info!(%base_url, "Stytch sandbox listening");
        Ok(Self {
            addr,
            base_url,
            shared,
            shutdown: tx,
            task: Some(task),
        })
    }

    /// `http://127.0.0.1:PORT` (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Test controls (seed, request log, fault rules, out-of-band edits, rate limit).
    pub fn admin(&self) -> Admin {
        Admin::new(self.shared.clone())
    }

    /// Stops accepting, lets in-flight requests finish (at most ~5 s) and waits for the server.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take()
            && let Err(e) = task.await
        {
            tracing::warn!(error = %e, "sandbox server task failed");
        }
    }
}

impl Drop for StytchSandbox {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
