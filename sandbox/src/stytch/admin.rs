//! [`Admin`]: typed test controls with direct access to the sandbox state. The HTTP
//! endpoints under `/__sandbox/` (see `admin_http.rs`) call the same methods.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::certs;
use super::config::{Behaviour, Seed};
use super::connection::{apply_update, complete_seeded};
use super::error::SandboxError;
use super::faults::FaultRule;
use super::model::{SamlConnection, UpdateConnectionBody};
use super::requestlog::{Counters, LogEntry};
use super::server::Shared;
use super::state::{Store, lock};

/// Current rate-limit settings.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimitSettings {
    /// Requests per second per project; `0` = unlimited.
    pub rate_limit_per_second: u32,
    /// Whether 429 answers carry `Retry-After`.
    pub retry_after: bool,
}

/// Handle on the sandbox state for tests. Cheap to clone; stays valid after the server stops.
#[derive(Clone, Debug)]
pub struct Admin {
    shared: Arc<Shared>,
}

impl Admin {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Replaces the whole state (projects, organizations, connections) with `seed`, and applies
    /// its `rate_limit_per_second` / `behaviour` when set. Log and fault rules are kept.
    pub fn seed(&self, seed: Seed) -> Result<(), SandboxError> {
        let store = Store::from_seed(&seed, &self.shared.public_base_url)?;
        *lock(&self.shared.store) = store;
        if let Some(limit) = seed.rate_limit_per_second {
            lock(&self.shared.limiter).set(limit, None);
        }
        if let Some(b) = seed.behaviour {
            *lock(&self.shared.behaviour) = b;
        }
        Ok(())
    }

    /// Restores the seed given at start and clears the request log and fault rules.
    pub fn reset(&self) -> Result<(), SandboxError> {
        let seed = lock(&self.shared.initial_seed).clone();
        self.seed(seed)?;
        self.clear_requests();
        self.clear_faults();
        Ok(())
    }

    /// The request log, oldest first.
    pub fn requests(&self) -> Vec<LogEntry> {
        lock(&self.shared.log).entries()
    }

    /// Requests being served now (`status` 0, `timestamp` empty), oldest first.
    pub fn in_flight(&self) -> Vec<LogEntry> {
        lock(&self.shared.log).in_flight()
    }

    /// Requests the sandbox stopped serving because the client went away before the answer:
    /// `timestamp` is when that was noticed, `status` that of the change already made (`0`
    /// when none was).
    pub fn abandoned(&self) -> Vec<LogEntry> {
        lock(&self.shared.log).abandoned()
    }

    /// Counters (total, writes, by endpoint, by method, by status).
    pub fn counters(&self) -> Counters {
        lock(&self.shared.log).counters()
    }

    /// Number of logged write requests (POST/PUT/PATCH/DELETE) since start or the last clear.
    pub fn write_count(&self) -> u64 {
        self.counters().writes
    }

    /// Clears the request log and counters.
    pub fn clear_requests(&self) {
        lock(&self.shared.log).clear();
    }

    /// Adds a fault rule; returns it with its id.
    pub fn add_fault(&self, rule: FaultRule) -> FaultRule {
        lock(&self.shared.faults).add(rule)
    }

    /// Current fault rules (with hit counts and remaining `times`).
    pub fn faults(&self) -> Vec<FaultRule> {
        lock(&self.shared.faults).list()
    }

    /// Removes one fault rule; `false` if there was none with this id.
    pub fn remove_fault(&self, id: &str) -> bool {
        lock(&self.shared.faults).remove(id)
    }

    /// Removes every fault rule.
    pub fn clear_faults(&self) {
        lock(&self.shared.faults).clear(None);
    }

    /// Sets the rate limit at runtime (`0` = unlimited); `retry_after: None` keeps the flag.
    pub fn set_rate_limit(&self, per_second: u32, retry_after: Option<bool>) {
        lock(&self.shared.limiter).set(per_second, retry_after);
    }

    /// Current rate-limit settings.
    pub fn rate_limit(&self) -> RateLimitSettings {
        let l = lock(&self.shared.limiter);
        RateLimitSettings {
            rate_limit_per_second: l.limit,
            retry_after: l.retry_after,
        }
    }

    /// Current behaviour toggles.
    pub fn behaviour(&self) -> Behaviour {
        lock(&self.shared.behaviour).clone()
    }

