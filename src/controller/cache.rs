//! A single-flight cache of Get-SSO-Connections answers per organization, so that many
//! resources of one organization cost one list call per resync.
//!
//! Callers say how fresh an answer must be (`not_before`): a resync accepts any answer read
//! since the resync began, a spec change demands a read made after it was seen.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use crate::stytch::model::SamlConnection;
use crate::stytch::{StytchClient, StytchError};

type Entry = Arc<tokio::sync::Mutex<Option<(Instant, Arc<Vec<SamlConnection>>)>>>;

/// Organization listings keyed by `(client identity, organization)`: the identity covers the
/// secret too, so a resource with wrong credentials is never served a listing read with good ones.
#[derive(Debug)]
pub struct OrgCache {
    ttl: Duration,
    entries: Mutex<HashMap<([u8; 32], String), Entry>>,
}

impl OrgCache {
    pub fn new(ttl: Duration) -> Self {
        Self {
            ttl,
            entries: Mutex::default(),
        }
    }

    fn entry(&self, client: &StytchClient, organization: &str) -> Entry {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .entry((client.identity(), organization.to_owned()))
            .or_default()
            .clone()
    }

    /// The organization's SAML connections, from cache when read after `not_before` and
    /// within the TTL. Concurrent callers for the same organization wait for one request
    /// instead of sending their own.
    pub async fn get(
        &self,
        client: &StytchClient,
        organization: &str,
        not_before: Instant,
    ) -> Result<Arc<Vec<SamlConnection>>, StytchError> {
        let entry = self.entry(client, organization);
        let mut slot = entry.lock().await;
        if let Some((at, list)) = slot.as_ref()
            && *at >= not_before
            && at.elapsed() < self.ttl
        {
            return Ok(list.clone());
        }
        let list = Arc::new(client.get_connections(organization).await?.saml_connections);
        *slot = Some((Instant::now(), list.clone()));
        Ok(list)
    }

    /// Reads the organization fresh and refreshes the cache with the answer.
    pub async fn refresh(
        &self,
        client: &StytchClient,
        organization: &str,
    ) -> Result<Arc<Vec<SamlConnection>>, StytchError> {
        self.get(client, organization, Instant::now()).await
    }

    /// Replaces (or adds) one connection in a cached listing, after a write answered with it.
    /// Nothing is cached when the organization has no entry yet.
    pub async fn put(
        &self,
        client: &StytchClient,
        organization: &str,
        connection: &SamlConnection,
    ) {
        let entry = self.entry(client, organization);
        let mut slot = entry.lock().await;
        if let Some((_, list)) = slot.as_mut() {
            let mut updated: Vec<SamlConnection> = list
                .iter()
                .filter(|c| c.connection_id != connection.connection_id)
                .cloned()
                .collect();
            updated.push(connection.clone());
            *list = Arc::new(updated);
        }
    }

    /// Drops the organization's entry (after a write whose result is not known).
    pub fn invalidate(&self, client: &StytchClient, organization: &str) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(client.identity(), organization.to_owned()));
    }
}

#[cfg(test)]
mod tests {
    use crate::secret::SecretString;
    use crate::stytch::{Credentials, StytchConfig, StytchPool};

    fn identity(project: &str, secret: &str) -> [u8; 32] {
        let pool = StytchPool::new(StytchConfig::default()).expect("pool");
        pool.client(Credentials {
            project_id: project.into(),
            secret: SecretString::new(secret),
            base_url: None,
        })
        .expect("client")
        .identity()
    }

    #[test]
    fn listings_are_not_shared_between_secrets_of_one_project() {
        let project = "project-test-11111111-1111-1111-1111-111111111111";
        assert_eq!(identity(project, "secret-a"), identity(project, "secret-a"));
        assert_ne!(identity(project, "secret-a"), identity(project, "secret-b"));
        assert_ne!(identity(project, "ab"), identity("project-test-x", "ab"));
    }
}
