//! Authentication and the audit log. The kubeconfig token `sandbox` (and a request without a
//! bearer token: `kubectl` never sends a token over plain http) is the unrestricted admin, who
//! may impersonate (`Impersonate-User`/`Impersonate-Group`, `kubectl --as`); service-account
//! tokens (issued by the TokenRequest API or [`Auth::issue`]) authenticate as
//! `system:serviceaccount:<ns>:<name>` while the ServiceAccount exists. Users other than the
//! admin are authorized by RBAC ([`super::rbac`]); an unknown token is 401.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::http::HeaderMap;
use serde_json::{Value, json};

use super::error::ApiError;
use super::rbac::{self, User};
use super::requestinfo::RequestInfo;
use super::store::State;

/// The admin token of the sandbox kubeconfig.
pub const ADMIN_TOKEN: &str = "sandbox";

/// One request of a service account, allowed or denied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// User name, e.g. `system:serviceaccount:default:op`.
    pub user: String,
    /// What was asked.
    pub request: RequestInfo,
    /// Whether RBAC allowed it.
    pub allowed: bool,
}

#[derive(Debug, Default)]
struct Inner {
    /// token -> (namespace, service account name)
    tokens: HashMap<String, (String, String)>,
    audit: Vec<AuditEntry>,
}

/// Issued tokens and the audit log of service-account requests (cheap to clone).
#[derive(Debug, Clone, Default)]
pub struct Auth {
    inner: Arc<Mutex<Inner>>,
}

/// Who made a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Identity {
    /// The admin token or no token: every request allowed.
    Admin,
    /// A service account: RBAC applies.
    User(User),
}

impl Auth {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Issues a new token for a service account (valid while the ServiceAccount exists).
    pub fn issue(&self, namespace: &str, name: &str) -> String {
        let token = format!("sa-{namespace}-{name}-{}", uuid::Uuid::new_v4().simple());
        self.lock()
            .tokens
            .insert(token.clone(), (namespace.to_string(), name.to_string()));
        token
    }

    /// Who a request's `Authorization` header names.
    pub fn authenticate(&self, headers: &HeaderMap, state: &State) -> Result<Identity, ApiError> {
        let Some(value) = headers.get("authorization").and_then(|v| v.to_str().ok()) else {
            return Ok(impersonated(headers).unwrap_or(Identity::Admin));
        };
        let token = value.strip_prefix("Bearer ").unwrap_or(value).trim();
        if token == ADMIN_TOKEN {
            return Ok(impersonated(headers).unwrap_or(Identity::Admin));
        }
        let (ns, name) = self
            .lock()
            .tokens
            .get(token)
            .cloned()
            .ok_or_else(unauthorized)?;
        let exists = state
            .objects("serviceaccounts")
            .is_some_and(|m| m.contains_key(&(ns.clone(), name.clone())));
        if !exists {
            return Err(unauthorized());
        }
        Ok(Identity::User(User::service_account(&ns, &name)))
    }

    /// Authorizes a service account's request and records it in the audit log.
    pub fn authorize(&self, user: &User, req: RequestInfo, state: &State) -> Result<(), ApiError> {
        let result = rbac::authorize(state, user, &req);
        if let Err(e) = &result {
            tracing::info!(user = %user.name, error = %e, "RBAC denied");
        }
        self.lock().audit.push(AuditEntry {
            user: user.name.clone(),
            request: req,
            allowed: result.is_ok(),
        });
        result
    }

    /// Service-account requests so far, oldest first.
    pub fn audit(&self) -> Vec<AuditEntry> {
        self.lock().audit.clone()
    }

    /// Empties the audit log.
    pub fn clear_audit(&self) {
        self.lock().audit.clear();
    }
}

/// The admin impersonating a user (`kubectl --as=... --as-group=...`): a service-account name
/// gets its service-account groups, every user `system:authenticated`.
fn impersonated(headers: &HeaderMap) -> Option<Identity> {
    let name = headers.get("impersonate-user")?.to_str().ok()?.to_string();
    let mut user = match name
        .strip_prefix("system:serviceaccount:")
        .and_then(|rest| rest.split_once(':'))
    {
        Some((ns, sa)) => User::service_account(ns, sa),
        None => User {
            name: name.clone(),
            groups: vec!["system:authenticated".into()],
        },
    };
    for group in headers.get_all("impersonate-group") {
        if let Ok(g) = group.to_str()
            && !user.groups.iter().any(|x| x == g)
        {
            user.groups.push(g.to_string());
        }
    }
    Some(Identity::User(user))
}

fn unauthorized() -> ApiError {
    ApiError::Custom {
        code: 401,
        reason: "Unauthorized".into(),
        message: "Unauthorized".into(),
    }
}

/// `POST /api/v1/namespaces/{ns}/serviceaccounts/{name}/token` (TokenRequest): a new token
/// for an existing ServiceAccount.
pub fn token_request(auth: &Auth, state: &State, ns: &str, name: &str) -> Result<Value, ApiError> {
    let exists = state
        .objects("serviceaccounts")
        .is_some_and(|m| m.contains_key(&(ns.to_string(), name.to_string())));
    if !exists {
        return Err(ApiError::NotFound {
            resource: "serviceaccounts".into(),
            name: name.into(),
        });
    }
    let token = auth.issue(ns, name);
    let expires = jiff::Timestamp::now() + jiff::SignedDuration::from_hours(1);
    Ok(json!({
        "apiVersion": "authentication.k8s.io/v1",
        "kind": "TokenRequest",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"audiences": ["https://kubernetes.default.svc"], "expirationSeconds": 3600},
        "status": {"token": token, "expirationTimestamp": expires.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()},
    }))
}
