//! In-memory Stytch state: projects (credentials), organizations (id / slug / external id) and
//! their SAML connections, plus the lookups the handlers use.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use super::config::{Seed, SeedOrganization};
use super::connection::complete_seeded;
use super::error::{ApiError, SandboxError};
use super::model::SamlConnection;

/// Locks a mutex, recovering the data if a previous holder panicked.
pub fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// An organization and its connections (in creation order).
#[derive(Clone, Debug, Default)]
pub struct Organization {
    pub organization_id: String,
    pub organization_slug: String,
    pub organization_external_id: Option<String>,
    pub connections: Vec<SamlConnection>,
}

impl Organization {
    /// The connection with this id.
    pub fn connection(&self, connection_id: &str) -> Option<&SamlConnection> {
        self.connections
            .iter()
            .find(|c| c.connection_id == connection_id)
    }

    /// The connection with this id, or `saml_connection_not_found` (404).
    pub fn saml_connection(&self, connection_id: &str) -> Result<&SamlConnection, ApiError> {
        self.connection(connection_id).ok_or_else(|| {
            ApiError::not_found(
                "saml_connection_not_found",
                format!("SAML connection {connection_id:?} not found"),
            )
        })
    }

    /// Replaces (or appends) a connection by id.
    pub fn put(&mut self, conn: SamlConnection) {
        match self
            .connections
            .iter_mut()
            .find(|c| c.connection_id == conn.connection_id)
        {
            Some(slot) => *slot = conn,
            None => self.connections.push(conn),
        }
    }
}

/// A project and its organizations.
#[derive(Clone, Debug, Default)]
pub struct Project {
    pub project_id: String,
    pub secret: String,
    pub organizations: Vec<Organization>,
}

impl Project {
    fn position(&self, key: &str) -> Result<usize, ApiError> {
        let by = |f: &dyn Fn(&Organization) -> bool| self.organizations.iter().position(f);
        by(&|o| o.organization_id == key)
            .or_else(|| by(&|o| !o.organization_slug.is_empty() && o.organization_slug == key))
            .or_else(|| by(&|o| o.organization_external_id.as_deref() == Some(key)))
            .ok_or_else(|| {
                ApiError::not_found(
                    "organization_not_found",
                    format!("organization {key:?} not found (by id, slug or external id)"),
                )
            })
    }

    /// Organization by id, slug or external id (in that order); `organization_not_found` (404).
    pub fn organization(&self, key: &str) -> Result<&Organization, ApiError> {
        let i = self.position(key)?;
        Ok(&self.organizations[i])
    }

    /// Mutable organization by id, slug or external id.
    pub fn organization_mut(&mut self, key: &str) -> Result<&mut Organization, ApiError> {
        let i = self.position(key)?;
        Ok(&mut self.organizations[i])
    }
}

/// Everything the Stytch API serves.
#[derive(Clone, Debug, Default)]
pub struct Store {
    pub projects: BTreeMap<String, Project>,
}

fn organization_from_seed(
    o: &SeedOrganization,
    base_url: &str,
) -> Result<Organization, SandboxError> {
    if o.organization_id.is_empty() {
        return Err(SandboxError::Seed(
            "organization without organization_id".into(),
        ));
    }
    let connections = o
        .saml_connections
        .iter()
        .map(|c| complete_seeded(c.clone(), &o.organization_id, base_url))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| {
            SandboxError::Seed(format!("organization {}: {}", o.organization_id, e.message))
        })?;
    Ok(Organization {
        organization_id: o.organization_id.clone(),
        organization_slug: o.organization_slug.clone(),
        organization_external_id: o.organization_external_id.clone(),
        connections,
    })
}

impl Store {
    /// Builds the state described by a seed.
    pub fn from_seed(seed: &Seed, base_url: &str) -> Result<Self, SandboxError> {
        let mut projects = BTreeMap::new();
        for p in &seed.projects {
            if p.project_id.is_empty() || p.secret.is_empty() {
                return Err(SandboxError::Seed(
                    "every project needs a project_id and a secret".into(),
                ));
            }
            let organizations = p
                .organizations
                .iter()
                .map(|o| organization_from_seed(o, base_url))
                .collect::<Result<Vec<_>, _>>()?;
            projects.insert(
                p.project_id.clone(),
                Project {
                    project_id: p.project_id.clone(),
                    secret: p.secret.clone(),
                    organizations,
                },
            );
        }
        Ok(Self { projects })
    }

    /// The project, for an authenticated caller.
    pub fn project(&self, project_id: &str) -> Result<&Project, ApiError> {
        self.projects.get(project_id).ok_or_else(unauthorized)
    }

    /// Mutable project, for an authenticated caller.
    pub fn project_mut(&mut self, project_id: &str) -> Result<&mut Project, ApiError> {
        self.projects.get_mut(project_id).ok_or_else(unauthorized)
    }
}

/// 401 `unauthorized_credentials`.
pub fn unauthorized() -> ApiError {
    ApiError::new(
        axum::http::StatusCode::UNAUTHORIZED,
        "unauthorized_credentials",
        "Unauthorized credentials.",
    )
}
