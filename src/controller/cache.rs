//! A single-flight cache of Get-SSO-Connections answers per organization, so that many
//! resources of one organization cost one list call per resync.
//!
//! Callers say how fresh an answer must be (`not_before`): a resync accepts any answer read
//! since the resync began, a spec change demands a read made after it was seen.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::compact::CompactConnection;
use crate::stytch::model::SamlConnection;
use crate::stytch::{StytchClient, StytchError};

/// An organization's connections as Stytch listed them, in Stytch's order.
///
/// During a resync round the cache holds a listing of every organization, that is every
/// connection of the install, so each connection is kept compact (its JSON text, certificates
/// as DER: see [`super::compact`]; about a third of the memory of the parsed connection, whose
/// many small strings and maps each cost an allocation) and parsed when a reconcile asks for it.
#[derive(Default)]
pub struct Listing {
    connections: Vec<CompactConnection>,
}

/// Names the listed connections only: their text holds encryption private keys.
impl std::fmt::Debug for Listing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids: Vec<&str> = self.connections.iter().map(|c| c.id.as_str()).collect();
        f.debug_struct("Listing")
            .field("connection_ids", &ids)
            .finish()
    }
}

/// A connection the cache could not encode or decode: not expected, since it only holds what it
/// serialized itself from the wire model.
fn cache_error(err: &serde_json::Error) -> StytchError {
    StytchError::Decode {
        endpoint: "get_connections",
        status: 200,
        message: format!("cached connection: {err}"),
    }
}

fn encode(connection: &SamlConnection) -> Result<CompactConnection, StytchError> {
    CompactConnection::new(connection).map_err(|e| cache_error(&e))
}

fn decode(compact: &CompactConnection) -> Result<SamlConnection, StytchError> {
    compact.connection().map_err(|e| cache_error(&e))
}

impl Listing {
    /// A listing of `connections`.
    pub fn new(connections: &[SamlConnection]) -> Result<Self, StytchError> {
        Ok(Self {
            connections: connections.iter().map(encode).collect::<Result<_, _>>()?,
        })
    }

    /// The connection with id `id`, if listed.
    pub fn find(&self, id: &str) -> Result<Option<SamlConnection>, StytchError> {
        self.connections
            .iter()
            .find(|c| c.id == id)
            .map(decode)
            .transpose()
    }

    /// Every listed connection.
    pub fn connections(&self) -> Result<Vec<SamlConnection>, StytchError> {
        self.connections.iter().map(decode).collect()
    }

    /// This listing with `connection` replacing the one of its id (or added).
    fn with(&self, connection: &SamlConnection) -> Result<Self, StytchError> {
        let entry = encode(connection)?;
        let mut connections: Vec<CompactConnection> = self
            .connections
            .iter()
            .filter(|c| c.id != entry.id)
            .cloned()
            .collect();
        connections.push(entry);
        Ok(Self { connections })
    }
}

type Entry = Arc<tokio::sync::Mutex<Option<(Instant, Arc<Listing>)>>>;

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
    ) -> Result<Arc<Listing>, StytchError> {
        let entry = self.entry(client, organization);
        let mut slot = entry.lock().await;
        if let Some((at, list)) = slot.as_ref()
            && *at >= not_before
            && at.elapsed() < self.ttl
        {
            return Ok(list.clone());
        }
        let read = client.get_connections(organization).await?;
        let list = Arc::new(Listing::new(&read.saml_connections)?);
        *slot = Some((Instant::now(), list.clone()));
        Ok(list)
    }

    /// Reads the organization fresh and refreshes the cache with the answer.
    pub async fn refresh(
        &self,
        client: &StytchClient,
        organization: &str,
    ) -> Result<Arc<Listing>, StytchError> {
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
            match list.with(connection) {
                Ok(updated) => *list = Arc::new(updated),
                // The next reader lists the organization again.
                Err(_) => *slot = None,
            }
        }
    }

    /// Lets go of the organization's listings (every credential's): a reconcile round is done
    /// with them. The next reader lists the organization again.
    pub fn release(&self, organization: &str) {
        self.entries
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .retain(|(_, org), _| org != organization);
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
    use serde_json::json;

    use super::{Listing, SamlConnection};
    use crate::secret::SecretString;
    use crate::stytch::{Credentials, StytchConfig, StytchPool};

    fn connection(id: &str, name: &str) -> SamlConnection {
        serde_json::from_value(json!({
            "organization_id": "organization-test-1",
            "connection_id": id,
            "status": "active",
            "display_name": name,
            "idp_entity_id": "https://idp.example/saml",
            "attribute_mapping": {"email": "email", "groups": ["a", "b"]},
            "verification_certificates": [{"certificate_id": "cert-1", "certificate": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", "expires_at": "2030-01-01T00:00:00Z"}],
            "encryption_private_keys": [{"private_key_id": "key-1", "private_key": "k"}],
            "idp_initiated_auth_disabled": true,
            "a_field_this_version_does_not_model": {"nested": [1, 2.5, null]},
        }))
        .expect("connection")
    }

    #[test]
    fn a_listing_gives_back_exactly_what_was_listed() {
        let listed = vec![connection("c-1", "one"), connection("c-2", "two")];
        let listing = Listing::new(&listed).expect("listing");
        assert_eq!(
            listing.find("c-2").expect("decodes"),
            Some(listed[1].clone())
        );
        assert_eq!(listing.find("c-3").expect("decodes"), None);
        assert_eq!(listing.connections().expect("decodes"), listed);
        assert!(
            listed[0]
                .extra
                .contains_key("a_field_this_version_does_not_model")
        );
    }

    #[test]
    fn a_listing_debug_shows_ids_not_keys() {
        let listing = Listing::new(&[connection("c-1", "one")]).expect("listing");
        let shown = format!("{listing:?}");
        assert!(shown.contains("c-1"), "{shown}");
        assert!(!shown.contains("private_key"), "{shown}");
    }

    #[test]
    fn a_written_connection_replaces_its_listed_copy() {
        let listing =
            Listing::new(&[connection("c-1", "one"), connection("c-2", "two")]).expect("listing");
        let renamed = connection("c-1", "renamed");
        let updated = listing.with(&renamed).expect("updated");
        assert_eq!(updated.find("c-1").expect("decodes"), Some(renamed));
        assert_eq!(updated.connections().expect("decodes").len(), 2);
        let added = updated.with(&connection("c-3", "three")).expect("added");
        assert_eq!(added.connections().expect("decodes").len(), 3);
        assert_eq!(
            listing
                .find("c-1")
                .expect("decodes")
                .map(|c| c.display_name),
            Some("one".into())
        );
    }

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