    /// Replaces the behaviour toggles.
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        *lock(&self.shared.behaviour) = behaviour;
    }

    /// The SAML connections of an organization (by id, slug or external id).
    pub fn connections(
        &self,
        project_id: &str,
        org: &str,
    ) -> Result<Vec<SamlConnection>, SandboxError> {
        let store = lock(&self.shared.store);
        Ok(store
            .project(project_id)?
            .organization(org)?
            .connections
            .clone())
    }

    /// One connection, if it exists.
    pub fn connection(
        &self,
        project_id: &str,
        org: &str,
        connection_id: &str,
    ) -> Option<SamlConnection> {
        let store = lock(&self.shared.store);
        let org = store.project(project_id).ok()?.organization(org).ok()?;
        org.connection(connection_id).cloned()
    }

    /// Inserts or replaces a connection as-is (missing ids, URLs and certificate metadata are
    /// filled in as in seeds); returns the stored connection.
    pub fn put_connection(
        &self,
        project_id: &str,
        org: &str,
        connection: SamlConnection,
    ) -> Result<SamlConnection, SandboxError> {
        let mut store = lock(&self.shared.store);
        let org = store.project_mut(project_id)?.organization_mut(org)?;
        let conn = complete_seeded(
            connection,
            &org.organization_id.clone(),
            &self.shared.public_base_url,
        )?;
        org.put(conn.clone());
        Ok(conn)
    }

    /// Out-of-band edit, as if someone used the Stytch dashboard: the top-level fields of
    /// `patch` (a JSON object in the `SAMLConnection` shape) replace the stored ones without any
    /// validation (`status` included: it is not recomputed); `organization_id` and
    /// `connection_id` cannot change. Verification certificates without an id get one.
    pub fn edit_connection(
        &self,
        project_id: &str,
        org: &str,
        connection_id: &str,
        patch: Value,
    ) -> Result<SamlConnection, SandboxError> {
        let Value::Object(fields) = patch else {
            return Err(SandboxError::Seed("patch must be a JSON object".into()));
        };
        let mut store = lock(&self.shared.store);
        let org = store.project_mut(project_id)?.organization_mut(org)?;
        let current = org.saml_connection(connection_id)?.clone();
        let Value::Object(mut merged) = serde_json::to_value(&current)? else {
            return Err(SandboxError::Seed("connection is not an object".into()));
        };
        merged.extend(fields);
        let mut conn: SamlConnection = serde_json::from_value(Value::Object(merged))?;
        conn.organization_id = current.organization_id;
        conn.connection_id = current.connection_id;
        fill_certificate_ids(&mut conn);
        org.put(conn.clone());
        Ok(conn)
    }

    /// Out-of-band edit that goes through the normal update rules (validation, certificate
    /// accumulation, activation) but is not logged and ignores rate limits and faults.
    pub fn update_connection(
        &self,
        project_id: &str,
        org: &str,
        connection_id: &str,
        update: Value,
    ) -> Result<SamlConnection, SandboxError> {
        let body: UpdateConnectionBody = serde_json::from_value(update)?;
        let behaviour = self.behaviour();
        let mut store = lock(&self.shared.store);
        let org = store.project_mut(project_id)?.organization_mut(org)?;
        let updated = apply_update(org.saml_connection(connection_id)?, body, &behaviour)?;
        org.put(updated.clone());
        Ok(updated)
    }

    /// Deletes a connection directly; `false` if it did not exist.
    pub fn delete_connection(
        &self,
        project_id: &str,
        org: &str,
        connection_id: &str,
    ) -> Result<bool, SandboxError> {
        let mut store = lock(&self.shared.store);
        let org = store.project_mut(project_id)?.organization_mut(org)?;
        let before = org.connections.len();
        org.connections.retain(|c| c.connection_id != connection_id);
        Ok(org.connections.len() != before)
    }
}

/// Gives certificates added by an out-of-band edit an id, and (when the PEM parses) their
/// issuer and validity dates, without rejecting anything.
fn fill_certificate_ids(conn: &mut SamlConnection) {
    for cert in &mut conn.verification_certificates {
        if let Ok(info) = certs::parse_certificate_pem(&cert.certificate) {
            let fresh = certs::verification_entry(&cert.certificate, &info);
            if cert.issuer.is_empty() {
                cert.issuer = fresh.issuer;
            }
            cert.created_at = cert.created_at.take().or(fresh.created_at);
            cert.expires_at = cert.expires_at.take().or(fresh.expires_at);
        }
        if cert.certificate_id.is_empty() {
            cert.certificate_id = format!("saml-verification-key-test-{}", uuid::Uuid::new_v4());
        }
    }
}
